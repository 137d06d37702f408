/* statefulset.c - the StatefulSet kind's admission: defaults (replicas 1, OrderedReady,
 * RollingUpdate with partition 0, revisionHistoryLimit 10, Retain/Retain) and
 * validation in apps/validation's words, including the selector-vs-template rule, the
 * --max-replicas limit, the claim templates (validated as the claims they will become)
 * and the fields an update may change. The controller is in statefulset_sync.c, the
 * claims in statefulset_claims.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/names.h"
#include "workload_internal.h"

/* replicas, minReadySeconds, ordinals.start: non-negative integers. */
static int check_count(const struct manifest *m, json_t *obj, const char *path, struct cfs_err *err)
{
	json_t *v = jget(obj, path);
	int rc = manifest_check_type(m, obj, path, JSON_INTEGER, err);
	if (rc < 0 || !v || json_is_null(v))
		return rc;
	if (json_integer_value(v) < 0)
		return manifest_errorf(
		    m, v, err, -EINVAL,
		    "%s: Invalid value: %lld: must be greater than or equal to 0", path,
		    (long long)json_integer_value(v));
	return 0;
}

int wl_check_spec(const struct manifest *m, json_t *obj, struct cfs_err *err)
{
	int rc = manifest_check_type(m, obj, "spec", JSON_OBJECT, err);
	if (rc < 0)
		return rc;
	if (!json_is_object(json_object_get(obj, "spec")))
		return manifest_member_errorf(m, obj, "spec", err, -EINVAL, "spec: Required value");
	return 0;
}

int wl_check_replicas(struct cluster *cl, const struct manifest *m, json_t *obj,
		      struct cfs_err *err)
{
	json_t *v = jget(obj, "spec.replicas");
	size_t max = cluster_options(cl)->max_replicas;
	int rc = check_count(m, obj, "spec.replicas", err);
	if (rc < 0)
		return rc;
	if (!max)
		max = CLUSTER_DEFAULT_MAX_REPLICAS;
	if (v && (json_int_t)max < json_integer_value(v))
		return manifest_errorf(
		    m, v, err, -ENOSPC,
		    "spec.replicas: Invalid value: %lld: must be no more than %zu "
		    "(the --max-replicas limit)",
		    (long long)json_integer_value(v), max);
	return 0;
}

static int check_enum(const struct manifest *m, json_t *obj, const char *path, const char *a,
		      const char *b, struct cfs_err *err)
{
	json_t *v = jget(obj, path);
	const char *s = json_string_value(v);
	int rc = manifest_check_type(m, obj, path, JSON_STRING, err);
	if (rc < 0 || !v)
		return rc;
	if (!s || (strcmp(s, a) != 0 && strcmp(s, b) != 0))
		return manifest_errorf(
		    m, v, err, -EINVAL,
		    "%s: Unsupported value: \"%s\": supported values: \"%s\", \"%s\"", path,
		    MQUOTE(s), a, b);
	return 0;
}

static void sts_default(json_t *obj)
{
	json_t *spec = jobj(obj, "spec");
	if (!jget(spec, "replicas") || json_is_null(jget(spec, "replicas")))
		jset(spec, "replicas", json_integer(1));
	if (!jget(spec, "podManagementPolicy"))
		jset_str(spec, "podManagementPolicy", "OrderedReady");
	if (!jstr(spec, "updateStrategy.type"))
		jset_str(spec, "updateStrategy.type", "RollingUpdate");
	if (strcmp(jstr_or(spec, "updateStrategy.type", ""), "RollingUpdate") == 0 &&
	    !jget(spec, "updateStrategy.rollingUpdate.partition"))
		jset(spec, "updateStrategy.rollingUpdate.partition", json_integer(0));
	if (!jget(spec, "revisionHistoryLimit"))
		jset(spec, "revisionHistoryLimit", json_integer(10));
	if (!jstr(spec, "persistentVolumeClaimRetentionPolicy.whenDeleted"))
		jset_str(spec, "persistentVolumeClaimRetentionPolicy.whenDeleted", "Retain");
	if (!jstr(spec, "persistentVolumeClaimRetentionPolicy.whenScaled"))
		jset_str(spec, "persistentVolumeClaimRetentionPolicy.whenScaled", "Retain");
}

/* Each claim template is checked as the claim of ordinal 0 would be, by the claim kind's
 * own admission, so a bad size fails when the set is written, not later. */
