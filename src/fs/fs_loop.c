/* fs_loop.c - the multi-threaded request loop. With one client reading the tree it is
 * one thread that answers every request itself without sleeping between them; once a
 * request may wait (for the disk, the kernel's invalidations, the group commit) or
 * several clients are in service at once, every idle thread waits for requests, as in
 * libfuse's loop.
 *
 * DESIGN
 * Why not libfuse's loop alone. In fuse_session_loop_mt every idle worker sleeps in
 * read(2) of /dev/fuse and the kernel wakes one for each request. On a two-vCPU VM a
 * wake-up on the other vCPU costs more than most of claimfs's answers: a cat of every
 * claim's phase spent two wake-ups per file (open and release) on it
 * (docs/performance.md). Two modes, one descriptor (non-blocking):
 *   SOLO: one thread, the reader, takes every request and answers it itself. After each
 *     it keeps asking for the next for up to SPIN_US, then sleeps in poll(2): a client
 *     that reads file after file (cat, ls -l, find, a monitor) is answered without any
 *     thread being woken. The other threads are parked on a condition variable: nobody
 *     else waits on the device, so no request wakes a thread for nothing.
 *   SHARED: every idle thread waits on the device (epoll, EPOLLEXCLUSIVE: one wake-up
 *     per request) and serves what it reads itself, whatever it is. A thread is started
 *     when none is left waiting or about to (up to LOOP_MAX_THREADS), so requests that
 *     wait for one another (an invalidation waiting for a READ) are always answered.
 * Switching. The SOLO reader answers only the requests that cannot wait for anything but
 * a short lock (answer_inline); at the first other one it turns the loop SHARED, wakes
 * the parked threads to wait on the device and serves that request itself. SHARED turns
 * SOLO after SOLO_AFTER requests in a row that the reader could have answered, each taken
 * while no other client's request was in service. Clients are calling threads (the
 * header's pid): the kernel's own requests (pid 0: a RELEASE after close(2) returned,
 * FORGET) count for nobody, nor does a client's request taken while the thread that
 * answered its previous one has not yet returned. While SOLO the kick eventfd is
 * readable, so a thread still waiting on the device from the last SHARED time comes
 * back and parks. Either mode is correct at any moment: the mode only decides who reads.
 * What the reader answers (answer_inline): never a request that sends a kernel
 * notification (fs_notify.c: an invalidation may wait for a READ that only the reader
 * would answer), applies a change or touches a volume's backing file: LOOKUP, GETATTR,
 * OPEN, READ, CREATE, RELEASE of a handle with nothing to apply, WRITE into a manifest
 * buffer, the directory and xattr reads, STATFS, ACCESS, READLINK, POLL, FORGET and
 * INTERRUPT, none on a volume's data inodes. It may wait for the cluster lock and a
 * handle's lock, whose holders never wait for the kernel (include/claimfs/store.h, LOCK
 * DESIGN), so it cannot deadlock; while it waits, the requests behind it wait too (a
 * compaction holds the cluster lock while it writes the snapshot: every doubling of the
 * journal).
 * Locking: the loop lock guards the counts and the mode. A leaf: nothing is taken under
 * it and no request is served under it.
 * Exit: a thread that reads the end of the session (unmount) or the main thread,
 * interrupted by a signal (the only thread that takes SIGINT, SIGTERM and SIGHUP: loop
 * threads block every signal, as libfuse's workers, and main.c blocks those three in the
 * daemon's other threads), sets `exiting` and writes the exit eventfd, which every
 * sleeping thread also waits on; threads finish what they hold and the main thread
 * joins them. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "fs_internal.h"

#define LOOP_MAX_THREADS 128 /* as libfuse's loop: ops may wait for notifications */
#define LOOP_START_THREADS 8
#define SPIN_US 50
#define SOLO_AFTER 256

enum loop_mode { LOOP_SOLO, LOOP_SHARED };

