/* tree_kinds.c - kind directories: which exist (the built-in kinds always, any other kind
 * while it has objects there), their inode numbers, their hidden .table and .table-wide
 * (render_table; TREE_CLOCK, as their AGE cells count with the clock), and their listing
 * (the objects, sorted by name). Cluster-scoped kinds sit at the root; namespaced ones in
 * namespaces/<ns>/, whose listing is made here too.
 * namespaces/ is the kind directory of Namespace. LOCKED.
 * Complexity: lookup O(1) (existence of an optional kind: O(namespaces of that kind));
 * listing O(n log n) in the objects listed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/controllers.h"
#include "tree_internal.h"

/* Map slots for kind directories whose kind index does not fit the fixed layout. */
#define SLOT_KIND_DIR 0x10000u

static const char *const always_kinds[] = {"Namespace",
					   "Node",
					   "StorageClass",
					   "PersistentVolume",
					   "PersistentVolumeClaim",
					   "Pod",
					   "StatefulSet",
					   "Deployment",
					   "ReplicaSet",
					   "Service",
					   "ConfigMap",
					   "Secret",
					   NULL};

int tree_kind_always(const struct kind *k)
{
	const char *const *p;
	for (p = always_kinds; *p; p++)
		if (strcmp(*p, k->kind) == 0)
			return 1;
	return 0;
}

int tree_kind_dir_exists(struct cluster *cl, const struct kind *k, const char *ns)
{
	size_t n = 0;
	if (tree_kind_always(k))
		return 1;
	if (k->namespaced && !ns)
		return 0;
	store_list(cluster_store(cl), k, k->namespaced ? ns : NULL, &n);
	return n > 0;
}

/* variant: 0 the directory, 1 .table, 2 .table-wide. */
static uint64_t kind_ino(struct cluster *cl, const struct kind *k, uint64_t ns_id, int variant)
{
	uint64_t slot;
	if (!k->namespaced) {
		if (strcmp(k->kind, "Namespace") == 0)
			return TREE_INO_NAMESPACES + (uint64_t)variant;
		slot = TREE_INO_KINDS + 3 * (uint64_t)k->index + (uint64_t)variant;
		if (slot < (1u << TREE_OBJ_SHIFT))
			return slot;
	} else {
		slot = TREE_OBJ_KINDS + 3 * (uint64_t)k->index + (uint64_t)variant;
		if (slot < (1u << TREE_OBJ_SHIFT))
			return (ns_id << TREE_OBJ_SHIFT) | slot;
	}
	return tree_map_ino(cl, k->namespaced ? ns_id : 0, SLOT_KIND_DIR + (uint32_t)variant,
			    k->plural);
}

void tree_kind_dir_node(struct cluster *cl, const struct kind *k, const char *ns, uint64_t ns_id,
			int own, struct tree_node *out)
{
	unsigned flags = TREE_CREATE;
	if (strcmp(k->kind, "Namespace") == 0)
		flags |= TREE_MKDIR;
	tree_node_set(out, own, kind_ino(cl, k, ns_id, 0), TREE_DIR, 0755, flags, ROLE_KINDDIR, k,
		      k->namespaced ? ns_id : 0, k->namespaced ? ns : NULL, NULL, NULL);
}

static void table_node(struct cluster *cl, const struct tree_node *dir, int wide, int own,
		       struct tree_node *out)
{
	tree_node_set(out, own, kind_ino(cl, dir->kind, dir->obj_id, wide ? 2 : 1), TREE_FILE, 0444,
		      TREE_CLOCK, wide ? ROLE_TABLE_WIDE : ROLE_TABLE, dir->kind, dir->obj_id,
		      dir->ns, NULL, NULL);
}

/* A kind directory inside a namespace that was deleted (and maybe recreated) is stale. */
static int dir_stale(struct cluster *cl, const struct tree_node *dir)
{
	if (!dir->obj_id)
		return 0;
	struct object *ns =
	    store_get(cluster_store(cl), cluster_kind(cl, "Namespace"), NULL, dir->ns);
	return !ns || ns->id != dir->obj_id;
}

