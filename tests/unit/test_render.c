/* test_render.c - /metrics and the kubectl tables: render_age through every branch of
 * kubectl's HumanDuration, the exact `kubectl get` text of every kind (widths, the
 * (default) class, Terminating, empty CAPACITY of unbound claims, pod STATUS as kubectl
 * computes it, -o wide columns, all namespaces, an empty file for no objects), and the
 * exact /metrics exposition of a claim/volume/class/StatefulSet/pod setup (one series per
 * phase, Go float text, label escaping, HELP and TYPE for every family, no duplicate
 * series, `promtool check metrics` when promtool is installed).
 *
 * The objects are put straight into the store of a cluster seeded with an empty cluster
 * file, so the expected text depends on the renderers alone, not on what the
 * controllers would make of the objects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "unit.h"
#include "fixture.h"
#include "claimfs/manifest.h"
#include "claimfs/render.h"

#define T0_MS 1767225600000LL /* 2026-01-01T00:00:00Z */
#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

/* A cluster with only the namespace "default" and one ConfigMap there (a cluster file
 * may not be empty). */
static void open_empty(struct fixture *fx)
{
	char path[] = "/tmp/claimfs-render-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	static const char seed[] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: seed}\n";
	ck_assert_int_eq(write(fd, seed, sizeof(seed) - 1), (ssize_t)sizeof(seed) - 1);
	close(fd);
	fx_open_with(fx, path);
	unlink(path);
}

/* Puts every document of yaml into the store as it is (status included). */
static void put(struct fixture *fx, const char *yaml)
{
	struct manifest m;
	struct cfs_err err;
	size_t i;
	int rc = manifest_decode(yaml, strlen(yaml), "test", &m, &err);
	ck_assert_msg(rc == 0, "decode: %s", err.msg);
	cluster_lock(fx->cl);
	cluster_pause(fx->cl, 1); /* the objects stay exactly as written */
	struct store *s = cluster_store(fx->cl);
	for (i = 0; i < m.ndocs; i++) {
		json_t *d = m.docs[i];
		const struct kind *k = store_kind(s, jstr_or(d, "kind", ""));
		if (!k)
			k = store_kind_register(s, jstr(d, "kind"), jstr_or(d, "apiVersion", "v1"),
						jnamespace(d) != NULL, NULL);
		ck_assert_ptr_null(store_get(s, k, jnamespace(d), jname(d)));
		store_insert(s, k, json_deep_copy(d), cluster_now_ms(fx->cl));
	}
	cluster_unlock(fx->cl);
	manifest_release(&m);
}

/* render_table of a kind; the caller frees the text. */
static char *table(struct fixture *fx, const char *kind, const char *ns, int wide, int64_t now)
{
	struct strbuf sb = STRBUF_INIT;
	cluster_lock(fx->cl);
	const struct kind *k = store_kind(cluster_store(fx->cl), kind);
	ck_assert_ptr_nonnull(k);
	render_table(fx->cl, k, ns, wide, now, &sb);
	cluster_unlock(fx->cl);
	return sb_detach(&sb, NULL);
}

#define assert_table(fx, kind, ns, wide, now, want)                                                \
	do {                                                                                       \
		char *got_ = table((fx), (kind), (ns), (wide), (now));                             \
		ck_assert_str_eq(got_, (want));                                                    \
		free(got_);                                                                        \
	} while (0)

static char *metrics(struct fixture *fx)
{
	struct strbuf sb = STRBUF_INIT;
	cluster_lock(fx->cl);
	render_metrics(fx->cl, &sb);
	cluster_unlock(fx->cl);
	return sb_detach(&sb, NULL);
}

/* ---- render_age: every branch of HumanDuration ---- */

static const char *age(int64_t ms)
{
	static char buf[32];
	render_age(ms, buf, sizeof(buf));
	return buf;
}

START_TEST(age_branches)
{
	ck_assert_str_eq(age(-2 * SEC), "<invalid>");
	ck_assert_str_eq(age(-3 * DAY), "<invalid>");
	ck_assert_str_eq(age(-1999), "0s"); /* int(-1.999) is -1: tolerated skew */
	ck_assert_str_eq(age(-SEC), "0s");
	ck_assert_str_eq(age(0), "0s");
	ck_assert_str_eq(age(999), "0s");
	ck_assert_str_eq(age(17 * SEC), "17s");
	ck_assert_str_eq(age(119 * SEC + 999), "119s");
	ck_assert_str_eq(age(2 * MIN), "2m");
	ck_assert_str_eq(age(2 * MIN + 5 * SEC), "2m5s");
	ck_assert_str_eq(age(4 * MIN + 39 * SEC), "4m39s");
	ck_assert_str_eq(age(9 * MIN + 59 * SEC), "9m59s");
	ck_assert_str_eq(age(10 * MIN + 59 * SEC), "10m");
	ck_assert_str_eq(age(95 * MIN), "95m");
	ck_assert_str_eq(age(179 * MIN + 59 * SEC), "179m");
	ck_assert_str_eq(age(3 * HOUR), "3h");
	ck_assert_str_eq(age(4 * HOUR + 30 * MIN), "4h30m");
	ck_assert_str_eq(age(7 * HOUR + 59 * MIN + 59 * SEC), "7h59m");
	ck_assert_str_eq(age(8 * HOUR), "8h");
	ck_assert_str_eq(age(47 * HOUR + 59 * MIN), "47h");
	ck_assert_str_eq(age(48 * HOUR), "2d");
	ck_assert_str_eq(age(3 * DAY + 4 * HOUR), "3d4h");
	ck_assert_str_eq(age(7 * DAY + 23 * HOUR + 59 * MIN), "7d23h");
	ck_assert_str_eq(age(8 * DAY + 23 * HOUR), "8d");
	ck_assert_str_eq(age(400 * DAY), "400d");
	ck_assert_str_eq(age(729 * DAY + 23 * HOUR), "729d");
	ck_assert_str_eq(age(730 * DAY), "2y");
	ck_assert_str_eq(age((3 * 365 + 27) * DAY), "3y27d");
	ck_assert_str_eq(age((8 * 365 - 1) * DAY), "7y364d");
	ck_assert_str_eq(age(8 * 365 * DAY), "8y");
	ck_assert_str_eq(age((9 * 365 + 100) * DAY), "9y");
}
END_TEST

/* ---- fixtures ---- */
static const char pvcs_yaml[] =
    "apiVersion: v1\n"
    "kind: PersistentVolumeClaim\n"
    "metadata:\n"
    "  name: c-terminating\n"
    "  namespace: t\n"
    "  creationTimestamp: \"2026-01-01T00:00:00Z\"\n"
    "  deletionTimestamp: \"2026-01-01T02:59:00Z\"\n"
    "  finalizers: [kubernetes.io/pvc-protection]\n"
    "  annotations:\n"
    "    volume.beta.kubernetes.io/storage-class: beta\n"
    "spec:\n"
    "  accessModes: [ReadWriteMany]\n"
    "  resources: {requests: {storage: 5Gi}}\n"
    "  storageClassName: standard\n"
    "  volumeName: pv-c\n"
    "  volumeAttributesClassName: gold\n"
    "  volumeMode: Block\n"
    "status:\n"
    "  phase: Bound\n"
    "  capacity: {storage: 5Gi}\n"
    "  accessModes: [ReadWriteMany]\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: PersistentVolumeClaim\n"
    "metadata: {name: a-bound, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  accessModes: [ReadWriteOnce]\n"
    "  resources: {requests: {storage: 1Gi}}\n"
    "  storageClassName: standard\n"
    "  volumeName: pv-a\n"
    "  volumeMode: Filesystem\n"
    "status:\n"
    "  phase: Bound\n"
    "  capacity: {storage: 1.5Gi}\n"
    "  accessModes: [ReadWriteOnce, ReadOnlyMany, ReadWriteOnce]\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: PersistentVolumeClaim\n"
    "metadata: {name: d-lost, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  accessModes: [ReadWriteOnce]\n"
    "  resources: {requests: {storage: 1Gi}}\n"
    "  storageClassName: standard\n"
    "  volumeName: pv-gone\n"
    "status: {phase: Lost}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: PersistentVolumeClaim\n"
    "metadata: {name: b-pending, namespace: t, creationTimestamp: \"2026-01-01T02:00:00Z\"}\n"
    "spec:\n"
    "  accessModes: [ReadWriteOnce]\n"
    "  resources: {requests: {storage: 1Gi}}\n"
    "  storageClassName: slow\n"
    "status:\n"
    "  phase: Pending\n"
    "  capacity: {storage: 1Gi}\n"
    "  accessModes: [ReadWriteOnce]\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: PersistentVolumeClaim\n"
    "metadata: {name: other-namespace, namespace: u, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  accessModes: [ReadWriteOnce]\n"
    "  resources: {requests: {storage: 1Gi}}\n"
    "status: {phase: Pending}\n";