struct loop {
	struct fuse_session *se;
	int fd;	    /* the session's device, non-blocking */
	int exitfd; /* eventfd: readable once exiting */
	int kickfd; /* eventfd: readable while SOLO, so that no thread stays on the device */
	pthread_mutex_t lock;
	pthread_cond_t park; /* parked threads: a mode change, exit */
	enum loop_mode mode;
	int reader;	   /* SOLO: a thread is the reader */
	unsigned waiting;  /* SHARED: threads waiting on the device */
	unsigned parked;   /* threads waiting on park */
	unsigned quiet;	   /* SHARED: requests in a row the reader could have answered alone */
	unsigned clients;  /* requests in service that a client's thread waits for */
	uint32_t last_pid; /* the calling thread of the last of them taken into service */
	unsigned nthreads;
	pthread_t *threads;
	int debug; /* -d: print each mode change on stderr */
	int exiting;
	int rc; /* the first error that ended the loop */
};

/* The handle a WRITE or RELEASE names (its fh comes first in both bodies). */
static struct fs_handle *peek_handle(const struct fuse_buf *b, size_t body)
{
	uint64_t fh;
	if (b->size < sizeof(struct fuse_in_header) + body)
		return NULL;
	memcpy(&fh, (const char *)b->mem + sizeof(struct fuse_in_header), sizeof(fh));
	return fh ? (struct fs_handle *)(uintptr_t)fh : NULL; /* 0: no handle of ours */
}

/* 1 when the SOLO reader may answer this request itself (DESIGN above). */
static int answer_inline(const struct fuse_buf *b)
{
	const struct fuse_in_header *in = b->mem;
	struct fs_handle *h;
	int ok;
	if (b->size < sizeof(*in))
		return 0;
	switch (in->opcode) {
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT:
	case FUSE_STATFS:
		return 1;
	case FUSE_LOOKUP:
	case FUSE_GETATTR:
	case FUSE_OPEN:
	case FUSE_READ:
	case FUSE_CREATE:
	case FUSE_OPENDIR:
	case FUSE_READDIR:
	case FUSE_READDIRPLUS:
	case FUSE_RELEASEDIR:
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR:
	case FUSE_ACCESS:
	case FUSE_READLINK:
	case FUSE_POLL:
		return !fs_is_data(in->nodeid);
	case FUSE_WRITE:
		if (fs_is_data(in->nodeid) || !(h = peek_handle(b, sizeof(struct fuse_write_in))))
			return 0;
		fs_fh_enter(&h->sync);
		ok = h->kind == FS_H_APPLY;
		fs_fh_leave(&h->sync);
		return ok;
	case FUSE_RELEASE:
		if (fs_is_data(in->nodeid) || !(h = peek_handle(b, sizeof(struct fuse_release_in))))
			return 0;
		fs_fh_enter(&h->sync);
		pthread_mutex_lock(&h->lock);
		ok = h->kind != FS_H_APPLY || !h->dirty;
		pthread_mutex_unlock(&h->lock);
		fs_fh_leave(&h->sync);
		return ok;
	default:
		return 0;
	}
}

static void *loop_thread(void *arg);

/* Starts a loop thread (loop lock held), with every signal blocked. */
static void start_thread(struct loop *lp)
{
	sigset_t all, old;
	if (lp->nthreads >= LOOP_MAX_THREADS || lp->exiting)
		return;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&lp->threads[lp->nthreads], NULL, loop_thread, lp) == 0)
		lp->nthreads++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Ends the loop (loop lock held): rc < 0 is the error that ended it. */
static void stop(struct loop *lp, int rc)
{
	if (rc < 0 && !lp->rc)
		lp->rc = rc;
	if (lp->exiting)
		return;
	lp->exiting = 1;
	pthread_cond_broadcast(&lp->park);
	eventfd_write(lp->exitfd, 1); /* fails only on overflow: readable then */
}

/* stop, from a thread that does not hold the loop lock. */
static void stop_unlocked(struct loop *lp, int rc)
{
	pthread_mutex_lock(&lp->lock);
	stop(lp, rc);
	pthread_mutex_unlock(&lp->lock);
}

/* Changes the mode (loop lock held); with -d says so, as libfuse prints requests. */
static void set_mode(struct loop *lp, enum loop_mode mode, const char *why)
{
	eventfd_t v;
	if (lp->mode == mode)
		return;
	lp->mode = mode;
	if (lp->debug)
		fprintf(stderr, "claimfs: request loop: %s (%s)\n",
			mode == LOOP_SOLO ? "one reader" : "every thread reads", why);
	if (mode == LOOP_SHARED) {
		/* drained before the parked threads go to wait on the device (EAGAIN: unset) */
		eventfd_read(lp->kickfd, &v);
		pthread_cond_broadcast(&lp->park);
	} else {
		eventfd_write(lp->kickfd, 1); /* fails only on overflow: readable then */
	}
}

