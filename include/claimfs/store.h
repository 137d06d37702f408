/* store.h - the object store: every Kubernetes object of the simulated cluster, by kind,
 * namespace and name, as jansson values in the API shape.
 *
 * LOCK DESIGN (the one lock design of claimfs, written here once):
 *   1. cluster lock (struct cluster, a pthread mutex): guards the store, every object and
 *      its json, the kind registry, the event log, the work queue and the controllers.
 *      Taken by the FUSE adapter for each lookup/render/mutation and by the timer thread.
 *      It is never held while replying to FUSE and never while waiting for fsync.
 *   2. persist lock (inside struct persist): guards the journal file and group-commit
 *      state. May be taken while holding the cluster lock (append), never the reverse.
 *      A wait handed to group commit (persist_sync_async: a close's reply) completes
 *      outside it, in the thread whose fdatasync covered it, never under the cluster
 *      lock (what a compaction covers goes to persist's committer thread).
 *   The FUSE adapter (src/fs) adds three:
 *   3. handle lock (struct fs_handle, one per open file or directory): serialises the ops
 *      on one open file (its snapshot, log cursor, write buffer, listing). Taken BEFORE
 *      the cluster lock (write and flush call the UNLOCKED tree_store/tree_apply while
 *      holding it; read and readdir take the cluster lock under it), never under it.
 *      Never held while a kernel notification is sent (the request loop's reader may
 *      wait for it while the READ a notification waits for is queued behind).
 *   4. nodes lock (struct fs_nodes): the adapter's inode table, object index, render
 *      cache, the list of open handles with their pin counts and the page-cache version
 *      counters. Taken under the cluster lock (rendering, the cluster_watch callbacks) or
 *      alone; neither the cluster lock nor a handle lock is taken while holding it (a
 *      GETATTR pins a log handle found on the list, unlocks, then takes its lock).
 *   5. notify lock (struct fs_notify): invalidation queues, the async batch and poll
 *      registrations. A leaf: taken under the cluster and/or nodes lock or alone.
 *   Volume data (include/claimfs/volume.h, src/fs/fs_data.h) adds five, none of them ever
 *   held while the cluster lock is taken, so the data I/O path never waits for it:
 *   6. data lock (struct fs_data): the adapter's views and data inode table. Taken alone,
 *      or under the cluster lock (a removed PV or pod kills its views, in the watch
 *      callback); never held while calling into volume.h, replying or notifying.
 *   7. registry lock (struct volumes): PV names -> capacity and live volume, the trash.
 *      Taken alone or under the cluster lock (the storage index hook sets capacities,
 *      reclaim moves a directory into the trash: a rename, never an fsync). A leaf.
 *   8. namespace lock (one per volume): serialises creations, removals and renames in
 *      that volume so their capacity charges are exact. Taken alone; then 9 under it.
 *   9. volume lock (one per volume): its inode table and each inode's charge and
 *      descriptor; under it only the fd lock of the registry's descriptor cache (a leaf).
 *   A volume's usage is an atomic counter: reads and writes take no lock but 9, briefly.
 *   10. loop lock (src/fs/fs_loop.c): the request loop's counts and mode. A leaf;
 *      no request is served under it.
 *   The watchdog (src/fs/fs_watchdog.c) is a separate process: it shares no memory and
 *   takes no lock. The timer thread also makes objects cold (store_evict) when the
 *   cluster is idle, holding the cluster lock like any other writer of the store.
 *   A lookup or create of a manifest file name (x.yaml) in a kind directory takes no lock
 *   while no object has such a name (store_manifest_named, an atomic counter): the name is
 *   certainly free, so concurrent `cp`s into one directory do not queue behind an apply.
 *   jansson's allocator (src/core/jsonalloc.c) has spin locks of its own, leaves taken
 *   inside any allocation, under whatever lock the allocating thread holds.
 *   No other locks. Order: handle -> cluster -> persist, and handle -> cluster -> nodes
 *   -> notify (persist and nodes are never held together; any prefix may be skipped);
 *   cluster -> data, cluster -> registry, namespace -> volume -> fd.
 *   Helper threads take none of these locks: persist's journal reader (parses records
 *   into values of its own during cluster_open), the second writer of a large journal
 *   record or snapshot (reads values that its starter keeps under the cluster lock) and
 *   the second decoder of a large manifest (builds values of its own). The reader is
 *   joined by persist_load_with, the others before their starter goes on.
 *   Readers render a whole file into a private buffer under the cluster lock, so a read
 *   never mixes two versions. No lock is held while replying to FUSE or while calling a
 *   fuse_lowlevel_notify_* function; an op that changed the cluster replies only after
 *   the inode invalidations it caused have been sent (src/fs/fs_notify.c has the design).
 *
 * The store itself has no lock: every function here requires the cluster lock, except
 * store_manifest_named (an atomic counter).
 * Objects are owned by the store; pointers stay valid until store_remove() of that object.
 * Complexity: get O(1) (hash), insert/remove O(1), list O(1) (returns the kind's array);
 * object_json O(1) when hot, O(text) when cold; evict O(objects made cold + their text). */
