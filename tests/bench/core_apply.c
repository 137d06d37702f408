/* core_apply.c - the bulk-apply path without FUSE, for profilers (perf, callgrind,
 * massif): opens a cluster in a state directory, applies STREAMS streams of CLAIMS claims
 * each through cluster_apply (as a write to /apply does), optionally closes and reopens it
 * (the load path of a mount), and prints the time of the first open (a mount of DIR's
 * state), per stream the seconds and the heap in use
 * (mallinfo2: what malloc handed out, without the allocator's free pages) per claim.
 *
 *   core_apply CLAIMS STREAMS [DIR] [--reopen] [--nosync]
 *
 * DIR defaults to a new directory under /tmp (removed at the end); --nosync skips
 * fdatasync (persist_test_no_fsync) to profile the CPU alone. After the streams it waits
 * for the cluster to rest (objects made cold once idle, store.h) and prints the memory
 * then. CORE_HOT_OBJECTS=N sets cluster_options.hot_objects; CORE_OPEN_ONLY=1 exits
 * right after the open (to profile a load alone). Built by hand or by scripts/bench.sh:
 * cc ... tests/bench/core_apply.c build-bench/libclaimfs-core.a. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "claimfs/cluster.h"
#include "claimfs/jsonalloc.h"
#include "claimfs/persist.h"
#include "claimfs/strbuf.h"

static const char cluster_yaml[] = "apiVersion: v1\n"
				   "kind: Node\n"
				   "metadata:\n"
				   "  name: node-1\n"
				   "---\n"
				   "apiVersion: storage.k8s.io/v1\n"
				   "kind: StorageClass\n"
				   "metadata:\n"
				   "  name: standard\n"
				   "  annotations:\n"
				   "    storageclass.kubernetes.io/is-default-class: \"true\"\n"
				   "provisioner: claimfs.io/simulated\n"
				   "parameters:\n"
				   "  capacity: 100Ti\n";

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

/* malloc's heap and, when it is installed, jansson's slabs (jsonalloc.h): where decoded
 * objects live. Slabs count when touched, so values put into freed slots add nothing. */
static size_t json_bytes_used(void)
{
	return heap_used() + (jsonalloc_active() ? jsonalloc_resident() : 0);
}

static size_t rss(void)
{
	long pages = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: core_apply CLAIMS STREAMS [DIR] [--reopen] [--nosync]\n");
		return 2;
	}
	long claims = atol(argv[1]), streams = atol(argv[2]);
	char dir[256] = "";
	int reopen = 0, own = 0;
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--reopen"))
			reopen = 1;
		else if (!strcmp(argv[i], "--nosync"))
			persist_test_no_fsync = 1;
		else
			snprintf(dir, sizeof(dir), "%s", argv[i]);
	}
	if (!dir[0]) {
		strcpy(dir, "/tmp/claimfs-core-apply.XXXXXX");
		if (!mkdtemp(dir))
			return 1;
		own = 1;
	}
	char cfile[300];
	snprintf(cfile, sizeof(cfile), "%s.cluster.yaml", dir);
	FILE *cf = fopen(cfile, "w");
	if (!cf || fputs(cluster_yaml, cf) < 0 || fclose(cf) != 0)
		return 1;

	struct cluster_options o = {.state_dir = dir, .cluster_file = cfile, .quiet = 1};
	if (getenv("CORE_HOT_OBJECTS")) /* cluster_options.hot_objects */
		o.hot_objects = (size_t)atol(getenv("CORE_HOT_OBJECTS"));
	struct cfs_err err = {{0}};
	struct cluster *cl;
	double t_open = now();
	if (cluster_open(&o, &cl, &err) < 0) {
		fprintf(stderr, "core_apply: %s\n", err.msg);
		return 1;
	}
	printf("open: %.3f s, heap %.1f MiB\n", now() - t_open, (double)heap_used() / 1048576);
	if (getenv("CORE_OPEN_ONLY")) {
		fflush(stdout);
		_exit(0); /* profiling the load alone */
	}
	size_t heap0 = heap_used(), rss0 = rss();
	struct strbuf sb = STRBUF_INIT;
	for (long s = 0; s < streams; s++) {
		sb_reset(&sb);
		for (long i = s * claims; i < (s + 1) * claims; i++)
			sb_addf(
			    &sb,
			    "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: "
			    "c-%06ld\n  namespace: default\nspec:\n  accessModes: "
			    "[ReadWriteOnce]\n "
			    " resources:\n    requests:\n      storage: 1Mi\n",
			    i);
		double t0 = now();
		if (cluster_apply(cl, sb_str(&sb), sb.len, "apply", NULL, &err) < 0) {
			fprintf(stderr, "core_apply: stream %ld: %s\n", s, err.msg);
			return 1;
		}
		double t = now() - t0;
		long n = (s + 1) * claims;
		printf("stream %ld: %.3f s, %.0f claims/s; heap %.0f B/claim, rss %.0f B/claim\n",
		       s, t, claims / t, (double)(heap_used() - heap0) / n,
		       (double)(rss() - rss0) / n);
	}
	sb_release(&sb);
	/* At rest: the timer thread makes objects cold once the cluster has been idle for
	 * CLUSTER_IDLE_MS (store.h, cluster.h). */
	double t_rest = now(), last = (double)rss();
	for (int i = 0; i < 100; i++) {
		usleep(100000);
		double r = (double)rss();
		if (r >= last - 65536 && now() - t_rest > CLUSTER_IDLE_MS / 1e3 + 0.5)
			break;
		last = r;
	}
	printf("at rest after %.1f s: rss %.0f B/claim (heap %.0f)\n", now() - t_rest,
	       ((double)rss() - rss0) / (double)(streams * claims),
	       ((double)heap_used() - heap0) / (double)(streams * claims));
	/* What the objects' json alone takes: the heap a deep copy of every object adds. */
	cluster_lock(cl);
	size_t nk, h1 = json_bytes_used(), nobj = 0, text = 0;
	const struct kind *const *kinds = store_kinds(cluster_store(cl), &nk);
	json_t *copies = json_array();
	for (size_t k = 0; k < nk; k++) {
		size_t n;
		struct object *const *v = store_list(cluster_store(cl), kinds[k], NULL, &n);
		for (size_t j = 0; j < n; j++) {
			json_array_append_new(copies, json_deep_copy(object_json(v[j])));
			text += json_dumpb(object_json(v[j]), NULL, 0, JSON_COMPACT);
		}
		nobj += n;
	}
	size_t h2 = json_bytes_used();
	json_decref(copies);
	cluster_unlock(cl);
	long total = streams * claims;
	printf("objects: %zu; their json: %.0f B/claim (jansson), %.0f B/claim as compact text\n",
	       nobj, ((double)h2 - (double)h1) / (double)total, (double)text / (double)total);
	if (reopen) {
		cluster_close(cl);
		double t0 = now();
		if (cluster_open(&o, &cl, &err) < 0) {
			fprintf(stderr, "core_apply: reopen: %s\n", err.msg);
			return 1;
		}
		long n = streams * claims;
		printf("reopen: %.3f s; heap %.0f B/claim, rss %.0f B/claim\n", now() - t0,
		       (double)(heap_used() - heap0) / n, (double)(rss() - rss0) / n);
	}
	cluster_close(cl);
	unlink(cfile);
	if (own) {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return 0;
}
