/* workload_internal.h - what the workload controllers (pods, nodes, StatefulSets,
 * Deployments, ReplicaSets, Services) share and nobody else uses: the API-server-like
 * create path, owner references, template hashes, conditions, pod spec validation, the
 * three stages of a pod's life (scheduler, attach/detach, kubelet) and the workload index.
 * Everything here is LOCKED (the caller holds the cluster lock).
 *
 * INDEXES: the workload index (workload_index.c, CLUSTER_SLOT_WORKLOADS) keeps, per pod,
 * what the controllers read of it, a StatefulSet's pods by ordinal, and per node its pods,
 * how many are live and which address slots they hold; the storage index (storage_index.c)
 * keeps the pods of each claim. Both follow every pod change through pod_ops.index.
 *
 * COMPLEXITY of each controller step (P = pods, k = pods of one set or ReplicaSet,
 * N = nodes, c = the pod's claims, u = pods using a claim, p = pods on one node):
 *   StatefulSet sync            O(k) flag checks, no JSON read per pod (index), plus
 *                               O(template) for the revision hash and one create or
 *                               delete; a scale-up 0 -> n is O(n^2) flag checks in all
 *                               (0 -> 1,000: 0.15 s without FUSE)
 *   StatefulSet claims          O(claim templates) hash lookups per ordinal
 *   scheduling attempt          O(N * (c + taints + terms)); host ports O(p) per node;
 *                               ReadWriteOncePod O(u); WaitForFirstConsumer: the PVs
 *                               pre-bound to the claim, then per access-mode group the
 *                               class's Available PVs from the request up, O(15 log PV)
 *                               plus the PVs the node or the selector rejects
 *   kubelet sync                O(c * u) for attach, O(p) counters for the address
 *   pod watch                   O(owners + c); on removal, waiters: O(sum of u log u)
 *                               (host ports: O(P))
 *   node watch                  O((p + unbound pods) log of them)
 *   ReplicaSet sync, status     O(pods in the namespace) (JSON reads per pod)
 *   Deployment sync             O(ReplicaSets + pods in the namespace)
 *   namespace sync (deleting)   O(objects in the namespace)
 *   index hook per pod change   O(1) hash work; O(log k) + a memmove of the set's array
 *                               when a pod joins or leaves a set (O(1) at its end) */
#ifndef CLAIMFS_WORKLOAD_INTERNAL_H
#define CLAIMFS_WORKLOAD_INTERNAL_H

#include <stdint.h>
#include <jansson.h>
#include "claimfs/controllers.h"
#include "claimfs/jsonutil.h"
#include "claimfs/manifest.h"
#include "claimfs/strbuf.h"
#include "claimfs/workloads.h"

/* Annotations and labels Kubernetes' workload controllers use. */
#define ANN_SELECTED_NODE "volume.kubernetes.io/selected-node"
#define ANN_BETA_CLASS "volume.beta.kubernetes.io/storage-class"
#define ANN_TOLERATE_UNREADY "service.alpha.kubernetes.io/tolerate-unready-endpoints"
#define ANN_DEPLOY_REVISION "deployment.kubernetes.io/revision"
#define LABEL_STS_POD_NAME "statefulset.kubernetes.io/pod-name"
#define LABEL_POD_INDEX "apps.kubernetes.io/pod-index"
#define LABEL_REVISION_HASH "controller-revision-hash"
#define LABEL_TEMPLATE_HASH "pod-template-hash"
#define LABEL_HOSTNAME "kubernetes.io/hostname"
#define LABEL_ZONE "topology.kubernetes.io/zone"
#define LABEL_ZONE_BETA "failure-domain.beta.kubernetes.io/zone"
#define TAINT_UNREACHABLE "node.kubernetes.io/unreachable"
#define TAINT_NOT_READY "node.kubernetes.io/not-ready"
#define TAINT_UNSCHEDULABLE "node.kubernetes.io/unschedulable"

/* ---- workload_util.c ---- */

/* Creates an object the way a controller's API request would: the kind's admission
 * (defaults and validation) runs first, then cluster_create. json is stolen. On failure
 * returns NULL with err holding the API server's text ("Pod \"web-0\" is invalid: ..."
 * or "pods \"web-0\" already exists"). */
struct object *wl_create(struct cluster *cl, const struct kind *k, json_t *json,
			 struct cfs_err *err);
/* Records obj's change when its json differs from before (a deep copy taken before the
 * change); frees before. Returns 1 when something changed. */
int wl_commit(struct cluster *cl, struct object *obj, json_t *before);

/* An ownerReference naming owner (new reference). */
json_t *wl_owner_ref(const struct object *owner, int controller);
/* The uid of obj's controller ownerReference (controller: true) of that Kind, or NULL. */
const char *wl_controller_uid(const json_t *obj, const char *kind);
/* Does obj carry an ownerReference with this uid? */
int wl_has_owner(const json_t *obj, const char *uid);
/* Adds (once) / removes an ownerReference to owner. Return 1 when object_json(obj) changed. */
int wl_add_owner(json_t *obj, const struct object *owner, int controller);
int wl_remove_owner(json_t *obj, const char *uid);

