/* fs_internal.h - what the files of the FUSE adapter (src/fs) share: the mount's state
 * (struct fs), rendered contents (struct fs_blob), the inode table (fs_nodes.c), open
 * files (fs_handles.c), attributes and cache timeouts (fs_attr.c), cache invalidation
 * and poll wake-ups (fs_notify.c), the op table (fs_ops.c), the request loop
 * (fs_loop.c) and the command line (fs_opts.c, main.c). Only src/fs includes
 * <fuse_lowlevel.h>; the core never does.
 *
 * Locks of the adapter, in the order they are taken (the one written lock design is the
 * LOCK DESIGN comment of include/claimfs/store.h): a handle lock (an op on an open file
 * may call into the cluster while holding it), then the cluster lock, then the nodes
 * lock, then the notify lock; the request loop's lock is a leaf taken alone. No lock of
 * ours is held while replying to FUSE or while calling a fuse_lowlevel_notify_* function
 * (the loop's reader may wait for any of them while a READ waits behind it).
 * Errors: 0 or a negative errno, as in the core; fs_ops.c turns them into replies. */
#ifndef CLAIMFS_FS_INTERNAL_H
#define CLAIMFS_FS_INTERNAL_H

#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 14)
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include "claimfs/cluster.h"
#include "claimfs/strbuf.h"
#include "claimfs/tree.h"

/* Kernel cache lifetime of entries and attributes that are invalidated explicitly. */
#define FS_TTL_LONG 86400.0
/* Files up to this size may stay in the page cache between opens (keep_cache). */
#define FS_KEEP_CACHE_MAX 4096
/* Inode numbers of files being created (not in the tree): high bit set. tree.h numbers
 * stay below 1 << 63 (tree_internal.h: the map starts at 1 << 62). */
#define FS_INO_TEMP (1ULL << 63)

struct fs_nodes;
struct fs_notify;
struct fs_data;
struct fs_handle;

/* ---- the mount ---- */

struct fs {
	struct cluster *cl;	  /* the simulated cluster; its lock guards everything in it */
	struct fuse_session *se;  /* set before the loop starts, read-only afterwards */
	struct fs_nodes *nodes;	  /* inode table (own lock) */
	struct fs_notify *notify; /* invalidations and poll wake-ups (own lock) */
	struct fs_data *data;	  /* volume data below TREE_DATA nodes (own lock) */
	uid_t uid;		  /* owner of every file */
	gid_t gid;
	int no_cache;	   /* --no-cache: every timeout 0, direct_io everywhere */
	int single_thread; /* -s: the op thread is the only one answering the kernel */
	int debug;	   /* -d: the request loop also prints its mode changes (fs_loop.c) */
	/* fs_gone's recent ESTALE answers, a ring (the cluster lock guards it) */
	struct fs_stale {
		uint64_t dir;  /* the directory that holds the name again */
		uint64_t hash; /* of the name */
		uint64_t node; /* the node that held the name before (the one found gone) */
		pid_t pid;     /* the thread whose syscall got the answer */
		int64_t ms;    /* CLOCK_MONOTONIC ms of the answer */
	} stale[64];
	unsigned stale_next;
};

/* ---- rendered contents: immutable, shared by the node cache and open handles ---- */

struct fs_blob {
	unsigned refs;	 /* atomic reference count */
	size_t len;	 /* bytes in data */
	uint64_t hash;	 /* FNV-1a of data */
	uint64_t cursor; /* TREE_LOG: sequence of the last event rendered */
	char data[];	 /* the content (not NUL-terminated) */
};

/* Takes the strbuf's bytes into a new blob (refs 1); the strbuf is released. */
struct fs_blob *fs_blob_from(struct strbuf *sb, uint64_t cursor);
struct fs_blob *fs_blob_ref(struct fs_blob *b);
void fs_blob_unref(struct fs_blob *b); /* NULL is fine */
uint64_t fs_hash(const void *data, size_t len);

