/* test_binding.c - static binding through the cluster API (reference 1.1-1.5): class
 * matching ("" vs the default class, the beta annotation first), access-mode groups with
 * the fewest modes first, the smallest sufficient capacity compared numerically, the
 * volumeMode matrix, label selectors, pre-binding by spec.volumeName (VolumeMismatch,
 * FailedBinding) and by claimRef, late PVs, bind()'s annotations and status, Lost and
 * Misbound claims, claim and PV validation, immutable claims, and the kubernetes/examples
 * nfs and tensorflow manifests. */
#include <errno.h>
#include "unit.h"
#include "fixture.h"
#include "../../src/controllers/storage_internal.h"

static struct fixture fx;

/* A class without dynamic provisioning, for static binding. */
static const char manual_class[] = "apiVersion: storage.k8s.io/v1\nkind: StorageClass\n"
				   "metadata:\n  name: manual\n"
				   "provisioner: kubernetes.io/no-provisioner\n";

static void setup(void)
{
	fx_open(&fx);
	fx_apply_ok(&fx, manual_class);
}

static void teardown(void)
{
	fx_close(&fx);
}

/* A hostPath PV; cls NULL leaves storageClassName out; extra is more of spec (or of the
 * document when it starts without indentation). */
static void apply_pv(const char *name, const char *cap, const char *modes, const char *cls,
		     const char *extra)
{
	char y[4096], c[128] = "";
	if (cls)
		snprintf(c, sizeof(c), "  storageClassName: \"%s\"\n", cls);
	snprintf(
	    y, sizeof(y),
	    "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: %s\nspec:\n"
	    "  capacity: {storage: %s}\n  accessModes: [%s]\n%s  hostPath: {path: /srv/%s}\n%s",
	    name, cap, modes, c, name, extra ? extra : "");
	fx_apply_ok(&fx, y);
}

static void apply_claim(const char *name, const char *size, const char *modes, const char *cls,
			const char *extra)
{
	int rc = fx_try_claim(&fx, name, size, modes, cls, extra);
	ck_assert_msg(rc == 0, "claim %s: %s", name, fx.err.msg);
}

static void assert_bound(const char *c, const char *pv)
{
	ck_assert_str_eq(fx_claim(&fx, c, "status.phase"), "Bound");
	ck_assert_str_eq(fx_claim(&fx, c, "spec.volumeName"), pv);
	ck_assert_str_eq(fx_pv(&fx, pv, "status.phase"), "Bound");
	ck_assert_str_eq(fx_pv(&fx, pv, "spec.claimRef.name"), c);
}

static void assert_pending(const char *c)
{
	ck_assert_str_eq(fx_claim(&fx, c, "status.phase"), "Pending");
	ck_assert_ptr_null(fx_claim(&fx, c, "status.capacity.storage"));
	ck_assert_ptr_null(
	    jannotation(object_json(fx_get(&fx, "PersistentVolumeClaim", "default", c)),
			"pv.kubernetes.io/bind-completed"));
}

START_TEST(test_class_empty_vs_default)
{
	apply_pv("classless", "1Gi", "ReadWriteOnce", "", NULL);
	apply_pv("nofield", "1Gi", "ReadWriteOnce", NULL, NULL);
	ck_assert_str_eq(fx_pv(&fx, "classless", "status.phase"), "Available");
	/* "" binds only class-less volumes and is never given the default class */
	apply_claim("empty", "1Gi", "ReadWriteOnce", "", NULL);
	ck_assert_str_eq(fx_claim(&fx, "empty", "spec.storageClassName"), "");
	ck_assert_str_eq(fx_claim(&fx, "empty", "status.phase"), "Bound");
	const char *first = fx_claim(&fx, "empty", "spec.volumeName");
	ck_assert(strcmp(first, "classless") == 0 || strcmp(first, "nofield") == 0);
	/* no class at all: the default class is filled in and provisions */
	apply_claim("none", "1Gi", "ReadWriteOnce", NULL, NULL);
	ck_assert_str_eq(fx_claim(&fx, "none", "spec.storageClassName"), "standard");
	ck_assert_str_eq(fx_claim(&fx, "none", "status.phase"), "Bound");
	ck_assert_int_eq(strncmp(fx_claim(&fx, "none", "spec.volumeName"), "pvc-", 4), 0);
	/* the second class-less volume is still there for the next "" claim */
	apply_claim("empty2", "1Gi", "ReadWriteOnce", "", NULL);
	ck_assert_str_eq(fx_claim(&fx, "empty2", "status.phase"), "Bound");
	ck_assert_str_ne(fx_claim(&fx, "empty2", "spec.volumeName"), first);
	/* nothing left: a "" claim waits with FailedBinding */
	apply_claim("empty3", "1Gi", "ReadWriteOnce", "", NULL);
	assert_pending("empty3");
	ck_assert(fx_has_event(&fx, "FailedBinding",
			       "persistentvolumeclaims/empty3 no persistent volumes available for "
			       "this claim and no storage class is set"));
}
END_TEST