/* Reads one request into buf without blocking: 1, 0 for none yet, -1 once the loop is
 * over (loop lock not held). */
static int read_request(struct loop *lp, struct fuse_buf *buf)
{
	int res = fuse_session_receive_buf(lp->se, buf);
	if (res == -EAGAIN || res == -EINTR)
		return 0;
	if (res > 0 && !fuse_session_exited(lp->se)) {
		buf->size = (size_t)res;
		return 1;
	}
	stop_unlocked(lp, res < 0 ? res : 0); /* 0: the session ended (unmount) */
	return -1;
}

/* The calling thread of a request (0: the kernel's own). */
static uint32_t caller_of(const struct fuse_buf *buf)
{
	const struct fuse_in_header *in = buf->mem;
	return buf->size >= sizeof(*in) ? in->pid : 0;
}

/* Serves a request read in SHARED mode or the one that ended SOLO (loop lock held on
 * entry and return); quick: the reader could have answered it (answer_inline). */
static void serve(struct loop *lp, struct fuse_buf *buf, int quick)
{
	uint32_t pid = caller_of(buf);
	int other = pid && lp->clients && lp->last_pid != pid;
	lp->quiet = quick && !other ? lp->quiet + 1 : 0;
	if (lp->quiet >= SOLO_AFTER) /* this request is still served here */
		set_mode(lp, LOOP_SOLO, "one client reading");
	if (lp->mode == LOOP_SHARED && !lp->waiting && !lp->parked)
		start_thread(lp);
	if (pid) {
		lp->clients++;
		lp->last_pid = pid;
	}
	pthread_mutex_unlock(&lp->lock);
	fuse_session_process_buf(lp->se, buf);
	pthread_mutex_lock(&lp->lock);
	if (pid)
		lp->clients--;
}

/* SOLO: reads and answers requests until one must be served otherwise: 1 with it in
 * buf, 0 at the end (loop lock not held). */
static int solo_read(struct loop *lp, struct fuse_buf *buf)
{
	struct pollfd p[2] = {{.fd = lp->fd, .events = POLLIN},
			      {.fd = lp->exitfd, .events = POLLIN}};
	int64_t last = fs_mono_ns();
	for (;;) {
		int r = read_request(lp, buf);
		if (r < 0)
			return 0;
		if (r > 0) {
			if (!answer_inline(buf))
				return 1;
			fuse_session_process_buf(lp->se, buf);
			last = fs_mono_ns();
		} else if (fs_mono_ns() - last >= SPIN_US * 1000) {
			if (poll(p, 2, -1) < 0 && errno != EINTR) {
				stop_unlocked(lp, -errno);
				return 0;
			}
			if (p[1].revents)
				return 0;
			last = fs_mono_ns();
		}
	}
}

/* SHARED: waits on the device for a request and serves it (loop lock held on entry and
 * return). */
static void shared_serve(struct loop *lp, int ep, struct fuse_buf *buf)
{
	struct epoll_event ev;
	lp->waiting++;
	pthread_mutex_unlock(&lp->lock);
	int r = 0;
	while (r == 0) {
		/* level-triggered: returns at once while a request is queued */
		int n = epoll_wait(ep, &ev, 1, -1);
		if (n < 0 && errno != EINTR) {
			stop_unlocked(lp, -errno);
			break;
		}
		if (n > 0 && ev.data.fd != lp->fd)
			break; /* the end, or SOLO now: back to the top, to park */
		r = read_request(lp, buf);
	}
	int quick = r > 0 && answer_inline(buf); /* before the loop lock: it may take a handle's */
	pthread_mutex_lock(&lp->lock);
	lp->waiting--;
	if (r > 0)
		serve(lp, buf, quick);
}

