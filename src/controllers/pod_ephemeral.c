/* pod_ephemeral.c - generic ephemeral volumes (KEP-1698, pkg/controller/volume/ephemeral):
 * a pod volume with `ephemeral.volumeClaimTemplate` gets a claim "<pod>-<volume>" made
 * from the template (its labels, annotations and spec), owned by the pod (controller
 * ownerReference), so that the claim lives and dies with the pod: the garbage collector
 * deletes it with the pod, and the PV follows its reclaim policy. Admission checks the
 * template as the claim kind would check the claim, so a bad size fails when the pod is
 * written. The scheduler (pod_scheduler.c) refuses a claim of that name the pod does not
 * own: "PVC <ns>/<claim> was not created for pod <ns>/<pod> (pod is not owner)".
 * Complexity: O(volumes of the pod) hash lookups per call. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "claimfs/names.h"
#include "workload_internal.h"

/* The claim a template makes for pod (its JSON: metadata.name, .namespace, .uid). */
static json_t *claim_of(const json_t *pod, const char *claim, const json_t *tmpl)
{
	json_t *c = json_pack("{s:s,s:s,s:{s:s,s:s},s:o}", "apiVersion", "v1", "kind",
			      "PersistentVolumeClaim", "metadata", "name", claim, "namespace",
			      jstr_or(pod, "metadata.namespace", "default"), "spec",
			      json_deep_copy(jget(tmpl, "spec")) ?: json_object());
	json_t *labels = jget(tmpl, "metadata.labels"), *ann = jget(tmpl, "metadata.annotations");
	if (json_object_size(labels))
		jset(c, "metadata.labels", json_deep_copy(labels));
	if (json_object_size(ann))
		jset(c, "metadata.annotations", json_deep_copy(ann));
	return c;
}

int pod_ephemeral_admit(struct cluster *cl, const struct manifest *m, json_t *obj,
			struct cfs_err *err)
{
	const struct kind *pvck = cluster_kind(cl, "PersistentVolumeClaim");
	json_t *v;
	size_t i;
	json_array_foreach(jget(obj, "spec.volumes"), i, v)
	{
		char buf[POD_CLAIM_MAX];
		struct cfs_err e = {{0}};
		json_t *tmpl = jget(v, "ephemeral.volumeClaimTemplate");
		const char *claim = pod_volume_claim(obj, v, buf);
		if (!jget(v, "ephemeral") || !claim)
			continue;
		if (name_check_subdomain(claim, &e) < 0)
			return manifest_errorf(m, v, err, -EINVAL,
					       "spec.volumes[%zu].name: Invalid value: \"%s\": the "
					       "claim \"%s\" would be invalid: %s",
					       i, MQUOTE(jstr_or(v, "name", "")), MQUOTE(claim),
					       e.msg);
		if (!pvck || !pvck->ops || !pvck->ops->admit)
			continue;
		json_t *c = claim_of(obj, claim, tmpl);
		int rc = pvck->ops->admit(cl, NULL, c, c, NULL, &e);
		json_decref(c);
		if (rc < 0) {
			int dotted =
			    strncmp(e.msg, "spec", 4) == 0 || strncmp(e.msg, "metadata", 8) == 0;
			return manifest_errorf(
			    m, tmpl, err, rc, "spec.volumes[%zu].ephemeral.volumeClaimTemplate%s%s",
			    i, dotted ? "." : ": ", e.msg);
		}
	}
	return 0;
}

void pod_ephemeral_sync(struct cluster *cl, struct object *pod)
{
	const struct kind *pvck = cluster_kind(cl, "PersistentVolumeClaim");
	json_t *v;
	size_t i;
	json_array_foreach(jget(object_json(pod), "spec.volumes"), i, v)
	{
		char buf[POD_CLAIM_MAX];
		struct cfs_err e = {{0}};
		const char *claim = pod_volume_claim(object_json(pod), v, buf);
		if (!jget(v, "ephemeral") || !claim ||
		    store_get(cluster_store(cl), pvck, pod->ns, claim))
			continue; /* not ours to make, or made: the scheduler checks the owner */
		json_t *c =
		    claim_of(object_json(pod), claim, jget(v, "ephemeral.volumeClaimTemplate"));
		wl_add_owner(c, pod, 1);
		if (!wl_create(cl, pvck, c, &e))
			cluster_event(cl, pod, "Warning", "FailedBinding",
				      "PVC creation failed: %s", e.msg);
	}
}
