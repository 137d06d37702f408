/* fs_notify.c - keeps the kernel's caches honest: collects what each change invalidates
 * (through the cluster_watch callbacks) and delivers inode invalidations, entry
 * invalidations and poll wake-ups, never with a lock held that they could need.
 *
 * DESIGN
 * Sources. The cluster calls our callbacks LOCKED, in the thread that made the change:
 *   object(): every inode the kernel knows of that object (fs_nodes' object index) is
 *     invalidated (attributes and page cache); a created or removed object also
 *     invalidates its kind directory's inode (the listing, readdir cache included); a
 *     removed one also its entry (kind directory, name); any other change of it only the
 *     kind directory's attributes (its mtime is the kind's last change: README), which
 *     leaves the readdir cache to the kernel's own mtime check. That costs one
 *     notification per kind directory and op, against a GETATTR per path walk through
 *     the directory had its attributes not been kept at all. A recreated object (a
 *     StatefulSet pod) is a remove and a create; it has a new id, so new inodes. Object
 *     pollers (sysfs-style POLLPRI on an object's files) of that object wake up.
 *   event(): log pollers (/events, and <object>/events of that object) wake up.
 *   background(): the timer thread (simulated delays) committed a change.
 *   Both also feed tree_note_change/tree_note_event (tree.h: kind directory and log mtimes).
 * Collection. An op that may change the cluster brackets its call into the tree with
 *   fs_op_begin .. fs_op_before_reply: in between, callbacks in that thread append to the
 *   op's own batch (a thread-local pointer). Changes made in any other thread (the timer
 *   thread) go to the shared async batch, queued at background() for the notifier thread.
 * Delivery. Kernel notifications are never sent with the cluster lock (a READ waiting for
 *   it could hold a page lock the notification needs) or any lock of ours held.
 *   - Inode invalidations and poll wake-ups of an op are sent by the op's own thread
 *     before it replies (with -s, where the op thread is the only one answering the
 *     kernel, the op hands them to the notifier thread and waits a bounded time), so the
 *     very next syscall sees the change; changes made by other threads (the timer) go
 *     through the notifier thread. fuse_lowlevel_notify_inval_inode takes no directory lock,
 *     only page locks, which in-flight READs release once the loop answers them (fs_loop.c:
 *     its one reader answers the tree's READs and never waits for a notification; a
 *     volume's READ goes to a thread that is free or started), so waiting for it cannot
 *     deadlock in multi-threaded mode.
 *   - Entry invalidations take the parent directory's inode lock in the kernel. An op
 *     during which the kernel holds a directory lock (mkdir, rmdir, unlink: the parent
 *     and the victim) must not wait for them: the parent's lock is ours to release by
 *     replying, and taking an ancestor's lock while the kernel holds a child's inverts the
 *     VFS lock order. So such ops defer ALL their entry invalidations until after the
 *     reply (the kernel updates the entry of the op itself). Ops during which no
 *     directory lock is held (write, setattr, flush, release) send theirs from their own
 *     thread before replying. Deferred entries and those of the async batch go to the
 *     entry thread, which nobody waits for: if it blocks on a directory lock, only it
 *     waits. While a deferred entry is not yet invalidated, the inode invalidation sent
 *     before the reply already makes the kernel ask again, and fs_ops.c answers ESTALE for
 *     a node that no longer resolves, which makes the VFS walk the path again
 *     (LOOKUP_REVAL): so even then the next syscall sees the change.
 *   - Single-threaded loop (-s): the op thread is the only one answering the kernel, so a
 *     READ holding a page lock could never be answered while it waits: the wait is
 *     bounded (SINGLE_WAIT_MS) and the batch completes after the reply.
 * Locking: the notify lock guards the queues, the async batch, the pollers and every
 *   struct fs_poller field. It is a leaf: taken under the cluster and nodes locks (in
 *   callbacks) or alone; nothing is locked under it and no notification is sent under it.
 * Complexity: per object change O(its known inodes + object pollers); per event
 *   O(log pollers); per batch O(k log k) for its k inodes (sorted, deduplicated). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "claimfs/store.h"
#include "fs_internal.h"

#define SINGLE_WAIT_MS 200

struct entry_inval {
	uint64_t parent; /* directory inode */
	char *name;	 /* owned */
};

