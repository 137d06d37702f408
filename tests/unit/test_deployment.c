/* test_deployment.c - Deployments and ReplicaSets: names and hashes, scaling events,
 * rolling updates, and the two strategies with a ReadWriteOnce claim: RollingUpdate
 * starts the new pod on another node first and hangs on Multi-Attach, Recreate does
 * not. */
#include <errno.h>
#include "unit.h"
#include "fixture.h"
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

static void apply_deploy(const char *name, int replicas, const char *image, const char *strategy,
			 const char *claim)
{
	char yaml[4096];
	snprintf(yaml, sizeof(yaml),
		 "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\nspec:\n"
		 "  replicas: %d\n%s%s%s"
		 "  selector:\n    matchLabels: {app: %s}\n"
		 "  template:\n    metadata:\n      labels: {app: %s}\n    spec:\n"
		 "      containers:\n      - name: app\n        image: %s\n%s"
		 "%s%s%s",
		 name, replicas, strategy ? "  strategy:\n    type: " : "",
		 strategy ? strategy : "", strategy ? "\n" : "", name, name, image,
		 claim ? "        volumeMounts: [{name: data, mountPath: /data}]\n" : "",
		 claim ? "      volumes:\n      - name: data\n        persistentVolumeClaim:\n"
			 "          claimName: "
		       : "",
		 claim ? claim : "", claim ? "\n" : "");
	fx_apply_ok(&fx, yaml);
}

/* The ReplicaSets and pods of a deployment, by walking the store. */
static size_t list_owned(const char *kind, const char *prefix, struct object **out, size_t max)
{
	size_t n, i, k = 0;
	cluster_lock(fx.cl);
	struct object *const *v =
	    store_list(cluster_store(fx.cl), cluster_kind(fx.cl, kind), "default", &n);
	for (i = 0; i < n && k < max; i++)
		if (strncmp(v[i]->name, prefix, strlen(prefix)) == 0)
			out[k++] = v[i];
	cluster_unlock(fx.cl);
	return k;
}

static int64_t obj_int(const char *kind, const char *name, const char *path)
{
	struct object *o = fx_get(&fx, kind, "default", name);
	int64_t v = -1;
	if (o)
		jint(object_json(o), path, &v);
	return v;
}

static int is_safe(const char *s, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (!s[i] || !strchr("bcdfghjklmnpqrstvwxz2456789", s[i]))
			return 0;
	return 1;
}

START_TEST(test_names_and_hash)
{
	struct object *rs[4], *pods[8];
	char msg[256];
	apply_deploy("web", 2, "nginx:1.25", NULL, NULL);
	ck_assert_int_eq(list_owned("ReplicaSet", "web-", rs, 4), 1);
	const char *rsname = rs[0]->name;
	ck_assert_int_eq(strlen(rsname), 4 + 10);
	ck_assert(is_safe(rsname + 4, 10));
	ck_assert_str_eq(jlabel(object_json(rs[0]), "pod-template-hash"), rsname + 4);
	ck_assert_str_eq(jannotation(object_json(rs[0]), "deployment.kubernetes.io/revision"), "1");
	ck_assert_str_eq(
	    jstr(jget(object_json(rs[0]), "spec.selector.matchLabels"), "pod-template-hash"),
	    rsname + 4);
	ck_assert_int_eq(list_owned("Pod", rsname, pods, 8), 2);
	size_t i;
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(strlen(pods[i]->name), strlen(rsname) + 6);
		ck_assert_int_eq(pods[i]->name[strlen(rsname)], '-');
		ck_assert(is_safe(pods[i]->name + strlen(rsname) + 1, 5));
		ck_assert_str_eq(jlabel(object_json(pods[i]), "pod-template-hash"), rsname + 4);
		ck_assert_str_eq(jstr_or(object_json(pods[i]), "status.phase", ""), "Running");
		snprintf(msg, sizeof(msg), "Created pod: %s", pods[i]->name);
		ck_assert(fx_has_event(&fx, "SuccessfulCreate", msg));
	}
	ck_assert_str_ne(pods[0]->name, pods[1]->name);
	snprintf(msg, sizeof(msg), "Scaled up replica set %s from 0 to 2", rsname);
	ck_assert(fx_has_event(&fx, "ScalingReplicaSet", msg));
	ck_assert_int_eq(obj_int("Deployment", "web", "status.replicas"), 2);
	ck_assert_int_eq(obj_int("Deployment", "web", "status.readyReplicas"), 2);
	ck_assert_int_eq(obj_int("Deployment", "web", "status.availableReplicas"), 2);
	ck_assert_int_eq(obj_int("Deployment", "web", "status.updatedReplicas"), 2);
	ck_assert_int_eq(obj_int("ReplicaSet", rsname, "status.readyReplicas"), 2);
	struct object *d = fx_get(&fx, "Deployment", "default", "web");
	ck_assert_str_eq(jstr(object_json(d), "spec.strategy.rollingUpdate.maxSurge"), "25%");
	ck_assert_str_eq(jannotation(object_json(d), "deployment.kubernetes.io/revision"), "1");

	/* scaling */
	json_t *p = json_pack("{s:{s:i}}", "spec", "replicas", 3);
	ck_assert_int_eq(cluster_patch(fx.cl, cluster_kind(fx.cl, "Deployment"), "default", "web",
				       p, "replicas", &fx.err),
			 0);
	json_decref(p);
	snprintf(msg, sizeof(msg), "Scaled up replica set %s from 2 to 3", rsname);
	ck_assert(fx_has_event(&fx, "ScalingReplicaSet", msg));
	ck_assert_int_eq(obj_int("Deployment", "web", "status.readyReplicas"), 3);
	p = json_pack("{s:{s:i}}", "spec", "replicas", 1);
	ck_assert_int_eq(cluster_patch(fx.cl, cluster_kind(fx.cl, "Deployment"), "default", "web",
				       p, "replicas", &fx.err),
			 0);
	json_decref(p);
	ck_assert_int_eq(list_owned("Pod", "web-", pods, 8), 1);
	ck_assert(fx_has_event(&fx, "SuccessfulDelete", "Deleted pod: web-"));
	/* deleting the Deployment deletes its ReplicaSet and pods */
	ck_assert_int_eq(cluster_delete(fx.cl, cluster_kind(fx.cl, "Deployment"), "default", "web",
					"t", &fx.err),
			 0);
	ck_assert_int_eq(list_owned("ReplicaSet", "web-", rs, 4), 0);
	ck_assert_int_eq(list_owned("Pod", "web-", pods, 8), 0);
}
END_TEST

