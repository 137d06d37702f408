/* tree_mounts.c - a pod's containers/: what each container sees at its volumeMounts.
 *
 *   pods/<pod>/containers/<container>/<mountPath...>
 *
 * containers/ lists the pod's init and regular containers; below <container>/ the
 * directories on the way to each mountPath are synthesised (read-only, 0555), and the
 * mount point itself is a TREE_DATA node that names the PersistentVolume the mount's claim
 * is bound to, with the mount's subPath, and TREE_RDONLY when the mount is read-only
 * (volumeMounts[].readOnly, the volume's persistentVolumeClaim.readOnly, or a claim whose
 * only access mode is ReadOnlyMany). The adapter serves what is below it from the volume.
 * A mount whose claim is not bound (or whose volume is no claim: emptyDir, configMap, ...)
 * has no mount point. When one mountPath lies inside another, the outer mount shows
 * (its volume's own directories are what is there), as the order of mounts in a container
 * would not let the inner one be seen without the outer's content. mountPaths with ".."
 * are skipped.
 * Inode numbers come from the tree's map, owned by the pod: stable for its life.
 * Complexity: a lookup or listing is O(mounts of the container x path length); a mount
 * point adds two hash lookups (claim, volume). LOCKED. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/controllers.h"
#include "claimfs/jsonutil.h"
#include "claimfs/workloads.h"
#include "tree_internal.h"

#define SLOT_MOUNT 0x60000u

/* The container named c among spec.initContainers and spec.containers, or NULL. */
static json_t *container(const json_t *pod, const char *c)
{
	static const char *const lists[] = {"spec.initContainers", "spec.containers"};
	size_t i, j;
	json_t *ct;
	for (i = 0; i < 2; i++)
		json_array_foreach(jget(pod, lists[i]), j, ct)
		{
			const char *n = jstr(ct, "name");
			if (n && strcmp(n, c) == 0)
				return ct;
		}
	return NULL;
}

/* A mountPath as components joined by '/' ("/var/lib//mysql/" -> "var/lib/mysql"); NULL
 * when it has ".." or no component at all. Caller frees. */
static char *norm_path(const char *mp)
{
	struct strbuf sb = STRBUF_INIT;
	char *copy, *save = NULL, *comp;
	if (!mp)
		return NULL;
	copy = xstrdup(mp);
	for (comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			free(copy);
			sb_release(&sb);
			return NULL;
		}
		if (sb.len)
			sb_addc(&sb, '/');
		sb_adds(&sb, comp);
	}
	free(copy);
	if (!sb.len) {
		sb_release(&sb);
		return NULL;
	}
	return sb_detach(&sb, NULL);
}

/* The pod volume named name, or NULL. */
static json_t *pod_volume(const json_t *pod, const char *name)
{
	json_t *v;
	size_t i;
	json_array_foreach(jget(pod, "spec.volumes"), i, v)
	{
		const char *n = jstr(v, "name");
		if (n && name && strcmp(n, name) == 0)
			return v;
	}
	return NULL;
}

/* Does the claim ask for ReadOnlyMany only? */
static int rox_only(const json_t *pvc)
{
	json_t *m;
	size_t i, n = 0;
	json_array_foreach(jget(pvc, "spec.accessModes"), i, m)
	{
		if (!json_is_string(m) || strcmp(json_string_value(m), "ReadOnlyMany") != 0)
			return 0;
		n++;
	}
	return n > 0;
}

static void dir_node(struct cluster *cl, const struct object *obj, const char *sub, int own,
		     struct tree_node *out)
{
	tree_node_set(out, own, tree_map_ino(cl, obj->id, SLOT_MOUNT, sub), TREE_DIR, 0555, 0,
		      ROLE_MOUNT, obj->kind, obj->id, obj->ns, obj->name, sub);
}

/* The mount point of mount m at sub: a TREE_DATA node when its claim is bound to a PV
 * with a file system; -ENOENT otherwise. */
