/* attrs_storage.c - the attribute tables of the storage kinds: PersistentVolumeClaim,
 * PersistentVolume and StorageClass (one-value files, the claim <-> volume symlinks, a
 * PV's data/ served from the volume backend, a class's pool and its volumes/), and the
 * claim's writable storage (expansion through cluster_patch). Shows are LOCKED; stores
 * UNLOCKED.
 * Complexity: every file O(1) but a class's persistentvolumes/ listing, O(all PVs) (its
 * lookup is O(1)); the pool files cost what storageclass_pool() costs. */
#include <errno.h>
#include <string.h>
#include "claimfs/controllers.h"
#include "claimfs/jsonutil.h"
#include "claimfs/quantity.h"
#include "claimfs/volume.h"
#include "tree_internal.h"

#define ANN_BETA_CLASS "volume.beta.kubernetes.io/storage-class"
#define ANN_DEFAULT_CLASS "storageclass.kubernetes.io/is-default-class"
#define ANN_DEFAULT_CLASS_BETA "storageclass.beta.kubernetes.io/is-default-class"

/* The class of a claim or volume as kubectl shows it: the beta annotation wins. */
static const char *class_of(const struct object *obj)
{
	const char *c = jannotation(object_json(obj), ANN_BETA_CLASS);
	return c ? c : jstr(object_json(obj), "spec.storageClassName");
}

static int show_phase(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_path(obj, "status.phase", out);
}

static int show_status(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_phase_status(obj, out);
}

static int show_class(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_string(class_of(obj), out);
}

static int show_access_modes(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_lines(jget(object_json(obj), "spec.accessModes"), out);
}

static int show_volume_mode(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_path(obj, "spec.volumeMode", out);
}

/* ---- PersistentVolumeClaim ---- */

static int pvc_volume_name(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_path(obj, "spec.volumeName", out);
}

static int pvc_storage(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_quantity(jstr(object_json(obj), "spec.resources.requests.storage"), out);
}

static int pvc_capacity(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_quantity(jstr(object_json(obj), "status.capacity.storage"), out);
}

/* volume -> ../../../../persistentvolumes/<pv> while spec.volumeName names a PV. */
static int pvc_volume(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	const char *pv = jstr(object_json(obj), "spec.volumeName");
	if (!pv || !*pv ||
	    !store_get(cluster_store(cl), cluster_kind(cl, "PersistentVolume"), NULL, pv))
		return -ENOENT;
	sb_addf(out, "../../../../persistentvolumes/%s", pv);
	return 0;
}

static int pvc_volume_present(struct cluster *cl, const struct object *obj)
{
	struct strbuf sb = STRBUF_INIT;
	int rc = pvc_volume(cl, obj, &sb);
	sb_release(&sb);
	return rc == 0;
}

/* Writing a quantity asks for expansion: admission says whether the class allows it. */
static int pvc_storage_store(struct cluster *cl, const struct tree_node *node, const char *val,
			     struct cfs_err *err)
{
	struct strbuf source = STRBUF_INIT;
	struct quantity q;
	struct cfs_err qe;
	char canon[QTY_STR_MAX];
	int rc;
	tree_node_path(node, &source);
	rc = quantity_parse(val, &q, &qe);
	if (rc < 0) {
		cfs_errorf(err, -EINVAL,
			   "spec.resources.requests.storage: Invalid value: \"%s\": %s", val,
			   qe.msg);
		rc = tree_refuse(cl, sb_str(&source), -EINVAL, err);
	} else {
		quantity_format(&q, canon, sizeof(canon));
		json_t *patch = json_pack("{s:{s:{s:{s:s}}}}", "spec", "resources", "requests",
					  "storage", canon);
		rc = cluster_patch(cl, node->kind, node->ns, node->name, patch, sb_str(&source),
				   err);
		json_decref(patch);
	}
	sb_release(&source);
	return rc;
}

