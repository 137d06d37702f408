/* pv_sync.c - the volume half of the PV controller (PVCTRL syncVolume, 1.5): phases
 * Available / Bound / Released, unbinding a volume whose claim went elsewhere, the
 * reclaim policies once the claim is gone (1.7: Retain, Delete through the simulated
 * backend, Recycle for nfs and hostPath, Failed for an unknown policy), and the
 * pv-protection finalizer, released once the PV is no longer Bound (1.10). The volume's
 * data (volume.h) follows the asset: Delete removes it (moved into the trash under the
 * lock, removed in the background), Recycle empties it, Retain keeps it.
 * Cost per sync: O(1); Recycle adds O(pods using the claim) (the claim -> pods index). */
#include <stdlib.h>
#include <string.h>
#include "claimfs/volume.h"
#include "storage_internal.h"

/* Kubernetes' periodic resync of the PV controller: what retries a refused recycle. */
#define RESYNC_MS 15000

/* unbindVolume: the controller's own link is dropped; a user's pre-binding keeps its
 * namespace and name but loses the uid, so the PV is reserved for that claim again. */
static void unbind(struct cluster *cl, struct object *pv)
{
	json_t *j = object_json(pv);
	if (jannotation(j, ANN_BOUND_BY_CONTROLLER)) {
		jdel(j, "spec.claimRef");
		jset_annotation(j, ANN_BOUND_BY_CONTROLLER, NULL);
	} else {
		jdel(j, "spec.claimRef.uid");
	}
	storage_set_phase(cl, j, "Available", NULL);
	cluster_update(cl, pv);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "ns/p1,ns/p2": the non-terminated pods that reference the claim; 0 when none. */
static size_t claim_users(struct cluster *cl, const char *ns, const char *claim, struct strbuf *out)
{
	struct object **pods;
	size_t n = storage_claim_pods(cl, ns, claim, &pods), i, k = 0;
	const char **names = xcalloc(n + 1, sizeof(*names));
	for (i = 0; i < n; i++) {
		const char *phase = jstr_or(object_json(pods[i]), "status.phase", "");
		if (strcmp(phase, "Succeeded") != 0 && strcmp(phase, "Failed") != 0)
			names[k++] = pods[i]->name;
	}
	qsort(names, k, sizeof(*names), cmp_str);
	for (i = 0; i < k; i++)
		sb_addf(out, "%s%s/%s", i ? "," : "", ns, names[i]);
	free(names);
	free(pods);
	return k;
}

static void recycle(struct cluster *cl, struct object *pv, struct pv_entry *pe)
{
	json_t *j = object_json(pv);
	struct strbuf users = STRBUF_INIT;
	if (!jget(j, "spec.nfs") && !jget(j, "spec.hostPath")) {
		const char *msg = "No recycler plugin found for the volume!";
		if (storage_set_phase(cl, j, "Failed", msg))
			cluster_update(cl, pv);
		storage_event_once(cl, pv, &pe->memo, "Warning", "VolumeFailedRecycle", "%s", msg);
		return;
	}
	if (claim_users(cl, jstr(j, "spec.claimRef.namespace"), jstr(j, "spec.claimRef.name"),
			&users)) {
		int64_t now = cluster_now_ms(cl);
		storage_event_once(cl, pv, &pe->memo, "Normal", "VolumeFailedRecycle",
				   "Volume is used by pods: %s", sb_str(&users));
		if (now >= pe->retry_due) {
			pe->retry_due = now + RESYNC_MS;
			cluster_enqueue_after(cl, pv, RESYNC_MS);
		}
		sb_release(&users);
		return;
	}
	sb_release(&users);
	struct volumes *vs = volumes_of(cl);
	struct cfs_err e = {{0}};
	if (vs && volumes_reclaim(vs, pv->name, VOLUME_SCRUB, &e) < 0) {
		if (storage_set_phase(cl, j, "Failed", e.msg))
			cluster_update(cl, pv);
		storage_event_once(cl, pv, &pe->memo, "Warning", "VolumeFailedRecycle",
				   "Recycle failed: %s", e.msg);
		return;
	}
	pe->memo = 0;
	cluster_event(cl, pv, "Normal", "VolumeRecycled", "Volume recycled");
	unbind(cl, pv);
}

/* The simulated backend deletes the asset: the volume's data goes. 0, or -errno with
 * VolumeFailedDelete and phase Failed (retried on the next sync, as upstream). */
static int delete_data(struct cluster *cl, struct object *pv)
{
	struct volumes *vs = volumes_of(cl);
	struct pv_entry *pe = storage_pv(cl, pv);
	struct cfs_err e = {{0}};
	int rc = vs ? volumes_reclaim(vs, pv->name, VOLUME_DELETE, &e) : 0;
	if (rc < 0) {
		if (storage_set_phase(cl, object_json(pv), "Failed", e.msg))
			cluster_update(cl, pv);
		storage_event_once(cl, pv, pe ? &pe->memo : NULL, "Warning", "VolumeFailedDelete",
				   "%s", e.msg);
	}
	return rc;
}

/* Deletes the volume through the simulated backend: the asset goes, the reclaim
 * finalizer is removed first, then the PV object is deleted. Returns 1 when pv is gone. */
static int delete_volume(struct cluster *cl, struct object *pv)
{
	if (delete_data(cl, pv) < 0)
		return 0;
	int had = jremove_finalizer(object_json(pv), FIN_EXTERNAL_PROVISIONER);
	had |= jremove_finalizer(object_json(pv), FIN_PV_CONTROLLER);
	if (had)
		cluster_update(cl, pv);
	if (json_array_size(jget(object_json(pv), "metadata.finalizers")) == 0) {
		cluster_request_delete(cl, pv);
		return 1;
	}
	cluster_request_delete(cl, pv);
	return cluster_remove_finalizer(cl, pv, FIN_PV_PROTECTION);
}

/* The claim is gone (1.7). Returns 1 when pv was removed. */
static int reclaim(struct cluster *cl, struct object *pv, struct pv_entry *pe)
{
	const char *policy =
	    jstr_or(object_json(pv), "spec.persistentVolumeReclaimPolicy", "Retain");
	if (strcmp(policy, "Retain") == 0) {
		/* The external provisioner drops its finalizer when the policy is Retain. */
		return cluster_remove_finalizer(cl, pv, FIN_EXTERNAL_PROVISIONER);
	}
	if (strcmp(policy, "Delete") == 0)
		return delete_volume(cl, pv);
	if (strcmp(policy, "Recycle") == 0) {
		recycle(cl, pv, pe);
		return 0;
	}
	const char *msg = "Volume has unrecognized PersistentVolumeReclaimPolicy";
	if (storage_set_phase(cl, object_json(pv), "Failed", msg))
		cluster_update(cl, pv);
	storage_event_once(cl, pv, &pe->memo, "Warning", "VolumeUnknownReclaimPolicy", "%s", msg);
	return 0;
}

/* pv-protection: a deleted PV goes once it is not Bound; the simulated backend deletes
 * the asset of a provisioned one first (its reclaim finalizer). */
static void protect(struct cluster *cl, struct object *pv)
{
	if (!jis_deleting(object_json(pv)) ||
	    strcmp(jstr_or(object_json(pv), "status.phase", ""), "Bound") == 0)
		return;
	/* A deleted Delete PV takes its asset along; Retain and Recycle leave it in place. */
	if (strcmp(jstr_or(object_json(pv), "spec.persistentVolumeReclaimPolicy", ""), "Delete") ==
		0 &&
	    delete_data(cl, pv) < 0)
		return;
	if (cluster_remove_finalizer(cl, pv, FIN_EXTERNAL_PROVISIONER))
		return;
	if (cluster_remove_finalizer(cl, pv, FIN_PV_CONTROLLER))
		return;
	cluster_remove_finalizer(cl, pv, FIN_PV_PROTECTION);
}

/* The claim exists and names no volume yet. */
static void claim_unbound(struct cluster *cl, struct object *pv, struct pv_entry *pe,
			  struct object *claim)
{
	if (storage_is_block(object_json(pv)) != storage_is_block(object_json(claim))) {
		struct pvc_entry *ce = storage_pvc(cl, claim);
		storage_event_once(
		    cl, pv, &pe->memo, "Warning", "VolumeMismatch",
		    "Cannot bind PersistentVolume to requested PersistentVolumeClaim "
		    "\"%s\" due to incompatible volumeMode.",
		    claim->name);
		storage_event_once(cl, claim, ce ? &ce->memo : NULL, "Warning", "VolumeMismatch",
				   "Cannot bind PersistentVolume \"%s\" to requested "
				   "PersistentVolumeClaim due to incompatible volumeMode.",
				   pv->name);
		return;
	}
	/* The binding is not complete: the claim's sync finishes it. */
	cluster_enqueue(cl, claim);
}

void pv_sync(struct cluster *cl, struct object *pv)
{
	struct pv_entry *pe = storage_pv(cl, pv);
	json_t *j = object_json(pv);
	const char *uid = jstr(j, "spec.claimRef.uid");
	const char *phase = jstr_or(j, "status.phase", "");

	if (!pe || storage_unchanged_pv(cl, pv))
		return;
	if (!jget(j, "spec.claimRef") || json_is_null(jget(j, "spec.claimRef")) || !uid || !*uid) {
		/* Unused, or reserved for a claim by name. */
		if (storage_set_phase(cl, j, "Available", NULL))
			cluster_update(cl, pv);
		protect(cl, pv);
		return;
	}
	struct object *claim =
	    store_get(cluster_store(cl), cluster_kind(cl, "PersistentVolumeClaim"),
		      jstr(j, "spec.claimRef.namespace"), jstr_or(j, "spec.claimRef.name", ""));
	if (claim && strcmp(jstr_or(object_json(claim), "metadata.uid", ""), uid) != 0)
		claim = NULL; /* a new claim with the same name: the old one is gone */
	const char *vn = claim ? jstr(object_json(claim), "spec.volumeName") : NULL;
	if (!claim) {
		if (strcmp(phase, "Released") != 0 && strcmp(phase, "Failed") != 0 &&
		    storage_set_phase(cl, j, "Released", NULL))
			cluster_update(cl, pv);
		if (reclaim(cl, pv, pe))
			return;
	} else if (!vn || !*vn) {
		claim_unbound(cl, pv, pe, claim);
	} else if (strcmp(vn, pv->name) == 0) {
		if (storage_set_phase(cl, j, "Bound", NULL))
			cluster_update(cl, pv);
		if (!jis_deleting(j))
			storage_settled(&pe->synced_rv, &pe->synced_peer_id, &pe->synced_peer_rv,
					pv, claim);
	} else if (jannotation(j, ANN_PROVISIONED_BY) &&
		   strcmp(jstr_or(j, "spec.persistentVolumeReclaimPolicy", ""), "Delete") == 0) {
		/* The claim was bound to another volume: this provisioned one is not needed. */
		if (strcmp(phase, "Released") != 0 && strcmp(phase, "Failed") != 0 &&
		    storage_set_phase(cl, j, "Released", NULL))
			cluster_update(cl, pv);
		if (delete_volume(cl, pv))
			return;
	} else {
		unbind(cl, pv);
	}
	protect(cl, pv);
}