START_TEST(test_beta_annotation_first)
{
	apply_pv("annotated", "1Gi", "ReadWriteOnce", "other", NULL);
	fx_apply_ok(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: beta\n"
			 "  annotations: {volume.beta.kubernetes.io/storage-class: manual}\n"
			 "spec:\n  capacity: {storage: 1Gi}\n  accessModes: [ReadWriteOnce]\n"
			 "  storageClassName: other\n  hostPath: {path: /b}\n");
	/* the claim's beta annotation wins over its storageClassName too */
	apply_claim("c", "1Gi", "ReadWriteOnce", "other", NULL);
	assert_bound("c", "annotated");
	fx_apply_ok(&fx, "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: b\n"
			 "  annotations: {volume.beta.kubernetes.io/storage-class: manual}\n"
			 "spec:\n  accessModes: [ReadWriteOnce]\n  storageClassName: nothing\n"
			 "  resources: {requests: {storage: 1Gi}}\n");
	assert_bound("b", "beta");
}
END_TEST

START_TEST(test_fewest_modes_first)
{
	apply_pv("three", "1Gi", "ReadWriteOnce, ReadOnlyMany, ReadWriteMany", "manual", NULL);
	apply_pv("two", "5Gi", "ReadWriteOnce, ReadOnlyMany", "manual", NULL);
	apply_pv("one", "10Gi", "ReadWriteOnce", "manual", NULL);
	/* the RWO group is tried first even though its volume is the biggest */
	apply_claim("a", "1Gi", "ReadWriteOnce", "manual", NULL);
	assert_bound("a", "one");
	apply_claim("b", "1Gi", "ReadWriteOnce", "manual", NULL);
	assert_bound("b", "two");
	apply_claim("c", "1Gi", "ReadWriteOnce", "manual", NULL);
	assert_bound("c", "three");
	/* a mode no volume offers never binds */
	apply_pv("rwx", "1Gi", "ReadWriteMany", "manual", NULL);
	apply_claim("d", "1Gi", "ReadOnlyMany", "manual", NULL);
	assert_pending("d");
	apply_claim("e", "1Gi", "ReadWriteMany", "manual", NULL);
	assert_bound("e", "rwx");
	ck_assert_str_eq(json_string_value(json_array_get(
			     jget(object_json(fx_get(&fx, "PersistentVolumeClaim", "default", "e")),
				  "status.accessModes"),
			     0)),
			 "ReadWriteMany");
}
END_TEST

START_TEST(test_smallest_sufficient_capacity)
{
	apply_pv("ten", "10Gi", "ReadWriteOnce", "manual", NULL);
	apply_pv("two", "2Gi", "ReadWriteOnce", "manual", NULL);
	apply_pv("five", "5Gi", "ReadWriteOnce", "manual", NULL);
	apply_pv("decimal", "1G", "ReadWriteOnce", "manual", NULL);
	apply_claim("c3", "3Gi", "ReadWriteOnce", "manual", NULL);
	assert_bound("c3", "five");
	/* status.capacity is the volume's, not the request */
	ck_assert_str_eq(fx_claim(&fx, "c3", "status.capacity.storage"), "5Gi");
	/* 1G (10^9) is smaller than 1Gi (2^30): numeric comparison */
	apply_claim("c1", "1Gi", "ReadWriteOnce", "manual", NULL);
	assert_bound("c1", "two");
	apply_claim("small", "900M", "ReadWriteOnce", "manual", NULL);
	assert_bound("small", "decimal");
	apply_claim("big", "11Gi", "ReadWriteOnce", "manual", NULL);
	assert_pending("big");
	ck_assert(fx_has_event(&fx, "ProvisioningFailed",
			       "persistentvolumeclaims/big no volume plugin matched name: "
			       "kubernetes.io/no-provisioner"));
}
END_TEST

START_TEST(test_volume_mode_matrix)
{
	apply_pv("fs", "1Gi", "ReadWriteOnce", "manual", "  volumeMode: Filesystem\n");
	apply_pv("blk", "1Gi", "ReadWriteOnce", "manual", "  volumeMode: Block\n");
	ck_assert_str_eq(fx_pv(&fx, "fs", "spec.volumeMode"), "Filesystem");
	apply_claim("b", "1Gi", "ReadWriteOnce", "manual", "  volumeMode: Block\n");
	assert_bound("b", "blk");
	apply_claim("f", "1Gi", "ReadWriteOnce", "manual", NULL);
	ck_assert_str_eq(fx_claim(&fx, "f", "spec.volumeMode"), "Filesystem");
	assert_bound("f", "fs");
	/* Block claim, only a Filesystem volume left: no binding, and the reverse */
	apply_pv("fs2", "1Gi", "ReadWriteOnce", "manual", NULL);
	apply_claim("b2", "1Gi", "ReadWriteOnce", "manual", "  volumeMode: Block\n");
	assert_pending("b2");
	apply_pv("blk2", "1Gi", "ReadWriteOnce", "manual", "  volumeMode: Block\n");
	assert_bound("b2", "blk2");
	ck_assert_str_eq(fx_pv(&fx, "fs2", "status.phase"), "Available");
}
END_TEST

