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

/* The descriptor cache: every vnode's O_PATH descriptor counts against a budget (a part of
 * RLIMIT_NOFILE); past it the least recently used descriptors of idle vnodes are closed,
 * and opened again through the parent's by name, checked against the inode number, when
 * they are needed (-ESTALE when that name no longer leads to it). So browsing thousands
 * of volumes or a tree of millions of files never runs the daemon out of descriptors. */
struct fdcache {
	pthread_mutex_t lock;	   /* the fd lock: the list, the count; a leaf */
	struct vnode *head, *tail; /* vnodes holding a descriptor, most recent first */
	size_t open;		   /* descriptors held */
	size_t budget;		   /* most descriptors vnodes may hold */
};

struct volumes {
	pthread_mutex_t lock; /* the registry lock: everything below but the fds */
	struct fdcache fds;   /* vnode descriptors of every volume (its own lock) */
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
	ino_t root_ino;	    /* inode of its root directory (the vnode without parent); READY */
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
	struct volume *vol;   /* its volume (a reference) */
	ino_t ino;	      /* immutable */
	mode_t type;	      /* S_IFMT bits; immutable */
	struct vnode *parent; /* where it was last found (a reference); NULL: the root */
	char *name;	      /* its name there; owned; NULL for the root */
	int lost;	      /* that name went (unlinked, replaced): it cannot be reopened */
	int unlinked;	      /* its last name went: the cache must not keep its blocks */
	int fd;		      /* O_PATH descriptor, -1 while evicted; volume lock */
	unsigned uses;	      /* callers using fd now (vn_acquire): it stays open */
	unsigned refs;	      /* users, + 1 while it holds fd; volume lock */
	unsigned nopen;	      /* open descriptors (vnode_open/create); volume lock */
	int64_t charged;      /* bytes of this inode counted in vol->used; volume lock */
	struct vnode *next;   /* hash chain; volume lock */
	struct vnode *lprev;  /* descriptor cache list; fd lock */
	struct vnode *lnext;
	int in_lru; /* in that list; fd lock */
};

/* ---- accounting (account.c) ---- */

/* Reserves bytes in v's usage when they fit under the capacity: 0 or -ENOSPC. */
int vol_reserve(struct volume *v, int64_t bytes);
/* Adds delta (may be negative) to v's usage. */
void vol_charge(struct volume *v, int64_t delta);
/* Sets n's charge to the blocks st says it has now (volume lock held). */
void vn_charge_locked(struct vnode *n, const struct stat *st);
/* Refreshes n's charge from an fstat of fd (n's own when fd < 0); takes the volume lock. */
void vn_recharge(struct vnode *n, int fd);
/* Bytes of the blocks st has. */
int64_t vol_blocks_bytes(const struct stat *st);

/* ---- the vnode table and the descriptor cache (vtable.c) ---- */

/* The vnode of the inode open as fd (an O_PATH descriptor, stolen) with attributes st,
 * found as name in parent (NULL, NULL: the volume's root): the existing one of that inode
 * (it remembers this place now) or a new one; fresh: a new inode, not in the usage yet,
 * charged now. A reference. */
struct vnode *vn_intern(struct volume *v, int fd, const struct stat *st, int fresh,
			struct vnode *parent, const char *name);
/* The root directory's vnode of a READY volume (a reference). */
struct vnode *vn_top(struct volume *v);
/* n's descriptor, opened again when it was evicted; it stays open until vn_release.
 * -ESTALE when the inode cannot be found again by its name. */
int vn_acquire(struct vnode *n);
void vn_release(struct vnode *n);
/* Volume lock held: the vnode of inode ino, or NULL. */
struct vnode *vn_find_locked(struct volume *v, ino_t ino);
/* Volume lock held: n is now called name in parent; *old gets the parent to put after
 * unlocking (or NULL). */
void vn_move_locked(struct vnode *n, struct vnode *parent, const char *name, struct vnode **old);
/* Closes descriptors of idle vnodes until the cache is within its budget. No lock held. */
void vn_evict(struct volumes *vs);
/* Frees the vnode table of an incarnation whose last reference went. */
void vn_table_free(struct volume *v);
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