int tree_kind_lookup(struct cluster *cl, const struct tree_node *dir, const char *name,
		     struct tree_node *out)
{
	if (dir_stale(cl, dir))
		return -ENOENT;
	if (strcmp(name, ".table") == 0 || strcmp(name, ".table-wide") == 0) {
		table_node(cl, dir, name[6] == '-', 1, out);
		return 0;
	}
	struct object *obj = store_get(cluster_store(cl), dir->kind, dir->ns, name);
	if (!obj)
		return -ENOENT;
	tree_object_dir_node(obj, 1, out);
	return 0;
}

static int cmp_obj_name(const void *a, const void *b)
{
	const struct object *x = *(struct object *const *)a, *y = *(struct object *const *)b;
	return strcmp(x->name, y->name);
}

int tree_kind_readdir(struct cluster *cl, const struct tree_node *dir, tree_fill_fn fill, void *ctx)
{
	struct tree_node n;
	size_t count, i;
	int rc;
	if (dir_stale(cl, dir))
		return -ENOENT;
	table_node(cl, dir, 0, 0, &n);
	rc = fill(ctx, ".table", &n);
	if (rc == 0) {
		table_node(cl, dir, 1, 0, &n);
		rc = fill(ctx, ".table-wide", &n);
	}
	if (rc)
		return 0;
	struct object *const *v = store_list(cluster_store(cl), dir->kind, dir->ns, &count);
	struct object **sorted = xmalloc((count + 1) * sizeof(*sorted));
	if (count)
		memcpy(sorted, v, count * sizeof(*sorted));
	qsort(sorted, count, sizeof(*sorted), cmp_obj_name);
	for (i = 0; i < count && rc == 0; i++) {
		tree_object_dir_node(sorted[i], 0, &n);
		rc = fill(ctx, sorted[i]->name, &n);
	}
	free(sorted);
	return 0;
}

/* A kind whose plural is one of the namespace's own files (Event: "events") has no
 * directory there: the file wins, and a listing never names two entries alike. */
static int ns_file_clash(const struct kind *k)
{
	const struct tree_table *t = &tree_table_namespace;
	size_t i;
	for (i = 0; i < t->n; i++)
		if (strcmp(t->attrs[i].name, k->plural) == 0)
			return 1;
	return 0;
}

int tree_ns_kind_lookup(struct cluster *cl, const struct object *nsobj, const char *name,
			struct tree_node *out)
{
	const struct kind *k = store_kind_by_plural(cluster_store(cl), name);
	if (!k || !k->namespaced || ns_file_clash(k) || !tree_kind_dir_exists(cl, k, nsobj->name))
		return -ENOENT;
	tree_kind_dir_node(cl, k, nsobj->name, nsobj->id, 1, out);
	return 0;
}

static int cmp_kind_plural(const void *a, const void *b)
{
	const struct kind *x = *(const struct kind *const *)a, *y = *(const struct kind *const *)b;
	return strcmp(x->plural, y->plural);
}

int tree_ns_kind_readdir(struct cluster *cl, const struct object *nsobj, tree_fill_fn fill,
			 void *ctx)
{
	struct tree_node n;
	size_t nk, i, m = 0;
	int rc = 0;
	const struct kind *const *kinds = store_kinds(cluster_store(cl), &nk);
	const struct kind **dirs = xcalloc(nk + 1, sizeof(*dirs));
	for (i = 0; i < nk; i++)
		if (kinds[i]->namespaced && !ns_file_clash(kinds[i]) &&
		    tree_kind_dir_exists(cl, kinds[i], nsobj->name))
			dirs[m++] = kinds[i];
	qsort(dirs, m, sizeof(*dirs), cmp_kind_plural);
	for (i = 0; i < m && rc == 0; i++) {
		tree_kind_dir_node(cl, dirs[i], nsobj->name, nsobj->id, 0, &n);
		rc = fill(ctx, dirs[i]->plural, &n);
	}
	free(dirs);
	return rc;
}