/* ---- inode table (fs_nodes.c) ----
 * Every inode the kernel holds a reference to (lookup count > 0), with its tree node,
 * where it was found (parent, name), the size, hash and refined mtime of its last
 * rendering and an LRU cache of recent renderings. Indexed by inode number and by object
 * id (to invalidate every inode of a changed object in O(its inodes)). Own mutex (the
 * nodes lock): taken under the cluster lock or alone, never the other way round. */

/* What an op needs of a node, copied out so that a FORGET cannot free it under the op. */
struct fs_node_info {
	struct tree_node tn; /* owned copy */
	uint64_t parent;     /* inode of the directory it was found in (0: root) */
	char *name;	     /* its name there; owned; NULL for the root */
	int temp;	     /* a file being created in a TREE_CREATE directory */
	int64_t looked_ms;   /* CLOCK_MONOTONIC ms of the kernel's last lookup of it */
};
void fs_node_info_release(struct fs_node_info *ni);

/* The thread whose syscall made the request this thread answers: fs_of records it at the
 * start of every op (0 on threads that answer none), fs_gone tells by it that the VFS's
 * retry of a syscall met the same stale node again. */
extern __thread pid_t fs_caller;
static inline struct fs *fs_of(fuse_req_t req)
{
	fs_caller = fuse_req_ctx(req)->pid;
	return fuse_req_userdata(req);
}

/* A node looked up this recently was looked up by the syscall that meets it gone (fs_gone). */
#define FS_FRESH_LOOKUP_MS 100
static inline int64_t fs_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
static inline int64_t fs_mono_ms(void)
{
	return fs_mono_ns() / 1000000;
}
/* Node ni (a copy of a node the kernel holds, or of where a data view was entered: only
 * parent, name and looked_ms are read) no longer resolves: what to answer. -ENOENT when
 * its path names nothing now (the name is gone from a live directory), or the kernel
 * looked it up within FS_FRESH_LOOKUP_MS (the VFS's one retry of ESTALE, LOOKUP_REVAL,
 * happened within this syscall); -ESTALE when the path may name something new (the VFS
 * then walks it again). LOCKED (cluster lock). fs_ops.c. */
int fs_gone(struct fs *fs, const struct fs_node_info *ni);

/* What rendering a node gave (fs_nodes_render). */
struct fs_rendered {
	size_t size;	      /* bytes a read of the whole file returns */
	int64_t mtime_ms;     /* refined mtime (TREE_CLOCK: the model's) */
	uint64_t inval;	      /* the node's invalidation count when rendered */
	uint64_t hash;	      /* fs_hash of the content */
	int cached_other;     /* open cached handles hold another version (fs_nodes.c): the
				 kernel must not keep these attributes */
	int own_attr;	      /* a directory whose attributes are its object's alone (an
				 object's directory): invalidated with the object */
	struct fs_blob *blob; /* the content when asked for (a reference), else NULL */
};

struct fs_nodes *fs_nodes_new(void);
void fs_nodes_free(struct fs_nodes *t);
/* The kernel got one more reference to tn (lookup, readdirplus, mkdir): adds the node or
 * bumps its lookup count. parent/name: where it was found. */
void fs_nodes_remember(struct fs_nodes *t, const struct tree_node *tn, uint64_t parent,
		       const char *name);
/* A new file being created: a temporary inode (lookup count 1) under parent. */
uint64_t fs_nodes_add_temp(struct fs_nodes *t, uint64_t parent, const char *name);
/* FORGET: drops n references; the node is freed at 0 (never the root). */
void fs_nodes_forget(struct fs_nodes *t, uint64_t ino, uint64_t n);
/* Copies node ino out: 0, or -ENOENT when the kernel does not hold it. */
int fs_nodes_get(struct fs_nodes *t, uint64_t ino, struct fs_node_info *out);
int fs_nodes_known(struct fs_nodes *t, uint64_t ino);
/* The object obj_id changed or (removed) goes away: every node of it loses its cached
 * rendering, its invalidation count goes up, and fn(ctx, ino) is called for each node
 * the kernel holds (nodes lock held: fn may only take the notify lock). */
