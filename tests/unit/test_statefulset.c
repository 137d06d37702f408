/* test_statefulset.c - the StatefulSet controller through the cluster API: ordered
 * creation, identity (names, labels, claims, DNS fields), ordinals.start, pod
 * replacement with the same claim and volume, scaling order, retention policies,
 * Parallel, rolling updates, admission messages and limits. */
#include <errno.h>
#include "unit.h"
#include "fixture.h"
#include "examples.h"
#include "claimfs/workloads.h"

static struct fixture fx;

static void setup(void)
{
	fx_open(&fx);
}

static void teardown(void)
{
	fx_close(&fx);
}

/* A small set "web" with one claim template "www"; extra goes into spec. */
static void apply_web(int replicas, const char *extra)
{
	char yaml[4096];
	snprintf(
	    yaml, sizeof(yaml),
	    "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: web\nspec:\n"
	    "  serviceName: nginx\n  replicas: %d\n%s"
	    "  selector:\n    matchLabels: {app: nginx}\n"
	    "  template:\n    metadata:\n      labels: {app: nginx}\n    spec:\n"
	    "      containers:\n      - name: nginx\n        image: nginx:1.25\n"
	    "        volumeMounts: [{name: www, mountPath: /usr/share/nginx/html}]\n"
	    "  volumeClaimTemplates:\n  - metadata:\n      name: www\n      labels: {tier: web}\n"
	    "    spec:\n      accessModes: [ReadWriteOnce]\n"
	    "      resources: {requests: {storage: 1Gi}}\n",
	    replicas, extra ? extra : "");
	fx_apply_ok(&fx, yaml);
}

static int patch_replicas(const char *set, int n)
{
	json_t *p = json_pack("{s:{s:i}}", "spec", "replicas", n);
	int rc = cluster_patch(fx.cl, cluster_kind(fx.cl, "StatefulSet"), "default", set, p,
			       "replicas", &fx.err);
	json_decref(p);
	return rc;
}

static const char *pod_str(const char *pod, const char *path)
{
	return fx_str(&fx, "Pod", "default", pod, path);
}

/* Reads under the cluster lock: with --pod-start-delay the timer thread changes the set
 * while the test polls it. */
static int64_t sts_int(const char *set, const char *path)
{
	int64_t v = -1;
	cluster_lock(fx.cl);
	struct object *o =
	    store_get(cluster_store(fx.cl), cluster_kind(fx.cl, "StatefulSet"), "default", set);
	if (o)
		jint(object_json(o), path, &v);
	cluster_unlock(fx.cl);
	return v;
}

