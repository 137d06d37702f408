/* expansion.c - volume expansion (1.9). Admission: the resize plugin (only bound claims,
 * only a class with allowVolumeExpansion: true, RESIZEADM's texts) and the pool of the
 * class, so that a write to a claim's storage file fails at write(2) with ENOSPC. The
 * controller (the expand controller, the external resizer and the kubelet in one step,
 * immediate): the PV's spec.capacity grows, then the claim's status.capacity follows,
 * with ExternalExpanding (external provisioners) and Resizing, then either
 * VolumeResizeSuccessful (no scheduled pod uses the claim, or a Block volume: the
 * filesystem is grown offline) or FileSystemResizeRequired and FileSystemResizeSuccessful
 * (a pod uses it: the kubelet grows the mounted filesystem online).
 * Cost: O(1), plus the pods using the claim. */
#include <errno.h>
#include <string.h>
#include "claimfs/quantity.h"
#include "storage_internal.h"

int expansion_admit(struct cluster *cl, const struct manifest *m, const json_t *doc, json_t *obj,
		    const struct object *old, int64_t new_bytes, struct cfs_err *err)
{
	const char *oc = storage_class_of(object_json(old)), *nc = storage_class_of(obj);
	json_t *at = storage_at(m, doc, "spec.resources.requests.storage");
	struct object *sc = NULL;
	if (oc && *oc && nc && strcmp(oc, nc) == 0)
		sc = store_get(cluster_store(cl), cluster_kind(cl, "StorageClass"), NULL, oc);
	if (!sc || !jbool(object_json(sc), "allowVolumeExpansion", 0))
		return manifest_errorf(
		    m, at, err, -EPERM,
		    "persistentvolumeclaims \"%s\" is forbidden: only dynamically "
		    "provisioned pvc can be resized and the storageclass that "
		    "provisions the pvc must support resize",
		    old->name);
	struct object *pv = store_get(cluster_store(cl), cluster_kind(cl, "PersistentVolume"), NULL,
				      jstr_or(object_json(old), "spec.volumeName", ""));
	struct pv_entry *pe = pv ? storage_pv(cl, pv) : NULL;
	if (!pe || !pe->counted || new_bytes <= pe->bytes)
		return 0; /* not from the pool, or no growth of the volume */
	int64_t need = new_bytes - pe->bytes, avail = storage_free(pe->cls);
	if (need <= avail)
		return 0;
	char to[QTY_STR_MAX], more[QTY_STR_MAX], free_[QTY_STR_MAX], cap[QTY_STR_MAX];
	if (avail < 0)
		avail = 0;
	storage_qty_text(new_bytes, to, sizeof(to));
	storage_qty_text(need, more, sizeof(more));
	storage_qty_text(avail, free_, sizeof(free_));
	storage_qty_text(pe->cls->capacity, cap, sizeof(cap));
	return manifest_errorf(
	    m, at, err, -ENOSPC,
	    "persistentvolumeclaims \"%s\" is forbidden: not enough space in the "
	    "pool of StorageClass \"%s\": expanding volume \"%s\" to %s needs %s "
	    "(%lld bytes) more, %s (%lld bytes) of %s are free",
	    old->name, pe->cls->name, pv->name, to, more, (long long)need, free_, (long long)avail,
	    cap);
}

void expansion_sync(struct cluster *cl, struct object *pvc, struct object *pv)
{
	struct pvc_entry *ce = storage_pvc(cl, pvc);
	struct pv_entry *pe = storage_pv(cl, pv);
	json_t *j = object_json(pvc);
	const char *node = NULL;
	if (!ce || !pe || ce->request <= 0 || ce->request <= ce->status_bytes)
		return;
	const char *cname = storage_class_of(j);
	struct object *sc =
	    cname ? store_get(cluster_store(cl), cluster_kind(cl, "StorageClass"), NULL, cname)
		  : NULL;
	const char *prov = jannotation(object_json(pv), ANN_PROVISIONED_BY);
	if (!prov)
		prov = sc ? jstr_or(object_json(sc), "provisioner", CLAIMFS_PROVISIONER)
			  : CLAIMFS_PROVISIONER;
	if (pe->bytes < ce->request && pe->counted) {
		int64_t need = ce->request - pe->bytes, avail = storage_free(pe->cls);
		if (need > avail) {
			char more[QTY_STR_MAX], free_[QTY_STR_MAX];
			storage_qty_text(need, more, sizeof(more));
			storage_qty_text(avail > 0 ? avail : 0, free_, sizeof(free_));
			storage_event_once(
			    cl, pvc, &ce->memo, "Warning", "VolumeResizeFailed",
			    "resize volume \"%s\" by resizer \"%s\" failed: not enough "
			    "space in the pool of StorageClass \"%s\": %s more needed, "
			    "%s free",
			    pv->name, prov, pe->cls->name, more, free_);
			return; /* retried when space frees up (the class's drain) */
		}
	}
	if (strncmp(prov, "kubernetes.io/", 14) != 0)
		cluster_event(cl, pvc, "Normal", "ExternalExpanding",
			      "waiting for an external controller to expand this PVC");
	cluster_event(cl, pvc, "Normal", "Resizing", "External resizer is resizing volume %s",
		      pv->name);
	if (pe->bytes < ce->request) {
		jset_str(object_json(pv), "spec.capacity.storage",
			 jstr(j, "spec.resources.requests.storage"));
		cluster_update(cl, pv);
	}
	if (!storage_is_block(j) && storage_claim_in_use(cl, pvc->ns, pvc->name, &node)) {
		cluster_event(cl, pvc, "Normal", "FileSystemResizeRequired",
			      "Require file system resize of volume on node");
		cluster_event(cl, pvc, "Normal", "FileSystemResizeSuccessful",
			      "MountVolume.NodeExpandVolume succeeded for volume \"%s\" %s",
			      pv->name, node);
	} else {
		cluster_event(cl, pvc, "Normal", "VolumeResizeSuccessful",
			      "Resize volume succeeded");
	}
	const char *cap = jstr(object_json(pv), "spec.capacity.storage");
	jset_str(j, "status.capacity.storage", cap);
	jset_str(j, "status.allocatedResources.storage", cap);
	jdel(j, "status.allocatedResourceStatuses");
	ce->memo = 0;
	cluster_update(cl, pvc);
}