void fs_nodes_obj_changed(struct fs_nodes *t, uint64_t obj_id, int removed,
			  void (*fn)(void *, uint64_t), void *ctx);
/* Renders tn (a file or symlink) or reuses the cached rendering when it is still valid
 * (same cluster generation and, for TREE_CLOCK, the same second; or TREE_OWN and not
 * invalidated since), refines the mtime (same hash: old mtime; new hash: the model's
 * mtime, never going back; TREE_CLOCK: the model's mtime) and fills out. how:
 * FS_RENDER_ATTR, the attributes are for the kernel (the version they describe is
 * recorded: page cache versions); FS_RENDER_BLOB, the content too (an open). Directories:
 * size 0, mtime from tree_mtime. LOCKED (cluster lock). Returns tree_read's error
 * (-ENOENT when the node is gone). */
#define FS_RENDER_ATTR 0
#define FS_RENDER_BLOB 1
int fs_nodes_render(struct fs *fs, const struct tree_node *tn, int how, struct fs_rendered *out);
uint64_t fs_nodes_inval_count(struct fs_nodes *t, uint64_t ino);

/* Open files: every handle is registered from open to release (add/del), so that those
 * the kernel never released are freed with the table (fs_nodes_free). Nodes lock. */
void fs_nodes_handle_add(struct fs_nodes *t, struct fs_handle *h);
/* Unregisters h (and its page cache claim, if any). Returns 1 when the caller frees it
 * now, 0 when it is pinned: its last fs_nodes_unpin frees it. */
int fs_nodes_handle_del(struct fs_nodes *t, struct fs_handle *h);
/* The log handle (FS_H_LOG) thread pid opened on ino and has not released, the newest if
 * several, pinned so that a release meanwhile does not free it; NULL if none. Release it
 * with fs_nodes_unpin. O(open handles): asked by GETATTR of log files only. */
struct fs_handle *fs_nodes_pin_log(struct fs_nodes *t, uint64_t ino, pid_t pid);
void fs_nodes_unpin(struct fs_nodes *t, struct fs_handle *h);
/* Does thread pid hold inode ino open (a handle it opened, not released yet)? 1 or 0;
 * then *dir tells a directory, and *len is what a FS_H_READ handle reads (else 0).
 * O(open handles): asked only when a node is gone. */
int fs_nodes_opened_by(struct fs_nodes *t, uint64_t ino, pid_t pid, int *dir, size_t *len);
/* Page cache versions (design at the top of fs_nodes.c): may read handle h (its snapshot
 * one page at most) use the page cache? FS_PC_KEEP: yes, with what it holds (keep_cache);
 * FS_PC_FRESH: yes, opened without keep_cache (the kernel drops the inode's pages at
 * open); FS_PC_DIRECT: no, direct_io (cached handles of another version are open, or the
 * kernel's i_size may be another version's). Sets h->cached (and h->fresh) for the first
 * two. */
enum fs_pc { FS_PC_KEEP, FS_PC_FRESH, FS_PC_DIRECT };
enum fs_pc fs_nodes_cache_open(struct fs_nodes *t, struct fs_handle *h);
/* The kernel was given the size of version hash (a GETATTR through a handle). */
void fs_nodes_told(struct fs_nodes *t, uint64_t ino, uint64_t hash);
/* The first read of a FS_PC_FRESH handle: its open has dropped the old pages. */
void fs_nodes_cache_confirm(struct fs_nodes *t, struct fs_handle *h);

/* ---- attributes and cache policy (fs_attr.c) ---- */

/* Fills st for tn from a rendering (LOCKED: renders when needed); *attr_timeout gets the
 * kernel's attribute lifetime. Temporary nodes: an empty 0644 file. */
