/* fs_data_io.c - open data files and directories (design in fs_data.h): create, open,
 * read (spliced from the backing descriptor: fuse_reply_data with an fd buffer), write
 * (write_buf: the request's buffer written to the backing file, within the capacity),
 * flush, release, fsync, fallocate, poll; opendir, readdir and readdirplus (a stream
 * over the backing directory, positions are its d_off cookies), fsyncdir; statfs (the
 * volume's capacity and usage) and user xattrs.
 * The I/O path takes no lock: the handle holds its dnode; the capacity is an atomic
 * counter (volume.h); no memory is allocated per read or write.
 * Page cache (cache_policy): readers keep their cache between opens (keep_cache);
 * write-only opens, O_DIRECT and --no-cache use direct_io. The other views of a changed
 * file are invalidated before the write returns (ds_*), so a reader in another view sees
 * the new bytes. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fs_data.h"

/* The handle of a request on an open file (fs_fh_enter, fs_internal.h); the request
 * calls fs_fh_leave(&h->sync) after its last access, but for the release, which frees it. */
static struct dfile *file_of(const struct fuse_file_info *fi)
{
	struct dfile *h = (struct dfile *)(uintptr_t)fi->fh;
	fs_fh_enter(&h->sync);
	return h;
}

static struct dfile *file_new(struct dnode *dn, int fd, int writable)
{
	struct dfile *h = xcalloc(1, sizeof(*h));
	h->dn = dn;
	h->fd = fd;
	h->writable = writable;
	pthread_mutex_init(&h->lock, NULL);
	return h;
}

/* Closes the handle and drops its node reference. */
static void file_free(struct fs_data *d, struct dfile *h)
{
	if (h->cached)
		__atomic_sub_fetch(&h->dn->cached, 1, __ATOMIC_RELAXED);
	if (h->dp)
		closedir(h->dp);
	vnode_close(h->dn->vn, h->fd);
	dn_put(d, h->dn);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* Readers keep the page cache between opens. Writers that cannot read (O_WRONLY: cp,
 * dd, shell redirections) write around it: their bytes go from the caller's buffer to the
 * pipe and into the backing file, one copy less than through the kernel's cache (about a
 * third faster for 1 MiB writes); a cached reader of the same inode is invalidated after
 * each such write (write_buf). */
static void cache_policy(const struct fs *fs, struct dfile *h, int flags, struct fuse_file_info *fi)
{
	if (fs->no_cache || (flags & O_DIRECT) || (flags & O_ACCMODE) == O_WRONLY) {
		fi->direct_io = 1;
		h->direct = 1;
	} else {
		fi->keep_cache = 1;
		h->cached = 1;
		__atomic_add_fetch(&h->dn->cached, 1, __ATOMIC_RELAXED);
	}
}

/* ---- files ---- */

void fs_data_create(fuse_req_t req, uint64_t parent, const char *name, mode_t mode,
		    struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_data *d = fs->data;
	const struct fuse_ctx *c = fuse_req_ctx(req);
	struct vnode_owner o = {c->uid, c->gid};
	struct fuse_entry_param e;
	struct dnode *dir, *child = NULL;
	struct vnode *vn = NULL;
	struct stat st;
	struct dsync s;
	int fd = -1, rc = dn_get_alive(d, parent, &dir);
	if (rc < 0) {
		data_reply_err(req, rc);
		return;
	}
	ds_init(&s, 1);
	if (dir->view->ro)
		rc = -EROFS;
	else
		rc = vnode_create(dir->vn, name, mode, fi->flags, &o, &vn, &st, &fd);
	if (rc == 0) {
		child = dn_child(d, dir->view, vn);
		dn_entry(fs, child, &st, &e);
		struct dnode *held = dn_get(d, child->ino); /* the handle's reference */
		struct dfile *h = file_new(held, fd, 1);
		cache_policy(fs, h, fi->flags, fi);
		fi->fh = (uintptr_t)h;
		fs_fh_leave(&h->sync); /* handed out by the reply */
		ds_add(d, &s, dir, NULL);
	}
	ds_before_reply(fs, &s);
	if (rc < 0) {
		data_reply_err(req, rc);
	} else if (fuse_reply_create(req, &e, fi) != 0) {
		file_free(d, file_of(fi));
		dn_forget(d, child->ino, 1);
	}
	ds_after_reply(fs, &s);
	dn_put(d, dir);
}

