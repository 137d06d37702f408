/* test_storageclass.c - the StorageClass kind (reference 1.6, 1.8): defaults, validation
 * messages, the fields that may not change (with Kubernetes' texts) and the one that
 * may, the default class (exact "true", beta key, newest wins), and the simulated pool
 * each class describes (parameters.capacity, default 100Gi). */
#include <errno.h>
#include "unit.h"
#include "fixture.h"
#include "claimfs/quantity.h"

static struct fixture fx;

static void setup(void)
{
	fx_open(&fx);
}

static void teardown(void)
{
	fx_close(&fx);
}

static int apply_class(const char *name, const char *body)
{
	char y[2048];
	snprintf(y, sizeof(y),
		 "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: %s\n%s",
		 name, body);
	return fx_apply(&fx, y);
}

static const char *sc(const char *name, const char *path)
{
	return fx_str(&fx, "StorageClass", NULL, name, path);
}

static void pool(const char *name, int64_t *cap, int64_t *alloc)
{
	struct quantity c, a;
	cluster_lock(fx.cl);
	struct object *o =
	    store_get(cluster_store(fx.cl), cluster_kind(fx.cl, "StorageClass"), NULL, name);
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(storageclass_pool(fx.cl, o, &c, &a), 0);
	cluster_unlock(fx.cl);
	*cap = quantity_value(&c);
	*alloc = quantity_value(&a);
}

static const char *default_name(void)
{
	cluster_lock(fx.cl);
	struct object *d = storage_default_class(fx.cl);
	const char *n = d ? d->name : NULL;
	cluster_unlock(fx.cl);
	return n;
}

START_TEST(test_defaults)
{
	ck_assert_int_eq(apply_class("plain", "provisioner: claimfs.io/simulated\n"), 0);
	ck_assert_str_eq(sc("plain", "reclaimPolicy"), "Delete");
	ck_assert_str_eq(sc("plain", "volumeBindingMode"), "Immediate");
	int64_t cap, alloc;
	pool("plain", &cap, &alloc);
	ck_assert_int_eq(cap, 100LL << 30);
	ck_assert_int_eq(alloc, 0);
	/* the built-in cluster's class */
	ck_assert_str_eq(default_name(), "standard");
	ck_assert_str_eq(sc("standard", "provisioner"), CLAIMFS_PROVISIONER);
	ck_assert(jbool(object_json(fx_get(&fx, "StorageClass", NULL, "standard")),
			"allowVolumeExpansion", 0));
}
END_TEST

START_TEST(test_validation)
{
	ck_assert_int_eq(apply_class("x", "reclaimPolicy: Delete\n"), -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "provisioner: Required value"), "%s", fx.err.msg);
	ck_assert_int_eq(apply_class("x", "provisioner: claimfs.io/simulated\nreclaimPolicy: "
					  "Recycle\n"),
			 -EINVAL);
	ck_assert_msg(strstr(fx.err.msg,
			     "apply:6:16: reclaimPolicy: Unsupported value: \"Recycle\": "
			     "supported values: \"Delete\", \"Retain\""),
		      "%s", fx.err.msg);
	ck_assert_int_eq(apply_class("x", "provisioner: claimfs.io/simulated\n"
					  "volumeBindingMode: Later\n"),
			 -EINVAL);
	ck_assert_msg(strstr(fx.err.msg,
			     "volumeBindingMode: Unsupported value: \"Later\": supported "
			     "values: \"Immediate\", \"WaitForFirstConsumer\""),
		      "%s", fx.err.msg);
	ck_assert_int_eq(apply_class("x", "provisioner: claimfs.io/simulated\n"
					  "parameters: {capacity: lots}\n"),
			 -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "parameters.capacity: Invalid value: \"lots\": quantities "
					 "must match the regular expression"),
		      "%s", fx.err.msg);
	ck_assert_int_eq(apply_class("x", "provisioner: claimfs.io/simulated\n"
					  "parameters: {capacity: -1Gi}\n"),
			 -EINVAL);
	ck_assert_int_eq(apply_class("x", "provisioner: claimfs.io/simulated\n"
					  "parameters: {replicas: 3}\n"),
			 -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "parameters[replicas]: Invalid value: must be a string"),
		      "%s", fx.err.msg);
	ck_assert_int_eq(apply_class("x", "provisioner: claimfs.io/simulated\n"
					  "allowVolumeExpansion: sometimes\n"),
			 -EINVAL);
	ck_assert_int_eq(apply_class("x", "provisioner: \"not a name!\"\n"), -EINVAL);
	ck_assert_ptr_null(fx_get(&fx, "StorageClass", NULL, "x"));
}
END_TEST

