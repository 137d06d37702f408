/* storage_internal.h - what the storage controllers (StorageClass, PersistentVolume,
 * PersistentVolumeClaim: binder, provisioner, reclaim, expansion, protection) share: the
 * annotation and finalizer names, the per-cluster indexes (CLUSTER_SLOT_STORAGE) and the
 * controller steps. Everything here is LOCKED (the caller holds the cluster lock).
 *
 * INDEXES (storage_index.c), kept current by kind_ops.index on every insert, change and
 * removal, also while the state is loaded, so nothing ever scans all PVs or all claims:
 *   - object id -> entry for every PV and claim (hash, O(1));
 *   - per class name (a struct sclass, hash by name, "" for "no class"):
 *       avail[block][modes]  Available PVs without claimRef, one treap per volumeMode
 *                            and access-mode set, ordered by (capacity bytes, name);
 *       pending              unbound claims of the class (and bound claims waiting for a
 *                            resize), ordered by (creationTimestamp, store id);
 *       allocated            running sum of spec.capacity.storage of the PVs provisioned
 *                            from the class (pv.kubernetes.io/provisioned-by) that exist;
 *       capacity             parameters.capacity of the StorageClass (default 100Gi);
 *       reserved             bytes of delayed provisioning (--provision-delay) in flight;
 *   - claimRef "ns/name" -> the PVs whose spec.claimRef names that claim (pre-bound,
 *     reserved, bound, released);
 *   - volumeName -> the claims that name that PV (bound, or pre-bound by the user);
 *   - the default StorageClasses (usually one).
 *
 * COMPLEXITY of each controller step (n = objects of a kind, P = PVs, C = claims):
 *   claim admission               O(1) (quantity parse, class lookup, pool lookup)
 *   claim sync, bound             O(1) + O(pods using the claim) when Terminating
 *   claim sync, unbound (match)   O(15 mode groups * log P) hash/treap lookups; a claim
 *                                 with a selector walks the fitting PVs of its groups
 *   provisioning                  O(log C) (pool check O(1), PV create, bind)
 *   bind                          O(1) (two updates: PV, then claim)
 *   PV sync, reclaim              O(1); Recycle also O(pods using the claim)
 *   drain of a class (space freed, class created)  O(pending claims of the class)
 *   index hook                    O(log n) per change (treap insert/remove)
 *   watch: claim -> pods          O(pods using the claim) with the pod index
 *                                 (storage_pod_index as pod_ops.index), else O(pods in
 *                                 the namespace); only on the claim's phase, volumeName
 *                                 or deletion transitions
 *   watch: claim -> StatefulSets  O(dashes in the name) hash lookups
 *   watch: PV -> pending claims   O(pending claims of the class), only when the PV
 *                                 becomes Available
 *   storage_default_class         O(default classes); storageclass_pool O(1)
 *   sync of a settled bound pair  O(1), no JSON read (storage_unchanged_*): a binding
 *                                 records both resourceVersions, so the syncs its own
 *                                 updates queue return at once; while a state is loaded
 *                                 the index hooks record consistent bound pairs the same
 *                                 way (O(1) per pair, one uid comparison), so the resume
 *                                 after a mount reads no JSON for them
 * Measured (10,000 claims in one stream, default class, 2-CPU VM): the controllers'
 * share of the settle is about 20 us per claim, most of it building the PV's JSON,
 * three events and the store's insert/update hooks.
 *
 * CHOICES (for the README):
 *   - Simulated backend: every provisioner but kubernetes.io/no-provisioner provisions
 *     from the class's pool (parameters.capacity, exact bytes). Immediate-provisioned PVs
 *     have no nodeAffinity: the backend is network storage reachable from every node.
 *     A WaitForFirstConsumer PV gets nodeAffinity for the zone
 *     (topology.kubernetes.io/zone) of the node the scheduler selected (the node itself,
 *     by kubernetes.io/hostname, when it has no zone label).
 *   - Claims waiting for space are retried in creation order whenever space is freed
 *     (a PV of the class removed or shrunk); a claim that still does not fit does not
 *     block younger, smaller ones.
 *   - Delete reclaims every PV (the simulated backend deletes any asset); Recycle works
 *     for nfs and hostPath volumes as upstream, others fail "No recycler plugin found".
 *   - Expansion: the growth is checked against the pool at admission (a write to the
 *     claim's storage file fails with ENOSPC). The resize is then immediate: Resizing,
 *     and VolumeResizeSuccessful when no scheduled pod uses the claim or it is a Block
 *     volume (the filesystem is grown offline); when a pod uses it, the kubelet's online
 *     resize: FileSystemResizeRequired then FileSystemResizeSuccessful.
 *   - Doing better than Kubernetes: a claim created with spec.volumeName and no class is
 *     not given the default class (upstream then refuses to bind it to a class-less PV,
 *     "storageClassName does not match", a well-known trap): it takes the class of the
 *     named PV when that PV exists, else it keeps no class.
 *   - Events that Kubernetes repeats on every resync (WaitForFirstConsumer,
 *     ProvisioningFailed, VolumeMismatch, ...) are written once per distinct message. */