int fs_attr_get(struct fs *fs, const struct fs_node_info *ni, struct stat *st,
		double *attr_timeout);
/* The same, asked through open cached handle h (the kernel checks i_size before reading
 * the page cache): while h's snapshot is not the node's current version, its size, never
 * kept (attr_timeout 0), so a reader of an older version reads it to its end. LOCKED. */
int fs_attr_get_open(struct fs *fs, const struct fs_handle *h, struct stat *st,
		     double *attr_timeout);
/* The entry of child tn found in directory dir (lookup, readdirplus, mkdir): attributes
 * and both timeouts. LOCKED. */
int fs_attr_entry(struct fs *fs, const struct tree_node *dir, const struct tree_node *tn,
		  struct fuse_entry_param *e);
/* Attributes of a file being created (temporary inode). */
void fs_attr_temp(struct fs *fs, uint64_t ino, size_t size, struct stat *st);
/* May a directory's listing be cached by the kernel (cache_readdir)? */
int fs_attr_dir_cacheable(const struct fs *fs, const struct tree_node *dir);

/* ---- handing an open file's handle from request to request ----
 * The kernel orders the requests on one open file: the reply to its open comes before
 * any request that carries fi->fh, and its release comes after the replies to all the
 * others (each holds the file). That order reaches the daemon's threads through
 * /dev/fuse, but libfuse takes requests in by splice (FUSE_CAP_SPLICE_READ,
 * fs_data_init_conn), and ThreadSanitizer sees no synchronisation in splice (it does in
 * read(2) and write(2) of the device). So each handle carries the order itself, as a
 * release/acquire pair on its sync word: the thread that made it calls fs_fh_leave after
 * its last write and before the reply that hands it out; every request calls
 * fs_fh_enter before its first access and fs_fh_leave after its last; the release
 * request calls fs_fh_enter and then frees a handle whose every access happens before.
 * One atomic load and one atomic add per request, on the handle's own cache line. */
static inline void fs_fh_enter(unsigned *sync)
{
	(void)__atomic_load_n(sync, __ATOMIC_ACQUIRE);
}
static inline void fs_fh_leave(unsigned *sync)
{
	__atomic_fetch_add(sync, 1, __ATOMIC_RELEASE);
}

/* ---- the request loop (fs_loop.c) ---- */

/* Reads and answers requests until the session ends: 0, or a negative errno. */
int fs_loop_run(struct fs *fs);
/* The signals that end the daemon (SIGINT, SIGTERM, SIGHUP): only the main thread,
 * waiting in fs_loop_run, takes them. */
void fs_stop_signals(sigset_t *set);

/* ---- open files (fs_handles.c) ---- */

enum fs_hkind {
	FS_H_READ,  /* a snapshot rendered at open */
	FS_H_LOG,   /* TREE_LOG: a growing buffer and a cursor */
	FS_H_STORE, /* TREE_STORE opened for writing: each write(2) is stored */
	FS_H_APPLY, /* TREE_APPLY or a created file: writes buffered, applied at flush */
	FS_H_DIR,   /* an open directory: the listing taken at opendir */
};

/* A poll registration (fs_notify.c owns every field; notify lock). */
struct fs_poller {
	int active;		    /* in the notifier's list */
	int is_log;		    /* wake on events (else on changes of obj_id) */
	char *path;		    /* log of one object: its path in events; NULL: all */
	uint64_t obj_id;	    /* object whose changes wake it (0: none) */
	struct fuse_pollhandle *ph; /* the kernel's handle, until woken */
	struct fs_poller *next, *prev;
};

struct fs_dirent {
	char *name;	     /* owned */
	struct tree_node tn; /* owned copy */
};