void fs_data_open(fuse_req_t req, uint64_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_data *d = fs->data;
	struct dnode *n;
	int acc = fi->flags & O_ACCMODE, wr = acc != O_RDONLY, fd;
	int rc = dn_get_alive(d, ino, &n);
	if (rc < 0) {
		data_reply_err(req, rc);
		return;
	}
	if (n->view->ro && (wr || (fi->flags & O_TRUNC)))
		rc = -EROFS;
	else
		rc = vnode_open(n->vn, fi->flags, &fd);
	if (rc < 0) {
		dn_put(d, n);
		data_reply_err(req, rc);
		return;
	}
	if (acc != O_WRONLY) /* what reaches us are the kernel's readahead requests */
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	struct dfile *h = file_new(n, fd, wr);
	cache_policy(fs, h, fi->flags, fi);
	fi->noflush = !wr;
	fi->fh = (uintptr_t)h;
	fs_fh_leave(&h->sync); /* handed out by the reply */
	if (fuse_reply_open(req, fi) != 0)
		file_free(d, h);
}

void fs_data_read(fuse_req_t req, uint64_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct dfile *h = file_of(fi);
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
	(void)ino;
	/* Read from the open file even when its volume died since: it reads what it held (an
	 * unlinked file does), where ESTALE would reach the caller (read(2) has no retry). */
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = h->fd;
	buf.buf[0].pos = off;
	fs_fh_leave(&h->sync);
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

void fs_data_write_buf(fuse_req_t req, uint64_t ino, struct fuse_bufvec *in, off_t off,
		       struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct dfile *h = file_of(fi);
	struct dnode *n = h->dn;
	struct fuse_bufvec out;
	struct dsync s;
	size_t len = fuse_buf_size(in);
	int64_t resv = 0;
	ssize_t res = 0;
	(void)ino;
	if (n->view->ro) {
		fs_fh_leave(&h->sync);
		fuse_reply_err(req, EROFS);
		return;
	}
	if (!h->writable && !fi->writepage) {
		fs_fh_leave(&h->sync);
		fuse_reply_err(req, EBADF);
		return;
	}
	int rc = vnode_write_begin(n->vn, h->fd, off, &len, &resv);
	if (rc < 0) {
		fs_fh_leave(&h->sync);
		data_reply_err(req, rc);
		return;
	}
	if (len) {
		out = FUSE_BUFVEC_INIT(len);
		out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		out.buf[0].fd = h->fd;
		out.buf[0].pos = off;
		res = fuse_buf_copy(&out, in, 0);
	}
	vnode_write_end(n->vn, h->fd, resv);
	ds_init(&s, 0);
	if (res > 0) {
		ds_add(fs->data, &s, n, NULL);
		if (h->direct && __atomic_load_n(&n->cached, __ATOMIC_RELAXED))
			ds_self(fs->data, &s, n); /* around the cache of a reader of this inode */
	}
	fs_fh_leave(&h->sync);
	ds_before_reply(fs, &s);
	if (res < 0)
		data_reply_err(req, (int)res);
	else
		fuse_reply_write(req, (size_t)res);
	ds_after_reply(fs, &s);
}

void fs_data_flush(fuse_req_t req, uint64_t ino, struct fuse_file_info *fi)
{
	(void)ino, (void)fi;
	fuse_reply_err(req, 0); /* writes reached the backing file when they returned */
}

void fs_data_release(fuse_req_t req, uint64_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	file_free(fs_of(req)->data, file_of(fi));
	fuse_reply_err(req, 0);
}

void fs_data_fsync(fuse_req_t req, uint64_t ino, int datasync, struct fuse_file_info *fi)
{
	struct dfile *h = file_of(fi);
	(void)ino;
	int rc = vnode_fsync(h->dn->vn, h->fd, datasync);
	fs_fh_leave(&h->sync);
	data_reply_err(req, rc);
}

void fs_data_fallocate(fuse_req_t req, uint64_t ino, int mode, off_t off, off_t len,
		       struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct dfile *h = file_of(fi);
	struct dsync s;
	int rc;
	(void)ino;
	ds_init(&s, 0);
	if (h->dn->view->ro)
		rc = -EROFS;
	else
		rc = vnode_fallocate(h->dn->vn, h->fd, mode, off, len);
	if (rc == 0)
		ds_add(fs->data, &s, h->dn, NULL);
	fs_fh_leave(&h->sync);
	ds_before_reply(fs, &s);
	data_reply_err(req, rc);
	ds_after_reply(fs, &s);
}

void fs_data_poll(fuse_req_t req, uint64_t ino, struct fuse_file_info *fi,
		  struct fuse_pollhandle *ph)
{
	(void)ino, (void)fi;
	if (ph)
		fuse_pollhandle_destroy(ph);
	fuse_reply_poll(req, POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM); /* a regular file */
}

/* ---- directories ---- */

void fs_data_opendir(fuse_req_t req, uint64_t ino, struct fuse_file_info *fi)
{
	struct fs_data *d = fs_of(req)->data;
	struct dnode *n;
	int fd, dfd;
	int rc = dn_get_alive(d, ino, &n);
	if (rc < 0) {
		data_reply_err(req, rc);
		return;
	}
	rc = vnode_open(n->vn, O_RDONLY | O_DIRECTORY, &fd);
	if (rc < 0) {
		dn_put(d, n);
		data_reply_err(req, rc);
		return;
	}
	struct dfile *h = file_new(n, fd, 0);
	dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	h->dp = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!h->dp) {
		rc = -errno;
		if (dfd >= 0)
			close(dfd);
		file_free(d, h);
		data_reply_err(req, rc);
		return;
	}
	fi->fh = (uintptr_t)h;
	fs_fh_leave(&h->sync); /* handed out by the reply */
	if (fuse_reply_open(req, fi) != 0)
		file_free(d, h);
}

