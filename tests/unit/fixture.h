/* fixture.h - a real cluster in a temporary state directory for Check suites that test
 * controllers through the same API the FUSE adapter uses, and the helpers those suites
 * share: apply, look up, delete, claims and volumes, pool accounting, the event log.
 * Include after unit.h. */
#ifndef CLAIMFS_FIXTURE_H
#define CLAIMFS_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "claimfs/cluster.h"
#include "claimfs/controllers.h"
#include "claimfs/persist.h"
#include "claimfs/jsonutil.h"
#include "claimfs/quantity.h"

struct fixture {
	char dir[64];
	struct cluster *cl;
	struct cluster_options opts;
	struct cfs_err err;
};

/* Fills fx for a quiet cluster in a new temporary state directory without opening it:
 * a test that needs other options sets them in fx->opts, then calls cluster_open. */
static inline void fx_prepare(struct fixture *fx)
{
	persist_test_no_fsync = 1;
	memset(fx, 0, sizeof(*fx));
	strcpy(fx->dir, "/tmp/claimfs-unit.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx->dir));
	fx->opts.state_dir = fx->dir;
	fx->opts.quiet = 1;
}

/* A cluster with the built-in default cluster (cluster_file NULL) or the given file. */
static inline void fx_open_with(struct fixture *fx, const char *cluster_file)
{
	fx_prepare(fx);
	fx->opts.cluster_file = cluster_file;
	/* Almost every object cold between two calls: each suite also checks that an
	 * object's JSON survives being made cold and decoded again (store.h). */
	fx->opts.hot_objects = 4;
	fx->opts.evict_at_unlock = 1;
	int rc = cluster_open(&fx->opts, &fx->cl, &fx->err);
	ck_assert_msg(rc == 0, "cluster_open: %s", fx->err.msg);
}

static inline void fx_open(struct fixture *fx)
{
	fx_open_with(fx, NULL);
}

/* Close and reopen on the same state directory (a remount). */
static inline void fx_reopen(struct fixture *fx)
{
	cluster_close(fx->cl);
	int rc = cluster_open(&fx->opts, &fx->cl, &fx->err);
	ck_assert_msg(rc == 0, "cluster_open again: %s", fx->err.msg);
}

static inline void fx_close(struct fixture *fx)
{
	char cmd[128];
	cluster_close(fx->cl);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Applies YAML through /apply; returns the errno result (err in fx->err). */
static inline int fx_apply(struct fixture *fx, const char *yaml)
{
	return cluster_apply(fx->cl, yaml, strlen(yaml), "apply", NULL, &fx->err);
}

#define fx_apply_ok(fx, yaml)                                                                      \
	do {                                                                                       \
		int rc_ = fx_apply((fx), (yaml));                                                  \
		ck_assert_msg(rc_ == 0, "apply failed (%d): %s", rc_, (fx)->err.msg);              \
	} while (0)

/* Looks up an object (takes and drops the lock: only for single-threaded tests). */
static inline struct object *fx_get(struct fixture *fx, const char *kind, const char *ns,
				    const char *name)
{
	cluster_lock(fx->cl);
	const struct kind *k = cluster_kind(fx->cl, kind);
	struct object *o = k ? store_get(cluster_store(fx->cl), k, ns, name) : NULL;
	cluster_unlock(fx->cl);
	return o;
}

/* A string field of an object, or NULL when the object or field is missing. The text is
 * a copy that stays valid for the next 64 calls: the object's own JSON may be made cold
 * (freed) by any later unlock (store.h). */
static inline const char *fx_str(struct fixture *fx, const char *kind, const char *ns,
				 const char *name, const char *path)
{
	static char *ring[64];
	static unsigned next;
	cluster_lock(fx->cl);
	const struct kind *k = cluster_kind(fx->cl, kind);
	struct object *o = k ? store_get(cluster_store(fx->cl), k, ns, name) : NULL;
	const char *v = o ? jstr(object_json(o), path) : NULL;
	char *copy = v ? xstrdup(v) : NULL;
	cluster_unlock(fx->cl);
	if (!copy)
		return NULL;
	free(ring[next % 64]);
	ring[next++ % 64] = copy;
	return copy;
}

/* Applies a claim in namespace default: modes is the accessModes list ("ReadWriteOnce" or
 * "ReadWriteOncePod, ReadWriteOnce"), cls NULL leaves storageClassName out, extra is more
 * of spec (NULL for none). Returns the errno result (err in fx->err). */
static inline int fx_try_claim(struct fixture *fx, const char *name, const char *size,
			       const char *modes, const char *cls, const char *extra)
{
	char y[4096], c[128] = "";
	if (cls)
		snprintf(c, sizeof(c), "  storageClassName: \"%s\"\n", cls);
	snprintf(y, sizeof(y),
		 "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: %s\nspec:\n"
		 "  accessModes: [%s]\n  resources: {requests: {storage: %s}}\n%s%s",
		 name, modes, size, c, extra ? extra : "");
	return fx_apply(fx, y);
}

/* A ReadWriteOnce claim as fx_try_claim, which must apply. */
static inline void fx_apply_claim(struct fixture *fx, const char *name, const char *size,
				  const char *cls, const char *extra)
{
	int rc = fx_try_claim(fx, name, size, "ReadWriteOnce", cls, extra);
	ck_assert_msg(rc == 0, "apply failed (%d): %s", rc, fx->err.msg);
}

/* A string field of the claim name in namespace default (as fx_str). */
static inline const char *fx_claim(struct fixture *fx, const char *name, const char *path)
{
	return fx_str(fx, "PersistentVolumeClaim", "default", name, path);
}

/* A string field of the PersistentVolume name (as fx_str). */
static inline const char *fx_pv(struct fixture *fx, const char *name, const char *path)
{
	return fx_str(fx, "PersistentVolume", NULL, name, path);
}

/* Deletes an object as rm does; returns the errno result (err in fx->err). */
static inline int fx_delete(struct fixture *fx, const char *kind, const char *ns, const char *name)
{
	return cluster_delete(fx->cl, cluster_kind(fx->cl, kind), ns, name, "rm", &fx->err);
}

/* Bytes allocated from the pool of a class (which must exist). */
static inline int64_t fx_allocated(struct fixture *fx, const char *cls)
{
	struct quantity cap, alloc;
	cluster_lock(fx->cl);
	struct object *sc =
	    store_get(cluster_store(fx->cl), cluster_kind(fx->cl, "StorageClass"), NULL, cls);
	ck_assert_ptr_nonnull(sc);
	storageclass_pool(fx->cl, sc, &cap, &alloc);
	cluster_unlock(fx->cl);
	return quantity_value(&alloc);
}

/* Index of the first event line containing a (and b when b is not NULL), or -1. */
static inline int fx_event_index(struct fixture *fx, const char *a, const char *b)
{
	struct strbuf sb = STRBUF_INIT;
	int idx = 0, found = -1;
	cluster_lock(fx->cl);
	eventlog_render(cluster_events(fx->cl), &sb, NULL, 0);
	cluster_unlock(fx->cl);
	const char *line = sb_str(&sb);
	while (*line && found < 0) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		char *l = xstrndup(line, n);
		if (strstr(l, a) && (!b || strstr(l, b)))
			found = idx;
		free(l);
		idx++;
		line += n + (end ? 1 : 0);
	}
	sb_release(&sb);
	return found;
}

/* Does the event log contain a line with a (and b when b is not NULL)? */
static inline int fx_has_event(struct fixture *fx, const char *a, const char *b)
{
	return fx_event_index(fx, a, b) >= 0;
}

#endif
