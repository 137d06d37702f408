/* statefulset_claims.c - a StatefulSet's claims: one per volumeClaimTemplate per
 * ordinal, "<template>-<set>-<ordinal>", labelled with the template's labels and the
 * selector's matchLabels, created before the pod when missing and never replaced; and
 * persistentVolumeClaimRetentionPolicy, which works only through ownerReferences that the
 * garbage collector follows (stateful_set_utils.go updateClaimOwnerRefForSetAndPod):
 *
 *   whenScaled/whenDeleted  owner references kept on the claim
 *   Retain/Retain           none
 *   Retain/Delete           the StatefulSet
 *   Delete/Retain           the Pod, for scaled-down ordinals only
 *   Delete/Delete           in range: the StatefulSet; scaled down: the Pod */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "workload_internal.h"

void sts_claim_name(const json_t *tmpl, const char *set, int64_t ord, char *out, size_t len)
{
	snprintf(out, len, "%s-%s-%lld", jstr_or(tmpl, "metadata.name", ""), set, (long long)ord);
}

json_t *sts_claim_json(const struct object *set, const json_t *tmpl, int64_t ord)
{
	char name[512];
	json_t *labels = json_deep_copy(jget(tmpl, "metadata.labels"));
	json_t *ml = jget(object_json(set), "spec.selector.matchLabels"), *v;
	const char *k;

	sts_claim_name(tmpl, set->name, ord, name, sizeof(name));
	if (!json_is_object(labels)) {
		json_decref(labels);
		labels = json_object();
	}
	json_object_foreach(ml, k, v) json_object_set(labels, k, v);
	json_t *claim =
	    json_pack("{s:s,s:s,s:{s:s,s:s},s:o}", "apiVersion", "v1", "kind",
		      "PersistentVolumeClaim", "metadata", "name", name, "namespace", set->ns,
		      "spec", json_deep_copy(jget(tmpl, "spec")) ?: json_object());
	if (json_object_size(labels))
		jset(claim, "metadata.labels", labels);
	else
		json_decref(labels);
	json_t *ann = jget(tmpl, "metadata.annotations");
	if (json_object_size(ann))
		jset(claim, "metadata.annotations", json_deep_copy(ann));
	return claim;
}

static int policy_delete(const struct object *set, const char *which)
{
	char path[96];
	snprintf(path, sizeof(path), "spec.persistentVolumeClaimRetentionPolicy.%s", which);
	return strcmp(jstr_or(object_json(set), path, "Retain"), "Delete") == 0;
}

/* Which owners the claim of an ordinal should have under the policy. */
static void wanted_owners(const struct object *set, int in_range, int *want_set, int *want_pod)
{
	int scaled = policy_delete(set, "whenScaled"), deleted = policy_delete(set, "whenDeleted");
	*want_set = deleted && (in_range || !scaled);
	*want_pod = scaled && !in_range;
}

int sts_create_claims(struct cluster *cl, struct object *set, const char *pod, int64_t ord,
		      struct cfs_err *err)
{
	const struct kind *pvck = cluster_kind(cl, "PersistentVolumeClaim");
	json_t *t;
	size_t i;
	char name[512];
	struct cfs_err e;

	json_array_foreach(jget(object_json(set), "spec.volumeClaimTemplates"), i, t)
	{
		sts_claim_name(t, set->name, ord, name, sizeof(name));
		struct object *existing = store_get(cluster_store(cl), pvck, set->ns, name);
		if (existing) {
			if (jis_deleting(object_json(existing)))
				return cfs_errorf(err, -EBUSY, "pvc %s is being deleted", name);
			continue; /* kept across pod deletion and scaling: same claim, same PV */
		}
		json_t *claim = sts_claim_json(set, t, ord);
		int want_set, want_pod;
		wanted_owners(set, 1, &want_set, &want_pod);
		if (want_set)
			wl_add_owner(claim, set, 1);
		if (!wl_create(cl, pvck, claim, &e)) {
			cluster_event(
			    cl, set, "Warning", "FailedCreate",
			    "create Claim %s for Pod %s in StatefulSet %s failed error: %s", name,
			    pod, set->name, e.msg);
			return cfs_errorf(err, -EINVAL, "%s", e.msg);
		}
		cluster_event(cl, set, "Normal", "SuccessfulCreate",
			      "create Claim %s Pod %s in StatefulSet %s success", name, pod,
			      set->name);
	}
	return 0;
}

