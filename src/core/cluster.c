/* cluster.c - the cluster's life: open (lock the state directory, load or create the
 * state), the work queue the controllers drain, the timer thread that runs simulated
 * delays, journal commits with group commit, compaction, close.
 *
 * DESIGN (threads): FUSE worker threads call the UNLOCKED entry points of cluster.h;
 * each takes the cluster lock, changes the store, runs the controllers to a fixed point
 * (cluster_settle), appends one journal record (cluster_commit), drops the lock and only
 * then waits for fdatasync (persist_sync shares one fsync between concurrent writers).
 * The timer thread sleeps on timer_cond until the earliest simulated deadline, then does
 * the same under the lock; it also makes objects cold once the cluster is idle
 * (cluster_unlock in cluster.h, cold objects in store.h). No lock is held while waiting for the
 * disk or for FUSE, except by a compaction (every doubling of the journal), which writes and syncs
 * the snapshot under the lock. While cluster_open loads the state, persist's reader thread parses
 * the journal (store.h lists the helper threads). */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "claimfs/jsonalloc.h"
#include "claimfs/jsontext.h"
#include "claimfs/jsonutil.h"
#include "claimfs/manifest.h"
#include "cluster_internal.h"

/* Journal growth that triggers compaction into a snapshot: twice the last snapshot, at
 * least this much. Keeps the cost per change independent of the number of objects. */
#define COMPACT_MIN_BYTES (64u << 20)
#define SETTLE_LIMIT 50000000u

int64_t cluster_now_ms(struct cluster *cl)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cluster_lock(struct cluster *cl)
{
	pthread_mutex_lock(&cl->lock);
}

/* Objects made cold per hold of the lock by the timer thread: about a millisecond, so a
 * request that comes meanwhile hardly waits. */
#define EVICT_BATCH 256

void cluster_unlock(struct cluster *cl)
{
	size_t hot = store_hot_count(cl->store), keep = cl->opts.hot_objects;
	if (hot > keep && (cl->opts.evict_at_unlock || hot / CLUSTER_HOT_BURST > keep))
		store_evict(cl->store, keep);
	else if (hot > keep && !cl->idle_armed && cl->timer_started) {
		cl->idle_armed = 1; /* the timer thread then looks again when idle */
		pthread_cond_signal(&cl->timer_cond);
	}
	cl->active_ms = cluster_now_ms(cl);
	pthread_mutex_unlock(&cl->lock);
}

struct store *cluster_store(struct cluster *cl)
{
	return cl->store;
}

struct eventlog *cluster_events(struct cluster *cl)
{
	return cl->events;
}

const struct cluster_options *cluster_options(const struct cluster *cl)
{
	return &cl->opts;
}

uint64_t cluster_generation(struct cluster *cl)
{
	return cl->generation;
}

int cluster_loading(const struct cluster *cl)
{
	return cl->loading;
}

const struct kind *cluster_kind(struct cluster *cl, const char *kind)
{
	return store_kind(cl->store, kind);
}

/* ---- work queue ---- */

void cluster_enqueue(struct cluster *cl, struct object *obj)
{
	if (!obj || obj->queued || cl->loading)
		return;
	if (cl->qlen == cl->qcap) {
		size_t ncap = cl->qcap ? cl->qcap * 2 : 256, i;
		struct object **nq = xmalloc(ncap * sizeof(*nq));
		for (i = 0; i < cl->qlen; i++)
			nq[i] = cl->queue[(cl->qhead + i) % cl->qcap];
		free(cl->queue);
		cl->queue = nq;
		cl->qcap = ncap;
		cl->qhead = 0;
	}
	cl->queue[(cl->qhead + cl->qlen) % cl->qcap] = obj;
	cl->qlen++;
	obj->queued = 1;
}

void cluster_enqueue_kind(struct cluster *cl, const struct kind *k, const char *ns)
{
	size_t n, i;
	if (!k)
		return;
	struct object *const *v = store_list(cl->store, k, ns, &n);
	for (i = 0; i < n; i++)
		cluster_enqueue(cl, v[i]);
}

static void dequeue_removed(struct cluster *cl, struct object *obj)
{
	size_t i;
	if (!obj->queued)
		return;
	for (i = 0; i < cl->qlen; i++) {
		struct object **slot = &cl->queue[(cl->qhead + i) % cl->qcap];
		if (*slot == obj)
			*slot = NULL;
	}
	obj->queued = 0;
}

