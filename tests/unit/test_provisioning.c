/* test_provisioning.c - dynamic provisioning through the simulated backend (reference
 * 2, 1.6, 1.8): the provisioned PV's name, annotations, finalizers and fields, the
 * events of external and in-tree provisioners, exact pool accounting in bytes, exhaustion
 * and recovery in creation order, selectors, missing classes, no-provisioner, the
 * default class (retroactive, several defaults), WaitForFirstConsumer with the selected
 * node's zone, --provision-delay, persistence across a reopen, the minio claim, and a
 * bulk stream of 10,000 claims. */
#include <errno.h>
#include <time.h>
#include "unit.h"
#include "fixture.h"
#include "examples.h"
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

static void apply_class(const char *name, const char *extra)
{
	char y[2048];
	snprintf(y, sizeof(y),
		 "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: %s\n%s",
		 name, extra);
	fx_apply_ok(&fx, y);
}

START_TEST(test_provisioned_volume)
{
	fx_apply_claim(&fx, "data", "1Gi", NULL, NULL);
	struct object *c = fx_get(&fx, "PersistentVolumeClaim", "default", "data");
	char pv[128];
	snprintf(pv, sizeof(pv), "pvc-%s", juid(object_json(c)));
	ck_assert_str_eq(fx_claim(&fx, "data", "spec.volumeName"), pv);
	ck_assert_str_eq(fx_claim(&fx, "data", "status.phase"), "Bound");
	ck_assert_str_eq(fx_claim(&fx, "data", "status.capacity.storage"), "1Gi");
	ck_assert_str_eq(jannotation(object_json(c), "volume.kubernetes.io/storage-provisioner"),
			 "claimfs.io/simulated");
	ck_assert_str_eq(
	    jannotation(object_json(c), "volume.beta.kubernetes.io/storage-provisioner"),
	    "claimfs.io/simulated");
	ck_assert_str_eq(jannotation(object_json(c), "pv.kubernetes.io/bind-completed"), "yes");
	ck_assert_str_eq(jannotation(object_json(c), "pv.kubernetes.io/bound-by-controller"),
			 "yes");

	struct object *v = fx_get(&fx, "PersistentVolume", NULL, pv);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(jannotation(object_json(v), "pv.kubernetes.io/provisioned-by"),
			 "claimfs.io/simulated");
	ck_assert_str_eq(jannotation(object_json(v), "pv.kubernetes.io/bound-by-controller"),
			 "yes");
	json_t *fin = jget(object_json(v), "metadata.finalizers");
	ck_assert_int_eq(json_array_size(fin), 2);
	ck_assert_str_eq(json_string_value(json_array_get(fin, 0)), "kubernetes.io/pv-protection");
	ck_assert_str_eq(json_string_value(json_array_get(fin, 1)),
			 "external-provisioner.volume.kubernetes.io/finalizer");
	ck_assert_str_eq(jstr(object_json(v), "spec.claimRef.uid"), juid(object_json(c)));
	ck_assert_str_eq(jstr(object_json(v), "spec.claimRef.name"), "data");
	ck_assert_str_eq(jstr(object_json(v), "spec.storageClassName"), "standard");
	ck_assert_str_eq(jstr(object_json(v), "spec.persistentVolumeReclaimPolicy"), "Delete");
	ck_assert_str_eq(jstr(object_json(v), "spec.capacity.storage"), "1Gi");
	ck_assert_str_eq(jstr(object_json(v), "spec.volumeMode"), "Filesystem");
	ck_assert_str_eq(jstr(object_json(v), "status.phase"), "Bound");
	ck_assert_ptr_null(jget(object_json(v), "spec.nodeAffinity")); /* network storage */

	/* the external provisioner's events, in order */
	int a =
	    fx_event_index(&fx, "ExternalProvisioning",
			   "persistentvolumeclaims/data Waiting for a volume to be created either "
			   "by the external provisioner 'claimfs.io/simulated' or manually by the "
			   "system administrator. If volume creation is delayed, please verify "
			   "that the provisioner is running and correctly registered.");
	int b = fx_event_index(&fx, "Provisioning",
			       "External provisioner is provisioning volume for "
			       "claim \"default/data\"");
	char msg[256];
	snprintf(msg, sizeof(msg), "Successfully provisioned volume %s", pv);
	int d = fx_event_index(&fx, "ProvisioningSucceeded", msg);
	ck_assert_int_ge(a, 0);
	ck_assert_int_gt(b, a);
	ck_assert_int_gt(d, b);
}
END_TEST

