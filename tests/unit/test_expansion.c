/* test_expansion.c - volume expansion (reference 1.9) through the same merge patch the
 * claim's writable storage file sends: growth of a bound claim whose class allows it
 * (the PV grows, then status.capacity; Resizing and VolumeResizeSuccessful, or the
 * filesystem pair when a pod uses it), the pool check at admission (ENOSPC naming the
 * pool), shrinking, classes that disallow it, unbound claims, and growth by apply. */
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

static void apply_claim(const char *name, const char *size, const char *cls, const char *extra)
{
	char y[1024], c[128] = "";
	if (cls)
		snprintf(c, sizeof(c), "  storageClassName: \"%s\"\n", cls);
	snprintf(y, sizeof(y),
		 "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: %s\nspec:\n"
		 "  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: %s}}\n%s%s",
		 name, size, c, extra ? extra : "");
	fx_apply_ok(&fx, y);
}

static const char *claim(const char *name, const char *path)
{
	return fx_str(&fx, "PersistentVolumeClaim", "default", name, path);
}

static const char *vol(const char *name, const char *path)
{
	return fx_str(&fx, "PersistentVolume", NULL, name, path);
}

/* What writing the claim's storage file does. */
static int write_storage(const char *name, const char *size)
{
	json_t *p =
	    json_pack("{s:{s:{s:{s:s}}}}", "spec", "resources", "requests", "storage", size);
	int rc = cluster_patch(fx.cl, cluster_kind(fx.cl, "PersistentVolumeClaim"), "default", name,
			       p, "namespaces/default/persistentvolumeclaims/x/storage", &fx.err);
	json_decref(p);
	return rc;
}

static int64_t allocated(const char *cls)
{
	struct quantity alloc;
	cluster_lock(fx.cl);
	struct object *sc =
	    store_get(cluster_store(fx.cl), cluster_kind(fx.cl, "StorageClass"), NULL, cls);
	storageclass_pool(fx.cl, sc, NULL, &alloc);
	cluster_unlock(fx.cl);
	return quantity_value(&alloc);
}

START_TEST(test_grow_bound_claim)
{
	apply_claim("data", "1Gi", NULL, NULL);
	char *pv = xstrdup(claim("data", "spec.volumeName"));
	ck_assert_int_eq(write_storage("data", "2Gi"), 0);
	ck_assert_str_eq(claim("data", "spec.resources.requests.storage"), "2Gi");
	ck_assert_str_eq(vol(pv, "spec.capacity.storage"), "2Gi");
	ck_assert_str_eq(claim("data", "status.capacity.storage"), "2Gi");
	ck_assert_str_eq(claim("data", "spec.volumeName"), pv); /* no new volume */
	ck_assert_int_eq(allocated("standard"), 2LL << 30);
	char msg[256];
	snprintf(msg, sizeof(msg), "External resizer is resizing volume %s", pv);
	ck_assert(fx_has_event(&fx, "Resizing", msg));
	ck_assert(fx_has_event(&fx, "ExternalExpanding",
			       "waiting for an external controller to expand this PVC"));
	ck_assert(fx_has_event(&fx, "VolumeResizeSuccessful",
			       "persistentvolumeclaims/data Resize volume succeeded"));
	ck_assert(!fx_has_event(&fx, "FileSystemResizeRequired", NULL));
	/* growing by a fraction is stored canonically */
	ck_assert_int_eq(write_storage("data", "2.5Gi"), 0);
	ck_assert_str_eq(claim("data", "status.capacity.storage"), "2560Mi");
	free(pv);
}
END_TEST

START_TEST(test_grow_in_use)
{
	apply_claim("used", "1Gi", NULL, NULL);
	char *pv = xstrdup(claim("used", "spec.volumeName"));
	fx_apply_ok(&fx, "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n"
			 "  nodeName: node-3\n  containers: [{name: c, image: busybox}]\n"
			 "  volumes: [{name: d, persistentVolumeClaim: {claimName: used}}]\n");
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "app", "status.phase"), "Running");
	ck_assert_int_eq(write_storage("used", "3Gi"), 0);
	ck_assert_str_eq(claim("used", "status.capacity.storage"), "3Gi");
	ck_assert(fx_has_event(&fx, "FileSystemResizeRequired",
			       "Require file system resize of volume on node"));
	char msg[256];
	snprintf(msg, sizeof(msg),
		 "MountVolume.NodeExpandVolume succeeded for volume \"%s\" node-3", pv);
	ck_assert(fx_has_event(&fx, "FileSystemResizeSuccessful", msg));
	ck_assert(!fx_has_event(&fx, "VolumeResizeSuccessful", NULL));
	free(pv);
}
END_TEST

