/* fs_ops.c - the FUSE low-level op table: each kernel request mapped onto tree.h, with
 * the caching decisions of fs_attr.c and the invalidations of fs_notify.c. This is the one
 * place where the core's negative errnos become syscall results (reply_err).
 *
 * Rules every op follows: the cluster lock is held only around tree.h calls marked
 * LOCKED and rendering, and never while replying; an op that changes the cluster runs
 * its tree.h call between fs_op_begin and fs_op_before_reply, replies, then calls
 * fs_op_after_reply (fs_notify.c explains why). A node whose object is gone answers
 * ESTALE when its path may name something new now (a recreated object: the VFS looks the
 * path up again, LOOKUP_REVAL, and finds it), ENOENT when the path names nothing any more
 * (so an open or stat that loses the race with a removal twice does not hand ESTALE to
 * the caller); an unknown name answers ENOENT without a negative entry, so a created
 * object is visible at once. A directory removed after opendir lists what it held then;
 * fstat of a descriptor whose object went away describes what it still reads (the
 * opener is known by its thread: fs_caller), and a lookup under a directory descriptor
 * whose object is gone answers ENOENT once the VFS's retry met the same node again.
 * cp's lookup and create of x.yaml in a kind directory take no lock while no object has
 * such a name (tree_manifest_name_free).
 * Inodes below a TREE_DATA node (volume data) are handed to fs_data*.c as they come.
 * Complexity: every op is O(1) lookups plus the rendering or listing it returns. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>
#include "claimfs/manifest.h"
#include "fs_internal.h"

/* The handle of a request on an open file (fs_fh_enter: every access by an earlier
 * request happens before); the request calls handle_leave after its last access. */
static struct fs_handle *handle_of(const struct fuse_file_info *fi)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;
	fs_fh_enter(&h->sync);
	return h;
}

static void handle_leave(struct fs_handle *h)
{
	if (h)
		fs_fh_leave(&h->sync);
}

/* The edge: a negative errno (or 0) becomes the reply. */
static void reply_err(fuse_req_t req, int rc)
{
	fuse_reply_err(req, rc < 0 ? -rc : 0);
}

static int node_of(struct fs *fs, fuse_ino_t ino, struct fs_node_info *ni)
{
	return fs_nodes_get(fs->nodes, ino, ni) < 0 ? -ESTALE : 0;
}

__thread pid_t fs_caller;

/* Is this the VFS's walk again after an ESTALE? Was ESTALE answered for the same name in
 * the same directory within the last second, and either the node (looked up at
 * looked_ms) was looked up after that answer, or the same caller meets the same old node
 * again: its walk starts below that name (openat on a directory descriptor, as find
 * does), so walking again can never help, and ENOENT is what a local file system answers
 * in a removed directory. If not, records this ESTALE answer. LOCKED (the cluster lock
 * guards the ring). */
#define STALE_RETRY_MS 1000
static int walked_again(struct fs *fs, uint64_t dir, const char *name, uint64_t node,
			int64_t looked_ms, int64_t now_ms)
{
	uint64_t h = fs_hash(name, strlen(name));
	unsigned i;
	for (i = 0; i < sizeof(fs->stale) / sizeof(fs->stale[0]); i++) {
		const struct fs_stale *s = &fs->stale[i];
		if (s->dir == dir && s->hash == h && now_ms - s->ms < STALE_RETRY_MS &&
		    (looked_ms >= s->ms || (fs_caller && s->pid == fs_caller && s->node == node)))
			return 1;
	}
	struct fs_stale *s =
	    &fs->stale[fs->stale_next++ % (sizeof(fs->stale) / sizeof(fs->stale[0]))];
	s->dir = dir;
	s->hash = h;
	s->node = node;
	s->pid = fs_caller;
	s->ms = now_ms;
	return 0;
}

/* Node ni no longer resolves: -ESTALE when its path may name something else now (the
 * VFS then walks it again), -ENOENT when it names nothing: the name is gone from a
 * directory that is still there, checked up the path as far as needed. The VFS walks
 * again once only (LOOKUP_REVAL), so a name removed and made again twice within one
 * syscall would hand ESTALE to the caller: when the node comes from that second walk
 * (looked up after ESTALE was answered for the same name in the same directory, or just
 * now), the name was absent at some moment of the syscall (between the removal and the
 * new object), and ENOENT is a true answer. The first test does not depend on how long
 * the walk took (a busy or sanitized daemon); the second, FS_FRESH_LOOKUP_MS, covers a
 * walk that started elsewhere. LOCKED. O(depth of the path) lookups; only on failures.
 * Volume data asks it too (fs_data.c). */