void cluster_pause(struct cluster *cl, int paused)
{
	cl->paused = paused;
}

void cluster_settle(struct cluster *cl)
{
	unsigned long steps = 0;
	if (cl->paused)
		return;
	while (cl->qlen > 0) {
		struct object *obj = cl->queue[cl->qhead];
		cl->qhead = (cl->qhead + 1) % cl->qcap;
		cl->qlen--;
		if (!obj)
			continue;
		obj->queued = 0;
		if (obj->kind->ops && obj->kind->ops->sync)
			obj->kind->ops->sync(cl, obj);
		if (++steps > SETTLE_LIMIT) {
			fprintf(stderr, "claimfs: controllers did not settle after %lu steps\n",
				steps);
			break;
		}
	}
}

void cluster_set_watch(struct cluster *cl, const struct cluster_watch *w)
{
	cluster_lock(cl);
	cl->watch = *w;
	cluster_unlock(cl);
}

void *cluster_slot(struct cluster *cl, enum cluster_slot s, void *(*init)(void),
		   void (*fini)(void *))
{
	if (!cl->slots[s]) {
		cl->slots[s] = init();
		cl->slot_fini[s] = fini;
	}
	return cl->slots[s];
}

void cluster_store_hook(void *ctx, struct object *obj, int removed)
{
	struct cluster *cl = ctx;
	cl->generation++;
	if (obj->kind->ops && obj->kind->ops->index)
		obj->kind->ops->index(cl, obj, removed);
	if (cl->watch.object)
		cl->watch.object(cl->watch.ctx, obj, removed);
	if (cl->loading)
		return;
	if (obj->kind->ops && obj->kind->ops->watch)
		obj->kind->ops->watch(cl, obj, removed);
	if (removed) {
		dequeue_removed(cl, obj);
		/* A Terminating namespace waits for its last object. */
		if (obj->ns) {
			struct object *ns =
			    store_get(cl->store, store_kind(cl->store, "Namespace"), NULL, obj->ns);
			if (ns && jis_deleting(object_json(ns)))
				cluster_enqueue(cl, ns);
		}
	} else {
		cluster_enqueue(cl, obj);
	}
}

/* ---- timers ---- */

void cluster_enqueue_after(struct cluster *cl, struct object *obj, int64_t delay_ms)
{
	if (delay_ms <= 0) {
		cluster_enqueue(cl, obj);
		return;
	}
	if (cl->ntimers == cl->captimers) {
		cl->captimers = cl->captimers ? cl->captimers * 2 : 64;
		cl->timers = xrealloc(cl->timers, cl->captimers * sizeof(*cl->timers));
	}
	struct timer_entry *t = &cl->timers[cl->ntimers++];
	t->due_ms = cluster_now_ms(cl) + delay_ms;
	t->kind = obj->kind;
	t->ns = obj->ns ? xstrdup(obj->ns) : NULL;
	t->name = xstrdup(obj->name);
	pthread_cond_signal(&cl->timer_cond);
}

/* Enqueues every due timer's object; returns the earliest remaining deadline or -1. */
static int64_t run_due_timers(struct cluster *cl, int64_t now)
{
	int64_t next = -1;
	size_t i = 0;
	while (i < cl->ntimers) {
		struct timer_entry *t = &cl->timers[i];
		if (t->due_ms <= now) {
			struct object *o = store_get(cl->store, t->kind, t->ns, t->name);
			if (o)
				cluster_enqueue(cl, o);
			free(t->ns);
			free(t->name);
			cl->timers[i] = cl->timers[--cl->ntimers];
			continue;
		}
		if (next < 0 || t->due_ms < next)
			next = t->due_ms;
		i++;
	}
	return next;
}

/* When idle, makes objects cold: a batch, and the lock let go between batches. Returns
 * the time to look again (-1: nothing to do). */
static int64_t evict_when_idle(struct cluster *cl, int64_t now)
{
	size_t hot = store_hot_count(cl->store), keep = cl->opts.hot_objects;
	if (hot <= keep) {
		if (cl->idle_armed)
			malloc_trim(0); /* done: the burst's freed pages go back too */
		cl->idle_armed = 0;
		return -1;
	}
	cl->idle_armed = 1;
	if (now < cl->active_ms + CLUSTER_IDLE_MS)
		return cl->active_ms + CLUSTER_IDLE_MS;
	store_evict(cl->store, hot - keep > EVICT_BATCH ? hot - EVICT_BATCH : keep);
	pthread_mutex_unlock(&cl->lock); /* not activity: no cluster_unlock */
	sched_yield();
	pthread_mutex_lock(&cl->lock);
	return now;
}

