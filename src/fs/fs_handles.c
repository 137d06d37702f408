/* fs_handles.c - open files and directories: the snapshot a read handle serves (rendered
 * whole at open, so a read never mixes two versions), the growing buffer and cursor of a
 * log handle (each read past its end renders the events added since: tail -f; a read
 * that goes back below what it has read starts the handle over, as a fresh open), the
 * write buffer of a manifest sink (applied at flush by fs_ops.c) and the listing of an
 * open directory. Every handle is also on fs_nodes' list from open to release.
 *
 * Locking: struct fs_handle.lock serialises the ops on one handle; it is taken before the
 * cluster lock (log refresh, listing), never under it. The poller inside belongs to
 * fs_notify.c (notify lock).
 * Complexity: reads O(bytes read); a log refresh O(events added since the cursor). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/manifest.h"
#include "fs_internal.h"

/* A log handle keeps at most this much already-read text before dropping it. */
#define LOG_KEEP_READ (1u << 20)

struct fs_handle *fs_handle_new(enum fs_hkind kind, uint64_t ino, const struct fs_node_info *ni)
{
	struct fs_handle *h = xcalloc(1, sizeof(*h));
	h->kind = kind;
	h->ino = ino;
	h->opener = fs_caller;
	pthread_mutex_init(&h->lock, NULL);
	tree_node_copy(&h->ni.tn, &ni->tn);
	h->ni.parent = ni->parent;
	h->ni.name = ni->name ? xstrdup(ni->name) : NULL;
	h->ni.temp = ni->temp;
	sb_init(&h->log);
	sb_init(&h->wbuf);
	return h;
}