static const struct tree_attr pvc_attrs[] = {
    TREE_COMMON_ATTRS,
    {"phase", TREE_FILE, 0444, TREE_OWN, NULL, show_phase, NULL, NULL, NULL},
    {"status", TREE_FILE, 0444, TREE_OWN, NULL, show_status, NULL, NULL, NULL},
    {"volumeName", TREE_FILE, 0444, TREE_OWN, NULL, pvc_volume_name, NULL, NULL, NULL},
    {"storageClassName", TREE_FILE, 0444, TREE_OWN, NULL, show_class, NULL, NULL, NULL},
    {"accessModes", TREE_FILE, 0444, TREE_OWN, NULL, show_access_modes, NULL, NULL, NULL},
    {"storage", TREE_FILE, 0644, TREE_OWN | TREE_STORE, NULL, pvc_storage, pvc_storage_store, NULL,
     NULL},
    {"capacity", TREE_FILE, 0444, TREE_OWN, NULL, pvc_capacity, NULL, NULL, NULL},
    {"volumeMode", TREE_FILE, 0444, TREE_OWN, NULL, show_volume_mode, NULL, NULL, NULL},
    {"volume", TREE_LINK, 0777, 0, pvc_volume_present, pvc_volume, NULL, NULL, NULL},
};
const struct tree_table tree_table_pvc = {"PersistentVolumeClaim", pvc_attrs,
					  sizeof(pvc_attrs) / sizeof(pvc_attrs[0]), 0};

/* ---- PersistentVolume ---- */

static int pv_capacity(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_quantity(jstr(object_json(obj), "spec.capacity.storage"), out);
}

static int pv_reclaim(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_path(obj, "spec.persistentVolumeReclaimPolicy", out);
}

static int pv_claim_ref(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	const char *ns = jstr(object_json(obj), "spec.claimRef.namespace");
	const char *name = jstr(object_json(obj), "spec.claimRef.name");
	if (ns && name)
		sb_addf(out, "%s/%s\n", ns, name);
	return 0;
}

/* claim -> ../../namespaces/<ns>/persistentvolumeclaims/<name> while that claim exists
 * with the claimRef's uid (or the claimRef has none: a pre-bound volume). */
static int pv_claim(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	const char *ns = jstr(object_json(obj), "spec.claimRef.namespace");
	const char *name = jstr(object_json(obj), "spec.claimRef.name");
	const char *uid = jstr(object_json(obj), "spec.claimRef.uid");
	if (!ns || !name)
		return -ENOENT;
	struct object *pvc =
	    store_get(cluster_store(cl), cluster_kind(cl, "PersistentVolumeClaim"), ns, name);
	if (!pvc ||
	    (uid && *uid && (!juid(object_json(pvc)) || strcmp(uid, juid(object_json(pvc))) != 0)))
		return -ENOENT;
	sb_addf(out, "../../namespaces/%s/persistentvolumeclaims/%s", ns, name);
	return 0;
}

static int pv_claim_present(struct cluster *cl, const struct object *obj)
{
	struct strbuf sb = STRBUF_INIT;
	int rc = pv_claim(cl, obj, &sb);
	sb_release(&sb);
	return rc == 0;
}

/* data/: the volume's content, served by the adapter (volume.h). A Block volume is a raw
 * device, not a file system: it has none. */
static int pv_data_present(struct cluster *cl, const struct object *obj)
{
	const char *mode = jstr(object_json(obj), "spec.volumeMode");
	return (!mode || strcmp(mode, "Block") != 0) && volumes_check_name(obj->name) == 0;
}

static const struct tree_attr pv_attrs[] = {
    TREE_COMMON_ATTRS,
    {"phase", TREE_FILE, 0444, TREE_OWN, NULL, show_phase, NULL, NULL, NULL},
    {"status", TREE_FILE, 0444, TREE_OWN, NULL, show_status, NULL, NULL, NULL},
    {"capacity", TREE_FILE, 0444, TREE_OWN, NULL, pv_capacity, NULL, NULL, NULL},
    {"accessModes", TREE_FILE, 0444, TREE_OWN, NULL, show_access_modes, NULL, NULL, NULL},
    {"reclaimPolicy", TREE_FILE, 0444, TREE_OWN, NULL, pv_reclaim, NULL, NULL, NULL},
    {"storageClassName", TREE_FILE, 0444, TREE_OWN, NULL, show_class, NULL, NULL, NULL},
    {"volumeMode", TREE_FILE, 0444, TREE_OWN, NULL, show_volume_mode, NULL, NULL, NULL},
    {"claimRef", TREE_FILE, 0444, TREE_OWN, NULL, pv_claim_ref, NULL, NULL, NULL},
    {"claim", TREE_LINK, 0777, 0, pv_claim_present, pv_claim, NULL, NULL, NULL},
    {"data", TREE_DIR, 0755, TREE_DATA, pv_data_present, NULL, NULL, NULL, NULL},
};
const struct tree_table tree_table_pv = {"PersistentVolume", pv_attrs,
					 sizeof(pv_attrs) / sizeof(pv_attrs[0]), 0};

/* ---- StorageClass ---- */

static int sc_provisioner(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_path(obj, "provisioner", out);
}

/* Unset fields print what Kubernetes defaults them to (and kubectl shows). */
static int sc_reclaim(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_string(jstr_or(object_json(obj), "reclaimPolicy", "Delete"), out);
}

