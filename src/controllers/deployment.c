/* deployment.c - Deployments as the deployment controller runs them: one ReplicaSet per
 * pod template, "<deploy>-<pod-template-hash>", with the hash in its selector, template
 * and pods' labels and the revision in deployment.kubernetes.io/revision;
 *   Recreate: scale every old ReplicaSet to 0, wait until their pods are gone, then
 *             scale the new one up;
 *   RollingUpdate (maxSurge/maxUnavailable, 25% by default): the new ReplicaSet grows
 *             within replicas+maxSurge, old ones shrink while availability stays at
 *             replicas-maxUnavailable, so the new pod starts before the old one stops -
 *             with a ReadWriteOnce claim and the new pod on another node that is the
 *             classic Multi-Attach hang, exactly as on a real cluster.
 * Events ScalingReplicaSet "Scaled up replica set <rs> from <a> to <b>". Old ReplicaSets
 * beyond revisionHistoryLimit are deleted. Not simulated: paused rollouts' proportional
 * scaling and progressDeadlineSeconds (Progressing never turns False). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "workload_internal.h"

static int check_intstr(const struct manifest *m, json_t *obj, const char *path,
			struct cfs_err *err)
{
	json_t *v = jget(obj, path);
	if (!v)
		return 0;
	if (wl_int_or_percent(v, 100, 0, -1) < 0) {
		const char *dot = strrchr(path, '.');
		char parent[128];
		snprintf(parent, sizeof(parent), "%.*s", (int)(dot - path), path);
		return manifest_member_errorf(
		    m, jget(obj, parent), dot + 1, err, -EINVAL,
		    "%s: Invalid value: must be a non-negative integer or a percentage "
		    "(e.g. 25%%)",
		    path);
	}
	if (json_is_string(v) && strchr(json_string_value(v), '%') &&
	    wl_int_or_percent(v, 100, 0, 0) > 100)
		return manifest_errorf(m, v, err, -EINVAL,
				       "%s: Invalid value: \"%s\": must not be greater than 100%%",
				       path, MQUOTE(json_string_value(v)));
	return 0;
}

static int deploy_admit(struct cluster *cl, const struct manifest *m, json_t *doc, json_t *obj,
			const struct object *old, struct cfs_err *err)
{
	json_t *spec = json_object_get(obj, "spec");
	int rc;
	if ((rc = wl_check_spec(m, obj, err)) < 0)
		return rc;
	/* Types before defaults: a default would replace a wrong-typed parent silently. */
	if ((rc = wl_check_replicas(cl, m, obj, err)) < 0 ||
	    (rc = manifest_check_type(m, obj, "spec.strategy", JSON_OBJECT, err)) < 0 ||
	    (rc = manifest_check_type(m, obj, "spec.strategy.type", JSON_STRING, err)) < 0 ||
	    (rc = manifest_check_type(m, obj, "spec.strategy.rollingUpdate", JSON_OBJECT, err)) <
		0 ||
	    (rc = manifest_check_type(m, obj, "spec.revisionHistoryLimit", JSON_INTEGER, err)) <
		0 ||
	    (rc = manifest_check_type(m, obj, "spec.progressDeadlineSeconds", JSON_INTEGER, err)) <
		0)
		return rc;
	if (!jget(spec, "replicas") || json_is_null(jget(spec, "replicas")))
		jset(spec, "replicas", json_integer(1));
	if (!jstr(spec, "strategy.type"))
		jset_str(spec, "strategy.type", "RollingUpdate");
	const char *type = jstr(spec, "strategy.type");
	if (strcmp(type, "RollingUpdate") != 0 && strcmp(type, "Recreate") != 0)
		return manifest_errorf(
		    m, jget(spec, "strategy.type"), err, -EINVAL,
		    "spec.strategy.type: Unsupported value: \"%s\": supported values: "
		    "\"Recreate\", \"RollingUpdate\"",
		    MQUOTE(type));
	if (strcmp(type, "Recreate") == 0 && jget(spec, "strategy.rollingUpdate"))
		return manifest_errorf(
		    m, jget(spec, "strategy.rollingUpdate"), err, -EINVAL,
		    "spec.strategy.rollingUpdate: Forbidden: may not be specified when "
		    "strategy `type` is 'Recreate'");
	if (strcmp(type, "RollingUpdate") == 0) {
		if (!jget(spec, "strategy.rollingUpdate.maxSurge"))
			jset_str(spec, "strategy.rollingUpdate.maxSurge", "25%");
		if (!jget(spec, "strategy.rollingUpdate.maxUnavailable"))
			jset_str(spec, "strategy.rollingUpdate.maxUnavailable", "25%");
		if ((rc = check_intstr(m, obj, "spec.strategy.rollingUpdate.maxSurge", err)) < 0 ||
		    (rc = check_intstr(m, obj, "spec.strategy.rollingUpdate.maxUnavailable", err)) <
			0)
			return rc;
		if (wl_int_or_percent(jget(spec, "strategy.rollingUpdate.maxSurge"), 100, 1, 0) ==
			0 &&
		    wl_int_or_percent(jget(spec, "strategy.rollingUpdate.maxUnavailable"), 100, 1,
				      0) == 0)
			return manifest_errorf(
			    m, jget(spec, "strategy.rollingUpdate.maxUnavailable"), err, -EINVAL,
			    "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "
			    "0: may not be 0 when `maxSurge` is 0");
	}
	if (!jget(spec, "revisionHistoryLimit"))
		jset(spec, "revisionHistoryLimit", json_integer(10));
	if (!jget(spec, "progressDeadlineSeconds"))
		jset(spec, "progressDeadlineSeconds", json_integer(600));
	if ((rc = wl_check_selector(m, obj, "deployment", err)) < 0 ||
	    (rc = wl_check_template(m, obj, NULL, err)) < 0)
		return rc;
	if (jget(obj, "spec.template.spec.activeDeadlineSeconds"))
		return manifest_errorf(m, jget(obj, "spec.template.spec.activeDeadlineSeconds"),
				       err, -EINVAL,
				       "spec.template.spec.activeDeadlineSeconds: Forbidden: "
				       "activeDeadlineSeconds in ReplicaSet is not Supported");
	if (old &&
	    !json_equal(jget(object_json(old), "spec.selector"), jget(obj, "spec.selector"))) {
		struct strbuf sb = STRBUF_INIT;
		wl_go_map(jget(obj, "spec.selector.matchLabels"), &sb);
		rc = manifest_errorf(
		    m, jget(obj, "spec.selector"), err, -EINVAL,
		    "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:%s, "
		    "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is "
		    "immutable",
		    sb_str(&sb));
		sb_release(&sb);
		return rc;
	}
	return 0;
}