int fs_gone(struct fs *fs, const struct fs_node_info *ni)
{
	struct fs_node_info cur, dir;
	struct tree_node tn;
	int rc = -ESTALE, depth;
	int64_t now_ms = fs_mono_ms();
	memset(&cur, 0, sizeof(cur));
	tree_node_copy(&cur.tn, &ni->tn);
	cur.parent = ni->parent;
	cur.name = ni->name ? xstrdup(ni->name) : NULL;
	cur.looked_ms = ni->looked_ms;
	for (depth = 0; depth < 64 && cur.parent && cur.name; depth++) {
		if (fs_nodes_get(fs->nodes, cur.parent, &dir) < 0)
			break; /* the kernel let the directory go: cannot tell */
		memset(&tn, 0, sizeof(tn));
		int lrc = dir.temp ? -ENOTDIR : tree_lookup(fs->cl, &dir.tn, cur.name, &tn);
		if (lrc == 0)
			tree_node_release(&tn);
		if (lrc == 0 &&
		    (now_ms - cur.looked_ms < FS_FRESH_LOOKUP_MS ||
		     walked_again(fs, cur.parent, cur.name, cur.tn.ino, cur.looked_ms, now_ms))) {
			fs_node_info_release(&dir);
			rc = -ENOENT; /* made again since a lookup of this syscall: see above */
			break;
		}
		if (lrc != -ENOENT) {
			fs_node_info_release(&dir);
			break; /* the name is there again (or something odd): walk again */
		}
		if (tree_revalidate(fs->cl, &dir.tn) == 0) {
			fs_node_info_release(&dir);
			rc = -ENOENT; /* a live directory without that name */
			break;
		}
		fs_node_info_release(&cur);
		cur = dir; /* the directory went too: is its own path gone? */
	}
	fs_node_info_release(&cur);
	return rc;
}

/* Does the node still name something? 0, or fs_gone()'s answer. LOCKED. */
static int still_there(struct fs *fs, const struct fs_node_info *ni)
{
	if (ni->temp)
		return 0;
	return tree_revalidate(fs->cl, &ni->tn) < 0 ? fs_gone(fs, ni) : 0;
}

/* Handles live on fs_nodes' list from open to release. */
static void handle_done(struct fs *fs, struct fs_handle *h)
{
	if (fs_nodes_handle_del(fs->nodes, h))
		fs_handle_free(h);
}

static mode_t type_bits(enum tree_type t)
{
	return t == TREE_DIR ? S_IFDIR : t == TREE_LINK ? S_IFLNK : S_IFREG;
}

/* ---- life ---- */

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO; /* always plus: one round trip for ls -l */
	/* No atomic O_TRUNC: with it the kernel sets i_size to 0 itself after an O_TRUNC open
	 * (echo 3 > replicas), so a concurrent cat of the file read nothing until the next
	 * invalidation. Without it the kernel sends SETATTR and keeps the size we answer. */
	conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	/* Caches are invalidated explicitly (fs_notify.c); nothing is written back. */
	conn->want &= ~(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_AUTO_INVAL_DATA | FUSE_CAP_POSIX_ACL |
			FUSE_CAP_EXPORT_SUPPORT | FUSE_CAP_CACHE_SYMLINKS);
	fs_data_init_conn(conn);
}

/* ---- names ---- */

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct fs_node_info dir;
	struct tree_node tn;
	struct fuse_entry_param e;
	int data = 0;
	if (fs_is_data(parent)) {
		fs_data_lookup(req, parent, name);
		return;
	}
	int rc = node_of(fs, parent, &dir);
	if (rc < 0) {
		reply_err(req, rc);
		return;
	}
	memset(&tn, 0, sizeof(tn));
	if (dir.temp) {
		rc = -ENOTDIR;
	} else if (tree_manifest_name_free(fs->cl, &dir.tn, name)) {
		rc = -ENOENT; /* cp's lookup before its create: no wait behind an apply */
	} else {
		cluster_lock(fs->cl);
		rc = tree_lookup(fs->cl, &dir.tn, name, &tn);
		if (rc == 0 && (tn.flags & TREE_DATA)) {
			data = 1; /* a volume's data: its view answers, without the cluster lock */
		} else if (rc == 0) {
			fs_nodes_remember(fs->nodes, &tn, parent, name);
			rc = fs_attr_entry(fs, &dir.tn, &tn, &e);
			if (rc < 0)
				fs_nodes_forget(fs->nodes, tn.ino, 1);
			tree_node_release(&tn);
		} else if (rc == -ENOENT) {
			int there = still_there(fs, &dir); /* the directory itself may be gone */
			rc = there < 0 ? there : -ENOENT;
		}
		cluster_unlock(fs->cl);
	}
	fs_node_info_release(&dir);
	if (data) {
		fs_data_enter(req, parent, name, &tn);
		tree_node_release(&tn);
	} else if (rc < 0) {
		reply_err(req, rc);
	} else if (fuse_reply_entry(req, &e) != 0) {
		fs_nodes_forget(fs->nodes, e.ino, 1);
	}
}

