/* test_reclaim.c - what happens to a volume when its claim goes (reference 1.7) and the
 * protection finalizers (1.10): Retain (Released, kept, capacity still held, a stale
 * claimRef until an admin removes it), Delete (the PV and its pool space go), Recycle
 * (scrubbed and Available again, refused while pods use the claim, Failed without a
 * recycler), an unknown policy (Failed), a claim Terminating while a scheduled pod uses
 * it, and a bound PV Terminating until it is released. */
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

static void apply_pod(const char *name, const char *claim_name, const char *extra)
{
	char y[2048];
	snprintf(y, sizeof(y),
		 "apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n%s"
		 "  containers:\n  - name: c\n    image: busybox\n"
		 "  volumes:\n  - name: data\n    persistentVolumeClaim:\n      claimName: %s\n",
		 name, extra ? extra : "", claim_name);
	fx_apply_ok(&fx, y);
}

START_TEST(test_retain_provisioned)
{
	fx_apply_ok(&fx, "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n"
			 "  name: keep\nprovisioner: claimfs.io/simulated\nreclaimPolicy: Retain\n"
			 "parameters: {capacity: 3Gi}\n");
	fx_apply_claim(&fx, "data", "2Gi", "keep", NULL);
	char *pv = xstrdup(fx_claim(&fx, "data", "spec.volumeName"));
	char *uid = xstrdup(fx_claim(&fx, "data", "metadata.uid"));
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolumeClaim", "default", "data"), 0);
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolumeClaim", "default", "data"));
	ck_assert_str_eq(fx_pv(&fx, pv, "status.phase"), "Released");
	ck_assert_str_eq(fx_pv(&fx, pv, "spec.claimRef.uid"), uid); /* stale */
	ck_assert_int_eq(fx_allocated(&fx, "keep"), 2LL << 30);	    /* still held */
	/* the Released volume never matches again; the pool has 1Gi left */
	fx_apply_claim(&fx, "data", "2Gi", "keep", NULL);
	ck_assert_str_eq(fx_claim(&fx, "data", "status.phase"), "Pending");
	ck_assert_str_eq(fx_pv(&fx, pv, "status.phase"), "Released");
	/* the admin removes the claimRef: Available, and the pending claim takes it */
	json_t *p = json_pack("{s:{s:n}}", "spec", "claimRef");
	ck_assert_int_eq(cluster_patch(fx.cl, cluster_kind(fx.cl, "PersistentVolume"), NULL, pv, p,
				       "t", &fx.err),
			 0);
	json_decref(p);
	ck_assert_str_eq(fx_claim(&fx, "data", "spec.volumeName"), pv);
	ck_assert_str_eq(fx_claim(&fx, "data", "status.phase"), "Bound");
	ck_assert_int_eq(fx_allocated(&fx, "keep"), 2LL << 30);
	/* deleting the Released PV object frees its pool space */
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolumeClaim", "default", "data"), 0);
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolume", NULL, pv), 0);
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolume", NULL, pv));
	ck_assert_int_eq(fx_allocated(&fx, "keep"), 0);
	free(pv);
	free(uid);
}
END_TEST

START_TEST(test_retain_static)
{
	fx_apply_ok(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: disk\n"
			 "spec:\n  capacity: {storage: 1Gi}\n  accessModes: [ReadWriteOnce]\n"
			 "  storageClassName: \"\"\n  hostPath: {path: /disk}\n");
	fx_apply_claim(&fx, "a", "1Gi", "", NULL);
	ck_assert_str_eq(fx_claim(&fx, "a", "spec.volumeName"), "disk");
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolumeClaim", "default", "a"), 0);
	ck_assert_str_eq(fx_pv(&fx, "disk", "status.phase"), "Released");
	fx_apply_claim(&fx, "b", "1Gi", "", NULL);
	ck_assert_str_eq(fx_claim(&fx, "b", "status.phase"), "Pending");
	json_t *p = json_pack("{s:{s:n}}", "spec", "claimRef");
	ck_assert_int_eq(cluster_patch(fx.cl, cluster_kind(fx.cl, "PersistentVolume"), NULL, "disk",
				       p, "t", &fx.err),
			 0);
	json_decref(p);
	ck_assert_str_eq(fx_claim(&fx, "b", "spec.volumeName"), "disk");
}
END_TEST