START_TEST(test_selector)
{
	apply_pv("fast", "1Gi", "ReadWriteOnce", "manual",
		 "---\napiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: slow\n"
		 "  labels: {speed: slow, zone: a}\nspec:\n  capacity: {storage: 1Gi}\n"
		 "  accessModes: [ReadWriteOnce]\n  storageClassName: manual\n"
		 "  hostPath: {path: /slow}\n");
	fx_apply_ok(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: labelled\n"
			 "  labels: {speed: fast, zone: b}\nspec:\n  capacity: {storage: 2Gi}\n"
			 "  accessModes: [ReadWriteOnce]\n  storageClassName: manual\n"
			 "  hostPath: {path: /l}\n");
	/* matchLabels: the smaller unlabelled volume does not match */
	apply_claim("ml", "1Gi", "ReadWriteOnce", "manual",
		    "  selector:\n    matchLabels: {speed: fast}\n");
	assert_bound("ml", "labelled");
	/* matchExpressions ANDed with matchLabels */
	apply_claim("me", "1Gi", "ReadWriteOnce", "manual",
		    "  selector:\n    matchLabels: {speed: slow}\n    matchExpressions:\n"
		    "    - {key: zone, operator: In, values: [a, c]}\n");
	assert_bound("me", "slow");
	apply_claim("none", "1Gi", "ReadWriteOnce", "manual",
		    "  selector:\n    matchExpressions:\n    - {key: speed, operator: Exists}\n");
	assert_pending("none");
	ck_assert_str_eq(fx_pv(&fx, "fast", "status.phase"), "Available");
	/* a bad operator is refused at admission */
	int rc =
	    fx_try_claim(&fx, "bad", "1Gi", "ReadWriteOnce", "manual",
			 "  selector:\n    matchExpressions:\n    - {key: a, operator: Near}\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "spec.selector.matchExpressions[0].operator: Invalid "
					 "value: \"Near\": not a valid selector operator"),
		      "%s", fx.err.msg);
}
END_TEST

START_TEST(test_prebound_by_volume_name)
{
	apply_pv("small", "1Gi", "ReadWriteOnce", "manual", NULL);
	apply_pv("nfsish", "5Gi", "ReadWriteMany", "manual", NULL);
	apply_pv("other", "5Gi", "ReadWriteOnce", "gold", NULL);
	apply_pv("block", "5Gi", "ReadWriteOnce", "manual", "  volumeMode: Block\n");
	apply_claim("tiny", "2Gi", "ReadWriteOnce", "manual", "  volumeName: small\n");
	assert_pending("tiny");
	ck_assert(
	    fx_has_event(&fx, "VolumeMismatch",
			 "Cannot bind to requested volume \"small\": requested PV is too small"));
	apply_claim("cls", "1Gi", "ReadWriteOnce", "manual", "  volumeName: other\n");
	ck_assert(
	    fx_has_event(&fx, "VolumeMismatch",
			 "Cannot bind to requested volume \"other\": storageClassName does not "
			 "match"));
	apply_claim("mode", "1Gi", "ReadWriteOnce", "manual", "  volumeName: block\n");
	ck_assert(
	    fx_has_event(&fx, "VolumeMismatch",
			 "Cannot bind to requested volume \"block\": incompatible volumeMode"));
	apply_claim("acc", "1Gi", "ReadWriteOnce", "manual", "  volumeName: nfsish\n");
	ck_assert(
	    fx_has_event(&fx, "VolumeMismatch",
			 "Cannot bind to requested volume \"nfsish\": incompatible accessMode"));
	assert_pending("acc");
	/* a fitting named volume binds even when a smaller one exists; the claim named it,
	 * so only the volume says bound-by-controller */
	apply_pv("smaller", "1Gi", "ReadWriteMany", "manual", NULL);
	apply_claim("named", "1Gi", "ReadWriteMany", "manual", "  volumeName: nfsish\n");
	assert_bound("named", "nfsish");
	struct object *c = fx_get(&fx, "PersistentVolumeClaim", "default", "named");
	ck_assert_ptr_null(jannotation(object_json(c), "pv.kubernetes.io/bound-by-controller"));
	ck_assert_str_eq(jannotation(object_json(c), "pv.kubernetes.io/bind-completed"), "yes");
	struct object *v = fx_get(&fx, "PersistentVolume", NULL, "nfsish");
	ck_assert_str_eq(jannotation(object_json(v), "pv.kubernetes.io/bound-by-controller"),
			 "yes");
	ck_assert_str_eq(jstr(object_json(v), "spec.claimRef.uid"), juid(object_json(c)));
	/* a volume bound elsewhere */
	apply_claim("late", "1Gi", "ReadWriteMany", "manual", "  volumeName: nfsish\n");
	ck_assert(fx_has_event(&fx, "FailedBinding",
			       "volume \"nfsish\" already bound to a different claim."));
	assert_pending("late");
	/* a named volume that does not exist yet: Pending without an event, then bound */
	apply_claim("future", "1Gi", "ReadWriteOnce", "manual", "  volumeName: later\n");
	assert_pending("future");
	ck_assert(!fx_has_event(&fx, "persistentvolumeclaims/future", NULL));
	apply_pv("later", "1Gi", "ReadWriteOnce", "manual", NULL);
	assert_bound("future", "later");
}
END_TEST

