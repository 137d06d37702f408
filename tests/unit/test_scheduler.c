/* test_scheduler.c - pods on the simulated nodes: scheduling (nodeSelector, zones
 * through PV node affinity, WaitForFirstConsumer, RWOP, unbound claims, NotReady
 * nodes, generic ephemeral volumes), attach (RWO Multi-Attach vs same-node sharing, RWX), the
 * kubelet (IPs, events, readiness, the start delay) and pod admission. */
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

static const char *pod_phase(const char *name)
{
	return fx_str(&fx, "Pod", "default", name, "status.phase");
}

static int pod_ready(const char *name)
{
	struct object *o = fx_get(&fx, "Pod", "default", name);
	cluster_lock(fx.cl);
	int r = o && pod_is_ready(o);
	cluster_unlock(fx.cl);
	return r;
}

/* A pod running busybox, optionally pinned with a nodeSelector and using a claim. */
static void apply_pod(const char *name, const char *node, const char *claim)
{
	char yaml[2048];
	snprintf(yaml, sizeof(yaml),
		 "apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  labels: {app: %s}\nspec:\n"
		 "%s%s%s"
		 "  containers:\n  - name: main\n    image: busybox:1.36\n%s"
		 "%s%s%s",
		 name, name, node ? "  nodeSelector:\n    kubernetes.io/hostname: " : "",
		 node ? node : "", node ? "\n" : "",
		 claim ? "    volumeMounts: [{name: data, mountPath: /data}]\n" : "",
		 claim ? "  volumes:\n  - name: data\n    persistentVolumeClaim:\n      claimName: "
		       : "",
		 claim ? claim : "", claim ? "\n" : "");
	fx_apply_ok(&fx, yaml);
}

static void apply_claim(const char *name, const char *mode, const char *cls)
{
	char yaml[1024];
	snprintf(yaml, sizeof(yaml),
		 "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: %s\nspec:\n"
		 "  accessModes: [%s]\n%s%s%s  resources:\n    requests:\n      storage: 1Gi\n",
		 name, mode, cls ? "  storageClassName: \"" : "", cls ? cls : "",
		 cls ? "\"\n" : "");
	fx_apply_ok(&fx, yaml);
}

static int delete_obj(const char *kind, const char *name)
{
	return cluster_delete(fx.cl, cluster_kind(fx.cl, kind), "default", name, "test", &fx.err);
}

#define UNRESOLVABLE_3                                                                             \
	". preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.."

START_TEST(test_pod_runs)
{
	apply_pod("web", NULL, NULL);
	ck_assert_str_eq(pod_phase("web"), "Running");
	ck_assert(pod_ready("web"));
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "web", "spec.nodeName"), "node-1");
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "web", "status.podIP"), "10.244.1.2");
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "web", "status.hostIP"), "192.168.49.2");
	ck_assert_ptr_nonnull(fx_str(&fx, "Pod", "default", "web", "status.startTime"));
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "web", "spec.restartPolicy"), "Always");
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "web", "status.qosClass"), "BestEffort");
	ck_assert(fx_has_event(&fx, "Scheduled", "Successfully assigned default/web to node-1"));
	ck_assert(fx_has_event(&fx, "Pulled", "Container image \"busybox:1.36\" already present"));
	ck_assert(fx_has_event(&fx, "Created", "Created container main"));
	ck_assert(fx_has_event(&fx, "Started", "Started container main"));
	struct object *o = fx_get(&fx, "Pod", "default", "web");
	ck_assert_int_eq(pod_ordinal(o), -1);
	ck_assert(
	    jbool(json_array_get(jget(object_json(o), "status.containerStatuses"), 0), "ready", 0));
	ck_assert_ptr_nonnull(
	    jget(json_array_get(jget(object_json(o), "status.containerStatuses"), 0),
		 "state.running.startedAt"));
	/* the IP is stable across changes to the pod */
	fx_apply_ok(&fx, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels: {tier: x}\n"
			 "spec:\n  containers:\n  - name: main\n    image: busybox:1.37\n");
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "web", "status.podIP"), "10.244.1.2");
	ck_assert(fx_has_event(&fx, "Killing", "Container main definition changed"));
	ck_assert(pod_ready("web"));
}
END_TEST

