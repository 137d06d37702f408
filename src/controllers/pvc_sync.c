/* pvc_sync.c - the claim half of the PV controller (PVCTRL syncClaim): pvc-protection
 * (a deleted claim stays Terminating while a scheduled pod uses it, 1.10), the bound
 * claim's checks (1.5: Lost with ClaimLost or ClaimMisbound, re-binding a volume that
 * came unbound) and the hand-over to the binder (unbound claims, pvc_binder.c) and to
 * the resizer (expansion.c).
 * Cost per sync: O(1); a Terminating claim adds the pods using it. */
#include <string.h>
#include "storage_internal.h"

/* Phase Lost with an event, only when the phase changes; Lost shows no capacity. */
static void lose(struct cluster *cl, struct object *pvc, const char *reason, const char *msg)
{
	json_t *j = object_json(pvc);
	if (strcmp(jstr_or(j, "status.phase", ""), "Lost") == 0)
		return;
	jset_str(j, "status.phase", "Lost");
	jdel(j, "status.accessModes");
	jdel(j, "status.capacity");
	cluster_update(cl, pvc);
	cluster_event(cl, pvc, "Warning", reason, "%s", msg);
}

static void sync_bound(struct cluster *cl, struct object *pvc)
{
	const char *vn = jstr(object_json(pvc), "spec.volumeName");
	if (!vn || !*vn) {
		lose(cl, pvc, "ClaimLost",
		     "Bound claim has lost reference to PersistentVolume. Data on the volume is "
		     "lost!");
		return;
	}
	struct object *pv =
	    store_get(cluster_store(cl), cluster_kind(cl, "PersistentVolume"), NULL, vn);
	if (!pv) {
		lose(cl, pvc, "ClaimLost",
		     "Bound claim has lost its PersistentVolume. Data on the volume is lost!");
		return;
	}
	json_t *ref = jget(object_json(pv), "spec.claimRef");
	const char *uid = jstr(ref, "uid");
	if (ref && !json_is_null(ref) &&
	    (!uid || strcmp(uid, jstr_or(object_json(pvc), "metadata.uid", "")) != 0)) {
		lose(cl, pvc, "ClaimMisbound",
		     "Two claims are bound to the same volume, this one is bound incorrectly");
		return;
	}
	/* claimRef nil (the volume came unbound) or ours: make sure the binding is complete
	 * (a no-op when it is). */
	storage_bind(cl, pv, pvc);
	if (!pvc_is_bound(pvc))
		return;
	expansion_sync(cl, pvc, pv);
	struct pvc_entry *ce = storage_pvc(cl, pvc);
	if (ce && !ce->deleting && ce->request <= ce->status_bytes)
		storage_settled(&ce->synced_rv, &ce->synced_peer_id, &ce->synced_peer_rv, pvc, pv);
}

void pvc_sync(struct cluster *cl, struct object *pvc)
{
	if (storage_unchanged_pvc(cl, pvc))
		return;
	if (jis_deleting(object_json(pvc)) &&
	    jhas_finalizer(object_json(pvc), FIN_PVC_PROTECTION) &&
	    !storage_claim_in_use(cl, pvc->ns, pvc->name, NULL) &&
	    cluster_remove_finalizer(cl, pvc, FIN_PVC_PROTECTION))
		return; /* removed */
	if (jannotation(object_json(pvc), ANN_BIND_COMPLETED))
		sync_bound(cl, pvc);
	else
		binder_sync_unbound(cl, pvc);
}