START_TEST(test_prebound_marked_for_deletion)
{
	fx_apply_ok(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: going\n"
			 "  finalizers: [example.com/hold]\nspec:\n  capacity: {storage: 1Gi}\n"
			 "  accessModes: [ReadWriteOnce]\n  storageClassName: manual\n"
			 "  hostPath: {path: /g}\n");
	ck_assert_int_eq(cluster_delete(fx.cl, cluster_kind(fx.cl, "PersistentVolume"), NULL,
					"going", "rm", &fx.err),
			 0);
	ck_assert_ptr_nonnull(fx_pv(&fx, "going", "metadata.deletionTimestamp"));
	apply_claim("want", "1Gi", "ReadWriteOnce", "manual", "  volumeName: going\n");
	assert_pending("want");
	ck_assert(
	    fx_has_event(&fx, "VolumeMismatch",
			 "Cannot bind to requested volume \"going\": the volume is marked for "
			 "deletion \"going\""));
	/* and a volume being deleted is never chosen by matching */
	apply_claim("any", "1Gi", "ReadWriteOnce", "manual", NULL);
	assert_pending("any");
}
END_TEST

START_TEST(test_prebound_by_claim_ref)
{
	apply_pv("reserved", "10Gi", "ReadWriteOnce", "manual",
		 "  claimRef: {namespace: default, name: mine}\n");
	apply_pv("plain", "1Gi", "ReadWriteOnce", "manual", NULL);
	/* reserved volumes are Available but only for the claim they name */
	ck_assert_str_eq(fx_pv(&fx, "reserved", "status.phase"), "Available");
	apply_claim("intruder", "5Gi", "ReadWriteOnce", "manual", NULL);
	assert_pending("intruder");
	/* the named claim gets it before the smaller plain volume */
	apply_claim("mine", "1Gi", "ReadWriteOnce", "manual", NULL);
	assert_bound("mine", "reserved");
	struct object *v = fx_get(&fx, "PersistentVolume", NULL, "reserved");
	ck_assert_ptr_null(jannotation(object_json(v), "pv.kubernetes.io/bound-by-controller"));
	ck_assert_str_eq(
	    jstr(object_json(v), "spec.claimRef.uid"),
	    juid(object_json(fx_get(&fx, "PersistentVolumeClaim", "default", "mine"))));
	struct object *c = fx_get(&fx, "PersistentVolumeClaim", "default", "mine");
	ck_assert_str_eq(jannotation(object_json(c), "pv.kubernetes.io/bound-by-controller"),
			 "yes");
	ck_assert_str_eq(fx_pv(&fx, "plain", "status.phase"), "Available");
}
END_TEST

START_TEST(test_late_pv_binds_pending_claim)
{
	apply_claim("waiting", "3Gi", "ReadWriteOnce", "manual", NULL);
	assert_pending("waiting");
	ck_assert_ptr_null(fx_claim(&fx, "waiting", "status.capacity"));
	apply_pv("too-small", "2Gi", "ReadWriteOnce", "manual", NULL);
	assert_pending("waiting");
	apply_pv("fits", "4Gi", "ReadWriteOnce", "manual", NULL);
	assert_bound("waiting", "fits");
	ck_assert_str_eq(fx_claim(&fx, "waiting", "status.capacity.storage"), "4Gi");
	/* bind()'s annotations */
	struct object *c = fx_get(&fx, "PersistentVolumeClaim", "default", "waiting");
	ck_assert_str_eq(jannotation(object_json(c), "pv.kubernetes.io/bind-completed"), "yes");
	ck_assert_str_eq(jannotation(object_json(c), "pv.kubernetes.io/bound-by-controller"),
			 "yes");
	struct object *v = fx_get(&fx, "PersistentVolume", NULL, "fits");
	ck_assert_str_eq(jannotation(object_json(v), "pv.kubernetes.io/bound-by-controller"),
			 "yes");
	ck_assert_str_eq(jstr(object_json(v), "spec.claimRef.kind"), "PersistentVolumeClaim");
	ck_assert_str_eq(jstr(object_json(v), "spec.claimRef.namespace"), "default");
	ck_assert_str_eq(fx_pv(&fx, "too-small", "status.phase"), "Available");
}
END_TEST