START_TEST(test_rolling_update_completes)
{
	struct object *rs[4], *pods[8];
	apply_deploy("api", 2, "api:1", NULL, NULL);
	ck_assert_int_eq(list_owned("ReplicaSet", "api-", rs, 4), 1);
	char *old = xstrdup(rs[0]->name);
	apply_deploy("api", 2, "api:2", NULL, NULL);
	ck_assert_int_eq(list_owned("ReplicaSet", "api-", rs, 4), 2);
	ck_assert_int_eq(obj_int("ReplicaSet", old, "spec.replicas"), 0);
	size_t n = list_owned("Pod", "api-", pods, 8), i;
	ck_assert_int_eq(n, 2);
	for (i = 0; i < n; i++) {
		ck_assert_int_ne(strncmp(pods[i]->name, old, strlen(old)), 0);
		ck_assert_str_eq(jstr_or(object_json(pods[i]), "status.phase", ""), "Running");
	}
	ck_assert_int_eq(obj_int("Deployment", "api", "status.updatedReplicas"), 2);
	ck_assert_int_eq(obj_int("Deployment", "api", "status.availableReplicas"), 2);
	struct object *d = fx_get(&fx, "Deployment", "default", "api");
	ck_assert_str_eq(jannotation(object_json(d), "deployment.kubernetes.io/revision"), "2");
	ck_assert(fx_has_event(&fx, "ScalingReplicaSet", "Scaled down replica set api-"));
	free(old);
}
END_TEST

START_TEST(test_rolling_update_multi_attach)
{
	struct object *rs[4], *pods[8];
	char msg[512];
	fx_apply_ok(&fx,
		    "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\nspec:\n"
		    "  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n");
	apply_deploy("db", 1, "postgres:15", NULL, "data");
	ck_assert_int_eq(list_owned("Pod", "db-", pods, 8), 1);
	char *oldpod = xstrdup(pods[0]->name);
	ck_assert_str_eq(jstr(object_json(pods[0]), "spec.nodeName"), "node-1");
	/* a new image: the new pod starts first, on the emptiest node */
	apply_deploy("db", 1, "postgres:16", NULL, "data");
	ck_assert_int_eq(list_owned("ReplicaSet", "db-", rs, 4), 2);
	ck_assert_int_eq(list_owned("Pod", "db-", pods, 8), 2);
	struct object *newpod = strcmp(pods[0]->name, oldpod) == 0 ? pods[1] : pods[0];
	ck_assert_str_eq(jstr(object_json(newpod), "spec.nodeName"), "node-2");
	ck_assert_str_eq(jstr(object_json(newpod), "status.phase"), "Pending");
	const char *pv = fx_str(&fx, "PersistentVolumeClaim", "default", "data", "spec.volumeName");
	snprintf(msg, sizeof(msg),
		 "Multi-Attach error for volume \"%s\" Volume is already used by pod(s) %s", pv,
		 oldpod);
	ck_assert_msg(fx_has_event(&fx, "FailedAttachVolume", msg), "missing %s", msg);
	/* the rollout hangs: the old pod stays, as on a real cluster */
	ck_assert_ptr_nonnull(fx_get(&fx, "Pod", "default", oldpod));
	ck_assert_int_eq(obj_int("Deployment", "db", "status.updatedReplicas"), 1);
	ck_assert_int_eq(obj_int("Deployment", "db", "status.availableReplicas"), 1);
	ck_assert_int_eq(obj_int("Deployment", "db", "status.replicas"), 2);
	free(oldpod);
}
END_TEST