START_TEST(test_class_fields_and_in_tree_texts)
{
	apply_class("keep", "provisioner: example.com/nas\nreclaimPolicy: Retain\n"
			    "mountOptions: [ro, noatime]\n");
	fx_apply_claim(&fx, "kept", "2Gi", "keep", NULL);
	const char *pv = fx_claim(&fx, "kept", "spec.volumeName");
	ck_assert_ptr_nonnull(pv);
	struct object *v = fx_get(&fx, "PersistentVolume", NULL, pv);
	ck_assert_str_eq(jstr(object_json(v), "spec.persistentVolumeReclaimPolicy"), "Retain");
	ck_assert_str_eq(jannotation(object_json(v), "pv.kubernetes.io/provisioned-by"),
			 "example.com/nas");
	ck_assert_str_eq(
	    json_string_value(json_array_get(jget(object_json(v), "spec.mountOptions"), 1)),
	    "noatime");
	ck_assert_int_eq(json_array_size(jget(object_json(v), "metadata.finalizers")), 1);

	apply_class("pd", "provisioner: kubernetes.io/gce-pd\n");
	fx_apply_claim(&fx, "disk", "1Gi", "pd", NULL);
	pv = fx_claim(&fx, "disk", "spec.volumeName");
	ck_assert_ptr_nonnull(pv);
	char msg[256];
	snprintf(msg, sizeof(msg), "Successfully provisioned volume %s using kubernetes.io/gce-pd",
		 pv);
	ck_assert(fx_has_event(&fx, "ProvisioningSucceeded", msg));
	ck_assert(!fx_has_event(&fx, "ExternalProvisioning", "persistentvolumeclaims/disk"));
	ck_assert(jhas_finalizer(object_json(fx_get(&fx, "PersistentVolume", NULL, pv)),
				 "kubernetes.io/pv-controller"));
}
END_TEST

START_TEST(test_pool_exact_bytes)
{
	apply_class("tiny", "provisioner: claimfs.io/simulated\nparameters: {capacity: 10Gi}\n");
	ck_assert_int_eq(fx_allocated(&fx, "tiny"), 0);
	fx_apply_claim(&fx, "a", "1Gi", "tiny", NULL);
	fx_apply_claim(&fx, "b", "1.5Gi", "tiny", NULL);
	fx_apply_claim(&fx, "c", "100M", "tiny", NULL);
	fx_apply_claim(&fx, "d", "3", "tiny", NULL);
	ck_assert_int_eq(fx_allocated(&fx, "tiny"), 1073741824LL + 1610612736LL + 100000000LL + 3);
	struct quantity cap;
	cluster_lock(fx.cl);
	storageclass_pool(
	    fx.cl,
	    store_get(cluster_store(fx.cl), cluster_kind(fx.cl, "StorageClass"), NULL, "tiny"),
	    &cap, NULL);
	cluster_unlock(fx.cl);
	ck_assert_int_eq(quantity_value(&cap), 10LL << 30);
	/* the default pool is 100Gi and untouched */
	ck_assert_int_eq(fx_allocated(&fx, "standard"), 0);
	ck_assert_str_eq(fx_claim(&fx, "d", "status.phase"), "Bound");
	ck_assert_str_eq(fx_pv(&fx, fx_claim(&fx, "b", "spec.volumeName"), "spec.capacity.storage"),
			 "1536Mi");
}
END_TEST

