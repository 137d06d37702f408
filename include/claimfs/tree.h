/* tree.h - the tree every user sees (the ABI of DESIGN.md) as a FUSE-free model: which
 * paths exist, what each file shows, and what writing, creating, mkdir, rmdir and unlink
 * do. The FUSE adapter (src/fs) maps kernel requests onto this API and adds caching and
 * invalidation; Check suites drive it directly, without a mount.
 *
 * Nodes. A struct tree_node names one path (a directory, a regular file or a symlink) by
 * value: its inode number, type, mode, caching flags and, privately, which table entry it
 * is and which object it belongs to (kind, namespace, name and the object's id, so that a
 * node of a deleted-and-recreated object no longer resolves). A node owns its strings:
 * copy with tree_node_copy(), free with tree_node_release().
 *
 * Inode numbers are stable for the life of what the node names (an object's files keep
 * their numbers while the object lives; a recreated object gets new ones) and never name
 * two things during one mount.
 *
 * Attribute files are tables of {name, mode, flags, show, store} per kind (src/tree),
 * not chains of strcmp. Every file and directory of the tree is documented in README.md.
 *
 * Locking: functions marked LOCKED need the cluster lock held by the caller; UNLOCKED
 * ones take it themselves (they call cluster_apply/patch/delete, which also wait for the
 * journal's fsync) and must be called without it.
 * Errors: 0 or a negative errno, with the reason in err where there is one (error.h). */
#ifndef CLAIMFS_TREE_H
#define CLAIMFS_TREE_H

#include <stdint.h>
#include <stddef.h>
#include "claimfs/cluster.h"
#include "claimfs/error.h"
#include "claimfs/strbuf.h"

enum tree_type {
	TREE_DIR,  /* a directory */
	TREE_FILE, /* a regular file */
	TREE_LINK, /* a relative symlink */
};

/* tree_node.flags: what the node accepts and how the adapter may cache it. */
#define TREE_OWN                                                                                   \
	0x01 /* content (and, for a directory, its listing) is a function of its                   \
		own object's JSON alone: cacheable until that object changes */
#define TREE_LOG                                                                                   \
	0x02		/* a growing log (/events, <object>/events): pollable; a handle            \
			   reads what was added since it last read */
#define TREE_STORE 0x04 /* a writable attribute: each write(2) is stored at once (sysfs) */
#define TREE_APPLY 0x08 /* a manifest sink (/apply, manifest.yaml): applied at close */
#define TREE_CREATE                                                                                \
	0x10		/* a directory that accepts new <name>.yaml|.yml|.json files,              \
			   applied at close, and rmdir of its object directories */
#define TREE_MKDIR 0x20 /* a directory where mkdir creates an object (namespaces/) */
#define TREE_DATA                                                                                  \
	0x40 /* a directory the adapter serves from the volume backend                             \
		(volume.h): a PV's data/ or a pod container's mount point. The                     \
		node names the volume (volume, subpath); the tree has no entries                   \
		below it */
#define TREE_RDONLY                                                                                \
	0x80 /* with TREE_DATA: a read-only mount (volumeMounts readOnly, a                        \
		read-only claim source, a ReadOnlyMany claim): writes EROFS */
#define TREE_CLOCK                                                                                 \
	0x100 /* content depends on the clock (the AGE cells of .table and                         \
		 .table-wide): a rendering holds for the second it was made in                     \
		 only, and its mtime is tree_mtime's, not when its text changed */

struct tree_node {
	uint64_t ino;	     /* inode number (see above); 1 is the root */
	enum tree_type type; /* directory, file or symlink */
	unsigned mode;	     /* permission bits: 0555 dirs, 0444 read-only, 0644, 0200 */
	unsigned flags;	     /* TREE_* */
	/* private to src/tree */
	int role;		 /* which table entry */
	const struct kind *kind; /* the kind of the object or of the kind directory */
	uint64_t obj_id;	 /* the object's store id; 0 when none */
	char *ns;		 /* object or kind-directory namespace; owned, may be NULL */
	char *name;		 /* object name; owned, may be NULL */
	char *sub;		 /* variable part (volume name, ordinal, ...); owned, may be NULL */
	/* TREE_DATA only (read by the adapter): */
	char *volume;  /* the PersistentVolume's name (volume.h's key); owned */
	char *subpath; /* the mount's subPath in it; NULL: its root; owned */
};

/* The root directory. */
void tree_root(struct tree_node *out);
void tree_node_copy(struct tree_node *dst, const struct tree_node *src);
void tree_node_release(struct tree_node *n);

/* The child `name` of directory dir: 0 with *out filled, -ENOENT, -ENOTDIR. LOCKED.
 * A TREE_DATA directory has no children in the tree (-ENOENT): the adapter serves it. */
int tree_lookup(struct cluster *cl, const struct tree_node *dir, const char *name,
		struct tree_node *out);
/* Does node still name the same thing (its object exists with the same id)? 0, or
 * -ENOENT when it is gone (the adapter answers ESTALE/ENOENT). LOCKED. */
