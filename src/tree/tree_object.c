/* tree_object.c - object directories: their entries come from the kind's attribute table
 * (manifest.yaml, object.json, events, then the kind's own files and symlinks), their
 * variable directories (volumes/, ordinals/, pods/, persistentvolumes/) list symlinks
 * through the table's list/find (a directory without them is a pod's containers/:
 * tree_mounts.c), and a Namespace's directory also holds its kind directories. Nodes
 * carry the object's id, so a node of a deleted-and-recreated object no longer resolves.
 * LOCKED.
 * Complexity: lookup O(table) + the entry's find (O(1) or O(the listing)); listing
 * O(table) or O(n log n) in a variable directory's entries. */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "claimfs/events.h"
#include "tree_internal.h"

void tree_object_dir_node(const struct object *obj, int own, struct tree_node *out)
{
	const struct tree_table *t = tree_table_for(obj->kind);
	tree_node_set(out, own, obj->id << TREE_OBJ_SHIFT, TREE_DIR, 0555,
		      t->own_listing ? TREE_OWN : 0, ROLE_OBJDIR, obj->kind, obj->id, obj->ns,
		      obj->name, NULL);
}

const struct tree_attr *tree_node_attr(const struct tree_node *n)
{
	int idx;
	if (n->role >= ROLE_VAR)
		idx = n->role - ROLE_VAR;
	else if (n->role >= ROLE_ATTR)
		idx = n->role - ROLE_ATTR;
	else
		return NULL;
	const struct tree_table *t = tree_table_for(n->kind);
	return (size_t)idx < t->n ? &t->attrs[idx] : NULL;
}

static void attr_node(const struct object *obj, size_t i, const struct tree_attr *a, int own,
		      struct tree_node *out)
{
	tree_node_set(out, own, (obj->id << TREE_OBJ_SHIFT) | (1 + i), a->type, a->mode, a->flags,
		      ROLE_ATTR + (int)i, obj->kind, obj->id, obj->ns, obj->name, NULL);
	if (a->flags & TREE_DATA) /* a PV's data/: the volume of that name */
		out->volume = own ? xstrdup(obj->name) : obj->name;
}

/* Map slots of variable entries that name another object: keyed by that object's id. */
#define SLOT_TARGET 0x50000u

static uint64_t var_ino(struct cluster *cl, const struct object *obj, size_t i, const char *sub,
			uint64_t id)
{
	char owner[24];
	if (!id)
		return tree_map_ino(cl, obj->id, (uint32_t)i, sub);
	snprintf(owner, sizeof(owner), "%llu", (unsigned long long)obj->id);
	return tree_map_ino(cl, id, SLOT_TARGET + (uint32_t)i, owner);
}

static void var_node(struct cluster *cl, const struct object *obj, size_t i,
		     const struct tree_attr *a, const char *sub, uint64_t id, int own,
		     struct tree_node *out)
{
	tree_node_set(out, own, var_ino(cl, obj, i, sub, id), TREE_LINK, 0777, a->flags & TREE_OWN,
		      ROLE_VAR + (int)i, obj->kind, obj->id, obj->ns, obj->name, sub);
}

static int attr_present(struct cluster *cl, const struct object *obj, const struct tree_attr *a)
{
	return !a->present || a->present(cl, obj);
}

int tree_object_lookup(struct cluster *cl, const struct tree_node *dir, const char *name,
		       struct tree_node *out)
{
	struct object *obj = tree_node_object(cl, dir);
	const struct tree_attr *a;
	size_t i;
	if (!obj)
		return -ENOENT;
	if (dir->role == ROLE_OBJDIR) {
		const struct tree_table *t = tree_table_for(obj->kind);
		for (i = 0; i < t->n; i++) {
			a = &t->attrs[i];
			if (strcmp(a->name, name) != 0)
				continue;
			if (!attr_present(cl, obj, a))
				return -ENOENT;
			attr_node(obj, i, a, 1, out);
			return 0;
		}
		if (strcmp(obj->kind->kind, "Namespace") == 0)
			return tree_ns_kind_lookup(cl, obj, name, out);
		return -ENOENT;
	}
	a = tree_node_attr(dir);
	if (!a || a->type != TREE_DIR || dir->role >= ROLE_VAR)
		return -ENOTDIR;
	if (!a->find)
		return tree_mounts_lookup(cl, dir, name, out);
	struct strbuf target = STRBUF_INIT;
	uint64_t id = 0;
	int rc = a->find(cl, obj, name, &target, &id);
	sb_release(&target);
	if (rc < 0)
		return rc;
	var_node(cl, obj, (size_t)(dir->role - ROLE_ATTR), a, name, id, 1, out);
	return 0;
}