START_TEST(test_mysql_walkthrough)
{
	char name[64], claim[64];
	int i;
	fx_apply_ok(&fx, seed_mysql_yaml);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "mysql-%d", i);
		snprintf(claim, sizeof(claim), "mysql-volume-mysql-%d", i);
		ck_assert_str_eq(pod_str(name, "status.phase"), "Running");
		ck_assert_str_eq(pod_str(name, "spec.hostname"), name);
		ck_assert_str_eq(pod_str(name, "spec.subdomain"), "mysql-h");
		struct object *pod = fx_get(&fx, "Pod", "default", name);
		ck_assert_str_eq(jlabel(object_json(pod), "statefulset.kubernetes.io/pod-name"),
				 name);
		ck_assert_str_eq(jlabel(object_json(pod), "apps.kubernetes.io/pod-index"),
				 name + 6);
		ck_assert_str_eq(jlabel(object_json(pod), "app"), "mysql");
		const char *rev = jlabel(object_json(pod), "controller-revision-hash");
		ck_assert_int_eq(strlen(rev), strlen("mysql-") + 10);
		ck_assert_int_eq(strncmp(rev, "mysql-", 6), 0);
		json_t *ref = json_array_get(jget(object_json(pod), "metadata.ownerReferences"), 0);
		ck_assert_str_eq(jstr(ref, "kind"), "StatefulSet");
		ck_assert(jbool(ref, "controller", 0));
		json_t *vol = json_array_get(jget(object_json(pod), "spec.volumes"), 0);
		ck_assert_str_eq(jstr(vol, "name"), "mysql-volume");
		ck_assert_str_eq(jstr(vol, "persistentVolumeClaim.claimName"), claim);
		ck_assert_str_eq(fx_claim(&fx, claim, "status.phase"), "Bound");
		struct object *pvc = fx_get(&fx, "PersistentVolumeClaim", "default", claim);
		ck_assert_str_eq(jlabel(object_json(pvc), "app"), "mysql");
		ck_assert_ptr_null(jget(object_json(pvc), "metadata.ownerReferences"));
		struct strbuf fq = STRBUF_INIT;
		cluster_lock(fx.cl);
		ck_assert_int_eq(pod_ordinal(pod), i);
		ck_assert_int_eq(pod_fqdn(fx.cl, pod, &fq), 0);
		cluster_unlock(fx.cl);
		snprintf(claim, sizeof(claim), "mysql-%d.mysql-h.default.svc.cluster.local", i);
		ck_assert_str_eq(sb_str(&fq), claim);
		sb_release(&fq);
	}
	ck_assert_ptr_null(fx_get(&fx, "Pod", "default", "mysql-3"));
	/* ordered: claim before pod, each pod only after its predecessor started */
	int c0 = fx_event_index(
	    &fx, "create Claim mysql-volume-mysql-0 Pod mysql-0 in StatefulSet mysql success",
	    NULL);
	int p0 = fx_event_index(&fx, "create Pod mysql-0 in StatefulSet mysql successful", NULL);
	int s0 = fx_event_index(&fx, "Started", "pods/mysql-0 ");
	int p1 = fx_event_index(&fx, "create Pod mysql-1 in StatefulSet mysql successful", NULL);
	int s1 = fx_event_index(&fx, "Started", "pods/mysql-1 ");
	int p2 = fx_event_index(&fx, "create Pod mysql-2 in StatefulSet mysql successful", NULL);
	ck_assert_int_ge(c0, 0);
	ck_assert_int_lt(c0, p0);
	ck_assert_int_lt(p0, s0);
	ck_assert_int_lt(s0, p1);
	ck_assert_int_lt(p1, s1);
	ck_assert_int_lt(s1, p2);
	ck_assert_int_eq(sts_int("mysql", "status.replicas"), 3);
	ck_assert_int_eq(sts_int("mysql", "status.readyReplicas"), 3);
	ck_assert_int_eq(sts_int("mysql", "status.availableReplicas"), 3);
	ck_assert_int_eq(sts_int("mysql", "status.currentReplicas"), 3);
	ck_assert_int_eq(sts_int("mysql", "status.updatedReplicas"), 3);
	ck_assert_int_eq(sts_int("mysql", "status.observedGeneration"), 1);
	struct object *set = fx_get(&fx, "StatefulSet", "default", "mysql");
	ck_assert_str_eq(jstr(object_json(set), "status.currentRevision"),
			 jstr(object_json(set), "status.updateRevision"));
	ck_assert_str_eq(jstr(object_json(set), "spec.podManagementPolicy"), "OrderedReady");
	ck_assert_str_eq(jstr(object_json(set), "spec.updateStrategy.type"), "RollingUpdate");
	ck_assert_int_eq(sts_int("mysql", "spec.revisionHistoryLimit"), 10);
	/* the ordinals as the tree shows them */
	int64_t *ords;
	struct object **pods;
	cluster_lock(fx.cl);
	size_t n = statefulset_pods(fx.cl, set, &ords, &pods);
	cluster_unlock(fx.cl);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(ords[2], 2);
	ck_assert_str_eq(pods[1]->name, "mysql-1");
	free(ords);
	free(pods);
}
END_TEST

START_TEST(test_pod_comes_back)
{
	fx_apply_ok(&fx, seed_mysql_yaml);
	char *uid = xstrdup(pod_str("mysql-1", "metadata.uid"));
	char *pv = xstrdup(fx_claim(&fx, "mysql-volume-mysql-1", "spec.volumeName"));
	ck_assert_int_eq(cluster_delete(fx.cl, cluster_kind(fx.cl, "Pod"), "default", "mysql-1",
					"rmdir", &fx.err),
			 0);
	ck_assert_str_eq(pod_str("mysql-1", "status.phase"), "Running");
	ck_assert_str_ne(pod_str("mysql-1", "metadata.uid"), uid);
	ck_assert_str_eq(fx_claim(&fx, "mysql-volume-mysql-1", "spec.volumeName"), pv);
	struct object *pod = fx_get(&fx, "Pod", "default", "mysql-1");
	ck_assert_str_eq(jstr(json_array_get(jget(object_json(pod), "spec.volumes"), 0),
			      "persistentVolumeClaim.claimName"),
			 "mysql-volume-mysql-1");
	ck_assert_int_ge(fx_event_index(&fx, "delete", NULL), -1);
	ck_assert_int_eq(sts_int("mysql", "status.readyReplicas"), 3);
	free(uid);
	free(pv);
}
END_TEST