struct fs_batch {
	uint64_t *inos; /* inodes to invalidate (may repeat) */
	size_t ninos, capinos;
	uint64_t *ainos; /* inodes whose attributes only to invalidate (may repeat) */
	size_t nainos, capainos;
	struct entry_inval *ents; /* entries to invalidate */
	size_t nents, capents;
	struct fuse_pollhandle **polls; /* poll handles to wake (owned) */
	size_t npolls, cappolls;
	int waiting;	       /* an op waits for it (then the op frees it) */
	int done;	       /* sent */
	int abandoned;	       /* the op stopped waiting: the thread frees it */
	struct fs_batch *next; /* queue link */
};

struct fs_notify {
	struct fs *fs;
	pthread_mutex_t lock;		/* the notify lock */
	pthread_cond_t work;		/* notifier thread: a batch was queued or stop */
	pthread_cond_t done;		/* ops: a batch was sent */
	pthread_cond_t ework;		/* entry thread: entries were queued or stop */
	struct fs_batch *async;		/* changes made outside ops (never NULL) */
	struct fs_batch *qhead, *qtail; /* notifier thread's queue */
	struct fs_batch *ehead, *etail; /* entry thread's queue (entries only) */
	struct fs_poller *pollers;	/* armed pollers */
	pthread_t thread, ethread;
	int started;
	int stopping;
	uint64_t max_obj_id; /* highest object id seen (cluster lock) */
};

static __thread struct fs_batch *cur_batch;

/* ---- batches ---- */

static struct fs_batch *batch_new(void)
{
	return xcalloc(1, sizeof(struct fs_batch));
}

static int batch_empty(const struct fs_batch *b)
{
	return !b->ninos && !b->nainos && !b->nents && !b->npolls;
}

static void batch_free(struct fs_batch *b)
{
	size_t i;
	if (!b)
		return;
	for (i = 0; i < b->nents; i++)
		free(b->ents[i].name);
	for (i = 0; i < b->npolls; i++)
		fuse_pollhandle_destroy(b->polls[i]);
	free(b->inos);
	free(b->ainos);
	free(b->ents);
	free(b->polls);
	free(b);
}

static void add_ino(struct fs_batch *b, uint64_t ino)
{
	if (b->ninos && b->inos[b->ninos - 1] == ino)
		return; /* the common repeat: one object touched several times */
	if (b->ninos == b->capinos) {
		b->capinos = b->capinos ? b->capinos * 2 : 16;
		b->inos = xrealloc(b->inos, b->capinos * sizeof(*b->inos));
	}
	b->inos[b->ninos++] = ino;
}

/* Kind directories of a bulk change alternate (claims, volumes): look a little back. */
static void add_attr(struct fs_batch *b, uint64_t ino)
{
	size_t i;
	for (i = b->nainos; i > 0 && i + 4 > b->nainos; i--)
		if (b->ainos[i - 1] == ino)
			return;
	if (b->nainos == b->capainos) {
		b->capainos = b->capainos ? b->capainos * 2 : 8;
		b->ainos = xrealloc(b->ainos, b->capainos * sizeof(*b->ainos));
	}
	b->ainos[b->nainos++] = ino;
}

static void add_entry(struct fs_batch *b, uint64_t parent, const char *name)
{
	if (b->nents == b->capents) {
		b->capents = b->capents ? b->capents * 2 : 8;
		b->ents = xrealloc(b->ents, b->capents * sizeof(*b->ents));
	}
	b->ents[b->nents].parent = parent;
	b->ents[b->nents].name = xstrdup(name);
	b->nents++;
}

