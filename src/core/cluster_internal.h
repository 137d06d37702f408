/* cluster_internal.h - struct cluster and what the cluster's own files share: the work
 * queue, the timer list, commit. Not for controllers (they use controllers.h). */
#ifndef CLAIMFS_CLUSTER_INTERNAL_H
#define CLAIMFS_CLUSTER_INTERNAL_H

#include <pthread.h>
#include "claimfs/cluster.h"
#include "claimfs/controllers.h"
#include "claimfs/persist.h"

struct timer_entry {
	int64_t due_ms;		 /* when to enqueue the object again */
	const struct kind *kind; /* the object's key (it may be gone by then) */
	char *ns, *name;	 /* owned */
};

struct cluster {
	pthread_mutex_t lock;	     /* THE cluster lock (store.h) */
	struct cluster_options opts; /* copy; strings below are owned copies */
	char *state_dir;
	char *cluster_file;
	struct store *store;	 /* every object */
	struct eventlog *events; /* the event log */
	struct persist *persist; /* journal and snapshot */
	uint64_t generation;	 /* bumps on every change or event */
	uint64_t seed;		 /* uid generator seed, persisted */
	uint64_t uid_counter;	 /* uids handed out, persisted */
	int loading;		 /* 1 while replaying state: no hooks */
	int paused;		 /* cluster_pause: the controllers do not run */

	struct object **queue; /* work queue ring (NULL entries: removed objects) */
	size_t qhead, qlen, qcap;

	struct timer_entry *timers; /* pending delayed enqueues, unsorted */
	size_t ntimers, captimers;
	pthread_t timer_thread;	   /* runs due timers (simulated delays) */
	pthread_cond_t timer_cond; /* signalled when a timer is added or on stop */
	int timer_started, stopping;

	void *slots[CLUSTER_NSLOTS]; /* controllers' private state (cluster_slot) */
	void (*slot_fini[CLUSTER_NSLOTS])(void *);
	struct cluster_watch watch; /* the FUSE adapter's change callbacks */
	uint64_t snapshot_bytes;    /* size of the last snapshot, for compaction policy */
	int64_t active_ms;	    /* wall-clock ms of the last cluster_unlock */
	int idle_armed;		    /* the timer thread will look at the hot objects */
};

/* Runs the work queue until empty. LOCKED. */
void cluster_settle(struct cluster *cl);
/* Journals what changed since the last commit; returns the record's sequence for
 * persist_sync (0 when nothing changed), or a negative errno. LOCKED. */
int64_t cluster_commit(struct cluster *cl, struct cfs_err *err);
/* Drops the lock, then waits for seq to be durable. Returns 0 or -EIO. Call LOCKED;
 * returns UNLOCKED. */
int cluster_unlock_and_sync(struct cluster *cl, int64_t seq, struct cfs_err *err);
/* Applies an already decoded manifest (all documents or none). LOCKED. */
int cluster_apply_manifest(struct cluster *cl, const struct manifest *m,
			   const struct apply_scope *scope, struct cfs_err *err);
/* Removes obj now and garbage-collects its dependents. LOCKED. */
void cluster_remove_now(struct cluster *cl, struct object *obj);
/* The store hook: work queue and watches. */
void cluster_store_hook(void *ctx, struct object *obj, int removed);
/* The built-in default cluster as a manifest stream. */
extern const char cluster_default_manifest[];

#endif