static void forget_one(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	if (fs_is_data(ino))
		fs_data_forget(req, ino, nlookup);
	else
		fs_nodes_forget(fs_of(req)->nodes, ino, nlookup);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	forget_one(req, ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	size_t i;
	for (i = 0; i < count; i++)
		forget_one(req, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

/* ---- attributes ---- */

/* st_size of a log file (/events, an object's events) for a reader holding it open: the
 * end of that reader's own stream, not the kept history's size. A follower's offsets run
 * on across the history's drops (fs_handles.c); GNU tail -f compares st_size with its
 * offset, and reads exactly the difference on a FUSE file, so a history that shrank under
 * it looked like a truncation (it read the history again) or like no news (it lagged by
 * what was dropped, for good). The reader is the handle the kernel sends (a read's size
 * check, lseek SEEK_END) or, for fstat(2), which comes without one, the log handle the
 * calling thread opened. A fresh open's stream is the kept history: cat and stat agree. */
static void log_stream_size(struct fs *fs, fuse_ino_t ino, struct fs_handle *h, struct stat *st)
{
	struct fs_handle *pinned = NULL;
	if (!h || h->kind != FS_H_LOG)
		h = pinned = fs_nodes_pin_log(fs->nodes, ino, fs_caller);
	if (!h)
		return;
	st->st_size = (off_t)fs_handle_log_size(fs, h);
	st->st_blocks = (blkcnt_t)((st->st_size + 511) / 512);
	if (pinned)
		fs_nodes_unpin(fs->nodes, pinned);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_node_info ni;
	struct stat st;
	double to = 0;
	if (fs_is_data(ino)) {
		fs_data_getattr(req, ino, fi);
		return;
	}
	int rc = node_of(fs, ino, &ni);
	if (rc < 0) {
		reply_err(req, rc);
		return;
	}
	struct fs_handle *h = fi && fi->fh ? handle_of(fi) : NULL;
	if (ni.temp) {
		size_t size = 0;
		if (h && h->kind == FS_H_APPLY) {
			pthread_mutex_lock(&h->lock);
			size = h->wbuf.len;
			pthread_mutex_unlock(&h->lock);
		}
		fs_attr_temp(fs, ino, size, &st);
	} else {
		cluster_lock(fs->cl);
		rc = still_there(fs, &ni);
		if (rc == 0 && h && h->kind == FS_H_READ && h->cached)
			rc = fs_attr_get_open(fs, h, &st, &to);
		else if (rc == 0)
			rc = fs_attr_get(fs, &ni, &st, &to);
		cluster_unlock(fs->cl);
		size_t len = h && h->snap ? h->snap->len : 0;
		int dir = 0;
		if (rc < 0 && (h ? h->snap != NULL
				 : fs_nodes_opened_by(fs->nodes, ino, fs_caller, &dir, &len))) {
			/* fstat of an open file or directory whose object went away: what it still
			 * reads. The kernel sends the handle only with a read's size check;
			 * fstat(2) comes without one, from the thread that opened it, and has no
			 * retry: ESTALE would reach the caller (cat, opendir's fstat). */
			fs_attr_temp(fs, ino, len, &st);
			st.st_mode = (dir ? S_IFDIR : S_IFREG) | (ni.tn.mode & 07777);
			to = 0;
			rc = 0;
		}
	}
	if (rc == 0 && (ni.tn.flags & TREE_LOG))
		log_stream_size(fs, ino, h, &st);
	handle_leave(h);
	fs_node_info_release(&ni);
	if (rc < 0)
		reply_err(req, rc);
	else
		fuse_reply_attr(req, &st, to);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_node_info ni;
	struct stat st;
	double to = 0; /* not used: see the reply */
	size_t size = 0;
	if (fs_is_data(ino)) {
		fs_data_setattr(req, ino, attr, to_set, fi);
		return;
	}
	int rc = node_of(fs, ino, &ni);
	if (rc < 0) {
		reply_err(req, rc);
		return;
	}
	int writable = ni.temp || (ni.tn.flags & (TREE_STORE | TREE_APPLY));
	struct fs_handle *h = fi && fi->fh ? handle_of(fi) : NULL;
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		rc = -EPERM;
	} else if (to_set & FUSE_SET_ATTR_SIZE) {
		/* O_TRUNC or ftruncate of a writable file: the buffer, if any, follows;
		 * timestamps that come with it are ignored. */
		if (ni.tn.type == TREE_DIR)
			rc = -EISDIR;
		else if (!writable)
			rc = -EACCES;
		else if ((uint64_t)attr->st_size > MANIFEST_MAX_BYTES)
			rc = -EFBIG;
		else if (h && h->kind == FS_H_APPLY) {
			pthread_mutex_lock(&h->lock);
			rc = fs_handle_truncate(h, attr->st_size);
			size = h->wbuf.len;
			pthread_mutex_unlock(&h->lock);
		}
	} else if ((to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
			      FUSE_SET_ATTR_MTIME_NOW)) &&
		   !ni.temp) {
		rc = -EPERM; /* times follow the cluster, not the user */
	}
	handle_leave(h);
	if (rc == 0) {
		if (ni.temp) {
			fs_attr_temp(fs, ino, size, &st);
		} else {
			cluster_lock(fs->cl);
			rc = still_there(fs, &ni);
			if (rc == 0)
				rc = fs_attr_get(fs, &ni, &st, &to);
			cluster_unlock(fs->cl);
		}
	}
	int temp = ni.temp;
	fs_node_info_release(&ni);
	if (rc < 0) {
		reply_err(req, rc);
		return;
	}
	/* The kernel takes a SETATTR reply's size without its usual check against newer
	 * replies (attr_version), so it could overwrite a newer GETATTR's size with this
	 * older one: never kept (timeout 0), and its attributes invalidated once it is in
	 * (attributes only: no page lock, safe from this thread even with -s). */
	fuse_reply_attr(req, &st, 0);
	if (!fs->no_cache && !temp)
		fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);
}