#ifndef CLAIMFS_STORAGE_INTERNAL_H
#define CLAIMFS_STORAGE_INTERNAL_H

#include <stdint.h>
#include <jansson.h>
#include "claimfs/fnv.h"
#include "workload_internal.h"

/* Annotations (HELPERS), finalizers (1.10), provisioners. */
#define ANN_BIND_COMPLETED "pv.kubernetes.io/bind-completed"
#define ANN_BOUND_BY_CONTROLLER "pv.kubernetes.io/bound-by-controller"
#define ANN_PROVISIONED_BY "pv.kubernetes.io/provisioned-by"
#define ANN_STORAGE_PROVISIONER "volume.kubernetes.io/storage-provisioner"
#define ANN_BETA_STORAGE_PROVISIONER "volume.beta.kubernetes.io/storage-provisioner"
#define ANN_IS_DEFAULT_CLASS "storageclass.kubernetes.io/is-default-class"
#define ANN_BETA_IS_DEFAULT_CLASS "storageclass.beta.kubernetes.io/is-default-class"
#define FIN_PVC_PROTECTION "kubernetes.io/pvc-protection"
#define FIN_PV_PROTECTION "kubernetes.io/pv-protection"
#define FIN_EXTERNAL_PROVISIONER "external-provisioner.volume.kubernetes.io/finalizer"
#define FIN_PV_CONTROLLER "kubernetes.io/pv-controller"
#define NO_PROVISIONER "kubernetes.io/no-provisioner"
#define DEFAULT_POOL_BYTES (100LL << 30) /* 100Gi */

/* Access modes as bits. */
enum {
	AM_RWO = 1,  /* ReadWriteOnce */
	AM_ROX = 2,  /* ReadOnlyMany */
	AM_RWX = 4,  /* ReadWriteMany */
	AM_RWOP = 8, /* ReadWriteOncePod */
	AM_SETS = 16 /* number of mode sets */
};

/* ---- storage_index.c: the per-cluster indexes ---- */

struct tnode {		     /* treap node, embedded in entries */
	struct tnode *l, *r; /* children */
	uint32_t prio;	     /* heap priority */
};

struct sclass {
	char *name;			 /* class name; "" for no class */
	int exists;			 /* a StorageClass object of this name exists */
	int64_t capacity;		 /* pool bytes (parameters.capacity, 100Gi) */
	int64_t allocated;		 /* bytes of existing PVs provisioned from it */
	int64_t reserved;		 /* bytes of delayed provisions in flight */
	int dirty;			 /* space freed (or class created): drain */
	int listed;			 /* in the state's dirty list */
	struct tnode *avail[2][AM_SETS]; /* Available PVs by [block][modes] */
	struct tnode *pending;		 /* waiting claims, creation order */
	size_t npending;		 /* entries in pending */
};

