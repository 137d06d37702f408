/* fuzz_apply.c - libFuzzer target for the whole write path: cluster_apply on a real
 * cluster (the built-in default cluster) whose state directory is on a tmpfs ($TMPDIR,
 * else /dev/shm, else /tmp) with persist_test_no_fsync. One cluster is reused across
 * inputs, with caps so that an input cannot make it grow without bound: at most
 * FUZZ_MAX_OBJECTS objects and FUZZ_MAX_REPLICAS replicas per workload; it is replaced by
 * a fresh one every FUZZ_RESET_EVERY inputs or when it holds more than FUZZ_RESET_OBJECTS.
 *
 * The first byte of an input chooses where it is written (/apply, the claims or
 * StatefulSets directory of "default", or the manifest.yaml of the claim "data"); the rest
 * is the manifest stream. Invariants (a violation aborts):
 *   - cluster_apply returns 0 or one of EINVAL, EFBIG, ENOENT, EPERM, ENOSPC, EEXIST;
 *   - a refusal has a reason starting with the source and changes no object: the
 *     resourceVersion counter and the object count stay the same;
 *   - a refusal leaves exactly one new FailedApply event. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "claimfs/cluster.h"
#include "claimfs/controllers.h"
#include "claimfs/persist.h"
#include "fuzz_tmpdir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_OBJECTS 3000
#define FUZZ_MAX_REPLICAS 20
#define FUZZ_RESET_OBJECTS 2000
#define FUZZ_RESET_EVERY 20000

static struct cluster *cl;
static char dir[256];
static struct cluster_options opts;
static unsigned long inputs;

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_apply: %s: %s\n", what, detail ? detail : "");
	abort();
}

static void close_cluster(void)
{
	char cmd[300];
	if (!cl)
		return;
	cluster_close(cl);
	cl = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fail("cannot remove the state directory", dir);
}

static void open_cluster(void)
{
	struct cfs_err err = {{0}};

	if (fuzz_tmpdir(dir, sizeof(dir), "claimfs-fuzz") < 0)
		fail("mkdtemp", dir);
	persist_test_no_fsync = 1;
	memset(&opts, 0, sizeof(opts));
	opts.state_dir = dir;
	opts.quiet = 1;
	opts.max_objects = FUZZ_MAX_OBJECTS;
	opts.max_replicas = FUZZ_MAX_REPLICAS;
	if (cluster_open(&opts, &cl, &err) != 0)
		fail("cluster_open", err.msg);
	atexit(close_cluster);
}

static uint64_t events_last(void)
{
	return eventlog_last_seq(cluster_events(cl));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const sources[] = {
	    "apply", "namespaces/default/persistentvolumeclaims/f.yaml",
	    "namespaces/default/statefulsets/f.yaml",
	    "namespaces/default/persistentvolumeclaims/data/manifest.yaml"};
	struct apply_scope scope = {NULL, "default", NULL, "f"};
	struct cfs_err err = {{0}};
	unsigned which = size ? data[0] % 4 : 0;

	if (cl && (++inputs % FUZZ_RESET_EVERY == 0)) {
		close_cluster();
	}
	if (!cl)
		open_cluster();
	if (size)
		data++, size--;

	cluster_lock(cl);
	if (store_count(cluster_store(cl)) > FUZZ_RESET_OBJECTS) {
		cluster_unlock(cl);
		close_cluster();
		open_cluster();
		cluster_lock(cl);
	}
	scope.kind = cluster_kind(cl, which == 2 ? "StatefulSet" : "PersistentVolumeClaim");
	if (which == 3)
		scope.name = "data";
	uint64_t rv = store_rv(cluster_store(cl));
	size_t count = store_count(cluster_store(cl));
	uint64_t ev = events_last();
	cluster_unlock(cl);

	int rc = cluster_apply(cl, (const char *)data, size, sources[which], which ? &scope : NULL,
			       &err);
	if (rc == 0)
		return 0;
	if (rc != -EINVAL && rc != -EFBIG && rc != -ENOENT && rc != -EPERM && rc != -ENOSPC &&
	    rc != -EEXIST)
		fail("unexpected errno", err.msg);
	if (strncmp(err.msg, sources[which], strlen(sources[which])) != 0)
		fail("reason does not start with the source", err.msg);
	cluster_lock(cl);
	int changed = store_rv(cluster_store(cl)) != rv || store_count(cluster_store(cl)) != count;
	uint64_t added = events_last() - ev;
	cluster_unlock(cl);
	if (changed)
		fail("a refused input changed the state", err.msg);
	if (added != 1)
		fail("a refusal must log exactly one FailedApply event", err.msg);
	return 0;
}
