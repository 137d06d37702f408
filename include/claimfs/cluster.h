/* cluster.h - the simulated control plane as one value: the store, the event log, the
 * controllers' work queue, the simulated clock and durable state. This is the API the
 * FUSE adapter uses; controllers use controllers.h on top of it.
 *
 * Locking (see store.h for the whole design): cluster_lock() guards everything reachable
 * from a struct cluster. Functions marked LOCKED need the caller to hold it; functions
 * marked UNLOCKED take it themselves and must be called without it (they also wait for
 * the journal's fsync after dropping it, so they return only once the change is durable).
 *
 * Errors: 0 or a negative errno with the reason in err. Every refused mutation also
 * leaves a "Warning FailedApply <source> <reason>" line in the event log and on stderr,
 * and changes nothing. */
#ifndef CLAIMFS_CLUSTER_H
#define CLAIMFS_CLUSTER_H

#include <stdint.h>
#include <stddef.h>
#include <jansson.h>
#include "claimfs/error.h"
#include "claimfs/store.h"
#include "claimfs/events.h"
#include "claimfs/persist.h"

struct cluster_options {
	const char *state_dir;	    /* required; created 0700 */
	const char *cluster_file;   /* manifest stream applied to a new state; NULL: built-in */
	int64_t pod_start_delay_ms; /* simulated container start time (0: immediate) */
	int64_t provision_delay_ms; /* simulated backend provisioning time (0: immediate) */
	size_t max_objects;	    /* refuse creations beyond this (0: 1,000,000) */
	size_t max_replicas;	    /* refuse replicas beyond this per workload (0: 10,000) */
	size_t hot_objects;	    /* objects kept decoded when idle, the rest as compact
				       text (store.h, cold objects; 0: 2,048) */
	int evict_at_unlock;	    /* 1: down to hot_objects at every unlock (tests) */
	uint64_t compact_min_bytes; /* journal bytes before a compaction (0: 64 MiB; tests
				       lower it to get snapshots of small states) */
	int quiet;		    /* 1: do not copy FailedApply reasons to stderr */
};

#define CLUSTER_DEFAULT_MAX_OBJECTS 1000000
#define CLUSTER_DEFAULT_MAX_REPLICAS 10000
#define CLUSTER_DEFAULT_HOT_OBJECTS 2048

struct cluster;

/* Opens the state directory (see persist.h), loads or creates the cluster, starts the
 * timer thread for simulated delays. -EBUSY when another daemon owns the directory.
 * UNLOCKED. */
int cluster_open(const struct cluster_options *opts, struct cluster **out, struct cfs_err *err);
/* Stops the timer thread, syncs and frees. UNLOCKED. */
void cluster_close(struct cluster *cl);

void cluster_lock(struct cluster *cl);
/* Lets go of the lock. Objects are made cold (store.h) by the timer thread once the
 * cluster has been idle for CLUSTER_IDLE_MS, down to hot_objects, a batch per lock hold;
 * and here, at once, when more than CLUSTER_HOT_BURST times hot_objects are hot (a long
 * burst of writes) or with evict_at_unlock. So no JSON pointer survives an unlock. */
void cluster_unlock(struct cluster *cl);
#define CLUSTER_IDLE_MS 1000 /* 200 ms split bursts of streams sent 0.2-0.3 s apart */
#define CLUSTER_HOT_BURST 128
struct store *cluster_store(struct cluster *cl);     /* LOCKED use; borrowed */
struct eventlog *cluster_events(struct cluster *cl); /* LOCKED use; borrowed */
const struct cluster_options *cluster_options(const struct cluster *cl);
int64_t cluster_now_ms(struct cluster *cl); /* wall clock in ms */
/* Increases whenever anything changes (any object or event). LOCKED. */
uint64_t cluster_generation(struct cluster *cl);

/* Where a written manifest may go: a kind directory or an object's manifest.yaml fixes the
 * kind, namespace and name; NULL fields are free. default_name is used for documents
 * without metadata.name (the file name without its extension). */