/* Another controller owns the claim (not this set, not a pod of this ordinal)? */
static int foreign_controller(const json_t *claim, const struct object *set, const char *pod)
{
	json_t *r;
	size_t i;
	json_array_foreach(jget(claim, "metadata.ownerReferences"), i, r)
	{
		const char *kind = jstr_or(r, "kind", ""), *uid = jstr_or(r, "uid", "");
		if (!jbool(r, "controller", 0))
			continue;
		if (strcmp(kind, "StatefulSet") == 0 &&
		    strcmp(uid, jstr_or(object_json(set), "metadata.uid", "")) == 0)
			continue;
		if (strcmp(kind, "Pod") == 0 && strcmp(jstr_or(r, "name", ""), pod) == 0)
			continue;
		return 1;
	}
	return 0;
}

/* Removes the references to pods named pod except the one with keep_uid. */
static int drop_pod_refs(json_t *claim, const char *pod, const char *keep_uid)
{
	json_t *refs = jget(claim, "metadata.ownerReferences"), *r;
	size_t i;
	int changed = 0;
	for (i = 0; i < json_array_size(refs);) {
		r = json_array_get(refs, i);
		if (strcmp(jstr_or(r, "kind", ""), "Pod") == 0 &&
		    strcmp(jstr_or(r, "name", ""), pod) == 0 &&
		    (!keep_uid || strcmp(jstr_or(r, "uid", ""), keep_uid) != 0)) {
			json_array_remove(refs, i);
			changed = 1;
			continue;
		}
		i++;
	}
	if (changed && json_array_size(refs) == 0)
		jdel(claim, "metadata.ownerReferences");
	return changed;
}

void sts_fix_claim_owners(struct cluster *cl, struct object *set, struct object *pod, int64_t ord,
			  int in_range)
{
	const struct kind *pvck = cluster_kind(cl, "PersistentVolumeClaim");
	json_t *t;
	size_t i;
	char name[512], podname[512];
	int want_set, want_pod;

	snprintf(podname, sizeof(podname), "%s-%lld", set->name, (long long)ord);
	wanted_owners(set, in_range, &want_set, &want_pod);
	json_array_foreach(jget(object_json(set), "spec.volumeClaimTemplates"), i, t)
	{
		sts_claim_name(t, set->name, ord, name, sizeof(name));
		struct object *claim = store_get(cluster_store(cl), pvck, set->ns, name);
		int changed = 0;
		if (!claim || jis_deleting(object_json(claim)))
			continue;
		if (foreign_controller(object_json(claim), set, podname)) {
			/* Reported once per spec change, not on every sync. */
			int64_t gen = 0, seen = -1;
			jint(object_json(set), "metadata.generation", &gen);
			jint(object_json(set), "status.observedGeneration", &seen);
			if ((want_set || want_pod) && gen != seen)
				cluster_event(
				    cl, set, "Warning", "ConflictingController",
				    "PersistentVolumeClaim %s has a conflicting OwnerReference "
				    "that acts as a manging controller, the retention policy is "
				    "ignored for this claim",
				    name);
			continue;
		}
		if (want_set)
			changed |= wl_add_owner(object_json(claim), set, 1);
		else
			changed |= wl_remove_owner(object_json(claim), juid(object_json(set)));
		if (want_pod && pod) {
			changed |=
			    drop_pod_refs(object_json(claim), podname, juid(object_json(pod)));
			changed |= wl_add_owner(object_json(claim), pod, 1);
		} else if (!want_pod) {
			changed |= drop_pod_refs(object_json(claim), podname, NULL);
		}
		if (changed)
			cluster_update(cl, claim);
	}
}