START_TEST(test_fewest_pods)
{
	apply_pod("a", NULL, NULL);
	apply_pod("b", NULL, NULL);
	apply_pod("c", NULL, NULL);
	apply_pod("d", NULL, NULL);
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "a", "spec.nodeName"), "node-1");
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "b", "spec.nodeName"), "node-2");
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "c", "spec.nodeName"), "node-3");
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "d", "spec.nodeName"), "node-1");
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "d", "status.podIP"), "10.244.1.3");
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "b", "status.podIP"), "10.244.2.2");
}
END_TEST

START_TEST(test_node_selector_missing_node)
{
	apply_pod("lost", "node-9", NULL);
	ck_assert_str_eq(pod_phase("lost"), "Pending");
	ck_assert_ptr_null(fx_str(&fx, "Pod", "default", "lost", "spec.nodeName"));
	ck_assert(fx_has_event(&fx, "FailedScheduling",
			       "0/3 nodes are available: 3 node(s) didn't match Pod's node "
			       "affinity/selector" UNRESOLVABLE_3));
	/* a node that matches appears: the pod is scheduled there */
	fx_apply_ok(&fx, "apiVersion: v1\nkind: Node\nmetadata:\n  name: node-9\n  labels:\n"
			 "    kubernetes.io/hostname: node-9\n");
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "lost", "spec.nodeName"), "node-9");
	ck_assert_str_eq(pod_phase("lost"), "Running");
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "lost", "status.podIP"), "10.244.4.2");
}
END_TEST

START_TEST(test_node_name_missing)
{
	fx_apply_ok(&fx, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: pinned\nspec:\n"
			 "  nodeName: node-7\n  containers:\n  - {name: c, image: nginx}\n");
	ck_assert_str_eq(pod_phase("pinned"), "Pending");
	ck_assert(fx_has_event(&fx, "FailedScheduling",
			       "3 node(s) didn't match the requested node name" UNRESOLVABLE_3));
	fx_apply_ok(&fx, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: pinned2\nspec:\n"
			 "  nodeName: node-3\n  containers:\n  - {name: c, image: nginx}\n");
	ck_assert_str_eq(pod_phase("pinned2"), "Running");
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "pinned2", "spec.nodeName"), "node-3");
	ck_assert(fx_has_event(&fx, "Pulling", "Pulling image \"nginx\""));
}
END_TEST

START_TEST(test_zone_from_pv_affinity)
{
	fx_apply_ok(
	    &fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: local-b\nspec:\n"
		 "  capacity: {storage: 5Gi}\n  accessModes: [ReadWriteOnce]\n"
		 "  storageClassName: \"\"\n  hostPath: {path: /data}\n"
		 "  nodeAffinity:\n    required:\n      nodeSelectorTerms:\n"
		 "      - matchExpressions:\n"
		 "        - {key: topology.kubernetes.io/zone, operator: In, values: [zone-b]}\n");
	apply_claim("zonal", "ReadWriteOnce", "");
	ck_assert_str_eq(
	    fx_str(&fx, "PersistentVolumeClaim", "default", "zonal", "spec.volumeName"), "local-b");
	apply_pod("z", NULL, "zonal");
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "z", "spec.nodeName"), "node-2");
	ck_assert_str_eq(pod_phase("z"), "Running");
	/* pinned to another zone: the volume's affinity conflicts */
	apply_pod("z2", "node-1", "zonal");
	ck_assert_str_eq(pod_phase("z2"), "Pending");
	ck_assert(
	    fx_has_event(&fx, "FailedScheduling",
			 "0/3 nodes are available: 1 node(s) had volume node affinity conflict, 2 "
			 "node(s) didn't match Pod's node affinity/selector" UNRESOLVABLE_3));
}
END_TEST

START_TEST(test_wait_for_first_consumer)
{
	fx_apply_ok(&fx,
		    "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: wffc\n"
		    "provisioner: claimfs.io/simulated\nvolumeBindingMode: WaitForFirstConsumer\n");
	apply_claim("late", "ReadWriteOnce", "wffc");
	ck_assert_str_eq(fx_str(&fx, "PersistentVolumeClaim", "default", "late", "status.phase"),
			 "Pending");
	apply_pod("consumer", "node-3", "late");
	struct object *pvc = fx_get(&fx, "PersistentVolumeClaim", "default", "late");
	ck_assert_str_eq(jannotation(object_json(pvc), "volume.kubernetes.io/selected-node"),
			 "node-3");
	ck_assert_str_eq(fx_str(&fx, "PersistentVolumeClaim", "default", "late", "status.phase"),
			 "Bound");
	const char *pv = fx_str(&fx, "PersistentVolumeClaim", "default", "late", "spec.volumeName");
	ck_assert_ptr_nonnull(pv);
	struct object *pvo = fx_get(&fx, "PersistentVolume", NULL, pv);
	ck_assert_ptr_nonnull(pvo);
	/* provisioned in the zone of the pod's node */
	json_t *term = json_array_get(
	    jget(object_json(pvo), "spec.nodeAffinity.required.nodeSelectorTerms"), 0);
	json_t *expr = json_array_get(json_object_get(term, "matchExpressions"), 0);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(expr, "values"), 0)),
			 "zone-c");
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "consumer", "spec.nodeName"), "node-3");
	ck_assert_str_eq(pod_phase("consumer"), "Running");
	ck_assert(fx_has_event(&fx, "Scheduled", "default/consumer to node-3"));
}
END_TEST