int tree_object_readdir(struct cluster *cl, const struct tree_node *dir, tree_fill_fn fill,
			void *ctx)
{
	struct object *obj = tree_node_object(cl, dir);
	struct tree_node n;
	const struct tree_attr *a;
	size_t i;
	int rc = 0;
	if (!obj)
		return -ENOENT;
	if (dir->role == ROLE_OBJDIR) {
		const struct tree_table *t = tree_table_for(obj->kind);
		for (i = 0; i < t->n && rc == 0; i++) {
			a = &t->attrs[i];
			if (!attr_present(cl, obj, a))
				continue;
			attr_node(obj, i, a, 0, &n);
			rc = fill(ctx, a->name, &n);
		}
		if (rc == 0 && strcmp(obj->kind->kind, "Namespace") == 0)
			tree_ns_kind_readdir(cl, obj, fill, ctx);
		return 0;
	}
	a = tree_node_attr(dir);
	if (!a || a->type != TREE_DIR || dir->role >= ROLE_VAR)
		return -ENOTDIR;
	if (!a->list)
		return tree_mounts_readdir(cl, dir, fill, ctx);
	struct tree_links links = {NULL, 0, 0};
	a->list(cl, obj, &links);
	tree_links_sort(&links);
	for (i = 0; i < links.n && rc == 0; i++) {
		var_node(cl, obj, (size_t)(dir->role - ROLE_ATTR), a, links.v[i].name,
			 links.v[i].id, 0, &n);
		rc = fill(ctx, links.v[i].name, &n);
	}
	tree_links_release(&links);
	return 0;
}

int tree_object_read(struct cluster *cl, const struct tree_node *n, struct strbuf *out,
		     uint64_t *cursor)
{
	struct object *obj = tree_node_object(cl, n);
	const struct tree_attr *a = tree_node_attr(n);
	if (!obj || !a)
		return -ENOENT;
	uint64_t id;
	if (n->role >= ROLE_VAR)
		return a->find(cl, obj, n->sub, out, &id);
	if (a->type == TREE_DIR)
		return -EISDIR;
	if (a->flags & TREE_LOG) {
		struct strbuf path = STRBUF_INIT;
		object_path(obj, &path);
		uint64_t last =
		    eventlog_render(cluster_events(cl), out, sb_str(&path), cursor ? *cursor : 0);
		if (cursor)
			*cursor = last;
		sb_release(&path);
		return 0;
	}
	if (!attr_present(cl, obj, a))
		return -ENOENT;
	return a->show(cl, obj, out);
}

int tree_object_revalidate(struct cluster *cl, const struct tree_node *n)
{
	struct object *obj = tree_node_object(cl, n);
	const struct tree_attr *a = tree_node_attr(n);
	int rc = 0;
	if (!obj)
		return -ENOENT;
	if (n->role == ROLE_OBJDIR)
		return 0;
	if (!a)
		return -ENOENT;
	if (n->role >= ROLE_VAR) {
		struct strbuf target = STRBUF_INIT;
		uint64_t id = 0;
		rc = a->find(cl, obj, n->sub, &target, &id);
		sb_release(&target);
		if (rc < 0)
			return -ENOENT;
		/* the entry now names another object (a recreated pod): a new node */
		return var_ino(cl, obj, (size_t)(n->role - ROLE_VAR), n->sub, id) == n->ino
			   ? 0
			   : -ENOENT;
	}
	return attr_present(cl, obj, a) ? 0 : -ENOENT;
}