START_TEST(test_exhaustion_and_recovery_in_creation_order)
{
	apply_class("small", "provisioner: claimfs.io/simulated\nparameters: {capacity: 10Gi}\n");
	fx_apply_ok(&fx, "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: a}\n"
			 "spec: {storageClassName: small, accessModes: [ReadWriteOnce], resources: "
			 "{requests: {storage: 4Gi}}}\n---\n"
			 "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: b}\n"
			 "spec: {storageClassName: small, accessModes: [ReadWriteOnce], resources: "
			 "{requests: {storage: 4Gi}}}\n---\n"
			 "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\n"
			 "spec: {storageClassName: small, accessModes: [ReadWriteOnce], resources: "
			 "{requests: {storage: 4Gi}}}\n---\n"
			 "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: d}\n"
			 "spec: {storageClassName: small, accessModes: [ReadWriteOnce], resources: "
			 "{requests: {storage: 4Gi}}}\n");
	ck_assert_str_eq(fx_claim(&fx, "a", "status.phase"), "Bound");
	ck_assert_str_eq(fx_claim(&fx, "b", "status.phase"), "Bound");
	ck_assert_str_eq(fx_claim(&fx, "c", "status.phase"), "Pending");
	ck_assert_str_eq(fx_claim(&fx, "d", "status.phase"), "Pending");
	ck_assert(fx_has_event(&fx, "ProvisioningFailed",
			       "persistentvolumeclaims/c Failed to provision volume with "
			       "StorageClass \"small\": insufficient capacity in the storage pool: "
			       "requested 4Gi (4294967296 bytes), 2Gi (2147483648 bytes) free of "
			       "10Gi"));
	ck_assert_int_eq(fx_allocated(&fx, "small"), 8LL << 30);
	/* a big claim that does not fit does not block a small one that does */
	fx_apply_claim(&fx, "big", "8Gi", "small", NULL);
	ck_assert_str_eq(fx_claim(&fx, "big", "status.phase"), "Pending");
	fx_apply_claim(&fx, "e", "2Gi", "small", NULL);
	ck_assert_str_eq(fx_claim(&fx, "e", "status.phase"), "Bound");
	ck_assert_int_eq(fx_allocated(&fx, "small"), 10LL << 30);
	/* space freed: the oldest waiting claim that fits goes first */
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolumeClaim", "default", "a"), 0);
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolumeClaim", "default", "a"));
	ck_assert_str_eq(fx_claim(&fx, "c", "status.phase"), "Bound");
	ck_assert_str_eq(fx_claim(&fx, "d", "status.phase"), "Pending");
	ck_assert_str_eq(fx_claim(&fx, "big", "status.phase"), "Pending");
	ck_assert_int_eq(fx_allocated(&fx, "small"), 10LL << 30);
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolumeClaim", "default", "b"), 0);
	ck_assert_str_eq(fx_claim(&fx, "d", "status.phase"), "Bound");
	ck_assert_str_eq(fx_claim(&fx, "big", "status.phase"), "Pending");
	ck_assert(fx_event_index(&fx, "ProvisioningSucceeded", "persistentvolumeclaims/c ") <
		  fx_event_index(&fx, "ProvisioningSucceeded", "persistentvolumeclaims/d "));
	/* the free space named in the message follows the pool */
	ck_assert(fx_has_event(&fx, "persistentvolumeclaims/big",
			       "requested 8Gi (8589934592 bytes), 2Gi (2147483648 bytes) free"));
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolumeClaim", "default", "e"), 0);
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolumeClaim", "default", "c"), 0);
	ck_assert_str_eq(fx_claim(&fx, "big", "status.phase"), "Pending");
	ck_assert_int_eq(fx_allocated(&fx, "small"), 4LL << 30);
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolumeClaim", "default", "d"), 0);
	ck_assert_str_eq(fx_claim(&fx, "big", "status.phase"), "Bound");
	ck_assert_int_eq(fx_allocated(&fx, "small"), 8LL << 30);
}
END_TEST