START_TEST(test_lost_and_misbound)
{
	apply_pv("v1", "1Gi", "ReadWriteOnce", "manual", NULL);
	apply_claim("c1", "1Gi", "ReadWriteOnce", "manual", NULL);
	assert_bound("c1", "v1");
	/* the volume disappears without its finalizer's consent */
	json_t *p = json_pack("{s:{s:n}}", "metadata", "finalizers");
	ck_assert_int_eq(cluster_patch(fx.cl, cluster_kind(fx.cl, "PersistentVolume"), NULL, "v1",
				       p, "t", &fx.err),
			 0);
	json_decref(p);
	ck_assert_int_eq(cluster_delete(fx.cl, cluster_kind(fx.cl, "PersistentVolume"), NULL, "v1",
					"t", &fx.err),
			 0);
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolume", NULL, "v1"));
	ck_assert_str_eq(fx_claim(&fx, "c1", "status.phase"), "Lost");
	ck_assert_ptr_null(fx_claim(&fx, "c1", "status.capacity"));
	ck_assert_ptr_null(fx_claim(&fx, "c1", "status.accessModes"));
	ck_assert(fx_has_event(&fx, "ClaimLost",
			       "Bound claim has lost its PersistentVolume. Data on the volume is "
			       "lost!"));

	/* a volume whose claimRef is moved to another claim */
	apply_pv("v2", "1Gi", "ReadWriteOnce", "manual", NULL);
	apply_claim("c2", "1Gi", "ReadWriteOnce", "manual", NULL);
	assert_bound("c2", "v2");
	apply_claim("c3", "1Gi", "ReadWriteOnce", "manual", NULL);
	assert_pending("c3");
	const char *uid3 = juid(object_json(fx_get(&fx, "PersistentVolumeClaim", "default", "c3")));
	p = json_pack("{s:{s:{s:s,s:s}}}", "spec", "claimRef", "name", "c3", "uid", uid3);
	ck_assert_int_eq(cluster_patch(fx.cl, cluster_kind(fx.cl, "PersistentVolume"), NULL, "v2",
				       p, "t", &fx.err),
			 0);
	json_decref(p);
	ck_assert_str_eq(fx_claim(&fx, "c2", "status.phase"), "Lost");
	ck_assert(fx_has_event(&fx, "ClaimMisbound",
			       "Two claims are bound to the same volume, this one is bound "
			       "incorrectly"));
	assert_bound("c3", "v2");
}
END_TEST

START_TEST(test_volume_of_a_claim_bound_elsewhere)
{
	apply_pv("first", "1Gi", "ReadWriteOnce", "manual", NULL);
	apply_claim("c", "1Gi", "ReadWriteOnce", "manual", NULL);
	assert_bound("c", "first");
	const char *uid = fx_claim(&fx, "c", "metadata.uid");
	char extra[256];
	/* a user pre-binds another volume to the claim, uid and all: the claim is bound
	 * elsewhere, so the volume keeps the name but loses the uid (reserved, Available) */
	snprintf(extra, sizeof(extra), "  claimRef: {namespace: default, name: c, uid: %s}\n", uid);
	apply_pv("second", "1Gi", "ReadWriteOnce", "manual", extra);
	ck_assert_str_eq(fx_pv(&fx, "second", "status.phase"), "Available");
	ck_assert_str_eq(fx_pv(&fx, "second", "spec.claimRef.name"), "c");
	ck_assert_ptr_null(fx_pv(&fx, "second", "spec.claimRef.uid"));
	assert_bound("c", "first");
	/* the controller's own link is dropped entirely */
	cluster_lock(fx.cl);
	struct object *v = store_get(cluster_store(fx.cl), cluster_kind(fx.cl, "PersistentVolume"),
				     NULL, "second");
	jset_str(object_json(v), "spec.claimRef.uid", uid);
	jset_annotation(object_json(v), "pv.kubernetes.io/bound-by-controller", "yes");
	cluster_update(fx.cl, v);
	cluster_unlock(fx.cl);
	fx_apply_ok(&fx, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nudge}\n");
	ck_assert_str_eq(fx_pv(&fx, "second", "status.phase"), "Available");
	ck_assert_ptr_null(fx_pv(&fx, "second", "spec.claimRef.name"));
	ck_assert_ptr_null(jannotation(object_json(fx_get(&fx, "PersistentVolume", NULL, "second")),
				       "pv.kubernetes.io/bound-by-controller"));
}
END_TEST

START_TEST(test_pod_index)
{
	fx_apply_ok(&fx, "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n"
			 "  containers: [{name: c, image: i}]\n"
			 "  volumes: [{name: d, persistentVolumeClaim: {claimName: shared}},\n"
			 "            {name: e, persistentVolumeClaim: {claimName: own}}]\n---\n"
			 "apiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec:\n"
			 "  containers: [{name: c, image: i}]\n"
			 "  volumes: [{name: d, persistentVolumeClaim: {claimName: shared}}]\n");
	struct object **pods;
	size_t n, i, np;
	cluster_lock(fx.cl);
	/* without the index: a scan of the namespace */
	n = storage_claim_pods(fx.cl, "default", "shared", &pods);
	ck_assert_uint_eq(n, 2);
	free(pods);
	/* with it (as pod_ops.index would feed it) */
	struct object *const *all =
	    store_list(cluster_store(fx.cl), cluster_kind(fx.cl, "Pod"), NULL, &np);
	for (i = 0; i < np; i++)
		storage_pod_index(fx.cl, all[i], 0);
	n = storage_claim_pods(fx.cl, "default", "shared", &pods);
	ck_assert_uint_eq(n, 2);
	ck_assert(pods[0] != pods[1]);
	free(pods);
	n = storage_claim_pods(fx.cl, "default", "own", &pods);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(pods[0]->name, "a");
	free(pods);
	n = storage_claim_pods(fx.cl, "other", "shared", &pods);
	ck_assert_uint_eq(n, 0);
	free(pods);
	storage_pod_index(
	    fx.cl, store_get(cluster_store(fx.cl), cluster_kind(fx.cl, "Pod"), "default", "a"), 1);
	n = storage_claim_pods(fx.cl, "default", "shared", &pods);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(pods[0]->name, "b");
	free(pods);
	n = storage_claim_pods(fx.cl, "default", "own", &pods);
	ck_assert_uint_eq(n, 0);
	free(pods);
	cluster_unlock(fx.cl);
}
END_TEST

