/* fs_data.h - what the two files of the data adapter share (fs_data.c: views, the data
 * inode table, names and attributes; fs_data_io.c: open files, directories, statfs,
 * xattrs). The data adapter serves every inode below a TREE_DATA node (a PV's data/, a
 * pod container's mount point) from the volume backend (volume.h), passthrough style.
 *
 * Views. Each TREE_DATA node the kernel looks up is a view: (volume, subPath, read-only),
 * identified by the node's tree inode number and owned by its object (the PV or the pod).
 * Each view has its own fuse inodes (FS_INO_DATA | n), one per backing inode it reached
 * (dnode), so a read-only mount and a writable view of the same file differ in what they
 * allow. The dnodes of one backing inode in different views are peers: a change made
 * through one invalidates the others' attributes and page cache before the reply (and
 * their entries after it), so every view shows the same bytes. A view dies when its object
 * goes (fs_data_obj_changed) or its volume is deleted or scrubbed: its inodes answer
 * ESTALE when the view's path leads to something now, which makes the kernel look the
 * path up again and find the new view, and ENOENT when it names nothing or the kernel
 * looked the inode up within this syscall (dn_gone, as the tree's fs_gone: ESTALE must
 * never reach a caller). Open files and directories of a dead view go on: reads read the
 * open file, fstat describes it, getdents goes on listing the open stream. A view
 * lives while the kernel knows one of its inodes; the next lookup makes it again.
 *
 * Locking: the data lock (struct fs_data.lock) guards the tables, every view's and
 * dnode's counters and links. It is taken alone or under the cluster lock (the watch
 * callback), never while calling into volume.h, replying or notifying. I/O on an open
 * file takes no lock at all (the handle holds its dnode); volume.h has its own locks.
 * st_ino: a view's root shows the TREE_DATA node's inode number (what its parent lists);
 * other inodes a hash of (view, backing inode) with the two top bits set, so they never
 * meet the tree's numbers and stay stable while the view lives. */
#ifndef CLAIMFS_FS_DATA_H
#define CLAIMFS_FS_DATA_H

#include <dirent.h>
#include "claimfs/volume.h"
#include "fs_internal.h"

struct dview {
	uint64_t id;	     /* the TREE_DATA node's inode number; st_ino of the root */
	uint64_t owner;	     /* store id of the PV or pod it belongs to */
	char *volume;	     /* PV name; owned */
	char *subpath;	     /* subPath; owned, NULL for the root */
	int ro;		     /* read-only mount: writes EROFS */
	uint64_t parent;     /* the tree directory the kernel found it in (dn_gone) */
	char *name;	     /* its name there; owned */
	struct volume *vol;  /* a reference */
	struct vnode *root;  /* a reference */
	ino_t root_ino;	     /* its backing inode number */
	int dead;	     /* atomic: its object or its volume went */
	int listed;	     /* in the id and owner tables (data lock) */
	unsigned refs;	     /* its dnodes and the ops making it (data lock) */
	struct dview *hnext; /* chain by id */
	struct dview *onext; /* chain by owner */
};

struct dpeers {
	const struct vnode *vn; /* the backing inode (key) */
	unsigned n;		/* dnodes of it (atomic reads, data lock writes) */
	struct dnode *first;	/* their list */
	struct dpeers *next;	/* hash chain */
};

struct dnode {
	uint64_t ino;	      /* fuse node id: FS_INO_DATA | n, never reused */
	struct dview *view;   /* its view (counted in view->refs) */
	struct vnode *vn;     /* a reference */
	struct dpeers *peers; /* the dnodes of vn in every view */
	uint64_t nlookup;     /* the kernel's references (data lock) */
	int64_t looked_ms;    /* fs_mono_ms of its last lookup (atomic; dn_gone) */
	unsigned cached;      /* open handles that use the page cache (atomic) */
	unsigned refs;	      /* ops in flight and open handles (data lock) */
	struct dnode *inext;  /* chain by ino */
	struct dnode *knext;  /* chain by (view, vnode) */
	struct dnode *pnext;  /* peers list */
};