START_TEST(test_immutable_fields)
{
	ck_assert_int_eq(apply_class("x", "provisioner: claimfs.io/simulated\n"
					  "parameters: {capacity: 10Gi}\n"),
			 0);
	ck_assert_int_eq(apply_class("x", "provisioner: example.com/other\n"
					  "parameters: {capacity: 10Gi}\n"),
			 -EPERM);
	ck_assert_msg(strstr(fx.err.msg,
			     "The StorageClass \"x\" is invalid: provisioner: Forbidden: "
			     "updates to provisioner are forbidden."),
		      "%s", fx.err.msg);
	ck_assert_int_eq(apply_class("x", "provisioner: claimfs.io/simulated\n"
					  "parameters: {capacity: 20Gi}\n"),
			 -EPERM);
	ck_assert_msg(strstr(fx.err.msg,
			     "The StorageClass \"x\" is invalid: parameters: Forbidden: "
			     "updates to parameters are forbidden."),
		      "%s", fx.err.msg);
	ck_assert_int_eq(apply_class("x", "provisioner: claimfs.io/simulated\n"
					  "reclaimPolicy: Retain\n"),
			 -EPERM);
	ck_assert_msg(strstr(fx.err.msg, "The StorageClass \"x\" is invalid: reclaimPolicy: "
					 "Forbidden: updates to reclaimPolicy are forbidden."),
		      "%s", fx.err.msg);
	ck_assert_int_eq(apply_class("x", "provisioner: claimfs.io/simulated\n"
					  "volumeBindingMode: WaitForFirstConsumer\n"),
			 -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "volumeBindingMode: Invalid value: "
					 "\"WaitForFirstConsumer\": field is immutable"),
		      "%s", fx.err.msg);
	/* allowVolumeExpansion and metadata may change */
	ck_assert_int_eq(apply_class("x", "  labels: {tier: gold}\n"
					  "provisioner: claimfs.io/simulated\n"
					  "allowVolumeExpansion: true\n"),
			 0);
	ck_assert(
	    jbool(object_json(fx_get(&fx, "StorageClass", NULL, "x")), "allowVolumeExpansion", 0));
	ck_assert_str_eq(sc("x", "parameters.capacity"), "10Gi");
	int64_t cap, alloc;
	pool("x", &cap, &alloc);
	ck_assert_int_eq(cap, 10LL << 30);
}
END_TEST

START_TEST(test_default_class_rules)
{
	/* only the exact value "true" counts */
	ck_assert_int_eq(apply_class("cased", "  annotations: {storageclass.kubernetes.io/"
					      "is-default-class: \"True\"}\n"
					      "provisioner: claimfs.io/simulated\n"),
			 0);
	ck_assert_str_eq(default_name(), "standard");
	/* no default left */
	ck_assert_int_eq(apply_class("standard", "  annotations: {storageclass.kubernetes.io/"
						 "is-default-class: \"false\"}\n"
						 "provisioner: claimfs.io/simulated\n"),
			 0);
	ck_assert_ptr_null(default_name());
	/* the beta key counts */
	ck_assert_int_eq(apply_class("beta", "  annotations: {storageclass.beta.kubernetes.io/"
					     "is-default-class: \"true\"}\n"
					     "provisioner: claimfs.io/simulated\n"),
			 0);
	ck_assert_str_eq(default_name(), "beta");
	/* deleting the default leaves none */
	ck_assert_int_eq(
	    cluster_delete(fx.cl, cluster_kind(fx.cl, "StorageClass"), NULL, "beta", "rm", &fx.err),
	    0);
	ck_assert_ptr_null(default_name());
}
END_TEST

START_TEST(test_pool_per_class)
{
	ck_assert_int_eq(apply_class("gold", "provisioner: claimfs.io/simulated\n"
					     "parameters: {capacity: 1536Mi}\n"),
			 0);
	fx_apply_ok(&fx, "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: g}\n"
			 "spec: {storageClassName: gold, accessModes: [ReadWriteOnce],\n"
			 "  resources: {requests: {storage: 1Gi}}}\n");
	int64_t cap, alloc;
	pool("gold", &cap, &alloc);
	ck_assert_int_eq(cap, 1610612736LL);
	ck_assert_int_eq(alloc, 1LL << 30);
	pool("standard", &cap, &alloc);
	ck_assert_int_eq(alloc, 0);
	/* a static PV of the class does not come from the pool */
	fx_apply_ok(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: s}\nspec:\n"
			 "  capacity: {storage: 5Gi}\n  accessModes: [ReadWriteOnce]\n"
			 "  storageClassName: gold\n  hostPath: {path: /s}\n");
	pool("gold", &cap, &alloc);
	ck_assert_int_eq(alloc, 1LL << 30);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("storageclass");
	TCase *tc = tcase_create("storageclass");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_validation);
	tcase_add_test(tc, test_immutable_fields);
	tcase_add_test(tc, test_default_class_rules);
	tcase_add_test(tc, test_pool_per_class);
	suite_add_tcase(s, tc);
	return s;
}