START_TEST(test_scale_up_and_down)
{
	int i;
	char name[64];
	fx_apply_ok(&fx, seed_mysql_yaml);
	ck_assert_int_eq(patch_replicas("mysql", 5), 0);
	ck_assert_str_eq(pod_str("mysql-3", "status.phase"), "Running");
	ck_assert_str_eq(pod_str("mysql-4", "status.phase"), "Running");
	ck_assert_int_lt(fx_event_index(&fx, "create Pod mysql-3", NULL),
			 fx_event_index(&fx, "create Pod mysql-4", NULL));
	ck_assert_int_eq(patch_replicas("mysql", 2), 0);
	for (i = 2; i < 5; i++) {
		snprintf(name, sizeof(name), "mysql-%d", i);
		ck_assert_ptr_null(fx_get(&fx, "Pod", "default", name));
		snprintf(name, sizeof(name), "mysql-volume-mysql-%d", i);
		ck_assert_str_eq(fx_claim(&fx, name, "status.phase"), "Bound");
	}
	int d4 = fx_event_index(&fx, "delete Pod mysql-4 in StatefulSet mysql successful", NULL);
	int d3 = fx_event_index(&fx, "delete Pod mysql-3 in StatefulSet mysql successful", NULL);
	int d2 = fx_event_index(&fx, "delete Pod mysql-2 in StatefulSet mysql successful", NULL);
	ck_assert_int_ge(d4, 0);
	ck_assert_int_lt(d4, d3);
	ck_assert_int_lt(d3, d2);
	ck_assert_int_eq(sts_int("mysql", "status.replicas"), 2);
	/* scaling back up reuses the kept claims */
	char *pv = xstrdup(fx_claim(&fx, "mysql-volume-mysql-2", "spec.volumeName"));
	ck_assert_int_eq(patch_replicas("mysql", 3), 0);
	ck_assert_str_eq(pod_str("mysql-2", "status.phase"), "Running");
	ck_assert_str_eq(fx_claim(&fx, "mysql-volume-mysql-2", "spec.volumeName"), pv);
	free(pv);
}
END_TEST

START_TEST(test_ordinals_start)
{
	apply_web(2, "  ordinals: {start: 5}\n");
	ck_assert_ptr_null(fx_get(&fx, "Pod", "default", "web-0"));
	ck_assert_str_eq(pod_str("web-5", "status.phase"), "Running");
	ck_assert_str_eq(pod_str("web-6", "status.phase"), "Running");
	ck_assert_str_eq(fx_claim(&fx, "www-web-5", "status.phase"), "Bound");
	struct object *pvc = fx_get(&fx, "PersistentVolumeClaim", "default", "www-web-6");
	ck_assert_str_eq(jlabel(object_json(pvc), "tier"), "web");
	ck_assert_str_eq(jlabel(object_json(pvc), "app"), "nginx");
	ck_assert_str_eq(jlabel(object_json(fx_get(&fx, "Pod", "default", "web-6")),
				"apps.kubernetes.io/pod-index"),
			 "6");
}
END_TEST

START_TEST(test_retention_when_scaled_delete)
{
	apply_web(3, "  persistentVolumeClaimRetentionPolicy: {whenScaled: Delete}\n");
	ck_assert_str_eq(fx_claim(&fx, "www-web-2", "status.phase"), "Bound");
	ck_assert_ptr_null(
	    jget(object_json(fx_get(&fx, "PersistentVolumeClaim", "default", "www-web-0")),
		 "metadata.ownerReferences"));
	ck_assert_int_eq(patch_replicas("web", 1), 0);
	ck_assert_ptr_null(fx_get(&fx, "Pod", "default", "web-2"));
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolumeClaim", "default", "www-web-2"));
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolumeClaim", "default", "www-web-1"));
	ck_assert_str_eq(fx_claim(&fx, "www-web-0", "status.phase"), "Bound");
	/* deleting the set keeps the in-range claim (whenDeleted Retain) */
	ck_assert_int_eq(cluster_delete(fx.cl, cluster_kind(fx.cl, "StatefulSet"), "default", "web",
					"t", &fx.err),
			 0);
	ck_assert_ptr_null(fx_get(&fx, "Pod", "default", "web-0"));
	ck_assert_ptr_nonnull(fx_get(&fx, "PersistentVolumeClaim", "default", "www-web-0"));
}
END_TEST