/* ---- the controller ---- */

struct rollout {
	struct cluster *cl;
	struct object *d;
	struct object **rs; /* owned ReplicaSets, oldest first */
	size_t nrs;
	struct object *new_rs;
	int64_t replicas, max_surge, max_unavailable;
	char hash[16], new_name[512];
};

static int64_t rs_int(const struct object *rs, const char *path)
{
	int64_t v = 0;
	jint(object_json(rs), path, &v);
	return v;
}

static int cmp_created(const void *pa, const void *pb)
{
	const struct object *a = *(struct object *const *)pa, *b = *(struct object *const *)pb;
	int64_t ca = jtime_parse(jstr_or(object_json(a), "metadata.creationTimestamp", ""));
	int64_t cb = jtime_parse(jstr_or(object_json(b), "metadata.creationTimestamp", ""));
	if (ca != cb)
		return ca < cb ? -1 : 1;
	return strcmp(a->name, b->name);
}

static void list_rs(struct rollout *r)
{
	size_t n, i;
	struct object *const *all =
	    store_list(cluster_store(r->cl), cluster_kind(r->cl, "ReplicaSet"), r->d->ns, &n);
	const char *uid = juid(object_json(r->d));
	r->rs = xcalloc(n + 1, sizeof(*r->rs));
	r->nrs = 0;
	r->new_rs = NULL;
	for (i = 0; i < n; i++) {
		const char *cu = wl_controller_uid(object_json(all[i]), "Deployment");
		if (!cu || !uid || strcmp(cu, uid) != 0 || jis_deleting(object_json(all[i])))
			continue;
		r->rs[r->nrs++] = all[i];
		if (strcmp(all[i]->name, r->new_name) == 0)
			r->new_rs = all[i];
	}
	qsort(r->rs, r->nrs, sizeof(*r->rs), cmp_created);
}

static int64_t max_revision(struct rollout *r)
{
	size_t i;
	int64_t max = 0;
	for (i = 0; i < r->nrs; i++) {
		const char *rev = jannotation(object_json(r->rs[i]), ANN_DEPLOY_REVISION);
		int64_t v = rev ? atoll(rev) : 0;
		if (v > max)
			max = v;
	}
	return max;
}

