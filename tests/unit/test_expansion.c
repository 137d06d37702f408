/* test_expansion.c - volume expansion (reference 1.9) through the same merge patch the
 * claim's writable storage file sends: growth of a bound claim whose class allows it
 * (the PV grows, then status.capacity; Resizing and VolumeResizeSuccessful, or the
 * filesystem pair when a pod uses it), the pool check at admission (ENOSPC naming the
 * pool), shrinking, classes that disallow it, unbound claims, and growth by apply. */
#include <errno.h>
#include "unit.h"
#include "fixture.h"

static struct fixture fx;

static void setup(void)
{
	fx_open(&fx);
}

static void teardown(void)
{
	fx_close(&fx);
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

START_TEST(test_grow_bound_claim)
{
	fx_apply_claim(&fx, "data", "1Gi", NULL, NULL);
	char *pv = xstrdup(fx_claim(&fx, "data", "spec.volumeName"));
	ck_assert_int_eq(write_storage("data", "2Gi"), 0);
	ck_assert_str_eq(fx_claim(&fx, "data", "spec.resources.requests.storage"), "2Gi");
	ck_assert_str_eq(fx_pv(&fx, pv, "spec.capacity.storage"), "2Gi");
	ck_assert_str_eq(fx_claim(&fx, "data", "status.capacity.storage"), "2Gi");
	ck_assert_str_eq(fx_claim(&fx, "data", "spec.volumeName"), pv); /* no new volume */
	ck_assert_int_eq(fx_allocated(&fx, "standard"), 2LL << 30);
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
	ck_assert_str_eq(fx_claim(&fx, "data", "status.capacity.storage"), "2560Mi");
	free(pv);
}
END_TEST

START_TEST(test_grow_in_use)
{
	fx_apply_claim(&fx, "used", "1Gi", NULL, NULL);
	char *pv = xstrdup(fx_claim(&fx, "used", "spec.volumeName"));
	fx_apply_ok(&fx, "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n"
			 "  nodeName: node-3\n  containers: [{name: c, image: busybox}]\n"
			 "  volumes: [{name: d, persistentVolumeClaim: {claimName: used}}]\n");
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "app", "status.phase"), "Running");
	ck_assert_int_eq(write_storage("used", "3Gi"), 0);
	ck_assert_str_eq(fx_claim(&fx, "used", "status.capacity.storage"), "3Gi");
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
	fx_apply_claim(&fx, "big", "4Gi", "small", NULL);
	char *pv = xstrdup(fx_claim(&fx, "big", "spec.volumeName"));
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
	ck_assert_str_eq(fx_claim(&fx, "big", "spec.resources.requests.storage"), "4Gi");
	ck_assert_str_eq(fx_pv(&fx, pv, "spec.capacity.storage"), "4Gi");
	ck_assert_int_eq(fx_allocated(&fx, "small"), 4LL << 30);
	/* up to the pool's size is fine */
	ck_assert_int_eq(write_storage("big", "5Gi"), 0);
	ck_assert_str_eq(fx_claim(&fx, "big", "status.capacity.storage"), "5Gi");
	ck_assert_int_eq(fx_allocated(&fx, "small"), 5LL << 30);
	free(pv);
}
END_TEST

START_TEST(test_shrink_refused)
{
	fx_apply_claim(&fx, "s", "2Gi", NULL, NULL);
	ck_assert_int_eq(write_storage("s", "1Gi"), -EPERM);
	ck_assert_msg(strstr(fx.err.msg,
			     "spec.resources.requests.storage: Forbidden: field can not "
			     "be less than previous value"),
		      "%s", fx.err.msg);
	ck_assert_str_eq(fx_claim(&fx, "s", "spec.resources.requests.storage"), "2Gi");
	/* the same size is no change at all */
	ck_assert_int_eq(write_storage("s", "2048Mi"), 0);
	ck_assert_str_eq(fx_claim(&fx, "s", "spec.resources.requests.storage"), "2Gi");
}
END_TEST

START_TEST(test_class_must_allow_it)
{
	fx_apply_ok(&fx, "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n"
			 "  name: fixed\nprovisioner: claimfs.io/simulated\n");
	fx_apply_claim(&fx, "f", "1Gi", "fixed", NULL);
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
	ck_assert_str_eq(fx_claim(&fx, "f", "status.capacity.storage"), "2Gi");
	/* a claim of no class cannot grow */
	fx_apply_ok(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: bare\n"
			 "spec:\n  capacity: {storage: 1Gi}\n  accessModes: [ReadWriteOnce]\n"
			 "  storageClassName: \"\"\n  hostPath: {path: /bare}\n");
	fx_apply_claim(&fx, "bare", "1Gi", "", NULL);
	ck_assert_int_eq(write_storage("bare", "2Gi"), -EPERM);
}
END_TEST

START_TEST(test_unbound_refused)
{
	fx_apply_ok(&fx, "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n"
			 "  name: manual\nprovisioner: kubernetes.io/no-provisioner\n"
			 "allowVolumeExpansion: true\n");
	fx_apply_claim(&fx, "p", "1Gi", "manual", NULL);
	ck_assert_str_eq(fx_claim(&fx, "p", "status.phase"), "Pending");
	ck_assert_int_eq(write_storage("p", "2Gi"), -EPERM);
	ck_assert_msg(strstr(fx.err.msg, "persistentvolumeclaims \"p\" is forbidden: Only bound "
					 "persistent volume claims can be expanded"),
		      "%s", fx.err.msg);
	ck_assert_int_eq(write_storage("nope", "2Gi"), -ENOENT);
}
END_TEST

START_TEST(test_grow_by_apply_and_block)
{
	fx_apply_claim(&fx, "a", "1Gi", NULL, NULL);
	fx_apply_claim(&fx, "a", "4Gi", NULL, NULL);
	ck_assert_str_eq(fx_claim(&fx, "a", "status.capacity.storage"), "4Gi");
	ck_assert_str_eq(fx_pv(&fx, fx_claim(&fx, "a", "spec.volumeName"), "spec.capacity.storage"),
			 "4Gi");
	/* a raw block volume in use needs no filesystem resize */
	fx_apply_claim(&fx, "raw", "1Gi", NULL, "  volumeMode: Block\n");
	fx_apply_ok(&fx, "apiVersion: v1\nkind: Pod\nmetadata: {name: db}\nspec:\n"
			 "  containers: [{name: c, image: busybox}]\n"
			 "  volumes: [{name: d, persistentVolumeClaim: {claimName: raw}}]\n");
	ck_assert_int_eq(write_storage("raw", "2Gi"), 0);
	ck_assert_str_eq(fx_claim(&fx, "raw", "status.capacity.storage"), "2Gi");
	ck_assert(fx_has_event(&fx, "VolumeResizeSuccessful", "persistentvolumeclaims/raw "));
	ck_assert(!fx_has_event(&fx, "FileSystemResizeRequired", NULL));
	ck_assert_int_eq(fx_allocated(&fx, "standard"), 6LL << 30);
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