START_TEST(test_grow_beyond_pool)
{
	fx_apply_ok(&fx, "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n"
			 "  name: small\nprovisioner: claimfs.io/simulated\n"
			 "allowVolumeExpansion: true\nparameters: {capacity: 5Gi}\n");
	apply_claim("big", "4Gi", "small", NULL);
	char *pv = xstrdup(claim("big", "spec.volumeName"));
	ck_assert_int_eq(write_storage("big", "6Gi"), -ENOSPC);
	char msg[512];
	snprintf(msg, sizeof(msg),
		 "persistentvolumeclaims \"big\" is forbidden: not enough space in the pool of "
		 "StorageClass \"small\": expanding volume \"%s\" to 6Gi needs 2Gi (2147483648 "
		 "bytes) more, 1Gi (1073741824 bytes) of 5Gi are free",
		 pv);
	ck_assert_msg(strstr(fx.err.msg, msg), "%s", fx.err.msg);
	ck_assert(fx_has_event(&fx, "FailedApply", "not enough space in the pool"));
	/* nothing changed */
	ck_assert_str_eq(claim("big", "spec.resources.requests.storage"), "4Gi");
	ck_assert_str_eq(vol(pv, "spec.capacity.storage"), "4Gi");
	ck_assert_int_eq(allocated("small"), 4LL << 30);
	/* up to the pool's size is fine */
	ck_assert_int_eq(write_storage("big", "5Gi"), 0);
	ck_assert_str_eq(claim("big", "status.capacity.storage"), "5Gi");
	ck_assert_int_eq(allocated("small"), 5LL << 30);
	free(pv);
}
END_TEST

START_TEST(test_shrink_refused)
{
	apply_claim("s", "2Gi", NULL, NULL);
	ck_assert_int_eq(write_storage("s", "1Gi"), -EPERM);
	ck_assert_msg(strstr(fx.err.msg,
			     "spec.resources.requests.storage: Forbidden: field can not "
			     "be less than previous value"),
		      "%s", fx.err.msg);
	ck_assert_str_eq(claim("s", "spec.resources.requests.storage"), "2Gi");
	/* the same size is no change at all */
	ck_assert_int_eq(write_storage("s", "2048Mi"), 0);
	ck_assert_str_eq(claim("s", "spec.resources.requests.storage"), "2Gi");
}
END_TEST

START_TEST(test_class_must_allow_it)
{
	fx_apply_ok(&fx, "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n"
			 "  name: fixed\nprovisioner: claimfs.io/simulated\n");
	apply_claim("f", "1Gi", "fixed", NULL);
	ck_assert_int_eq(write_storage("f", "2Gi"), -EPERM);
	ck_assert_msg(strstr(fx.err.msg,
			     "persistentvolumeclaims \"f\" is forbidden: only "
			     "dynamically provisioned pvc can be resized and the "
			     "storageclass that provisions the pvc must support resize"),
		      "%s", fx.err.msg);
	/* allowVolumeExpansion may change on a class */
	fx_apply_ok(&fx, "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n"
			 "  name: fixed\nprovisioner: claimfs.io/simulated\n"
			 "allowVolumeExpansion: true\n");
	ck_assert_int_eq(write_storage("f", "2Gi"), 0);
	ck_assert_str_eq(claim("f", "status.capacity.storage"), "2Gi");
	/* a claim of no class cannot grow */
	fx_apply_ok(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: bare\n"
			 "spec:\n  capacity: {storage: 1Gi}\n  accessModes: [ReadWriteOnce]\n"
			 "  storageClassName: \"\"\n  hostPath: {path: /bare}\n");
	apply_claim("bare", "1Gi", "", NULL);
	ck_assert_int_eq(write_storage("bare", "2Gi"), -EPERM);
}
END_TEST

START_TEST(test_unbound_refused)
{
	fx_apply_ok(&fx, "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n"
			 "  name: manual\nprovisioner: kubernetes.io/no-provisioner\n"
			 "allowVolumeExpansion: true\n");
	apply_claim("p", "1Gi", "manual", NULL);
	ck_assert_str_eq(claim("p", "status.phase"), "Pending");
	ck_assert_int_eq(write_storage("p", "2Gi"), -EPERM);
	ck_assert_msg(strstr(fx.err.msg, "persistentvolumeclaims \"p\" is forbidden: Only bound "
					 "persistent volume claims can be expanded"),
		      "%s", fx.err.msg);
	ck_assert_int_eq(write_storage("nope", "2Gi"), -ENOENT);
}
END_TEST

START_TEST(test_grow_by_apply_and_block)
{
	apply_claim("a", "1Gi", NULL, NULL);
	apply_claim("a", "4Gi", NULL, NULL);
	ck_assert_str_eq(claim("a", "status.capacity.storage"), "4Gi");
	ck_assert_str_eq(vol(claim("a", "spec.volumeName"), "spec.capacity.storage"), "4Gi");
	/* a raw block volume in use needs no filesystem resize */
	apply_claim("raw", "1Gi", NULL, "  volumeMode: Block\n");
	fx_apply_ok(&fx, "apiVersion: v1\nkind: Pod\nmetadata: {name: db}\nspec:\n"
			 "  containers: [{name: c, image: busybox}]\n"
			 "  volumes: [{name: d, persistentVolumeClaim: {claimName: raw}}]\n");
	ck_assert_int_eq(write_storage("raw", "2Gi"), 0);
	ck_assert_str_eq(claim("raw", "status.capacity.storage"), "2Gi");
	ck_assert(fx_has_event(&fx, "VolumeResizeSuccessful", "persistentvolumeclaims/raw "));
	ck_assert(!fx_has_event(&fx, "FileSystemResizeRequired", NULL));
	ck_assert_int_eq(allocated("standard"), 6LL << 30);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("expansion");
	TCase *tc = tcase_create("expansion");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_grow_bound_claim);
	tcase_add_test(tc, test_grow_in_use);
	tcase_add_test(tc, test_grow_beyond_pool);
	tcase_add_test(tc, test_shrink_refused);
	tcase_add_test(tc, test_class_must_allow_it);
	tcase_add_test(tc, test_unbound_refused);
	tcase_add_test(tc, test_grow_by_apply_and_block);
	suite_add_tcase(s, tc);
	return s;
}