START_TEST(test_retention_when_deleted_delete)
{
	apply_web(2, "  persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete}\n");
	struct object *pvc = fx_get(&fx, "PersistentVolumeClaim", "default", "www-web-1");
	json_t *ref = json_array_get(jget(object_json(pvc), "metadata.ownerReferences"), 0);
	ck_assert_str_eq(jstr(ref, "kind"), "StatefulSet");
	ck_assert_str_eq(jstr(ref, "name"), "web");
	/* scale-down keeps claims (whenScaled Retain) */
	ck_assert_int_eq(patch_replicas("web", 1), 0);
	ck_assert_ptr_nonnull(fx_get(&fx, "PersistentVolumeClaim", "default", "www-web-1"));
	ck_assert_int_eq(cluster_delete(fx.cl, cluster_kind(fx.cl, "StatefulSet"), "default", "web",
					"t", &fx.err),
			 0);
	ck_assert_ptr_null(fx_get(&fx, "Pod", "default", "web-0"));
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolumeClaim", "default", "www-web-0"));
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolumeClaim", "default", "www-web-1"));
}
END_TEST

START_TEST(test_delete_set_keeps_claims_and_service)
{
	fx_apply_ok(&fx, seed_mysql_yaml);
	ck_assert_int_eq(cluster_delete(fx.cl, cluster_kind(fx.cl, "StatefulSet"), "default",
					"mysql", "t", &fx.err),
			 0);
	ck_assert_ptr_null(fx_get(&fx, "Pod", "default", "mysql-0"));
	ck_assert_ptr_null(fx_get(&fx, "Pod", "default", "mysql-2"));
	ck_assert_str_eq(fx_claim(&fx, "mysql-volume-mysql-0", "status.phase"), "Bound");
	ck_assert_ptr_nonnull(fx_get(&fx, "Service", "default", "mysql-h"));
	/* applied again, it adopts the claims it left behind */
	char *pv = xstrdup(fx_claim(&fx, "mysql-volume-mysql-0", "spec.volumeName"));
	fx_apply_ok(&fx, seed_mysql_yaml);
	ck_assert_str_eq(pod_str("mysql-0", "status.phase"), "Running");
	ck_assert_str_eq(fx_claim(&fx, "mysql-volume-mysql-0", "spec.volumeName"), pv);
	free(pv);
}
END_TEST

START_TEST(test_parallel)
{
	apply_web(3, "  podManagementPolicy: Parallel\n");
	int c2 = fx_event_index(&fx, "create Pod web-2 in StatefulSet web successful", NULL);
	int s0 = fx_event_index(&fx, "Started", "pods/web-0 ");
	ck_assert_int_ge(c2, 0);
	ck_assert_int_lt(c2, s0); /* no waiting for web-0 */
	ck_assert_int_eq(sts_int("web", "status.readyReplicas"), 3);
	ck_assert_int_eq(patch_replicas("web", 0), 0);
	ck_assert_ptr_null(fx_get(&fx, "Pod", "default", "web-0"));
	ck_assert_int_lt(fx_event_index(&fx, "delete Pod web-2", NULL),
			 fx_event_index(&fx, "delete Pod web-0", NULL));
}
END_TEST

START_TEST(test_ordered_with_delay)
{
	fx_close(&fx);
	fx_prepare(&fx);
	fx.opts.pod_start_delay_ms = 100;
	ck_assert_int_eq(cluster_open(&fx.opts, &fx.cl, &fx.err), 0);
	apply_web(3, NULL);
	ck_assert_ptr_nonnull(fx_get(&fx, "Pod", "default", "web-0"));
	ck_assert_ptr_null(fx_get(&fx, "Pod", "default", "web-1"));
	int i;
	for (i = 0; i < 200 && sts_int("web", "status.readyReplicas") < 3; i++)
		usleep(10000);
	ck_assert_int_eq(sts_int("web", "status.readyReplicas"), 3);
	ck_assert_int_lt(fx_event_index(&fx, "Started", "pods/web-0 "),
			 fx_event_index(&fx, "create Pod web-1", NULL));
}
END_TEST