static int mount_node(struct cluster *cl, const struct object *pod, const json_t *m,
		      const char *sub, int own, struct tree_node *out)
{
	struct store *s = cluster_store(cl);
	char buf[POD_CLAIM_MAX];
	json_t *vol = pod_volume(object_json(pod), jstr(m, "name"));
	const char *claim = vol ? pod_volume_claim(object_json(pod), vol, buf) : NULL;
	if (!claim)
		return -ENOENT;
	struct object *pvc =
	    store_get(s, cluster_kind(cl, "PersistentVolumeClaim"), pod->ns, claim);
	if (!pvc || !pvc_is_bound(pvc))
		return -ENOENT;
	const char *pv = jstr(object_json(pvc), "spec.volumeName");
	struct object *pvo = store_get(s, cluster_kind(cl, "PersistentVolume"), NULL, pv);
	if (!pvo ||
	    strcmp(jstr_or(object_json(pvo), "spec.volumeMode", "Filesystem"), "Block") == 0)
		return -ENOENT;
	int ro = jbool(m, "readOnly", 0) || jbool(vol, "persistentVolumeClaim.readOnly", 0) ||
		 rox_only(object_json(pvc));
	const char *subpath = jstr(m, "subPath");
	tree_node_set(out, own, tree_map_ino(cl, pod->id, SLOT_MOUNT, sub), TREE_DIR,
		      ro ? 0555 : 0755, TREE_DATA | (ro ? TREE_RDONLY : 0), ROLE_MOUNT, pod->kind,
		      pod->id, pod->ns, pod->name, sub);
	out->volume = own ? xstrdup(pv) : (char *)pv;
	if (subpath && *subpath)
		out->subpath = own ? xstrdup(subpath) : (char *)subpath;
	return 0;
}

/* The entry name in the directory at rest (NULL: <container>/ itself) of container c. */
static int resolve(struct cluster *cl, const struct object *pod, const char *c, const char *rest,
		   const char *name, struct tree_node *out)
{
	json_t *ct = container(object_json(pod), c), *m;
	struct strbuf target = STRBUF_INIT, sub = STRBUF_INIT;
	size_t i;
	int rc = -ENOENT, inner = 0;
	if (!ct)
		return -ENOENT;
	if (rest && *rest)
		sb_addf(&target, "%s/", rest);
	sb_adds(&target, name);
	sb_addf(&sub, "%s/%s", c, sb_str(&target));
	json_array_foreach(jget(ct, "volumeMounts"), i, m)
	{
		char *p = norm_path(jstr(m, "mountPath"));
		if (!p)
			continue;
		if (strcmp(p, sb_str(&target)) == 0 && rc < 0)
			rc = mount_node(cl, pod, m, sb_str(&sub), 1, out);
		else if (strncmp(p, sb_str(&target), target.len) == 0 && p[target.len] == '/')
			inner = 1;
		free(p);
		if (rc == 0)
			break;
	}
	if (rc < 0 && inner) {
		dir_node(cl, pod, sb_str(&sub), 1, out);
		rc = 0;
	}
	sb_release(&target);
	sb_release(&sub);
	return rc;
}

/* Splits "c/rest" into an owned container name and a pointer to rest (NULL when none). */
static char *split_sub(const char *sub, const char **rest)
{
	const char *slash = strchr(sub, '/');
	*rest = slash ? slash + 1 : NULL;
	return slash ? xstrndup(sub, (size_t)(slash - sub)) : xstrdup(sub);
}

int tree_mounts_lookup(struct cluster *cl, const struct tree_node *dir, const char *name,
		       struct tree_node *out)
{
	struct object *pod = tree_node_object(cl, dir);
	const char *rest;
	if (!pod)
		return -ENOENT;
	if (dir->role != ROLE_MOUNT) { /* containers/ */
		if (!container(object_json(pod), name))
			return -ENOENT;
		dir_node(cl, pod, name, 1, out);
		return 0;
	}
	if (!dir->sub || (dir->flags & TREE_DATA))
		return -ENOENT;
	char *c = split_sub(dir->sub, &rest);
	int rc = resolve(cl, pod, c, rest, name, out);
	free(c);
	return rc;
}