START_TEST(test_claim_validation)
{
	int rc;
	rc = fx_apply(&fx, "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: x}\n"
			   "spec:\n  resources: {requests: {storage: 1Gi}}\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "apply:5:3: spec.accessModes: Required value: at least 1 "
					 "access mode is required"),
		      "%s", fx.err.msg);
	rc = fx_try_claim(&fx, "x", "1Gi", "ReadWriteSometimes", NULL, NULL);
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "apply:6:17: spec.accessModes: Unsupported value: "
					 "\"ReadWriteSometimes\": supported values: "
					 "\"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", "
					 "\"ReadWriteOncePod\""),
		      "%s", fx.err.msg);
	rc = fx_try_claim(&fx, "x", "1Gi", "ReadWriteOncePod, ReadWriteOnce", NULL, NULL);
	ck_assert_int_eq(rc, -EPERM);
	ck_assert_msg(strstr(fx.err.msg, "spec.accessModes: Forbidden: may not use "
					 "ReadWriteOncePod with other access modes"),
		      "%s", fx.err.msg);
	rc = fx_apply(&fx, "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: x}\n"
			   "spec:\n  accessModes: [ReadWriteOnce]\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "spec.resources[storage]: Required value"), "%s",
		      fx.err.msg);
	rc = fx_try_claim(&fx, "x", "banana", "ReadWriteOnce", NULL, NULL);
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg,
			     "apply:7:35: spec.resources[storage]: Invalid value: "
			     "\"banana\": quantities must match the regular expression"),
		      "%s", fx.err.msg);
	rc = fx_try_claim(&fx, "x", "0Gi", "ReadWriteOnce", NULL, NULL);
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "spec.resources[storage]: Invalid value: \"0\": must be "
					 "greater than zero"),
		      "%s", fx.err.msg);
	rc = fx_try_claim(&fx, "x", "-1Gi", "ReadWriteOnce", NULL, NULL);
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "must be greater than zero"), "%s", fx.err.msg);
	rc = fx_try_claim(&fx, "x", "1Gi", "ReadWriteOnce", "Not_A_Name", NULL);
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "spec.storageClassName: Invalid value: \"Not_A_Name\": a "
					 "lowercase RFC 1123 subdomain"),
		      "%s", fx.err.msg);
	rc = fx_try_claim(&fx, "x", "1Gi", "ReadWriteOnce", NULL, "  volumeMode: Raw\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "spec.volumeMode: Unsupported value: \"Raw\": supported "
					 "values: \"Block\", \"Filesystem\""),
		      "%s", fx.err.msg);
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolumeClaim", "default", "x"));
	/* stored canonically; numbers are quantities too */
	apply_claim("canon", "1.5Gi", "ReadWriteOnce", NULL, NULL);
	ck_assert_str_eq(fx_claim(&fx, "canon", "spec.resources.requests.storage"), "1536Mi");
	apply_claim("num", "1000000000", "ReadWriteOnce", NULL, NULL);
	ck_assert_str_eq(fx_claim(&fx, "num", "spec.resources.requests.storage"), "1G");
	/* defaults and the protection finalizer */
	struct object *c = fx_get(&fx, "PersistentVolumeClaim", "default", "canon");
	ck_assert(jhas_finalizer(object_json(c), "kubernetes.io/pvc-protection"));
	ck_assert_str_eq(fx_claim(&fx, "canon", "spec.volumeMode"), "Filesystem");
	/* re-applying the same manifest changes nothing */
	uint64_t rv = c->rv;
	apply_claim("canon", "1.5Gi", "ReadWriteOnce", NULL, NULL);
	ck_assert_uint_eq(fx_get(&fx, "PersistentVolumeClaim", "default", "canon")->rv, rv);
}
END_TEST