START_TEST(test_selector_is_never_provisioned)
{
	fx_apply_claim(&fx, "picky", "1Gi", NULL, "  selector:\n    matchLabels: {tier: gold}\n");
	ck_assert_str_eq(fx_claim(&fx, "picky", "status.phase"), "Pending");
	ck_assert(fx_has_event(&fx, "ProvisioningFailed",
			       "Failed to provision volume with StorageClass \"standard\": claim "
			       "Selector is not supported"));
	ck_assert_int_eq(fx_allocated(&fx, "standard"), 0);
	/* a matching volume of its class binds it */
	fx_apply_ok(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: gold\n"
			 "  labels: {tier: gold}\nspec:\n  capacity: {storage: 1Gi}\n"
			 "  accessModes: [ReadWriteOnce]\n  storageClassName: standard\n"
			 "  nfs: {server: nas, path: /gold}\n");
	ck_assert_str_eq(fx_claim(&fx, "picky", "spec.volumeName"), "gold");
	ck_assert_str_eq(fx_claim(&fx, "picky", "status.phase"), "Bound");
}
END_TEST

START_TEST(test_missing_class_then_created)
{
	fx_apply_claim(&fx, "early", "1Gi", "later", NULL);
	ck_assert_str_eq(fx_claim(&fx, "early", "status.phase"), "Pending");
	ck_assert(fx_has_event(&fx, "ProvisioningFailed",
			       "persistentvolumeclaims/early storageclass.storage.k8s.io \"later\" "
			       "not found"));
	apply_class("later", "provisioner: claimfs.io/simulated\n");
	ck_assert_str_eq(fx_claim(&fx, "early", "status.phase"), "Bound");
	ck_assert_int_eq(fx_allocated(&fx, "later"), 1LL << 30);
}
END_TEST

START_TEST(test_no_provisioner)
{
	apply_class("local", "provisioner: kubernetes.io/no-provisioner\n");
	fx_apply_claim(&fx, "l", "1Gi", "local", NULL);
	ck_assert_str_eq(fx_claim(&fx, "l", "status.phase"), "Pending");
	ck_assert(fx_has_event(&fx, "ProvisioningFailed",
			       "no volume plugin matched name: kubernetes.io/no-provisioner"));
	/* written once, not on every sync */
	fx_apply_claim(&fx, "l", "1Gi", "local", "  # again\n");
	fx_apply_ok(&fx, "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: l\n"
			 "  labels: {touched: \"yes\"}\n");
	struct strbuf sb = STRBUF_INIT;
	cluster_lock(fx.cl);
	eventlog_render(cluster_events(fx.cl), &sb, "namespaces/default/persistentvolumeclaims/l",
			0);
	cluster_unlock(fx.cl);
	const char *p = sb_str(&sb), *q = strstr(p, "ProvisioningFailed");
	ck_assert_ptr_nonnull(q);
	ck_assert_ptr_null(strstr(q + 1, "ProvisioningFailed"));
	sb_release(&sb);
}
END_TEST

static void apply_pod(const char *name, const char *claim_name, const char *extra)
{
	char y[2048];
	snprintf(y, sizeof(y),
		 "apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n%s"
		 "  containers:\n  - name: c\n    image: busybox\n"
		 "    volumeMounts: [{name: data, mountPath: /data}]\n"
		 "  volumes:\n  - name: data\n    persistentVolumeClaim:\n      claimName: %s\n",
		 name, extra ? extra : "", claim_name);
	fx_apply_ok(&fx, y);
}