START_TEST(test_rwo_multi_attach)
{
	apply_claim("shared", "ReadWriteOnce", NULL);
	const char *pv =
	    fx_str(&fx, "PersistentVolumeClaim", "default", "shared", "spec.volumeName");
	ck_assert_ptr_nonnull(pv);
	char *pvname = xstrdup(pv);
	apply_pod("first", "node-1", "shared");
	ck_assert_str_eq(pod_phase("first"), "Running");
	ck_assert(fx_has_event(&fx, "SuccessfulAttachVolume",
			       "AttachVolume.Attach succeeded for volume"));
	/* same node: RWO is per node, so the volume is shared */
	apply_pod("same-node", "node-1", "shared");
	ck_assert_str_eq(pod_phase("same-node"), "Running");
	/* another node: scheduled, then stuck in ContainerCreating */
	apply_pod("other-node", "node-2", "shared");
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "other-node", "spec.nodeName"), "node-2");
	ck_assert_str_eq(pod_phase("other-node"), "Pending");
	ck_assert(!pod_ready("other-node"));
	char msg[512];
	snprintf(msg, sizeof(msg),
		 "Multi-Attach error for volume \"%s\" Volume is already used by pod(s) first, "
		 "same-node",
		 pvname);
	ck_assert_msg(fx_has_event(&fx, "FailedAttachVolume", msg), "missing: %s", msg);
	struct object *o = fx_get(&fx, "Pod", "default", "other-node");
	ck_assert_str_eq(jstr(json_array_get(jget(object_json(o), "status.containerStatuses"), 0),
			      "state.waiting.reason"),
			 "ContainerCreating");
	/* when every pod on node-1 is gone, the waiting pod proceeds */
	ck_assert_int_eq(delete_obj("Pod", "first"), 0);
	ck_assert_str_eq(pod_phase("other-node"), "Pending");
	ck_assert_int_eq(delete_obj("Pod", "same-node"), 0);
	ck_assert_ptr_null(fx_get(&fx, "Pod", "default", "same-node"));
	ck_assert_str_eq(pod_phase("other-node"), "Running");
	ck_assert(pod_ready("other-node"));
	free(pvname);
}
END_TEST

START_TEST(test_rwx_anywhere)
{
	apply_claim("many", "ReadWriteMany", NULL);
	apply_pod("m1", "node-1", "many");
	apply_pod("m2", "node-2", "many");
	apply_pod("m3", "node-3", "many");
	ck_assert_str_eq(pod_phase("m1"), "Running");
	ck_assert_str_eq(pod_phase("m2"), "Running");
	ck_assert_str_eq(pod_phase("m3"), "Running");
	ck_assert(!fx_has_event(&fx, "FailedAttachVolume", NULL));
}
END_TEST

START_TEST(test_rwop_second_pod_pending)
{
	apply_claim("solo", "ReadWriteOncePod", NULL);
	apply_pod("one", NULL, "solo");
	ck_assert_str_eq(pod_phase("one"), "Running");
	apply_pod("two", NULL, "solo");
	ck_assert_str_eq(pod_phase("two"), "Pending");
	ck_assert_ptr_null(fx_str(&fx, "Pod", "default", "two", "spec.nodeName"));
	ck_assert(
	    fx_has_event(&fx, "FailedScheduling",
			 "0/3 nodes are available: 3 node has pod using PersistentVolumeClaim with "
			 "the same name and ReadWriteOncePod access mode. preemption: 0/3 nodes "
			 "are available: 3 No preemption victims found for incoming pod.."));
	struct object *o = fx_get(&fx, "Pod", "default", "two");
	json_t *c = json_array_get(jget(object_json(o), "status.conditions"), 0);
	ck_assert_str_eq(jstr(c, "type"), "PodScheduled");
	ck_assert_str_eq(jstr(c, "status"), "False");
	ck_assert_str_eq(jstr(c, "reason"), "Unschedulable");
	ck_assert_int_eq(delete_obj("Pod", "one"), 0);
	ck_assert_str_eq(pod_phase("two"), "Running");
}
END_TEST

