/* tree_write.c - everything that changes the cluster through the tree: writable attribute
 * files (tree_store, parsed strictly, configfs style), manifest sinks (/apply, a kind
 * directory's new files, an object's manifest.yaml) with their apply scope, mkdir of a
 * namespace, rmdir of an object directory and unlink of manifest.yaml. The UNLOCKED entry
 * points build their source string (the path in the mount) from the node alone, then call
 * cluster.h, which takes the lock, settles and waits for the journal. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/names.h"
#include "tree_internal.h"

/* A written value longer than this is not one value. */
#define STORE_MAX 4096

int tree_refuse(struct cluster *cl, const char *source, int rc, struct cfs_err *err)
{
	cluster_lock(cl);
	cluster_report_failure(cl, source, err->msg);
	cluster_unlock(cl);
	return rc;
}

int tree_parse_count(const char *field, const char *val, int64_t *out, struct cfs_err *err)
{
	const char *p = val;
	int64_t v = 0;
	if (*p == '-' && p[1] >= '0' && p[1] <= '9' && strspn(p + 1, "0123456789") == strlen(p + 1))
		return cfs_errorf(err, -EINVAL,
				  "%s: Invalid value: %s: must be greater than or equal to 0",
				  field, val);
	if (!*p || strspn(p, "0123456789") != strlen(p))
		return cfs_errorf(err, -EINVAL,
				  "%s: Invalid value: \"%s\": must be a non-negative integer",
				  field, val);
	for (; *p; p++) {
		v = v * 10 + (*p - '0');
		if (v > INT32_MAX)
			return cfs_errorf(err, -EINVAL,
					  "%s: Invalid value: %s: must be no more than %d", field,
					  val, INT32_MAX);
	}
	*out = v;
	return 0;
}