#ifndef CLAIMFS_STORE_H
#define CLAIMFS_STORE_H

#include <stdint.h>
#include <stddef.h>
#include <time.h>
#include <jansson.h>
#include "claimfs/strbuf.h"

struct cluster;
struct manifest;
struct cfs_err;
struct object;

/* What a kind does beyond being stored; see controllers.h. NULL ops: stored as-is. */
struct kind_ops;

struct kind {
	const char *kind;	    /* "PersistentVolumeClaim" */
	const char *plural;	    /* "persistentvolumeclaims": the directory name */
	const char *api_version;    /* apiVersion written when a manifest has none */
	int namespaced;		    /* 1: under namespaces/<ns>/<plural>/ */
	const struct kind_ops *ops; /* controllers and admission, or NULL */
	size_t index;		    /* slot in the registry */
};

struct object {
	const struct kind *kind; /* never NULL */
	char *ns;		 /* namespace, NULL for cluster-scoped kinds; owned */
	char *name;		 /* metadata.name; owned */
	uint64_t id;		 /* unique for the daemon's life, never reused (inode base) */
	uint64_t rv;		 /* resourceVersion of the last change */
	int64_t mtime_ms;	 /* wall-clock ms of the last change */
	int64_t ready_at_ms;	 /* runtime only: when a simulated delay ends (0: none) */
	/* private to the store: read the JSON with object_json() */
	json_t *hot;	      /* the live object while hot; owned; NULL while cold */
	char *cold;	      /* its compact JSON text, packed (jsonpack.h), while cold; owned;
				 NULL while hot */
	uint32_t cold_len;    /* bytes of cold */
	uint32_t hot_slot;    /* index in the hot list + 1, 0 while cold */
	size_t kind_slot;     /* index in the kind's array */
	size_t ns_slot;	      /* index in the (kind, namespace) array */
	size_t dirty_slot;    /* index in the dirty list + 1, 0 when clean */
	struct object *hnext; /* hash chain */
	unsigned queued : 1;  /* in the cluster's work queue */
	unsigned used : 1;    /* read since the hot list's clock last passed it */
};

/* COLD OBJECTS. An object's JSON is either hot (jansson values, about 7 KB for a bound
 * claim) or cold (its compact text, packed: about 0.25 KB). object_json() hands out the live
 * value, decoding a cold object first (hydrating it: ~3 us for a claim); store_evict()
 * makes the least recently used hot objects cold again until at most `keep` are hot
 * (a clock over the hot list; objects changed since the last store_take_changes stay
 * hot). The cluster evicts when it lets go of its lock (cluster.c), so a value
 * object_json() returned is valid until the caller's cluster_unlock(), and changes made
 * to it in place are kept as long as the change is recorded (store_touch) before that.
 * Nobody may keep a pointer into an object's JSON across an unlock (the lock design
 * says so already). */
json_t *store_hydrate(struct object *obj);
static inline json_t *object_json(const struct object *obj)
{
	struct object *o = (struct object *)obj; /* a cache: decoding is not a change */
	if (o->hot) {
		o->used = 1;
		return o->hot;
	}
	return store_hydrate(o);
}

typedef void (*store_hook_fn)(void *ctx, struct object *obj, int removed);