static void add_poll(struct fs_batch *b, struct fuse_pollhandle *ph)
{
	if (b->npolls == b->cappolls) {
		b->cappolls = b->cappolls ? b->cappolls * 2 : 4;
		b->polls = xrealloc(b->polls, b->cappolls * sizeof(*b->polls));
	}
	b->polls[b->npolls++] = ph;
}

static void enqueue(struct fs_notify *nf, struct fs_batch *b) /* notify lock held */
{
	b->next = NULL;
	if (nf->qtail)
		nf->qtail->next = b;
	else
		nf->qhead = b;
	nf->qtail = b;
	pthread_cond_signal(&nf->work);
}

static void enqueue_entries(struct fs_notify *nf, struct fs_batch *b) /* notify lock held */
{
	b->next = NULL;
	if (nf->etail)
		nf->etail->next = b;
	else
		nf->ehead = b;
	nf->etail = b;
	pthread_cond_signal(&nf->ework);
}

/* Queues the async batch for the notifier thread. Notify lock held. */
static void flush_async(struct fs_notify *nf)
{
	if (batch_empty(nf->async))
		return;
	enqueue(nf, nf->async);
	nf->async = batch_new();
}

/* ---- sending ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void send_inodes_and_polls(struct fs_notify *nf, struct fs_batch *b)
{
	size_t i, j = 0;
	if (b->ninos > 1)
		qsort(b->inos, b->ninos, sizeof(*b->inos), cmp_u64);
	for (i = 0; i < b->ninos; i++) {
		if (i > 0 && b->inos[i] == b->inos[i - 1])
			continue;
		/* -ENOENT: the kernel dropped it meanwhile; nothing to do. */
		fuse_lowlevel_notify_inval_inode(nf->fs->se, b->inos[i], 0, 0);
	}
	if (b->nainos > 1)
		qsort(b->ainos, b->nainos, sizeof(*b->ainos), cmp_u64);
	for (i = 0; i < b->nainos; i++) {
		if (i > 0 && b->ainos[i] == b->ainos[i - 1])
			continue;
		while (j < b->ninos && b->inos[j] < b->ainos[i])
			j++;
		if (j < b->ninos && b->inos[j] == b->ainos[i])
			continue; /* its attributes went with its pages above */
		/* offset -1: the attributes only, the pages (a readdir cache) stay */
		fuse_lowlevel_notify_inval_inode(nf->fs->se, b->ainos[i], -1, 0);
	}
	b->ninos = 0;
	b->nainos = 0;
	for (i = 0; i < b->npolls; i++) {
		fuse_lowlevel_notify_poll(b->polls[i]);
		fuse_pollhandle_destroy(b->polls[i]);
	}
	b->npolls = 0;
}

static void send_entries(struct fs_notify *nf, struct fs_batch *b)
{
	size_t i;
	for (i = 0; i < b->nents; i++) {
		if (nf->fs->se)
			fuse_lowlevel_notify_inval_entry(nf->fs->se, b->ents[i].parent,
							 b->ents[i].name, strlen(b->ents[i].name));
		free(b->ents[i].name);
	}
	b->nents = 0;
}

static void *notifier_main(void *arg)
{
	struct fs_notify *nf = arg;
	pthread_mutex_lock(&nf->lock);
	for (;;) {
		while (!nf->qhead && !nf->stopping)
			pthread_cond_wait(&nf->work, &nf->lock);
		struct fs_batch *b = nf->qhead;
		if (!b)
			break;
		nf->qhead = b->next;
		if (!nf->qhead)
			nf->qtail = NULL;
		pthread_mutex_unlock(&nf->lock);
		send_inodes_and_polls(nf, b);
		pthread_mutex_lock(&nf->lock);
		if (b->waiting && !b->abandoned) {
			b->done = 1; /* the op owns it from here */
			pthread_cond_broadcast(&nf->done);
		} else if (b->nents) {
			enqueue_entries(nf, b);
		} else {
			batch_free(b);
		}
	}
	pthread_mutex_unlock(&nf->lock);
	return NULL;
}