static int listed(char **names, size_t n, const char *s, size_t len)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (strlen(names[i]) == len && strncmp(names[i], s, len) == 0)
			return 1;
	return 0;
}

int tree_mounts_readdir(struct cluster *cl, const struct tree_node *dir, tree_fill_fn fill,
			void *ctx)
{
	struct object *pod = tree_node_object(cl, dir);
	struct tree_node n;
	const char *rest;
	char **names = NULL;
	size_t nn = 0, i;
	json_t *ct, *m;
	int rc = 0;
	if (!pod)
		return -ENOENT;
	if (dir->role != ROLE_MOUNT) { /* containers/: init containers first, as kubectl */
		static const char *const lists[] = {"spec.initContainers", "spec.containers"};
		size_t l;
		for (l = 0; l < 2 && rc == 0; l++)
			json_array_foreach(jget(object_json(pod), lists[l]), i, ct)
			{
				const char *cn = jstr(ct, "name");
				if (!cn || rc)
					continue;
				dir_node(cl, pod, cn, 0, &n);
				rc = fill(ctx, cn, &n);
			}
		return 0;
	}
	if (!dir->sub)
		return -ENOENT;
	char *c = split_sub(dir->sub, &rest);
	size_t rlen = rest ? strlen(rest) : 0;
	ct = container(object_json(pod), c);
	json_array_foreach(ct ? jget(ct, "volumeMounts") : NULL, i, m)
	{
		char *p = norm_path(jstr(m, "mountPath"));
		const char *next = p;
		if (p && rlen) /* only paths inside rest/ */
			next = strncmp(p, rest, rlen) == 0 && p[rlen] == '/' ? p + rlen + 1 : NULL;
		if (next) {
			const char *slash = strchr(next, '/');
			size_t len = slash ? (size_t)(slash - next) : strlen(next);
			if (!listed(names, nn, next, len)) {
				names = xrealloc(names, (nn + 1) * sizeof(*names));
				names[nn++] = xstrndup(next, len);
			}
		}
		free(p);
	}
	for (i = 0; i < nn; i++) {
		if (rc == 0 && resolve(cl, pod, c, rest, names[i], &n) == 0) {
			rc = fill(ctx, names[i], &n);
			tree_node_release(&n);
		}
		free(names[i]);
	}
	free(names);
	free(c);
	return 0;
}

int tree_mounts_revalidate(struct cluster *cl, const struct tree_node *n)
{
	struct object *pod = tree_node_object(cl, n);
	struct tree_node now;
	const char *rest;
	int rc;
	if (!pod || !n->sub)
		return -ENOENT;
	char *c = split_sub(n->sub, &rest);
	if (!rest) {
		rc = container(object_json(pod), c) ? 0 : -ENOENT;
		free(c);
		return rc;
	}
	/* The parent's path and the last name. */
	const char *last = strrchr(rest, '/');
	char *parent = last ? xstrndup(rest, (size_t)(last - rest)) : NULL;
	memset(&now, 0, sizeof(now));
	rc = resolve(cl, pod, c, parent, last ? last + 1 : rest, &now);
	if (rc == 0) {
		if (now.ino != n->ino || now.flags != n->flags ||
		    strcmp(now.volume ? now.volume : "", n->volume ? n->volume : "") != 0 ||
		    strcmp(now.subpath ? now.subpath : "", n->subpath ? n->subpath : "") != 0)
			rc = -ENOENT; /* the same path shows something else now */
		tree_node_release(&now);
	}
	free(parent);
	free(c);
	return rc;
}
