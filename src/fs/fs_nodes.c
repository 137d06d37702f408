/* fs_nodes.c - the inode table: every inode the kernel holds (lookup count > 0) with its
 * tree node, where it was found, and what its last rendering gave (size, hash, refined
 * mtime), plus a bounded LRU of recent renderings so that stat + open + read render once.
 * Two intrusive hash indexes: by inode number (every op) and by object id (invalidation
 * of every inode of a changed object). Also the shared rendered contents (fs_blob).
 *
 * Ghosts: when the kernel forgets a rendered node of a live object, the node stays as a
 * ghost (lookup count 0, no cached content) so that its refined mtime survives the
 * kernel's cache pressure: a file that did not change keeps its mtime when it is looked
 * up again. Ghosts go with their object, and the oldest go beyond GHOSTS_MAX.
 *
 * Clock-dependent files (TREE_CLOCK: a .table's AGE cells) change every second without a
 * change in the cluster: their rendering is reused within the second it was made in only,
 * and their mtime is the model's (tree_mtime), not the time their text last changed.
 *
 * PAGE CACHE VERSIONS. A read handle renders its whole snapshot at open, and small
 * TREE_OWN files (one page) are read through the kernel's page cache so that a warm
 * `cat` of every claim's phase costs no READ. But the page cache is one per inode, shared by every
 * handle that does not use direct_io: had two handles opened at different versions both
 * used it, a reader doing small reads could get the first bytes of one version and the
 * rest of another (the kernel drops pages on invalidation and refills them through
 * whichever handle reads next). So each node records the version (content hash) its page
 * cache may hold (pc_hash, only ever filled through cached handles) and how many cached
 * handles are open (ncached, all of that version), and an open of content hash H:
 *   - ncached > 0 and pc_hash == H: keep_cache (the pages are H's);
 *   - ncached > 0 and pc_hash != H: direct_io (leaves the others' pages alone);
 *   - ncached == 0: keep_cache if pc_hash == H, else no keep_cache: the kernel drops the
 *     inode's pages at open, before the first read; pc_hash becomes H.
 * A handle opened without keep_cache is "fresh" until its first read: until then its open
 * may not have dropped the old pages yet (a concurrent open of the same version can reach
 * the kernel first), so other opens of H are fresh too (pc_fresh). Release gives the
 * handle's claim back; the kernel's forget of the inode (its pages go with it) resets
 * pc_hash. The kernel also trusts its i_size before reading the page cache (it reads
 * no further; a GETATTR only when a read goes past it and the attributes are stale), so
 * i_size must be the cached version's too:
 *   - while cached handles of an older version are open, the node's attributes are not
 *     kept (cached_other) and a GETATTR through such a handle answers its snapshot's
 *     size (fs_attr_get_open), so its reader reads its version to the end;
 *   - the node records the version whose size the kernel was given last (told_hash, by
 *     any attribute reply: GETATTR, LOOKUP, READDIRPLUS), and an open of another
 *     version uses direct_io. The kernel reads the page cache up to its i_size without
 *     asking while its attributes are valid, and an open sees a change as soon as the
 *     cluster lock is let go, before the invalidation of the op that made it reaches the
 *     kernel: a cached reader of the new version would read it cut to the old size (or
 *     padded with zeros). The next stat (or lookup) gives the new size, and the opens
 *     after it use the page cache again.
 * But told_hash is what the daemon answered, not what the kernel took: the kernel drops
 * an attribute reply whose request went out before the inode's last invalidation or
 * attribute update (its attr_version check), keeping the older i_size. While a file
 * changes often (a node's ready flapping), replies are dropped often, and a cached
 * reader read its version cut to another's size (the stress test saw it). So a file
 * that changed less than PC_QUIET_MS ago is read with direct_io: once the invalidation
 * of its last change is in, a reply the kernel takes is of the current version, or the
 * attributes stay invalid and the read asks again (GETATTR through the handle).
 * Writable files (TREE_STORE, TREE_APPLY) never use the page cache (fs_ops.c): their
 * writers move i_size in the kernel (truncation, the end of a write) unseen.
 * Direct_io readers never look at i_size. One limit remains, as the kernel keeps one
 * size per inode: a file quiet for PC_QUIET_MS that changes between a reader's open and
 * its read, while another process's stat(2) of the new version lands in between, can
 * read its version cut to (or padded with NULs up to) the new size (microseconds).
 *
 * Open handles: every handle is on one list (add at open, del at release), so that the
 * handles the kernel never released when the session ends are freed with the table. A
 * request without the handle may pin one found on the list (fs_nodes_pin_log: fstat(2)
 * of an open log file); a handle released while pinned is freed by its last unpin.
 *
 * Locking: one mutex (the nodes lock) guards everything here. It is taken alone or under
 * the cluster lock (fs_nodes_render, the watch callbacks), never the other way round; the
 * only lock taken under it is the notify lock (fs_nodes_obj_changed's callback).
 * Complexity: get/remember/forget O(1) expected; obj_changed O(inodes of the object);
 * render O(size of the file) on a miss, O(1) on a hit. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "claimfs/error.h"
#include "claimfs/fnv.h"
#include "fs_internal.h"

/* LRU of renderings kept for the next open: bounded in bytes and count. */
#define CACHE_MAX_BYTES (32u << 20)
#define CACHE_MAX_BLOBS 16384
#define CACHE_MAX_ONE (8u << 20)
/* A file changed less than this long ago is not read through the page cache. */
#define PC_QUIET_MS 1000
/* Forgotten nodes remembered for their mtime (about 200 bytes each). */
#define GHOSTS_MAX 65536