static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct fs *fs = fs_of(req);
	struct fs_node_info ni;
	if (fs_is_data(ino)) {
		fs_data_access(req, ino, mask);
		return;
	}
	int rc = node_of(fs, ino, &ni);
	if (rc < 0) {
		reply_err(req, rc);
		return;
	}
	if (!ni.temp) {
		unsigned m = ni.tn.mode;
		cluster_lock(fs->cl);
		rc = still_there(fs, &ni);
		cluster_unlock(fs->cl);
		if (rc == 0 && (((mask & W_OK) && !(m & 0222)) || ((mask & R_OK) && !(m & 0444)) ||
				((mask & X_OK) && !(m & 0111))))
			rc = -EACCES;
	}
	fs_node_info_release(&ni);
	reply_err(req, rc);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = fs_of(req);
	struct fs_node_info ni;
	struct strbuf sb = STRBUF_INIT;
	if (fs_is_data(ino)) {
		fs_data_readlink(req, ino);
		return;
	}
	int rc = node_of(fs, ino, &ni);
	if (rc < 0) {
		reply_err(req, rc);
		return;
	}
	if (ni.tn.type != TREE_LINK) {
		rc = -EINVAL;
	} else {
		cluster_lock(fs->cl);
		rc = still_there(fs, &ni);
		if (rc == 0 && tree_read(fs->cl, &ni.tn, &sb, NULL) < 0)
			rc = fs_gone(fs, &ni);
		cluster_unlock(fs->cl);
	}
	fs_node_info_release(&ni);
	if (rc < 0)
		reply_err(req, rc);
	else
		fuse_reply_readlink(req, sb_str(&sb));
	sb_release(&sb);
}

/* ---- directory changes ---- */

/* The entry of name in dir after mkdir. LOCKED. */
static int new_entry(struct fs *fs, fuse_ino_t parent, const struct fs_node_info *dir,
		     const char *name, struct fuse_entry_param *e)
{
	struct tree_node tn;
	memset(&tn, 0, sizeof(tn));
	int rc = tree_lookup(fs->cl, &dir->tn, name, &tn);
	if (rc < 0)
		return rc;
	fs_nodes_remember(fs->nodes, &tn, parent, name);
	rc = fs_attr_entry(fs, &dir->tn, &tn, e);
	if (rc < 0)
		fs_nodes_forget(fs->nodes, tn.ino, 1);
	tree_node_release(&tn);
	return rc;
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fs *fs = fs_of(req);
	struct fs_node_info dir;
	struct fuse_entry_param e;
	struct cfs_err err = {{0}};
	struct fs_op op;
	if (fs_is_data(parent)) {
		fs_data_mkdir(req, parent, name, mode);
		return;
	}
	int rc = node_of(fs, parent, &dir);
	if (rc < 0) {
		reply_err(req, rc);
		return;
	}
	fs_op_begin(fs, &op, 1);
	rc = dir.temp ? -ENOTDIR : tree_mkdir(fs->cl, &dir.tn, name, &err);
	if (rc == 0) {
		cluster_lock(fs->cl);
		rc = new_entry(fs, parent, &dir, name, &e);
		cluster_unlock(fs->cl);
	}
	fs_op_before_reply(fs, &op);
	if (rc < 0)
		reply_err(req, rc);
	else if (fuse_reply_entry(req, &e) != 0)
		fs_nodes_forget(fs->nodes, e.ino, 1);
	fs_op_after_reply(fs, &op);
	fs_node_info_release(&dir);
}

static void remove_op(fuse_req_t req, fuse_ino_t parent, const char *name, int is_dir)
{
	struct fs *fs = fs_of(req);
	struct fs_node_info dir;
	struct cfs_err err = {{0}};
	struct fs_op op;
	int rc = node_of(fs, parent, &dir);
	if (rc < 0) {
		reply_err(req, rc);
		return;
	}
	fs_op_begin(fs, &op, 1);
	if (dir.temp)
		rc = -ENOTDIR;
	else if (is_dir)
		rc = tree_rmdir(fs->cl, &dir.tn, name, &err);
	else
		rc = tree_unlink(fs->cl, &dir.tn, name, &err);
	fs_op_before_reply(fs, &op);
	reply_err(req, rc);
	fs_op_after_reply(fs, &op);
	fs_node_info_release(&dir);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (fs_is_data(parent))
		fs_data_rmdir(req, parent, name);
	else
		remove_op(req, parent, name, 1);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (fs_is_data(parent))
		fs_data_unlink(req, parent, name);
	else
		remove_op(req, parent, name, 0);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	if (fs_is_data(parent))
		fs_data_mknod(req, parent, name, mode, rdev);
	else
		fuse_reply_err(req, EPERM);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	if (fs_is_data(parent))
		fs_data_symlink(req, link, parent, name);
	else
		fuse_reply_err(req, EPERM);
}

/* In a volume, a link or rename within one view; EXDEV between views and the tree. */
static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	if (fs_is_data(ino) || fs_is_data(newparent))
		fs_data_link(req, ino, newparent, newname);
	else
		fuse_reply_err(req, EPERM);
}

/* EXDEV in the tree: mv falls back to copy (a new file, applied at close) and unlink. */
static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	if (fs_is_data(parent) && fs_is_data(newparent))
		fs_data_rename(req, parent, name, newparent, newname, flags);
	else
		fuse_reply_err(req, EXDEV);
}

/* ---- files ---- */

