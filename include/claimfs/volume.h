/* volume.h - the data of PersistentVolumes (issue 7): real, capacity-limited storage under
 * the state directory, the accounting that enforces the capacity, and the path rules every
 * access goes through. FUSE-free: the adapter (src/fs/fs_data*.c) maps kernel requests onto
 * it, the storage controllers call the reclaim hooks, Check suites drive it directly.
 *
 * LAYOUT. <state>/volumes/<pv-name>/ holds the content of the PersistentVolume pv-name. It
 * is made when the volume is first used (a lookup of its data/ or of a pod's mount), so a
 * bulk apply of thousands of claims costs no directory per claim under the cluster lock.
 * Delete reclaim and Recycle rename the directory into <state>/volumes/.trash/ (O(1), under
 * the cluster lock) and a background thread removes it (also what a crash left there).
 * A volume is known by its PV name: a Retain PV deleted and created again with the same
 * name finds its data, as the same storage asset would (Kubernetes leaves the asset of a
 * deleted Retain PV in place).
 *
 * INCARNATIONS. struct volume is one life of a volume directory: made on first use after
 * start, dead once the directory is deleted or scrubbed (every later operation on it or
 * its nodes answers -ESTALE; the next volume_get makes a new one).
 *
 * ACCOUNTING. usage = bytes of the blocks allocated to the volume's inodes, each inode
 * counted once, the root directory included: what `du -s -B1` prints. It is computed by a
 * walk the first time a volume is used after start (O(files)), then kept current by every
 * operation here: a write reserves the blocks it may allocate before it runs (a write that
 * does not fit is shortened to what fits, or fails with -ENOSPC), then charges what the
 * backing file system reports (st_blocks) and releases the reservation; truncate,
 * fallocate, creation and removal charge the same way. Each inode the kernel knows has a
 * struct vnode that remembers what it is charged; an unlinked file still open keeps its
 * charge until its last close, as its blocks do. Directories and long symlinks take one
 * block, reserved before they are made; a directory that grows by a block when an entry is
 * added is charged afterwards, so metadata may pass the capacity by one block (statfs
 * then shows 0 free). Expansion changes the capacity at once (volumes_set_capacity).
 *
 * PATH RULES. Nothing is ever resolved by path from outside: each vnode has an O_PATH
 * descriptor of its inode, obtained from its parent's descriptor with one name through
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)
 * and O_NOFOLLOW; names are single components ("", ".", "..", and names with '/' are
 * refused); a file is opened again through /proc/self/fd/N, which names exactly that inode;
 * symlinks are created and read, never followed; renames and links stay inside one volume
 * (-EXDEV otherwise). So no name, symlink or rename race reaches a file outside the volume,
 * and two volumes never see each other's files. subPath is resolved the same way, one
 * component at a time, its missing directories made as the kubelet makes them.
 * Descriptors are a cache: past a budget, those of idle inodes are closed and opened again
 * from the parent by the name the inode was last seen under, and accepted only when it is
 * still the same inode (-ESTALE otherwise), so the rules hold for reopened ones too.
 *
 * LOCKING (part of the one lock design in store.h):
 *   registry lock (struct volumes): PV names -> capacity, the live incarnation of each
 *     volume, the trash queue. Taken alone or under the cluster lock (index and reclaim
 *     hooks, which do no I/O but the rename into the trash). Nothing is taken under it.
 *   namespace lock (one per volume): serialises the changes of names (create, mkdir,
 *     symlink, link, unlink, rmdir, rename) so that their charges are exact. Taken alone,
 *     never under the cluster lock; the volume lock may be taken under it.
 *   volume lock (one per volume): its vnode table and every vnode's charge, open count
 *     and descriptor. Under it only the fd lock (the registry's descriptor cache list).
 *   usage is an atomic counter (reservations included): the I/O path takes no lock but
 *   the volume lock for the few instructions of a charge, and never the cluster lock.
 * Errors: 0 (or a count) or a negative errno; messages in err where there is one. */
#ifndef CLAIMFS_VOLUME_H
#define CLAIMFS_VOLUME_H

#include <stdint.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>
#include "claimfs/error.h"

struct cluster;
struct volumes;
struct volume;
struct vnode;

/* ---- the registry: one per state directory ---- */

/* Opens <state_dir>/volumes (made 0700 if missing) and starts removing what .trash holds.
 * -errno with a message when the directory cannot be made or opened. */
int volumes_open(const char *state_dir, struct volumes **out, struct cfs_err *err);
/* Stops the background removal (what is left is removed at the next start) and frees. The
 * caller has put every volume it got. */