struct node {
	uint64_t ino;		/* tree_node.ino, or FS_INO_TEMP | n */
	struct tree_node tn;	/* owned copy */
	uint64_t parent;	/* where it was found (0 for the root) */
	char *name;		/* its name there; owned */
	uint64_t nlookup;	/* the kernel's references */
	int64_t looked_ms;	/* CLOCK_MONOTONIC ms of the last lookup (or readdirplus) */
	unsigned temp : 1;	/* a file being created */
	unsigned attr_ok : 1;	/* size/hash/mtime are from a rendering still valid */
	unsigned have_hash : 1; /* hash/size hold a previous rendering (for mtime) */
	unsigned ghost : 1;	/* forgotten by the kernel, kept for its mtime */
	unsigned dead : 1;	/* its object is gone: never becomes a ghost */
	unsigned objdir : 1;	/* an object's directory (found in a kind directory): its
				   attributes are its object's alone */
	unsigned pc_valid : 1;	/* the page cache may hold version pc_hash */
	unsigned pc_fresh : 1;	/* a fresh open of pc_hash may not have dropped old pages */
	unsigned told : 1;	/* the kernel may keep attributes of version told_hash */
	unsigned ncached;	/* open cached handles (all of version pc_hash) */
	uint64_t pc_hash;	/* content hash the page cache may hold */
	uint64_t told_hash;	/* version of the last attributes given to the kernel */
	uint64_t attr_gen;	/* cluster generation of that rendering */
	int64_t attr_sec;	/* TREE_CLOCK: the second of that rendering */
	size_t size;		/* bytes of the last rendering */
	uint64_t hash;		/* its hash */
	int64_t mtime_ms;	/* refined mtime */
	uint64_t inval;		/* invalidations so far (object changes) */
	int64_t inval_ms;	/* CLOCK_MONOTONIC ms of the last one */
	struct fs_blob *blob;	/* cached rendering, in the LRU; may be NULL */
	struct node *lru_prev;	/* LRU links (most recent at the head) */
	struct node *lru_next;
	struct node *gprev; /* ghost list links (oldest at the tail) */
	struct node *gnext;
	struct node *inext; /* chain by inode number */
	struct node *onext; /* chain by object id (only when tn.obj_id != 0) */
};