static void *timer_main(void *arg)
{
	struct cluster *cl = arg;
	cluster_lock(cl);
	while (!cl->stopping) {
		int64_t now = cluster_now_ms(cl);
		int64_t next = run_due_timers(cl, now);
		int64_t idle = evict_when_idle(cl, now);
		if (idle >= 0 && (next < 0 || idle < next))
			next = idle;
		if (idle == now)
			continue;
		if (cl->qlen > 0 && !cl->paused) {
			struct cfs_err err;
			cluster_settle(cl);
			int64_t seq = cluster_commit(cl, &err);
			if (cl->watch.background)
				cl->watch.background(cl->watch.ctx);
			if (seq > 0) {
				cluster_unlock_and_sync(cl, seq, &err);
				cluster_lock(cl);
			}
			continue;
		}
		if (next < 0) {
			pthread_cond_wait(&cl->timer_cond, &cl->lock);
		} else {
			struct timespec ts = {.tv_sec = next / 1000,
					      .tv_nsec = (next % 1000) * 1000000};
			pthread_cond_timedwait(&cl->timer_cond, &cl->lock, &ts);
		}
	}
	cluster_unlock(cl);
	return NULL;
}

/* ---- uids ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void cluster_new_uid(struct cluster *cl, char *buf)
{
	uint64_t x = cl->seed ^ (++cl->uid_counter * 0x2545F4914F6CDD1DULL);
	uint64_t a = splitmix64(&x), b = splitmix64(&x);
	a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL; /* version 4 */
	b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL; /* variant 10 */
	/* "%08x-%04x-%04x-%04x-%012llx" of a:b, by hand (one per created object) */
	static const char hex[] = "0123456789abcdef";
	char *p = buf;
	for (int i = 0; i < 32; i++) {
		uint64_t w = i < 16 ? a : b;
		if (i == 8 || i == 12 || i == 16 || i == 20)
			*p++ = '-';
		*p++ = hex[(w >> (60 - 4 * (i % 16))) & 0xf];
	}
	*p = '\0';
}

/* ---- persistence ---- */

/* The snapshot's state: {"rv":..,"seed":..,"uids":..,"objects":[...]}, the objects as
 * the store keeps them (a cold object's text as it is), written by two threads. */
struct snap_state {
	struct cluster *cl;
	struct object **objs; /* every object, kind by kind */
	size_t n;
};

static void snap_item(void *ctx, size_t i, struct jsontext_writer *w)
{
	store_write_object(((const struct snap_state *)ctx)->objs[i], w);
}

static void write_state(void *ctx, struct jsontext_writer *w)
{
	struct snap_state *st = ctx;
	char head[128];
	int n = snprintf(
	    head, sizeof(head), "{\"rv\":%lld,\"seed\":%lld,\"uids\":%lld,\"objects\":",
	    (long long)(json_int_t)store_rv(st->cl->store), (long long)(json_int_t)st->cl->seed,
	    (long long)(json_int_t)st->cl->uid_counter);
	jsontext_add(w, head, (size_t)n);
	jsontext_list(w, st->n, snap_item, st, 1);
	jsontext_add(w, "}", 1);
}

static int compact(struct cluster *cl, struct cfs_err *err)
{
	struct snap_state st = {cl, xcalloc(store_count(cl->store) + 1, sizeof(*st.objs)), 0};
	size_t nk, n, i, j;
	const struct kind *const *kinds = store_kinds(cl->store, &nk);
	for (i = 0; i < nk; i++) {
		struct object *const *v = store_list(cl->store, kinds[i], NULL, &n);
		for (j = 0; j < n; j++)
			st.objs[st.n++] = v[j];
	}
	int rc = persist_compact(cl->persist, write_state, &st, err);
	free(st.objs);
	return rc;
}

int64_t cluster_commit(struct cluster *cl, struct cfs_err *err)
{
	json_t *puts, *dels;
	if (!store_has_changes(cl->store))
		return 0;
	store_take_changes(cl->store, &puts, &dels);
	json_t *rec = json_pack("{s:I,s:I,s:o,s:o}", "rv", (json_int_t)store_rv(cl->store), "uids",
				(json_int_t)cl->uid_counter, "del", dels, "put", puts);
	int64_t seq = persist_append(cl->persist, rec, err);
	json_decref(rec);
	if (seq < 0)
		return seq;
	uint64_t jbytes = persist_journal_bytes(cl->persist);
	uint64_t min = cl->opts.compact_min_bytes ? cl->opts.compact_min_bytes : COMPACT_MIN_BYTES;
	if (jbytes > min && jbytes > 2 * cl->snapshot_bytes) {
		int rc = compact(cl, err);
		cl->snapshot_bytes = jbytes; /* an upper bound of the snapshot's size */
		if (rc < 0)
			return rc;
	}
	return seq;
}

