/* vnode.c - the inodes of a volume in use and every operation on them: lookups with the
 * path rules (one name at a time through openat2 with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS
 * from the parent's O_PATH descriptor), creations owned by the caller, removals and renames
 * with their charges, opens through /proc/self/fd, attributes and user xattrs. Each inode
 * has one vnode per volume, shared by every view of it (its charge is per inode); its
 * descriptor comes from vn_acquire (vtable.c: the descriptor cache).
 *
 * Charges of name changes (volume.h: ACCOUNTING) are exact because the namespace lock
 * serialises them: a removal looks at what it removes (fstatat) before it does, so the
 * last name of a file releases its blocks (or, when the file is still open, its last
 * close does); a creation reserves the block a directory or a long symlink takes, then
 * charges what the new inode and its parent directory have.
 * Complexity: every operation O(1) system calls and hash lookups. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "volume_internal.h"

/* Longest symlink target ext4 keeps in the inode (no block). */
#define FAST_SYMLINK_MAX 59
#define XATTR_USER "user."

static mode_t proc_umask(void)
{
	static mode_t mask = (mode_t)-1;
	if (mask == (mode_t)-1) {
		mode_t m = umask(022);
		umask(m);
		__atomic_store_n(&mask, m, __ATOMIC_RELAXED);
	}
	return __atomic_load_n(&mask, __ATOMIC_RELAXED);
}

void vn_proc_path(int fd, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

int vn_openat(int dirfd, const char *name, int flags, mode_t mode)
{
	static int no_openat2; /* the kernel (or valgrind) does not know it: asked once */
	struct open_how how;
	int tries;
	if (__atomic_load_n(&no_openat2, __ATOMIC_RELAXED)) {
		int f = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
		return f < 0 ? -errno : f;
	}
	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC);
	how.mode = (flags & O_CREAT) ? mode : 0;
	how.resolve =
	    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
	for (tries = 0; tries < 8; tries++) {
		long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno == ENOSYS) {
			/* Before Linux 5.6: one checked component with O_NOFOLLOW is as safe. */
			__atomic_store_n(&no_openat2, 1, __ATOMIC_RELAXED);
			int f = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
			return f < 0 ? -errno : f;
		}
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	return -EAGAIN;
}