static const char demo_yaml[] =
    "apiVersion: v1\n"
    "kind: PersistentVolumeClaim\n"
    "metadata: {name: demo-pvc-default-sc, namespace: demo, creationTimestamp: "
    "\"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  accessModes: [ReadWriteOnce]\n"
    "  resources: {requests: {storage: 10Gi}}\n"
    "  storageClassName: hostpath\n"
    "  volumeName: pvc-4dd47494-6dfe-4cb0-8662-c63dbaf2bb31\n"
    "  volumeMode: Filesystem\n"
    "status:\n"
    "  phase: Bound\n"
    "  capacity: {storage: 10Gi}\n"
    "  accessModes: [ReadWriteOnce]\n"
    "---\n"
    "apiVersion: storage.k8s.io/v1\n"
    "kind: StorageClass\n"
    "metadata:\n"
    "  name: standard\n"
    "  creationTimestamp: \"2026-01-01T00:00:00Z\"\n"
    "  annotations: {storageclass.kubernetes.io/is-default-class: \"true\"}\n"
    "provisioner: rancher.io/local-path\n"
    "reclaimPolicy: Delete\n"
    "volumeBindingMode: WaitForFirstConsumer\n";

static const char pvs_yaml[] =
    "apiVersion: v1\n"
    "kind: PersistentVolume\n"
    "metadata: {name: pv-c, creationTimestamp: \"2026-01-01T00:00:00Z\", deletionTimestamp: "
    "\"2026-01-01T04:00:00Z\"}\n"
    "spec:\n"
    "  capacity: {storage: 10G}\n"
    "  accessModes: [ReadWriteOnce]\n"
    "  persistentVolumeReclaimPolicy: Delete\n"
    "  storageClassName: fast\n"
    "  volumeAttributesClassName: silver\n"
    "  csi: {driver: x.io/fast, volumeHandle: c}\n"
    "status: {phase: Failed, reason: VolumeFailedDelete, message: \"backend refused\"}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: PersistentVolume\n"
    "metadata: {name: pv-a, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  capacity: {storage: 1Gi}\n"
    "  accessModes: [ReadWriteOnce]\n"
    "  persistentVolumeReclaimPolicy: Delete\n"
    "  claimRef: {kind: PersistentVolumeClaim, namespace: t, name: a-bound, uid: 1234}\n"
    "  storageClassName: standard\n"
    "  volumeMode: Filesystem\n"
    "  hostPath: {path: /tmp/a}\n"
    "status: {phase: Bound}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: PersistentVolume\n"
    "metadata: {name: pv-b, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  capacity: {storage: 500Mi}\n"
    "  accessModes: [ReadWriteMany, ReadOnlyMany, ReadWriteOncePod]\n"
    "  persistentVolumeReclaimPolicy: Retain\n"
    "  claimRef: {namespace: t, name: old}\n"
    "  storageClassName: \"\"\n"
    "  nfs: {server: nfs.example.com, path: /b}\n"
    "status: {phase: Released}\n";

static const char scs_yaml[] =
    "apiVersion: storage.k8s.io/v1\n"
    "kind: StorageClass\n"
    "metadata:\n"
    "  name: standard\n"
    "  creationTimestamp: \"2022-12-09T04:00:00Z\"\n"
    "  annotations: {storageclass.kubernetes.io/is-default-class: \"true\"}\n"
    "provisioner: claimfs.io/simulated\n"
    "reclaimPolicy: Delete\n"
    "volumeBindingMode: Immediate\n"
    "allowVolumeExpansion: false\n"
    "---\n"
    "apiVersion: storage.k8s.io/v1\n"
    "kind: StorageClass\n"
    "metadata:\n"
    "  name: legacy\n"
    "  creationTimestamp: \"2024-11-30T04:00:00Z\"\n"
    "  annotations: {storageclass.beta.kubernetes.io/is-default-class: \"true\"}\n"
    "provisioner: kubernetes.io/no-provisioner\n"
    "reclaimPolicy: Retain\n"
    "volumeBindingMode: WaitForFirstConsumer\n"
    "---\n"
    "apiVersion: storage.k8s.io/v1\n"
    "kind: StorageClass\n"
    "metadata:\n"
    "  name: fast\n"
    "  creationTimestamp: \"2026-01-01T00:00:00Z\"\n"
    "  annotations: {storageclass.kubernetes.io/is-default-class: \"false\"}\n"
    "provisioner: x.io/fast\n"
    "allowVolumeExpansion: true\n";

static const char workloads_yaml[] =
    "apiVersion: apps/v1\n"
    "kind: StatefulSet\n"
    "metadata: {name: web, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  replicas: 3\n"
    "  serviceName: web\n"
    "  selector: {matchLabels: {app: web}}\n"
    "  template:\n"
    "    metadata: {labels: {app: web}}\n"
    "    spec:\n"
    "      containers:\n"
    "      - {name: nginx, image: \"nginx:1.25\"}\n"
    "      - {name: sidecar, image: \"busybox:1.36\"}\n"
    "status: {replicas: 3, readyReplicas: 2}\n"
    "---\n"
    "apiVersion: apps/v1\n"
    "kind: StatefulSet\n"
    "metadata: {name: db, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  replicas: 0\n"
    "  selector: {matchLabels: {app: db}}\n"
    "  template:\n"
    "    metadata: {labels: {app: db}}\n"
    "    spec:\n"
    "      containers: [{name: postgres, image: \"postgres:16\"}]\n"
    "---\n"
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "metadata: {name: api, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  replicas: 2\n"
    "  selector:\n"
    "    matchLabels: {tier: backend, app: api}\n"
    "    matchExpressions:\n"
    "    - {key: env, operator: In, values: [prod, dev]}\n"
    "    - {key: canary, operator: DoesNotExist}\n"
    "  template:\n"
    "    metadata: {labels: {app: api, tier: backend, env: prod}}\n"
    "    spec:\n"
    "      containers: [{name: api, image: \"example/api:v2\"}]\n"
    "status: {replicas: 2, readyReplicas: 1, updatedReplicas: 2, availableReplicas: 1}\n"
    "---\n"
    "apiVersion: apps/v1\n"
    "kind: ReplicaSet\n"
    "metadata: {name: api-7c9f, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  replicas: 2\n"
    "  selector: {matchLabels: {pod-template-hash: 7c9f, app: api}}\n"
    "  template:\n"
    "    metadata: {labels: {app: api, pod-template-hash: 7c9f}}\n"
    "    spec:\n"
    "      containers: [{name: api, image: \"example/api:v2\"}]\n"
    "status: {replicas: 2, readyReplicas: 1}\n"
    "---\n"
    "apiVersion: apps/v1\n"
    "kind: ReplicaSet\n"
    "metadata: {name: empty-rs, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  replicas: 0\n";