void cluster_sync_async(struct cluster *cl, int64_t seq, struct persist_waiter *w)
{
	w->seq = seq;
	if (seq <= 0)
		w->done(w, 0, NULL);
	else
		persist_sync_async(cl->persist, w);
}

int cluster_unlock_and_sync(struct cluster *cl, int64_t seq, struct cfs_err *err)
{
	cluster_unlock(cl);
	if (seq <= 0)
		return (int)(seq < 0 ? seq : 0);
	return persist_sync(cl->persist, seq, err);
}

/* Which kinds are cluster-scoped when a stored object's kind is not registered yet. */
static const struct kind *kind_for_json(struct cluster *cl, json_t *o)
{
	const char *kind = jstr(o, "kind");
	if (!kind)
		return NULL;
	const struct kind *k = store_kind(cl->store, kind);
	if (k)
		return k;
	return store_kind_register(cl->store, kind, jstr_or(o, "apiVersion", "v1"),
				   jnamespace(o) != NULL, NULL);
}

/* One object of a saved state: inserted with the resourceVersion and time it was saved
 * with (a remount shows every object exactly as it was, and no version is handed out
 * twice), or replacing the loaded one. Runs once per object at a mount: its metadata is
 * read directly rather than by paths. */
static void load_put(struct cluster *cl, json_t *o)
{
	const struct kind *k = kind_for_json(cl, o);
	json_t *meta = json_object_get(o, "metadata");
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *rvs = json_string_value(json_object_get(meta, "resourceVersion"));
	if (!k || !name)
		return;
	struct object *old =
	    store_get(cl->store, k, json_string_value(json_object_get(meta, "namespace")), name);
	if (old) {
		const struct kind_ops *ops = old->kind->ops;
		if (ops && ops->index)
			ops->index(cl, old, 1);
		store_set_json(cl->store, old, json_incref(o));
		if (rvs)
			old->rv = strtoull(rvs, NULL, 10); /* a string, as in Kubernetes */
		if (ops && ops->index)
			ops->index(cl, old, 0);
		return;
	}
	int64_t created =
	    jtime_parse(json_string_value(json_object_get(meta, "creationTimestamp")) ?: "");
	uint64_t rv = rvs ? strtoull(rvs, NULL, 10) : 0;
	int64_t mtime = created > 0 ? created : cluster_now_ms(cl);
	if (rv)
		store_insert_loaded(cl->store, k, json_incref(o), rv, mtime);
	else if (rvs) { /* "0" or not a number: kept as written, the object's rv is 0 */
		char *stored = xstrdup(rvs);
		struct object *n = store_insert(cl->store, k, json_incref(o), mtime);
		n->rv = 0;
		jset_str(object_json(n), "metadata.resourceVersion", stored);
		free(stored);
	} else {
		store_insert(cl->store, k, json_incref(o), mtime);
	}
}

static void replay(struct cluster *cl, json_t *rec)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(rec, "del"), i, v)
	{
		const char *kind = json_string_value(json_array_get(v, 0));
		const struct kind *k = kind ? store_kind(cl->store, kind) : NULL;
		const char *ns = json_string_value(json_array_get(v, 1));
		const char *name = json_string_value(json_array_get(v, 2));
		struct object *o = k && name ? store_get(cl->store, k, ns, name) : NULL;
		if (o)
			store_remove(cl->store, o);
	}
	json_array_foreach(json_object_get(rec, "put"), i, v) load_put(cl, v);
	int64_t n;
	if (jint(rec, "rv", &n) == 0 && (uint64_t)n > store_rv(cl->store))
		store_set_rv(cl->store, (uint64_t)n);
	if (jint(rec, "uids", &n) == 0 && (uint64_t)n > cl->uid_counter)
		cl->uid_counter = (uint64_t)n;
}