/* 10 characters of [bcdfghjklmnpqrstvwxz2456789] from the FNV-1a hash of v (compact,
 * keys sorted), as apimachinery's SafeEncodeString of the decimal hash. out >= 11. */
void wl_hash10(const json_t *v, char *out);
/* A generateName suffix: 5 random-looking (cluster-deterministic) characters from the
 * same alphabet. out >= 6. */
void wl_random_suffix(struct cluster *cl, char *out);
/* Go's %#v of a map[string]string: map[string]string{"a":"b", "c":"d"} (keys sorted),
 * with values cut to 64 characters (MQUOTE) and at most 8 entries shown. */
void wl_go_map(const json_t *map, struct strbuf *out);

/* status.conditions[type] of obj, or NULL. */
json_t *wl_condition(const json_t *obj, const char *type);
int wl_condition_is(const json_t *obj, const char *type, const char *status);
/* Sets a condition in obj's status.conditions; lastTransitionTime changes only when the
 * status does. reason/message may be NULL (removed). */
void wl_set_condition(json_t *obj, const char *type, const char *status, const char *reason,
		      const char *message, int64_t now_ms);
/* RFC 3339 of cluster_now_ms into buf (>= 32). */
void wl_now(struct cluster *cl, char *buf, size_t len);
/* Integer or percentage ("25%") of total, rounded up or down; dflt when absent/invalid. */
int64_t wl_int_or_percent(const json_t *v, int64_t total, int round_up, int64_t dflt);

/* ---- pod_spec.c: pod spec defaults and validation (pods and pod templates) ---- */

/* Defaults a pod spec as the API server does (restartPolicy, dnsPolicy, schedulerName,
 * imagePullPolicy, protocols, ...). */
void podspec_default(json_t *spec);
/* Validates spec at path ("spec" or "spec.template.spec"); extra_volumes (NULL-terminated,
 * may be NULL) are volume names that mounts may also use (a StatefulSet's claim
 * templates). Errors carry m's positions. */
int podspec_validate(const struct manifest *m, json_t *spec, const char *path,
		     const char *const *extra_volumes, struct cfs_err *err);
/* Kubernetes' selector-vs-template check for workloads: selector required, non-empty, and
 * matching the template labels; kind_lower names the kind in "empty selector is invalid
 * for <kind>". at is where the error points. */
int wl_check_selector(const struct manifest *m, json_t *obj, const char *kind_lower,
		      struct cfs_err *err);
/* Validates spec.template (labels present, pod spec) and defaults its spec. */
int wl_check_template(const struct manifest *m, json_t *obj, const char *const *extra_volumes,
		      struct cfs_err *err);

/* spec: present, and an object (the first check of every workload's admission). */
int wl_check_spec(const struct manifest *m, json_t *obj, struct cfs_err *err);
/* spec.replicas: a non-negative integer within --max-replicas (-ENOSPC beyond). */
int wl_check_replicas(struct cluster *cl, const struct manifest *m, json_t *obj,
		      struct cfs_err *err);

/* ---- pod helpers (pod.c) ---- */

/* Does the pod use this claim (pod_volume_claim of one of its volumes)? */
int pod_uses_claim(const json_t *pod, const char *claim);
/* Generic ephemeral volumes (pod_ephemeral.c): admission checks each template as the
 * claim it makes; the sync makes the missing claims "<pod>-<volume>", owned by the pod. */
int pod_ephemeral_admit(struct cluster *cl, const struct manifest *m, json_t *obj,
			struct cfs_err *err);
void pod_ephemeral_sync(struct cluster *cl, struct object *pod);
/* Has the pod's volume setup passed (attached, sandbox ready)? */
int pod_is_attached(const json_t *pod);
/* Is the pod bound to its node (the scheduler accepted spec.nodeName)? */
int pod_is_bound(const json_t *pod);
/* Node helpers (node.c). */
/* The node's index in 10.244.<index>.0/24, from spec.podCIDR; 0 when unknown. */
int node_index(const struct object *node);
/* The node's InternalIP, or NULL. */
const char *node_internal_ip(const struct object *node);

/* The claim's StorageClass name: the beta annotation, else spec.storageClassName; NULL
 * when neither is set. */
const char *wl_claim_class(const json_t *pvc);

/* ---- the three stages of a pod (pod_scheduler.c, pod_attach.c, pod_kubelet.c) ---- */

/* Binds an unbound pod to a node when one fits (Scheduled event) and prepares its
 * WaitForFirstConsumer claims; otherwise leaves it Pending with a FailedScheduling
 * event and the PodScheduled condition. Returns 1 when the pod is bound. */
int sched_pod(struct cluster *cl, struct object *pod);
/* Attaches the pod's volumes on its node, or reports why not (FailedAttachVolume,
 * Multi-Attach). Returns 1 when every volume is usable on the node. */
int attach_pod(struct cluster *cl, struct object *pod, const struct object *node);
/* Runs a bound pod on its node: attach, IP, containers, readiness, node failures. */
void kubelet_sync(struct cluster *cl, struct object *pod, struct object *node);