static const char pods_yaml[] =
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: p-running, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  nodeName: node-1\n"
    "  containers: [{name: app, image: nginx}]\n"
    "status:\n"
    "  phase: Running\n"
    "  podIP: 10.244.1.5\n"
    "  podIPs: [{ip: 10.244.1.5}]\n"
    "  conditions: [{type: Ready, status: \"True\"}]\n"
    "  containerStatuses:\n"
    "  - {name: app, ready: true, restartCount: 0, started: true, state: {running: {startedAt: "
    "\"2026-01-01T00:00:01Z\"}}}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: p-creating, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  nodeName: node-2\n"
    "  containers: [{name: a, image: nginx}, {name: b, image: nginx}]\n"
    "status:\n"
    "  phase: Pending\n"
    "  containerStatuses:\n"
    "  - {name: a, ready: false, restartCount: 0, state: {waiting: {reason: ContainerCreating}}}\n"
    "  - {name: b, ready: false, restartCount: 0, state: {waiting: {reason: ContainerCreating}}}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: p-pending, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  containers: [{name: app, image: nginx}]\n"
    "status: {phase: Pending}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: p-gated, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  containers: [{name: app, image: nginx}]\n"
    "  schedulingGates: [{name: example.com/wait}]\n"
    "status:\n"
    "  phase: Pending\n"
    "  conditions: [{type: PodScheduled, status: \"False\", reason: SchedulingGated}]\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: p-init, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  nodeName: node-1\n"
    "  initContainers: [{name: init-db, image: busybox}]\n"
    "  containers: [{name: app, image: nginx}]\n"
    "status:\n"
    "  phase: Pending\n"
    "  podIPs: [{ip: 10.244.1.10}]\n"
    "  conditions: [{type: Initialized, status: \"False\"}]\n"
    "  initContainerStatuses:\n"
    "  - {name: init-db, ready: false, restartCount: 0, state: {waiting: {reason: "
    "PodInitializing}}}\n"
    "  containerStatuses:\n"
    "  - {name: app, ready: false, restartCount: 0, state: {waiting: {reason: PodInitializing}}}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: p-crash, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  nodeName: node-1\n"
    "  containers: [{name: app, image: nginx}]\n"
    "status:\n"
    "  phase: Running\n"
    "  podIPs: [{ip: 10.244.1.7}]\n"
    "  containerStatuses:\n"
    "  - name: app\n"
    "    ready: false\n"
    "    restartCount: 4\n"
    "    lastState: {terminated: {exitCode: 1, reason: Error, finishedAt: "
    "\"2026-01-01T00:05:00Z\"}}\n"
    "    state: {waiting: {reason: CrashLoopBackOff}}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: p-done, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\", "
    "deletionTimestamp: \"2026-01-01T00:09:00Z\"}\n"
    "spec:\n"
    "  nodeName: node-1\n"
    "  containers: [{name: app, image: busybox}]\n"
    "status:\n"
    "  phase: Succeeded\n"
    "  podIPs: [{ip: 10.244.1.8}]\n"
    "  containerStatuses:\n"
    "  - {name: app, ready: false, restartCount: 0, state: {terminated: {exitCode: 0, reason: "
    "Completed}}}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: p-exit, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  nodeName: node-1\n"
    "  containers: [{name: app, image: busybox}]\n"
    "status:\n"
    "  phase: Failed\n"
    "  podIPs: [{ip: 10.244.1.9}]\n"
    "  containerStatuses:\n"
    "  - {name: app, ready: false, restartCount: 0, state: {terminated: {exitCode: 137}}}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: p-term, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\", "
    "deletionTimestamp: \"2026-01-01T00:09:30Z\"}\n"
    "spec:\n"
    "  nodeName: node-2\n"
    "  containers: [{name: app, image: nginx}]\n"
    "status:\n"
    "  phase: Running\n"
    "  podIPs: [{ip: 10.244.2.9}]\n"
    "  conditions: [{type: Ready, status: \"True\"}]\n"
    "  containerStatuses:\n"
    "  - {name: app, ready: true, restartCount: 0, state: {running: {}}}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: p-lost, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\", "
    "deletionTimestamp: \"2026-01-01T00:09:30Z\"}\n"
    "spec:\n"
    "  nodeName: node-3\n"
    "  containers: [{name: app, image: nginx}]\n"
    "status:\n"
    "  phase: Running\n"
    "  reason: NodeLost\n"
    "  podIPs: [{ip: 10.244.3.2}]\n"
    "  containerStatuses:\n"
    "  - {name: app, ready: true, restartCount: 0, state: {running: {}}}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: p-gates, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  nodeName: node-2\n"
    "  containers: [{name: app, image: nginx}]\n"
    "  readinessGates: [{conditionType: example.com/ready}, {conditionType: example.com/lb}]\n"
    "status:\n"
    "  phase: Running\n"
    "  nominatedNodeName: node-3\n"
    "  podIPs: [{ip: 10.244.2.4}, {ip: \"fd00::4\"}]\n"
    "  conditions:\n"
    "  - {type: example.com/ready, status: \"True\"}\n"
    "  - {type: example.com/lb, status: \"False\"}\n"
    "  - {type: Ready, status: \"False\"}\n"
    "  containerStatuses:\n"
    "  - {name: app, ready: true, restartCount: 0, state: {running: {}}}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: p-sidecar, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  nodeName: node-1\n"
    "  initContainers: [{name: log, image: busybox, restartPolicy: Always}]\n"
    "  containers: [{name: app, image: nginx}]\n"
    "status:\n"
    "  phase: Running\n"
    "  podIPs: [{ip: 10.244.1.6}]\n"
    "  conditions: [{type: Initialized, status: \"True\"}, {type: Ready, status: \"True\"}]\n"
    "  initContainerStatuses:\n"
    "  - {name: log, ready: true, started: true, restartCount: 0, state: {running: {}}}\n"
    "  containerStatuses:\n"
    "  - {name: app, ready: true, started: true, restartCount: 0, state: {running: {}}}\n";

static const char services_yaml[] =
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: db, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  type: ClusterIP\n"
    "  clusterIP: None\n"
    "  clusterIPs: [None]\n"
    "  selector: {app: db}\n"
    "  ports: [{port: 5432, protocol: TCP, targetPort: 5432}]\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: lb, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  type: LoadBalancer\n"
    "  clusterIPs: [10.96.0.20]\n"
    "  selector: {tier: front, app: web}\n"
    "  ports:\n"
    "  - {name: http, port: 80, nodePort: 30080, protocol: TCP}\n"
    "  - {name: https, port: 443, nodePort: 30443, protocol: TCP}\n"
    "status: {loadBalancer: {}}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: lb2, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  type: LoadBalancer\n"
    "  clusterIPs: [10.96.0.21]\n"
    "  ports: [{port: 8080, protocol: UDP}]\n"
    "status:\n"
    "  loadBalancer:\n"
    "    ingress: [{hostname: a-very-long-hostname.example.com}, {ip: 203.0.113.10}]\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: ext, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec: {type: ExternalName, externalName: db.example.com}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: np, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec:\n"
    "  type: NodePort\n"
    "  clusterIPs: [10.96.0.30]\n"
    "  externalIPs: [198.51.100.7]\n"
    "  selector: {app: np}\n"
    "  ports: [{port: 80, nodePort: 30000, protocol: TCP}]\n";

static const char nodes_yaml[] =
    "apiVersion: v1\n"
    "kind: Node\n"
    "metadata:\n"
    "  name: node-1\n"
    "  creationTimestamp: \"2026-01-01T00:00:00Z\"\n"
    "  labels: {node-role.kubernetes.io/master: \"\", node-role.kubernetes.io/control-plane: \"\", "
    "kubernetes.io/hostname: node-1}\n"
    "status:\n"
    "  conditions: [{type: MemoryPressure, status: \"False\"}, {type: Ready, status: \"True\"}]\n"
    "  addresses: [{type: InternalIP, address: 192.168.49.2}, {type: Hostname, address: node-1}]\n"
    "  nodeInfo: {kubeletVersion: v1.30.0-claimfs, containerRuntimeVersion: "
    "\"claimfs://simulated\"}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Node\n"
    "metadata:\n"
    "  name: node-2\n"
    "  creationTimestamp: \"2026-01-01T00:00:00Z\"\n"
    "  labels: {kubernetes.io/role: worker}\n"
    "spec: {unschedulable: true}\n"
    "status:\n"
    "  conditions: [{type: Ready, status: Unknown}]\n"
    "  addresses: [{type: InternalIP, address: 192.168.49.3}, {type: ExternalIP, address: "
    "203.0.113.5}]\n"
    "  nodeInfo:\n"
    "    kubeletVersion: v1.30.0-claimfs\n"
    "    osImage: Debian GNU/Linux 12 (bookworm)\n"
    "    kernelVersion: 6.1.0-18-amd64\n"
    "    containerRuntimeVersion: \"containerd://1.7.13\"\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Node\n"
    "metadata: {name: node-3, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n";

