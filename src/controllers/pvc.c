/* pvc.c - the PersistentVolumeClaim kind's admission, as the API server runs it:
 * defaults (volumeMode Filesystem, phase Pending, the DefaultStorageClass plugin),
 * validation (access modes, the storage request as a positive quantity stored in
 * canonical form, class name, volumeMode, selector) and ValidatePersistentVolumeClaimUpdate
 * (the immutable spec, volumeName set once, no shrinking) followed by the resize
 * admission plugin and the pool check of an expansion (expansion.c). Also pvc_is_bound
 * and the kind's operations; the controller is in pvc_sync.c and pvc_binder.c.
 * Cost: O(1) per admission (hash lookups). */
#include <errno.h>
#include <string.h>
#include "claimfs/names.h"
#include "storage_internal.h"

static const char *const pvc_finalizers[] = {FIN_PVC_PROTECTION, NULL};

int pvc_is_bound(const struct object *pvc)
{
	const char *phase = jstr(object_json(pvc), "status.phase");
	const char *vn = jstr(object_json(pvc), "spec.volumeName");
	return phase && strcmp(phase, "Bound") == 0 && vn && *vn;
}

static int check_selector(const struct manifest *m, const json_t *doc, json_t *obj,
			  struct cfs_err *err)
{
	json_t *sel = jget(obj, "spec.selector"), *v, *e;
	const char *k;
	size_t i;
	struct cfs_err x;
	int rc;
	if (!sel || json_is_null(sel))
		return 0;
	if ((rc = manifest_check_type(m, obj, "spec.selector", JSON_OBJECT, err)) < 0 ||
	    (rc = manifest_check_type(m, obj, "spec.selector.matchLabels", JSON_OBJECT, err)) < 0 ||
	    (rc = manifest_check_type(m, obj, "spec.selector.matchExpressions", JSON_ARRAY, err)) <
		0)
		return rc;
	json_t *ml = json_object_get(sel, "matchLabels");
	json_object_foreach(ml, k, v)
	{
		if (name_check_qualified(k, &x) < 0)
			return manifest_member_errorf(m, ml, k, err, -EINVAL,
						      "spec.selector.matchLabels: Invalid value: "
						      "\"%s\": %s",
						      MQUOTE(k), x.msg);
		if (!json_is_string(v))
			return manifest_member_errorf(m, ml, k, err, -EINVAL,
						      "spec.selector.matchLabels[%s]: Invalid "
						      "value: must be a string (quote it)",
						      MQUOTE(k));
		if (name_check_label_value(json_string_value(v), &x) < 0)
			return manifest_member_errorf(m, ml, k, err, -EINVAL,
						      "spec.selector.matchLabels: Invalid value: "
						      "\"%s\": %s",
						      MQUOTE(json_string_value(v)), x.msg);
	}
	json_array_foreach(json_object_get(sel, "matchExpressions"), i, e)
	{
		const char *op = jstr_or(e, "operator", "");
		size_t nv = json_array_size(json_object_get(e, "values"));
		if (!jstr(e, "key") || name_check_qualified(jstr(e, "key"), &x) < 0)
			return manifest_errorf(
			    m, e, err, -EINVAL,
			    "spec.selector.matchExpressions[%zu].key: Invalid value: "
			    "\"%s\": %s",
			    i, MQUOTE(jstr_or(e, "key", "")),
			    jstr(e, "key") ? x.msg : "must be a label key");
		if (strcmp(op, "In") == 0 || strcmp(op, "NotIn") == 0) {
			if (nv == 0)
				return manifest_errorf(
				    m, e, err, -EINVAL,
				    "spec.selector.matchExpressions[%zu].values: Required value: "
				    "must be "
				    "specified when `operator` is 'In' or 'NotIn'",
				    i);
		} else if (strcmp(op, "Exists") == 0 || strcmp(op, "DoesNotExist") == 0) {
			if (nv > 0)
				return manifest_errorf(
				    m, e, err, -EPERM,
				    "spec.selector.matchExpressions[%zu].values: Forbidden: may "
				    "not be "
				    "specified when `operator` is 'Exists' or 'DoesNotExist'",
				    i);
		} else {
			return manifest_errorf(
			    m, e, err, -EINVAL,
			    "spec.selector.matchExpressions[%zu].operator: Invalid "
			    "value: \"%s\": not a valid selector operator",
			    i, MQUOTE(op));
		}
	}
	return 0;
}