START_TEST(test_claim_immutable)
{
	apply_claim("c", "1Gi", "ReadWriteOnce", NULL, NULL);
	ck_assert_str_eq(fx_claim(&fx, "c", "status.phase"), "Bound");
	int rc = fx_try_claim(&fx, "c", "1Gi", "ReadWriteMany", NULL, NULL);
	ck_assert_int_eq(rc, -EPERM);
	ck_assert_msg(strstr(fx.err.msg, "spec: Forbidden: spec is immutable after creation except "
					 "resources.requests and volumeAttributesClassName for "
					 "bound claims"),
		      "%s", fx.err.msg);
	rc = fx_try_claim(&fx, "c", "1Gi", "ReadWriteOnce", NULL, "  volumeMode: Block\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "spec.volumeMode: Invalid value: \"Block\": field is "
					 "immutable"),
		      "%s", fx.err.msg);
	rc = fx_try_claim(&fx, "c", "1Gi", "ReadWriteOnce", "manual", NULL);
	ck_assert_int_eq(rc, -EPERM);
	/* a pending claim's spec is immutable too, but volumeName may be set once */
	apply_claim("p", "1Gi", "ReadWriteOnce", "manual", NULL);
	assert_pending("p");
	rc = fx_try_claim(&fx, "p", "1Gi", "ReadOnlyMany", "manual", NULL);
	ck_assert_int_eq(rc, -EPERM);
	apply_pv("pick", "1Gi", "ReadWriteMany", "manual", NULL);
	assert_pending("p");
	apply_pv("me", "1Gi", "ReadWriteOnce", "manual",
		 "  claimRef: {namespace: default, name: q}\n");
	apply_claim("p", "1Gi", "ReadWriteOnce", "manual", "  volumeName: pick\n");
	ck_assert(fx_has_event(&fx, "VolumeMismatch", "incompatible accessMode"));
	ck_assert_str_eq(fx_claim(&fx, "p", "spec.volumeName"), "pick");
	rc = fx_try_claim(&fx, "p", "1Gi", "ReadWriteOnce", "manual", "  volumeName: me\n");
	ck_assert_int_eq(rc, -EPERM);
}
END_TEST

START_TEST(test_pv_validation_and_defaults)
{
	int rc;
	rc = fx_apply(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: x}\nspec:\n"
			   "  accessModes: [ReadWriteOnce]\n  hostPath: {path: /x}\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "spec.capacity: Required value"), "%s", fx.err.msg);
	rc = fx_apply(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: x}\nspec:\n"
			   "  capacity: {storage: 1Gi}\n  hostPath: {path: /x}\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "spec.accessModes: Required value"), "%s", fx.err.msg);
	rc = fx_apply(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: x}\nspec:\n"
			   "  capacity: {storage: 1Gi}\n  accessModes: [ReadWriteOnce]\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "apply:5:3: spec: Required value: must specify a volume "
					 "type"),
		      "%s", fx.err.msg);
	rc = fx_apply(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: x}\nspec:\n"
			   "  capacity: {storage: 1Gi}\n  accessModes: [ReadWriteOnce]\n"
			   "  hostPath: {path: /x}\n  nfs: {server: s, path: /}\n");
	ck_assert_int_eq(rc, -EPERM);
	ck_assert_msg(strstr(fx.err.msg, "Forbidden: may not specify more than 1 volume type"),
		      "%s", fx.err.msg);
	rc = fx_apply(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: x}\nspec:\n"
			   "  capacity: {storage: 1Gi}\n  accessModes: [ReadWriteOnce]\n"
			   "  csi: {driver: d, volumeHandle: h}\n"
			   "  persistentVolumeReclaimPolicy: Keep\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "spec.persistentVolumeReclaimPolicy: Unsupported value: "
					 "\"Keep\": supported values: \"Delete\", \"Recycle\", "
					 "\"Retain\""),
		      "%s", fx.err.msg);
	rc = fx_apply(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: x}\nspec:\n"
			   "  capacity: {storage: 0}\n  accessModes: [ReadWriteOnce]\n"
			   "  local: {path: /x}\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "spec.capacity[storage]: Invalid value: \"0\": must be "
					 "greater than zero"),
		      "%s", fx.err.msg);
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolume", NULL, "x"));
	/* defaults: Retain, Filesystem, Available after its first sync, pv-protection */
	apply_pv("ok", "1536Mi", "ReadWriteOnce", NULL, NULL);
	ck_assert_str_eq(fx_pv(&fx, "ok", "spec.persistentVolumeReclaimPolicy"), "Retain");
	ck_assert_str_eq(fx_pv(&fx, "ok", "spec.volumeMode"), "Filesystem");
	ck_assert_str_eq(fx_pv(&fx, "ok", "status.phase"), "Available");
	ck_assert(jhas_finalizer(object_json(fx_get(&fx, "PersistentVolume", NULL, "ok")),
				 "kubernetes.io/pv-protection"));
	/* the volume source is immutable */
	rc = fx_apply(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: ok}\nspec:\n"
			   "  hostPath: {path: /elsewhere}\n");
	ck_assert_int_eq(rc, -EPERM);
	ck_assert_msg(strstr(fx.err.msg, "spec.persistentvolumesource is immutable after creation"),
		      "%s", fx.err.msg);
}
END_TEST

