/* volume_internal.h - what the files of src/volume share: the registry, a volume
 * incarnation and its vnode table, the accounting primitives and the fd-based tree walks.
 * The lock of each field is written next to it (volume.h has the lock design). */
#ifndef CLAIMFS_VOLUME_INTERNAL_H
#define CLAIMFS_VOLUME_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include "claimfs/volume.h"

#define VOLUMES_DIR "volumes"
#define TRASH_DIR ".trash"

/* One PersistentVolume name the registry knows. */
struct ventry {
	char *name;	       /* PV name; owned */
	int64_t capacity;      /* bytes, -1: no PV of that name (kept only while active) */
	struct volume *active; /* the live incarnation (a reference), or NULL */
	struct ventry *next;   /* hash chain */
};

struct volumes {
	pthread_mutex_t lock; /* the registry lock: everything below but the fds */
	int dirfd;	      /* <state>/volumes, O_PATH|O_DIRECTORY; read-only after open */
	int trashfd;	      /* <state>/volumes/.trash, O_PATH|O_DIRECTORY; same */
	struct ventry **tab;  /* entries by name */
	size_t nb, count;     /* buckets (power of two), entries */
	uint64_t trash_seq;   /* names handed out in the trash */
	pthread_t remover;    /* removes the trash's content */
	pthread_cond_t work;  /* remover: something was put in the trash, or stop */
	pthread_cond_t idle;  /* volumes_wait_idle: the trash is empty */
	int remover_started;  /* the thread exists */
	int pending;	      /* renames into the trash not yet removed */
	int busy;	      /* the remover is working */
	int stopping;	      /* volumes_close */
};

/* Activation state of an incarnation. */
enum vstate { V_LOADING, V_READY, V_FAILED };

struct volume {
	struct volumes *vs; /* its registry (outlives it) */
	char *name;	    /* PV name; owned, immutable */
	unsigned refs;	    /* atomic */
	int dead;	    /* atomic: deleted or scrubbed */
	int64_t capacity;   /* atomic: bytes */
	int64_t used;	    /* atomic: charged bytes + reservations in flight */
	int64_t bsize;	    /* block size of the backing file system; immutable once READY */
	int dirfd;	    /* the volume's root, O_PATH|O_DIRECTORY; immutable once READY */
	int entry_synced;   /* atomic: its name in volumes/ was fsynced */
	/* activation (init lock) */
	pthread_mutex_t init_lock;
	pthread_cond_t init_cond;
	enum vstate state;
	int init_err;		    /* -errno when FAILED */
	char init_msg[CFS_ERR_MAX]; /* its reason */
	pthread_mutex_t ns_lock;    /* the namespace lock */
	pthread_mutex_t lock;	    /* the volume lock: the vnode table and vnode fields */
	struct vnode **tab;	    /* vnodes by inode number */
	size_t nb, count;	    /* buckets (power of two), vnodes */
};

struct vnode {
	struct volume *vol; /* its volume (a reference) */
	int fd;		    /* O_PATH descriptor of the inode; immutable */
	ino_t ino;	    /* immutable */
	mode_t type;	    /* S_IFMT bits; immutable */
	unsigned refs;	    /* volume lock */
	unsigned nopen;	    /* open descriptors (vnode_open/create); volume lock */
	int64_t charged;    /* bytes of this inode counted in vol->used; volume lock */
	struct vnode *next; /* hash chain; volume lock */
};

/* ---- accounting (account.c) ---- */

/* Reserves bytes in v's usage when they fit under the capacity: 0 or -ENOSPC. */
int vol_reserve(struct volume *v, int64_t bytes);
/* Adds delta (may be negative) to v's usage. */
void vol_charge(struct volume *v, int64_t delta);
/* Sets n's charge to the blocks st says it has now (volume lock held). */
void vn_charge_locked(struct vnode *n, const struct stat *st);
/* Refreshes n's charge from an fstat of fd (n->fd when fd < 0); takes the volume lock. */
void vn_recharge(struct vnode *n, int fd);
/* Bytes of the blocks st has. */
int64_t vol_blocks_bytes(const struct stat *st);

/* ---- vnodes (vnode.c) ---- */

/* The vnode of the inode open as fd (an O_PATH descriptor, stolen) with attributes st:
 * the existing one of that inode (fd closed) or a new one charged st's blocks. */
struct vnode *vn_intern(struct volume *v, int fd, const struct stat *st);
/* The vnode of inode ino if one exists (a reference), else NULL. */
struct vnode *vn_find(struct volume *v, ino_t ino);
/* Opens one name below dirfd as openat2 with the path rules (O_PATH|O_NOFOLLOW unless
 * flags say otherwise): -errno. */
int vn_openat(int dirfd, const char *name, int flags, mode_t mode);
/* "/proc/self/fd/N" of fd into buf (>= 32 bytes). */
void vn_proc_path(int fd, char *buf, size_t len);

/* ---- walks (walk.c): descriptor-based, never following a symlink ---- */

/* Bytes of the blocks of every inode below and including the directory dirfd (hardlinks
 * once): 0 with *bytes, or -errno. */
int walk_usage(int top, int64_t *bytes);
/* Removes name in dirfd and everything below it (rm -rf without following symlinks);
 * stops early (-EINTR) when *stop becomes non-zero. Depth costs no descriptors. */
int walk_remove(int top, const char *name, const int *stop);

/* ---- registry (registry.c) ---- */

/* Frees an incarnation whose last reference went. */
void volume_free(struct volume *v);

#endif