START_TEST(test_delete_policy)
{
	fx_apply_claim(&fx, "gone", "5Gi", NULL, NULL);
	char *pv = xstrdup(fx_claim(&fx, "gone", "spec.volumeName"));
	ck_assert_int_eq(fx_allocated(&fx, "standard"), 5LL << 30);
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolumeClaim", "default", "gone"), 0);
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolumeClaim", "default", "gone"));
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolume", NULL, pv));
	ck_assert_int_eq(fx_allocated(&fx, "standard"), 0);
	/* a static volume with Delete goes too (the simulated backend deletes it) */
	fx_apply_ok(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: scratch\n"
			 "spec:\n  capacity: {storage: 1Gi}\n  accessModes: [ReadWriteOnce]\n"
			 "  storageClassName: \"\"\n  persistentVolumeReclaimPolicy: Delete\n"
			 "  hostPath: {path: /tmp/scratch}\n");
	fx_apply_claim(&fx, "tmp", "1Gi", "", NULL);
	ck_assert_str_eq(fx_claim(&fx, "tmp", "spec.volumeName"), "scratch");
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolumeClaim", "default", "tmp"), 0);
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolume", NULL, "scratch"));
	free(pv);
}
END_TEST

START_TEST(test_recycle)
{
	fx_apply_ok(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: share\n"
			 "spec:\n  capacity: {storage: 1Gi}\n  accessModes: [ReadWriteOnce]\n"
			 "  storageClassName: \"\"\n  persistentVolumeReclaimPolicy: Recycle\n"
			 "  nfs: {server: nas, path: /share}\n");
	fx_apply_claim(&fx, "r", "1Gi", "", NULL);
	ck_assert_str_eq(fx_claim(&fx, "r", "spec.volumeName"), "share");
	/* a pod that is not scheduled does not keep the claim, but it blocks recycling */
	apply_pod("holder", "r", "  nodeSelector: {disk: none}\n");
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolumeClaim", "default", "r"), 0);
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolumeClaim", "default", "r"));
	ck_assert_str_eq(fx_pv(&fx, "share", "status.phase"), "Released");
	ck_assert(fx_has_event(&fx, "VolumeFailedRecycle",
			       "persistentvolumes/share Volume is used by pods: default/holder"));
	ck_assert_int_eq(fx_delete(&fx, "Pod", "default", "holder"), 0);
	/* the next resync recycles it */
	fx_apply_ok(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: share\n"
			 "  labels: {resync: \"1\"}\n");
	ck_assert(fx_has_event(&fx, "VolumeRecycled", "persistentvolumes/share Volume recycled"));
	ck_assert_str_eq(fx_pv(&fx, "share", "status.phase"), "Available");
	ck_assert_ptr_null(fx_pv(&fx, "share", "spec.claimRef.name"));
	fx_apply_claim(&fx, "again", "1Gi", "", NULL);
	ck_assert_str_eq(fx_claim(&fx, "again", "spec.volumeName"), "share");

	/* no recycler for this kind of volume */
	fx_apply_ok(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: block\n"
			 "spec:\n  capacity: {storage: 2Gi}\n  accessModes: [ReadWriteOnce]\n"
			 "  storageClassName: \"\"\n  persistentVolumeReclaimPolicy: Recycle\n"
			 "  csi: {driver: d, volumeHandle: h}\n");
	fx_apply_claim(&fx, "x", "2Gi", "", NULL);
	ck_assert_str_eq(fx_claim(&fx, "x", "spec.volumeName"), "block");
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolumeClaim", "default", "x"), 0);
	ck_assert_str_eq(fx_pv(&fx, "block", "status.phase"), "Failed");
	ck_assert_str_eq(fx_pv(&fx, "block", "status.message"),
			 "No recycler plugin found for the volume!");
	ck_assert(fx_has_event(&fx, "VolumeFailedRecycle",
			       "No recycler plugin found for the "
			       "volume!"));
}
END_TEST

START_TEST(test_unknown_policy)
{
	fx_apply_ok(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: odd\n"
			 "spec:\n  capacity: {storage: 1Gi}\n  accessModes: [ReadWriteOnce]\n"
			 "  storageClassName: \"\"\n  hostPath: {path: /odd}\n");
	fx_apply_claim(&fx, "o", "1Gi", "", NULL);
	ck_assert_str_eq(fx_claim(&fx, "o", "spec.volumeName"), "odd");
	/* admission refuses unknown policies; a state written by something else may not */
	cluster_lock(fx.cl);
	struct object *v =
	    store_get(cluster_store(fx.cl), cluster_kind(fx.cl, "PersistentVolume"), NULL, "odd");
	jset_str(object_json(v), "spec.persistentVolumeReclaimPolicy", "Shred");
	cluster_update(fx.cl, v);
	cluster_unlock(fx.cl);
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolumeClaim", "default", "o"), 0);
	ck_assert_str_eq(fx_pv(&fx, "odd", "status.phase"), "Failed");
	ck_assert_str_eq(fx_pv(&fx, "odd", "status.message"),
			 "Volume has unrecognized PersistentVolumeReclaimPolicy");
	ck_assert(
	    fx_has_event(&fx, "VolumeUnknownReclaimPolicy",
			 "Warning VolumeUnknownReclaimPolicy persistentvolumes/odd Volume has "
			 "unrecognized PersistentVolumeReclaimPolicy"));
}
END_TEST

