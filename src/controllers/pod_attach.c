/* pod_attach.c - the attach/detach controller for the simulated nodes: a volume is
 * attached to a node while a pod there has passed its volume setup (condition
 * PodReadyToStartContainers True). A ReadWriteOnce or ReadWriteOncePod volume attached to
 * one node cannot be attached to another (IsMultiAttachAllowed is true only for
 * ReadWriteMany/ReadOnlyMany or an empty mode list): the pod waits in ContainerCreating
 * with FailedAttachVolume "Multi-Attach error ..." in the reconciler's wording, and goes
 * on when the pods holding the volume are gone (pod.c wakes it).
 *
 * A PV is bound to one claim, so the pods that can hold it are in the claim's namespace;
 * the "in different namespaces" and "exclusively attached" variants of the message
 * cannot occur here. Detach is immediate (no 6-minute force-detach wait): pods are
 * removed at once when deleted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "workload_internal.h"

static int multi_attach_allowed(const json_t *pv)
{
	json_t *modes = jget(pv, "spec.accessModes");
	if (json_array_size(modes) == 0)
		return 1;
	return jarray_has_str(pv, "spec.accessModes", "ReadWriteMany") ||
	       jarray_has_str(pv, "spec.accessModes", "ReadOnlyMany");
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *node_of(const struct object *pod)
{
	return json_string_value(
	    json_object_get(json_object_get(object_json(pod), "spec"), "nodeName"));
}

/* The other bound pods that use the claim (new array in *out, caller frees): O(pods
 * using the claim) through the storage index. */
static size_t claim_users(struct cluster *cl, const struct object *self, const char *claim,
			  const struct object ***out)
{
	struct object **pods;
	size_t n = storage_claim_pods(cl, self->ns, claim, &pods), i, k = 0;
	for (i = 0; i < n; i++)
		if (pods[i] != self && node_of(pods[i]))
			pods[k++] = pods[i];
	*out = (const struct object **)pods;
	return k;
}

/* Is the claim's volume attached to node (by one of the users)? */
static int attached_on(const struct object *const *users, size_t k, const char *node)
{
	size_t i;
	for (i = 0; i < k; i++)
		if (strcmp(node_of(users[i]), node) == 0 && pod_is_attached(object_json(users[i])))
			return 1;
	return 0;
}

/* Appends the Multi-Attach message when the volume is attached to another node than
 * node: it lists the pods using it on the nodes it is attached to. Returns 1 then. */
static int multi_attach_error(const struct object *const *users, size_t k, const char *pv,
			      const char *node, struct strbuf *msg)
{
	const char **names = xcalloc(k + 1, sizeof(*names));
	size_t i, m = 0;
	for (i = 0; i < k; i++) {
		const char *qn = node_of(users[i]);
		if (strcmp(qn, node) != 0 && attached_on(users, k, qn))
			names[m++] = users[i]->name;
	}
	if (m > 0) {
		qsort(names, m, sizeof(*names), cmp_name);
		sb_addf(msg,
			"Multi-Attach error for volume \"%s\" Volume is already used by pod(s) ",
			pv);
		for (i = 0; i < m; i++)
			sb_addf(msg, "%s%s", i ? ", " : "", names[i]);
	}
	free(names);
	return m > 0;
}

int attach_pod(struct cluster *cl, struct object *pod, const struct object *node)
{
	struct store *st = cluster_store(cl);
	const struct kind *pvck = cluster_kind(cl, "PersistentVolumeClaim");
	const struct kind *pvk = cluster_kind(cl, "PersistentVolume");
	size_t i;
	json_t *v, *attach = json_array();
	struct strbuf msg = STRBUF_INIT;
	int ok = 1;

	json_array_foreach(jget(object_json(pod), "spec.volumes"), i, v)
	{
		char buf[POD_CLAIM_MAX];
		const char *claim = pod_volume_claim(object_json(pod), v, buf);
		if (!claim)
			continue;
		struct object *pvc = store_get(st, pvck, pod->ns, claim);
		const char *vn = pvc ? jstr(object_json(pvc), "spec.volumeName") : NULL;
		struct object *pv = vn ? store_get(st, pvk, NULL, vn) : NULL;
		if (!pvc || !pv || !pvc_is_bound(pvc)) {
			ok = 0; /* the claim lost its volume: wait (the kubelet's FailedMount) */
			continue;
		}
		const struct object **users;
		size_t k = claim_users(cl, pod, claim, &users);
		if (!multi_attach_allowed(object_json(pv)) &&
		    multi_attach_error(users, k, pv->name, node->name, &msg)) {
			free(users);
			ok = 0;
			break;
		}
		if (!attached_on(users, k, node->name))
			json_array_append_new(attach, json_string(pv->name));
		free(users);
	}
	if (msg.len) {
		json_t *c = wl_condition(object_json(pod), "PodReadyToStartContainers");
		if (!c || !jstr(c, "message") || strcmp(jstr(c, "message"), sb_str(&msg)) != 0)
			cluster_event(cl, pod, "Warning", "FailedAttachVolume", "%s", sb_str(&msg));
		wl_set_condition(object_json(pod), "PodReadyToStartContainers", "False", NULL,
				 sb_str(&msg), cluster_now_ms(cl));
	}
	if (ok) {
		json_array_foreach(attach, i, v)
		{
			cluster_event(cl, pod, "Normal", "SuccessfulAttachVolume",
				      "AttachVolume.Attach succeeded for volume \"%s\"",
				      json_string_value(v));
		}
	}
	json_decref(attach);
	sb_release(&msg);
	return ok;
}