/* One epoll instance per thread: the device (exclusive), the exit and kick eventfds. */
static int thread_epoll(struct loop *lp)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = lp->fd};
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -errno;
	int rc = epoll_ctl(ep, EPOLL_CTL_ADD, lp->fd, &ev);
	ev.events = EPOLLIN;
	ev.data.fd = lp->exitfd;
	if (rc == 0)
		rc = epoll_ctl(ep, EPOLL_CTL_ADD, lp->exitfd, &ev);
	ev.data.fd = lp->kickfd;
	if (rc == 0)
		rc = epoll_ctl(ep, EPOLL_CTL_ADD, lp->kickfd, &ev);
	if (rc < 0) {
		rc = -errno;
		close(ep);
		return rc;
	}
	return ep;
}

static void *loop_thread(void *arg)
{
	struct loop *lp = arg;
	struct fuse_buf buf;
	int ep = thread_epoll(lp);
	memset(&buf, 0, sizeof(buf)); /* fuse_session_receive_buf allocates its memory */
	pthread_mutex_lock(&lp->lock);
	if (ep < 0)
		stop(lp, ep);
	while (!lp->exiting) {
		if (lp->mode == LOOP_SHARED) {
			shared_serve(lp, ep, &buf);
		} else if (!lp->reader) {
			lp->reader = 1;
			lp->quiet = 0;
			pthread_mutex_unlock(&lp->lock);
			int got = solo_read(lp, &buf);
			pthread_mutex_lock(&lp->lock);
			lp->reader = 0;
			if (got && !lp->exiting) {
				set_mode(lp, LOOP_SHARED, "a request that may wait");
				serve(lp, &buf, 0);
			}
		} else {
			lp->parked++;
			pthread_cond_wait(&lp->park, &lp->lock);
			lp->parked--;
		}
	}
	pthread_mutex_unlock(&lp->lock);
	free(buf.mem);
	if (ep >= 0)
		close(ep);
	return NULL;
}

void fs_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

int fs_loop_run(struct fs *fs)
{
	struct loop lp;
	memset(&lp, 0, sizeof(lp));
	lp.se = fs->se;
	lp.fd = fuse_session_fd(fs->se);
	int fl = fcntl(lp.fd, F_GETFL);
	if (fl < 0 || fcntl(lp.fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	lp.exitfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (lp.exitfd < 0)
		return -errno;
	lp.kickfd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK); /* SOLO to begin with */
	if (lp.kickfd < 0) {
		close(lp.exitfd);
		return -errno;
	}
	pthread_mutex_init(&lp.lock, NULL);
	pthread_cond_init(&lp.park, NULL);
	lp.threads = xcalloc(LOOP_MAX_THREADS, sizeof(*lp.threads));
	lp.mode = LOOP_SOLO;
	lp.debug = fs->debug;
	pthread_mutex_lock(&lp.lock);
	for (int i = 0; i < LOOP_START_THREADS; i++)
		start_thread(&lp);
	if (!lp.nthreads)
		stop(&lp, -EAGAIN);
	pthread_mutex_unlock(&lp.lock);
	/* The main thread takes the signals (main.c blocks them in every other thread) and
	 * waits for the end here; they are let in only inside ppoll, so one that comes
	 * between the check and the wait is not lost. */
	sigset_t stop_sigs, open_mask;
	fs_stop_signals(&stop_sigs);
	pthread_sigmask(SIG_BLOCK, &stop_sigs, &open_mask);
	struct pollfd p = {.fd = lp.exitfd, .events = POLLIN};
	for (;;) {
		pthread_mutex_lock(&lp.lock);
		if (fuse_session_exited(fs->se))
			stop(&lp, 0); /* a signal: a clean unmount follows */
		int done = lp.exiting;
		pthread_mutex_unlock(&lp.lock);
		if (done)
			break;
		if (ppoll(&p, 1, NULL, &open_mask) < 0 && errno != EINTR)
			stop_unlocked(&lp, -errno);
	}
	pthread_sigmask(SIG_SETMASK, &open_mask, NULL);
	/* nthreads only grows, under the lock, and no thread starts once exiting */
	pthread_mutex_lock(&lp.lock);
	unsigned n = lp.nthreads;
	pthread_mutex_unlock(&lp.lock);
	for (unsigned i = 0; i < n; i++)
		pthread_join(lp.threads[i], NULL);
	free(lp.threads);
	close(lp.exitfd);
	close(lp.kickfd);
	pthread_cond_destroy(&lp.park);
	pthread_mutex_destroy(&lp.lock);
	return lp.rc;
}