static void *entry_main(void *arg)
{
	struct fs_notify *nf = arg;
	pthread_mutex_lock(&nf->lock);
	for (;;) {
		while (!nf->ehead && !nf->stopping)
			pthread_cond_wait(&nf->ework, &nf->lock);
		struct fs_batch *b = nf->ehead;
		if (!b)
			break;
		nf->ehead = b->next;
		if (!nf->ehead)
			nf->etail = NULL;
		pthread_mutex_unlock(&nf->lock);
		send_entries(nf, b);
		batch_free(b);
		pthread_mutex_lock(&nf->lock);
	}
	pthread_mutex_unlock(&nf->lock);
	return NULL;
}

/* ---- the cluster_watch callbacks (LOCKED: cluster lock held; must not block) ---- */

struct sink {
	struct fs_notify *nf;
	struct fs_batch *b; /* the op's batch, or NULL: the async batch */
};

/* fs_nodes_obj_changed's callback: nodes lock held. */
static void sink_ino(void *ctx, uint64_t ino)
{
	struct sink *s = ctx;
	if (s->b) {
		add_ino(s->b, ino);
		return;
	}
	pthread_mutex_lock(&s->nf->lock);
	add_ino(s->nf->async, ino);
	pthread_mutex_unlock(&s->nf->lock);
}

static void on_object(void *ctx, const struct object *obj, int removed)
{
	struct fs_notify *nf = ctx;
	struct fs *fs = nf->fs;
	struct sink s = {nf, cur_batch};
	int created = !removed && obj->id > nf->max_obj_id;
	struct fs_poller *p;

	if (obj->id > nf->max_obj_id)
		nf->max_obj_id = obj->id;
	tree_note_change(fs->cl, obj, removed);
	fs_nodes_obj_changed(fs->nodes, obj->id, removed, sink_ino, &s);
	fs_data_obj_changed(fs, obj->id, removed); /* the data views of a removed PV or pod */
	uint64_t dir = tree_kind_dir_ino(fs->cl, obj->kind, obj->ns);
	if (dir && fs_nodes_known(fs->nodes, dir)) {
		if (!s.b)
			pthread_mutex_lock(&nf->lock);
		struct fs_batch *b = s.b ? s.b : nf->async;
		if (created || removed)
			add_ino(b, dir); /* the listing changed */
		else
			add_attr(b, dir); /* its mtime only */
		if (removed)
			add_entry(b, dir, obj->name);
		if (!s.b)
			pthread_mutex_unlock(&nf->lock);
	}
	pthread_mutex_lock(&nf->lock);
	for (p = nf->pollers; p; p = p->next)
		if (!p->is_log && p->ph && p->obj_id == obj->id) {
			add_poll(s.b ? s.b : nf->async, p->ph);
			p->ph = NULL;
		}
	pthread_mutex_unlock(&nf->lock);
}

static void on_event(void *ctx, const char *object_path)
{
	struct fs_notify *nf = ctx;
	struct fs_poller *p;
	tree_note_event(nf->fs->cl, object_path);
	pthread_mutex_lock(&nf->lock);
	for (p = nf->pollers; p; p = p->next)
		if (p->is_log && p->ph &&
		    (!p->path || (object_path && strcmp(p->path, object_path) == 0))) {
			add_poll(cur_batch ? cur_batch : nf->async, p->ph);
			p->ph = NULL;
		}
	pthread_mutex_unlock(&nf->lock);
}

static void on_background(void *ctx)
{
	struct fs_notify *nf = ctx;
	pthread_mutex_lock(&nf->lock);
	flush_async(nf);
	pthread_mutex_unlock(&nf->lock);
}

/* ---- life cycle ---- */

struct fs_notify *fs_notify_new(struct fs *fs)
{
	struct fs_notify *nf = xcalloc(1, sizeof(*nf));
	nf->fs = fs;
	pthread_mutex_init(&nf->lock, NULL);
	pthread_cond_init(&nf->work, NULL);
	pthread_cond_init(&nf->done, NULL);
	pthread_cond_init(&nf->ework, NULL);
	nf->async = batch_new();
	return nf;
}