START_TEST(test_wait_for_first_consumer)
{
	apply_class("wffc", "provisioner: claimfs.io/simulated\n"
			    "volumeBindingMode: WaitForFirstConsumer\n");
	fx_apply_claim(&fx, "late", "1Gi", "wffc", NULL);
	ck_assert_str_eq(fx_claim(&fx, "late", "status.phase"), "Pending");
	ck_assert(
	    fx_has_event(&fx, "WaitForFirstConsumer",
			 "persistentvolumeclaims/late waiting for first consumer to be created "
			 "before binding"));
	ck_assert_int_eq(fx_allocated(&fx, "wffc"), 0);
	apply_pod("user", "late", "  nodeSelector: {topology.kubernetes.io/zone: zone-b}\n");
	ck_assert_str_eq(
	    jannotation(object_json(fx_get(&fx, "PersistentVolumeClaim", "default", "late")),
			"volume.kubernetes.io/selected-node"),
	    "node-2");
	ck_assert_str_eq(fx_claim(&fx, "late", "status.phase"), "Bound");
	struct object *v =
	    fx_get(&fx, "PersistentVolume", NULL, fx_claim(&fx, "late", "spec.volumeName"));
	json_t *e = json_array_get(
	    json_object_get(
		json_array_get(jget(object_json(v), "spec.nodeAffinity.required.nodeSelectorTerms"),
			       0),
		"matchExpressions"),
	    0);
	ck_assert_str_eq(jstr(e, "key"), "topology.kubernetes.io/zone");
	ck_assert_str_eq(jstr(e, "operator"), "In");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(e, "values"), 0)),
			 "zone-b");
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "user", "status.phase"), "Running");
	ck_assert(fx_event_index(&fx, "WaitForFirstConsumer", "persistentvolumeclaims/late") <
		  fx_event_index(&fx, "ProvisioningSucceeded", "persistentvolumeclaims/late"));
	/* later pods of the claim stay in that zone */
	apply_pod("again", "late", NULL);
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "again", "spec.nodeName"), "node-2");

	/* a pod that cannot be scheduled: WaitForPodScheduled names it */
	fx_apply_claim(&fx, "stuck", "1Gi", "wffc", NULL);
	apply_pod("nowhere", "stuck", "  nodeSelector: {disk: none}\n");
	ck_assert_str_eq(fx_claim(&fx, "stuck", "status.phase"), "Pending");
	ck_assert(fx_has_event(&fx, "WaitForPodScheduled",
			       "persistentvolumeclaims/stuck waiting for pod nowhere to be "
			       "scheduled"));
}
END_TEST

START_TEST(test_retroactive_default_class)
{
	/* no default class any more */
	fx_apply_ok(&fx, "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n"
			 "  name: standard\n  annotations:\n"
			 "    storageclass.kubernetes.io/is-default-class: \"false\"\n"
			 "provisioner: claimfs.io/simulated\n");
	fx_apply_claim(&fx, "orphan", "1Gi", NULL, NULL);
	fx_apply_claim(&fx, "none", "1Gi", "", NULL);
	ck_assert_ptr_null(fx_claim(&fx, "orphan", "spec.storageClassName"));
	ck_assert(fx_has_event(&fx, "FailedBinding",
			       "persistentvolumeclaims/orphan no persistent volumes available for "
			       "this claim and no storage class is set"));
	/* a default appears: the class-less claim gets it, "" never changes */
	apply_class("fast", "  annotations: {storageclass.kubernetes.io/is-default-class: "
			    "\"true\"}\nprovisioner: claimfs.io/simulated\n");
	ck_assert_str_eq(fx_claim(&fx, "orphan", "spec.storageClassName"), "fast");
	ck_assert_str_eq(fx_claim(&fx, "orphan", "status.phase"), "Bound");
	ck_assert_str_eq(fx_claim(&fx, "none", "spec.storageClassName"), "");
	ck_assert_str_eq(fx_claim(&fx, "none", "status.phase"), "Pending");
}
END_TEST