void volumes_close(struct volumes *vs);
/* The registry of a cluster's state directory (a cluster slot, closed with the cluster),
 * opened on first use; NULL when it cannot be opened (the reason goes to stderr once).
 * LOCKED (cluster lock); the pointer stays valid until cluster_close. */
struct volumes *volumes_of(struct cluster *cl);

/* A PersistentVolume named name exists with this capacity (spec.capacity.storage in bytes),
 * or (bytes < 0) exists no more. Called for every PV change (the storage index hook) and
 * while the state loads; O(1), no I/O. A live volume takes the new capacity at once. */
void volumes_set_capacity(struct volumes *vs, const char *name, int64_t bytes);
/* Bytes a PV of that name may hold, or -1 when no such PV is known. */
int64_t volumes_capacity(struct volumes *vs, const char *name);

enum volume_reclaim {
	VOLUME_DELETE, /* the asset goes: the directory is removed */
	VOLUME_SCRUB,  /* Recycle: emptied (rm -rf of the content), the root keeps its mode */
};
/* Delete or scrub the data of the volume named name: its live incarnation dies, its
 * directory moves into the trash (removed in the background), and for a scrub an empty
 * root with the old root's mode and owner takes its place. A volume never used has nothing
 * to do. O(1) under the registry lock; may be called under the cluster lock. */
int volumes_reclaim(struct volumes *vs, const char *name, enum volume_reclaim how,
		    struct cfs_err *err);
/* Blocks until the trash is empty (tests). */
void volumes_wait_idle(struct volumes *vs);
/* The descriptor cache (volume_internal.h): at most n O_PATH descriptors kept by inodes
 * nobody uses (default: a quarter of RLIMIT_NOFILE, which volumes_open raises to its hard
 * limit); and how many are held now. */
void volumes_set_fd_budget(struct volumes *vs, size_t n);
size_t volumes_fds(struct volumes *vs);

/* Is name usable as a volume name (a DNS subdomain is): 0 or -EINVAL. */
int volumes_check_name(const char *name);

/* ---- volumes ---- */

/* The live incarnation of the volume named name (a new reference): made and counted on
 * first use (its directory created, its usage walked). -ENOENT when no PV of that name is
 * known, -ESTALE when it died while it was being made, -errno for I/O errors. */
int volume_get(struct volumes *vs, const char *name, struct volume **out, struct cfs_err *err);
struct volume *volume_ref(struct volume *v);
void volume_put(struct volume *v); /* NULL is fine */
int volume_dead(const struct volume *v);
const char *volume_name(const struct volume *v);
int64_t volume_capacity(const struct volume *v); /* bytes */
int64_t volume_used(const struct volume *v);	 /* bytes (du), reservations in flight included */
/* df: f_blocks is the capacity, f_bfree/f_bavail what is left (0 when usage passed it),
 * in f_frsize units (the backing block size); inode counts and name length from the
 * backing file system. */
void volume_statfs(struct volume *v, struct statvfs *st);

/* ---- nodes: one per inode of a volume in use (shared by every view of it) ---- */

/* Who creates a file: its owner. */
struct vnode_owner {
	uid_t uid;
	gid_t gid;
};

/* The root of the volume, or the directory subpath inside it (relative, components
 * separated by '/', no "..": -EINVAL; a symlink on the way: -ELOOP; a file: -ENOTDIR).
 * Missing directories of subpath are made (0755, owned as owner says when owner is not
 * NULL). A new reference; st gets its attributes. */
int volume_root(struct volume *v, const char *subpath, const struct vnode_owner *owner,
		struct vnode **out, struct stat *st, struct cfs_err *err);
struct vnode *vnode_ref(struct vnode *n);
void vnode_put(struct vnode *n);		    /* NULL is fine */
struct volume *vnode_volume(const struct vnode *n); /* borrowed */
int vnode_is_dead(const struct vnode *n);	    /* its volume is dead */
/* Is name one component (not "", ".", "..", no '/', at most 255 bytes)? 0, -EINVAL or
 * -ENAMETOOLONG. */
int vnode_check_name(const char *name);

/* The child name of directory dir: a new reference and its attributes. -ENOENT. */
int vnode_lookup(struct vnode *dir, const char *name, struct vnode **out, struct stat *st);
int vnode_stat(struct vnode *n, struct stat *st);
/* The target of a symlink into buf (NUL-terminated): its length, or -EINVAL when n is no
 * symlink, -ENAMETOOLONG when buf is too small. */
int vnode_readlink(struct vnode *n, char *buf, size_t size);