struct pv_entry {
	struct object *obj;	   /* the PV */
	struct tnode node;	   /* in cls->avail[block][modes] when in_avail */
	struct sclass *cls;	   /* its class ("" when none) */
	unsigned modes;		   /* AM_* bits of spec.accessModes */
	int block;		   /* volumeMode Block */
	int64_t bytes;		   /* spec.capacity.storage, -1 when unparsable */
	char *cap_str;		   /* the capacity string bytes was parsed from; owned */
	int in_avail;		   /* in an avail treap */
	int counted;		   /* counted in cls->allocated */
	int64_t counted_bytes;	   /* what it added to allocated */
	char *ref_key;		   /* "ns/name" of spec.claimRef, or NULL; owned */
	struct pv_entry *ref_next; /* next PV with the same ref_key */
	uint64_t sig_prev, sig;	   /* watch signatures before and after the last change */
	uint64_t memo;		   /* hash of the last deduplicated event */
	int64_t retry_due;	   /* a timed retry (Recycle in use) is due then (0: none) */
	uint64_t synced_rv;	   /* rv after the last sync that found it Bound and settled */
	uint64_t synced_peer_id;   /* the claim's store id then */
	uint64_t synced_peer_rv;   /* the claim's rv then */
	uint64_t modes_code;	   /* spec.accessModes, exactly (storage_modes_code) */
	unsigned bound_facts : 1;  /* phase Bound, no status.message, claimRef, not deleting */
};

struct pvc_entry {
	struct object *obj;	     /* the claim */
	struct tnode node;	     /* in cls->pending when in_pending */
	struct sclass *cls;	     /* class of the pending claim ("" when none) */
	int in_pending;		     /* in cls->pending */
	int nil_class;		     /* no class at all (retroactive default applies) */
	int64_t created_ms;	     /* creationTimestamp, for the pending order */
	int64_t request;	     /* spec.resources.requests.storage bytes, -1 unparsable */
	char *req_str;		     /* the request string request was parsed from; owned */
	int64_t status_bytes;	     /* status.capacity.storage of a Bound claim, else 0 */
	char *status_str;	     /* the string status_bytes was parsed from; owned */
	uint64_t sig_prev, sig;	     /* watch signatures */
	int deleting_prev, deleting; /* metadata.deletionTimestamp before and after */
	uint64_t memo;		     /* hash of the last deduplicated event */
	int64_t prov_due;	     /* delayed provisioning: when the PV appears (0: none) */
	int64_t prov_reserved;	     /* bytes reserved in cls->reserved for it */
	uint64_t synced_rv;	     /* rv after the last sync that found it Bound and settled */
	uint64_t synced_peer_id;     /* the PV's store id then */
	uint64_t synced_peer_rv;     /* the PV's rv then */
	char *want_key;		     /* spec.volumeName (bound or not), or NULL; owned */
	struct pvc_entry *want_next; /* next claim naming the same volume */
	uint64_t modes_code;	     /* status.accessModes, exactly (storage_modes_code) */
	unsigned bound_facts : 1;    /* bind-completed, phase Bound, volumeName, not deleting,
				      * request <= status capacity */
};

/* The index hooks (kind_ops.index) of the three kinds. */
void storage_index_pv(struct cluster *cl, struct object *obj, int removed);
void storage_index_pvc(struct cluster *cl, struct object *obj, int removed);
void storage_index_sc(struct cluster *cl, struct object *obj, int removed);

/* Entries; NULL when the object is not indexed. */
struct pv_entry *storage_pv(struct cluster *cl, const struct object *pv);
struct pvc_entry *storage_pvc(struct cluster *cl, const struct object *pvc);
/* The class state of a name (created when create is set; else may be NULL). */
struct sclass *storage_class(struct cluster *cl, const char *name, int create);
/* The PVs whose claimRef names ns/name: a chain through ref_next, or NULL. */
struct pv_entry *storage_refs(struct cluster *cl, const char *ns, const char *name);
/* The claims whose spec.volumeName names this PV: a chain through want_next. */
struct pvc_entry *storage_wanting(struct cluster *cl, const char *pv);
/* storage_claim_pods and storage_pod_index (the claim -> pods index) are declared in
 * workload_internal.h: the workload controllers use them too. */