struct fs_nodes {
	pthread_mutex_t lock;  /* the nodes lock */
	struct node **ib;      /* buckets by inode */
	struct node **ob;      /* buckets by object id */
	size_t nb;	       /* bucket count (power of two, both tables) */
	size_t count;	       /* nodes */
	struct node *lru_head; /* most recently rendered */
	struct node *lru_tail;
	size_t lru_bytes, lru_n;    /* what the LRU holds */
	uint64_t next_temp;	    /* temporary inode numbers handed out */
	struct node *ghead, *gtail; /* ghosts, newest first */
	size_t nghosts;
	struct fs_handle *handles; /* open handles (fs_nodes_handle_add) */
};

/* ---- blobs ---- */

uint64_t fs_hash(const void *data, size_t len)
{
	return fnv64_bytes(FNV64_BASIS, data, len);
}

struct fs_blob *fs_blob_from(struct strbuf *sb, uint64_t cursor)
{
	struct fs_blob *b = xmalloc(sizeof(*b) + sb->len + 1);
	b->refs = 1;
	b->len = sb->len;
	b->cursor = cursor;
	if (sb->len)
		memcpy(b->data, sb->buf, sb->len);
	b->data[sb->len] = '\0';
	b->hash = fs_hash(b->data, b->len);
	sb_release(sb);
	return b;
}

struct fs_blob *fs_blob_ref(struct fs_blob *b)
{
	if (b)
		__atomic_add_fetch(&b->refs, 1, __ATOMIC_RELAXED);
	return b;
}