static int check_claim_templates(struct cluster *cl, const struct manifest *m, json_t *obj,
				 const char ***names_out, struct cfs_err *err)
{
	json_t *list = jget(obj, "spec.volumeClaimTemplates"), *t;
	const struct kind *pvck = cluster_kind(cl, "PersistentVolumeClaim");
	const char **names = xcalloc(json_array_size(list) + 1, sizeof(*names));
	size_t i, j;
	struct cfs_err e;
	char claim[512];
	int rc = 0;

	*names_out = names;
	if ((rc = manifest_check_type(m, obj, "spec.volumeClaimTemplates", JSON_ARRAY, err)) < 0)
		return rc;
	json_array_foreach(list, i, t)
	{
		const char *name = jstr(t, "metadata.name");
		if (!json_is_object(t))
			return manifest_errorf(
			    m, t, err, -EINVAL,
			    "spec.volumeClaimTemplates[%zu]: Invalid value: must "
			    "be a map",
			    i);
		if (!name || !*name)
			return manifest_errorf(
			    m, t, err, -EINVAL,
			    "spec.volumeClaimTemplates[%zu].metadata.name: Required value", i);
		if (name_check_label(name, &e) < 0)
			return manifest_errorf(
			    m, jget(t, "metadata.name"), err, -EINVAL,
			    "spec.volumeClaimTemplates[%zu].metadata.name: Invalid "
			    "value: \"%s\": %s",
			    i, MQUOTE(name), e.msg);
		for (j = 0; j < i; j++)
			if (strcmp(names[j], name) == 0)
				return manifest_errorf(
				    m, jget(t, "metadata.name"), err, -EINVAL,
				    "spec.volumeClaimTemplates[%zu].metadata.name: "
				    "Duplicate value: \"%s\"",
				    i, name);
		names[i] = name;
		if (!pvck || !pvck->ops || !pvck->ops->admit)
			continue;
		json_t *copy = json_deep_copy(t);
		int64_t start = 0;
		jint(obj, "spec.ordinals.start", &start);
		sts_claim_name(t, jstr_or(obj, "metadata.name", ""), start, claim, sizeof(claim));
		jset_str(copy, "apiVersion", "v1");
		jset_str(copy, "kind", "PersistentVolumeClaim");
		jset_str(copy, "metadata.name", claim);
		jset_str(copy, "metadata.namespace", jstr_or(obj, "metadata.namespace", "default"));
		jdel(copy, "status");
		e.msg[0] = '\0';
		rc = pvck->ops->admit(cl, NULL, copy, copy, NULL, &e);
		json_decref(copy);
		if (rc < 0) {
			int dotted =
			    strncmp(e.msg, "spec", 4) == 0 || strncmp(e.msg, "metadata", 8) == 0;
			return manifest_errorf(m, t, err, rc, "spec.volumeClaimTemplates[%zu]%s%s",
					       i, dotted ? "." : ": ", e.msg);
		}
	}
	return 0;
}

/* ValidateStatefulSetUpdate: everything else in spec is immutable. */
static int check_update(const struct manifest *m, json_t *doc, json_t *obj,
			const struct object *old, struct cfs_err *err)
{
	static const char *const mutable_fields[] = {"replicas",
						     "ordinals",
						     "template",
						     "updateStrategy",
						     "persistentVolumeClaimRetentionPolicy",
						     "minReadySeconds",
						     NULL};
	json_t *a = json_deep_copy(json_object_get(object_json(old), "spec"));
	json_t *b = json_deep_copy(json_object_get(obj, "spec"));
	const char *const *f;
	for (f = mutable_fields; *f; f++) {
		json_object_del(a, *f);
		json_object_del(b, *f);
	}
	int same = json_equal(a, b);
	json_decref(a);
	json_decref(b);
	if (same)
		return 0;
	json_t *at = doc ? json_object_get(doc, "spec") : NULL;
	return manifest_errorf(m, at ? at : doc, err, -EPERM,
			       "spec: Forbidden: updates to statefulset spec for fields other than "
			       "'replicas', 'ordinals', 'template', 'updateStrategy', "
			       "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are "
			       "forbidden");
}