struct fs_data {
	struct fs *fs;
	struct volumes *vs;   /* the cluster's volume registry */
	pthread_mutex_t lock; /* the data lock */
	uint64_t next_ino;    /* node ids handed out */
	struct dnode **itab;  /* by ino */
	struct dnode **ktab;  /* by (view, vnode) */
	size_t nb, count;     /* buckets of both (power of two), dnodes */
	struct dpeers **ptab; /* by vnode */
	size_t pnb, pcount;
	struct dview **vtab; /* by id */
	struct dview **otab; /* by owner */
	size_t vnb;	     /* buckets of both */
	int64_t estale_ms;   /* atomic: fs_mono_ms of dn_gone's last ESTALE */
	size_t vcount;	     /* listed views; written with the data lock as an atomic store,
				read without it (fs_data_obj_changed's fast path) */
};

/* An open data file or directory. */
struct dfile {
	unsigned sync;	      /* fs_fh_enter/fs_fh_leave (fs_internal.h) */
	struct dnode *dn;     /* its node (one of dn->refs) */
	int fd;		      /* backing descriptor (vnode_open) */
	int writable;	      /* opened for writing */
	int direct;	      /* direct_io: writes do not go through the page cache */
	int cached;	      /* counted in dn->cached */
	pthread_mutex_t lock; /* directory stream state */
	DIR *dp;	      /* directories: the stream over fd */
	off_t offset;	      /* its position (a d_off cookie) */
	struct dirent *entry; /* read but not yet sent */
};

/* ---- fs_data.c ---- */

/* The dnode of ino with one more op reference, or NULL (-ESTALE for the caller). */
struct dnode *dn_get(struct fs_data *d, uint64_t ino);
void dn_put(struct fs_data *d, struct dnode *dn);
/* 0, or -ESTALE when the node's view or volume died. */
int dn_alive(const struct dnode *dn);
/* What a node whose view died answers (fs_gone on where its view was entered): -ENOENT
 * when the view's path names nothing now, or when the node was looked up after an ESTALE
 * of the last FS_FRESH_LOOKUP_MS (the VFS's one retry walks to a new view, so meeting a
 * dead one again means it died within this syscall too); -ESTALE when the path may lead
 * to a new view (the VFS walks it again). Takes the cluster lock: only on that failure,
 * with no lock of the data adapter held. */
int dn_gone(struct fs *fs, const struct dnode *dn);
/* The dnode of ino for an op, alive, with one more op reference: 0, or dn_gone's answer
 * (-ESTALE when the kernel's node is unknown). */
int dn_get_alive(struct fs_data *d, uint64_t ino, struct dnode **out);
/* The dnode of vn (a reference, taken over) in view v, with one more kernel reference. */
struct dnode *dn_child(struct fs_data *d, struct dview *v, struct vnode *vn);
/* Drops n kernel references (a FORGET, or a reply that did not reach the kernel). */
void dn_forget(struct fs_data *d, uint64_t ino, uint64_t n);
/* st with st_ino as the view shows it. */
void dn_attr(const struct dnode *dn, struct stat *st);
/* The st_ino view v shows for backing inode number ino. */
uint64_t dv_ino(const struct dview *v, uint64_t ino);
/* The entry of child for a reply (attributes from st, timeouts). */
void dn_entry(struct fs *fs, const struct dnode *child, const struct stat *st,
	      struct fuse_entry_param *e);
/* Cache lifetime of data entries and attributes (0 with --no-cache). */
double dn_ttl(const struct fs *fs);

/* Keeping the other views coherent around a change made through dn. */
struct dsync {
	struct fs_op op; /* begun only when there are peers */
	int on;		 /* op begun */
	int holds_dir;	 /* the kernel holds a directory lock for this request */
};
void ds_init(struct dsync *s, int holds_dir);
/* The peers of dn (in other views) lose their attributes and cached pages; with name,
 * also their entry name (dn is then a directory). */
void ds_add(struct fs_data *d, struct dsync *s, struct dnode *dn, const char *name);
/* Every dnode of vn (NULL: none) loses its attributes and cached pages. */
void ds_add_vn(struct fs_data *d, struct dsync *s, const struct vnode *vn);
/* dn itself loses its cached pages too (a write that went around them). */
void ds_self(struct fs_data *d, struct dsync *s, struct dnode *dn);
void ds_before_reply(struct fs *fs, struct dsync *s);
void ds_after_reply(struct fs *fs, struct dsync *s);

/* The edge: a negative errno (or 0) becomes the reply. */
void data_reply_err(fuse_req_t req, int rc);

#endif