void fs_handle_free(struct fs_handle *h)
{
	if (!h)
		return;
	fs_node_info_release(&h->ni);
	free(h->filename);
	fs_blob_unref(h->snap);
	sb_release(&h->log);
	sb_release(&h->wbuf);
	fs_handle_clear(h);
	free(h->poller.path);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

int fs_handle_log_refresh(struct fs *fs, struct fs_handle *h)
{
	cluster_lock(fs->cl);
	tree_read(fs->cl, &h->ni.tn, &h->log, &h->cursor);
	cluster_unlock(fs->cl);
	return h->log_base + h->log.len > h->read_end;
}

uint64_t fs_handle_log_size(struct fs *fs, struct fs_handle *h)
{
	pthread_mutex_lock(&h->lock);
	fs_handle_log_refresh(fs, h);
	uint64_t end = h->log_base + h->log.len;
	pthread_mutex_unlock(&h->lock);
	return end;
}

/* The reader went back below what it has read: tail -f does that when the file shrank
 * (the log dropped its oldest quarter: "file truncated", then it reads from 0 again), and
 * the handle may have dropped that text already (log_trim). Start over as a fresh open:
 * the kept history from its first line, then what comes. Lines read before may come
 * again; none is missed. O(kept events). */
static void log_restart(struct fs *fs, struct fs_handle *h)
{
	h->log.len = 0;
	if (h->log.buf)
		h->log.buf[0] = '\0';
	h->log_base = 0;
	h->cursor = 0;
	h->read_end = 0;
	fs_handle_log_refresh(fs, h);
}

/* Drops text the reader has already read, so a long tail -f does not grow forever. */
static void log_trim(struct fs_handle *h)
{
	uint64_t seen = h->read_end > h->log_base ? h->read_end - h->log_base : 0;
	if (seen < LOG_KEEP_READ || seen > h->log.len)
		return;
	memmove(h->log.buf, h->log.buf + seen, h->log.len - seen);
	h->log.len -= seen;
	h->log.buf[h->log.len] = '\0';
	h->log_base += seen;
}

static size_t copy_range(const char *data, size_t len, off_t off, size_t size, char *dst)
{
	if (off < 0 || (uint64_t)off >= len)
		return 0;
	size_t n = len - (size_t)off;
	if (n > size)
		n = size;
	memcpy(dst, data + off, n);
	return n;
}

size_t fs_handle_read(struct fs *fs, struct fs_handle *h, off_t off, size_t size, char *dst)
{
	size_t n;
	switch (h->kind) {
	case FS_H_LOG:
		if ((uint64_t)off < h->read_end)
			log_restart(fs, h);
		else if ((uint64_t)off + size > h->log_base + h->log.len)
			fs_handle_log_refresh(fs, h);
		if ((uint64_t)off < h->log_base)
			return 0; /* not reached: a restarted log starts at 0 */
		n = copy_range(h->log.buf ? h->log.buf : "", h->log.len,
			       (off_t)((uint64_t)off - h->log_base), size, dst);
		h->read_end = (uint64_t)off + n;
		log_trim(h);
		return n;
	case FS_H_DIR:
		return 0;
	default:
		if (!h->snap)
			return 0;
		return copy_range(h->snap->data, h->snap->len, off, size, dst);
	}
}

int fs_handle_write(struct fs_handle *h, const char *buf, size_t size, off_t off)
{
	if (off < 0)
		return -EINVAL;
	uint64_t end = (uint64_t)off + size;
	if (end > MANIFEST_MAX_BYTES) {
		if (end > h->too_big)
			h->too_big = end;
		h->dirty = 1;
		return -EFBIG;
	}
	if (end > h->wbuf.len) {
		size_t old = h->wbuf.len;
		sb_grow(&h->wbuf, (size_t)end - old);
		memset(h->wbuf.buf + old, 0, (size_t)end - old);
		h->wbuf.len = (size_t)end;
		h->wbuf.buf[end] = '\0';
	}
	memcpy(h->wbuf.buf + off, buf, size);
	h->dirty = 1;
	return 0;
}

int fs_handle_truncate(struct fs_handle *h, off_t size)
{
	if (size < 0)
		return -EINVAL;
	if ((uint64_t)size > MANIFEST_MAX_BYTES) {
		if ((uint64_t)size > h->too_big)
			h->too_big = (uint64_t)size;
		h->dirty = 1;
		return -EFBIG;
	}
	if ((size_t)size < h->wbuf.len) {
		h->wbuf.len = (size_t)size;
		h->wbuf.buf[size] = '\0';
	} else if ((size_t)size > h->wbuf.len) {
		size_t old = h->wbuf.len;
		sb_grow(&h->wbuf, (size_t)size - old);
		memset(h->wbuf.buf + old, 0, (size_t)size - old);
		h->wbuf.len = (size_t)size;
		h->wbuf.buf[size] = '\0';
	}
	/* Truncating to nothing right after open (O_TRUNC) is not a manifest yet. */
	if (h->wbuf.len)
		h->dirty = 1;
	return 0;
}

struct list_ctx {
	struct fs_handle *h;
	size_t cap;
};

static int list_fill(void *ctx, const char *name, const struct tree_node *node)
{
	struct list_ctx *lc = ctx;
	struct fs_handle *h = lc->h;
	if (h->nents == lc->cap) {
		lc->cap = lc->cap ? lc->cap * 2 : 32;
		h->ents = xrealloc(h->ents, lc->cap * sizeof(*h->ents));
	}
	h->ents[h->nents].name = xstrdup(name);
	tree_node_copy(&h->ents[h->nents].tn, node);
	h->nents++;
	return 0;
}

void fs_handle_clear(struct fs_handle *h)
{
	size_t i;
	for (i = 0; i < h->nents; i++) {
		free(h->ents[i].name);
		tree_node_release(&h->ents[i].tn);
	}
	free(h->ents);
	h->ents = NULL;
	h->nents = 0;
}

int fs_handle_list(struct fs *fs, struct fs_handle *h)
{
	fs_handle_clear(h);
	struct list_ctx lc = {h, 0};
	return tree_readdir(fs->cl, &h->ni.tn, list_fill, &lc);
}