START_TEST(test_rolling_update)
{
	apply_web(3, NULL);
	struct object *set = fx_get(&fx, "StatefulSet", "default", "web");
	char *rev1 = xstrdup(jstr(object_json(set), "status.updateRevision"));
	char *uid0 = xstrdup(pod_str("web-0", "metadata.uid"));
	fx_apply_ok(&fx, "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: web\nspec:\n"
			 "  template:\n    spec:\n      containers:\n      - name: nginx\n"
			 "        image: nginx:1.26\n"
			 "        volumeMounts: [{name: www, mountPath: /usr/share/nginx/html}]\n");
	set = fx_get(&fx, "StatefulSet", "default", "web");
	ck_assert_str_ne(jstr(object_json(set), "status.updateRevision"), rev1);
	ck_assert_str_eq(jstr(object_json(set), "status.currentRevision"),
			 jstr(object_json(set), "status.updateRevision"));
	ck_assert_int_eq(sts_int("web", "status.updatedReplicas"), 3);
	ck_assert_int_eq(sts_int("web", "status.observedGeneration"), 2);
	ck_assert_str_ne(pod_str("web-0", "metadata.uid"), uid0);
	struct object *pod = fx_get(&fx, "Pod", "default", "web-0");
	ck_assert_str_eq(
	    jstr(json_array_get(jget(object_json(pod), "spec.containers"), 0), "image"),
	    "nginx:1.26");
	ck_assert_str_eq(jlabel(object_json(pod), "controller-revision-hash"),
			 jstr(object_json(set), "status.updateRevision"));
	ck_assert_int_lt(fx_event_index(&fx, "delete Pod web-2", NULL),
			 fx_event_index(&fx, "delete Pod web-1", NULL));
	ck_assert_int_lt(fx_event_index(&fx, "delete Pod web-1", NULL),
			 fx_event_index(&fx, "delete Pod web-0", NULL));
	free(rev1);
	free(uid0);
}
END_TEST

START_TEST(test_selector_mismatch)
{
	int rc = fx_apply(
	    &fx, "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: bad\nspec:\n"
		 "  selector:\n    matchLabels: {app: y}\n  template:\n    metadata:\n"
		 "      labels: {app: x}\n    spec:\n      containers: [{name: c, image: i}]\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg,
			     "apply:10:15: spec.template.metadata.labels: Invalid value: "
			     "map[string]string{\"app\":\"x\"}: `selector` does not match "
			     "template `labels`"),
		      "%s", fx.err.msg);
	rc = fx_apply(&fx, "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: bad\nspec:\n"
			   "  template:\n    metadata:\n      labels: {app: x}\n    spec:\n"
			   "      containers: [{name: c, image: i}]\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "spec.selector: Required value"), "%s", fx.err.msg);
	rc = fx_apply(
	    &fx, "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: bad\nspec:\n"
		 "  podManagementPolicy: Random\n"
		 "  selector:\n    matchLabels: {app: x}\n  template:\n    metadata:\n"
		 "      labels: {app: x}\n    spec:\n      containers: [{name: c, image: i}]\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg,
			     "spec.podManagementPolicy: Invalid value: \"Random\": must be "
			     "'OrderedReady' or 'Parallel'"),
		      "%s", fx.err.msg);
	rc = fx_apply(
	    &fx, "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: bad\nspec:\n"
		 "  persistentVolumeClaimRetentionPolicy: {whenDeleted: Keep}\n"
		 "  selector:\n    matchLabels: {app: x}\n  template:\n    metadata:\n"
		 "      labels: {app: x}\n    spec:\n      containers: [{name: c, image: i}]\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg,
			     "whenDeleted: Unsupported value: \"Keep\": supported values: "
			     "\"Retain\", \"Delete\""),
		      "%s", fx.err.msg);
	rc = fx_apply(
	    &fx, "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: bad\nspec:\n"
		 "  replicas: -1\n"
		 "  selector:\n    matchLabels: {app: x}\n  template:\n    metadata:\n"
		 "      labels: {app: x}\n    spec:\n      containers: [{name: c, image: i}]\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(
	    strstr(fx.err.msg,
		   "spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
	    "%s", fx.err.msg);
	ck_assert_ptr_null(fx_get(&fx, "StatefulSet", "default", "bad"));
}
END_TEST