/* ---- StatefulSet internals (statefulset_*.c) ---- */

/* The StatefulSet controller's reconcile (statefulset_sync.c). */
void sts_sync(struct cluster *cl, struct object *set);
/* "<set>-<hash>" of the set's current template into out (>= 128). */
void sts_revision(const struct object *set, char *out, size_t len);
/* Parses "<set>-<ordinal>" for this set; -1 when the name does not fit. */
int64_t sts_parse_ordinal(const char *set, const char *pod);
/* Creates the claims pod ordinal ord needs (events on set); returns 0, or a negative
 * errno with err set (a claim is being deleted, creation failed). */
int sts_create_claims(struct cluster *cl, struct object *set, const char *pod, int64_t ord,
		      struct cfs_err *err);
/* Applies persistentVolumeClaimRetentionPolicy to the claims of ordinal ord (pod may be
 * NULL when it does not exist); in_range: the ordinal is within the replicas. */
void sts_fix_claim_owners(struct cluster *cl, struct object *set, struct object *pod, int64_t ord,
			  int in_range);
/* Fills a new claim's json for a template and ordinal (new reference). */
json_t *sts_claim_json(const struct object *set, const json_t *tmpl, int64_t ord);
/* "<template>-<set>-<ordinal>" into out. */
void sts_claim_name(const json_t *tmpl, const char *set, int64_t ord, char *out, size_t len);

/* ---- the storage controllers' index of pods by the claims they use (storage_index.c) ---- */
/* The pods of ns whose volumes name the claim: fills *out (new array, caller frees),
 * returns the count, newest first. O(pods using the claim) once pods are indexed
 * (storage_pod_index), else O(pods in the namespace). */
size_t storage_claim_pods(struct cluster *cl, const char *ns, const char *claim,
			  struct object ***out);
/* The claim -> pods index, part of pod_ops.index (a pod's volumes are immutable, so a
 * pod is linked once, at insertion, and unlinked at removal). Until it is installed the
 * lookups above scan the namespace. */
void storage_pod_index(struct cluster *cl, struct object *pod, int removed);

/* ---- workload_index.c: pods by StatefulSet and by node (CLUSTER_SLOT_WORKLOADS) ----
 * Kept by wl_pod_index (part of pod_ops.index) on every insert, change and removal of a
 * pod, also while loading. What a pod's entry says is its state as last recorded
 * (cluster_update), decoded once per change. */
struct wl_pod {
	struct object *obj;    /* the pod */
	int64_t ord;	       /* StatefulSet ordinal ("<owner name>-<n>"), or -1 */
	const char *rev;       /* controller-revision-hash, interned, or NULL */
	int64_t ready_since;   /* Ready condition's lastTransitionTime (ms), or -1 */
	unsigned created : 1;  /* status.phase is set */
	unsigned running : 1;  /* status.phase is Running */
	unsigned ready : 1;    /* pod_is_ready() */
	unsigned deleting : 1; /* metadata.deletionTimestamp is set */
};
void wl_pod_index(struct cluster *cl, struct object *pod, int removed);
/* The pod's entry, or NULL when it is not indexed. O(1). */
struct wl_pod *wl_pod_of(struct cluster *cl, const struct object *pod);
/* The pods whose controller reference names the set (its uid and name) and whose names
 * are "<set>-<ordinal>", sorted by ordinal (borrowed array, valid until the next change of
 * any pod). *n = 0 when there are none; *n = (size_t)-1 (and NULL) when pods name the
 * set's uid under another owner name, so that the caller must scan (as upstream, which
 * parses the ordinal with the set's name). O(1). */
struct wl_pod *const *wl_set_pods(struct cluster *cl, const struct object *set, size_t *n);
/* The interned copy of a controller-revision-hash some pod carries, or NULL when no pod
 * carries it: entries' rev pointers are equal exactly when the texts are. O(1). */
const char *wl_rev_interned(struct cluster *cl, const char *rev);
/* Pods with spec.nodeName == node that are not being deleted, self excluded. O(1). */
size_t wl_node_live_pods(struct cluster *cl, const char *node, const struct object *self);
/* The lowest address slot >= 2 of the node's pod range that no pod but self holds (slots
 * as the kubelet numbers them). O(pods on the node) at worst, one counter each. */
size_t wl_node_free_ip_slot(struct cluster *cl, const char *node, const struct object *self);
/* Every pod with spec.nodeName == node, in no order (borrowed, valid until the next pod
 * change). O(1). */
struct wl_pod *const *wl_node_pods(struct cluster *cl, const char *node, size_t *n);
/* Every pod that pod_is_bound() does not accept, in no order (borrowed, valid until the
 * next pod change). O(1). */
struct wl_pod *const *wl_unbound_pods(struct cluster *cl, size_t *n);
/* ---- Services (service.c) ---- */

/* Is the pod an endpoint the Service publishes (matching, with an IP, ready or published
 * though unready)? */
int service_publishes(const struct object *svc, const struct object *pod);

#endif