static int is_dot(const char *n)
{
	return n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2]));
}

static void do_readdir(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi, int plus)
{
	struct fs *fs = fs_of(req);
	struct fs_data *d = fs->data;
	struct dfile *h = file_of(fi);
	struct dview *v = h->dn->view;
	char *buf = xmalloc(size ? size : 1);
	uint64_t *given = NULL;
	size_t pos = 0, ngiven = 0, capgiven = 0;
	int rc;

	pthread_mutex_lock(&h->lock);
	/* A view that died since opendir goes on listing its stream (getdents has no retry:
	 * ESTALE would reach the caller), as the tree's directories list what they held; its
	 * entries come without attributes then (no new inode in a dead view). */
	rc = 0;
	int dead = dn_alive(h->dn) < 0;
	if (off != h->offset) {
		seekdir(h->dp, off);
		h->entry = NULL;
		h->offset = off;
	}
	while (rc == 0) {
		if (!h->entry) {
			errno = 0;
			h->entry = readdir(h->dp);
			if (!h->entry) {
				if (errno && !pos)
					rc = -errno;
				break;
			}
		}
		struct dirent *de = h->entry;
		off_t next = de->d_off;
		struct fuse_entry_param e;
		struct dnode *c = NULL;
		size_t len;
		memset(&e, 0, sizeof(e));
		e.attr.st_ino = dv_ino(v, de->d_ino);
		e.attr.st_mode = DTTOIF(de->d_type);
		if (plus && !dead && !is_dot(de->d_name)) {
			struct vnode *vn;
			struct stat st;
			if (vnode_lookup(h->dn->vn, de->d_name, &vn, &st) == 0) {
				c = dn_child(d, v, vn);
				dn_entry(fs, c, &st, &e);
			}
		}
		if (plus)
			len = fuse_add_direntry_plus(req, buf + pos, size - pos, de->d_name, &e,
						     next);
		else
			len = fuse_add_direntry(req, buf + pos, size - pos, de->d_name, &e.attr,
						next);
		if (len > size - pos) {
			if (c)
				dn_forget(d, c->ino, 1); /* not sent: no reference */
			break;
		}
		if (c) {
			if (ngiven == capgiven) {
				capgiven = capgiven ? capgiven * 2 : 32;
				given = xrealloc(given, capgiven * sizeof(*given));
			}
			given[ngiven++] = c->ino;
		}
		pos += len;
		h->entry = NULL;
		h->offset = next;
	}
	pthread_mutex_unlock(&h->lock);
	fs_fh_leave(&h->sync);
	if (rc < 0) {
		data_reply_err(req, rc);
	} else if (fuse_reply_buf(req, buf, pos) != 0) {
		size_t i;
		for (i = 0; i < ngiven; i++)
			dn_forget(d, given[i], 1);
	}
	free(given);
	free(buf);
}