/* Creations: the new node (a reference) and its attributes. mode has the permission bits
 * (the type for mknod); -EEXIST, -ENOSPC (no room for a directory's or a long symlink's
 * block), -EPERM (mknod of a device). */
int vnode_mkdir(struct vnode *dir, const char *name, mode_t mode, const struct vnode_owner *o,
		struct vnode **out, struct stat *st);
int vnode_mknod(struct vnode *dir, const char *name, mode_t mode, dev_t rdev,
		const struct vnode_owner *o, struct vnode **out, struct stat *st);
int vnode_symlink(struct vnode *dir, const char *name, const char *target,
		  const struct vnode_owner *o, struct vnode **out, struct stat *st);
/* Creates and opens a regular file (flags as open(2); O_CREAT|O_EXCL are implied). *fd is
 * an open descriptor to give back with vnode_close. */
int vnode_create(struct vnode *dir, const char *name, mode_t mode, int flags,
		 const struct vnode_owner *o, struct vnode **out, struct stat *st, int *fd);
/* A new name for n in dir (same volume, else -EXDEV); st gets n's attributes. */
int vnode_link(struct vnode *n, struct vnode *dir, const char *name, struct stat *st);
int vnode_unlink(struct vnode *dir, const char *name);
int vnode_rmdir(struct vnode *dir, const char *name);
/* rename(2) with renameat2 flags (RENAME_NOREPLACE, RENAME_EXCHANGE); -EXDEV across
 * volumes, -EINVAL for other flags. */
int vnode_rename(struct vnode *dir, const char *name, struct vnode *newdir, const char *newname,
		 unsigned flags);

/* Opens a regular file or a directory (flags as open(2); O_CREAT, O_EXCL, O_NOFOLLOW,
 * O_NOCTTY are dropped; O_TRUNC is charged). -ELOOP for a symlink, -EPERM for other
 * types. Give the descriptor back with vnode_close. */
int vnode_open(struct vnode *n, int flags, int *fd);
/* Closes fd; the last close of an unlinked file releases its charge. */
void vnode_close(struct vnode *n, int fd);

/* setattr: what to change. Times may be UTIME_NOW or UTIME_OMIT as for utimensat. */
#define VNODE_SET_MODE 0x01
#define VNODE_SET_UID 0x02
#define VNODE_SET_GID 0x04
#define VNODE_SET_SIZE 0x08
#define VNODE_SET_ATIME 0x10
#define VNODE_SET_MTIME 0x20
struct vnode_attr {
	mode_t mode;
	uid_t uid;
	gid_t gid;
	off_t size;
	struct timespec atime, mtime;
};
/* fd: an open descriptor of n when the caller has one, else -1. Growing a file is free
 * (a hole); shrinking releases its blocks. st gets the new attributes. */
int vnode_setattr(struct vnode *n, int fd, const struct vnode_attr *a, unsigned set,
		  struct stat *st);

/* Writes: pwrite of len bytes at off through fd, within the capacity. Returns the bytes
 * written (fewer when only part fits) or -ENOSPC. */
ssize_t vnode_pwrite(struct vnode *n, int fd, const void *buf, size_t len, off_t off);
/* The same in two steps, for writers that move the bytes themselves (splice): begin
 * reserves what a write of *len bytes at off may allocate, shortening *len to what fits
 * (-ENOSPC when nothing does); end charges what was allocated and releases the
 * reservation. Every successful begin needs its end. */
int vnode_write_begin(struct vnode *n, int fd, off_t off, size_t *len, int64_t *reserved);
void vnode_write_end(struct vnode *n, int fd, int64_t reserved);
/* fallocate(2) within the capacity (-ENOSPC). */
int vnode_fallocate(struct vnode *n, int fd, int mode, off_t off, off_t len);
/* fsync(2) (fdatasync when datasync) of fd, an open descriptor of n; the first one in a
 * volume also makes the volume's own name in <state>/volumes durable, so what was synced
 * is found after a crash. (Making a volume does not wait for the disk: listing thousands
 * of PVs makes thousands of directories.) */
int vnode_fsync(struct vnode *n, int fd, int datasync);

/* Extended attributes of the "user." namespace (-EOPNOTSUPP for others, and where the
 * backing file system has none). get/list return the size, or -ERANGE when size is too
 * small (size 0 asks for the size). */
ssize_t vnode_getxattr(struct vnode *n, const char *name, void *value, size_t size);
ssize_t vnode_listxattr(struct vnode *n, char *list, size_t size);
int vnode_setxattr(struct vnode *n, const char *name, const void *value, size_t size, int flags);
int vnode_removexattr(struct vnode *n, const char *name);

#endif