/* The object column of the events a node's events file shows. */
static char *events_path(const struct tree_node *tn)
{
	struct strbuf sb = STRBUF_INIT;
	if (!tn->kind || !tn->name)
		return NULL;
	if (tn->kind->namespaced && tn->ns)
		sb_addf(&sb, "namespaces/%s/%s/%s", tn->ns, tn->kind->plural, tn->name);
	else
		sb_addf(&sb, "%s/%s", tn->kind->plural, tn->name);
	return sb_detach(&sb, NULL);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_node_info dir;
	struct cfs_err err = {{0}};
	struct fuse_entry_param e;
	if (fs_is_data(parent)) {
		fs_data_create(req, parent, name, mode, fi);
		return;
	}
	int rc = node_of(fs, parent, &dir);
	if (rc < 0) {
		reply_err(req, rc);
		return;
	}
	if (dir.temp || dir.tn.type != TREE_DIR) {
		rc = -ENOTDIR;
	} else if (!tree_manifest_name_free(fs->cl, &dir.tn, name)) {
		cluster_lock(fs->cl);
		rc = still_there(fs, &dir);
		if (rc == 0)
			rc = tree_may_create(fs->cl, &dir.tn, name, &err);
		cluster_unlock(fs->cl);
	}
	if (rc < 0) {
		fs_node_info_release(&dir);
		reply_err(req, rc);
		return;
	}
	/* Not in the tree: a temporary inode, never listed, gone once closed and forgotten. */
	uint64_t ino = fs_nodes_add_temp(fs->nodes, parent, name);
	struct fs_handle *h = fs_handle_new(FS_H_APPLY, ino, &dir);
	h->filename = xstrdup(name);
	fs_nodes_handle_add(fs->nodes, h);
	fs_node_info_release(&dir);
	memset(&e, 0, sizeof(e));
	e.ino = ino;
	fs_attr_temp(fs, ino, 0, &e.attr);
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	handle_leave(h); /* handed out by the reply */
	if (fuse_reply_create(req, &e, fi) != 0) {
		handle_done(fs, h);
		fs_nodes_forget(fs->nodes, ino, 1);
	}
}

/* Which handle an open makes, or why it is refused. */
static int open_kind(const struct fs_node_info *ni, int wr, enum fs_hkind *kind)
{
	unsigned fl = ni->tn.flags;
	if (ni->temp)
		return -ENOENT; /* a file being created is not there for anyone else */
	if (ni->tn.type == TREE_DIR)
		return -EISDIR;
	if (wr && !(fl & (TREE_STORE | TREE_APPLY)))
		return -EACCES;
	if (wr)
		*kind = (fl & TREE_APPLY) ? FS_H_APPLY : FS_H_STORE;
	else
		*kind = (fl & TREE_LOG) ? FS_H_LOG : FS_H_READ;
	return 0;
}

/* Renders the whole content into the handle: a snapshot, or a log and its cursor. */
static int open_render(struct fs *fs, struct fs_handle *h, int rd)
{
	struct fs_rendered r;
	memset(&r, 0, sizeof(r));
	cluster_lock(fs->cl);
	int rc = still_there(fs, &h->ni);
	if (rc == 0 && (rd || h->kind == FS_H_LOG) &&
	    fs_nodes_render(fs, &h->ni.tn, FS_RENDER_BLOB, &r) < 0)
		rc = fs_gone(fs, &h->ni);
	cluster_unlock(fs->cl);
	if (rc < 0 || !r.blob)
		return rc;
	h->inval = r.inval;
	if (h->kind == FS_H_LOG) {
		sb_add(&h->log, r.blob->data, r.blob->len);
		h->cursor = r.blob->cursor;
		fs_blob_unref(r.blob);
	} else {
		h->snap = r.blob;
	}
	return 0;
}

/* Page cache policy (fs_attr.c, fs_nodes.c) and what wakes a poll(2) on the handle. */
static void open_policy(struct fs *fs, struct fs_handle *h, struct fuse_file_info *fi, int wr)
{
	if (h->kind == FS_H_LOG) {
		h->poller.is_log = 1;
		h->poller.path = h->ni.tn.obj_id ? events_path(&h->ni.tn) : NULL;
	} else if (h->kind == FS_H_READ) {
		h->poller.obj_id = h->ni.tn.obj_id;
	}
	/* Writable files (TREE_STORE, TREE_APPLY) never: their writers change the kernel's
	 * i_size without the daemon seeing it (a SETATTR reply for O_TRUNC, the size a write
	 * leaves), so the version the kernel's i_size belongs to is not known (fs_nodes.c). */
	if (!fs->no_cache && h->kind == FS_H_READ && (h->ni.tn.flags & TREE_OWN) &&
	    !(h->ni.tn.flags & (TREE_STORE | TREE_APPLY)) && h->snap &&
	    h->snap->len <= FS_KEEP_CACHE_MAX) {
		/* One page of content a function of its object: through the page cache, as
		 * long as it holds this version only (fs_nodes.c, page cache versions). */
		switch (fs_nodes_cache_open(fs->nodes, h)) {
		case FS_PC_KEEP:
			fi->keep_cache = 1;
			break;
		case FS_PC_FRESH:
			fi->keep_cache = 0; /* the kernel drops the old pages at open */
			break;
		case FS_PC_DIRECT:
			fi->direct_io = 1;
			fi->keep_cache = 1; /* the cached version's readers keep their pages */
			break;
		}
	} else {
		fi->direct_io = 1;
	}
	if (!wr)
		fi->noflush = 1;
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_node_info ni;
	struct fs_handle *h;
	int acc = fi->flags & O_ACCMODE, wr = acc != O_RDONLY, rd = acc != O_WRONLY;
	enum fs_hkind kind = FS_H_READ;
	if (fs_is_data(ino)) {
		fs_data_open(req, ino, fi);
		return;
	}
	int rc = node_of(fs, ino, &ni);
	if (rc == 0)
		rc = open_kind(&ni, wr, &kind);
	if (rc < 0) {
		fs_node_info_release(&ni); /* zeroed when node_of failed */
		reply_err(req, rc);
		return;
	}
	h = fs_handle_new(kind, ino, &ni);
	fs_node_info_release(&ni);
	rc = open_render(fs, h, rd);
	if (rc < 0) {
		fs_handle_free(h);
		reply_err(req, rc);
		return;
	}
	fs_nodes_handle_add(fs->nodes, h);
	open_policy(fs, h, fi, wr);
	fi->fh = (uintptr_t)h;
	handle_leave(h); /* handed out by the reply */
	if (fuse_reply_open(req, fi) != 0)
		handle_done(fs, h);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	if (fs_is_data(ino)) {
		fs_data_read(req, ino, size, off, fi);
		return;
	}
	struct fs_handle *h = handle_of(fi);
	char *buf = xmalloc(size ? size : 1);
	pthread_mutex_lock(&h->lock);
	size_t n = fs_handle_read(fs, h, off, size, buf);
	if (h->fresh) /* its open dropped the old pages: others of its version may keep them */
		fs_nodes_cache_confirm(fs->nodes, h);
	pthread_mutex_unlock(&h->lock);
	handle_leave(h);
	fuse_reply_buf(req, buf, n);
	free(buf);
}

