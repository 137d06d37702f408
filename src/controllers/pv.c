/* pv.c - the PersistentVolume kind: admission (defaults Retain and Filesystem, phase
 * Pending; validation of capacity, access modes, reclaim policy, exactly one volume
 * source; the immutable source, volumeMode and nodeAffinity), the pv-protection
 * finalizer, and the watch that wakes the claims a PV change concerns: the claim it
 * names, the claims that name it, and the pending claims it could now satisfy.
 * The volume sync and the reclaim policies are in pv_sync.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/names.h"
#include "storage_internal.h"

/* Every PersistentVolumeSource member Kubernetes knows. */
static const char *const sources[] = {"hostPath",
				      "gcePersistentDisk",
				      "awsElasticBlockStore",
				      "nfs",
				      "iscsi",
				      "glusterfs",
				      "rbd",
				      "cinder",
				      "cephfs",
				      "fc",
				      "flocker",
				      "flexVolume",
				      "azureFile",
				      "vsphereVolume",
				      "quobyte",
				      "azureDisk",
				      "photonPersistentDisk",
				      "portworxVolume",
				      "scaleIO",
				      "local",
				      "storageos",
				      "csi",
				      NULL};

static const char *const pv_finalizers[] = {FIN_PV_PROTECTION, NULL};

static int check_source(const struct manifest *m, const json_t *doc, json_t *spec,
			struct cfs_err *err)
{
	const char *const *s;
	const char *first = NULL;
	for (s = sources; *s; s++) {
		json_t *v = json_object_get(spec, *s);
		if (!v || json_is_null(v))
			continue;
		if (first)
			return manifest_errorf(
			    m, storage_pos(m, v, storage_at(m, doc, "spec")), err, -EPERM,
			    "spec.%s: Forbidden: may not specify more than 1 volume "
			    "type",
			    *s);
		first = *s;
	}
	if (!first)
		return manifest_errorf(m, storage_at(m, doc, "spec"), err, -EINVAL,
				       "spec: Required value: must specify a volume type");
	return 0;
}

static json_t *source_of(const json_t *spec)
{
	const char *const *s;
	json_t *out = json_object();
	for (s = sources; *s; s++) {
		json_t *v = json_object_get(spec, *s);
		if (v && !json_is_null(v))
			json_object_set(out, *s, v);
	}
	return out;
}

static int check_capacity(const struct manifest *m, const json_t *doc, json_t *obj,
			  struct cfs_err *err)
{
	json_t *cap = jget(obj, "spec.capacity"), *v;
	const char *k;
	int rc = manifest_check_type(m, obj, "spec.capacity", JSON_OBJECT, err);
	if (rc < 0)
		return rc;
	if (!json_is_object(cap) || json_object_size(cap) == 0)
		return manifest_errorf(m, storage_at(m, doc, "spec.capacity"), err, -EINVAL,
				       "spec.capacity: Required value");
	json_object_foreach(cap, k, v)
	{
		if (strcmp(k, "storage") != 0)
			return manifest_errorf(
			    m, storage_pos(m, v, storage_at(m, doc, "spec")), err, -EINVAL,
			    "spec.capacity: Unsupported value: \"%s\": supported "
			    "values: \"storage\"",
			    MQUOTE(k));
	}
	return storage_check_quantity(m, doc, obj, "spec.capacity.storage",
				      "spec.capacity[storage]", NULL, err);
}

static int check_update(const struct manifest *m, const json_t *doc, json_t *obj,
			const struct object *old, struct cfs_err *err)
{
	json_t *ospec = jget(object_json(old), "spec"), *nspec = jget(obj, "spec");
	json_t *a = source_of(ospec), *b = source_of(nspec);
	int same = json_equal(a, b);
	json_decref(a);
	json_decref(b);
	if (!same)
		return manifest_errorf(m, storage_at(m, doc, "spec"), err, -EPERM,
				       "spec.persistentvolumesource: Forbidden: "
				       "spec.persistentvolumesource is immutable after creation");
	if (storage_is_block(object_json(old)) != storage_is_block(obj))
		return manifest_errorf(m, storage_at(m, doc, "spec.volumeMode"), err, -EINVAL,
				       "spec.volumeMode: Invalid value: \"%s\": field is immutable",
				       jstr_or(obj, "spec.volumeMode", "Filesystem"));
	json_t *oa = jget(object_json(old), "spec.nodeAffinity");
	if (oa && !json_equal(oa, jget(obj, "spec.nodeAffinity")))
		return manifest_errorf(m, storage_at(m, doc, "spec.nodeAffinity"), err, -EINVAL,
				       "spec.nodeAffinity: Invalid value: field is immutable");
	return 0;
}

