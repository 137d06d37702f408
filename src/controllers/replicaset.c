/* replicaset.c - ReplicaSets: admission, and the ReplicaSet controller keeping
 * spec.replicas pods "<rs>-<5 random-looking characters>" (generateName) alive. Surplus
 * pods go in the controller's order (ActivePodsWithRanks): unscheduled before
 * scheduled, Pending before Running, not ready before ready, ready for less time before
 * longer, newer before older. Events SuccessfulCreate "Created pod: <pod>" and
 * SuccessfulDelete "Deleted pod: <pod>". The watch wakes the owning Deployment. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "workload_internal.h"

static int rs_admit(struct cluster *cl, const struct manifest *m, json_t *doc, json_t *obj,
		    const struct object *old, struct cfs_err *err)
{
	json_t *spec = json_object_get(obj, "spec");
	int rc;
	if ((rc = wl_check_spec(m, obj, err)) < 0)
		return rc;
	if ((rc = wl_check_replicas(cl, m, obj, err)) < 0)
		return rc;
	if (!jget(spec, "replicas") || json_is_null(jget(spec, "replicas")))
		jset(spec, "replicas", json_integer(1));
	if ((rc = wl_check_selector(m, obj, "replicaset", err)) < 0 ||
	    (rc = wl_check_template(m, obj, NULL, err)) < 0)
		return rc;
	if (old && !json_equal(jget(object_json(old), "spec.selector"), jget(obj, "spec.selector")))
		return manifest_errorf(m, jget(obj, "spec.selector"), err, -EINVAL,
				       "spec.selector: Invalid value: field is immutable");
	return 0;
}

/* The pods the ReplicaSet controls and that are not going away. */
static struct object **active_pods(struct cluster *cl, const struct object *rs, size_t *count)
{
	size_t n, i, k = 0;
	struct object *const *pods =
	    store_list(cluster_store(cl), cluster_kind(cl, "Pod"), rs->ns, &n);
	struct object **out = xcalloc(n + 1, sizeof(*out));
	const char *uid = juid(object_json(rs));
	for (i = 0; i < n; i++) {
		const char *cu = wl_controller_uid(object_json(pods[i]), "ReplicaSet");
		const char *phase = jstr_or(object_json(pods[i]), "status.phase", "");
		if (!cu || !uid || strcmp(cu, uid) != 0 || jis_deleting(object_json(pods[i])) ||
		    strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0)
			continue;
		out[k++] = pods[i];
	}
	*count = k;
	return out;
}

static int phase_rank(const json_t *pod)
{
	const char *p = jstr_or(pod, "status.phase", "");
	if (strcmp(p, "Pending") == 0 || !*p)
		return 0;
	if (strcmp(p, "Unknown") == 0)
		return 1;
	return 2;
}

/* Negative when a should be deleted before b. */
static int cmp_delete_first(const void *pa, const void *pb)
{
	const struct object *a = *(struct object *const *)pa, *b = *(struct object *const *)pb;
	int x, y;
	x = jstr(object_json(a), "spec.nodeName") != NULL;
	y = jstr(object_json(b), "spec.nodeName") != NULL;
	if (x != y)
		return x - y;
	x = phase_rank(object_json(a));
	y = phase_rank(object_json(b));
	if (x != y)
		return x - y;
	x = pod_is_ready(a);
	y = pod_is_ready(b);
	if (x != y)
		return x - y;
	if (x) {
		int64_t ta = jtime_parse(
		    jstr_or(wl_condition(object_json(a), "Ready"), "lastTransitionTime", ""));
		int64_t tb = jtime_parse(
		    jstr_or(wl_condition(object_json(b), "Ready"), "lastTransitionTime", ""));
		if (ta != tb)
			return ta > tb ? -1 : 1; /* ready for less time first */
	}
	int64_t ca = jtime_parse(jstr_or(object_json(a), "metadata.creationTimestamp", ""));
	int64_t cb = jtime_parse(jstr_or(object_json(b), "metadata.creationTimestamp", ""));
	if (ca != cb)
		return ca > cb ? -1 : 1; /* newer first */
	return -strcmp(a->name, b->name);
}