int fs_notify_start(struct fs_notify *nf)
{
	struct cluster *cl = nf->fs->cl;
	size_t nk, n, i, j;
	struct cluster_watch w = {nf, on_object, on_event, on_background};

	/* Objects with a higher id than any seen now are new (ids are never reused and grow). */
	cluster_lock(cl);
	const struct kind *const *kinds = store_kinds(cluster_store(cl), &nk);
	for (i = 0; i < nk; i++) {
		struct object *const *v = store_list(cluster_store(cl), kinds[i], NULL, &n);
		for (j = 0; j < n; j++)
			if (v[j]->id > nf->max_obj_id)
				nf->max_obj_id = v[j]->id;
	}
	cluster_unlock(cl);
	if (pthread_create(&nf->thread, NULL, notifier_main, nf) != 0)
		return -EAGAIN;
	if (pthread_create(&nf->ethread, NULL, entry_main, nf) != 0) {
		pthread_mutex_lock(&nf->lock);
		nf->stopping = 1;
		pthread_cond_broadcast(&nf->work);
		pthread_mutex_unlock(&nf->lock);
		pthread_join(nf->thread, NULL);
		return -EAGAIN;
	}
	nf->started = 1;
	cluster_set_watch(cl, &w);
	return 0;
}

void fs_notify_stop(struct fs_notify *nf)
{
	struct cluster_watch none = {NULL, NULL, NULL, NULL};
	if (!nf || !nf->started)
		return;
	cluster_set_watch(nf->fs->cl, &none);
	pthread_mutex_lock(&nf->lock);
	nf->stopping = 1;
	/* Drop what is still queued: the mount is gone. */
	while (nf->qhead) {
		struct fs_batch *b = nf->qhead;
		nf->qhead = b->next;
		if (b->waiting && !b->abandoned) {
			b->done = 1;
		} else {
			batch_free(b);
		}
	}
	nf->qtail = NULL;
	while (nf->ehead) {
		struct fs_batch *b = nf->ehead;
		nf->ehead = b->next;
		batch_free(b);
	}
	nf->etail = NULL;
	pthread_cond_broadcast(&nf->work);
	pthread_cond_broadcast(&nf->ework);
	pthread_cond_broadcast(&nf->done);
	pthread_mutex_unlock(&nf->lock);
	pthread_join(nf->thread, NULL);
	pthread_join(nf->ethread, NULL);
	nf->started = 0;
}

void fs_notify_free(struct fs_notify *nf)
{
	struct fs_poller *p;
	if (!nf)
		return;
	for (p = nf->pollers; p; p = p->next)
		if (p->ph) {
			fuse_pollhandle_destroy(p->ph);
			p->ph = NULL;
		}
	batch_free(nf->async);
	pthread_cond_destroy(&nf->work);
	pthread_cond_destroy(&nf->done);
	pthread_cond_destroy(&nf->ework);
	pthread_mutex_destroy(&nf->lock);
	free(nf);
}

/* ---- ops ---- */

void fs_op_begin(struct fs *fs, struct fs_op *op, int holds_dir)
{
	op->batch = batch_new();
	op->holds_dir = holds_dir;
	cur_batch = op->batch;
}