/* Applies what was written into an apply handle; seq as for tree_apply. */
static int apply_buffer(struct fs *fs, struct fs_handle *h, struct cfs_err *err, int64_t *seq)
{
	h->dirty = 0;	/* once per dirty buffer, whatever the outcome */
	if (h->too_big) /* refused whole (EFBIG, FailedApply): the decoder checks the length
			   before it reads anything */
		return tree_apply(fs->cl, &h->ni.tn, h->filename, "", h->too_big, err, seq);
	return tree_apply(fs->cl, &h->ni.tn, h->filename, h->wbuf.buf ? h->wbuf.buf : "",
			  h->wbuf.len, err, seq);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_handle *h = handle_of(fi);
	struct cfs_err err = {{0}};
	struct fs_op op = {NULL, 0};
	int rc;
	pthread_mutex_lock(&h->lock);
	switch (h->kind) {
	case FS_H_STORE:
		/* sysfs style: each write(2) is one value, stored now; its errno is write's. */
		fs_op_begin(fs, &op, 0);
		rc = tree_store(fs->cl, &h->ni.tn, buf, size, &err);
		break;
	case FS_H_APPLY:
		rc = fs_handle_write(h, buf, size, off);
		break;
	default:
		rc = -EBADF;
	}
	pthread_mutex_unlock(&h->lock);
	handle_leave(h);
	fs_op_before_reply(fs, &op); /* no handle lock held across a notification */
	if (rc < 0)
		reply_err(req, rc);
	else
		fuse_reply_write(req, size);
	fs_op_after_reply(fs, &op);
}

/* Writes arrive as buffers (write_buf) so that volume data can be spliced into its file
 * (fs_data_io.c); the tree's files take them as one flat buffer. */
static void op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in, off_t off,
			 struct fuse_file_info *fi)
{
	size_t size = fuse_buf_size(in);
	if (fs_is_data(ino)) {
		fs_data_write_buf(req, ino, in, off, fi);
		return;
	}
	if (in->count == 1 && !(in->buf[0].flags & FUSE_BUF_IS_FD)) {
		op_write(req, ino, in->buf[0].mem, size, off, fi);
		return;
	}
	char *mem = xmalloc(size ? size : 1);
	struct fuse_bufvec flat = FUSE_BUFVEC_INIT(size);
	flat.buf[0].mem = mem;
	ssize_t n = fuse_buf_copy(&flat, in, 0);
	if (n < 0)
		reply_err(req, (int)n);
	else
		op_write(req, ino, mem, (size_t)n, off, fi);
	free(mem);
}

/* A FLUSH answered once its change is durable, by whichever thread's fdatasync covers it
 * (group commit): the worker that applied it goes back to the kernel for work meanwhile. */
struct flush_wait {
	struct persist_waiter w; /* first: done() gets &w */
	fuse_req_t req;
};

static void flush_durable(struct persist_waiter *w, int rc, const char *msg)
{
	struct flush_wait *fw = (struct flush_wait *)w;
	(void)msg; /* close(2) gets the errno, as from a blocking sync */
	reply_err(fw->req, rc);
	free(fw);
}

/* close(2) of each descriptor: a dirty manifest buffer is applied here, so cp, cat >,
 * tee, dd and Python get the errno from close. */
static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct cfs_err err = {{0}};
	struct fs_op op = {NULL, 0};
	int64_t seq = 0;
	int rc = 0;
	if (fs_is_data(ino)) {
		fs_data_flush(req, ino, fi);
		return;
	}
	struct fs_handle *h = handle_of(fi);
	if (h->kind == FS_H_APPLY) {
		pthread_mutex_lock(&h->lock);
		if (h->dirty) {
			fs_op_begin(fs, &op, 0);
			rc = apply_buffer(fs, h, &err, &seq);
		}
		pthread_mutex_unlock(&h->lock);
	}
	handle_leave(h);
	fs_op_before_reply(fs, &op); /* visible before close returns; no handle lock held */
	if (rc < 0 || seq <= 0) {
		reply_err(req, rc);
	} else {
		/* Waited for with no lock held: this thread may lead the fdatasync and go on
		 * for other writers. */
		struct flush_wait *fw = xmalloc(sizeof(*fw));
		fw->req = req;
		fw->w.done = flush_durable;
		cluster_sync_async(fs->cl, seq, &fw->w);
	}
	fs_op_after_reply(fs, &op);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct cfs_err err = {{0}};
	struct fs_op op = {NULL, 0};
	if (fs_is_data(ino)) {
		fs_data_release(req, ino, fi);
		return;
	}
	struct fs_handle *h = handle_of(fi); /* the last request on it: frees it */
	fs_notify_poll_disarm(fs, &h->poller);
	if (h->kind == FS_H_APPLY && h->dirty) {
		/* Written after the last flush (mmap, or a flush that never came): the error
		 * can only go to /events now. */
		fs_op_begin(fs, &op, 0);
		apply_buffer(fs, h, &err, NULL);
		fs_op_before_reply(fs, &op);
	}
	fuse_reply_err(req, 0);
	fs_op_after_reply(fs, &op);
	handle_done(fs, h);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	if (fs_is_data(ino))
		fs_data_fsync(req, ino, datasync, fi);
	else
		fuse_reply_err(req, 0); /* acknowledged changes are durable already */
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
			 struct fuse_file_info *fi)
{
	if (fs_is_data(ino))
		fs_data_fallocate(req, ino, mode, off, len, fi);
	else
		fuse_reply_err(req, EOPNOTSUPP);
}