/* The DefaultStorageClass admission plugin, for a claim created with no class. */
static void default_class(struct cluster *cl, json_t *obj)
{
	const char *vn = jstr(obj, "spec.volumeName");
	if (storage_class_of(obj))
		return;
	if (vn) {
		/* Better than upstream: a claim that names its volume gets that volume's
		 * class, not the default one that would never match it. */
		struct object *pv =
		    store_get(cluster_store(cl), cluster_kind(cl, "PersistentVolume"), NULL, vn);
		const char *c = pv ? storage_class_of(object_json(pv)) : NULL;
		if (c && *c)
			jset_str(obj, "spec.storageClassName", c);
		return;
	}
	struct object *sc = storage_default_class(cl);
	if (sc)
		jset_str(obj, "spec.storageClassName", sc->name);
}

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* ValidatePersistentVolumeClaimUpdate, then the resize admission for a growth. */
static int check_update(struct cluster *cl, const struct manifest *m, const json_t *doc,
			json_t *obj, const struct object *old, int64_t new_bytes,
			struct cfs_err *err)
{
	const json_t *oj = object_json(old);
	const char *ob = jannotation(oj, ANN_BETA_CLASS), *nb = jannotation(obj, ANN_BETA_CLASS);
	int bound = strcmp(jstr_or(oj, "status.phase", ""), "Bound") == 0;
	int64_t old_bytes = storage_bytes(jstr(oj, "spec.resources.requests.storage"));

	if (storage_is_block(oj) != storage_is_block(obj))
		return manifest_errorf(m, storage_at(m, doc, "spec.volumeMode"), err, -EINVAL,
				       "spec.volumeMode: Invalid value: \"%s\": field is immutable",
				       jstr_or(obj, "spec.volumeMode", "Filesystem"));
	if (!same_str(ob, nb))
		return manifest_errorf(m, storage_at(m, doc, "metadata.annotations"), err, -EINVAL,
				       "metadata.annotations[" ANN_BETA_CLASS
				       "]: Invalid value: \"%s\": field is immutable",
				       MQUOTE(nb));
	if (new_bytes < old_bytes)
		return manifest_errorf(
		    m, storage_at(m, doc, "spec.resources.requests.storage"), err, -EPERM,
		    "spec.resources.requests.storage: Forbidden: field can not be "
		    "less than previous value");
	if (new_bytes > old_bytes && !bound)
		return manifest_errorf(m, storage_at(m, doc, "spec.resources.requests.storage"),
				       err, -EPERM,
				       "persistentvolumeclaims \"%s\" is forbidden: Only bound "
				       "persistent volume claims can be expanded",
				       old->name);

	json_t *a = json_deep_copy(jget(oj, "spec")), *b = json_deep_copy(jget(obj, "spec"));
	if (!a)
		a = json_object();
	if (!b)
		b = json_object();
	const char *ovn = jstr(a, "volumeName");
	if (!ovn || !*ovn) { /* volumeName may be set once */
		json_t *v = json_object_get(b, "volumeName");
		if (v)
			json_object_set(a, "volumeName", v);
		else
			json_object_del(a, "volumeName");
	}
	/* Retroactive default: a class may be set on an unbound claim that had none. */
	const char *nc = jstr(b, "storageClassName");
	if (!bound && !ob && !jget(a, "storageClassName") && nc && *nc)
		json_object_del(b, "storageClassName");
	if (bound) {
		json_t *os = jget(a, "resources.requests.storage");
		if (os)
			jset(b, "resources.requests.storage", json_incref(os));
		json_t *vac = json_object_get(a, "volumeAttributesClassName");
		if (vac)
			json_object_set(b, "volumeAttributesClassName", vac);
		else
			json_object_del(b, "volumeAttributesClassName");
	}
	int same = json_equal(a, b);
	json_decref(a);
	json_decref(b);
	if (!same)
		return manifest_errorf(m, storage_at(m, doc, "spec"), err, -EPERM,
				       "spec: Forbidden: spec is immutable after creation except "
				       "resources.requests and volumeAttributesClassName for bound "
				       "claims");
	if (new_bytes > old_bytes)
		return expansion_admit(cl, m, doc, obj, old, new_bytes, err);
	return 0;
}