int tree_revalidate(struct cluster *cl, const struct tree_node *node);

/* Lists dir: fill() is called for every entry except "." and "..", in a stable order
 * (hidden files such as .table included); a non-zero return from fill stops the listing.
 * The node passed to fill is borrowed for the call. LOCKED. */
typedef int (*tree_fill_fn)(void *ctx, const char *name, const struct tree_node *node);
int tree_readdir(struct cluster *cl, const struct tree_node *dir, tree_fill_fn fill, void *ctx);

/* Appends the whole content of a file, or the target of a symlink, to out. For TREE_LOG
 * files, appends the lines with sequence > *cursor and advances *cursor (cursor may be
 * NULL: everything kept). Write-only files (/apply) render as empty. LOCKED. */
int tree_read(struct cluster *cl, const struct tree_node *node, struct strbuf *out,
	      uint64_t *cursor);
/* The wall-clock ms of the last change of what node shows, as far as the model knows it
 * without rendering: the object's last change for its own files, the last change of any
 * object of the kind (in the namespace) for a kind directory and its tables, the last
 * event for logs, the cluster's last change for global files. LOCKED. */
int64_t tree_mtime(struct cluster *cl, const struct tree_node *node);

/* Stores a value written into a TREE_STORE attribute (one write(2); a trailing newline
 * and surrounding blanks are ignored). -EINVAL/-ERANGE for a bad value, -ENOSPC,
 * -EPERM, -EACCES for a read-only file. UNLOCKED. */
int tree_store(struct cluster *cl, const struct tree_node *node, const char *buf, size_t len,
	       struct cfs_err *err);
/* Applies a manifest written into a TREE_APPLY file (node) or into a new file `filename`
 * created in a TREE_CREATE directory (node is the directory). All documents or none.
 * -EINVAL, -EEXIST, -ENOENT, -EPERM, -ENOSPC, -EFBIG; the refusal is also reported as a
 * FailedApply event by the cluster. Returns once the change is durable, unless seq is
 * non-NULL: then it does not wait and *seq is the journal record to wait for with
 * cluster_sync_async (0: nothing). UNLOCKED. */
int tree_apply(struct cluster *cl, const struct tree_node *node, const char *filename,
	       const char *buf, size_t len, struct cfs_err *err, int64_t *seq);
/* May a file called name be created in dir (to be applied at close)? 0, -EACCES (dir does
 * not accept files), -EINVAL (not *.yaml, *.yml or *.json), -EEXIST. LOCKED. */
int tree_may_create(struct cluster *cl, const struct tree_node *dir, const char *name,
		    struct cfs_err *err);
/* 1 when name certainly does not resolve in dir and tree_may_create would allow it, known
 * WITHOUT the cluster lock: dir accepts new manifest files, name is one (x.yaml), and no
 * object has such a name (store_manifest_named). 0: ask tree_lookup / tree_may_create.
 * A directory deleted meanwhile is not noticed: the apply at close refuses then. */
int tree_manifest_name_free(struct cluster *cl, const struct tree_node *dir, const char *name);
/* mkdir: creates a namespace in namespaces/ (-EACCES elsewhere). UNLOCKED. */
int tree_mkdir(struct cluster *cl, const struct tree_node *dir, const char *name,
	       struct cfs_err *err);
/* rmdir of an object directory: deletes the object with Kubernetes' semantics. -ENOENT,
 * -EACCES for directories that are not objects. UNLOCKED. */
int tree_rmdir(struct cluster *cl, const struct tree_node *dir, const char *name,
	       struct cfs_err *err);
/* unlink: removing an object's manifest.yaml deletes the object; other files -EACCES.
 * UNLOCKED. */
int tree_unlink(struct cluster *cl, const struct tree_node *dir, const char *name,
		struct cfs_err *err);

/* Cache invalidation support for the adapter. Directories flagged TREE_CREATE or
 * TREE_MKDIR list the objects of one kind: their listing and their entries change only
 * when such an object is created or removed. This returns the inode of the directory that
 * lists objects of kind k in namespace ns (ns NULL for cluster-scoped kinds; for Namespace
 * it is namespaces/), or 0 when there is none. LOCKED. */
uint64_t tree_kind_dir_ino(struct cluster *cl, const struct kind *k, const char *ns);

/* Change feed for tree_mtime and the inode map: the adapter calls these from its
 * cluster_watch callbacks (they do not block and do not take the lock). tree_note_change:
 * obj was created or changed (removed == 0) or is about to be removed (removed == 1);
 * updates the mtime of obj's kind directory and forgets the inode numbers of obj's
 * variable entries once it is removed. tree_note_event: an event about object_path (a
 * path in the mount) was added; updates the mtime of /events and of that object's
 * events file. Without these calls the tree still works: kind directories then report
 * the time the change was first noticed. LOCKED. */
void tree_note_change(struct cluster *cl, const struct object *obj, int removed);
void tree_note_event(struct cluster *cl, const char *object_path);

#endif