static void op_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph)
{
	struct fs *fs = fs_of(req);
	unsigned revents = 0;
	if (fs_is_data(ino)) {
		fs_data_poll(req, ino, fi, ph);
		return;
	}
	struct fs_handle *h = handle_of(fi);
	if (h->kind == FS_H_LOG) {
		/* Armed before looking, so an event in between still wakes the poller. */
		if (ph)
			fs_notify_poll_arm(fs, &h->poller, ph);
		pthread_mutex_lock(&h->lock);
		if (fs_handle_log_refresh(fs, h))
			revents = POLLIN | POLLRDNORM;
		pthread_mutex_unlock(&h->lock);
	} else {
		revents = POLLIN | POLLRDNORM;
		if (h->kind == FS_H_STORE || h->kind == FS_H_APPLY)
			revents |= POLLOUT | POLLWRNORM;
		if (h->poller.obj_id) {
			/* sysfs style: POLLPRI|POLLERR once the object changed since open. */
			if (ph)
				fs_notify_poll_arm(fs, &h->poller, ph);
			if (fs_nodes_inval_count(fs->nodes, ino) != h->inval)
				revents |= POLLPRI | POLLERR;
		} else if (ph) {
			fuse_pollhandle_destroy(ph);
		}
	}
	handle_leave(h);
	fuse_reply_poll(req, revents);
}

/* ---- directories ---- */

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_node_info ni;
	if (fs_is_data(ino)) {
		fs_data_opendir(req, ino, fi);
		return;
	}
	int rc = node_of(fs, ino, &ni);
	if (rc < 0) {
		reply_err(req, rc);
		return;
	}
	if (ni.temp || ni.tn.type != TREE_DIR) {
		rc = -ENOTDIR;
	} else {
		cluster_lock(fs->cl);
		rc = still_there(fs, &ni);
		cluster_unlock(fs->cl);
	}
	if (rc < 0) {
		fs_node_info_release(&ni);
		reply_err(req, rc);
		return;
	}
	/* The listing is taken at the first readdir: with cache_readdir the kernel may
	 * never ask. */
	struct fs_handle *h = fs_handle_new(FS_H_DIR, ino, &ni);
	if (fs_attr_dir_cacheable(fs, &ni.tn)) {
		fi->cache_readdir = 1;
		fi->keep_cache = 1;
	}
	fs_node_info_release(&ni);
	fs_nodes_handle_add(fs->nodes, h);
	fi->fh = (uintptr_t)h;
	handle_leave(h); /* handed out by the reply */
	if (fuse_reply_open(req, fi) != 0)
		handle_done(fs, h);
}

/* Entries readdirplus describes fully: those whose attributes cost no rendering or are
 * cached per object. Others (/metrics, .table, ...) are looked up when used. */
static int plus_worthy(const struct tree_node *tn)
{
	if (tn->flags & TREE_DATA)
		return 0; /* the data adapter makes its inode when it is looked up */
	return tn->type != TREE_FILE || (tn->flags & TREE_OWN);
}

/* The entry at index i of an open directory (0 ".", 1 "..", then the listing); *full
 * when it carries attributes, i.e. the kernel gets a reference to it. LOCKED. */
static const char *dir_entry(struct fs *fs, struct fs_handle *h, size_t i, int plus,
			     struct fuse_entry_param *e, int *full)
{
	const struct fs_dirent *d;
	memset(e, 0, sizeof(*e));
	*full = 0;
	if (i < 2) {
		e->attr.st_ino = i ? (h->ni.parent ? h->ni.parent : 1) : h->ino;
		e->attr.st_mode = S_IFDIR;
		return i ? ".." : ".";
	}
	d = &h->ents[i - 2];
	if (plus && plus_worthy(&d->tn) && fs_attr_entry(fs, &h->ni.tn, &d->tn, e) == 0) {
		*full = 1;
		return d->name;
	}
	memset(e, 0, sizeof(*e)); /* ino 0: a plain entry, looked up when used */
	e->attr.st_ino = d->tn.ino;
	e->attr.st_mode = type_bits(d->tn.type);
	return d->name;
}

/* The listing is taken at offset 0 (opendir or rewinddir) and served from the handle.
 * A directory whose object went away after opendir lists what it held when it was last
 * listed, or nothing: getdents has no retry, so ESTALE would reach the caller. */