START_TEST(test_unbound_claim_then_pv)
{
	apply_claim("static", "ReadWriteOnce", "");
	apply_pod("waiter", NULL, "static");
	ck_assert_str_eq(pod_phase("waiter"), "Pending");
	ck_assert(fx_has_event(&fx, "FailedScheduling",
			       "0/3 nodes are available: pod has unbound immediate "
			       "PersistentVolumeClaims" UNRESOLVABLE_3));
	fx_apply_ok(&fx,
		    "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: manual\nspec:\n"
		    "  capacity: {storage: 2Gi}\n  accessModes: [ReadWriteOnce]\n"
		    "  storageClassName: \"\"\n  hostPath: {path: /srv}\n");
	ck_assert_str_eq(
	    fx_str(&fx, "PersistentVolumeClaim", "default", "static", "spec.volumeName"), "manual");
	ck_assert_str_eq(pod_phase("waiter"), "Running");
}
END_TEST

START_TEST(test_missing_and_deleting_claim)
{
	apply_pod("orphan", NULL, "nope");
	ck_assert(fx_has_event(&fx, "FailedScheduling",
			       "0/3 nodes are available: persistentvolumeclaim \"nope\" not "
			       "found" UNRESOLVABLE_3));
	apply_claim("nope", "ReadWriteOnce", NULL);
	ck_assert_str_eq(pod_phase("orphan"), "Running");
	/* the claim is in use: deleting it leaves it Terminating, new pods refuse it */
	ck_assert_int_eq(delete_obj("PersistentVolumeClaim", "nope"), 0);
	ck_assert_ptr_nonnull(fx_get(&fx, "PersistentVolumeClaim", "default", "nope"));
	apply_pod("late", NULL, "nope");
	ck_assert(fx_has_event(&fx, "FailedScheduling",
			       "persistentvolumeclaim \"nope\" is being deleted" UNRESOLVABLE_3));
	/* removing the pods releases the claim (the pod watch wakes its protection) */
	ck_assert_int_eq(delete_obj("Pod", "orphan"), 0);
	ck_assert_int_eq(delete_obj("Pod", "late"), 0);
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolumeClaim", "default", "nope"));
}
END_TEST

/* A pod with a generic ephemeral volume "scratch" (size: the template's storage). */
static int apply_ephemeral_pod(const char *name, const char *size)
{
	char yaml[1024];
	snprintf(
	    yaml, sizeof(yaml),
	    "apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  containers:\n"
	    "  - {name: c, image: busybox, volumeMounts: [{name: scratch, mountPath: /s}]}\n"
	    "  volumes:\n  - name: scratch\n    ephemeral:\n      volumeClaimTemplate:\n"
	    "        metadata: {labels: {type: scratch}}\n"
	    "        spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: %s}}}\n",
	    name, size);
	return fx_apply(&fx, yaml);
}