START_TEST(test_several_defaults_newest_wins)
{
	/* created in the same second as "standard": ties are broken by name */
	apply_class("aaa", "  annotations: {storageclass.beta.kubernetes.io/is-default-class: "
			   "\"true\"}\nprovisioner: claimfs.io/simulated\n");
	apply_class("zzz", "  annotations: {storageclass.kubernetes.io/is-default-class: "
			   "\"true\"}\nprovisioner: claimfs.io/simulated\n");
	apply_class("maybe", "  annotations: {storageclass.kubernetes.io/is-default-class: "
			     "\"yes\"}\nprovisioner: claimfs.io/simulated\n");
	cluster_lock(fx.cl);
	ck_assert_str_eq(storage_default_class(fx.cl)->name, "aaa");
	/* make zzz the newest */
	struct object *z =
	    store_get(cluster_store(fx.cl), cluster_kind(fx.cl, "StorageClass"), NULL, "zzz");
	jset_str(object_json(z), "metadata.creationTimestamp", "2099-01-01T00:00:00Z");
	cluster_update(fx.cl, z);
	ck_assert_str_eq(storage_default_class(fx.cl)->name, "zzz");
	cluster_unlock(fx.cl);
	fx_apply_claim(&fx, "c", "1Gi", NULL, NULL);
	ck_assert_str_eq(fx_claim(&fx, "c", "spec.storageClassName"), "zzz");
}
END_TEST

START_TEST(test_minio_standalone_claim)
{
	/* kubernetes/examples _archived/storage/minio/minio-standalone-pvc.yaml, unchanged */
	fx_apply_ok(&fx, minio_pvc_yaml);
	ck_assert_str_eq(fx_claim(&fx, "minio-pv-claim", "status.phase"), "Bound");
	ck_assert_str_eq(fx_claim(&fx, "minio-pv-claim", "status.capacity.storage"), "10Gi");
	ck_assert_int_eq(fx_allocated(&fx, "standard"), 10LL << 30);
}
END_TEST

START_TEST(test_persistence_across_reopen)
{
	apply_class("small", "provisioner: claimfs.io/simulated\nparameters: {capacity: 2Gi}\n");
	fx_apply_claim(&fx, "one", "1Gi", "small", NULL);
	fx_apply_claim(&fx, "two", "1Gi", "small", NULL);
	fx_apply_claim(&fx, "three", "1Gi", "small", NULL);
	fx_apply_ok(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: spare\n"
			 "spec:\n  capacity: {storage: 1Gi}\n  accessModes: [ReadWriteOnce]\n"
			 "  storageClassName: \"\"\n  hostPath: {path: /spare}\n");
	char *pv = xstrdup(fx_claim(&fx, "one", "spec.volumeName"));
	ck_assert_str_eq(fx_claim(&fx, "three", "status.phase"), "Pending");
	fx_reopen(&fx);
	/* the indexes are rebuilt from the loaded state */
	ck_assert_int_eq(fx_allocated(&fx, "small"), 2LL << 30);
	ck_assert_str_eq(fx_claim(&fx, "one", "spec.volumeName"), pv);
	ck_assert_str_eq(fx_claim(&fx, "three", "status.phase"), "Pending");
	fx_apply_claim(&fx, "static", "1Gi", "", NULL);
	ck_assert_str_eq(fx_claim(&fx, "static", "spec.volumeName"), "spare");
	fx_apply_claim(&fx, "dflt", "1Gi", NULL, NULL);
	ck_assert_str_eq(fx_claim(&fx, "dflt", "spec.storageClassName"), "standard");
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolumeClaim", "default", "one"), 0);
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolume", NULL, pv));
	ck_assert_str_eq(fx_claim(&fx, "three", "status.phase"), "Bound");
	ck_assert_int_eq(fx_allocated(&fx, "small"), 2LL << 30);
	free(pv);
}
END_TEST