static void scale_rs(struct rollout *r, struct object *rs, int64_t to)
{
	int64_t from = rs_int(rs, "spec.replicas");
	char buf[32];
	if (from == to)
		return;
	jset(object_json(rs), "spec.replicas", json_integer(to));
	snprintf(buf, sizeof(buf), "%lld", (long long)r->replicas);
	jset_annotation(object_json(rs), "deployment.kubernetes.io/desired-replicas", buf);
	snprintf(buf, sizeof(buf), "%lld", (long long)(r->replicas + r->max_surge));
	jset_annotation(object_json(rs), "deployment.kubernetes.io/max-replicas", buf);
	cluster_update(r->cl, rs);
	cluster_event(r->cl, r->d, "Normal", "ScalingReplicaSet",
		      "Scaled %s replica set %s from %lld to %lld", to > from ? "up" : "down",
		      rs->name, (long long)from, (long long)to);
}

static void create_new_rs(struct rollout *r, int64_t replicas)
{
	char rev[32], buf[32];
	struct cfs_err e;
	json_t *tmpl = json_deep_copy(jget(object_json(r->d), "spec.template"));
	json_t *sel = json_deep_copy(jget(object_json(r->d), "spec.selector"));
	json_object_set_new(jobj(tmpl, "metadata.labels"), LABEL_TEMPLATE_HASH,
			    json_string(r->hash));
	json_object_set_new(jobj(sel, "matchLabels"), LABEL_TEMPLATE_HASH, json_string(r->hash));
	snprintf(rev, sizeof(rev), "%lld", (long long)(max_revision(r) + 1));
	json_t *rs = json_pack(
	    "{s:s,s:s,s:{s:s,s:s,s:o,s:[o]},s:{s:I,s:o,s:o}}", "apiVersion", "apps/v1", "kind",
	    "ReplicaSet", "metadata", "name", r->new_name, "namespace", r->d->ns, "labels",
	    json_deep_copy(jget(tmpl, "metadata.labels")), "ownerReferences", wl_owner_ref(r->d, 1),
	    "spec", "replicas", (json_int_t)replicas, "selector", sel, "template", tmpl);
	int64_t mrs = 0;
	if (jint(object_json(r->d), "spec.minReadySeconds", &mrs) == 0)
		jset(rs, "spec.minReadySeconds", json_integer(mrs));
	jset_annotation(rs, ANN_DEPLOY_REVISION, rev);
	snprintf(buf, sizeof(buf), "%lld", (long long)r->replicas);
	jset_annotation(rs, "deployment.kubernetes.io/desired-replicas", buf);
	snprintf(buf, sizeof(buf), "%lld", (long long)(r->replicas + r->max_surge));
	jset_annotation(rs, "deployment.kubernetes.io/max-replicas", buf);
	r->new_rs = wl_create(r->cl, cluster_kind(r->cl, "ReplicaSet"), rs, &e);
	if (!r->new_rs) {
		cluster_event(r->cl, r->d, "Warning", "FailedCreate",
			      "Failed to create new replica set \"%s\": %s", r->new_name, e.msg);
		return;
	}
	if (replicas > 0)
		cluster_event(r->cl, r->d, "Normal", "ScalingReplicaSet",
			      "Scaled up replica set %s from 0 to %lld", r->new_name,
			      (long long)replicas);
}

/* Pods still alive under the old ReplicaSets (Recreate waits for them to be gone). */
static int old_pods_exist(struct rollout *r)
{
	size_t n, i, j;
	struct object *const *pods =
	    store_list(cluster_store(r->cl), cluster_kind(r->cl, "Pod"), r->d->ns, &n);
	for (i = 0; i < n; i++) {
		const char *cu = wl_controller_uid(object_json(pods[i]), "ReplicaSet");
		if (!cu)
			continue;
		for (j = 0; j < r->nrs; j++)
			if (r->rs[j] != r->new_rs &&
			    strcmp(cu, jstr_or(object_json(r->rs[j]), "metadata.uid", "")) == 0)
				return 1;
	}
	return 0;
}

