/* controllers.h - what kinds do beyond being stored, and the helpers controllers use.
 *
 * Each built-in kind has a struct kind_ops: admission (defaulting and validation of a
 * written object, before anything changes) and a sync function that reconciles one object
 * from the work queue, as Kubernetes' controllers do. Controllers only run under the
 * cluster lock, from cluster_apply/patch/delete (settling before the syscall returns)
 * or from the timer thread (simulated delays). They mutate objects through the helpers
 * below so that the journal, the work queue and the events see every change.
 * All functions here are LOCKED (the caller holds the cluster lock). */
#ifndef CLAIMFS_CONTROLLERS_H
#define CLAIMFS_CONTROLLERS_H

#include <stdint.h>
#include <jansson.h>
#include "claimfs/cluster.h"
#include "claimfs/manifest.h"

struct kind_ops {
	/* Defaults and validates obj, the object as it would be stored: for a create, the
	 * written document with metadata filled in; for an update, the document merged over
	 * a copy of the live object `old`. May change obj (defaults). Must not change the
	 * store. Errors name the field and its position (manifest_errorf with m, which may be
	 * NULL for patches). Returns 0 or -EINVAL/-EPERM/-ENOENT/-ENOSPC. */
	int (*admit)(struct cluster *cl, const struct manifest *m, json_t *doc, json_t *obj,
		     const struct object *old, struct cfs_err *err);
	/* Reconciles one object popped from the work queue. */
	void (*sync)(struct cluster *cl, struct object *obj);
	/* obj was created/changed (removed == 0) or is about to be removed (removed == 1):
	 * enqueue the objects whose sync depends on it. May be NULL. */
	void (*watch)(struct cluster *cl, struct object *obj, int removed);
	/* Finalizers this kind's objects get at creation (NULL-terminated), may be NULL. */
	const char *const *finalizers;
	/* Keeps a controller's private indexes current: called for every insert and change
	 * (removed == 0) and before every removal (removed == 1), also while the state is
	 * being loaded (when sync and watch are not called). Must not change any object or
	 * enqueue anything. May be NULL. */
	void (*index)(struct cluster *cl, struct object *obj, int removed);
};

/* Per-cluster private state of a controller module (its indexes and caches): slot s is
 * created by init() on first use and freed by fini() when the cluster closes. */
enum cluster_slot {
	CLUSTER_SLOT_STORAGE,	/* src/controllers storage (PV/PVC/StorageClass) */
	CLUSTER_SLOT_WORKLOADS, /* src/controllers workloads */
	CLUSTER_SLOT_RENDER,	/* metrics and tables */
	CLUSTER_SLOT_TREE,	/* src/tree */
	CLUSTER_SLOT_VOLUMES,	/* src/volume: the volume registry */
	CLUSTER_SLOT_SPARE2,
	CLUSTER_NSLOTS
};
void *cluster_slot(struct cluster *cl, enum cluster_slot s, void *(*init)(void),
		   void (*fini)(void *));

/* 1 while a saved state is being loaded: the index hooks run, sync and watch do not. */
int cluster_loading(const struct cluster *cl);

/* Built-in kinds' operations (src/controllers). */
extern const struct kind_ops namespace_ops, node_ops, storageclass_ops, pv_ops, pvc_ops;
extern const struct kind_ops pod_ops, statefulset_ops, deployment_ops, replicaset_ops, service_ops;

/* Kind lookups by Kind name for the built-ins ("PersistentVolumeClaim"). */
const struct kind *cluster_kind(struct cluster *cl, const char *kind);

/* Work queue. A queued object is synced once even if enqueued many times. */
void cluster_enqueue(struct cluster *cl, struct object *obj);
/* Enqueue obj again after delay_ms of simulated time (the timer thread runs it). */
void cluster_enqueue_after(struct cluster *cl, struct object *obj, int64_t delay_ms);
/* Enqueue every object of kind k (in ns, or all namespaces when ns is NULL). */
void cluster_enqueue_kind(struct cluster *cl, const struct kind *k, const char *ns);

/* Creates an object as a controller would through the API server: fills uid,
 * creationTimestamp, resourceVersion, the kind's finalizers; json is stolen. Returns the
 * object, or NULL with err set (-EEXIST, or -ENOSPC when the object limit is reached). */
struct object *cluster_create(struct cluster *cl, const struct kind *k, json_t *json,
			      struct cfs_err *err);
/* Records a change made to obj->json (journal, resourceVersion, mtime, work queue). */
void cluster_update(struct cluster *cl, struct object *obj);
/* A DELETE request: with finalizers, sets metadata.deletionTimestamp (Terminating) and
 * enqueues; without, removes the object now and garbage-collects its dependents
 * (objects whose ownerReferences name its uid). obj may be freed on return. */
void cluster_request_delete(struct cluster *cl, struct object *obj);
/* Removes a finalizer; when obj is being deleted and none is left, removes it (obj may be
 * freed on return). Returns 1 when obj was removed. */
int cluster_remove_finalizer(struct cluster *cl, struct object *obj, const char *finalizer);

/* Emits a Kubernetes event about obj: type "Normal"/"Warning". */
void cluster_event(struct cluster *cl, const struct object *obj, const char *type,
		   const char *reason, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A new random-looking but deterministic v4 UUID for this cluster (buf >= 37). */
void cluster_new_uid(struct cluster *cl, char *buf);

/* Shared helpers of the storage controllers used by the workload controllers. */
/* The default StorageClass (newest by creationTimestamp, ties by name), or NULL. */
struct object *storage_default_class(struct cluster *cl);
/* Is the claim bound (phase Bound with a volumeName)? */
int pvc_is_bound(const struct object *pvc);
/* The simulated backend's pool of a class: capacity (parameters.capacity, default 100Gi)
 * and allocated (sum of spec.capacity.storage of the PVs provisioned from it that still
 * exist, Released ones included). Returns 0. */
struct quantity;
int storageclass_pool(struct cluster *cl, const struct object *sc, struct quantity *capacity,
		      struct quantity *allocated);
/* The provisioner name of the simulated backend. */
#define CLAIMFS_PROVISIONER "claimfs.io/simulated"

#endif