static int sts_admit(struct cluster *cl, const struct manifest *m, json_t *doc, json_t *obj,
		     const struct object *old, struct cfs_err *err)
{
	const char **claims = NULL;
	json_t *spec = json_object_get(obj, "spec");
	int rc;

	if ((rc = wl_check_spec(m, obj, err)) < 0)
		return rc;
	/* Better than Kubernetes, which accepts such a set and then fails every pod
	 * creation: the pods' controller-revision-hash label "<set>-<10 chars>" must fit
	 * in a 63-character label value. Checked on create only (names never change). */
	const char *setname = jstr_or(obj, "metadata.name", "");
	if (!old && strlen(setname) > 52)
		return manifest_errorf(
		    m, doc ? jget(doc, "metadata.name") : NULL, err, -EINVAL,
		    "metadata.name: Invalid value: \"%s\": must be no more than 52 characters "
		    "(Kubernetes would accept it, then fail every pod: the pods' "
		    "controller-revision-hash label \"%s-<10 characters>\" must be no more than 63 "
		    "characters)",
		    MQUOTE(setname), MQUOTE(setname));
	/* Types before defaults: a default would replace a wrong-typed parent silently. */
	if ((rc = manifest_check_type(m, obj, "spec.serviceName", JSON_STRING, err)) < 0 ||
	    (rc = manifest_check_type(m, obj, "spec.updateStrategy", JSON_OBJECT, err)) < 0 ||
	    (rc = manifest_check_type(m, obj, "spec.updateStrategy.rollingUpdate", JSON_OBJECT,
				      err)) < 0 ||
	    (rc = manifest_check_type(m, obj, "spec.persistentVolumeClaimRetentionPolicy",
				      JSON_OBJECT, err)) < 0 ||
	    (rc = manifest_check_type(m, obj, "spec.ordinals", JSON_OBJECT, err)) < 0 ||
	    (rc = wl_check_replicas(cl, m, obj, err)) < 0)
		return rc;
	sts_default(obj);
	if ((rc = check_count(m, obj, "spec.minReadySeconds", err)) < 0 ||
	    (rc = check_count(m, obj, "spec.ordinals.start", err)) < 0 ||
	    (rc = check_count(m, obj, "spec.updateStrategy.rollingUpdate.partition", err)) < 0 ||
	    (rc = check_count(m, obj, "spec.revisionHistoryLimit", err)) < 0)
		return rc;
	json_t *pmp = jget(obj, "spec.podManagementPolicy");
	if ((rc = manifest_check_type(m, obj, "spec.podManagementPolicy", JSON_STRING, err)) < 0)
		return rc;
	if (!json_is_string(pmp) || (strcmp(json_string_value(pmp), "OrderedReady") != 0 &&
				     strcmp(json_string_value(pmp), "Parallel") != 0))
		return manifest_member_errorf(m, spec, "podManagementPolicy", err, -EINVAL,
					      "spec.podManagementPolicy: Invalid value: \"%s\": "
					      "must be 'OrderedReady' or 'Parallel'",
					      MQUOTE(json_string_value(pmp)));
	if ((rc = check_enum(m, obj, "spec.updateStrategy.type", "RollingUpdate", "OnDelete",
			     err)) < 0 ||
	    (rc = check_enum(m, obj, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted",
			     "Retain", "Delete", err)) < 0 ||
	    (rc = check_enum(m, obj, "spec.persistentVolumeClaimRetentionPolicy.whenScaled",
			     "Retain", "Delete", err)) < 0)
		return rc;
	if (strcmp(jstr_or(obj, "spec.updateStrategy.type", ""), "OnDelete") == 0 &&
	    jget(obj, "spec.updateStrategy.rollingUpdate"))
		return manifest_errorf(
		    m, jget(obj, "spec.updateStrategy.rollingUpdate"), err, -EINVAL,
		    "spec.updateStrategy.rollingUpdate: Invalid value: only allowed "
		    "for updateStrategy 'RollingUpdate'");
	if ((rc = wl_check_selector(m, obj, "statefulset", err)) < 0)
		return rc;
	rc = check_claim_templates(cl, m, obj, &claims, err);
	if (rc == 0)
		rc = wl_check_template(m, obj, claims, err);
	free(claims);
	if (rc < 0)
		return rc;
	if (jget(obj, "spec.template.spec.activeDeadlineSeconds"))
		return manifest_errorf(m, jget(obj, "spec.template.spec.activeDeadlineSeconds"),
				       err, -EINVAL,
				       "spec.template.spec.activeDeadlineSeconds: Forbidden: "
				       "activeDeadlineSeconds in StatefulSet is not Supported");
	if (old)
		return check_update(m, doc, obj, old, err);
	return 0;
}

const struct kind_ops statefulset_ops = {
    .admit = sts_admit,
    .sync = sts_sync,
};