void fs_op_before_reply(struct fs *fs, struct fs_op *op)
{
	struct fs_notify *nf = fs->notify;
	struct fs_batch *b = op->batch, *send;
	cur_batch = NULL;
	if (!b)
		return;
	if (!op->holds_dir)
		send_entries(nf, b);
	pthread_mutex_lock(&nf->lock);
	flush_async(nf); /* anything another thread left behind goes out too */
	if ((b->ninos || b->nainos || b->npolls) && !fs->single_thread) {
		/* Sent from this thread: the same wait as for the notifier, without the two
		 * thread switches of handing the batch over (a quarter of a durable claim
		 * write's context switches). */
		pthread_mutex_unlock(&nf->lock);
		send_inodes_and_polls(nf, b);
		return;
	}
	if (b->ninos || b->nainos || b->npolls) {
		/* The notifier gets the inodes and polls; the op keeps the entries. */
		send = batch_new();
		send->inos = b->inos;
		send->ninos = b->ninos;
		send->capinos = b->capinos;
		send->ainos = b->ainos;
		send->nainos = b->nainos;
		send->capainos = b->capainos;
		send->polls = b->polls;
		send->npolls = b->npolls;
		send->cappolls = b->cappolls;
		b->inos = NULL;
		b->ainos = NULL;
		b->polls = NULL;
		b->ninos = b->capinos = b->npolls = b->cappolls = 0;
		b->nainos = b->capainos = 0;
		send->waiting = 1;
		enqueue(nf, send);
		if (fs->single_thread) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (long)SINGLE_WAIT_MS * 1000000L;
			ts.tv_sec += ts.tv_nsec / 1000000000L;
			ts.tv_nsec %= 1000000000L;
			while (!send->done && !nf->stopping)
				if (pthread_cond_timedwait(&nf->done, &nf->lock, &ts) == ETIMEDOUT)
					break;
		} else {
			while (!send->done && !nf->stopping)
				pthread_cond_wait(&nf->done, &nf->lock);
		}
		if (send->done)
			batch_free(send);
		else
			send->abandoned = 1; /* still queued or being sent: the thread frees it */
	}
	pthread_mutex_unlock(&nf->lock);
}

void fs_op_after_reply(struct fs *fs, struct fs_op *op)
{
	struct fs_notify *nf = fs->notify;
	struct fs_batch *b = op->batch;
	cur_batch = NULL;
	op->batch = NULL;
	if (!b)
		return;
	if (b->nents) {
		pthread_mutex_lock(&nf->lock);
		if (nf->stopping) {
			pthread_mutex_unlock(&nf->lock);
			batch_free(b);
			return;
		}
		enqueue_entries(nf, b);
		pthread_mutex_unlock(&nf->lock);
		return;
	}
	batch_free(b);
}

void fs_op_add_inode(struct fs_op *op, uint64_t ino)
{
	if (op->batch)
		add_ino(op->batch, ino);
}

void fs_op_add_entry(struct fs_op *op, uint64_t parent, const char *name)
{
	if (op->batch)
		add_entry(op->batch, parent, name);
}

void fs_notify_inval_async(struct fs *fs, uint64_t ino)
{
	struct fs_notify *nf = fs->notify;
	pthread_mutex_lock(&nf->lock);
	add_ino(nf->async, ino);
	flush_async(nf);
	pthread_mutex_unlock(&nf->lock);
}

void fs_notify_poll_arm(struct fs *fs, struct fs_poller *p, struct fuse_pollhandle *ph)
{
	struct fs_notify *nf = fs->notify;
	pthread_mutex_lock(&nf->lock);
	if (p->ph)
		fuse_pollhandle_destroy(p->ph);
	p->ph = ph;
	if (!p->active) {
		p->prev = NULL;
		p->next = nf->pollers;
		if (nf->pollers)
			nf->pollers->prev = p;
		nf->pollers = p;
		p->active = 1;
	}
	pthread_mutex_unlock(&nf->lock);
}

void fs_notify_poll_disarm(struct fs *fs, struct fs_poller *p)
{
	struct fs_notify *nf = fs->notify;
	pthread_mutex_lock(&nf->lock);
	if (p->active) {
		if (p->prev)
			p->prev->next = p->next;
		else
			nf->pollers = p->next;
		if (p->next)
			p->next->prev = p->prev;
		p->next = p->prev = NULL;
		p->active = 0;
	}
	if (p->ph) {
		fuse_pollhandle_destroy(p->ph);
		p->ph = NULL;
	}
	pthread_mutex_unlock(&nf->lock);
}