static void rollout_recreate(struct rollout *r)
{
	size_t i;
	int scaled = 0;
	for (i = 0; i < r->nrs; i++) {
		if (r->rs[i] != r->new_rs && rs_int(r->rs[i], "spec.replicas") > 0) {
			scale_rs(r, r->rs[i], 0);
			scaled = 1;
		}
	}
	if (scaled || old_pods_exist(r))
		return; /* the old pods go first */
	if (!r->new_rs)
		create_new_rs(r, r->replicas);
	else
		scale_rs(r, r->new_rs, r->replicas);
}

static int64_t spec_total(struct rollout *r)
{
	size_t i;
	int64_t t = 0;
	for (i = 0; i < r->nrs; i++)
		t += rs_int(r->rs[i], "spec.replicas");
	return t;
}

/* NewRSNewReplicas for RollingUpdate. */
static int64_t new_rs_target(struct rollout *r)
{
	int64_t cur = r->new_rs ? rs_int(r->new_rs, "spec.replicas") : 0;
	int64_t max_total = r->replicas + r->max_surge, total = spec_total(r);
	if (total >= max_total)
		return cur;
	int64_t up = max_total - total;
	if (up > r->replicas - cur)
		up = r->replicas - cur;
	return cur + up;
}

static void rollout_rolling(struct rollout *r)
{
	size_t i;
	if (!r->new_rs) {
		create_new_rs(r, new_rs_target(r));
		if (!r->new_rs)
			return;
		r->rs[r->nrs++] = r->new_rs;
	} else {
		int64_t cur = rs_int(r->new_rs, "spec.replicas");
		if (cur > r->replicas)
			scale_rs(r, r->new_rs, r->replicas);
		else if (cur < r->replicas)
			scale_rs(r, r->new_rs, new_rs_target(r));
	}
	/* reconcileOldReplicaSets */
	int64_t old_count = spec_total(r) - rs_int(r->new_rs, "spec.replicas");
	if (old_count <= 0)
		return;
	int64_t min_available = r->replicas - r->max_unavailable;
	int64_t new_unavailable =
	    rs_int(r->new_rs, "spec.replicas") - rs_int(r->new_rs, "status.availableReplicas");
	int64_t max_down = spec_total(r) - min_available - new_unavailable;
	if (max_down <= 0)
		return;
	int64_t done = 0;
	/* cleanupUnhealthyReplicas: unavailable old pods may go first */
	for (i = 0; i < r->nrs && done < max_down; i++) {
		struct object *rs = r->rs[i];
		int64_t spec = rs_int(rs, "spec.replicas"),
			avail = rs_int(rs, "status.availableReplicas");
		if (rs == r->new_rs || spec == 0 || spec <= avail)
			continue;
		int64_t down = spec - avail;
		if (down > max_down - done)
			down = max_down - done;
		scale_rs(r, rs, spec - down);
		done += down;
	}
	/* scaleDownOldReplicaSetsForRollingUpdate */
	int64_t available = 0;
	for (i = 0; i < r->nrs; i++)
		available += rs_int(r->rs[i], "status.availableReplicas");
	if (available <= min_available)
		return;
	int64_t budget = available - min_available, downs = 0;
	for (i = 0; i < r->nrs && downs < budget; i++) {
		struct object *rs = r->rs[i];
		int64_t spec = rs_int(rs, "spec.replicas");
		if (rs == r->new_rs || spec == 0)
			continue;
		int64_t down = spec < budget - downs ? spec : budget - downs;
		scale_rs(r, rs, spec - down);
		downs += down;
	}
}

/* Old ReplicaSets that are empty go beyond revisionHistoryLimit, oldest first. */
static void cleanup(struct rollout *r)
{
	int64_t limit = 10;
	size_t i, empty = 0;
	jint(object_json(r->d), "spec.revisionHistoryLimit", &limit);
	for (i = 0; i < r->nrs; i++)
		if (r->rs[i] != r->new_rs && rs_int(r->rs[i], "spec.replicas") == 0 &&
		    rs_int(r->rs[i], "status.replicas") == 0)
			empty++;
	for (i = 0; i < r->nrs && (int64_t)empty > limit; i++) {
		if (r->rs[i] == r->new_rs || rs_int(r->rs[i], "spec.replicas") != 0 ||
		    rs_int(r->rs[i], "status.replicas") != 0)
			continue;
		cluster_request_delete(r->cl, r->rs[i]);
		r->rs[i] = NULL;
		empty--;
	}
}

