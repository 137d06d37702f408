/* storageclass.c - the StorageClass kind: admission (defaults reclaimPolicy Delete and
 * volumeBindingMode Immediate, validation, the immutable provisioner, parameters,
 * reclaimPolicy and volumeBindingMode), the default class (newest wins, ties by name, as
 * newer Kubernetes does), the simulated backend's pool of a class, and the sync that
 * retries the class's waiting claims when space frees up or the class appears.
 * Sync cost: O(waiting claims of the class), only when the class is marked dirty. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/names.h"
#include "claimfs/quantity.h"
#include "storage_internal.h"

static int check_enum(const struct manifest *m, const json_t *doc, json_t *obj, const char *field,
		      const char *dflt, const char *a, const char *b, struct cfs_err *err)
{
	json_t *v = json_object_get(obj, field);
	int rc = manifest_check_type(m, obj, field, JSON_STRING, err);
	if (rc < 0)
		return rc;
	if (!v || json_is_null(v)) {
		json_object_set_new(obj, field, json_string(dflt));
		return 0;
	}
	const char *s = json_string_value(v);
	if (strcmp(s, a) != 0 && strcmp(s, b) != 0)
		return manifest_errorf(
		    m, storage_at(m, doc, field), err, -EINVAL,
		    "%s: Unsupported value: \"%s\": supported values: \"%s\", \"%s\"", field,
		    MQUOTE(s), a, b);
	return 0;
}

static int check_parameters(const struct manifest *m, const json_t *doc, json_t *obj,
			    struct cfs_err *err)
{
	json_t *params = json_object_get(obj, "parameters"), *v;
	const char *k;
	struct quantity q;
	struct cfs_err e;
	if (!params || json_is_null(params))
		return 0;
	if (!json_is_object(params))
		return manifest_member_errorf(
		    m, obj, "parameters", err, -EINVAL,
		    "parameters: Invalid value: must be a map of strings");
	json_object_foreach(params, k, v)
	{
		if (!json_is_string(v))
			return manifest_member_errorf(m, params, k, err, -EINVAL,
						      "parameters[%s]: Invalid value: must be a "
						      "string (quote it)",
						      MQUOTE(k));
	}
	v = json_object_get(params, "capacity");
	if (!v)
		return 0;
	if (quantity_parse(json_string_value(v), &q, &e) < 0)
		return manifest_errorf(m, storage_pos(m, v, params), err, -EINVAL,
				       "parameters.capacity: Invalid value: \"%s\": %s",
				       MQUOTE(json_string_value(v)), e.msg);
	if (q.nanos < 0)
		return manifest_errorf(
		    m, storage_pos(m, v, params), err, -EINVAL,
		    "parameters.capacity: Invalid value: \"%s\": must be greater "
		    "than or equal to 0",
		    MQUOTE(json_string_value(v)));
	return 0;
}

/* ValidateStorageClassUpdate: what may not change. */
static int check_update(const struct manifest *m, const json_t *doc, json_t *obj,
			const struct object *old, struct cfs_err *err)
{
	static const char *const fixed[] = {"parameters", "provisioner", "reclaimPolicy", NULL};
	const char *const *f;
	json_t *empty = json_object();
	for (f = fixed; *f; f++) {
		json_t *a = json_object_get(object_json(old), *f), *b = json_object_get(obj, *f);
		if (!a || json_is_null(a))
			a = empty;
		if (!b || json_is_null(b))
			b = empty;
		if (!json_equal(a, b)) {
			json_decref(empty);
			return manifest_errorf(m, storage_at(m, doc, *f), err, -EPERM,
					       "The StorageClass \"%s\" is invalid: %s: Forbidden: "
					       "updates to %s are forbidden.",
					       old->name, *f, *f);
		}
	}
	json_decref(empty);
	const char *a = jstr_or(object_json(old), "volumeBindingMode", "Immediate");
	const char *b = jstr_or(obj, "volumeBindingMode", "Immediate");
	if (strcmp(a, b) != 0)
		return manifest_errorf(m, storage_at(m, doc, "volumeBindingMode"), err, -EINVAL,
				       "The StorageClass \"%s\" is invalid: volumeBindingMode: "
				       "Invalid value: \"%s\": field is immutable",
				       old->name, MQUOTE(b));
	return 0;
}