struct apply_scope {
	const struct kind *kind;
	const char *ns;
	const char *name;
	const char *default_name;
};

/* Applies a YAML/JSON stream: every document is decoded, defaulted and validated first;
 * only if all pass are they all applied (create, or update by merging the document over
 * the live object as `kubectl apply` does), then the controllers run until the cluster
 * has settled, then the change is made durable. source names the input in messages.
 * scope may be NULL (/apply). UNLOCKED. */
int cluster_apply(struct cluster *cl, const char *buf, size_t len, const char *source,
		  const struct apply_scope *scope, struct cfs_err *err);
/* cluster_apply in two halves, for a caller that must neither wait for the disk with its
 * own locks held nor keep a thread waiting (the FUSE adapter's close): applies the same
 * way and returns 0 or the refusal without waiting; *seq is the journal record that makes
 * the change durable (0: nothing to wait for), for cluster_sync_async. UNLOCKED. */
int cluster_apply_nowait(struct cluster *cl, const char *buf, size_t len, const char *source,
			 const struct apply_scope *scope, struct cfs_err *err, int64_t *seq);
/* Sets w->seq to seq and hands w to group commit (persist_sync_async): w->done runs once,
 * at once when seq is 0. UNLOCKED (done may run in this thread before it returns). */
void cluster_sync_async(struct cluster *cl, int64_t seq, struct persist_waiter *w);
/* Applies a merge patch (borrowed) to one object, with the same validation as apply
 * (used by writable attribute files: replicas, storage). UNLOCKED. */
int cluster_patch(struct cluster *cl, const struct kind *k, const char *ns, const char *name,
		  const json_t *patch, const char *source, struct cfs_err *err);
/* Deletes with Kubernetes' semantics (finalizers and Terminating, reclaim policy,
 * garbage collection of dependents, StatefulSet recreation). -ENOENT when missing.
 * UNLOCKED. */
int cluster_delete(struct cluster *cl, const struct kind *k, const char *ns, const char *name,
		   const char *source, struct cfs_err *err);
/* Marks a node Ready or NotReady (failure injection). UNLOCKED. */
int cluster_set_node_ready(struct cluster *cl, const char *node, int ready, const char *source,
			   struct cfs_err *err);
/* Creates a namespace (mkdir namespaces/<ns>). -EEXIST when it exists. UNLOCKED. */
int cluster_create_namespace(struct cluster *cl, const char *name, const char *source,
			     struct cfs_err *err);

/* Change notification for the FUSE adapter's caches and poll handles. The callbacks run
 * LOCKED, in the middle of the change, in the thread that made it; they must not block,
 * take the cluster lock or call into the cluster. Any of them may be NULL. */
struct cluster_watch {
	void *ctx;
	/* obj was created or changed (removed == 0), or is about to be removed (removed ==
	 * 1; obj is still valid during the call). */
	void (*object)(void *ctx, const struct object *obj, int removed);
	/* An event line was added; object_path is its object column (a path in the mount). */
	void (*event)(void *ctx, const char *object_path);
	/* The timer thread (simulated delays) committed a change: nobody waits for it, so
	 * the adapter should flush what the callbacks above collected. */
	void (*background)(void *ctx);
};
/* Installs the watcher (copied). Call once, before the cluster is shared. UNLOCKED. */
void cluster_set_watch(struct cluster *cl, const struct cluster_watch *w);

/* Test hook: while paused, the controllers do not run (the work queue is kept, nothing
 * is reconciled), so a Check suite can build a state by hand with store_insert and render
 * it exactly. LOCKED. Never used by the daemon. */
void cluster_pause(struct cluster *cl, int paused);

/* Records a refused input: a "Warning FailedApply <source> <reason>" event and a line on
 * stderr. LOCKED. */
void cluster_report_failure(struct cluster *cl, const char *source, const char *reason);

#endif
