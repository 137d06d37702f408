/* fs_attr.c - attributes (struct stat) of tree nodes and the kernel cache policy: which
 * entries and attributes the kernel may keep, and for how long.
 *
 * Policy (safe because fs_notify.c invalidates explicitly, before the reply of the op
 * that made the change):
 *  - attributes of TREE_OWN nodes (files up to one page, symlinks, directories), of
 *    objects' directories (mode, size and mtime are the object's: invalidated with it)
 *    and of kind directories (TREE_CREATE/TREE_MKDIR: invalidated when an object of the
 *    kind changes, fs_notify.c) live FS_TTL_LONG; everything else 0 (rendered at each
 *    stat);
 *  - entries live FS_TTL_LONG when the child is TREE_OWN or a kind directory, when the
 *    directory is TREE_OWN/TREE_CREATE/TREE_MKDIR, or for the root's fixed files (they
 *    always exist); else 0. Removed objects' entries are invalidated; a stale entry that
 *    is still used answers ESTALE (fs_ops.c), which makes the VFS walk the path again.
 *  - attributes of a file that open cached handles of an older version still read
 *    (fs_nodes.c, page cache versions) are never kept, and a GETATTR through such a handle
 *    answers its snapshot's size: the kernel checks i_size before it reads the page cache;
 *  - --no-cache: every timeout 0.
 * st_nlink of a directory is 1 ("unknown number of subdirectories", as btrfs does), so
 * find(1) and fts never skip subdirectories by link count. */
#include <errno.h>
#include <string.h>
#include "fs_internal.h"

static int is_kind_dir(const struct tree_node *tn)
{
	return tn->type == TREE_DIR && (tn->flags & (TREE_CREATE | TREE_MKDIR));
}

static double attr_timeout(const struct fs *fs, const struct tree_node *tn,
			   const struct fs_rendered *r)
{
	size_t size = r->size;
	if (fs->no_cache || r->cached_other)
		return 0;
	switch (tn->type) {
	case TREE_DIR:
		return (tn->flags & TREE_OWN) || is_kind_dir(tn) || r->own_attr ? FS_TTL_LONG : 0;
	case TREE_LINK:
		return (tn->flags & TREE_OWN) ? FS_TTL_LONG : 0;
	case TREE_FILE:
		return (tn->flags & TREE_OWN) && !(tn->flags & TREE_LOG) &&
			       size <= FS_KEEP_CACHE_MAX
			   ? FS_TTL_LONG
			   : 0;
	}
	return 0;
}

static double entry_timeout(const struct fs *fs, const struct tree_node *dir,
			    const struct tree_node *tn)
{
	if (fs->no_cache)
		return 0;
	if ((tn->flags & TREE_OWN) || is_kind_dir(tn))
		return FS_TTL_LONG;
	if (dir && (dir->flags & (TREE_OWN | TREE_CREATE | TREE_MKDIR)))
		return FS_TTL_LONG;
	if (dir && dir->ino == 1 && tn->type == TREE_FILE)
		return FS_TTL_LONG;
	return 0;
}

static void fill(const struct fs *fs, const struct tree_node *tn, const struct fs_rendered *r,
		 struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = tn->ino;
	switch (tn->type) {
	case TREE_DIR:
		st->st_mode = S_IFDIR | (tn->mode & 07777);
		break;
	case TREE_LINK:
		st->st_mode = S_IFLNK | 0777;
		st->st_size = (off_t)r->size;
		break;
	case TREE_FILE:
		st->st_mode = S_IFREG | (tn->mode & 07777);
		st->st_size = (off_t)r->size;
		break;
	}
	st->st_nlink = 1;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((st->st_size + 511) / 512);
	st->st_mtim.tv_sec = r->mtime_ms / 1000;
	st->st_mtim.tv_nsec = (r->mtime_ms % 1000) * 1000000;
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
}

void fs_attr_temp(struct fs *fs, uint64_t ino, size_t size, struct stat *st)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = S_IFREG | 0644;
	st->st_nlink = 1;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_size = (off_t)size;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
	st->st_mtim = st->st_ctim = st->st_atim = now;
}

int fs_attr_get(struct fs *fs, const struct fs_node_info *ni, struct stat *st, double *attr_to)
{
	struct fs_rendered r;
	if (ni->temp) {
		fs_attr_temp(fs, ni->tn.ino, 0, st);
		*attr_to = 0;
		return 0;
	}
	int rc = fs_nodes_render(fs, &ni->tn, FS_RENDER_ATTR, &r);
	if (rc < 0)
		return rc;
	fill(fs, &ni->tn, &r, st);
	*attr_to = attr_timeout(fs, &ni->tn, &r);
	return 0;
}

int fs_attr_get_open(struct fs *fs, const struct fs_handle *h, struct stat *st, double *attr_to)
{
	struct fs_rendered r;
	int rc = fs_nodes_render(fs, &h->ni.tn, FS_RENDER_ATTR, &r);
	if (rc < 0)
		return rc;
	fill(fs, &h->ni.tn, &r, st);
	*attr_to = attr_timeout(fs, &h->ni.tn, &r);
	if (h->cached && h->snap && h->snap->hash != r.hash) {
		st->st_size = (off_t)h->snap->len;
		st->st_blocks = (blkcnt_t)((st->st_size + 511) / 512);
		*attr_to = 0;
		fs_nodes_told(fs->nodes, h->ino, h->snap->hash);
	}
	return 0;
}

int fs_attr_entry(struct fs *fs, const struct tree_node *dir, const struct tree_node *tn,
		  struct fuse_entry_param *e)
{
	struct fs_rendered r;
	int rc = fs_nodes_render(fs, tn, FS_RENDER_ATTR, &r);
	if (rc < 0)
		return rc;
	memset(e, 0, sizeof(*e));
	e->ino = tn->ino;
	e->generation = 0; /* inode numbers are never reused during a mount */
	fill(fs, tn, &r, &e->attr);
	e->attr_timeout = attr_timeout(fs, tn, &r);
	e->entry_timeout = entry_timeout(fs, dir, tn);
	return 0;
}

int fs_attr_dir_cacheable(const struct fs *fs, const struct tree_node *dir)
{
	return !fs->no_cache && (dir->flags & (TREE_OWN | TREE_CREATE | TREE_MKDIR));
}