static int load_snapshot(void *ctx, json_t *snap)
{
	struct cluster *cl = ctx;
	json_t *v;
	size_t i;
	int64_t n;
	if (!snap)
		return 0;
	json_array_foreach(json_object_get(snap, "objects"), i, v) load_put(cl, v);
	if (jint(snap, "seed", &n) == 0)
		cl->seed = (uint64_t)n;
	if (jint(snap, "rv", &n) == 0 && (uint64_t)n > store_rv(cl->store))
		store_set_rv(cl->store, (uint64_t)n);
	if (jint(snap, "uids", &n) == 0 && (uint64_t)n > cl->uid_counter)
		cl->uid_counter = (uint64_t)n;
	return 0;
}

static int load_record(void *ctx, json_t *rec)
{
	replay(ctx, rec);
	return 0;
}

/* The snapshot's objects, then the journal's records in order; persist's reader thread
 * parses the records while the snapshot is applied. */
static int load_state(struct cluster *cl, struct cfs_err *err)
{
	cl->loading = 1;
	int rc = persist_load_with(cl->persist, load_snapshot, load_record, cl, err);
	cl->loading = 0;
	return rc;
}

static void register_builtin_kinds(struct cluster *cl)
{
	static const struct {
		const char *kind, *api;
		int namespaced;
		const struct kind_ops *ops;
	} builtin[] = {
	    {"Namespace", "v1", 0, &namespace_ops},
	    {"Node", "v1", 0, &node_ops},
	    {"StorageClass", "storage.k8s.io/v1", 0, &storageclass_ops},
	    {"PersistentVolume", "v1", 0, &pv_ops},
	    {"PersistentVolumeClaim", "v1", 1, &pvc_ops},
	    {"Pod", "v1", 1, &pod_ops},
	    {"StatefulSet", "apps/v1", 1, &statefulset_ops},
	    {"Deployment", "apps/v1", 1, &deployment_ops},
	    {"ReplicaSet", "apps/v1", 1, &replicaset_ops},
	    {"Service", "v1", 1, &service_ops},
	    {"ConfigMap", "v1", 1, NULL},
	    {"Secret", "v1", 1, NULL},
	};
	size_t i;
	for (i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		store_kind_register(cl->store, builtin[i].kind, builtin[i].api,
				    builtin[i].namespaced, builtin[i].ops);
}

static int read_file(const char *path, char **buf, size_t *len, struct cfs_err *err)
{
	FILE *f = fopen(path, "rb");
	struct strbuf sb = STRBUF_INIT;
	char chunk[65536];
	size_t n;
	if (!f)
		return cfs_errorf(err, -errno, "cannot open cluster file %s: %s", path,
				  strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		sb_add(&sb, chunk, n);
		if (sb.len > MANIFEST_MAX_BYTES)
			break;
	}
	fclose(f);
	*buf = sb_detach(&sb, len);
	return 0;
}

/* Applies the cluster file (or the built-in cluster) to a new state. LOCKED. */
static int seed_cluster(struct cluster *cl, struct cfs_err *err)
{
	char *buf = NULL;
	size_t len;
	const char *source = cl->cluster_file ? cl->cluster_file : "built-in cluster";
	struct manifest m;
	int rc;

	if (cl->cluster_file) {
		rc = read_file(cl->cluster_file, &buf, &len, err);
		if (rc < 0)
			return rc;
	} else {
		buf = xstrdup(cluster_default_manifest);
		len = strlen(buf);
	}
	/* The namespace "default" always exists, as in every cluster. */
	json_t *ns = json_pack("{s:s,s:s,s:{s:s,s:{s:s}},s:{s:[s]},s:{s:s}}", "apiVersion", "v1",
			       "kind", "Namespace", "metadata", "name", "default", "labels",
			       "kubernetes.io/metadata.name", "default", "spec", "finalizers",
			       "kubernetes", "status", "phase", "Active");
	cluster_create(cl, store_kind(cl->store, "Namespace"), ns, err);
	rc = manifest_decode(buf, len, source, &m, err);
	free(buf);
	if (rc < 0)
		return rc;
	rc = cluster_apply_manifest(cl, &m, NULL, err);
	manifest_release(&m);
	if (rc < 0)
		return rc;
	cluster_settle(cl);
	return 0;
}

static void seed_random(struct cluster *cl)
{
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, &cl->seed, sizeof(cl->seed)) != sizeof(cl->seed))
		cl->seed = (uint64_t)cluster_now_ms(cl) ^ ((uint64_t)getpid() << 32);
	if (fd >= 0)
		close(fd);
}