START_TEST(test_provision_delay)
{
	fx_close(&fx);
	fx_prepare(&fx);
	fx.opts.provision_delay_ms = 300;
	ck_assert_int_eq(cluster_open(&fx.opts, &fx.cl, &fx.err), 0);
	fx_apply_claim(&fx, "slow", "1Gi", NULL, NULL);
	ck_assert_str_eq(fx_claim(&fx, "slow", "status.phase"), "Pending");
	ck_assert_ptr_null(fx_claim(&fx, "slow", "spec.volumeName"));
	ck_assert(fx_has_event(&fx, "ExternalProvisioning", "persistentvolumeclaims/slow"));
	ck_assert(fx_has_event(&fx, "Provisioning", "persistentvolumeclaims/slow"));
	ck_assert(!fx_has_event(&fx, "ProvisioningSucceeded", NULL));
	int i;
	for (i = 0; i < 100; i++) {
		const char *ph;
		cluster_lock(fx.cl);
		struct object *o =
		    store_get(cluster_store(fx.cl), cluster_kind(fx.cl, "PersistentVolumeClaim"),
			      "default", "slow");
		ph = o ? jstr(object_json(o), "status.phase") : NULL;
		int bound = ph && strcmp(ph, "Bound") == 0;
		cluster_unlock(fx.cl);
		if (bound)
			break;
		usleep(50000);
	}
	ck_assert_int_lt(i, 100);
	ck_assert_int_ge(i, 3); /* not before the delay */
	ck_assert(fx_has_event(&fx, "ProvisioningSucceeded", "persistentvolumeclaims/slow"));
	ck_assert_int_eq(fx_allocated(&fx, "standard"), 1LL << 30);
}
END_TEST

START_TEST(test_bulk_ten_thousand_claims)
{
	enum { N = 10000 };
	struct strbuf sb = STRBUF_INIT;
	struct timespec t0, t1;
	size_t i, n;
	for (i = 0; i < N; i++)
		sb_addf(&sb,
			"---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: "
			"bulk-%zu\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n"
			"    requests: {storage: 10Mi}\n",
			i);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = cluster_apply(fx.cl, sb.buf, sb.len, "bulk", NULL, &fx.err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_msg(rc == 0, "%s", fx.err.msg);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "bulk: %d claims provisioned and bound in %.3f s (%.0f claims/s)\n", N,
		secs, N / secs);
	cluster_lock(fx.cl);
	struct object *const *v = store_list(
	    cluster_store(fx.cl), cluster_kind(fx.cl, "PersistentVolumeClaim"), NULL, &n);
	size_t bound = 0;
	for (i = 0; i < n; i++)
		bound += pvc_is_bound(v[i]);
	store_list(cluster_store(fx.cl), cluster_kind(fx.cl, "PersistentVolume"), NULL, &n);
	cluster_unlock(fx.cl);
	ck_assert_uint_eq(bound, N);
	ck_assert_uint_eq(n, N);
	ck_assert_int_eq(fx_allocated(&fx, "standard"), (int64_t)N * (10LL << 20));
	/* generous even for sanitizer builds; the plain build runs >= 20,000 claims/s */
	ck_assert_msg(secs < 30.0, "bulk apply took %.1f s", secs);
	sb_release(&sb);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("provisioning");
	TCase *tc = tcase_create("provisioning");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_provisioned_volume);
	tcase_add_test(tc, test_class_fields_and_in_tree_texts);
	tcase_add_test(tc, test_pool_exact_bytes);
	tcase_add_test(tc, test_exhaustion_and_recovery_in_creation_order);
	tcase_add_test(tc, test_selector_is_never_provisioned);
	tcase_add_test(tc, test_missing_class_then_created);
	tcase_add_test(tc, test_no_provisioner);
	tcase_add_test(tc, test_wait_for_first_consumer);
	tcase_add_test(tc, test_retroactive_default_class);
	tcase_add_test(tc, test_several_defaults_newest_wins);
	tcase_add_test(tc, test_minio_standalone_claim);
	tcase_add_test(tc, test_persistence_across_reopen);
	tcase_add_test(tc, test_provision_delay);
	tcase_add_test(tc, test_bulk_ten_thousand_claims);
	suite_add_tcase(s, tc);
	return s;
}