START_TEST(test_immutable_claim_templates)
{
	apply_web(1, NULL);
	int rc =
	    fx_apply(&fx, "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: web\nspec:\n"
			  "  volumeClaimTemplates:\n  - metadata: {name: www}\n"
			  "    spec:\n      accessModes: [ReadWriteOnce]\n"
			  "      resources: {requests: {storage: 2Gi}}\n");
	ck_assert_int_eq(rc, -EPERM);
	ck_assert_msg(strstr(fx.err.msg,
			     "spec: Forbidden: updates to statefulset spec for fields other "
			     "than 'replicas', 'ordinals', 'template', 'updateStrategy', "
			     "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are "
			     "forbidden"),
		      "%s", fx.err.msg);
	ck_assert(fx_has_event(&fx, "FailedApply", "spec: Forbidden"));
	struct object *set = fx_get(&fx, "StatefulSet", "default", "web");
	ck_assert_str_eq(
	    jstr(json_array_get(jget(object_json(set), "spec.volumeClaimTemplates"), 0),
		 "spec.resources.requests.storage"),
	    "1Gi");
	/* re-applying the same manifest is fine */
	apply_web(1, NULL);
	/* a bad claim template is refused when the set is written */
	rc = fx_apply(
	    &fx,
	    "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: other\nspec:\n"
	    "  selector:\n    matchLabels: {app: o}\n  template:\n    metadata:\n"
	    "      labels: {app: o}\n    spec:\n      containers: [{name: c, image: i}]\n"
	    "  volumeClaimTemplates:\n  - metadata: {name: d}\n    spec:\n"
	    "      accessModes: [ReadWriteOnce]\n      resources: {requests: {storage: banana}}\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "spec.volumeClaimTemplates[0]"), "%s", fx.err.msg);
}
END_TEST

START_TEST(test_max_replicas)
{
	apply_web(1, NULL);
	ck_assert_int_eq(patch_replicas("web", CLUSTER_DEFAULT_MAX_REPLICAS + 1), -ENOSPC);
	ck_assert_msg(strstr(fx.err.msg, "must be no more than 10000"), "%s", fx.err.msg);
	ck_assert_int_eq(sts_int("web", "spec.replicas"), 1);
	ck_assert_int_eq(patch_replicas("web", -3), -EINVAL);
	ck_assert_int_eq(sts_int("web", "spec.replicas"), 1);
}
END_TEST

START_TEST(test_long_name_refused)
{
	/* 53 characters: Kubernetes accepts the set and then fails every pod creation (the
	 * revision label "<name>-<hash>" exceeds 63); claimfs refuses it at apply. */
	const char *name = "a-very-long-statefulset-name-that-goes-past-fifty-two";
	char yaml[1024];
	ck_assert_int_eq(strlen(name), 53);
	snprintf(yaml, sizeof(yaml),
		 "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: %s\nspec:\n"
		 "  selector:\n    matchLabels: {app: l}\n  template:\n    metadata:\n"
		 "      labels: {app: l}\n    spec:\n      containers: [{name: c, image: i}]\n",
		 name);
	ck_assert_int_eq(fx_apply(&fx, yaml), -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "apply:4:9: metadata.name: Invalid value") &&
			  strstr(fx.err.msg, "must be no more than 52 characters"),
		      "%s", fx.err.msg);
	ck_assert_ptr_null(fx_get(&fx, "StatefulSet", "default", name));
	/* 52 characters is the longest name whose pods can be created */
	snprintf(yaml, sizeof(yaml),
		 "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: %.52s\nspec:\n"
		 "  selector:\n    matchLabels: {app: l}\n  template:\n    metadata:\n"
		 "      labels: {app: l}\n    spec:\n      containers: [{name: c, image: i}]\n",
		 name);
	fx_apply_ok(&fx, yaml);
	char pod[64];
	snprintf(pod, sizeof(pod), "%.52s-0", name);
	ck_assert_ptr_nonnull(fx_get(&fx, "Pod", "default", pod));
}
END_TEST

START_TEST(test_not_ready_node_keeps_identity)
{
	fx_apply_ok(&fx, seed_mysql_yaml);
	const char *node = pod_str("mysql-0", "spec.nodeName");
	ck_assert_ptr_nonnull(node);
	char *n = xstrdup(node), *uid = xstrdup(pod_str("mysql-0", "metadata.uid"));
	ck_assert_int_eq(cluster_set_node_ready(fx.cl, n, 0, "t", &fx.err), 0);
	ck_assert_int_eq(sts_int("mysql", "status.readyReplicas"), 2);
	ck_assert_str_eq(pod_str("mysql-0", "metadata.uid"), uid);
	ck_assert_str_eq(pod_str("mysql-0", "spec.nodeName"), n);
	/* OrderedReady: scaling waits for the unready predecessor */
	ck_assert_int_eq(patch_replicas("mysql", 4), 0);
	ck_assert_ptr_null(fx_get(&fx, "Pod", "default", "mysql-3"));
	ck_assert_int_eq(cluster_set_node_ready(fx.cl, n, 1, "t", &fx.err), 0);
	ck_assert_str_eq(pod_str("mysql-3", "status.phase"), "Running");
	ck_assert_int_eq(sts_int("mysql", "status.readyReplicas"), 4);
	free(n);
	free(uid);
}
END_TEST