int tree_parse_bool(const char *field, const char *val, int *out, struct cfs_err *err)
{
	if (strcmp(val, "true") == 0)
		*out = 1;
	else if (strcmp(val, "false") == 0)
		*out = 0;
	else
		return cfs_errorf(err, -EINVAL, "%s: Invalid value: \"%s\": must be true or false",
				  field, val);
	return 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int tree_store(struct cluster *cl, const struct tree_node *node, const char *buf, size_t len,
	       struct cfs_err *err)
{
	struct cfs_err local;
	struct strbuf path = STRBUF_INIT;
	const struct tree_attr *a = node->role < ROLE_VAR ? tree_node_attr(node) : NULL;
	int rc;
	if (!err)
		err = &local;
	err->msg[0] = '\0';
	if (!a || !(a->flags & TREE_STORE) || !a->store)
		return cfs_errorf(err, -EACCES, "this file is read-only");
	tree_node_path(node, &path);
	while (len && is_blank(buf[len - 1]))
		len--;
	while (len && is_blank(*buf)) {
		buf++;
		len--;
	}
	if (len > STORE_MAX || memchr(buf, '\0', len)) {
		rc = cfs_errorf(err, -EINVAL, "%s: Invalid value: not one value", a->name);
		rc = tree_refuse(cl, sb_str(&path), rc, err);
	} else {
		char *val = xstrndup(buf, len);
		rc = a->store(cl, node, val, err);
		free(val);
	}
	sb_release(&path);
	return rc;
}

/* "name.yaml" -> "name" for *.yaml, *.yml, *.json; NULL for anything else. */
static char *manifest_base(const char *name)
{
	size_t el = name_manifest_ext(name);
	return el ? xstrndup(name, strlen(name) - el) : NULL;
}

/* cluster_apply, or its first half when the caller waits for the disk itself. */
static int apply(struct cluster *cl, const char *buf, size_t len, const char *source,
		 const struct apply_scope *scope, struct cfs_err *err, int64_t *seq)
{
	if (seq)
		return cluster_apply_nowait(cl, buf, len, source, scope, err, seq);
	return cluster_apply(cl, buf, len, source, scope, err);
}

int tree_apply(struct cluster *cl, const struct tree_node *node, const char *filename,
	       const char *buf, size_t len, struct cfs_err *err, int64_t *seq)
{
	struct apply_scope scope = {NULL, NULL, NULL, NULL};
	struct strbuf source = STRBUF_INIT;
	const struct tree_attr *a = node->role < ROLE_VAR ? tree_node_attr(node) : NULL;
	char *base = NULL;
	int rc;

	if (seq)
		*seq = 0;
	if (node->role == ROLE_APPLY) {
		return apply(cl, buf, len, "apply", NULL, err, seq);
	}
	tree_node_path(node, &source);
	if (a && (a->flags & TREE_APPLY)) {
		/* manifest.yaml: this object only */
		scope.kind = node->kind;
		scope.ns = node->kind->namespaced ? node->ns : NULL;
		scope.name = node->name;
	} else if (node->role == ROLE_KINDDIR && filename) {
		base = manifest_base(filename);
		if (!base) {
			sb_release(&source);
			return cfs_errorf(err, -EINVAL,
					  "%s: a manifest file name ends in .yaml, .yml or .json",
					  filename);
		}
		scope.kind = node->kind;
		scope.ns = node->kind->namespaced ? node->ns : NULL;
		scope.default_name = *base ? base : NULL;
		sb_addf(&source, "/%s", filename);
	} else {
		sb_release(&source);
		return cfs_errorf(err, -EACCES, "manifests cannot be written here");
	}
	rc = apply(cl, buf, len, sb_str(&source), &scope, err, seq);
	free(base);
	sb_release(&source);
	return rc;
}

int tree_may_create(struct cluster *cl, const struct tree_node *dir, const char *name,
		    struct cfs_err *err)
{
	struct tree_node n;
	if (dir->type != TREE_DIR || !(dir->flags & TREE_CREATE))
		return cfs_errorf(
		    err, -EACCES,
		    "cannot create %s: only kind directories accept new manifest files", name);
	char *base = manifest_base(name);
	if (!base)
		return cfs_errorf(err, -EINVAL,
				  "cannot create %s: a manifest file name ends in .yaml, .yml or "
				  ".json",
				  name);
	free(base);
	if (tree_lookup(cl, dir, name, &n) == 0) {
		tree_node_release(&n);
		return cfs_errorf(err, -EEXIST, "cannot create %s: it exists", name);
	}
	return 0;
}

int tree_manifest_name_free(struct cluster *cl, const struct tree_node *dir, const char *name)
{
	return dir->type == TREE_DIR && (dir->flags & TREE_CREATE) && name_manifest_ext(name) &&
	       store_manifest_named(cluster_store(cl)) == 0;
}

int tree_mkdir(struct cluster *cl, const struct tree_node *dir, const char *name,
	       struct cfs_err *err)
{
	struct strbuf source = STRBUF_INIT;
	int rc;
	if (dir->role != ROLE_KINDDIR || !(dir->flags & TREE_MKDIR))
		return cfs_errorf(err, -EACCES,
				  "cannot create directory %s: mkdir creates namespaces in "
				  "namespaces/ only; write a manifest to create other objects",
				  name);
	sb_addf(&source, "namespaces/%s", name);
	rc = cluster_create_namespace(cl, name, sb_str(&source), err);
	sb_release(&source);
	return rc;
}

int tree_rmdir(struct cluster *cl, const struct tree_node *dir, const char *name,
	       struct cfs_err *err)
{
	struct strbuf source = STRBUF_INIT;
	int rc;
	if (dir->role != ROLE_KINDDIR)
		return cfs_errorf(err, -EACCES,
				  "cannot remove %s: only object directories can be removed", name);
	tree_node_path(dir, &source);
	sb_addf(&source, "/%s", name);
	rc = cluster_delete(cl, dir->kind, dir->kind->namespaced ? dir->ns : NULL, name,
			    sb_str(&source), err);
	sb_release(&source);
	return rc;
}

int tree_unlink(struct cluster *cl, const struct tree_node *dir, const char *name,
		struct cfs_err *err)
{
	struct strbuf source = STRBUF_INIT;
	struct tree_node n;
	int rc, found;

	cluster_lock(cl);
	found = tree_lookup(cl, dir, name, &n) == 0;
	if (found)
		tree_node_release(&n);
	cluster_unlock(cl);
	if (!found)
		return cfs_errorf(err, -ENOENT, "%s: no such file", name);
	if (dir->role != ROLE_OBJDIR || strcmp(name, "manifest.yaml") != 0)
		return cfs_errorf(err, -EACCES,
				  "cannot remove %s: remove manifest.yaml or rmdir the object's "
				  "directory to delete an object",
				  name);
	tree_node_path(dir, &source);
	sb_adds(&source, "/manifest.yaml");
	rc = cluster_delete(cl, dir->kind, dir->kind->namespaced ? dir->ns : NULL, dir->name,
			    sb_str(&source), err);
	sb_release(&source);
	return rc;
}