static int sc_binding_mode(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_string(jstr_or(object_json(obj), "volumeBindingMode", "Immediate"), out);
}

static int sc_expansion(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_bool(jbool(object_json(obj), "allowVolumeExpansion", 0), out);
}

static int sc_default(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	const char *a = jannotation(object_json(obj), ANN_DEFAULT_CLASS);
	const char *b = jannotation(object_json(obj), ANN_DEFAULT_CLASS_BETA);
	return tree_show_bool((a && strcmp(a, "true") == 0) || (b && strcmp(b, "true") == 0), out);
}

enum pool_part { POOL_CAPACITY, POOL_ALLOCATED, POOL_AVAILABLE };

static int sc_pool(struct cluster *cl, const struct object *obj, enum pool_part part,
		   struct strbuf *out)
{
	struct quantity cap, alloc, show;
	char buf[QTY_STR_MAX];
	storageclass_pool(cl, obj, &cap, &alloc);
	if (part == POOL_CAPACITY) {
		show = cap;
	} else if (part == POOL_ALLOCATED) {
		show = alloc;
	} else if (quantity_cmp(&alloc, &cap) >= 0 || quantity_sub(&cap, &alloc, &show) < 0) {
		show = quantity_from_int(0, cap.fmt);
	}
	quantity_format(&show, buf, sizeof(buf));
	return tree_show_string(buf, out);
}

static int sc_capacity(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return sc_pool(cl, obj, POOL_CAPACITY, out);
}

static int sc_allocated(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return sc_pool(cl, obj, POOL_ALLOCATED, out);
}

static int sc_available(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return sc_pool(cl, obj, POOL_AVAILABLE, out);
}

static int pv_of_class(const struct object *pv, const struct object *sc)
{
	const char *c = class_of(pv);
	return c && strcmp(c, sc->name) == 0;
}

/* persistentvolumes/<pv> -> ../../../persistentvolumes/<pv>: O(all PVs). */
static void sc_pvs_list(struct cluster *cl, const struct object *obj, struct tree_links *out)
{
	struct strbuf target = STRBUF_INIT;
	size_t n, i;
	struct object *const *pvs =
	    store_list(cluster_store(cl), cluster_kind(cl, "PersistentVolume"), NULL, &n);
	for (i = 0; i < n; i++) {
		if (!pv_of_class(pvs[i], obj))
			continue;
		sb_reset(&target);
		sb_addf(&target, "../../../persistentvolumes/%s", pvs[i]->name);
		tree_links_add(out, pvs[i]->name, sb_str(&target), pvs[i]->id);
	}
	sb_release(&target);
}

static int sc_pvs_find(struct cluster *cl, const struct object *obj, const char *name,
		       struct strbuf *target, uint64_t *id)
{
	struct object *pv =
	    store_get(cluster_store(cl), cluster_kind(cl, "PersistentVolume"), NULL, name);
	if (!pv || !pv_of_class(pv, obj))
		return -ENOENT;
	sb_addf(target, "../../../persistentvolumes/%s", name);
	*id = pv->id;
	return 0;
}

static const struct tree_attr sc_attrs[] = {
    TREE_COMMON_ATTRS,
    {"provisioner", TREE_FILE, 0444, TREE_OWN, NULL, sc_provisioner, NULL, NULL, NULL},
    {"reclaimPolicy", TREE_FILE, 0444, TREE_OWN, NULL, sc_reclaim, NULL, NULL, NULL},
    {"volumeBindingMode", TREE_FILE, 0444, TREE_OWN, NULL, sc_binding_mode, NULL, NULL, NULL},
    {"allowVolumeExpansion", TREE_FILE, 0444, TREE_OWN, NULL, sc_expansion, NULL, NULL, NULL},
    {"default", TREE_FILE, 0444, TREE_OWN, NULL, sc_default, NULL, NULL, NULL},
    {"capacity", TREE_FILE, 0444, 0, NULL, sc_capacity, NULL, NULL, NULL},
    {"allocated", TREE_FILE, 0444, 0, NULL, sc_allocated, NULL, NULL, NULL},
    {"available", TREE_FILE, 0444, 0, NULL, sc_available, NULL, NULL, NULL},
    {"persistentvolumes", TREE_DIR, 0555, 0, NULL, NULL, NULL, sc_pvs_list, sc_pvs_find},
};
const struct tree_table tree_table_storageclass = {"StorageClass", sc_attrs,
						   sizeof(sc_attrs) / sizeof(sc_attrs[0]), 1};