static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, int plus)
{
	struct fs *fs = fs_of(req);
	struct fs_handle *h = handle_of(fi);
	char *buf = xmalloc(size ? size : 1);
	size_t pos = 0, i, ngiven = 0;
	uint64_t *given = NULL;
	int rc = 0;

	pthread_mutex_lock(&h->lock);
	cluster_lock(fs->cl);
	if ((off == 0 || !h->listed) && tree_revalidate(fs->cl, &h->ni.tn) == 0 &&
	    fs_handle_list(fs, h) == 0)
		h->listed = 1;
	else if (!h->listed) {
		fs_handle_clear(h); /* gone since opendir, never listed: empty */
		h->listed = 1;
	}
	if (plus && rc == 0 && h->nents + 2 > (size_t)off)
		given = xmalloc((h->nents + 2 - (size_t)off) * sizeof(*given));
	for (i = (size_t)off; rc == 0 && i < h->nents + 2; i++) {
		struct fuse_entry_param e;
		int full;
		size_t len;
		const char *name = dir_entry(fs, h, i, plus, &e, &full);
		if (plus)
			len = fuse_add_direntry_plus(req, buf + pos, size - pos, name, &e,
						     (off_t)(i + 1));
		else
			len = fuse_add_direntry(req, buf + pos, size - pos, name, &e.attr,
						(off_t)(i + 1));
		if (len > size - pos)
			break; /* did not fit: not sent, no reference */
		if (full) {
			fs_nodes_remember(fs->nodes, &h->ents[i - 2].tn, ino, name);
			given[ngiven++] = h->ents[i - 2].tn.ino;
		}
		pos += len;
	}
	cluster_unlock(fs->cl);
	pthread_mutex_unlock(&h->lock);
	handle_leave(h);
	if (rc < 0) {
		reply_err(req, rc);
	} else if (fuse_reply_buf(req, buf, pos) != 0) {
		for (i = 0; i < ngiven; i++)
			fs_nodes_forget(fs->nodes, given[i], 1);
	}
	free(given);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	if (fs_is_data(ino))
		fs_data_readdir(req, ino, size, off, fi);
	else
		do_readdir(req, ino, size, off, fi, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	if (fs_is_data(ino))
		fs_data_readdirplus(req, ino, size, off, fi);
	else
		do_readdir(req, ino, size, off, fi, 1);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (fs_is_data(ino)) {
		fs_data_releasedir(req, ino, fi);
		return;
	}
	handle_done(fs_of(req), handle_of(fi));
	fuse_reply_err(req, 0);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	if (fs_is_data(ino))
		fs_data_fsyncdir(req, ino, datasync, fi);
	else
		fuse_reply_err(req, 0);
}

/* ---- the file system ---- */

/* No block counts mean anything for metadata; inodes count objects against the limit. */
static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = fs_of(req);
	struct statvfs st;
	if (fs_is_data(ino)) {
		fs_data_statfs(req, ino); /* df in a volume: its capacity and usage */
		return;
	}
	memset(&st, 0, sizeof(st));
	cluster_lock(fs->cl);
	size_t count = store_count(cluster_store(fs->cl));
	size_t max = cluster_options(fs->cl)->max_objects;
	cluster_unlock(fs->cl);
	st.f_bsize = 4096;
	st.f_frsize = 4096;
	st.f_files = max;
	st.f_ffree = st.f_favail = max > count ? max - count : 0;
	st.f_namemax = 255;
	fuse_reply_statfs(req, &st);
}

/* Volume data has user xattrs (fs_data_io.c); the tree's files have none and support
 * none: EOPNOTSUPP, not ENODATA. ls -l asks every file for security.selinux and the
 * POSIX ACLs, and coreutils remembers an "unsupported" answer for the whole device for
 * the rest of the run: 3 requests per ls instead of 3 per file (10,000 claims warm:
 * 40,005 requests, 0.75 s -> 4 requests, 0.03 s with objects' directory attributes
 * kept). FUSE_CAP_POSIX_ACL would cache the ACL answers per inode but not
 * security.selinux, and brings default_permissions. (Not ENOSYS either, which would turn
 * xattrs off for the whole mount, volumes included.) */
static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	if (fs_is_data(ino))
		fs_data_getxattr(req, ino, name, size);
	else
		fuse_reply_err(req, EOPNOTSUPP);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	if (fs_is_data(ino))
		fs_data_listxattr(req, ino, size);
	else if (size)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_xattr(req, 0);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	if (fs_is_data(ino))
		fs_data_setxattr(req, ino, name, value, size, flags);
	else
		fuse_reply_err(req, EOPNOTSUPP);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	if (fs_is_data(ino))
		fs_data_removexattr(req, ino, name);
	else
		fuse_reply_err(req, EOPNOTSUPP);
}

const struct fuse_lowlevel_ops fs_ops = {
    .init = op_init,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .access = op_access,
    .readlink = op_readlink,
    .mknod = op_mknod,
    .mkdir = op_mkdir,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .symlink = op_symlink,
    .rename = op_rename,
    .link = op_link,
    .create = op_create,
    .open = op_open,
    .read = op_read,
    .write = op_write,
    .write_buf = op_write_buf,
    .flush = op_flush,
    .release = op_release,
    .fsync = op_fsync,
    .poll = op_poll,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .readdirplus = op_readdirplus,
    .releasedir = op_releasedir,
    .fsyncdir = op_fsyncdir,
    .statfs = op_statfs,
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
    .setxattr = op_setxattr,
    .removexattr = op_removexattr,
    .fallocate = op_fallocate,
};
