/* tree.c - the tree's nodes and the entry points of tree.h that walk it: lookup, readdir,
 * read, revalidate, mtime, kind_dir_ino. Each dispatches on the directory's role to the
 * file that owns that level (tree_root.c, tree_kinds.c, tree_object.c); writes are in
 * tree_write.c. All LOCKED. Complexity: a lookup is O(1) hash lookups (plus
 * O(length of the listing) for variable directories); a listing is O(its length), sorted. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/controllers.h"
#include "claimfs/events.h"
#include "claimfs/jsonutil.h"
#include "claimfs/render.h"
#include "tree_internal.h"

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void tree_node_set(struct tree_node *out, int own, uint64_t ino, enum tree_type type, unsigned mode,
		   unsigned flags, int role, const struct kind *k, uint64_t obj_id, const char *ns,
		   const char *name, const char *sub)
{
	out->ino = ino;
	out->type = type;
	out->mode = mode;
	out->flags = flags;
	out->role = role;
	out->kind = k;
	out->obj_id = obj_id;
	/* Borrowed strings are only handed to readdir's fill and never released. */
	out->ns = own ? dup_or_null(ns) : (char *)ns;
	out->name = own ? dup_or_null(name) : (char *)name;
	out->sub = own ? dup_or_null(sub) : (char *)sub;
	out->volume = out->subpath = NULL;
}

void tree_root(struct tree_node *out)
{
	tree_node_set(out, 1, TREE_INO_ROOT, TREE_DIR, 0555, 0, ROLE_ROOT, NULL, 0, NULL, NULL,
		      NULL);
}

void tree_node_copy(struct tree_node *dst, const struct tree_node *src)
{
	tree_node_set(dst, 1, src->ino, src->type, src->mode, src->flags, src->role, src->kind,
		      src->obj_id, src->ns, src->name, src->sub);
	dst->volume = dup_or_null(src->volume);
	dst->subpath = dup_or_null(src->subpath);
}

void tree_node_release(struct tree_node *n)
{
	free(n->ns);
	free(n->name);
	free(n->sub);
	free(n->volume);
	free(n->subpath);
	n->ns = n->name = n->sub = n->volume = n->subpath = NULL;
}

struct object *tree_node_object(struct cluster *cl, const struct tree_node *n)
{
	if (!n->kind || !n->name || !n->obj_id)
		return NULL;
	struct object *obj = store_get(cluster_store(cl), n->kind, n->ns, n->name);
	return obj && obj->id == n->obj_id ? obj : NULL;
}

void tree_node_path(const struct tree_node *n, struct strbuf *out)
{
	const struct tree_attr *a = tree_node_attr(n);
	switch (n->role) {
	case ROLE_ROOT:
		return;
	case ROLE_README:
		sb_adds(out, "README");
		return;
	case ROLE_APPLY:
		sb_adds(out, "apply");
		return;
	case ROLE_EVENTS:
		sb_adds(out, "events");
		return;
	case ROLE_METRICS:
		sb_adds(out, "metrics");
		return;
	case ROLE_DNS:
		sb_adds(out, "dns");
		return;
	}
	if (n->kind && n->kind->namespaced && n->ns)
		sb_addf(out, "namespaces/%s/%s", n->ns, n->kind->plural);
	else if (n->kind)
		sb_adds(out, n->kind->plural);
	if (n->role == ROLE_TABLE || n->role == ROLE_TABLE_WIDE) {
		sb_adds(out, n->role == ROLE_TABLE ? "/.table" : "/.table-wide");
		return;
	}
	if (n->name)
		sb_addf(out, "/%s", n->name);
	if (n->role == ROLE_MOUNT) {
		sb_addf(out, "/containers/%s", n->sub ? n->sub : "");
		return;
	}
	if (a)
		sb_addf(out, "/%s", a->name);
	if (n->sub)
		sb_addf(out, "/%s", n->sub);
}

int tree_lookup(struct cluster *cl, const struct tree_node *dir, const char *name,
		struct tree_node *out)
{
	if (dir->type != TREE_DIR)
		return -ENOTDIR;
	if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -ENOENT;
	if (dir->flags & TREE_DATA)
		return -ENOENT; /* served by the adapter from the volume */
	switch (dir->role) {
	case ROLE_ROOT:
		return tree_root_lookup(cl, name, out);
	case ROLE_KINDDIR:
		return tree_kind_lookup(cl, dir, name, out);
	case ROLE_MOUNT:
		return tree_mounts_lookup(cl, dir, name, out);
	default:
		return tree_object_lookup(cl, dir, name, out);
	}
}