static void deploy_status(struct rollout *r)
{
	json_t *before = json_deep_copy(object_json(r->d));
	int64_t replicas = 0, ready = 0, available = 0, updated = 0, total = 0, gen = 0;
	size_t i;
	int64_t now = cluster_now_ms(r->cl);
	char msg[600];
	for (i = 0; i < r->nrs; i++) {
		struct object *rs = r->rs[i];
		if (!rs)
			continue;
		replicas += rs_int(rs, "status.replicas");
		ready += rs_int(rs, "status.readyReplicas");
		available += rs_int(rs, "status.availableReplicas");
		total += rs_int(rs, "spec.replicas");
	}
	if (r->new_rs)
		updated = rs_int(r->new_rs, "status.replicas");
	jint(object_json(r->d), "metadata.generation", &gen);
	json_t *st = jobj(object_json(r->d), "status");
	json_object_set_new(st, "observedGeneration", json_integer(gen));
	json_object_set_new(st, "replicas", json_integer(replicas));
	json_object_set_new(st, "updatedReplicas", json_integer(updated));
	json_object_set_new(st, "readyReplicas", json_integer(ready));
	json_object_set_new(st, "availableReplicas", json_integer(available));
	json_object_set_new(st, "unavailableReplicas",
			    json_integer(total - available > 0 ? total - available : 0));
	if (available >= r->replicas - r->max_unavailable)
		wl_set_condition(object_json(r->d), "Available", "True", "MinimumReplicasAvailable",
				 "Deployment has minimum availability.", now);
	else
		wl_set_condition(object_json(r->d), "Available", "False",
				 "MinimumReplicasUnavailable",
				 "Deployment does not have minimum availability.", now);
	if (r->new_rs) {
		int complete =
		    updated == r->replicas && replicas == r->replicas && available == r->replicas;
		snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" %s.", r->new_rs->name,
			 complete ? "has successfully progressed" : "is progressing");
		wl_set_condition(object_json(r->d), "Progressing", "True",
				 complete ? "NewReplicaSetAvailable" : "ReplicaSetUpdated", msg,
				 now);
	}
	const char *rev =
	    r->new_rs ? jannotation(object_json(r->new_rs), ANN_DEPLOY_REVISION) : NULL;
	if (rev)
		jset_annotation(object_json(r->d), ANN_DEPLOY_REVISION, rev);
	wl_commit(r->cl, r->d, before);
}

static void deploy_sync(struct cluster *cl, struct object *d)
{
	struct rollout r = {.cl = cl, .d = d};
	if (jis_deleting(object_json(d)))
		return;
	jint(object_json(d), "spec.replicas", &r.replicas);
	wl_hash10(jget(object_json(d), "spec.template"), r.hash);
	snprintf(r.new_name, sizeof(r.new_name), "%s-%s", d->name, r.hash);
	int rolling =
	    strcmp(jstr_or(object_json(d), "spec.strategy.type", "RollingUpdate"), "Recreate") != 0;
	if (rolling) {
		r.max_surge = wl_int_or_percent(
		    jget(object_json(d), "spec.strategy.rollingUpdate.maxSurge"), r.replicas, 1, 0);
		r.max_unavailable = wl_int_or_percent(
		    jget(object_json(d), "spec.strategy.rollingUpdate.maxUnavailable"), r.replicas,
		    0, 0);
		if (r.max_surge == 0 && r.max_unavailable == 0)
			r.max_unavailable = 1;
	}
	list_rs(&r);
	/* A rollback to an older template makes its ReplicaSet the newest revision. */
	if (r.new_rs) {
		int64_t max = max_revision(&r);
		const char *rev = jannotation(object_json(r.new_rs), ANN_DEPLOY_REVISION);
		if (!rev || atoll(rev) < max) {
			char buf[32];
			snprintf(buf, sizeof(buf), "%lld", (long long)(max + 1));
			jset_annotation(object_json(r.new_rs), ANN_DEPLOY_REVISION, buf);
			cluster_update(cl, r.new_rs);
		}
	}
	if (!jbool(object_json(d), "spec.paused", 0)) {
		if (rolling)
			rollout_rolling(&r);
		else
			rollout_recreate(&r);
		if (r.new_rs) {
			size_t i;
			int listed = 0;
			for (i = 0; i < r.nrs; i++)
				if (r.rs[i] == r.new_rs)
					listed = 1;
			if (!listed)
				r.rs[r.nrs++] = r.new_rs;
		}
		cleanup(&r);
	}
	deploy_status(&r);
	free(r.rs);
}

const struct kind_ops deployment_ops = {
    .admit = deploy_admit,
    .sync = deploy_sync,
};