struct store *store_new(void);
void store_free(struct store *s);
/* Called after every touch/insert and before every remove (the cluster enqueues work). */
void store_set_hook(struct store *s, store_hook_fn fn, void *ctx);

/* Kinds. Lookups return NULL when unknown. Registering an existing kind returns it. */
const struct kind *store_kind(struct store *s, const char *kind);
const struct kind *store_kind_by_plural(struct store *s, const char *plural);
const struct kind *store_kind_register(struct store *s, const char *kind, const char *api_version,
				       int namespaced, const struct kind_ops *ops);
/* Every known kind; borrowed array. */
const struct kind *const *store_kinds(struct store *s, size_t *n);
/* The plural Kubernetes uses for a Kind: lower case, +s, y->ies, s/x/ch/sh->es. */
void store_plural_of(const char *kind, char *buf, size_t len);

struct object *store_get(struct store *s, const struct kind *k, const char *ns, const char *name);
/* Objects of kind k in namespace ns (all namespaces when ns is NULL), in no particular
 * order. Borrowed array, valid until the next insert or remove. */
struct object *const *store_list(struct store *s, const struct kind *k, const char *ns, size_t *n);
size_t store_count(struct store *s); /* all objects */
/* How many objects have a name that ends like a manifest file's (name_manifest_ext): while
 * there are none, no file name being created in a kind directory can be an object's, and
 * the adapter answers that lookup without the cluster lock. The one function here that
 * may be called WITHOUT the cluster lock: an atomic counter, changed by insert and remove
 * under it. */
size_t store_manifest_named(struct store *s);
/* obj's index in store_list(kind, NULL) (all_ns, or a cluster-scoped kind) or in
 * store_list(kind, its namespace), valid until the next insert or remove of that kind:
 * to visit a subset found through an index in list order. O(1). */
size_t store_list_pos(const struct object *obj, int all_ns);

/* Inserts a new object, hot (json stolen, must carry metadata.name and, when namespaced,
 * metadata.namespace). The caller has checked that it does not exist. Sets rv, mtime. */
struct object *store_insert(struct store *s, const struct kind *k, json_t *json, int64_t now_ms);
/* store_insert for loading a saved state: the object keeps the resourceVersion its JSON
 * already carries (rv, parsed by the caller) instead of a new one written into it; the
 * store's counter advances as for any insert. */
struct object *store_insert_loaded(struct store *s, const struct kind *k, json_t *json, uint64_t rv,
				   int64_t mtime_ms);
/* Records that object_json(obj) changed: new rv (also in metadata.resourceVersion), mtime. */
void store_touch(struct store *s, struct object *obj, int64_t now_ms);
/* Replaces obj's JSON with json (stolen; same kind, namespace and name). The caller then
 * calls store_touch, or sets obj->rv itself (loading). */
void store_set_json(struct store *s, struct object *obj, json_t *json);
/* Makes hot objects cold, least recently read first, until at most keep are hot (objects
 * changed since the last store_take_changes stay hot). Returns the number made cold. */
size_t store_evict(struct store *s, size_t keep);
/* Hot objects now. */
size_t store_hot_count(const struct store *s);
/* Appends obj's JSON as compact text (its cold text as it is, or the hot value written):
 * what a snapshot holds. Reads only: safe from two threads at once under the lock. */
struct jsontext_writer;
void store_write_object(const struct object *obj, struct jsontext_writer *w);
/* Removes and frees obj. */
void store_remove(struct store *s, struct object *obj);

uint64_t store_rv(struct store *s);		 /* last resourceVersion handed out */
void store_set_rv(struct store *s, uint64_t rv); /* when loading state */

/* Journal support: the objects changed and the keys removed since the last call.
 * Fills *puts (new array of references to the live values: serialise before unlocking) and *dels
 * (new array of [kind, namespace-or-null, name] arrays), and clears the dirty set. */
void store_take_changes(struct store *s, json_t **puts, json_t **dels);
int store_has_changes(struct store *s);

/* "namespaces/<ns>/<plural>/<name>" or "<plural>/<name>": the object's path in the mount. */
void object_path(const struct object *obj, struct strbuf *out);

#endif