static json_t *pod_json(struct cluster *cl, const struct object *rs, char *name, size_t len)
{
	json_t *tmpl = jget(object_json(rs), "spec.template");
	char suffix[8];
	int tries;
	for (tries = 0; tries < 16; tries++) {
		wl_random_suffix(cl, suffix);
		snprintf(name, len, "%s-%s", rs->name, suffix);
		if (!store_get(cluster_store(cl), cluster_kind(cl, "Pod"), rs->ns, name))
			break;
	}
	json_t *pod = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:[o]},s:o}", "apiVersion", "v1", "kind",
				"Pod", "metadata", "name", name, "generateName", "", "namespace",
				rs->ns, "ownerReferences", wl_owner_ref(rs, 1), "spec",
				json_deep_copy(jget(tmpl, "spec")) ?: json_object());
	char gen[300];
	snprintf(gen, sizeof(gen), "%s-", rs->name);
	jset_str(pod, "metadata.generateName", gen);
	if (json_object_size(jget(tmpl, "metadata.labels")))
		jset(pod, "metadata.labels", json_deep_copy(jget(tmpl, "metadata.labels")));
	if (json_object_size(jget(tmpl, "metadata.annotations")))
		jset(pod, "metadata.annotations",
		     json_deep_copy(jget(tmpl, "metadata.annotations")));
	return pod;
}

static void rs_status(struct cluster *cl, struct object *rs)
{
	json_t *before = json_deep_copy(object_json(rs));
	size_t n, i;
	struct object **pods = active_pods(cl, rs, &n);
	int64_t ready = 0, available = 0, labeled = 0, gen = 0, min_ready = 0, next = 0;
	int64_t now = cluster_now_ms(cl);
	jint(object_json(rs), "spec.minReadySeconds", &min_ready);
	for (i = 0; i < n; i++) {
		if (jselector_matches(jget(object_json(rs), "spec.selector"),
				      jget(object_json(pods[i]), "metadata.labels")))
			labeled++;
		if (!pod_is_ready(pods[i]))
			continue;
		ready++;
		int64_t since = jtime_parse(
		    jstr_or(wl_condition(object_json(pods[i]), "Ready"), "lastTransitionTime", ""));
		int64_t due = since + min_ready * 1000;
		if (min_ready <= 0 || since < 0 || now >= due)
			available++;
		else if (!next || due - now < next)
			next = due - now;
	}
	jint(object_json(rs), "metadata.generation", &gen);
	json_t *st = jobj(object_json(rs), "status");
	json_object_set_new(st, "replicas", json_integer((json_int_t)n));
	json_object_set_new(st, "fullyLabeledReplicas", json_integer(labeled));
	json_object_set_new(st, "readyReplicas", json_integer(ready));
	json_object_set_new(st, "availableReplicas", json_integer(available));
	json_object_set_new(st, "observedGeneration", json_integer(gen));
	free(pods);
	wl_commit(cl, rs, before);
	if (next > 0)
		cluster_enqueue_after(cl, rs, next);
}

static void rs_sync(struct cluster *cl, struct object *rs)
{
	int64_t want = 1;
	size_t n, i;
	struct object **pods;
	struct cfs_err e;
	char name[512];

	if (jis_deleting(object_json(rs)))
		return;
	jint(object_json(rs), "spec.replicas", &want);
	pods = active_pods(cl, rs, &n);
	if ((int64_t)n < want) {
		for (i = n; (int64_t)i < want; i++) {
			json_t *pod = pod_json(cl, rs, name, sizeof(name));
			if (!wl_create(cl, cluster_kind(cl, "Pod"), pod, &e)) {
				cluster_event(cl, rs, "Warning", "FailedCreate",
					      "Error creating: %s", e.msg);
				break;
			}
			cluster_event(cl, rs, "Normal", "SuccessfulCreate", "Created pod: %s",
				      name);
		}
	} else if ((int64_t)n > want) {
		qsort(pods, n, sizeof(*pods), cmp_delete_first);
		for (i = 0; i < n - (size_t)want; i++) {
			snprintf(name, sizeof(name), "%s", pods[i]->name);
			cluster_request_delete(cl, pods[i]);
			cluster_event(cl, rs, "Normal", "SuccessfulDelete", "Deleted pod: %s",
				      name);
		}
	}
	free(pods);
	rs_status(cl, rs);
}

static void rs_watch(struct cluster *cl, struct object *rs, int removed)
{
	const char *uid = wl_controller_uid(object_json(rs), "Deployment");
	json_t *r;
	size_t i;
	if (!uid)
		return;
	json_array_foreach(jget(object_json(rs), "metadata.ownerReferences"), i, r)
	{
		if (strcmp(jstr_or(r, "uid", ""), uid) != 0)
			continue;
		struct object *d = store_get(cluster_store(cl), cluster_kind(cl, "Deployment"),
					     rs->ns, jstr_or(r, "name", ""));
		if (d && strcmp(jstr_or(object_json(d), "metadata.uid", ""), uid) == 0)
			cluster_enqueue(cl, d);
	}
}

const struct kind_ops replicaset_ops = {
    .admit = rs_admit,
    .sync = rs_sync,
    .watch = rs_watch,
};