static int pv_admit(struct cluster *cl, const struct manifest *m, json_t *doc, json_t *obj,
		    const struct object *old, struct cfs_err *err)
{
	json_t *spec = json_object_get(obj, "spec"), *v;
	int rc;

	if ((rc = manifest_check_type(m, obj, "spec", JSON_OBJECT, err)) < 0)
		return rc;
	if (!json_is_object(spec))
		return manifest_errorf(m, storage_at(m, doc, "spec"), err, -EINVAL,
				       "spec.capacity: Required value");
	static const char *const strings[] = {"spec.persistentVolumeReclaimPolicy",
					      "spec.volumeMode", "spec.storageClassName", NULL};
	for (const char *const *f = strings; *f; f++)
		if ((rc = manifest_check_type(m, obj, *f, JSON_STRING, err)) < 0)
			return rc;
	if ((rc = manifest_check_type(m, obj, "spec.claimRef", JSON_OBJECT, err)) < 0 ||
	    (rc = manifest_check_type(m, obj, "spec.mountOptions", JSON_ARRAY, err)) < 0)
		return rc;
	rc = check_capacity(m, doc, obj, err);
	if (!rc)
		rc = storage_check_modes(m, doc, obj, "spec.accessModes", 0, err);
	if (!rc)
		rc = check_source(m, doc, spec, err);
	if (rc < 0)
		return rc;
	v = json_object_get(spec, "persistentVolumeReclaimPolicy");
	if (!v || json_is_null(v)) {
		json_object_set_new(spec, "persistentVolumeReclaimPolicy", json_string("Retain"));
	} else if (strcmp(json_string_value(v), "Retain") != 0 &&
		   strcmp(json_string_value(v), "Delete") != 0 &&
		   strcmp(json_string_value(v), "Recycle") != 0) {
		return manifest_errorf(
		    m, storage_pos(m, v, storage_at(m, doc, "spec")), err, -EINVAL,
		    "spec.persistentVolumeReclaimPolicy: Unsupported value: \"%s\": "
		    "supported values: \"Delete\", \"Recycle\", \"Retain\"",
		    MQUOTE(json_string_value(v)));
	}
	rc = storage_check_volume_mode(m, doc, spec, err);
	if (rc < 0)
		return rc;
	rc = storage_check_class_name(m, doc, spec, err);
	if (rc < 0)
		return rc;
	v = json_object_get(spec, "claimRef");
	if (v && !json_is_null(v) && !jstr(v, "name"))
		return manifest_errorf(m, storage_pos(m, v, storage_at(m, doc, "spec")), err,
				       -EINVAL, "spec.claimRef.name: Required value");
	if (old)
		return check_update(m, doc, obj, old, err);
	jset_str(obj, "status.phase", "Pending");
	return 0;
}

/* A PV became Available: the pending claims of its class it could satisfy try again;
 * pods waiting on a WaitForFirstConsumer claim too (the scheduler may pre-bind it). */
static void wake_pending(struct cluster *cl, struct pv_entry *pe)
{
	uint64_t *ids;
	size_t n, i;
	struct object *sc = NULL;
	int wffc = 0;
	if (pe->cls->exists) {
		sc = store_get(cluster_store(cl), cluster_kind(cl, "StorageClass"), NULL,
			       pe->cls->name);
		wffc = sc && strcmp(jstr_or(object_json(sc), "volumeBindingMode", ""),
				    "WaitForFirstConsumer") == 0;
	}
	n = storage_pending_ids(pe->cls, &ids);
	for (i = 0; i < n; i++) {
		struct pvc_entry *ce = storage_pvc_by_id(cl, ids[i]);
		const json_t *j = ce ? object_json(ce->obj) : NULL;
		if (!ce || jstr(j, "spec.volumeName") || ce->request > pe->bytes ||
		    storage_is_block(j) != pe->block)
			continue;
		unsigned want = storage_modes(jget(j, "spec.accessModes"));
		if ((want & pe->modes) != want)
			continue;
		cluster_enqueue(cl, ce->obj);
		if (wffc && !jannotation(j, ANN_SELECTED_NODE))
			storage_wake_pods(cl, ce->obj->ns, ce->obj->name);
	}
	free(ids);
}

static void pv_watch(struct cluster *cl, struct object *pv, int removed)
{
	const struct kind *pvck = cluster_kind(cl, "PersistentVolumeClaim");
	struct store *s = cluster_store(cl);
	struct pvc_entry *w;
	storage_flush_dirty(cl);
	const char *rns = jstr(object_json(pv), "spec.claimRef.namespace");
	const char *rname = jstr(object_json(pv), "spec.claimRef.name");
	struct object *claim = rname && rns ? store_get(s, pvck, rns, rname) : NULL;
	if (removed) {
		cluster_enqueue(cl, claim);
		return;
	}
	struct pv_entry *pe = storage_pv(cl, pv);
	if (!pe || pe->sig == pe->sig_prev)
		return;
	cluster_enqueue(cl, claim);
	for (w = storage_wanting(cl, pv->name); w; w = w->want_next)
		cluster_enqueue(cl, w->obj);
	if (pe->in_avail)
		wake_pending(cl, pe);
}

const struct kind_ops pv_ops = {
    .admit = pv_admit,
    .sync = pv_sync,
    .watch = pv_watch,
    .finalizers = pv_finalizers,
    .index = storage_index_pv,
};