START_TEST(test_node_removed)
{
	fx_apply_ok(&fx, seed_mysql_yaml);
	char *uid = xstrdup(pod_str("mysql-0", "metadata.uid"));
	char *pv = xstrdup(fx_claim(&fx, "mysql-volume-mysql-0", "spec.volumeName"));
	ck_assert_str_eq(pod_str("mysql-0", "spec.nodeName"), "node-1");
	/* the pod garbage collector deletes pods of a node that is gone; the set replaces them */
	ck_assert_int_eq(
	    cluster_delete(fx.cl, cluster_kind(fx.cl, "Node"), NULL, "node-1", "t", &fx.err), 0);
	ck_assert_str_ne(pod_str("mysql-0", "metadata.uid"), uid);
	ck_assert_str_ne(pod_str("mysql-0", "spec.nodeName"), "node-1");
	ck_assert_str_eq(pod_str("mysql-0", "status.phase"), "Running");
	ck_assert_str_eq(fx_claim(&fx, "mysql-volume-mysql-0", "spec.volumeName"), pv);
	ck_assert_int_eq(sts_int("mysql", "status.readyReplicas"), 3);
	free(uid);
	free(pv);
}
END_TEST

START_TEST(test_other_namespace)
{
	ck_assert_int_eq(cluster_create_namespace(fx.cl, "shop", "mkdir", &fx.err), 0);
	fx_apply_ok(
	    &fx,
	    "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\n"
	    "  namespace: shop\nspec:\n  replicas: 2\n  serviceName: db\n"
	    "  selector:\n    matchLabels: {app: db}\n  template:\n    metadata:\n"
	    "      labels: {app: db}\n    spec:\n      containers: [{name: c, image: i}]\n"
	    "  volumeClaimTemplates:\n  - metadata: {name: data}\n    spec:\n"
	    "      accessModes: [ReadWriteOnce]\n      resources: {requests: {storage: 1Gi}}\n");
	ck_assert_str_eq(fx_str(&fx, "Pod", "shop", "db-1", "status.phase"), "Running");
	ck_assert_str_eq(fx_str(&fx, "PersistentVolumeClaim", "shop", "data-db-1", "status.phase"),
			 "Bound");
	ck_assert_ptr_null(fx_get(&fx, "Pod", "default", "db-0"));
	/* deleting the namespace takes everything in it, then the namespace */
	ck_assert_int_eq(
	    cluster_delete(fx.cl, cluster_kind(fx.cl, "Namespace"), NULL, "shop", "rmdir", &fx.err),
	    0);
	ck_assert_ptr_null(fx_get(&fx, "Pod", "shop", "db-0"));
	ck_assert_ptr_null(fx_get(&fx, "StatefulSet", "shop", "db"));
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolumeClaim", "shop", "data-db-0"));
	ck_assert_ptr_null(fx_get(&fx, "Namespace", NULL, "shop"));
}
END_TEST

/* The set's pods as the controller finds them (the workload index) against a scan of
 * every pod of the namespace: the same ordinals, the same objects, in ordinal order. */
static void check_set_pods(const char *set_name, size_t want)
{
	int64_t *ords;
	struct object **pods;
	size_t n, np, i, k = 0;
	cluster_lock(fx.cl);
	struct object *set = store_get(cluster_store(fx.cl), cluster_kind(fx.cl, "StatefulSet"),
				       "default", set_name);
	ck_assert_ptr_nonnull(set);
	n = statefulset_pods(fx.cl, set, &ords, &pods);
	struct object *const *all =
	    store_list(cluster_store(fx.cl), cluster_kind(fx.cl, "Pod"), "default", &np);
	for (i = 0; i < np; i++)
		if (pod_ordinal(all[i]) >= 0) /* the namespace holds one set */
			k++;
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(pod_ordinal(pods[i]), ords[i]);
		if (i)
			ck_assert_int_lt(ords[i - 1], ords[i]);
	}
	cluster_unlock(fx.cl);
	ck_assert_uint_eq(n, want);
	ck_assert_uint_eq(k, want);
	free(ords);
	free(pods);
}

