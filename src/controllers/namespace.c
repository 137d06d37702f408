/* namespace.c - Namespaces: created Active with the "kubernetes" finalizer; deleting one
 * makes it Terminating, deletes everything in it, and removes it once it is empty, as
 * the namespace controller does. Sync cost: O(objects in the namespace). */
#include <errno.h>
#include <string.h>
#include "claimfs/controllers.h"
#include "claimfs/jsonutil.h"

static const char *const namespace_finalizers[] = {"kubernetes", NULL};

static int namespace_admit(struct cluster *cl, const struct manifest *m, json_t *doc, json_t *obj,
			   const struct object *old, struct cfs_err *err)
{
	jset_str(obj, "status.phase", "Active");
	if (!jlabel(obj, "kubernetes.io/metadata.name"))
		jset(jobj(obj, "metadata.labels"), "kubernetes.io/metadata.name",
		     json_string(jname(obj)));
	return 0;
}

static void namespace_sync(struct cluster *cl, struct object *ns)
{
	struct store *s = cluster_store(cl);
	size_t nk, n, i, j, left = 0;
	if (!jis_deleting(object_json(ns)))
		return;
	if (strcmp(jstr_or(object_json(ns), "status.phase", ""), "Terminating") != 0) {
		jset_str(object_json(ns), "status.phase", "Terminating");
		cluster_update(cl, ns);
	}
	const struct kind *const *kinds = store_kinds(s, &nk);
	for (i = 0; i < nk; i++) {
		if (!kinds[i]->namespaced)
			continue;
		/* Deleting may remove objects from the array: walk a snapshot of names. */
		struct object *const *v = store_list(s, kinds[i], ns->name, &n);
		json_t *names = json_array();
		for (j = 0; j < n; j++)
			json_array_append_new(names, json_string(v[j]->name));
		json_t *nm;
		json_array_foreach(names, j, nm)
		{
			struct object *o = store_get(s, kinds[i], ns->name, json_string_value(nm));
			if (o)
				cluster_request_delete(cl, o);
		}
		json_decref(names);
		store_list(s, kinds[i], ns->name, &n);
		left += n;
	}
	if (left == 0)
		cluster_remove_finalizer(cl, ns, "kubernetes");
}

const struct kind_ops namespace_ops = {
    .admit = namespace_admit,
    .sync = namespace_sync,
    .finalizers = namespace_finalizers,
};