struct fs_handle {
	unsigned sync; /* fs_fh_enter/fs_fh_leave: the kernel's order of its requests */
	enum fs_hkind kind;
	pthread_mutex_t lock;	/* serialises ops on this handle (taken before the cluster lock) */
	uint64_t ino;		/* the inode it was opened on */
	pid_t opener;		/* the thread that opened it (fs_caller then) */
	struct fs_node_info ni; /* the node (for a created file: its directory in ni.tn) */
	char *filename;		/* created file: its name in the directory; owned */
	struct fs_blob *snap;	/* FS_H_READ / readable FS_H_STORE: the content at open */
	uint64_t inval;		/* the node's invalidation count at open */
	int cached;		/* opened without direct_io: reads fill the page cache (counted
				   in its node: fs_nodes_cache_open) */
	int fresh;		/* cached, opened without keep_cache, no read yet */
	struct fs_handle *hnext, *hprev; /* fs_nodes' list of open handles (nodes lock) */
	unsigned pins;			 /* fs_nodes_pin_log holders (nodes lock) */
	int released;			 /* off the list; the last unpin frees it (nodes lock) */
	/* FS_H_LOG */
	struct strbuf log; /* rendered lines not yet dropped */
	uint64_t log_base; /* file offset of log.buf[0] */
	uint64_t cursor;   /* sequence of the last event rendered */
	uint64_t read_end; /* end of the last read: what the reader has seen */
	/* FS_H_APPLY */
	struct strbuf wbuf; /* the written bytes */
	int dirty;	    /* written since the last apply */
	uint64_t too_big;   /* end of a write refused with EFBIG (0: none): the whole
			       stream is refused at close, nothing of it applied */
	/* FS_H_DIR */
	struct fs_dirent *ents; /* the listing (without . and ..), taken at offset 0 */
	size_t nents;
	int listed;		 /* ents holds a listing */
	struct fs_poller poller; /* poll(2) registration */
};

struct fs_handle *fs_handle_new(enum fs_hkind kind, uint64_t ino, const struct fs_node_info *ni);
void fs_handle_free(struct fs_handle *h);
/* Copies up to size bytes at off into dst and returns how many: from the snapshot, or
 * from the log, rendering the events added since when the read goes past its end (takes
 * the cluster lock then). Handle lock held. */
size_t fs_handle_read(struct fs *fs, struct fs_handle *h, off_t off, size_t size, char *dst);
/* Renders the log events added since the handle's cursor (takes the cluster lock).
 * Returns 1 when the reader has unread bytes. Handle lock held. */
int fs_handle_log_refresh(struct fs *fs, struct fs_handle *h);
/* The size of a log handle's stream: its offsets run on from its open (or its restart)
 * over every event rendered into it, dropped from the log's history or not, so they can
 * pass the kept history's size. Refreshes first; takes the handle lock. */
uint64_t fs_handle_log_size(struct fs *fs, struct fs_handle *h);
/* Buffers a write of an FS_H_APPLY handle: 0, -EFBIG beyond MANIFEST_MAX_BYTES. */
int fs_handle_write(struct fs_handle *h, const char *buf, size_t size, off_t off);
int fs_handle_truncate(struct fs_handle *h, off_t size);
/* Takes a directory listing (LOCKED). */
int fs_handle_list(struct fs *fs, struct fs_handle *h);
/* Drops the listing (the directory then lists as empty). */
void fs_handle_clear(struct fs_handle *h);

/* ---- invalidation and poll wake-ups (fs_notify.c; design at its top) ---- */

struct fs_notify *fs_notify_new(struct fs *fs);
/* Installs the cluster_watch callbacks and starts the two notifier threads. */
int fs_notify_start(struct fs_notify *nf);
/* Stops the threads (after the session loop ended); pending notifications are dropped. */
void fs_notify_stop(struct fs_notify *nf);
void fs_notify_free(struct fs_notify *nf);

/* An op that may change the cluster: */
struct fs_op {
	struct fs_batch *batch; /* what the op's changes invalidate */
	int holds_dir;		/* the kernel holds a directory lock for this op */
};
/* Starts collecting the invalidations of this thread's changes. */
void fs_op_begin(struct fs *fs, struct fs_op *op, int holds_dir);
/* Before the reply: sends the collected inode invalidations and poll wake-ups (through the
 * notifier thread) and, unless holds_dir, the entry invalidations; waits until sent. */
