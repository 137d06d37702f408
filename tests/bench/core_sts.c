/* core_sts.c - StatefulSet scale-up without FUSE, for profilers (perf, callgrind): opens a
 * cluster of three nodes and a default class in a new state directory, applies a headless
 * Service and a StatefulSet of 0 replicas with one claim template (scripts/bench/gen.py
 * statefulset), then patches spec.replicas to REPLICAS as a write to the set's replicas
 * file does, and prints the time the patch took (everything settled: pods Ready, claims
 * Bound, which it checks).
 * *   core_sts REPLICAS [STEPS] [--parallel] [--deployment] [--nosync]
 *
 * --deployment scales a Deployment (its ReplicaSet's pods, no claims) instead.
 * STEPS > 1 scales up in that many equal steps and prints each one's time (to see how the
 * cost of a step grows with the pods already there). Built by scripts/bench.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "claimfs/cluster.h"
#include "claimfs/jsonutil.h"
#include "claimfs/persist.h"
#include "claimfs/strbuf.h"

static const char cluster_yaml[] =
    "apiVersion: v1\nkind: Node\nmetadata:\n  name: node-1\n  labels: {kubernetes.io/hostname: "
    "node-1, topology.kubernetes.io/zone: zone-a}\n---\n"
    "apiVersion: v1\nkind: Node\nmetadata:\n  name: node-2\n  labels: {kubernetes.io/hostname: "
    "node-2, topology.kubernetes.io/zone: zone-b}\n---\n"
    "apiVersion: v1\nkind: Node\nmetadata:\n  name: node-3\n  labels: {kubernetes.io/hostname: "
    "node-3, topology.kubernetes.io/zone: zone-c}\n---\n"
    "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: standard\n"
    "  annotations:\n    storageclass.kubernetes.io/is-default-class: \"true\"\n"
    "provisioner: claimfs.io/simulated\nreclaimPolicy: Delete\nvolumeBindingMode: Immediate\n"
    "parameters:\n  capacity: 100Ti\n";

static const char sts_yaml[] =
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: default\nspec:\n"
    "  clusterIP: None\n  selector: {app: web}\n  ports:\n  - {name: web, port: 80}\n---\n"
    "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: web\n  namespace: default\n"
    "spec:\n  serviceName: web\n  replicas: 0\n  podManagementPolicy: %s\n  selector:\n"
    "    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n"
    "    spec:\n      containers:\n      - name: web\n        image: nginx\n"
    "        volumeMounts:\n        - {name: data, mountPath: /data}\n"
    "  volumeClaimTemplates:\n  - metadata:\n      name: data\n    spec:\n"
    "      accessModes: [ReadWriteOnce]\n      resources:\n        requests:\n"
    "          storage: 1Mi\n";

static const char deploy_yaml[] =
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\n"
    "spec:\n  replicas: 0\n  selector:\n    matchLabels: {app: web}\n  template:\n"
    "    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n"
    "      - name: web\n        image: nginx\n";

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: core_sts REPLICAS [STEPS] [--parallel] [--nosync]\n");
		return 2;
	}
	long replicas = atol(argv[1]), steps = 1;
	int parallel = 0, deploy = 0;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--parallel"))
			parallel = 1;
		else if (!strcmp(argv[i], "--deployment"))
			deploy = 1;
		else if (!strcmp(argv[i], "--nosync"))
			persist_test_no_fsync = 1;
		else
			steps = atol(argv[i]);
	}
	if (steps < 1)
		steps = 1;
	char dir[] = "/tmp/claimfs-core-sts.XXXXXX", cfile[64];
	if (!mkdtemp(dir))
		return 1;
	snprintf(cfile, sizeof(cfile), "%s.cluster.yaml", dir);
	FILE *cf = fopen(cfile, "w");
	if (!cf || fputs(cluster_yaml, cf) < 0 || fclose(cf) != 0)
		return 1;
	struct cluster_options o = {
	    .state_dir = dir, .cluster_file = cfile, .quiet = 1, .max_replicas = 100000};
	struct cfs_err err = {{0}};
	struct cluster *cl;
	if (cluster_open(&o, &cl, &err) < 0) {
		fprintf(stderr, "core_sts: %s\n", err.msg);
		return 1;
	}
	char doc[4096];
	if (deploy)
		snprintf(doc, sizeof(doc), "%s", deploy_yaml);
	else
		snprintf(doc, sizeof(doc), sts_yaml, parallel ? "Parallel" : "OrderedReady");
	if (cluster_apply(cl, doc, strlen(doc), "apply", NULL, &err) < 0) {
		fprintf(stderr, "core_sts: %s\n", err.msg);
		return 1;
	}
	cluster_lock(cl);
	const struct kind *sk =
	    store_kind(cluster_store(cl), deploy ? "Deployment" : "StatefulSet");
	cluster_unlock(cl);
	double total = 0;
	for (long s = 1; s <= steps; s++) {
		long want = replicas * s / steps;
		json_t *patch = json_pack("{s:{s:I}}", "spec", "replicas", (json_int_t)want);
		double t0 = now();
		int rc = cluster_patch(cl, sk, "default", "web", patch, "replicas", &err);
		double t = now() - t0;
		json_decref(patch);
		if (rc < 0) {
			fprintf(stderr, "core_sts: %s\n", err.msg);
			return 1;
		}
		total += t;
		printf("replicas %ld: %.3f s\n", want, t);
	}
	cluster_lock(cl);
	struct object *set = store_get(cluster_store(cl), sk, "default", "web");
	int64_t ready = -1;
	jint(object_json(set), "status.readyReplicas", &ready);
	size_t nclaims, bound = 0;
	struct object *const *claims =
	    store_list(cluster_store(cl), store_kind(cluster_store(cl), "PersistentVolumeClaim"),
		       "default", &nclaims);
	for (size_t i = 0; i < nclaims; i++)
		bound += strcmp(jstr_or(object_json(claims[i]), "status.phase", ""), "Bound") == 0;
	cluster_unlock(cl);
	printf("0 -> %ld: %.3f s; readyReplicas %lld, claims Bound %zu\n", replicas, total,
	       (long long)ready, bound);
	cluster_close(cl);
	unlink(cfile);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return ready == replicas && bound == (size_t)(deploy ? 0 : replicas) ? 0 : 1;
}