/* The default classes (borrowed array). */
struct object *const *storage_defaults(struct cluster *cl, size_t *n);

/* Walks the Available PVs of cls with exactly these modes and volumeMode whose capacity
 * is >= min_bytes, smallest first (ties by name), until fn returns non-zero; returns
 * that value (0 when the walk ended). */
int storage_avail_walk(struct sclass *cls, int block, unsigned modes, int64_t min_bytes,
		       int (*fn)(struct pv_entry *pe, void *ctx), void *ctx);
/* Collects the claims pending in cls, oldest first: fills *ids (new array of store ids,
 * caller frees) and returns the count. Ids stay safe to look up after any change. */
size_t storage_pending_ids(struct sclass *cls, uint64_t **ids);
/* The claim or PV entry of a store id, or NULL when that object is gone. */
struct pvc_entry *storage_pvc_by_id(struct cluster *cl, uint64_t id);
struct pv_entry *storage_pv_by_id(struct cluster *cl, uint64_t id);
/* Fast path of the syncs that run again right after a binding they made themselves:
 * nothing a bound pair's sync reads has changed when neither object's resourceVersion
 * did. storage_settled() records that state, storage_unchanged() checks it. */
void storage_settled(uint64_t *rv, uint64_t *peer_id, uint64_t *peer_rv, const struct object *self,
		     const struct object *peer);
int storage_unchanged_pvc(struct cluster *cl, const struct object *pvc);
int storage_unchanged_pv(struct cluster *cl, const struct object *pv);
/* Reserves (bytes > 0) or releases (bytes 0) the pool space of a delayed provisioning. */
void storage_reserve(struct pvc_entry *ce, int64_t bytes);
/* Free bytes of the pool: capacity - allocated - reserved (may be negative). */
int64_t storage_free(const struct sclass *cls);
/* Watch side: enqueues the StorageClass objects of the classes marked dirty since the
 * last call (their sync drains the waiting claims). */
void storage_flush_dirty(struct cluster *cl);
/* Did the set of default classes change since the last call? (clears the flag) */
int storage_default_changed(struct cluster *cl);
/* Is a drain running (claims synced from it must not start another)? */
int *storage_draining(struct cluster *cl);

/* ---- storage_util.c: helpers ---- */

/* AM_* bits of an accessModes array (unknown values ignored). */
unsigned storage_modes(const json_t *arr);
/* Bytes of a storage quantity string (rounded up); -1 when s is NULL or invalid. */
int64_t storage_bytes(const char *s);
/* Canonical quantity text of a byte count (BinarySI family: 1073741824 -> "1Gi"). */
void storage_qty_text(int64_t bytes, char *buf, size_t len);
/* The class a PV or claim asks for: the beta annotation first, then storageClassName;
 * NULL when neither is set (a claim with no class; for PVs that means ""). */
const char *storage_class_of(const json_t *obj);
/* Is the volumeMode Block? (absent means Filesystem) */
int storage_is_block(const json_t *obj);
/* Does the PV's claimRef point to this claim (namespace, name, uid empty or equal)? */
int storage_pv_bound_to(const json_t *pv, const struct object *pvc);
/* Sets status.phase (and lastPhaseTransitionTime when it changes); message may be NULL.
 * Returns 1 when object_json(obj) changed (the caller records the update). */
int storage_set_phase(struct cluster *cl, json_t *obj, const char *phase, const char *message);
/* Is (reason, message) different from what *memo recorded? Records it when so. */
int storage_memo_new(uint64_t *memo, const char *reason, const char *message);
/* Adds string s (NULL counts as "\1") and a separator to hash h (FNV-1a steps): the
 * signatures and memos compare a few strings as one 64-bit value. Start from
 * STORAGE_HASH_INIT. */