START_TEST(test_recreate_no_multi_attach)
{
	struct object *pods[8];
	fx_apply_ok(&fx,
		    "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\nspec:\n"
		    "  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n");
	apply_deploy("db", 1, "postgres:15", "Recreate", "data");
	ck_assert_int_eq(list_owned("Pod", "db-", pods, 8), 1);
	char *oldpod = xstrdup(pods[0]->name);
	char oldrs[64];
	snprintf(oldrs, sizeof(oldrs), "%.*s", (int)(strlen(oldpod) - 6), oldpod);
	apply_deploy("db", 1, "postgres:16", "Recreate", "data");
	ck_assert_int_eq(list_owned("Pod", "db-", pods, 8), 1);
	ck_assert_str_ne(pods[0]->name, oldpod);
	ck_assert_str_eq(jstr(object_json(pods[0]), "status.phase"), "Running");
	ck_assert(!fx_has_event(&fx, "FailedAttachVolume", NULL));
	char down[128];
	snprintf(down, sizeof(down), "Scaled down replica set %s from 1 to 0", oldrs);
	int d = fx_event_index(&fx, down, NULL),
	    u = fx_event_index(&fx, "Scaled up replica set db-", "from 0 to 1");
	ck_assert_int_ge(d, 0);
	/* the second "Scaled up" is the new ReplicaSet's, after the old one went down */
	struct strbuf sb = STRBUF_INIT;
	char newrs[64];
	snprintf(newrs, sizeof(newrs), "%.*s", (int)(strlen(pods[0]->name) - 6), pods[0]->name);
	snprintf(down, sizeof(down), "Scaled up replica set %s from 0 to 1", newrs);
	u = fx_event_index(&fx, down, NULL);
	ck_assert_int_gt(u, d);
	sb_release(&sb);
	ck_assert_int_eq(obj_int("Deployment", "db", "status.updatedReplicas"), 1);
	ck_assert_int_eq(obj_int("Deployment", "db", "status.availableReplicas"), 1);
	free(oldpod);
}
END_TEST

START_TEST(test_deployment_admission)
{
	int rc =
	    fx_apply(&fx, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bad\nspec:\n"
			  "  selector:\n    matchLabels: {app: a}\n  template:\n    metadata:\n"
			  "      labels: {app: b, tier: c}\n    spec:\n"
			  "      containers: [{name: c, image: i}]\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg,
			     "spec.template.metadata.labels: Invalid value: "
			     "map[string]string{\"app\":\"b\", \"tier\":\"c\"}: `selector` does "
			     "not match template `labels`"),
		      "%s", fx.err.msg);
	rc = fx_apply(
	    &fx, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bad\nspec:\n"
		 "  strategy: {type: Recreate, rollingUpdate: {maxSurge: 1}}\n"
		 "  selector:\n    matchLabels: {app: a}\n  template:\n    metadata:\n"
		 "      labels: {app: a}\n    spec:\n      containers: [{name: c, image: i}]\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "spec.strategy.rollingUpdate: Forbidden"), "%s",
		      fx.err.msg);
	rc = fx_apply(
	    &fx, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bad\nspec:\n"
		 "  replicas: 10001\n"
		 "  selector:\n    matchLabels: {app: a}\n  template:\n    metadata:\n"
		 "      labels: {app: a}\n    spec:\n      containers: [{name: c, image: i}]\n");
	ck_assert_int_eq(rc, -ENOSPC);
	ck_assert_ptr_null(fx_get(&fx, "Deployment", "default", "bad"));
	/* the selector is immutable */
	apply_deploy("ok", 1, "i", NULL, NULL);
	rc = fx_apply(&fx,
		      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ok\nspec:\n"
		      "  selector:\n    matchLabels: {app: ok, x: z}\n  template:\n    metadata:\n"
		      "      labels: {app: ok, x: z}\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "field is immutable"), "%s", fx.err.msg);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("deployment");
	TCase *tc = tcase_create("deployment");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_names_and_hash);
	tcase_add_test(tc, test_rolling_update_completes);
	tcase_add_test(tc, test_rolling_update_multi_attach);
	tcase_add_test(tc, test_recreate_no_multi_attach);
	tcase_add_test(tc, test_deployment_admission);
	suite_add_tcase(s, tc);
	return s;
}