START_TEST(test_claim_protection)
{
	fx_apply_claim(&fx, "busy", "1Gi", NULL, NULL);
	char *pv = xstrdup(fx_claim(&fx, "busy", "spec.volumeName"));
	ck_assert(
	    jhas_finalizer(object_json(fx_get(&fx, "PersistentVolumeClaim", "default", "busy")),
			   "kubernetes.io/pvc-protection"));
	apply_pod("user", "busy", NULL);
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "user", "status.phase"), "Running");
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolumeClaim", "default", "busy"), 0);
	/* Terminating while a scheduled pod uses it; still bound */
	ck_assert_ptr_nonnull(fx_claim(&fx, "busy", "metadata.deletionTimestamp"));
	ck_assert_str_eq(fx_claim(&fx, "busy", "status.phase"), "Bound");
	ck_assert_str_eq(fx_pv(&fx, pv, "status.phase"), "Bound");
	/* the pod goes: so do the claim and, by the Delete policy, its volume */
	ck_assert_int_eq(fx_delete(&fx, "Pod", "default", "user"), 0);
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolumeClaim", "default", "busy"));
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolume", NULL, pv));
	ck_assert_int_eq(fx_allocated(&fx, "standard"), 0);
	free(pv);
}
END_TEST

START_TEST(test_pv_protection)
{
	fx_apply_claim(&fx, "held", "1Gi", NULL, NULL);
	char *pv = xstrdup(fx_claim(&fx, "held", "spec.volumeName"));
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolume", NULL, pv), 0);
	/* a bound volume is Terminating until it is no longer Bound */
	ck_assert_ptr_nonnull(fx_pv(&fx, pv, "metadata.deletionTimestamp"));
	ck_assert_str_eq(fx_pv(&fx, pv, "status.phase"), "Bound");
	ck_assert_str_eq(fx_claim(&fx, "held", "status.phase"), "Bound");
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolumeClaim", "default", "held"), 0);
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolume", NULL, pv));
	ck_assert_int_eq(fx_allocated(&fx, "standard"), 0);
	/* an unbound volume goes at once */
	fx_apply_ok(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: free\n"
			 "spec:\n  capacity: {storage: 1Gi}\n  accessModes: [ReadWriteOnce]\n"
			 "  hostPath: {path: /free}\n");
	ck_assert(jhas_finalizer(object_json(fx_get(&fx, "PersistentVolume", NULL, "free")),
				 "kubernetes.io/pv-protection"));
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolume", NULL, "free"), 0);
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolume", NULL, "free"));
	free(pv);
}
END_TEST

START_TEST(test_namespace_deletion_releases_volumes)
{
	fx_apply_ok(&fx, "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n---\n"
			 "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: d\n"
			 "  namespace: team\nspec:\n  accessModes: [ReadWriteOnce]\n"
			 "  resources: {requests: {storage: 1Gi}}\n");
	ck_assert_int_eq(fx_allocated(&fx, "standard"), 1LL << 30);
	ck_assert_int_eq(fx_delete(&fx, "Namespace", NULL, "team"), 0);
	ck_assert_ptr_null(fx_get(&fx, "Namespace", NULL, "team"));
	ck_assert_int_eq(fx_allocated(&fx, "standard"), 0);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("reclaim");
	TCase *tc = tcase_create("reclaim");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_retain_provisioned);
	tcase_add_test(tc, test_retain_static);
	tcase_add_test(tc, test_delete_policy);
	tcase_add_test(tc, test_recycle);
	tcase_add_test(tc, test_unknown_policy);
	tcase_add_test(tc, test_claim_protection);
	tcase_add_test(tc, test_pv_protection);
	tcase_add_test(tc, test_namespace_deletion_releases_volumes);
	suite_add_tcase(s, tc);
	return s;
}