void fs_op_before_reply(struct fs *fs, struct fs_op *op);
/* After the reply: hands the deferred entry invalidations to the entry thread. */
void fs_op_after_reply(struct fs *fs, struct fs_op *op);

/* Asks for an asynchronous inode invalidation (a read filled the page cache with an
 * outdated snapshot). */
void fs_notify_inval_async(struct fs *fs, uint64_t ino);
/* poll(2): registers ph (stolen; the previous one is destroyed) on the handle's poller. */
void fs_notify_poll_arm(struct fs *fs, struct fs_poller *p, struct fuse_pollhandle *ph);
/* Removes the poller (release). */
void fs_notify_poll_disarm(struct fs *fs, struct fs_poller *p);

/* An inode or entry invalidation more for the op's batch (the other views of volume data,
 * fs_data.h), sent like those of the op's own changes. */
void fs_op_add_inode(struct fs_op *op, uint64_t ino);
void fs_op_add_entry(struct fs_op *op, uint64_t parent, const char *name);

/* ---- volume data (fs_data.c, fs_data_io.c; design in fs_data.h) ----
 * Every inode below a TREE_DATA node is served from the volume backend (volume.h), in its
 * own range of node ids; fs_ops.c hands the ops on those inodes to these functions, which
 * reply themselves. They never take the cluster lock, but to answer for an inode whose
 * view died (dn_gone: a failure path, no lock of theirs held). */
#define FS_INO_DATA (3ULL << 62)
static inline int fs_is_data(uint64_t ino)
{
	return (ino & FS_INO_DATA) == FS_INO_DATA;
}
struct fs_data *fs_data_new(struct fs *fs); /* takes the cluster lock once */
void fs_data_free(struct fs_data *d);	    /* after the session loop ended */
/* Capabilities the data path wants (splice); called from init. */
void fs_data_init_conn(struct fuse_conn_info *conn);
/* The watch callback's share (LOCKED, cluster lock): the views of a removed object die. */
void fs_data_obj_changed(struct fs *fs, uint64_t obj_id, int removed);
/* The kernel looked up TREE_DATA node tn as name in tree directory parent: replies with
 * the root of its view (made on first use). Called without the cluster lock. */
void fs_data_enter(fuse_req_t req, uint64_t parent, const char *name, const struct tree_node *tn);
void fs_data_lookup(fuse_req_t req, uint64_t parent, const char *name);
void fs_data_forget(fuse_req_t req, uint64_t ino, uint64_t n);
void fs_data_getattr(fuse_req_t req, uint64_t ino, struct fuse_file_info *fi);
void fs_data_setattr(fuse_req_t req, uint64_t ino, struct stat *attr, int to_set,
		     struct fuse_file_info *fi);
void fs_data_access(fuse_req_t req, uint64_t ino, int mask);
void fs_data_readlink(fuse_req_t req, uint64_t ino);
void fs_data_mknod(fuse_req_t req, uint64_t parent, const char *name, mode_t mode, dev_t rdev);
void fs_data_mkdir(fuse_req_t req, uint64_t parent, const char *name, mode_t mode);
void fs_data_symlink(fuse_req_t req, const char *link, uint64_t parent, const char *name);
void fs_data_unlink(fuse_req_t req, uint64_t parent, const char *name);
void fs_data_rmdir(fuse_req_t req, uint64_t parent, const char *name);
/* link and rename: EXDEV unless both sides are inodes of the same view. */
void fs_data_link(fuse_req_t req, uint64_t ino, uint64_t newparent, const char *newname);
void fs_data_rename(fuse_req_t req, uint64_t parent, const char *name, uint64_t newparent,
		    const char *newname, unsigned int flags);
void fs_data_create(fuse_req_t req, uint64_t parent, const char *name, mode_t mode,
		    struct fuse_file_info *fi);