START_TEST(test_ephemeral_volume)
{
	ck_assert_int_eq(apply_ephemeral_pod("eph", "2Gi"), 0);
	ck_assert_str_eq(pod_phase("eph"), "Running");
	/* the claim "<pod>-<volume>", from the template, owned by the pod, Bound */
	struct object *c = fx_get(&fx, "PersistentVolumeClaim", "default", "eph-scratch");
	struct object *p = fx_get(&fx, "Pod", "default", "eph");
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(jstr_or(object_json(c), "status.phase", ""), "Bound");
	ck_assert_str_eq(jstr_or(object_json(c), "metadata.labels.type", ""), "scratch");
	ck_assert_str_eq(jstr_or(object_json(c), "spec.resources.requests.storage", ""), "2Gi");
	json_t *ref = json_array_get(jget(object_json(c), "metadata.ownerReferences"), 0);
	ck_assert_str_eq(jstr_or(ref, "kind", ""), "Pod");
	ck_assert_str_eq(jstr_or(ref, "uid", ""), jstr_or(object_json(p), "metadata.uid", "?"));
	ck_assert(jbool(ref, "controller", 0));
	char pv[128];
	ck_assert_ptr_nonnull(jstr(object_json(c), "spec.volumeName"));
	snprintf(pv, sizeof(pv), "%s", jstr(object_json(c), "spec.volumeName")); /* c goes below */
	/* the claim goes with its pod, and its PV with it (Delete) */
	ck_assert_int_eq(delete_obj("Pod", "eph"), 0);
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolumeClaim", "default", "eph-scratch"));
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolume", NULL, pv));
	/* a claim of that name the pod does not own: Pending, as the scheduler says */
	apply_claim("eph2-scratch", "ReadWriteOnce", NULL);
	ck_assert_int_eq(apply_ephemeral_pod("eph2", "1Gi"), 0);
	ck_assert_str_eq(pod_phase("eph2"), "Pending");
	ck_assert(fx_has_event(&fx, "FailedScheduling",
			       "PVC default/eph2-scratch was not created for pod default/eph2 (pod "
			       "is not owner)"));
	ck_assert_ptr_null(
	    jget(object_json(fx_get(&fx, "PersistentVolumeClaim", "default", "eph2-scratch")),
		 "metadata.ownerReferences"));
	/* a bad template is refused when the pod is written, with the template's path */
	ck_assert_int_eq(apply_ephemeral_pod("eph3", "banana"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(
	    fx.err.msg, "spec.volumes[0].ephemeral.volumeClaimTemplate.spec.resources[storage]"));
	ck_assert_ptr_null(fx_get(&fx, "Pod", "default", "eph3"));
	ck_assert_int_eq(fx_apply(&fx, "apiVersion: v1\nkind: Pod\nmetadata: {name: eph4}\nspec:\n"
				       "  containers: [{name: c, image: busybox}]\n"
				       "  volumes: [{name: s, ephemeral: {}}]\n"),
			 -EINVAL);
	ck_assert_ptr_nonnull(
	    strstr(fx.err.msg, "spec.volumes[0].ephemeral.volumeClaimTemplate: Required value"));
}
END_TEST

START_TEST(test_node_not_ready)
{
	apply_pod("p1", "node-1", NULL);
	ck_assert(pod_ready("p1"));
	ck_assert_int_eq(cluster_set_node_ready(fx.cl, "node-1", 0, "test", &fx.err), 0);
	ck_assert_str_eq(pod_phase("p1"), "Running");
	ck_assert(!pod_ready("p1"));
	ck_assert(fx_has_event(&fx, "NodeNotReady", "Node is not ready"));
	struct object *n = fx_get(&fx, "Node", NULL, "node-1");
	ck_assert_str_eq(jstr(json_array_get(jget(object_json(n), "spec.taints"), 0), "key"),
			 "node.kubernetes.io/unreachable");
	/* new pods avoid it, or wait for it */
	apply_pod("p2", "node-1", NULL);
	ck_assert_str_eq(pod_phase("p2"), "Pending");
	ck_assert(
	    fx_has_event(&fx, "FailedScheduling",
			 "0/3 nodes are available: 1 node(s) had untolerated taint "
			 "{node.kubernetes.io/unreachable: }, 2 node(s) didn't match Pod's node "
			 "affinity/selector" UNRESOLVABLE_3));
	apply_pod("p3", NULL, NULL);
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "p3", "spec.nodeName"), "node-2");
	ck_assert_int_eq(cluster_set_node_ready(fx.cl, "node-1", 1, "test", &fx.err), 0);
	ck_assert(pod_ready("p1"));
	ck_assert_str_eq(pod_phase("p2"), "Running");
	n = fx_get(&fx, "Node", NULL, "node-1");
	ck_assert_ptr_null(jget(object_json(n), "spec.taints"));
}
END_TEST

START_TEST(test_host_ports)
{
	const char *tmpl =
	    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n  containers:\n"
	    "  - name: c\n    image: minio/minio\n    ports: [{containerPort: 9000, "
	    "hostPort: 9000}]\n";
	char yaml[512];
	const char *names[] = {"h1", "h2", "h3", "h4"};
	size_t i;
	for (i = 0; i < 4; i++) {
		snprintf(yaml, sizeof(yaml), tmpl, names[i]);
		fx_apply_ok(&fx, yaml);
	}
	ck_assert_str_eq(pod_phase("h3"), "Running");
	ck_assert_str_eq(pod_phase("h4"), "Pending");
	ck_assert(fx_has_event(&fx, "FailedScheduling",
			       "0/3 nodes are available: 3 node(s) didn't have free ports for the "
			       "requested pod ports. preemption: 0/3 nodes are available: 3 No "
			       "preemption victims found for incoming pod.."));
	ck_assert_int_eq(delete_obj("Pod", "h2"), 0);
	ck_assert_str_eq(pod_phase("h4"), "Running");
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "h4", "spec.nodeName"), "node-2");
}
END_TEST