/* kubernetes/examples _archived/volumes/nfs/nfs-pv.yaml and nfs-pvc.yaml, unchanged */
static const char nfs_pv[] = "apiVersion: v1\n"
			     "kind: PersistentVolume\n"
			     "metadata:\n"
			     "  name: nfs\n"
			     "spec:\n"
			     "  capacity:\n"
			     "    storage: 1Mi\n"
			     "  accessModes:\n"
			     "    - ReadWriteMany\n"
			     "  nfs:\n"
			     "    server: nfs-server.default.svc.cluster.local\n"
			     "    path: \"/\"\n"
			     "  mountOptions:\n"
			     "    - nfsvers=4.2\n";
static const char nfs_pvc[] = "apiVersion: v1\n"
			      "kind: PersistentVolumeClaim\n"
			      "metadata:\n"
			      "  name: nfs\n"
			      "spec:\n"
			      "  accessModes:\n"
			      "    - ReadWriteMany\n"
			      "  storageClassName: \"\"\n"
			      "  resources:\n"
			      "    requests:\n"
			      "      storage: 1Mi\n"
			      "  volumeName: nfs\n";

/* kubernetes/examples AI/model-serving-tensorflow/pv.yaml and pvc.yaml, unchanged */
static const char tf_pv[] = "apiVersion: v1\n"
			    "kind: PersistentVolume\n"
			    "metadata:\n"
			    "  name: my-model-pv\n"
			    "spec:\n"
			    "  capacity:\n"
			    "    storage: 1Gi\n"
			    "  accessModes:\n"
			    "    - ReadOnlyMany\n"
			    "  persistentVolumeReclaimPolicy: Retain\n"
			    "  hostPath:\n"
			    "    path: /mnt/models/my_model\n";
static const char tf_pvc[] = "apiVersion: v1\n"
			     "kind: PersistentVolumeClaim\n"
			     "metadata:\n"
			     "  name: my-model-pvc\n"
			     "spec:\n"
			     "  accessModes:\n"
			     "    - ReadOnlyMany\n"
			     "  resources:\n"
			     "    requests:\n"
			     "      storage: 1Gi\n"
			     "  volumeName: my-model-pv\n";

START_TEST(test_nfs_example)
{
	fx_apply_ok(&fx, nfs_pv);
	ck_assert_str_eq(fx_pv(&fx, "nfs", "status.phase"), "Available");
	fx_apply_ok(&fx, nfs_pvc);
	assert_bound("nfs", "nfs");
	ck_assert_str_eq(fx_claim(&fx, "nfs", "status.capacity.storage"), "1Mi");
	ck_assert_str_eq(json_string_value(json_array_get(
			     jget(object_json(fx_get(&fx, "PersistentVolume", NULL, "nfs")),
				  "spec.mountOptions"),
			     0)),
			 "nfsvers=4.2");
}
END_TEST

START_TEST(test_tensorflow_example)
{
	/* kubectl apply -f pv.yaml; kubectl apply -f pvc.yaml (the README's order) */
	fx_apply_ok(&fx, tf_pv);
	fx_apply_ok(&fx, tf_pvc);
	assert_bound("my-model-pvc", "my-model-pv");
	/* the claim named its volume: it does not get the default class that would keep
	 * it from its class-less volume */
	ck_assert_ptr_null(fx_claim(&fx, "my-model-pvc", "spec.storageClassName"));
	ck_assert_str_eq(
	    json_string_value(json_array_get(
		jget(object_json(fx_get(&fx, "PersistentVolumeClaim", "default", "my-model-pvc")),
		     "status.accessModes"),
		0)),
	    "ReadOnlyMany");
	ck_assert(!fx_has_event(&fx, "VolumeMismatch", NULL));
}
END_TEST

START_TEST(test_tensorflow_one_stream_claim_first)
{
	char y[2048];
	snprintf(y, sizeof(y), "%s---\n%s", tf_pvc, tf_pv);
	fx_apply_ok(&fx, y);
	assert_bound("my-model-pvc", "my-model-pv");
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("binding");
	TCase *tc = tcase_create("binding");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_class_empty_vs_default);
	tcase_add_test(tc, test_beta_annotation_first);
	tcase_add_test(tc, test_fewest_modes_first);
	tcase_add_test(tc, test_smallest_sufficient_capacity);
	tcase_add_test(tc, test_volume_mode_matrix);
	tcase_add_test(tc, test_selector);
	tcase_add_test(tc, test_prebound_by_volume_name);
	tcase_add_test(tc, test_prebound_marked_for_deletion);
	tcase_add_test(tc, test_prebound_by_claim_ref);
	tcase_add_test(tc, test_late_pv_binds_pending_claim);
	tcase_add_test(tc, test_lost_and_misbound);
	tcase_add_test(tc, test_volume_of_a_claim_bound_elsewhere);
	tcase_add_test(tc, test_pod_index);
	tcase_add_test(tc, test_claim_validation);
	tcase_add_test(tc, test_claim_immutable);
	tcase_add_test(tc, test_pv_validation_and_defaults);
	tcase_add_test(tc, test_nfs_example);
	tcase_add_test(tc, test_tensorflow_example);
	tcase_add_test(tc, test_tensorflow_one_stream_claim_first);
	suite_add_tcase(s, tc);
	return s;
}