static int sc_admit(struct cluster *cl, const struct manifest *m, json_t *doc, json_t *obj,
		    const struct object *old, struct cfs_err *err)
{
	json_t *p = json_object_get(obj, "provisioner"), *v;
	struct cfs_err e;
	size_t i;
	int rc;

	if ((rc = manifest_check_type(m, obj, "provisioner", JSON_STRING, err)) < 0)
		return rc;
	if (!p || !json_is_string(p) || !*json_string_value(p))
		return manifest_member_errorf(m, obj, "provisioner", err, -EINVAL,
					      "provisioner: Required value");
	if (name_check_qualified(json_string_value(p), &e) < 0)
		return manifest_errorf(m, p, err, -EINVAL, "provisioner: Invalid value: \"%s\": %s",
				       MQUOTE(json_string_value(p)), e.msg);
	rc = check_parameters(m, doc, obj, err);
	if (!rc)
		rc = check_enum(m, doc, obj, "reclaimPolicy", "Delete", "Delete", "Retain", err);
	if (!rc)
		rc = check_enum(m, doc, obj, "volumeBindingMode", "Immediate", "Immediate",
				"WaitForFirstConsumer", err);
	if (rc < 0)
		return rc;
	if ((rc = manifest_check_type(m, obj, "allowVolumeExpansion", JSON_TRUE, err)) < 0 ||
	    (rc = manifest_check_type(m, obj, "mountOptions", JSON_ARRAY, err)) < 0 ||
	    (rc = manifest_check_type(m, obj, "allowedTopologies", JSON_ARRAY, err)) < 0)
		return rc;
	v = json_object_get(obj, "mountOptions");
	if (v && !json_is_null(v)) {
		json_t *o;
		json_array_foreach(v, i, o)
		{
			if (!json_is_string(o))
				return manifest_errorf(
				    m, storage_pos(m, o, v), err, -EINVAL,
				    "mountOptions[%zu]: Invalid value: must be a "
				    "string",
				    i);
		}
	}
	if (old)
		return check_update(m, doc, obj, old, err);
	return 0;
}

static void sc_sync(struct cluster *cl, struct object *sc)
{
	struct sclass *c = storage_class(cl, sc->name, 0);
	if (c && c->dirty)
		provision_drain(cl, c);
}

static void sc_watch(struct cluster *cl, struct object *sc, int removed)
{
	storage_flush_dirty(cl);
	if (!storage_default_changed(cl))
		return;
	/* A new default: claims created without a class get it retroactively (1.6). */
	struct sclass *none = storage_class(cl, "", 0);
	uint64_t *ids;
	size_t n, i;
	if (!none)
		return;
	n = storage_pending_ids(none, &ids);
	for (i = 0; i < n; i++) {
		struct pvc_entry *ce = storage_pvc_by_id(cl, ids[i]);
		if (ce && ce->nil_class)
			cluster_enqueue(cl, ce->obj);
	}
	free(ids);
}

struct object *storage_default_class(struct cluster *cl)
{
	size_t n, i;
	struct object *const *d = storage_defaults(cl, &n);
	struct object *best = NULL;
	int64_t best_ts = 0;
	for (i = 0; i < n; i++) {
		int64_t ts = jtime_parse(jstr(object_json(d[i]), "metadata.creationTimestamp"));
		if (!best || ts > best_ts ||
		    (ts == best_ts && strcmp(d[i]->name, best->name) < 0)) {
			best = d[i];
			best_ts = ts;
		}
	}
	return best;
}

int storageclass_pool(struct cluster *cl, const struct object *sc, struct quantity *capacity,
		      struct quantity *allocated)
{
	struct sclass *c = storage_class(cl, sc->name, 0);
	int64_t cap = c && c->exists ? c->capacity : DEFAULT_POOL_BYTES;
	if (!c || !c->exists) {
		int64_t b = storage_bytes(jstr(object_json(sc), "parameters.capacity"));
		if (b >= 0)
			cap = b;
	}
	if (capacity)
		*capacity = quantity_from_int(cap, QTY_BINARY_SI);
	if (allocated)
		*allocated = quantity_from_int(c ? c->allocated : 0, QTY_BINARY_SI);
	return 0;
}

const struct kind_ops storageclass_ops = {
    .admit = sc_admit,
    .sync = sc_sync,
    .watch = sc_watch,
    .index = storage_index_sc,
};