START_TEST(test_pod_admission)
{
	ck_assert_int_eq(
	    fx_apply(&fx, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\nspec: {}\n"),
	    -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "spec.containers: Required value"), "%s", fx.err.msg);
	ck_assert_int_eq(fx_apply(&fx, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\nspec:\n"
				       "  containers:\n  - name: c\n"),
			 -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "apply:7:5: spec.containers[0].image: Required value"),
		      "%s", fx.err.msg);
	ck_assert_int_eq(fx_apply(&fx, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\nspec:\n"
				       "  containers:\n  - name: c\n    image: x\n"
				       "    volumeMounts: [{name: v, mountPath: /v}]\n"),
			 -EINVAL);
	ck_assert_msg(
	    strstr(fx.err.msg, "spec.containers[0].volumeMounts[0].name: Not found: \"v\""), "%s",
	    fx.err.msg);
	ck_assert_int_eq(
	    fx_apply(&fx, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\nspec:\n"
			  "  restartPolicy: Sometimes\n  containers:\n  - {name: c, image: x}\n"),
	    -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "spec.restartPolicy: Unsupported value: \"Sometimes\""),
		      "%s", fx.err.msg);
	ck_assert_ptr_null(fx_get(&fx, "Pod", "default", "bad"));
	/* the spec is immutable but for images */
	apply_pod("fixed", NULL, NULL);
	ck_assert_int_eq(fx_apply(&fx,
				  "apiVersion: v1\nkind: Pod\nmetadata:\n  name: fixed\nspec:\n"
				  "  containers:\n  - {name: other, image: x}\n"),
			 -EPERM);
	ck_assert_msg(strstr(fx.err.msg, "spec: Forbidden: pod updates may not change fields"),
		      "%s", fx.err.msg);
	/* defaults the API server fills */
	struct object *o = fx_get(&fx, "Pod", "default", "fixed");
	json_t *c = json_array_get(jget(object_json(o), "spec.containers"), 0);
	ck_assert_str_eq(jstr(c, "imagePullPolicy"), "IfNotPresent");
	ck_assert_str_eq(jstr(object_json(o), "spec.schedulerName"), "default-scheduler");
	ck_assert_int_eq(json_array_size(jget(object_json(o), "spec.tolerations")), 2);
}
END_TEST

START_TEST(test_pod_start_delay)
{
	fx_close(&fx);
	fx_prepare(&fx);
	fx.opts.pod_start_delay_ms = 150;
	ck_assert_int_eq(cluster_open(&fx.opts, &fx.cl, &fx.err), 0);
	apply_pod("slow", NULL, NULL);
	ck_assert_str_eq(pod_phase("slow"), "Pending");
	ck_assert_ptr_nonnull(fx_str(&fx, "Pod", "default", "slow", "spec.nodeName"));
	ck_assert_ptr_nonnull(fx_str(&fx, "Pod", "default", "slow", "status.podIP"));
	ck_assert(!fx_has_event(&fx, "Started", NULL));
	int i;
	for (i = 0; i < 100 && !pod_ready("slow"); i++)
		usleep(20000);
	ck_assert(pod_ready("slow"));
	ck_assert(fx_has_event(&fx, "Started", "Started container main"));
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("scheduler");
	TCase *tc = tcase_create("pods");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_pod_runs);
	tcase_add_test(tc, test_fewest_pods);
	tcase_add_test(tc, test_node_selector_missing_node);
	tcase_add_test(tc, test_node_name_missing);
	tcase_add_test(tc, test_zone_from_pv_affinity);
	tcase_add_test(tc, test_wait_for_first_consumer);
	tcase_add_test(tc, test_rwo_multi_attach);
	tcase_add_test(tc, test_rwx_anywhere);
	tcase_add_test(tc, test_rwop_second_pod_pending);
	tcase_add_test(tc, test_unbound_claim_then_pv);
	tcase_add_test(tc, test_missing_and_deleting_claim);
	tcase_add_test(tc, test_ephemeral_volume);
	tcase_add_test(tc, test_node_not_ready);
	tcase_add_test(tc, test_host_ports);
	tcase_add_test(tc, test_pod_admission);
	tcase_add_test(tc, test_pod_start_delay);
	suite_add_tcase(s, tc);
	return s;
}