void fs_data_readdir(fuse_req_t req, uint64_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	(void)ino;
	do_readdir(req, size, off, fi, 0);
}

void fs_data_readdirplus(fuse_req_t req, uint64_t ino, size_t size, off_t off,
			 struct fuse_file_info *fi)
{
	(void)ino;
	do_readdir(req, size, off, fi, 1);
}

/* A directory's handle is a struct dfile as a file's: the same release and fsync. */
void fs_data_releasedir(fuse_req_t req, uint64_t ino, struct fuse_file_info *fi)
{
	fs_data_release(req, ino, fi);
}

void fs_data_fsyncdir(fuse_req_t req, uint64_t ino, int datasync, struct fuse_file_info *fi)
{
	fs_data_fsync(req, ino, datasync, fi);
}

/* ---- the file system ---- */

void fs_data_statfs(fuse_req_t req, uint64_t ino)
{
	struct fs_data *d = fs_of(req)->data;
	struct dnode *n = dn_get(d, ino);
	struct statvfs st;
	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	volume_statfs(vnode_volume(n->vn), &st);
	dn_put(d, n);
	fuse_reply_statfs(req, &st);
}

/* ---- extended attributes ---- */

/* getxattr/listxattr's answer: the value (size > 0), its size (size 0, a probe) or r's errno. */
static void reply_xattr_value(fuse_req_t req, ssize_t r, const char *buf, size_t size)
{
	if (r < 0)
		data_reply_err(req, (int)r);
	else if (size)
		fuse_reply_buf(req, buf, (size_t)r);
	else
		fuse_reply_xattr(req, (size_t)r);
}

void fs_data_getxattr(fuse_req_t req, uint64_t ino, const char *name, size_t size)
{
	struct fs_data *d = fs_of(req)->data;
	struct dnode *n;
	char *buf = NULL;
	ssize_t r = dn_get_alive(d, ino, &n);
	if (r == 0) {
		if (size)
			buf = xmalloc(size);
		r = vnode_getxattr(n->vn, name, buf, size);
		dn_put(d, n);
	}
	reply_xattr_value(req, r, buf, size);
	free(buf);
}

void fs_data_listxattr(fuse_req_t req, uint64_t ino, size_t size)
{
	struct fs_data *d = fs_of(req)->data;
	struct dnode *n;
	char *buf = NULL;
	ssize_t r = dn_get_alive(d, ino, &n);
	if (r == 0) {
		if (size)
			buf = xmalloc(size);
		r = vnode_listxattr(n->vn, buf, size);
		dn_put(d, n);
	}
	reply_xattr_value(req, r, buf, size);
	free(buf);
}

static void change_xattr(fuse_req_t req, uint64_t ino, const char *name, const char *value,
			 size_t size, int flags, int remove)
{
	struct fs *fs = fs_of(req);
	struct dnode *n;
	struct dsync s;
	int rc = dn_get_alive(fs->data, ino, &n);
	if (rc < 0) {
		data_reply_err(req, rc);
		return;
	}
	ds_init(&s, 0);
	if (n->view->ro)
		rc = -EROFS;
	else if (remove)
		rc = vnode_removexattr(n->vn, name);
	else
		rc = vnode_setxattr(n->vn, name, value, size, flags);
	if (rc == 0)
		ds_add(fs->data, &s, n, NULL);
	ds_before_reply(fs, &s);
	data_reply_err(req, rc);
	ds_after_reply(fs, &s);
	dn_put(fs->data, n);
}

void fs_data_setxattr(fuse_req_t req, uint64_t ino, const char *name, const char *value,
		      size_t size, int flags)
{
	change_xattr(req, ino, name, value, size, flags, 0);
}

void fs_data_removexattr(fuse_req_t req, uint64_t ino, const char *name)
{
	change_xattr(req, ino, name, NULL, 0, 0, 1);
}