int cluster_open(const struct cluster_options *opts, struct cluster **out, struct cfs_err *err)
{
	struct cluster *cl = xcalloc(1, sizeof(*cl));
	int is_new = 0, rc;
	int64_t seq;

	jsonalloc_init(); /* before the store holds any value: its trees in slabs */
	cl->opts = *opts;
	cl->state_dir = xstrdup(opts->state_dir);
	cl->cluster_file = opts->cluster_file ? xstrdup(opts->cluster_file) : NULL;
	cl->opts.state_dir = cl->state_dir;
	cl->opts.cluster_file = cl->cluster_file;
	if (!cl->opts.max_objects)
		cl->opts.max_objects = CLUSTER_DEFAULT_MAX_OBJECTS;
	if (!cl->opts.max_replicas)
		cl->opts.max_replicas = CLUSTER_DEFAULT_MAX_REPLICAS;
	if (!cl->opts.hot_objects)
		cl->opts.hot_objects = CLUSTER_DEFAULT_HOT_OBJECTS;
	pthread_mutex_init(&cl->lock, NULL);
	pthread_cond_init(&cl->timer_cond, NULL);
	cl->store = store_new();
	store_set_hook(cl->store, cluster_store_hook, cl);
	cl->events = eventlog_new(EVENTLOG_DEFAULT_CAPACITY);
	register_builtin_kinds(cl);

	rc = persist_open(cl->state_dir, &cl->persist, &is_new, err);
	if (rc < 0)
		goto fail;
	cluster_lock(cl);
	if (is_new) {
		seed_random(cl);
		rc = seed_cluster(cl, err);
		if (rc < 0) {
			cluster_unlock(cl);
			goto fail;
		}
	} else {
		rc = load_state(cl, err);
		if (rc < 0) {
			cluster_unlock(cl);
			goto fail;
		}
		{ /* forget the dirty set of the replay itself */
			json_t *p, *d;
			store_take_changes(cl->store, &p, &d);
			json_decref(p);
			json_decref(d);
		} /* Resume the controllers where the last run left them: every object is synced
		   * once, kind by kind, claims before volumes (a bound claim's sync finds its
		   * volume settled as well, so the volume's own sync returns at once: a third
		   * less time over 100,000 bound pairs, whose JSON is cold by then). */
		size_t nk, i;
		const struct kind *const *kinds = store_kinds(cl->store, &nk);
		const struct kind *pvk = store_kind(cl->store, "PersistentVolume");
		for (i = 0; i < nk; i++) {
			if (kinds[i] != pvk)
				cluster_enqueue_kind(cl, kinds[i], NULL);
			if (!strcmp(kinds[i]->kind, "PersistentVolumeClaim"))
				cluster_enqueue_kind(cl, pvk, NULL);
		}
		cluster_settle(cl);
	}
	seq = cluster_commit(cl, err);
	if (seq < 0) {
		cluster_unlock(cl);
		rc = (int)seq;
		goto fail;
	}
	rc = cluster_unlock_and_sync(cl, seq, err);
	if (rc < 0)
		goto fail;
	if (pthread_create(&cl->timer_thread, NULL, timer_main, cl) != 0) {
		rc = cfs_errorf(err, -EAGAIN, "cannot start the timer thread");
		goto fail;
	}
	cl->timer_started = 1;
	*out = cl;
	return 0;
fail:
	cl->timer_started = 0;
	cluster_close(cl);
	*out = NULL;
	return rc;
}

void cluster_close(struct cluster *cl)
{
	size_t i;
	if (!cl)
		return;
	if (cl->timer_started) {
		cluster_lock(cl);
		cl->stopping = 1;
		pthread_cond_broadcast(&cl->timer_cond);
		cluster_unlock(cl);
		pthread_join(cl->timer_thread, NULL);
	}
	if (cl->persist)
		persist_close(cl->persist);
	store_free(cl->store);
	for (i = 0; i < CLUSTER_NSLOTS; i++)
		if (cl->slots[i] && cl->slot_fini[i])
			cl->slot_fini[i](cl->slots[i]);
	eventlog_free(cl->events);
	for (i = 0; i < cl->ntimers; i++) {
		free(cl->timers[i].ns);
		free(cl->timers[i].name);
	}
	free(cl->timers);
	free(cl->queue);
	free(cl->state_dir);
	free(cl->cluster_file);
	pthread_cond_destroy(&cl->timer_cond);
	pthread_mutex_destroy(&cl->lock);
	free(cl);
}