#define STORAGE_HASH_INIT FNV64_BASIS
uint64_t storage_hash_add(uint64_t h, const char *s);
/* Emits an event unless it repeats the last one recorded in *memo (memo may be NULL). */
void storage_event_once(struct cluster *cl, const struct object *obj, uint64_t *memo,
			const char *type, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Is a scheduled pod using the claim (pvc-protection)? O(pods using the claim). */
int storage_claim_in_use(struct cluster *cl, const char *ns, const char *claim,
			 const char **node_out);
/* Enqueues the pods of ns that use the claim. O(pods using the claim). */
void storage_wake_pods(struct cluster *cl, const char *ns, const char *claim);
/* Enqueues the StatefulSets that own the claim or whose claim templates name it. */
void storage_wake_sets(struct cluster *cl, const struct object *pvc);
/* The node of doc to point messages at for path: the deepest node of the path that has a
 * known position in m (doc itself at worst; any existing node when m is NULL). */
json_t *storage_at(const struct manifest *m, const json_t *doc, const char *path);
/* node when it has a position in m (or m is NULL), else fallback: true, false and null
 * are shared values that carry no position. */
json_t *storage_pos(const struct manifest *m, json_t *node, json_t *fallback);
/* spec.volumeMode of a PV or claim: Filesystem when absent or null, else Filesystem or
 * Block. 0, or -EINVAL with the API server's message at the value's position. */
int storage_check_volume_mode(const struct manifest *m, const json_t *doc, json_t *spec,
			      struct cfs_err *err);
/* spec.storageClassName of a PV or claim, when a non-empty string: a DNS subdomain. 0, or
 * -EINVAL with the API server's message at the value's position. */
int storage_check_class_name(const struct manifest *m, const json_t *doc, json_t *spec,
			     struct cfs_err *err);
/* Validates an accessModes array at path ("spec.accessModes"); claim selects the claim's
 * Required message. */
int storage_check_modes(const struct manifest *m, const json_t *doc, json_t *obj, const char *path,
			int claim, struct cfs_err *err);
/* Parses the quantity at obj's path (a string or a number), refuses zero/negative,
 * replaces it with its canonical string; field names it in messages. *bytes gets the
 * value. Returns 0, or -EINVAL with the position of doc's node. Missing: -ENOENT (no
 * message). */
int storage_check_quantity(const struct manifest *m, const json_t *doc, json_t *obj,
			   const char *path, const char *field, int64_t *bytes,
			   struct cfs_err *err);

/* ---- controllers ---- */

/* pvc_sync.c */
void pvc_sync(struct cluster *cl, struct object *pvc);
/* pvc_binder.c: the unbound claim (1.3) and bind() (1.1). */
void binder_sync_unbound(struct cluster *cl, struct object *pvc);
void storage_bind(struct cluster *cl, struct object *pv, struct object *pvc);
/* The PV that FindMatchingVolume would choose for the claim (1.4), or NULL. */
struct object *binder_find_volume(struct cluster *cl, const struct object *pvc, int delay);
/* provisioner.c (2): provisions for the claim from class scname. */
void provision_claim(struct cluster *cl, struct object *pvc, const char *scname);
/* Retries the waiting claims of cls in creation order (space freed, class created). */
void provision_drain(struct cluster *cl, struct sclass *cls);
/* expansion.c (1.9): resizes a bound claim's PV when its request grew. */
void expansion_sync(struct cluster *cl, struct object *pvc, struct object *pv);
/* Admission of a size change of a claim (RESIZEADM and the pool); new_bytes > old. */
int expansion_admit(struct cluster *cl, const struct manifest *m, const json_t *doc, json_t *obj,
		    const struct object *old, int64_t new_bytes, struct cfs_err *err);
/* pv_sync.c */
void pv_sync(struct cluster *cl, struct object *pv);

#endif