int tree_readdir(struct cluster *cl, const struct tree_node *dir, tree_fill_fn fill, void *ctx)
{
	if (dir->type != TREE_DIR)
		return -ENOTDIR;
	if (dir->flags & TREE_DATA)
		return tree_revalidate(cl, dir); /* no entries of the tree's own */
	switch (dir->role) {
	case ROLE_ROOT:
		return tree_root_readdir(cl, fill, ctx);
	case ROLE_KINDDIR:
		return tree_kind_readdir(cl, dir, fill, ctx);
	case ROLE_MOUNT:
		return tree_mounts_readdir(cl, dir, fill, ctx);
	default:
		return tree_object_readdir(cl, dir, fill, ctx);
	}
}

int tree_read(struct cluster *cl, const struct tree_node *node, struct strbuf *out,
	      uint64_t *cursor)
{
	if (node->type == TREE_DIR)
		return -EISDIR;
	switch (node->role) {
	case ROLE_README:
	case ROLE_APPLY:
	case ROLE_EVENTS:
	case ROLE_METRICS:
	case ROLE_DNS:
		return tree_root_read(cl, node, out, cursor);
	case ROLE_TABLE:
	case ROLE_TABLE_WIDE:
		if (tree_revalidate(cl, node) < 0)
			return -ENOENT;
		render_table(cl, node->kind, node->kind->namespaced ? node->ns : NULL,
			     node->role == ROLE_TABLE_WIDE, cluster_now_ms(cl), out);
		return 0;
	default:
		return tree_object_read(cl, node, out, cursor);
	}
}

/* Kind directories and their tables belong to a namespace object (obj_id) or to the
 * root (obj_id 0); optional kinds exist only while they have objects. */
static int kind_dir_valid(struct cluster *cl, const struct tree_node *n)
{
	if (n->obj_id) {
		struct object *ns =
		    store_get(cluster_store(cl), cluster_kind(cl, "Namespace"), NULL, n->ns);
		if (!ns || ns->id != n->obj_id)
			return -ENOENT;
	}
	return tree_kind_dir_exists(cl, n->kind, n->kind->namespaced ? n->ns : NULL) ? 0 : -ENOENT;
}

int tree_revalidate(struct cluster *cl, const struct tree_node *node)
{
	switch (node->role) {
	case ROLE_ROOT:
	case ROLE_README:
	case ROLE_APPLY:
	case ROLE_EVENTS:
	case ROLE_METRICS:
	case ROLE_DNS:
		return 0;
	case ROLE_KINDDIR:
	case ROLE_TABLE:
	case ROLE_TABLE_WIDE:
		return kind_dir_valid(cl, node);
	case ROLE_MOUNT:
		return tree_mounts_revalidate(cl, node);
	default:
		return tree_object_revalidate(cl, node);
	}
}

int64_t tree_mtime(struct cluster *cl, const struct tree_node *node)
{
	struct object *obj;
	switch (node->role) {
	case ROLE_README:
	case ROLE_APPLY:
		return tree_start_mtime(cl);
	case ROLE_EVENTS:
		return tree_events_mtime(cl, NULL, 0);
	case ROLE_ROOT:
	case ROLE_METRICS:
	case ROLE_DNS:
		return tree_global_mtime(cl);
	case ROLE_KINDDIR:
	case ROLE_TABLE:
	case ROLE_TABLE_WIDE:
		return tree_kind_mtime(cl, node->kind, node->kind->namespaced ? node->ns : NULL);
	}
	obj = tree_node_object(cl, node);
	if (!obj)
		return tree_global_mtime(cl);
	const struct tree_attr *a = tree_node_attr(node);
	if (a && (a->flags & TREE_LOG)) {
		struct strbuf path = STRBUF_INIT;
		object_path(obj, &path);
		int64_t t = tree_events_mtime(cl, sb_str(&path), obj->mtime_ms);
		sb_release(&path);
		return t;
	}
	if (a && !(a->flags & TREE_OWN) && a->type != TREE_LINK) {
		/* Shows other objects too (fqdn, endpoints, pools, ordinals/): as fresh as the
		 * newest of the object and the cluster. */
		int64_t g = tree_global_mtime(cl);
		return g > obj->mtime_ms ? g : obj->mtime_ms;
	}
	return obj->mtime_ms;
}

uint64_t tree_kind_dir_ino(struct cluster *cl, const struct kind *k, const char *ns)
{
	struct tree_node n;
	uint64_t ino = 0;
	struct object *nsobj = NULL;
	if (!k)
		return 0;
	if (k->namespaced) {
		if (!ns)
			return 0;
		nsobj = store_get(cluster_store(cl), cluster_kind(cl, "Namespace"), NULL, ns);
		if (!nsobj)
			return 0;
	}
	tree_kind_dir_node(cl, k, k->namespaced ? ns : NULL, nsobj ? nsobj->id : 0, 0, &n);
	ino = n.ino;
	return ino;
}