static int pvc_admit(struct cluster *cl, const struct manifest *m, json_t *doc, json_t *obj,
		     const struct object *old, struct cfs_err *err)
{
	json_t *spec = json_object_get(obj, "spec"), *v;
	int64_t bytes = 0;
	int rc;

	if ((rc = manifest_check_type(m, obj, "spec", JSON_OBJECT, err)) < 0)
		return rc;
	if (!json_is_object(spec))
		return manifest_errorf(
		    m, storage_at(m, doc, "spec"), err, -EINVAL,
		    "spec.accessModes: Required value: at least 1 access mode is "
		    "required");
	if ((rc = manifest_check_type(m, obj, "spec.resources", JSON_OBJECT, err)) < 0 ||
	    (rc = manifest_check_type(m, obj, "spec.resources.requests", JSON_OBJECT, err)) < 0 ||
	    (rc = manifest_check_type(m, obj, "spec.resources.limits", JSON_OBJECT, err)) < 0)
		return rc;
	rc = storage_check_modes(m, doc, obj, "spec.accessModes", 1, err);
	if (rc < 0)
		return rc;
	rc = storage_check_quantity(m, doc, obj, "spec.resources.requests.storage",
				    "spec.resources[storage]", &bytes, err);
	if (rc == -ENOENT)
		return manifest_errorf(m, storage_at(m, doc, "spec.resources.requests.storage"),
				       err, -EINVAL, "spec.resources[storage]: Required value");
	if (rc < 0)
		return rc;
	rc = storage_check_quantity(m, doc, obj, "spec.resources.limits.storage",
				    "spec.resources.limits[storage]", NULL, err);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if ((rc = manifest_check_type(m, obj, "spec.storageClassName", JSON_STRING, err)) < 0 ||
	    (rc = manifest_check_type(m, obj, "spec.volumeMode", JSON_STRING, err)) < 0 ||
	    (rc = manifest_check_type(m, obj, "spec.volumeName", JSON_STRING, err)) < 0)
		return rc;
	v = json_object_get(spec, "storageClassName");
	if (v && json_is_null(v))
		json_object_del(spec, "storageClassName");
	rc = storage_check_class_name(m, doc, spec, err);
	if (rc < 0)
		return rc;
	rc = storage_check_volume_mode(m, doc, spec, err);
	if (rc < 0)
		return rc;
	v = json_object_get(spec, "volumeName");
	if (v && (json_is_null(v) || !*json_string_value(v)))
		json_object_del(spec, "volumeName");
	rc = check_selector(m, doc, obj, err);
	if (rc < 0)
		return rc;
	if (old)
		return check_update(cl, m, doc, obj, old, bytes, err);
	jset(obj, "status", json_pack("{s:s}", "phase", "Pending"));
	default_class(cl, obj);
	return 0;
}

static void pvc_watch(struct cluster *cl, struct object *pvc, int removed)
{
	struct pvc_entry *ce = removed ? NULL : storage_pvc(cl, pvc);
	struct pv_entry *pe;
	storage_flush_dirty(cl);
	if (!removed && (!ce || ce->sig == ce->sig_prev))
		return;
	/* Pods wait for binding (pod_scheduler.c) and for a Terminating claim to go. */
	storage_wake_pods(cl, pvc->ns, pvc->name);
	/* A StatefulSet's pod creation waits for a Terminating claim to be gone. */
	if (removed || (ce->deleting && !ce->deleting_prev))
		storage_wake_sets(cl, pvc);
	/* The volumes that name the claim: Released, bound, unbound. */
	for (pe = storage_refs(cl, pvc->ns, pvc->name); pe; pe = pe->ref_next)
		cluster_enqueue(cl, pe->obj);
	const char *vn = jstr(object_json(pvc), "spec.volumeName");
	if (vn)
		cluster_enqueue(cl, store_get(cluster_store(cl),
					      cluster_kind(cl, "PersistentVolume"), NULL, vn));
}

const struct kind_ops pvc_ops = {
    .admit = pvc_admit,
    .sync = pvc_sync,
    .watch = pvc_watch,
    .finalizers = pvc_finalizers,
    .index = storage_index_pvc,
};