void fs_blob_unref(struct fs_blob *b)
{
	if (b && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(b);
}

/* ---- table ---- */

static size_t bucket(const struct fs_nodes *t, uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (size_t)key & (t->nb - 1);
}

static struct node *find(struct fs_nodes *t, uint64_t ino)
{
	struct node *n;
	for (n = t->ib[bucket(t, ino)]; n; n = n->inext)
		if (n->ino == ino)
			return n;
	return NULL;
}

static void link_node(struct fs_nodes *t, struct node *n)
{
	size_t b = bucket(t, n->ino);
	n->inext = t->ib[b];
	t->ib[b] = n;
	if (n->tn.obj_id) {
		b = bucket(t, n->tn.obj_id);
		n->onext = t->ob[b];
		t->ob[b] = n;
	}
}

static void grow(struct fs_nodes *t)
{
	struct node **oib = t->ib, *n, *next;
	size_t onb = t->nb, i;
	t->nb *= 2;
	t->ib = xcalloc(t->nb, sizeof(*t->ib));
	free(t->ob);
	t->ob = xcalloc(t->nb, sizeof(*t->ob));
	for (i = 0; i < onb; i++)
		for (n = oib[i]; n; n = next) {
			next = n->inext;
			link_node(t, n);
		}
	free(oib);
}

static void lru_unlink(struct fs_nodes *t, struct node *n)
{
	if (!n->blob)
		return;
	if (n->lru_prev)
		n->lru_prev->lru_next = n->lru_next;
	else
		t->lru_head = n->lru_next;
	if (n->lru_next)
		n->lru_next->lru_prev = n->lru_prev;
	else
		t->lru_tail = n->lru_prev;
	n->lru_prev = n->lru_next = NULL;
	t->lru_bytes -= n->blob->len;
	t->lru_n--;
	fs_blob_unref(n->blob);
	n->blob = NULL;
}

static void lru_push(struct fs_nodes *t, struct node *n, struct fs_blob *b)
{
	lru_unlink(t, n);
	if (b->len > CACHE_MAX_ONE)
		return;
	n->blob = fs_blob_ref(b);
	n->lru_prev = NULL;
	n->lru_next = t->lru_head;
	if (t->lru_head)
		t->lru_head->lru_prev = n;
	else
		t->lru_tail = n;
	t->lru_head = n;
	t->lru_bytes += b->len;
	t->lru_n++;
	while (t->lru_tail && t->lru_tail != n &&
	       (t->lru_bytes > CACHE_MAX_BYTES || t->lru_n > CACHE_MAX_BLOBS))
		lru_unlink(t, t->lru_tail);
}

static void unlink_node(struct fs_nodes *t, struct node *n)
{
	struct node **pp;
	for (pp = &t->ib[bucket(t, n->ino)]; *pp; pp = &(*pp)->inext)
		if (*pp == n) {
			*pp = n->inext;
			break;
		}
	if (n->tn.obj_id)
		for (pp = &t->ob[bucket(t, n->tn.obj_id)]; *pp; pp = &(*pp)->onext)
			if (*pp == n) {
				*pp = n->onext;
				break;
			}
	lru_unlink(t, n);
}

static void free_node(struct node *n)
{
	tree_node_release(&n->tn);
	free(n->name);
	fs_blob_unref(n->blob);
	free(n);
}

static void ghost_unlink(struct fs_nodes *t, struct node *n)
{
	if (!n->ghost)
		return;
	if (n->gprev)
		n->gprev->gnext = n->gnext;
	else
		t->ghead = n->gnext;
	if (n->gnext)
		n->gnext->gprev = n->gprev;
	else
		t->gtail = n->gprev;
	n->gprev = n->gnext = NULL;
	n->ghost = 0;
	t->nghosts--;
}

static void drop(struct fs_nodes *t, struct node *n)
{
	ghost_unlink(t, n);
	unlink_node(t, n);
	t->count--;
	free_node(n);
}

static void make_ghost(struct fs_nodes *t, struct node *n)
{
	lru_unlink(t, n);
	n->ghost = 1;
	n->gprev = NULL;
	n->gnext = t->ghead;
	if (t->ghead)
		t->ghead->gprev = n;
	else
		t->gtail = n;
	t->ghead = n;
	t->nghosts++;
	while (t->nghosts > GHOSTS_MAX)
		drop(t, t->gtail);
}

static struct node *add(struct fs_nodes *t, const struct tree_node *tn, uint64_t ino,
			uint64_t parent, const char *name)
{
	struct node *n = xcalloc(1, sizeof(*n));
	if (tn)
		tree_node_copy(&n->tn, tn);
	n->ino = ino;
	n->parent = parent;
	n->name = name ? xstrdup(name) : NULL;
	if (t->count + 1 > t->nb)
		grow(t);
	link_node(t, n);
	t->count++;
	return n;
}

struct fs_nodes *fs_nodes_new(void)
{
	struct fs_nodes *t = xcalloc(1, sizeof(*t));
	struct tree_node root;
	pthread_mutex_init(&t->lock, NULL);
	t->nb = 1024;
	t->ib = xcalloc(t->nb, sizeof(*t->ib));
	t->ob = xcalloc(t->nb, sizeof(*t->ob));
	tree_root(&root);
	add(t, &root, root.ino, 0, NULL)->nlookup = 1;
	tree_node_release(&root);
	return t;
}

void fs_nodes_free(struct fs_nodes *t)
{
	size_t i;
	struct node *n, *next;
	if (!t)
		return;
	/* The session ended with files still open: the kernel sends no RELEASE then. */
	while (t->handles) {
		struct fs_handle *h = t->handles;
		t->handles = h->hnext;
		fs_handle_free(h);
	}
	for (i = 0; i < t->nb; i++)
		for (n = t->ib[i]; n; n = next) {
			next = n->inext;
			free_node(n);
		}
	free(t->ib);
	free(t->ob);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

void fs_nodes_remember(struct fs_nodes *t, const struct tree_node *tn, uint64_t parent,
		       const char *name)
{
	int64_t now = fs_mono_ms();
	pthread_mutex_lock(&t->lock);
	struct node *n = find(t, tn->ino);
	if (!n) {
		struct node *p = find(t, parent);
		n = add(t, tn, tn->ino, parent, name);
		n->objdir = tn->type == TREE_DIR && p && (p->tn.flags & (TREE_CREATE | TREE_MKDIR));
	}
	ghost_unlink(t, n);
	n->nlookup++;
	n->looked_ms = now;
	pthread_mutex_unlock(&t->lock);
}

uint64_t fs_nodes_add_temp(struct fs_nodes *t, uint64_t parent, const char *name)
{
	pthread_mutex_lock(&t->lock);
	uint64_t ino = FS_INO_TEMP | ++t->next_temp;
	struct node *n = add(t, NULL, ino, parent, name);
	n->temp = 1;
	n->tn.ino = ino;
	n->tn.type = TREE_FILE;
	n->tn.mode = 0644;
	n->nlookup = 1;
	pthread_mutex_unlock(&t->lock);
	return ino;
}

void fs_nodes_forget(struct fs_nodes *t, uint64_t ino, uint64_t count)
{
	pthread_mutex_lock(&t->lock);
	struct node *n = find(t, ino);
	if (n && ino != 1) {
		n->nlookup = n->nlookup > count ? n->nlookup - count : 0;
		if (n->nlookup == 0) {
			/* The kernel dropped the inode, and its pages with it. */
			n->pc_valid = n->pc_fresh = n->told = 0;
		}
		if (n->nlookup == 0 && !n->ghost) {
			if (n->have_hash && n->tn.obj_id && !n->temp && !n->dead)
				make_ghost(t, n);
			else
				drop(t, n);
		}
	}
	pthread_mutex_unlock(&t->lock);
}

int fs_nodes_get(struct fs_nodes *t, uint64_t ino, struct fs_node_info *out)
{
	int rc = -ENOENT;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&t->lock);
	struct node *n = find(t, ino);
	if (n && !n->ghost) {
		tree_node_copy(&out->tn, &n->tn);
		out->parent = n->parent;
		out->name = n->name ? xstrdup(n->name) : NULL;
		out->temp = n->temp;
		out->looked_ms = n->looked_ms;
		rc = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void fs_node_info_release(struct fs_node_info *ni)
{
	tree_node_release(&ni->tn);
	free(ni->name);
	ni->name = NULL;
}

int fs_nodes_known(struct fs_nodes *t, uint64_t ino)
{
	pthread_mutex_lock(&t->lock);
	struct node *n = find(t, ino);
	int known = n && !n->ghost;
	pthread_mutex_unlock(&t->lock);
	return known;
}

void fs_nodes_obj_changed(struct fs_nodes *t, uint64_t obj_id, int removed,
			  void (*fn)(void *, uint64_t), void *ctx)
{
	struct node *n, *next;
	if (!obj_id)
		return;
	int64_t now = fs_mono_ms();
	pthread_mutex_lock(&t->lock);
	for (n = t->ob[bucket(t, obj_id)]; n; n = next) {
		next = n->onext;
		if (n->tn.obj_id != obj_id)
			continue;
		if (n->ghost && removed) {
			drop(t, n);
			continue;
		}
		n->attr_ok = 0;
		n->inval++;
		n->inval_ms = now;
		n->dead |= removed;
		lru_unlink(t, n);
		if (fn && !n->ghost)
			fn(ctx, n->ino);
	}
	pthread_mutex_unlock(&t->lock);
}

/* A rendering stays valid while nothing changed (same generation; for a clock-dependent
 * one, within the same second too) or, for a node whose content is a function of its own
 * object, until that object changes (obj_changed). */
static int still_valid(const struct node *n, uint64_t gen, int64_t sec)
{
	if (!n->attr_ok)
		return 0;
	if (n->tn.flags & TREE_CLOCK)
		return n->attr_gen == gen && n->attr_sec == sec;
	if (n->attr_gen == gen)
		return 1;
	return (n->tn.flags & TREE_OWN) && !(n->tn.flags & TREE_LOG) && n->tn.obj_id;
}

static int cached_other(const struct node *n)
{
	return n->ncached && n->pc_hash != n->hash;
}

/* The kernel gets attributes (i_size) of the version rendered last. */
static void told(struct node *n)
{
	n->told = 1;
	n->told_hash = n->hash;
}

int fs_nodes_render(struct fs *fs, const struct tree_node *tn, int how, struct fs_rendered *out)
{
	int want_blob = how == FS_RENDER_BLOB;
	struct fs_nodes *t = fs->nodes;
	uint64_t gen = cluster_generation(fs->cl);
	int64_t sec = (tn->flags & TREE_CLOCK) ? cluster_now_ms(fs->cl) / 1000 : 0;
	struct strbuf sb = STRBUF_INIT;
	uint64_t cursor = 0;
	struct node *n;
	int rc;

	memset(out, 0, sizeof(*out));
	if (tn->type == TREE_DIR) {
		out->mtime_ms = tree_mtime(fs->cl, tn);
		pthread_mutex_lock(&t->lock);
		n = find(t, tn->ino);
		out->own_attr = n && n->objdir;
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	pthread_mutex_lock(&t->lock);
	n = find(t, tn->ino);
	if (n && still_valid(n, gen, sec) && (!want_blob || n->blob)) {
		out->size = n->size;
		out->mtime_ms = n->mtime_ms;
		out->inval = n->inval;
		out->hash = n->hash;
		out->cached_other = cached_other(n);
		if (!want_blob)
			told(n);
		if (want_blob)
			out->blob = fs_blob_ref(n->blob);
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	pthread_mutex_unlock(&t->lock);

	rc = tree_read(fs->cl, tn, &sb, (tn->flags & TREE_LOG) ? &cursor : NULL);
	if (rc < 0) {
		sb_release(&sb);
		return rc;
	}
	struct fs_blob *b = fs_blob_from(&sb, cursor);
	int64_t model = tree_mtime(fs->cl, tn), mtime = model;

	pthread_mutex_lock(&t->lock);
	n = find(t, tn->ino);
	if (n) {
		if (tn->flags & TREE_CLOCK)
			mtime = model; /* the clock is not a change: the model's mtime */
		else if (n->have_hash && n->hash == b->hash && n->size == b->len)
			mtime = n->mtime_ms; /* same content: an unrelated change */
		else if (n->have_hash && model <= n->mtime_ms)
			mtime = n->mtime_ms + 1; /* changed: never go back in time */
		n->have_hash = 1;
		n->hash = b->hash;
		n->size = b->len;
		n->mtime_ms = mtime;
		n->attr_ok = 1;
		n->attr_gen = gen;
		n->attr_sec = sec;
		out->inval = n->inval;
		out->cached_other = cached_other(n);
		if (!want_blob)
			told(n);
		lru_push(t, n, b);
	}
	pthread_mutex_unlock(&t->lock);
	out->hash = b->hash;
	out->size = b->len;
	out->mtime_ms = mtime;
	if (want_blob)
		out->blob = b;
	else
		fs_blob_unref(b);
	return 0;
}

/* ---- open handles and page cache versions (design at the top) ---- */

void fs_nodes_handle_add(struct fs_nodes *t, struct fs_handle *h)
{
	pthread_mutex_lock(&t->lock);
	h->hprev = NULL;
	h->hnext = t->handles;
	if (t->handles)
		t->handles->hprev = h;
	t->handles = h;
	pthread_mutex_unlock(&t->lock);
}

int fs_nodes_handle_del(struct fs_nodes *t, struct fs_handle *h)
{
	int free_now;
	pthread_mutex_lock(&t->lock);
	if (h->hprev)
		h->hprev->hnext = h->hnext;
	else if (t->handles == h)
		t->handles = h->hnext;
	if (h->hnext)
		h->hnext->hprev = h->hprev;
	h->hnext = h->hprev = NULL;
	if (h->cached) {
		struct node *n = find(t, h->ino);
		if (n && n->ncached)
			n->ncached--;
		h->cached = 0;
	}
	h->released = 1;
	free_now = h->pins == 0;
	pthread_mutex_unlock(&t->lock);
	return free_now;
}

/* The newest handle thread pid opened on ino and has not released (the list starts with
 * the last opened), or NULL. Nodes lock held. */
static struct fs_handle *opened_by(struct fs_nodes *t, uint64_t ino, pid_t pid)
{
	struct fs_handle *h;
	for (h = t->handles; pid && h; h = h->hnext)
		if (h->ino == ino && h->opener == pid)
			return h;
	return NULL;
}

struct fs_handle *fs_nodes_pin_log(struct fs_nodes *t, uint64_t ino, pid_t pid)
{
	pthread_mutex_lock(&t->lock);
	struct fs_handle *h = opened_by(t, ino, pid);
	if (h && h->kind != FS_H_LOG)
		h = NULL;
	if (h)
		h->pins++;
	pthread_mutex_unlock(&t->lock);
	return h;
}

void fs_nodes_unpin(struct fs_nodes *t, struct fs_handle *h)
{
	pthread_mutex_lock(&t->lock);
	int free_now = --h->pins == 0 && h->released;
	pthread_mutex_unlock(&t->lock);
	if (free_now)
		fs_handle_free(h);
}

int fs_nodes_opened_by(struct fs_nodes *t, uint64_t ino, pid_t pid, int *dir, size_t *len)
{
	pthread_mutex_lock(&t->lock);
	const struct fs_handle *h = opened_by(t, ino, pid);
	if (h) {
		*dir = h->kind == FS_H_DIR;
		*len = h->kind == FS_H_READ && h->snap ? h->snap->len : 0;
	}
	pthread_mutex_unlock(&t->lock);
	return h != NULL;
}

enum fs_pc fs_nodes_cache_open(struct fs_nodes *t, struct fs_handle *h)
{
	enum fs_pc pc = FS_PC_DIRECT;
	uint64_t hash = h->snap->hash;
	pthread_mutex_lock(&t->lock);
	struct node *n = find(t, h->ino);
	if (!n) {
		/* not known (cannot happen while the kernel opens it): no page cache */
	} else if (n->inval && fs_mono_ms() - n->inval_ms < PC_QUIET_MS) {
		pc = FS_PC_DIRECT; /* changed lately: the kernel's i_size may be any version's */
	} else if (n->ncached && n->pc_hash != hash) {
		pc = FS_PC_DIRECT;
	} else if (!n->told || n->told_hash != hash) {
		pc = FS_PC_DIRECT; /* the kernel's i_size may be another version's */
	} else if (n->pc_valid && n->pc_hash == hash && !n->pc_fresh) {
		pc = FS_PC_KEEP;
	} else {
		pc = FS_PC_FRESH;
		n->pc_valid = 1;
		n->pc_fresh = 1;
		n->pc_hash = hash;
	}
	if (n && pc != FS_PC_DIRECT) {
		n->ncached++;
		h->cached = 1;
		h->fresh = pc == FS_PC_FRESH;
	}
	pthread_mutex_unlock(&t->lock);
	return pc;
}

void fs_nodes_told(struct fs_nodes *t, uint64_t ino, uint64_t hash)
{
	pthread_mutex_lock(&t->lock);
	struct node *n = find(t, ino);
	if (n) {
		n->told = 1;
		n->told_hash = hash;
	}
	pthread_mutex_unlock(&t->lock);
}

void fs_nodes_cache_confirm(struct fs_nodes *t, struct fs_handle *h)
{
	pthread_mutex_lock(&t->lock);
	struct node *n = find(t, h->ino);
	if (n && n->pc_valid && n->pc_hash == h->snap->hash)
		n->pc_fresh = 0;
	h->fresh = 0;
	pthread_mutex_unlock(&t->lock);
}

uint64_t fs_nodes_inval_count(struct fs_nodes *t, uint64_t ino)
{
	uint64_t v = 0;
	pthread_mutex_lock(&t->lock);
	struct node *n = find(t, ino);
	if (n)
		v = n->inval;
	pthread_mutex_unlock(&t->lock);
	return v;
}