void fs_data_open(fuse_req_t req, uint64_t ino, struct fuse_file_info *fi);
void fs_data_read(fuse_req_t req, uint64_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void fs_data_write_buf(fuse_req_t req, uint64_t ino, struct fuse_bufvec *in, off_t off,
		       struct fuse_file_info *fi);
void fs_data_flush(fuse_req_t req, uint64_t ino, struct fuse_file_info *fi);
void fs_data_release(fuse_req_t req, uint64_t ino, struct fuse_file_info *fi);
void fs_data_fsync(fuse_req_t req, uint64_t ino, int datasync, struct fuse_file_info *fi);
void fs_data_fallocate(fuse_req_t req, uint64_t ino, int mode, off_t off, off_t len,
		       struct fuse_file_info *fi);
void fs_data_poll(fuse_req_t req, uint64_t ino, struct fuse_file_info *fi,
		  struct fuse_pollhandle *ph);
void fs_data_opendir(fuse_req_t req, uint64_t ino, struct fuse_file_info *fi);
void fs_data_readdir(fuse_req_t req, uint64_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi);
void fs_data_readdirplus(fuse_req_t req, uint64_t ino, size_t size, off_t off,
			 struct fuse_file_info *fi);
void fs_data_releasedir(fuse_req_t req, uint64_t ino, struct fuse_file_info *fi);
void fs_data_fsyncdir(fuse_req_t req, uint64_t ino, int datasync, struct fuse_file_info *fi);
void fs_data_statfs(fuse_req_t req, uint64_t ino);
void fs_data_getxattr(fuse_req_t req, uint64_t ino, const char *name, size_t size);
void fs_data_listxattr(fuse_req_t req, uint64_t ino, size_t size);
void fs_data_setxattr(fuse_req_t req, uint64_t ino, const char *name, const char *value,
		      size_t size, int flags);
void fs_data_removexattr(fuse_req_t req, uint64_t ino, const char *name);

/* ---- the watchdog (fs_watchdog.c; design at its top) ---- */

/* Finds the connection of the mount at mountpoint (right after the mount, before the
 * loop runs: asks the kernel nothing it would have to ask the daemon); 0 or -errno. */
int fs_watchdog_prepare(const char *mountpoint);
/* Forks the process that aborts the connection of that mount should the daemon be
 * killed with a thread stuck in the kernel. After the mount and after stdio was detached
 * (the watchdog keeps stdio); 0 or -errno. */
int fs_watchdog_start(void);
/* A clean shutdown: the watchdog ends (before the unmount). */
void fs_watchdog_stop(void);

/* ---- the op table (fs_ops.c) ---- */

extern const struct fuse_lowlevel_ops fs_ops;

/* ---- command line (fs_opts.c) ---- */

struct fs_cmdline {
	const char *mountpoint;
	const char *state_dir; /* NULL: the default (fs_default_state_dir) */
	const char *cluster_file;
	struct strbuf fuse_opts; /* -o options, comma-separated, passed to libfuse */
	int64_t pod_start_delay_ms;
	int64_t provision_delay_ms;
	size_t max_objects, max_replicas, hot_objects;
	int evict_eagerly;
	int foreground, debug, single_thread, no_cache, allow_other;
	int show_help, show_version;
};

/* Parses argv: 0, or -1 with a message in err (the caller prints it and exits 2). */
int fs_cmdline_parse(int argc, char **argv, struct fs_cmdline *cmd, struct cfs_err *err);
void fs_cmdline_release(struct fs_cmdline *cmd);
void fs_usage(FILE *out, const char *prog);
/* "500ms", "2s", "1m30s", "1.5h" -> milliseconds (rounded up): 0 or -EINVAL. */
int fs_parse_duration(const char *s, int64_t *ms);
/* $XDG_STATE_HOME/claimfs or ~/.local/state/claimfs, parents created; caller frees. */
char *fs_default_state_dir(struct cfs_err *err);

#endif