static const char misc_yaml[] =
    "apiVersion: v1\n"
    "kind: Namespace\n"
    "metadata: {name: t, creationTimestamp: \"2026-01-01T00:00:00Z\", deletionTimestamp: "
    "\"2026-01-08T00:00:00Z\"}\n"
    "status: {phase: Terminating}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: ConfigMap\n"
    "metadata: {name: cm1, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "data: {a: \"1\", b: \"2\"}\n"
    "binaryData: {c: AAEC}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: ConfigMap\n"
    "metadata: {name: cm2, namespace: t}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Secret\n"
    "metadata: {name: s1, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "type: kubernetes.io/tls\n"
    "data: {tls.crt: YQ==, tls.key: Yg==}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Secret\n"
    "metadata: {name: s2, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "data: {x: YQ==}\n"
    "stringData: {x: a, y: b}\n"
    "---\n"
    "apiVersion: example.com/v1\n"
    "kind: Widget\n"
    "metadata: {name: w1, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "---\n"
    "apiVersion: example.com/v1\n"
    "kind: Widget\n"
    "metadata: {name: w0, namespace: t}\n";

static const char allns_yaml[] =
    "apiVersion: v1\n"
    "kind: PersistentVolumeClaim\n"
    "metadata: {name: x, namespace: t, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec: {storageClassName: slow, accessModes: [ReadWriteOnce], resources: {requests: {storage: "
    "1Gi}}}\n"
    "status: {phase: Pending}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: PersistentVolumeClaim\n"
    "metadata: {name: a, namespace: u, creationTimestamp: \"2026-01-01T00:00:00Z\"}\n"
    "spec: {storageClassName: slow, accessModes: [ReadWriteOnce], resources: {requests: {storage: "
    "1Gi}}}\n"
    "status: {phase: Pending}\n";

static const char metrics_yaml[] =
    "apiVersion: storage.k8s.io/v1\n"
    "kind: StorageClass\n"
    "metadata:\n"
    "  name: fast\n"
    "  annotations: {storageclass.kubernetes.io/is-default-class: \"true\"}\n"
    "provisioner: claimfs.io/simulated\n"
    "reclaimPolicy: Retain\n"
    "volumeBindingMode: WaitForFirstConsumer\n"
    "parameters: {capacity: 10Gi}\n"
    "---\n"
    "apiVersion: storage.k8s.io/v1\n"
    "kind: StorageClass\n"
    "metadata: {name: plain}\n"
    "provisioner: example.com/nfs\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: PersistentVolumeClaim\n"
    "metadata: {name: old, namespace: u, deletionTimestamp: \"2026-01-01T00:10:00Z\", finalizers: "
    "[kubernetes.io/pvc-protection]}\n"
    "spec:\n"
    "  accessModes: [ReadWriteMany, ReadOnlyMany]\n"
    "  resources: {requests: {storage: 1.5Gi}}\n"
    "  storageClassName: \"\"\n"
    "status: {phase: Pending}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: PersistentVolumeClaim\n"
    "metadata: {name: data-web-0, namespace: t}\n"
    "spec:\n"
    "  accessModes: [ReadWriteOnce, ReadWriteOnce]\n"
    "  resources: {requests: {storage: 1Gi}}\n"
    "  storageClassName: fast\n"
    "  volumeName: pv-1\n"
    "  volumeMode: Filesystem\n"
    "status:\n"
    "  phase: Bound\n"
    "  capacity: {storage: 1Gi}\n"
    "  conditions: [{type: Resizing, status: \"True\"}, {type: Resizing, status: \"False\"}]\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: PersistentVolumeClaim\n"
    "metadata:\n"
    "  name: beta\n"
    "  namespace: t\n"
    "  annotations: {volume.beta.kubernetes.io/storage-class: legacy}\n"
    "spec:\n"
    "  resources: {requests: {storage: 100Mi}}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: PersistentVolume\n"
    "metadata: {name: pv-3}\n"
    "spec:\n"
    "  capacity: {storage: 500Mi}\n"
    "  persistentVolumeReclaimPolicy: Recycle\n"
    "  storageClassName: nfs-static\n"
    "  claimRef: {namespace: u, name: gone}\n"
    "  nfs:\n"
    "    server: nfs.example.com\n"
    "    path: \"/exports/\\\"a\\\"\\\\b\\n\"\n"
    "status: {phase: Released}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: PersistentVolume\n"
    "metadata: {name: pv-1}\n"
    "spec:\n"
    "  capacity: {storage: 1Gi}\n"
    "  accessModes: [ReadWriteOnce]\n"
    "  persistentVolumeReclaimPolicy: Delete\n"
    "  storageClassName: manual\n"
    "  claimRef: {namespace: t, name: data-web-0}\n"
    "  csi: {driver: claimfs.io/simulated, volumeHandle: vol-1}\n"
    "status: {phase: Bound}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: PersistentVolume\n"
    "metadata: {name: pv-2}\n"
    "spec:\n"
    "  capacity: {storage: 5Gi}\n"
    "  accessModes: [ReadWriteOnce, ReadOnlyMany]\n"
    "  persistentVolumeReclaimPolicy: Retain\n"
    "  hostPath: {path: /mnt/data, type: DirectoryOrCreate}\n"
    "status: {phase: Available}\n"
    "---\n"
    "apiVersion: apps/v1\n"
    "kind: StatefulSet\n"
    "metadata: {name: web, namespace: t}\n"
    "spec:\n"
    "  replicas: 3\n"
    "  serviceName: web\n"
    "  ordinals: {start: 5}\n"
    "  persistentVolumeClaimRetentionPolicy: {whenDeleted: Retain, whenScaled: Delete}\n"
    "  selector: {matchLabels: {app: web}}\n"
    "  template:\n"
    "    metadata: {labels: {app: web}}\n"
    "    spec: {containers: [{name: nginx, image: nginx}]}\n"
    "status: {replicas: 3, readyReplicas: 2, currentReplicas: 3, updatedReplicas: 1, "
    "availableReplicas: 2}\n"
    "---\n"
    "apiVersion: apps/v1\n"
    "kind: StatefulSet\n"
    "metadata: {name: lone, namespace: t}\n"
    "spec:\n"
    "  selector: {matchLabels: {app: lone}}\n"
    "  template:\n"
    "    metadata: {labels: {app: lone}}\n"
    "    spec: {containers: [{name: c, image: busybox}]}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: web-1, namespace: t, uid: uid-web-1}\n"
    "spec: {containers: [{name: nginx, image: nginx}]}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: web-0, namespace: t, uid: uid-web-0}\n"
    "spec:\n"
    "  containers: [{name: nginx, image: nginx}]\n"
    "  volumes:\n"
    "  - {name: www, persistentVolumeClaim: {claimName: data-web-0}}\n"
    "  - {name: conf, configMap: {name: web-conf}}\n"
    "  - {name: ro, persistentVolumeClaim: {claimName: shared, readOnly: true}}\n"
    "  - name: scratch\n"
    "    ephemeral:\n"
    "      volumeClaimTemplate:\n"
    "        spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n"
    "status: {phase: Running}\n";
/* ---- expected tables ---- */
static const char want_pvc[] = "NAME            STATUS        VOLUME    CAPACITY   ACCESS MODES   "
			       "STORAGECLASS   VOLUMEATTRIBUTESCLASS   AGE\n"
			       "a-bound         Bound         pv-a      1536Mi     RWO,ROX        "
			       "standard       <unset>                 3h\n"
			       "b-pending       Pending                                           "
			       "slow           <unset>                 60m\n"
			       "c-terminating   Terminating   pv-c      5Gi        RWX            "
			       "beta           gold                    3h\n"
			       "d-lost          Lost          pv-gone   0                         "
			       "standard       <unset>                 3h\n";

static const char want_pvc_wide[] =
    "NAME            STATUS        VOLUME    CAPACITY   ACCESS MODES   STORAGECLASS   "
    "VOLUMEATTRIBUTESCLASS   AGE   VOLUMEMODE\n"
    "a-bound         Bound         pv-a      1536Mi     RWO,ROX        standard       <unset>      "
    "           3h    Filesystem\n"
    "b-pending       Pending                                           slow           <unset>      "
    "           60m   <unset>\n"
    "c-terminating   Terminating   pv-c      5Gi        RWX            beta           gold         "
    "           3h    Block\n"
    "d-lost          Lost          pv-gone   0                         standard       <unset>      "
    "           3h    <unset>\n";

static const char want_pv[] =
    "NAME   CAPACITY   ACCESS MODES   RECLAIM POLICY   STATUS        CLAIM       STORAGECLASS   "
    "VOLUMEATTRIBUTESCLASS   REASON               AGE\n"
    "pv-a   1Gi        RWO            Delete           Bound         t/a-bound   standard       "
    "<unset>                                      4h30m\n"
    "pv-b   500Mi      ROX,RWX,RWOP   Retain           Released      t/old                      "
    "<unset>                                      4h30m\n"
    "pv-c   10G        RWO            Delete           Terminating               fast           "
    "silver                  VolumeFailedDelete   4h30m\n";

static const char want_pv_wide[] =
    "NAME   CAPACITY   ACCESS MODES   RECLAIM POLICY   STATUS        CLAIM       STORAGECLASS   "
    "VOLUMEATTRIBUTESCLASS   REASON               AGE     VOLUMEMODE\n"
    "pv-a   1Gi        RWO            Delete           Bound         t/a-bound   standard       "
    "<unset>                                      4h30m   Filesystem\n"
    "pv-b   500Mi      ROX,RWX,RWOP   Retain           Released      t/old                      "
    "<unset>                                      4h30m   <unset>\n"
    "pv-c   10G        RWO            Delete           Terminating               fast           "
    "silver                  VolumeFailedDelete   4h30m   <unset>\n";

static const char want_sc[] = "NAME                 PROVISIONER                    RECLAIMPOLICY   "
			      "VOLUMEBINDINGMODE      ALLOWVOLUMEEXPANSION   AGE\n"
			      "fast                 x.io/fast                      Delete          "
			      "Immediate              true                   3d4h\n"
			      "legacy (default)     kubernetes.io/no-provisioner   Retain          "
			      "WaitForFirstConsumer   false                  400d\n"
			      "standard (default)   claimfs.io/simulated           Delete          "
			      "Immediate              false                  3y27d\n";

static const char want_sts[] = "NAME   READY   AGE\n"
			       "db     0/0     2m5s\n"
			       "web    2/3     2m5s\n";

static const char want_sts_wide[] =
    "NAME   READY   AGE    CONTAINERS      IMAGES\n"
    "db     0/0     2m5s   postgres        postgres:16\n"
    "web    2/3     2m5s   nginx,sidecar   nginx:1.25,busybox:1.36\n";

static const char want_deploy[] = "NAME   READY   UP-TO-DATE   AVAILABLE   AGE\n"
				  "api    1/2     2            1           95m\n";

static const char want_deploy_wide[] =
    "NAME   READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS   IMAGES           SELECTOR\n"
    "api    1/2     2            1           95m   api          example/api:v2   "
    "app=api,!canary,env in (dev,prod),tier=backend\n";

static const char want_rs_wide[] =
    "NAME       DESIRED   CURRENT   READY   AGE   CONTAINERS   IMAGES           SELECTOR\n"
    "api-7c9f   2         2         1       95m   api          example/api:v2   "
    "app=api,pod-template-hash=7c9f\n"
    "empty-rs   0         0         0       95m                                 <none>\n";

static const char want_pods[] = "NAME         READY   STATUS              RESTARTS     AGE\n"
				"p-crash      0/1     CrashLoopBackOff    4 (5m ago)   10m\n"
				"p-creating   0/2     ContainerCreating   0            10m\n"
				"p-done       0/1     Completed           0            10m\n"
				"p-exit       0/1     ExitCode:137        0            10m\n"
				"p-gated      0/1     SchedulingGated     0            10m\n"
				"p-gates      1/1     Running             0            10m\n"
				"p-init       0/1     Init:0/1            0            10m\n"
				"p-lost       1/1     Unknown             0            10m\n"
				"p-pending    0/1     Pending             0            10m\n"
				"p-running    1/1     Running             0            10m\n"
				"p-sidecar    2/2     Running             0            10m\n"
				"p-term       1/1     Terminating         0            10m\n";

static const char want_pods_wide[] = "NAME         READY   STATUS              RESTARTS     AGE   "
				     "IP            NODE     NOMINATED NODE   READINESS GATES\n"
				     "p-crash      0/1     CrashLoopBackOff    4 (5m ago)   10m   "
				     "10.244.1.7    node-1   <none>           <none>\n"
				     "p-creating   0/2     ContainerCreating   0            10m   "
				     "<none>        node-2   <none>           <none>\n"
				     "p-done       0/1     Completed           0            10m   "
				     "10.244.1.8    node-1   <none>           <none>\n"
				     "p-exit       0/1     ExitCode:137        0            10m   "
				     "10.244.1.9    node-1   <none>           <none>\n"
				     "p-gated      0/1     SchedulingGated     0            10m   "
				     "<none>        <none>   <none>           <none>\n"
				     "p-gates      1/1     Running             0            10m   "
				     "10.244.2.4    node-2   node-3           1/2\n"
				     "p-init       0/1     Init:0/1            0            10m   "
				     "10.244.1.10   node-1   <none>           <none>\n"
				     "p-lost       1/1     Unknown             0            10m   "
				     "10.244.3.2    node-3   <none>           <none>\n"
				     "p-pending    0/1     Pending             0            10m   "
				     "<none>        <none>   <none>           <none>\n"
				     "p-running    1/1     Running             0            10m   "
				     "10.244.1.5    node-1   <none>           <none>\n"
				     "p-sidecar    2/2     Running             0            10m   "
				     "10.244.1.6    node-1   <none>           <none>\n"
				     "p-term       1/1     Terminating         0            10m   "
				     "10.244.2.9    node-2   <none>           <none>\n";

static const char want_svc[] =
    "NAME   TYPE           CLUSTER-IP   EXTERNAL-IP        PORT(S)                      AGE\n"
    "db     ClusterIP      None         <none>             5432/TCP                     45s\n"
    "ext    ExternalName   <none>       db.example.com     <none>                       45s\n"
    "lb     LoadBalancer   10.96.0.20   <pending>          80:30080/TCP,443:30443/TCP   45s\n"
    "lb2    LoadBalancer   10.96.0.21   203.0.113.10,...   8080/UDP                     45s\n"
    "np     NodePort       10.96.0.30   198.51.100.7       80:30000/TCP                 45s\n";

static const char want_svc_wide[] =
    "NAME   TYPE           CLUSTER-IP   EXTERNAL-IP                                     PORT(S)    "
    "                  AGE   SELECTOR\n"
    "db     ClusterIP      None         <none>                                          5432/TCP   "
    "                  45s   app=db\n"
    "ext    ExternalName   <none>       db.example.com                                  <none>     "
    "                  45s   <none>\n"
    "lb     LoadBalancer   10.96.0.20   <pending>                                       "
    "80:30080/TCP,443:30443/TCP   45s   app=web,tier=front\n"
    "lb2    LoadBalancer   10.96.0.21   203.0.113.10,a-very-long-hostname.example.com   8080/UDP   "
    "                  45s   <none>\n"
    "np     NodePort       10.96.0.30   198.51.100.7                                    "
    "80:30000/TCP                 45s   app=np\n";

static const char want_nodes[] =
    "NAME     STATUS                        ROLES                  AGE   VERSION\n"
    "node-1   Ready                         control-plane,master   47h   v1.30.0-claimfs\n"
    "node-2   NotReady,SchedulingDisabled   worker                 47h   v1.30.0-claimfs\n"
    "node-3   Unknown                       <none>                 47h   \n";

static const char want_nodes_wide[] =
    "NAME     STATUS                        ROLES                  AGE   VERSION           "
    "INTERNAL-IP    EXTERNAL-IP   OS-IMAGE                         KERNEL-VERSION   "
    "CONTAINER-RUNTIME\n"
    "node-1   Ready                         control-plane,master   47h   v1.30.0-claimfs   "
    "192.168.49.2   <none>        <unknown>                        <unknown>        "
    "claimfs://simulated\n"
    "node-2   NotReady,SchedulingDisabled   worker                 47h   v1.30.0-claimfs   "
    "192.168.49.3   203.0.113.5   Debian GNU/Linux 12 (bookworm)   6.1.0-18-amd64   "
    "containerd://1.7.13\n"
    "node-3   Unknown                       <none>                 47h                     <none>  "
    "       <none>        <unknown>                        <unknown>        <unknown>\n";

static const char want_ns[] = "NAME      STATUS        AGE\n"
			      "default   Active        8d\n"
			      "t         Terminating   8d\n";

static const char want_cm[] = "NAME   DATA   AGE\n"
			      "cm1    3      8d\n"
			      "cm2    0      <unknown>\n";

static const char want_secret[] = "NAME   TYPE                DATA   AGE\n"
				  "s1     kubernetes.io/tls   2      8d\n"
				  "s2     Opaque              2      8d\n";

static const char want_widget[] = "NAME   AGE\n"
				  "w0     <unknown>\n"
				  "w1     8d\n";

static const char want_allns[] = "NAMESPACE   NAME   STATUS    VOLUME   CAPACITY   ACCESS MODES   "
				 "STORAGECLASS   VOLUMEATTRIBUTESCLASS   AGE\n"
				 "t           x      Pending                                      "
				 "slow           <unset>                 8d\n"
				 "u           a      Pending                                      "
				 "slow           <unset>                 8d\n";

/* Every family, then claimfs_events_total's sample (its value is checked apart). */
static const char want_metrics[] =
    "# HELP kube_persistentvolumeclaim_info [STABLE] Information about persistent volume claim.\n"
    "# TYPE kube_persistentvolumeclaim_info gauge\n"
    "kube_persistentvolumeclaim_info{namespace=\"t\",persistentvolumeclaim=\"beta\",storageclass="
    "\"legacy\",volumename=\"\",volumemode=\"\"} 1\n"
    "kube_persistentvolumeclaim_info{namespace=\"t\",persistentvolumeclaim=\"data-web-0\","
    "storageclass=\"fast\",volumename=\"pv-1\",volumemode=\"Filesystem\"} 1\n"
    "kube_persistentvolumeclaim_info{namespace=\"u\",persistentvolumeclaim=\"old\",storageclass="
    "\"\",volumename=\"\",volumemode=\"\"} 1\n"
    "# HELP kube_persistentvolumeclaim_status_phase [STABLE] The phase the persistent volume claim "
    "is currently in.\n"
    "# TYPE kube_persistentvolumeclaim_status_phase gauge\n"
    "kube_persistentvolumeclaim_status_phase{namespace=\"t\",persistentvolumeclaim=\"data-web-0\","
    "phase=\"Lost\"} 0\n"
    "kube_persistentvolumeclaim_status_phase{namespace=\"t\",persistentvolumeclaim=\"data-web-0\","
    "phase=\"Bound\"} 1\n"
    "kube_persistentvolumeclaim_status_phase{namespace=\"t\",persistentvolumeclaim=\"data-web-0\","
    "phase=\"Pending\"} 0\n"
    "kube_persistentvolumeclaim_status_phase{namespace=\"u\",persistentvolumeclaim=\"old\",phase="
    "\"Lost\"} 0\n"
    "kube_persistentvolumeclaim_status_phase{namespace=\"u\",persistentvolumeclaim=\"old\",phase="
    "\"Bound\"} 0\n"
    "kube_persistentvolumeclaim_status_phase{namespace=\"u\",persistentvolumeclaim=\"old\",phase="
    "\"Pending\"} 1\n"
    "# HELP kube_persistentvolumeclaim_resource_requests_storage_bytes [STABLE] The capacity of "
    "storage requested by the persistent volume claim.\n"
    "# TYPE kube_persistentvolumeclaim_resource_requests_storage_bytes gauge\n"
    "kube_persistentvolumeclaim_resource_requests_storage_bytes{namespace=\"t\","
    "persistentvolumeclaim=\"beta\"} 1.048576e+08\n"
    "kube_persistentvolumeclaim_resource_requests_storage_bytes{namespace=\"t\","
    "persistentvolumeclaim=\"data-web-0\"} 1.073741824e+09\n"
    "kube_persistentvolumeclaim_resource_requests_storage_bytes{namespace=\"u\","
    "persistentvolumeclaim=\"old\"} 1.610612736e+09\n"
    "# HELP kube_persistentvolumeclaim_access_mode [STABLE] The access mode(s) specified by the "
    "persistent volume claim.\n"
    "# TYPE kube_persistentvolumeclaim_access_mode gauge\n"
    "kube_persistentvolumeclaim_access_mode{namespace=\"t\",persistentvolumeclaim=\"data-web-0\","
    "access_mode=\"ReadWriteOnce\"} 1\n"
    "kube_persistentvolumeclaim_access_mode{namespace=\"u\",persistentvolumeclaim=\"old\",access_"
    "mode=\"ReadWriteMany\"} 1\n"
    "kube_persistentvolumeclaim_access_mode{namespace=\"u\",persistentvolumeclaim=\"old\",access_"
    "mode=\"ReadOnlyMany\"} 1\n"
    "# HELP kube_persistentvolumeclaim_status_condition Information about status of different "
    "conditions of persistent volume claim.\n"
    "# TYPE kube_persistentvolumeclaim_status_condition gauge\n"
    "kube_persistentvolumeclaim_status_condition{namespace=\"t\",persistentvolumeclaim=\"data-web-"
    "0\",condition=\"Resizing\",status=\"true\"} 1\n"
    "kube_persistentvolumeclaim_status_condition{namespace=\"t\",persistentvolumeclaim=\"data-web-"
    "0\",condition=\"Resizing\",status=\"false\"} 0\n"
    "kube_persistentvolumeclaim_status_condition{namespace=\"t\",persistentvolumeclaim=\"data-web-"
    "0\",condition=\"Resizing\",status=\"unknown\"} 0\n"
    "# HELP kube_persistentvolumeclaim_deletion_timestamp Unix deletion timestamp\n"
    "# TYPE kube_persistentvolumeclaim_deletion_timestamp gauge\n"
    "kube_persistentvolumeclaim_deletion_timestamp{namespace=\"u\",persistentvolumeclaim=\"old\"} "
    "1.7672262e+09\n"
    "# HELP kube_persistentvolume_claim_ref [STABLE] Information about the Persistent Volume Claim "
    "Reference.\n"
    "# TYPE kube_persistentvolume_claim_ref gauge\n"
    "kube_persistentvolume_claim_ref{persistentvolume=\"pv-1\",name=\"data-web-0\",claim_namespace="
    "\"t\"} 1\n"
    "kube_persistentvolume_claim_ref{persistentvolume=\"pv-3\",name=\"gone\",claim_namespace=\"u\"}"
    " 1\n"
    "# HELP kube_persistentvolume_status_phase [STABLE] The phase indicates if a volume is "
    "available, bound to a claim, or released by a claim.\n"
    "# TYPE kube_persistentvolume_status_phase gauge\n"
    "kube_persistentvolume_status_phase{persistentvolume=\"pv-1\",phase=\"Pending\"} 0\n"
    "kube_persistentvolume_status_phase{persistentvolume=\"pv-1\",phase=\"Available\"} 0\n"
    "kube_persistentvolume_status_phase{persistentvolume=\"pv-1\",phase=\"Bound\"} 1\n"
    "kube_persistentvolume_status_phase{persistentvolume=\"pv-1\",phase=\"Released\"} 0\n"
    "kube_persistentvolume_status_phase{persistentvolume=\"pv-1\",phase=\"Failed\"} 0\n"
    "kube_persistentvolume_status_phase{persistentvolume=\"pv-2\",phase=\"Pending\"} 0\n"
    "kube_persistentvolume_status_phase{persistentvolume=\"pv-2\",phase=\"Available\"} 1\n"
    "kube_persistentvolume_status_phase{persistentvolume=\"pv-2\",phase=\"Bound\"} 0\n"
    "kube_persistentvolume_status_phase{persistentvolume=\"pv-2\",phase=\"Released\"} 0\n"
    "kube_persistentvolume_status_phase{persistentvolume=\"pv-2\",phase=\"Failed\"} 0\n"
    "kube_persistentvolume_status_phase{persistentvolume=\"pv-3\",phase=\"Pending\"} 0\n"
    "kube_persistentvolume_status_phase{persistentvolume=\"pv-3\",phase=\"Available\"} 0\n"
    "kube_persistentvolume_status_phase{persistentvolume=\"pv-3\",phase=\"Bound\"} 0\n"
    "kube_persistentvolume_status_phase{persistentvolume=\"pv-3\",phase=\"Released\"} 1\n"
    "kube_persistentvolume_status_phase{persistentvolume=\"pv-3\",phase=\"Failed\"} 0\n"
    "# HELP kube_persistentvolume_info [STABLE] Information about persistentvolume.\n"
    "# TYPE kube_persistentvolume_info gauge\n"
    "kube_persistentvolume_info{persistentvolume=\"pv-1\",storageclass=\"manual\",gce_persistent_"
    "disk_name=\"\",ebs_volume_id=\"\",azure_disk_name=\"\",fc_wwids=\"\",fc_lun=\"\",fc_target_"
    "wwns=\"\",iscsi_target_portal=\"\",iscsi_iqn=\"\",iscsi_lun=\"\",iscsi_initiator_name=\"\","
    "nfs_server=\"\",nfs_path=\"\",csi_driver=\"claimfs.io/"
    "simulated\",csi_volume_handle=\"vol-1\",local_path=\"\",local_fs=\"\",host_path=\"\",host_"
    "path_type=\"\",reclaim_policy=\"Delete\"} 1\n"
    "kube_persistentvolume_info{persistentvolume=\"pv-2\",storageclass=\"\",gce_persistent_disk_"
    "name=\"\",ebs_volume_id=\"\",azure_disk_name=\"\",fc_wwids=\"\",fc_lun=\"\",fc_target_wwns="
    "\"\",iscsi_target_portal=\"\",iscsi_iqn=\"\",iscsi_lun=\"\",iscsi_initiator_name=\"\",nfs_"
    "server=\"\",nfs_path=\"\",csi_driver=\"\",csi_volume_handle=\"\",local_path=\"\",local_fs="
    "\"\",host_path=\"/mnt/data\",host_path_type=\"DirectoryOrCreate\",reclaim_policy=\"Retain\"} "
    "1\n"
    "kube_persistentvolume_info{persistentvolume=\"pv-3\",storageclass=\"nfs-static\",gce_"
    "persistent_disk_name=\"\",ebs_volume_id=\"\",azure_disk_name=\"\",fc_wwids=\"\",fc_lun=\"\","
    "fc_target_wwns=\"\",iscsi_target_portal=\"\",iscsi_iqn=\"\",iscsi_lun=\"\",iscsi_initiator_"
    "name=\"\",nfs_server=\"nfs.example.com\",nfs_path=\"/exports/"
    "\\\"a\\\"\\\\b\\n\",csi_driver=\"\",csi_volume_handle=\"\",local_path=\"\",local_fs=\"\",host_"
    "path=\"\",host_path_type=\"\",reclaim_policy=\"Recycle\"} 1\n"
    "# HELP kube_persistentvolume_capacity_bytes [STABLE] Persistentvolume capacity in bytes.\n"
    "# TYPE kube_persistentvolume_capacity_bytes gauge\n"
    "kube_persistentvolume_capacity_bytes{persistentvolume=\"pv-1\"} 1.073741824e+09\n"
    "kube_persistentvolume_capacity_bytes{persistentvolume=\"pv-2\"} 5.36870912e+09\n"
    "kube_persistentvolume_capacity_bytes{persistentvolume=\"pv-3\"} 5.24288e+08\n"
    "# HELP kube_persistentvolume_access_mode Access modes of the PersistentVolume.\n"
    "# TYPE kube_persistentvolume_access_mode gauge\n"
    "kube_persistentvolume_access_mode{persistentvolume=\"pv-1\",access_mode=\"ReadWriteOnce\"} 1\n"
    "kube_persistentvolume_access_mode{persistentvolume=\"pv-2\",access_mode=\"ReadWriteOnce\"} 1\n"
    "kube_persistentvolume_access_mode{persistentvolume=\"pv-2\",access_mode=\"ReadOnlyMany\"} 1\n"
    "# HELP kube_storageclass_info [STABLE] Information about storageclass.\n"
    "# TYPE kube_storageclass_info gauge\n"
    "kube_storageclass_info{storageclass=\"fast\",provisioner=\"claimfs.io/"
    "simulated\",reclaim_policy=\"Retain\",volume_binding_mode=\"WaitForFirstConsumer\"} 1\n"
    "kube_storageclass_info{storageclass=\"plain\",provisioner=\"example.com/"
    "nfs\",reclaim_policy=\"Delete\",volume_binding_mode=\"Immediate\"} 1\n"
    "# HELP claimfs_storageclass_pool_capacity_bytes Capacity of the simulated storage backend "
    "pool of a StorageClass (parameters.capacity).\n"
    "# TYPE claimfs_storageclass_pool_capacity_bytes gauge\n"
    "claimfs_storageclass_pool_capacity_bytes{storageclass=\"fast\"} 1.073741824e+10\n"
    "claimfs_storageclass_pool_capacity_bytes{storageclass=\"plain\"} 1.073741824e+11\n"
    "# HELP claimfs_storageclass_pool_allocated_bytes Bytes of a StorageClass pool held by the "
    "volumes provisioned from it, Released ones included.\n"
    "# TYPE claimfs_storageclass_pool_allocated_bytes gauge\n"
    "claimfs_storageclass_pool_allocated_bytes{storageclass=\"fast\"} 0\n"
    "claimfs_storageclass_pool_allocated_bytes{storageclass=\"plain\"} 0\n"
    "# HELP kube_statefulset_replicas [STABLE] Number of desired pods for a StatefulSet.\n"
    "# TYPE kube_statefulset_replicas gauge\n"
    "kube_statefulset_replicas{namespace=\"t\",statefulset=\"web\"} 3\n"
    "# HELP kube_statefulset_status_replicas [STABLE] The number of replicas per StatefulSet.\n"
    "# TYPE kube_statefulset_status_replicas gauge\n"
    "kube_statefulset_status_replicas{namespace=\"t\",statefulset=\"lone\"} 0\n"
    "kube_statefulset_status_replicas{namespace=\"t\",statefulset=\"web\"} 3\n"
    "# HELP kube_statefulset_status_replicas_available [STABLE] The number of available replicas "
    "per StatefulSet.\n"
    "# TYPE kube_statefulset_status_replicas_available gauge\n"
    "kube_statefulset_status_replicas_available{namespace=\"t\",statefulset=\"lone\"} 0\n"
    "kube_statefulset_status_replicas_available{namespace=\"t\",statefulset=\"web\"} 2\n"
    "# HELP kube_statefulset_status_replicas_current [STABLE] The number of current replicas per "
    "StatefulSet.\n"
    "# TYPE kube_statefulset_status_replicas_current gauge\n"
    "kube_statefulset_status_replicas_current{namespace=\"t\",statefulset=\"lone\"} 0\n"
    "kube_statefulset_status_replicas_current{namespace=\"t\",statefulset=\"web\"} 3\n"
    "# HELP kube_statefulset_status_replicas_ready [STABLE] The number of ready replicas per "
    "StatefulSet.\n"
    "# TYPE kube_statefulset_status_replicas_ready gauge\n"
    "kube_statefulset_status_replicas_ready{namespace=\"t\",statefulset=\"lone\"} 0\n"
    "kube_statefulset_status_replicas_ready{namespace=\"t\",statefulset=\"web\"} 2\n"
    "# HELP kube_statefulset_status_replicas_updated [STABLE] The number of updated replicas per "
    "StatefulSet.\n"
    "# TYPE kube_statefulset_status_replicas_updated gauge\n"
    "kube_statefulset_status_replicas_updated{namespace=\"t\",statefulset=\"lone\"} 0\n"
    "kube_statefulset_status_replicas_updated{namespace=\"t\",statefulset=\"web\"} 1\n"
    "# HELP kube_statefulset_persistentvolumeclaim_retention_policy [STABLE] Count of retention "
    "policy for StatefulSet template PVCs\n"
    "# TYPE kube_statefulset_persistentvolumeclaim_retention_policy gauge\n"
    "kube_statefulset_persistentvolumeclaim_retention_policy{namespace=\"t\",statefulset=\"web\","
    "when_deleted=\"Retain\",when_scaled=\"Delete\"} 1\n"
    "# HELP kube_statefulset_ordinals_start [STABLE] Start ordinal of the StatefulSet.\n"
    "# TYPE kube_statefulset_ordinals_start gauge\n"
    "kube_statefulset_ordinals_start{namespace=\"t\",statefulset=\"web\"} 5\n"
    "# HELP kube_pod_status_phase [STABLE] The pods current phase.\n"
    "# TYPE kube_pod_status_phase gauge\n"
    "kube_pod_status_phase{namespace=\"t\",pod=\"web-0\",uid=\"uid-web-0\",phase=\"Pending\"} 0\n"
    "kube_pod_status_phase{namespace=\"t\",pod=\"web-0\",uid=\"uid-web-0\",phase=\"Succeeded\"} 0\n"
    "kube_pod_status_phase{namespace=\"t\",pod=\"web-0\",uid=\"uid-web-0\",phase=\"Failed\"} 0\n"
    "kube_pod_status_phase{namespace=\"t\",pod=\"web-0\",uid=\"uid-web-0\",phase=\"Unknown\"} 0\n"
    "kube_pod_status_phase{namespace=\"t\",pod=\"web-0\",uid=\"uid-web-0\",phase=\"Running\"} 1\n"
    "# HELP kube_pod_spec_volumes_persistentvolumeclaims_info [STABLE] Information about "
    "persistentvolumeclaim volumes in a pod.\n"
    "# TYPE kube_pod_spec_volumes_persistentvolumeclaims_info gauge\n"
    "kube_pod_spec_volumes_persistentvolumeclaims_info{namespace=\"t\",pod=\"web-0\",uid=\"uid-web-"
    "0\",volume=\"www\",persistentvolumeclaim=\"data-web-0\",ephemeral=\"false\"} 1\n"
    "kube_pod_spec_volumes_persistentvolumeclaims_info{namespace=\"t\",pod=\"web-0\",uid=\"uid-web-"
    "0\",volume=\"ro\",persistentvolumeclaim=\"shared\",ephemeral=\"false\"} 1\n"
    "kube_pod_spec_volumes_persistentvolumeclaims_info{namespace=\"t\",pod=\"web-0\",uid=\"uid-web-"
    "0\",volume=\"scratch\",persistentvolumeclaim=\"web-0-scratch\",ephemeral=\"true\"} 1\n"
    "# HELP kube_pod_spec_volumes_persistentvolumeclaims_readonly [STABLE] Describes whether a "
    "persistentvolumeclaim is mounted read only.\n"
    "# TYPE kube_pod_spec_volumes_persistentvolumeclaims_readonly gauge\n"
    "kube_pod_spec_volumes_persistentvolumeclaims_readonly{namespace=\"t\",pod=\"web-0\",uid=\"uid-"
    "web-0\",volume=\"www\",persistentvolumeclaim=\"data-web-0\",ephemeral=\"false\"} 0\n"
    "kube_pod_spec_volumes_persistentvolumeclaims_readonly{namespace=\"t\",pod=\"web-0\",uid=\"uid-"
    "web-0\",volume=\"ro\",persistentvolumeclaim=\"shared\",ephemeral=\"false\"} 1\n"
    "kube_pod_spec_volumes_persistentvolumeclaims_readonly{namespace=\"t\",pod=\"web-0\",uid=\"uid-"
    "web-0\",volume=\"scratch\",persistentvolumeclaim=\"web-0-scratch\",ephemeral=\"true\"} 0\n"
    "# HELP claimfs_events_total Events recorded since the daemon started.\n"
    "# TYPE claimfs_events_total counter\n";

/* ---- tables ---- */

/* The first public output of section 8 of the reference, byte for byte. */
static const char want_demo_pvc[] =
    "NAME                  STATUS   VOLUME                                     CAPACITY   ACCESS "
    "MODES   STORAGECLASS   VOLUMEATTRIBUTESCLASS   AGE\n"
    "demo-pvc-default-sc   Bound    pvc-4dd47494-6dfe-4cb0-8662-c63dbaf2bb31   10Gi       RWO    "
    "        hostpath       <unset>                 17s\n";
static const char want_demo_sc[] =
    "NAME                 PROVISIONER             RECLAIMPOLICY   VOLUMEBINDINGMODE      "
    "ALLOWVOLUMEEXPANSION   AGE\n"
    "standard (default)   rancher.io/local-path   Delete          WaitForFirstConsumer   false  "
    "                4m39s\n";

START_TEST(table_reference_examples)
{
	struct fixture fx;
	open_empty(&fx);
	put(&fx, demo_yaml);
	assert_table(&fx, "PersistentVolumeClaim", "demo", 0, T0_MS + 17 * SEC, want_demo_pvc);
	assert_table(&fx, "StorageClass", NULL, 0, T0_MS + 4 * MIN + 39 * SEC, want_demo_sc);
	fx_close(&fx);
}
END_TEST

START_TEST(table_claims)
{
	struct fixture fx;
	open_empty(&fx);
	put(&fx, pvcs_yaml);
	assert_table(&fx, "PersistentVolumeClaim", "t", 0, T0_MS + 3 * HOUR, want_pvc);
	assert_table(&fx, "PersistentVolumeClaim", "t", 1, T0_MS + 3 * HOUR, want_pvc_wide);
	/* No claims in a namespace: an empty file, as kubectl prints nothing on stdout. */
	assert_table(&fx, "PersistentVolumeClaim", "default", 0, T0_MS, "");
	assert_table(&fx, "PersistentVolumeClaim", "nowhere", 1, T0_MS, "");
	fx_close(&fx);
}
END_TEST

START_TEST(table_all_namespaces)
{
	struct fixture fx;
	open_empty(&fx);
	put(&fx, allns_yaml);
	assert_table(&fx, "PersistentVolumeClaim", NULL, 0, T0_MS + 8 * DAY, want_allns);
	fx_close(&fx);
}
END_TEST

START_TEST(table_volumes)
{
	struct fixture fx;
	open_empty(&fx);
	put(&fx, pvs_yaml);
	assert_table(&fx, "PersistentVolume", NULL, 0, T0_MS + 4 * HOUR + 30 * MIN, want_pv);
	assert_table(&fx, "PersistentVolume", NULL, 1, T0_MS + 4 * HOUR + 30 * MIN, want_pv_wide);
	fx_close(&fx);
}
END_TEST

START_TEST(table_classes)
{
	struct fixture fx;
	open_empty(&fx);
	put(&fx, scs_yaml);
	assert_table(&fx, "StorageClass", NULL, 0, T0_MS + 3 * DAY + 4 * HOUR, want_sc);
	/* No wide columns: -o wide prints the same. */
	assert_table(&fx, "StorageClass", NULL, 1, T0_MS + 3 * DAY + 4 * HOUR, want_sc);
	fx_close(&fx);
}
END_TEST

START_TEST(table_workloads)
{
	struct fixture fx;
	open_empty(&fx);
	put(&fx, workloads_yaml);
	assert_table(&fx, "StatefulSet", "t", 0, T0_MS + 125 * SEC, want_sts);
	assert_table(&fx, "StatefulSet", "t", 1, T0_MS + 125 * SEC, want_sts_wide);
	assert_table(&fx, "Deployment", "t", 0, T0_MS + 95 * MIN, want_deploy);
	assert_table(&fx, "Deployment", "t", 1, T0_MS + 95 * MIN, want_deploy_wide);
	assert_table(&fx, "ReplicaSet", "t", 1, T0_MS + 95 * MIN, want_rs_wide);
	fx_close(&fx);
}
END_TEST

START_TEST(table_pods)
{
	struct fixture fx;
	open_empty(&fx);
	put(&fx, pods_yaml);
	assert_table(&fx, "Pod", "t", 0, T0_MS + 10 * MIN, want_pods);
	assert_table(&fx, "Pod", "t", 1, T0_MS + 10 * MIN, want_pods_wide);
	fx_close(&fx);
}
END_TEST

START_TEST(table_services_nodes)
{
	struct fixture fx;
	open_empty(&fx);
	put(&fx, services_yaml);
	put(&fx, nodes_yaml);
	assert_table(&fx, "Service", "t", 0, T0_MS + 45 * SEC, want_svc);
	assert_table(&fx, "Service", "t", 1, T0_MS + 45 * SEC, want_svc_wide);
	assert_table(&fx, "Node", NULL, 0, T0_MS + 47 * HOUR + 59 * MIN, want_nodes);
	assert_table(&fx, "Node", NULL, 1, T0_MS + 47 * HOUR + 59 * MIN, want_nodes_wide);
	fx_close(&fx);
}
END_TEST

START_TEST(table_other_kinds)
{
	struct fixture fx;
	open_empty(&fx);
	put(&fx, misc_yaml);
	cluster_lock(fx.cl);
	struct object *def =
	    store_get(cluster_store(fx.cl), cluster_kind(fx.cl, "Namespace"), NULL, "default");
	ck_assert_ptr_nonnull(def);
	jset_str(object_json(def), "metadata.creationTimestamp", "2026-01-01T00:00:00Z");
	store_touch(cluster_store(fx.cl), def, T0_MS);
	cluster_unlock(fx.cl);
	assert_table(&fx, "Namespace", NULL, 0, T0_MS + 8 * DAY, want_ns);
	assert_table(&fx, "ConfigMap", "t", 0, T0_MS + 8 * DAY, want_cm);
	assert_table(&fx, "Secret", "t", 1, T0_MS + 8 * DAY, want_secret);
	/* A kind kubectl has no printer for: NAME and AGE (<unknown> without a timestamp). */
	assert_table(&fx, "Widget", "t", 1, T0_MS + 8 * DAY, want_widget);
	fx_close(&fx);
}
END_TEST

/* ---- metrics ---- */

START_TEST(metrics_exact)
{
	struct fixture fx;
	char line[128];
	open_empty(&fx);
	put(&fx, metrics_yaml);
	char *got = metrics(&fx);
	cluster_lock(fx.cl);
	snprintf(line, sizeof(line), "claimfs_events_total %llu\n",
		 (unsigned long long)eventlog_last_seq(cluster_events(fx.cl)));
	cluster_unlock(fx.cl);
	size_t n = strlen(want_metrics);
	ck_assert_msg(strncmp(got, want_metrics, n) == 0, "metrics differ:\n%s", got);
	ck_assert_str_eq(got + n, line);
	/* The same state renders the same bytes. */
	char *again = metrics(&fx);
	ck_assert_str_eq(got, again);
	free(again);
	free(got);
	fx_close(&fx);
}
END_TEST

/* The sample lines' metric names and label sets, for the structural checks below. */
static size_t split_lines(char *text, char ***out)
{
	size_t n = 0, cap = 64;
	char **v = xcalloc(cap, sizeof(*v)), *save = NULL, *l;
	for (l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (n == cap)
			v = xrealloc(v, (cap *= 2) * sizeof(*v));
		v[n++] = l;
	}
	*out = v;
	return n;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(metrics_structure)
{
	struct fixture fx;
	char **lines, **series;
	size_t n, i, ns = 0, families = 0;
	fx_open(&fx); /* the built-in cluster: nodes, the default class */
	put(&fx, metrics_yaml);
	char *text = metrics(&fx);
	n = split_lines(text, &lines);
	series = xcalloc(n, sizeof(*series));
	const char *family = NULL;
	for (i = 0; i < n; i++) {
		char name[256];
		if (strncmp(lines[i], "# HELP ", 7) == 0) {
			/* HELP, then TYPE of the same family, then its samples. */
			ck_assert_uint_lt(i + 1, n);
			sscanf(lines[i] + 7, "%255s", name);
			char type[300];
			snprintf(type, sizeof(type), "# TYPE %s ", name);
			ck_assert_msg(strncmp(lines[i + 1], type, strlen(type)) == 0,
				      "no TYPE after HELP of %s", name);
			family = lines[i] + 7;
			families++;
			i++;
			continue;
		}
		ck_assert_msg(lines[i][0] != '#', "stray comment: %s", lines[i]);
		ck_assert_ptr_nonnull(family);
		size_t len = strcspn(lines[i], "{ ");
		ck_assert_msg(strncmp(family, lines[i], len) == 0 && family[len] == ' ',
			      "sample outside its family: %s", lines[i]);
		/* The series without its value must be unique. */
		char *sp = strrchr(lines[i], ' ');
		ck_assert_ptr_nonnull(sp);
		series[ns++] = xstrndup(lines[i], (size_t)(sp - lines[i]));
	}
	ck_assert_uint_eq(families, 26);
	qsort(series, ns, sizeof(*series), cmp_line);
	for (i = 1; i < ns; i++)
		ck_assert_msg(strcmp(series[i - 1], series[i]) != 0, "duplicate series %s",
			      series[i]);
	for (i = 0; i < ns; i++)
		free(series[i]);
	free(series);
	free(lines);
	free(text);
	fx_close(&fx);
}
END_TEST

START_TEST(metrics_promtool)
{
	struct fixture fx;
	char path[] = "/tmp/claimfs-metrics-XXXXXX", cmd[256];
	if (system("command -v promtool >/dev/null 2>&1") != 0) {
		fprintf(stderr, "test_render: promtool not installed (Debian package prometheus): "
				"skipping `promtool check metrics`\n");
		return;
	}
	fx_open(&fx);
	put(&fx, metrics_yaml);
	char *text = metrics(&fx);
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	/* Any lint finding is printed and makes the output non-empty. */
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s > %s.out 2>&1", path, path);
	int rc = system(cmd);
	snprintf(cmd, sizeof(cmd), "%s.out", path);
	FILE *f = fopen(cmd, "r");
	char out[4096] = "";
	size_t got = f ? fread(out, 1, sizeof(out) - 1, f) : 0;
	out[got] = '\0';
	if (f)
		fclose(f);
	unlink(cmd);
	unlink(path);
	ck_assert_msg(rc == 0 && got == 0, "promtool check metrics (%d): %s", rc, out);
	free(text);
	fx_close(&fx);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("render");
	TCase *tc = tcase_create("render");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, age_branches);
	tcase_add_test(tc, table_reference_examples);
	tcase_add_test(tc, table_claims);
	tcase_add_test(tc, table_all_namespaces);
	tcase_add_test(tc, table_volumes);
	tcase_add_test(tc, table_classes);
	tcase_add_test(tc, table_workloads);
	tcase_add_test(tc, table_pods);
	tcase_add_test(tc, table_services_nodes);
	tcase_add_test(tc, table_other_kinds);
	tcase_add_test(tc, metrics_exact);
	tcase_add_test(tc, metrics_structure);
	tcase_add_test(tc, metrics_promtool);
	suite_add_tcase(s, tc);
	return s;
}