START_TEST(test_index_follows_scaling)
{
	fx_apply_ok(&fx, seed_mysql_yaml);
	check_set_pods("mysql", 3);
	ck_assert_int_eq(patch_replicas("mysql", 7), 0);
	check_set_pods("mysql", 7);
	ck_assert_int_eq(patch_replicas("mysql", 2), 0);
	check_set_pods("mysql", 2);
	ck_assert_int_eq(patch_replicas("mysql", 5), 0);
	check_set_pods("mysql", 5);
	ck_assert_int_eq(sts_int("mysql", "status.readyReplicas"), 5);
	/* a pod that comes back takes the lowest free address of its node: its own */
	char *ip = xstrdup(pod_str("mysql-1", "status.podIP"));
	char *node = xstrdup(pod_str("mysql-1", "spec.nodeName"));
	ck_assert_int_eq(cluster_delete(fx.cl, cluster_kind(fx.cl, "Pod"), "default", "mysql-1",
					"rmdir", &fx.err),
			 0);
	ck_assert_str_eq(pod_str("mysql-1", "spec.nodeName"), node);
	ck_assert_str_eq(pod_str("mysql-1", "status.podIP"), ip);
	check_set_pods("mysql", 5);
	free(ip);
	free(node);
	/* addresses are unique on each node */
	for (int a = 0; a < 5; a++)
		for (int b = a + 1; b < 5; b++) {
			char pa[32], pb[32];
			snprintf(pa, sizeof(pa), "mysql-%d", a);
			snprintf(pb, sizeof(pb), "mysql-%d", b);
			ck_assert_str_ne(pod_str(pa, "status.podIP"), pod_str(pb, "status.podIP"));
		}
}
END_TEST

/* A pod whose controller reference carries the set's uid under another name still
 * belongs to the set when its name is "<set>-<ordinal>" (upstream parses the ordinal
 * with the set's name): out of range, the set deletes it. */
START_TEST(test_owner_under_another_name)
{
	char yaml[2048];
	apply_web(2, NULL);
	char *uid = xstrdup(fx_str(&fx, "StatefulSet", "default", "web", "metadata.uid"));
	snprintf(yaml, sizeof(yaml),
		 "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-7\n"
		 "  labels: {app: nginx}\n  ownerReferences:\n  - apiVersion: apps/v1\n"
		 "    kind: StatefulSet\n    name: other\n    uid: %s\n    controller: true\n"
		 "spec:\n  containers: [{name: c, image: i}]\n",
		 uid);
	fx_apply_ok(&fx, yaml);
	/* the pod's watch looks the owner up by name and misses; the set's next sync finds
	 * it */
	ck_assert_int_eq(patch_replicas("web", 3), 0);
	ck_assert_ptr_null(fx_get(&fx, "Pod", "default", "web-7"));
	ck_assert(fx_has_event(&fx, "delete Pod web-7 in StatefulSet web successful", NULL));
	ck_assert_int_eq(sts_int("web", "status.replicas"), 3);
	free(uid);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("statefulset");
	TCase *tc = tcase_create("statefulset");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_mysql_walkthrough);
	tcase_add_test(tc, test_pod_comes_back);
	tcase_add_test(tc, test_scale_up_and_down);
	tcase_add_test(tc, test_ordinals_start);
	tcase_add_test(tc, test_retention_when_scaled_delete);
	tcase_add_test(tc, test_retention_when_deleted_delete);
	tcase_add_test(tc, test_delete_set_keeps_claims_and_service);
	tcase_add_test(tc, test_parallel);
	tcase_add_test(tc, test_ordered_with_delay);
	tcase_add_test(tc, test_rolling_update);
	tcase_add_test(tc, test_selector_mismatch);
	tcase_add_test(tc, test_immutable_claim_templates);
	tcase_add_test(tc, test_max_replicas);
	tcase_add_test(tc, test_long_name_refused);
	tcase_add_test(tc, test_not_ready_node_keeps_identity);
	tcase_add_test(tc, test_node_removed);
	tcase_add_test(tc, test_other_namespace);
	tcase_add_test(tc, test_index_follows_scaling);
	tcase_add_test(tc, test_owner_under_another_name);
	suite_add_tcase(s, tc);
	return s;
}