int vnode_check_name(const char *name)
{
	size_t len = strlen(name);
	if (!len || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	return len > 255 ? -ENAMETOOLONG : 0;
}

struct volume *vnode_volume(const struct vnode *n)
{
	return n->vol;
}

int vnode_is_dead(const struct vnode *n)
{
	return volume_dead(n->vol);
}

/* ---- lookups ---- */

static int usable_dir(const struct vnode *dir)
{
	if (volume_dead(dir->vol))
		return -ESTALE;
	return S_ISDIR(dir->type) ? 0 : -ENOTDIR;
}

int vnode_lookup(struct vnode *dir, const char *name, struct vnode **out, struct stat *st)
{
	int rc = usable_dir(dir);
	if (rc == 0)
		rc = vnode_check_name(name);
	if (rc < 0)
		return rc == -EINVAL ? -ENOENT : rc;
	int dfd = vn_acquire(dir);
	if (dfd < 0)
		return dfd;
	int fd = vn_openat(dfd, name, O_PATH, 0);
	vn_release(dir);
	if (fd < 0)
		return fd;
	if (fstat(fd, st) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	*out = vn_intern(dir->vol, fd, st, 0, dir, name);
	return 0;
}

int vnode_stat(struct vnode *n, struct stat *st)
{
	if (volume_dead(n->vol))
		return -ESTALE;
	int fd = vn_acquire(n), rc;
	if (fd < 0)
		return fd;
	rc = fstat(fd, st) < 0 ? -errno : 0;
	vn_release(n);
	return rc;
}

int vnode_readlink(struct vnode *n, char *buf, size_t size)
{
	if (volume_dead(n->vol))
		return -ESTALE;
	if (!S_ISLNK(n->type))
		return -EINVAL;
	int fd = vn_acquire(n);
	if (fd < 0)
		return fd;
	ssize_t len = readlinkat(fd, "", buf, size);
	int e = errno;
	vn_release(n);
	if (len < 0)
		return -e;
	if ((size_t)len >= size)
		return -ENAMETOOLONG;
	buf[len] = '\0';
	return (int)len;
}

static void charge_dir(struct volume *v, int fd, const struct stat *before);

/* The kubelet makes a missing subPath directory; so do we, charged like a mkdir. */
static int make_subdir(struct volume *v, int fd, const char *comp, const struct vnode_owner *o)
{
	struct stat before, made;
	int rc = 0;
	pthread_mutex_lock(&v->ns_lock);
	if (fstat(fd, &before) < 0)
		rc = -errno;
	else
		rc = vol_reserve(v, v->bsize);
	if (rc == 0) {
		if (mkdirat(fd, comp, 0755) < 0) {
			rc = errno == EEXIST ? 0 : -errno;
		} else {
			int nfd = vn_openat(fd, comp, O_PATH | O_DIRECTORY, 0);
			if (nfd >= 0) {
				if (o && geteuid() == 0)
					(void)!fchownat(nfd, "", o->uid, o->gid, AT_EMPTY_PATH);
				if (fstat(nfd, &made) == 0)
					vol_charge(v, vol_blocks_bytes(&made));
				close(nfd);
			}
			charge_dir(v, fd, &before);
		}
		vol_charge(v, -v->bsize);
	}
	pthread_mutex_unlock(&v->ns_lock);
	return rc;
}

int volume_root(struct volume *v, const char *subpath, const struct vnode_owner *owner,
		struct vnode **out, struct stat *st, struct cfs_err *err)
{
	char *copy = xstrdup(subpath ? subpath : ""), *save = NULL, *comp;
	struct vnode *cur;
	int rc = 0;
	if (volume_dead(v)) {
		free(copy);
		return cfs_errorf(err, -ESTALE, "volume %s was deleted", v->name);
	}
	if (copy[0] == '/') {
		free(copy);
		return cfs_errorf(err, -EINVAL, "subPath %s: must be a relative path", subpath);
	}
	cur = vn_top(v);
	/* One component at a time, each a vnode (so it can be opened again by name). */
	for (comp = strtok_r(copy, "/", &save); comp && rc == 0;
	     comp = strtok_r(NULL, "/", &save)) {
		struct stat cs, ls;
		struct vnode *next = NULL;
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0 || strlen(comp) > 255) {
			rc = cfs_errorf(err, -EINVAL, "subPath %s: must not contain '..'", subpath);
			break;
		}
		int fd = vn_acquire(cur);
		if (fd < 0) {
			rc = cfs_errorf(err, fd, "subPath %s: %s", subpath, strerror(-fd));
			break;
		}
		int nfd = vn_openat(fd, comp, O_PATH | O_DIRECTORY, 0);
		if (nfd == -ENOENT) {
			int made = make_subdir(v, fd, comp, owner);
			nfd = made < 0 ? made : vn_openat(fd, comp, O_PATH | O_DIRECTORY, 0);
		}
		if (nfd == -ENOTDIR && fstatat(fd, comp, &ls, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(ls.st_mode))
			nfd = -ELOOP; /* O_DIRECTORY|O_NOFOLLOW says ENOTDIR for a symlink */
		vn_release(cur);
		if (nfd >= 0 && fstat(nfd, &cs) < 0) {
			close(nfd);
			nfd = -errno;
		}
		if (nfd < 0) {
			rc = cfs_errorf(err, nfd, "subPath %s: %s: %s", subpath, comp,
					nfd == -ELOOP ? "a symlink is not followed"
						      : strerror(-nfd));
			break;
		}
		next = vn_intern(v, nfd, &cs, 0, cur, comp);
		vnode_put(cur);
		cur = next;
	}
	free(copy);
	if (rc == 0)
		rc = vnode_stat(cur, st);
	if (rc < 0) {
		vnode_put(cur);
		if (!err->msg[0])
			cfs_errorf(err, rc, "volume %s: %s", v->name, strerror(-rc));
		return rc;
	}
	*out = cur;
	return 0;
}

/* ---- creations ---- */

/* What a creation in dir shares: the checks, the namespace lock, the parent's blocks
 * before, a reservation, and afterwards the charges. */
struct making {
	struct vnode *dir;
	int dirfd;	    /* its descriptor (acquired) */
	struct stat before; /* the parent before the change */
	int64_t reserved;   /* bytes reserved for the new inode */
};

static int make_begin(struct making *mk, struct vnode *dir, const char *name, int64_t reserve)
{
	int rc = usable_dir(dir);
	if (rc == 0)
		rc = vnode_check_name(name);
	if (rc < 0)
		return rc;
	mk->dir = dir;
	mk->reserved = 0;
	mk->dirfd = vn_acquire(dir);
	if (mk->dirfd < 0)
		return mk->dirfd;
	pthread_mutex_lock(&dir->vol->ns_lock);
	if (fstat(mk->dirfd, &mk->before) < 0) {
		rc = -errno;
	} else if (reserve > 0) {
		rc = vol_reserve(dir->vol, reserve);
		if (rc == 0)
			mk->reserved = reserve;
	}
	if (rc < 0) {
		pthread_mutex_unlock(&dir->vol->ns_lock);
		vn_release(dir);
	}
	return rc;
}

/* Charges the growth of directory fd since before (through its vnode when it has one). */
static void charge_dir(struct volume *v, int fd, const struct stat *before)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return;
	pthread_mutex_lock(&v->lock);
	struct vnode *n = vn_find_locked(v, st.st_ino);
	if (n)
		vn_charge_locked(n, &st);
	else
		vol_charge(v, vol_blocks_bytes(&st) - vol_blocks_bytes(before));
	pthread_mutex_unlock(&v->lock);
}

static void make_end(struct making *mk)
{
	struct volume *v = mk->dir->vol;
	charge_dir(v, mk->dirfd, &mk->before);
	vol_charge(v, -mk->reserved);
	pthread_mutex_unlock(&v->ns_lock);
	vn_release(mk->dir);
}

/* Gives a new inode (open as fd, O_PATH or not) its owner and exactly mode. */
static void own(struct making *mk, int fd, mode_t type, mode_t mode, const struct vnode_owner *o)
{
	char path[32];
	if (o && geteuid() == 0) {
		/* A set-group-ID directory gives its group, as the kernel does. */
		gid_t gid = (mk->before.st_mode & S_ISGID) ? mk->before.st_gid : o->gid;
		(void)!fchownat(fd, "", o->uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	}
	if (type == S_IFLNK || !(mode & proc_umask()))
		return;
	vn_proc_path(fd, path, sizeof(path));
	(void)!chmod(path, mode & 07777);
}

/* Interns the new entry name of mk->dir, charged: 0 or -errno. */
static int make_node(struct making *mk, const char *name, mode_t type, mode_t mode,
		     const struct vnode_owner *o, struct vnode **out, struct stat *st)
{
	int fd = vn_openat(mk->dirfd, name, O_PATH, 0);
	if (fd < 0)
		return fd;
	own(mk, fd, type, mode, o);
	if (fstat(fd, st) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	*out = vn_intern(mk->dir->vol, fd, st, 1, mk->dir, name);
	return 0;
}

int vnode_mkdir(struct vnode *dir, const char *name, mode_t mode, const struct vnode_owner *o,
		struct vnode **out, struct stat *st)
{
	struct making mk;
	int rc = make_begin(&mk, dir, name, dir->vol->bsize);
	if (rc < 0)
		return rc;
	if (mkdirat(mk.dirfd, name, mode & 07777) < 0)
		rc = -errno;
	else
		rc = make_node(&mk, name, S_IFDIR, mode, o, out, st);
	make_end(&mk);
	return rc;
}

int vnode_mknod(struct vnode *dir, const char *name, mode_t mode, dev_t rdev,
		const struct vnode_owner *o, struct vnode **out, struct stat *st)
{
	struct making mk;
	mode_t type = mode & S_IFMT;
	if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK)
		return -EPERM; /* no device nodes in a volume */
	int rc = make_begin(&mk, dir, name, 0);
	if (rc < 0)
		return rc;
	if (mknodat(mk.dirfd, name, type | (mode & 07777), 0) < 0)
		rc = -errno;
	else
		rc = make_node(&mk, name, type, mode, o, out, st);
	make_end(&mk);
	(void)rdev;
	return rc;
}

int vnode_symlink(struct vnode *dir, const char *name, const char *target,
		  const struct vnode_owner *o, struct vnode **out, struct stat *st)
{
	struct making mk;
	size_t len = strlen(target);
	if (!len)
		return -ENOENT;
	if (len >= 4096)
		return -ENAMETOOLONG;
	int rc = make_begin(&mk, dir, name, len > FAST_SYMLINK_MAX ? dir->vol->bsize : 0);
	if (rc < 0)
		return rc;
	if (symlinkat(target, mk.dirfd, name) < 0)
		rc = -errno;
	else
		rc = make_node(&mk, name, S_IFLNK, 0777, o, out, st);
	make_end(&mk);
	return rc;
}

/* Flags a backing descriptor keeps: the access mode and the synchronous ones. The kernel
 * places appends itself and O_DIRECT is the adapter's business (direct_io). */
static int open_flags(int flags)
{
	return (flags & (O_ACCMODE | O_TRUNC | O_SYNC | O_DSYNC | O_DIRECTORY)) | O_CLOEXEC;
}

int vnode_create(struct vnode *dir, const char *name, mode_t mode, int flags,
		 const struct vnode_owner *o, struct vnode **out, struct stat *st, int *fd)
{
	struct making mk;
	int rc = make_begin(&mk, dir, name, 0);
	if (rc < 0)
		return rc;
	int f = vn_openat(mk.dirfd, name, (open_flags(flags) & ~O_DIRECTORY) | O_CREAT | O_EXCL,
			  mode & 07777);
	if (f < 0) {
		rc = f;
	} else {
		rc = make_node(&mk, name, S_IFREG, mode, o, out, st);
		if (rc < 0) {
			close(f);
		} else {
			pthread_mutex_lock(&dir->vol->lock);
			(*out)->nopen++;
			pthread_mutex_unlock(&dir->vol->lock);
			*fd = f;
		}
	}
	make_end(&mk);
	return rc;
}

int vnode_link(struct vnode *n, struct vnode *dir, const char *name, struct stat *st)
{
	struct making mk;
	char path[32];
	if (n->vol != dir->vol)
		return -EXDEV;
	if (S_ISDIR(n->type))
		return -EPERM;
	int rc = make_begin(&mk, dir, name, 0);
	if (rc < 0)
		return rc;
	int fd = vn_acquire(n);
	if (fd < 0) {
		rc = fd;
	} else {
		vn_proc_path(fd, path, sizeof(path));
		if (linkat(AT_FDCWD, path, mk.dirfd, name, AT_SYMLINK_FOLLOW) < 0)
			rc = -errno;
		else if (fstat(fd, st) < 0)
			rc = -errno;
		vn_release(n);
	}
	make_end(&mk);
	return rc;
}

/* ---- removals ---- */

/* The name (dir, name) of the inode st describes went (volume lock held): a vnode that
 * remembered that place cannot be opened again by it. When it was the inode's last name,
 * its blocks leave the usage now, or at its last close when it is open. Returns the
 * inode's vnode with one more reference (or NULL) for the caller to put after unlocking:
 * when only the cache held it, that put lets its descriptor go (so the file system frees
 * its blocks now) and frees it, as any last put does. */
static struct vnode *name_gone_locked(struct volume *v, struct vnode *dir, const char *name,
				      const struct stat *st, int last)
{
	struct vnode *n = vn_find_locked(v, st->st_ino);
	if (n && n->parent == dir && n->name && strcmp(n->name, name) == 0)
		n->lost = 1;
	if (!last)
		return NULL;
	if (!n) {
		vol_charge(v, -vol_blocks_bytes(st));
		return NULL;
	}
	n->lost = n->unlinked = 1;
	if (n->nopen == 0) {
		vol_charge(v, -n->charged);
		n->charged = 0;
	}
	n->refs++;
	return n;
}

static int remove_entry(struct vnode *dir, const char *name, int is_dir)
{
	struct volume *v = dir->vol;
	struct stat st;
	int rc = usable_dir(dir);
	if (rc == 0)
		rc = vnode_check_name(name);
	if (rc < 0)
		return rc == -EINVAL ? -ENOENT : rc;
	int dfd = vn_acquire(dir);
	if (dfd < 0)
		return dfd;
	pthread_mutex_lock(&v->ns_lock);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		rc = -errno;
	else if (is_dir && !S_ISDIR(st.st_mode))
		rc = -ENOTDIR;
	else if (!is_dir && S_ISDIR(st.st_mode))
		rc = -EISDIR;
	else if (unlinkat(dfd, name, is_dir ? AT_REMOVEDIR : 0) < 0)
		rc = -errno;
	if (rc == 0) {
		pthread_mutex_lock(&v->lock);
		struct vnode *gone =
		    name_gone_locked(v, dir, name, &st, is_dir || st.st_nlink <= 1);
		pthread_mutex_unlock(&v->lock);
		vnode_put(gone);
	}
	pthread_mutex_unlock(&v->ns_lock);
	vn_release(dir);
	return rc;
}

int vnode_unlink(struct vnode *dir, const char *name)
{
	return remove_entry(dir, name, 0);
}

int vnode_rmdir(struct vnode *dir, const char *name)
{
	return remove_entry(dir, name, 1);
}

/* After a rename (volume lock held): the vnodes of what moved remember where it is. */
static void moved_locked(struct volume *v, const struct stat *what, struct vnode *to,
			 const char *name, struct vnode **old)
{
	struct vnode *n = vn_find_locked(v, what->st_ino);
	*old = NULL;
	if (n)
		vn_move_locked(n, to, name, old);
}

int vnode_rename(struct vnode *dir, const char *name, struct vnode *newdir, const char *newname,
		 unsigned flags)
{
	struct volume *v = dir->vol;
	struct stat src, victim, before;
	struct vnode *old1 = NULL, *old2 = NULL;
	int rc, replaced = 0, exists = 0, dfd = -1, nfd = -1;
	if (dir->vol != newdir->vol)
		return -EXDEV;
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if ((rc = usable_dir(dir)) < 0 || (rc = usable_dir(newdir)) < 0)
		return rc;
	if (vnode_check_name(name) < 0)
		return -ENOENT;
	if ((rc = vnode_check_name(newname)) < 0)
		return rc;
	if ((dfd = vn_acquire(dir)) < 0)
		return dfd;
	if ((nfd = vn_acquire(newdir)) < 0) {
		vn_release(dir);
		return nfd;
	}
	pthread_mutex_lock(&v->ns_lock);
	if (fstatat(dfd, name, &src, AT_SYMLINK_NOFOLLOW) < 0) {
		rc = -errno;
		goto out;
	}
	if (fstatat(nfd, newname, &victim, AT_SYMLINK_NOFOLLOW) == 0) {
		exists = 1;
		replaced = !(flags & RENAME_EXCHANGE) && victim.st_ino != src.st_ino;
	}
	if (fstat(nfd, &before) < 0) {
		rc = -errno;
		goto out;
	}
	if (syscall(SYS_renameat2, dfd, name, nfd, newname, flags) < 0) {
		rc = -errno;
		goto out;
	}
	pthread_mutex_lock(&v->lock);
	struct vnode *gone = NULL;
	if (replaced)
		gone = name_gone_locked(v, newdir, newname, &victim,
					S_ISDIR(victim.st_mode) || victim.st_nlink <= 1);
	if (victim.st_ino != src.st_ino || !exists)
		moved_locked(v, &src, newdir, newname, &old1);
	if ((flags & RENAME_EXCHANGE) && exists)
		moved_locked(v, &victim, dir, name, &old2);
	pthread_mutex_unlock(&v->lock);
	vnode_put(gone);
	charge_dir(v, nfd, &before);
out:
	pthread_mutex_unlock(&v->ns_lock);
	vn_release(newdir);
	vn_release(dir);
	vnode_put(old1);
	vnode_put(old2);
	return rc;
}

/* ---- open files ---- */

int vnode_open(struct vnode *n, int flags, int *fd)
{
	char path[32];
	if (volume_dead(n->vol))
		return -ESTALE;
	if (S_ISLNK(n->type))
		return -ELOOP;
	if (!S_ISREG(n->type) && !S_ISDIR(n->type))
		return -EPERM;
	if (S_ISDIR(n->type))
		flags = (flags & ~O_ACCMODE) | O_RDONLY | O_DIRECTORY;
	int pfd = vn_acquire(n);
	if (pfd < 0)
		return pfd;
	vn_proc_path(pfd, path, sizeof(path));
	int f = open(path, open_flags(flags));
	int e = errno;
	vn_release(n);
	if (f < 0)
		return -e;
	if (flags & O_TRUNC)
		vn_recharge(n, f);
	pthread_mutex_lock(&n->vol->lock);
	n->nopen++;
	pthread_mutex_unlock(&n->vol->lock);
	*fd = f;
	return 0;
}

void vnode_close(struct vnode *n, int fd)
{
	struct stat st;
	pthread_mutex_lock(&n->vol->lock);
	if (n->nopen > 0 && --n->nopen == 0 && fstat(fd, &st) == 0 && st.st_nlink == 0) {
		/* The last descriptor of an unlinked file: its blocks are free now. */
		vol_charge(n->vol, -n->charged);
		n->charged = 0;
	}
	pthread_mutex_unlock(&n->vol->lock);
	close(fd);
}

int vnode_fsync(struct vnode *n, int fd, int datasync)
{
	struct volume *v = n->vol;
	if ((datasync ? fdatasync(fd) : fsync(fd)) < 0)
		return -errno;
	if (__atomic_load_n(&v->entry_synced, __ATOMIC_ACQUIRE))
		return 0;
	int dfd = openat(v->vs->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = dfd < 0 || fsync(dfd) < 0 ? -errno : 0;
	if (dfd >= 0)
		close(dfd);
	if (rc == 0)
		__atomic_store_n(&v->entry_synced, 1, __ATOMIC_RELEASE);
	return rc;
}

/* ---- attributes ---- */

int vnode_setattr(struct vnode *n, int fd, const struct vnode_attr *a, unsigned set,
		  struct stat *st)
{
	char path[32];
	int rc = 0, pfd;
	if (volume_dead(n->vol))
		return -ESTALE;
	if ((pfd = vn_acquire(n)) < 0)
		return pfd;
	vn_proc_path(pfd, path, sizeof(path));
	if (set & VNODE_SET_MODE) {
		if (S_ISLNK(n->type))
			rc = -EOPNOTSUPP;
		else if ((fd >= 0 ? fchmod(fd, a->mode & 07777) : chmod(path, a->mode & 07777)) < 0)
			rc = -errno;
	}
	if (rc == 0 && (set & (VNODE_SET_UID | VNODE_SET_GID))) {
		uid_t uid = (set & VNODE_SET_UID) ? a->uid : (uid_t)-1;
		gid_t gid = (set & VNODE_SET_GID) ? a->gid : (gid_t)-1;
		if (fchownat(pfd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			rc = -errno;
	}
	if (rc == 0 && (set & VNODE_SET_SIZE)) {
		if (!S_ISREG(n->type))
			rc = S_ISDIR(n->type) ? -EISDIR : -EINVAL;
		else if ((fd >= 0 ? ftruncate(fd, a->size) : truncate(path, a->size)) < 0)
			rc = -errno;
		vn_recharge(n, fd >= 0 ? fd : pfd);
	}
	if (rc == 0 && (set & (VNODE_SET_ATIME | VNODE_SET_MTIME))) {
		struct timespec ts[2];
		ts[0] = a->atime;
		ts[1] = a->mtime;
		if (!(set & VNODE_SET_ATIME))
			ts[0].tv_nsec = UTIME_OMIT;
		if (!(set & VNODE_SET_MTIME))
			ts[1].tv_nsec = UTIME_OMIT;
		if (S_ISLNK(n->type))
			rc = utimensat(pfd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0
				 ? -errno
				 : 0;
		else if ((fd >= 0 ? futimens(fd, ts) : utimensat(AT_FDCWD, path, ts, 0)) < 0)
			rc = -errno;
	}
	if (fstat(pfd, st) < 0 && rc == 0)
		rc = -errno;
	vn_release(n);
	return rc;
}

/* ---- extended attributes (user.* only: nothing that changes what the host trusts) ---- */

static int user_name(const char *name)
{
	return strncmp(name, XATTR_USER, strlen(XATTR_USER)) == 0;
}

static int xattr_err(int e)
{
	return e == ENOTSUP ? -EOPNOTSUPP : -e;
}

ssize_t vnode_getxattr(struct vnode *n, const char *name, void *value, size_t size)
{
	char path[32];
	if (volume_dead(n->vol))
		return -ESTALE;
	if (!user_name(name) || S_ISLNK(n->type))
		return -ENODATA;
	int fd = vn_acquire(n);
	if (fd < 0)
		return fd;
	vn_proc_path(fd, path, sizeof(path));
	ssize_t r = getxattr(path, name, value, size);
	int e = errno;
	vn_release(n);
	return r < 0 ? xattr_err(e) : r;
}

/* The user.* names of the list in all (len bytes) into list (size; 0: only the size). */
static ssize_t user_names(const char *all, ssize_t len, char *list, size_t size)
{
	size_t out = 0;
	const char *p;
	for (p = all; p < all + len; p += strlen(p) + 1) {
		size_t l = strlen(p) + 1;
		if (!user_name(p))
			continue;
		if (size && out + l <= size)
			memcpy(list + out, p, l);
		out += l;
	}
	if (size && out > size)
		return -ERANGE;
	return (ssize_t)out;
}

ssize_t vnode_listxattr(struct vnode *n, char *list, size_t size)
{
	char path[32];
	if (volume_dead(n->vol))
		return -ESTALE;
	if (S_ISLNK(n->type))
		return 0;
	int fd = vn_acquire(n);
	if (fd < 0)
		return fd;
	vn_proc_path(fd, path, sizeof(path));
	ssize_t r, len = listxattr(path, NULL, 0);
	if (len <= 0) {
		r = len < 0 ? (errno == ENOTSUP ? 0 : -errno) : 0;
	} else {
		char *all = xmalloc((size_t)len);
		len = listxattr(path, all, (size_t)len);
		if (len < 0)
			r = errno == ERANGE ? -EAGAIN : -errno;
		else
			r = user_names(all, len, list, size);
		free(all);
	}
	vn_release(n);
	return r;
}

int vnode_setxattr(struct vnode *n, const char *name, const void *value, size_t size, int flags)
{
	char path[32];
	if (volume_dead(n->vol))
		return -ESTALE;
	if (!user_name(name))
		return -EOPNOTSUPP;
	if (S_ISLNK(n->type))
		return -EPERM;
	int fd = vn_acquire(n);
	if (fd < 0)
		return fd;
	vn_proc_path(fd, path, sizeof(path));
	int rc = setxattr(path, name, value, size, flags) < 0 ? xattr_err(errno) : 0;
	vn_recharge(n, fd); /* a large value may take a block */
	vn_release(n);
	return rc;
}

int vnode_removexattr(struct vnode *n, const char *name)
{
	char path[32];
	if (volume_dead(n->vol))
		return -ESTALE;
	if (!user_name(name) || S_ISLNK(n->type))
		return -ENODATA;
	int fd = vn_acquire(n);
	if (fd < 0)
		return fd;
	vn_proc_path(fd, path, sizeof(path));
	int rc = removexattr(path, name) < 0 ? xattr_err(errno) : 0;
	vn_recharge(n, fd);
	vn_release(n);
	return rc;
}
