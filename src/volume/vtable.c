/* vtable.c - the vnodes of a volume (one per inode in use, shared by every view of it:
 * the charge of an inode is per inode) and the cache of their O_PATH descriptors.
 *
 * A vnode remembers where it was last found (parent vnode, name). Its descriptor counts
 * against the registry's budget; past it vn_evict closes the least recently used
 * descriptors of vnodes nobody is using (vn_acquire pins one), and vn_acquire opens one
 * again from the parent's descriptor with the path rules (vn_openat), accepting it only
 * when it is the same inode. A vnode that holds a descriptor holds a reference on itself,
 * so it stays, with its charge, as a cache entry after its last user put it; eviction
 * frees it then. The root of a volume has no parent: it is opened from <state>/volumes by
 * the volume's name.
 * Locking: the volume lock guards the table and every vnode field but the list links,
 * which the fd lock guards (taken under the volume lock, a leaf).
 * Complexity: intern, find, acquire O(1) (acquire of an evicted vnode O(depth of the
 * evicted ancestors)); eviction O(descriptors closed). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "volume_internal.h"

static size_t bucket(const struct volume *v, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ULL;
	return (size_t)(h >> 20) & (v->nb - 1);
}

struct vnode *vn_find_locked(struct volume *v, ino_t ino)
{
	struct vnode *n;
	for (n = v->tab[bucket(v, ino)]; n; n = n->next)
		if (n->ino == ino)
			return n;
	return NULL;
}

static void grow_locked(struct volume *v)
{
	struct vnode **old = v->tab, *n, *next;
	size_t onb = v->nb, i;
	v->nb *= 2;
	v->tab = xcalloc(v->nb, sizeof(*v->tab));
	for (i = 0; i < onb; i++)
		for (n = old[i]; n; n = next) {
			next = n->next;
			size_t b = bucket(v, n->ino);
			n->next = v->tab[b];
			v->tab[b] = n;
		}
	free(old);
}

static void unlink_locked(struct volume *v, struct vnode *n)
{
	struct vnode **pp;
	for (pp = &v->tab[bucket(v, n->ino)]; *pp; pp = &(*pp)->next)
		if (*pp == n) {
			*pp = n->next;
			v->count--;
			return;
		}
}

void vn_table_free(struct volume *v)
{
	free(v->tab);
	v->tab = NULL;
}

/* ---- the descriptor list (fd lock held) ---- */

static void lru_unlink(struct fdcache *c, struct vnode *n)
{
	if (!n->in_lru)
		return;
	if (n->lprev)
		n->lprev->lnext = n->lnext;
	else
		c->head = n->lnext;
	if (n->lnext)
		n->lnext->lprev = n->lprev;
	else
		c->tail = n->lprev;
	n->lprev = n->lnext = NULL;
	n->in_lru = 0;
}

static void lru_push(struct fdcache *c, struct vnode *n)
{
	lru_unlink(c, n);
	n->lprev = NULL;
	n->lnext = c->head;
	if (c->head)
		c->head->lprev = n;
	else
		c->tail = n;
	c->head = n;
	n->in_lru = 1;
}

/* n takes descriptor fd (volume lock held): its reference, its place in the list.
 * Returns 1 when the cache went over its budget (evict once the lock is dropped). */
static int take_fd_locked(struct vnode *n, int fd)
{
	struct fdcache *c = &n->vol->vs->fds;
	int over;
	n->fd = fd;
	n->refs++;
	pthread_mutex_lock(&c->lock);
	lru_push(c, n);
	c->open++;
	over = c->open > c->budget;
	pthread_mutex_unlock(&c->lock);
	return over;
}

/* Drops n's descriptor (volume lock held, n unused) unless an evicter holds n (out of
 * the list): returns it to be closed after unlocking, or -1. The vnode's own reference
 * goes with it. */
static int drop_fd_locked(struct vnode *n)
{
	struct fdcache *c = &n->vol->vs->fds;
	int fd = -1;
	pthread_mutex_lock(&c->lock);
	if (n->in_lru) {
		lru_unlink(c, n);
		c->open--;
		fd = n->fd;
		n->fd = -1;
		n->refs--;
	}
	pthread_mutex_unlock(&c->lock);
	return fd;
}

/* ---- life ---- */

/* Frees a vnode that left the table (no lock held). */
static void vn_free(struct vnode *n)
{
	struct vnode *parent = n->parent;
	struct volume *v = n->vol;
	free(n->name);
	free(n);
	vnode_put(parent);
	volume_put(v);
}

struct vnode *vnode_ref(struct vnode *n)
{
	pthread_mutex_lock(&n->vol->lock);
	n->refs++;
	pthread_mutex_unlock(&n->vol->lock);
	return n;
}

void vnode_put(struct vnode *n)
{
	struct volume *v;
	int fd = -1, gone = 0;
	if (!n)
		return;
	v = n->vol;
	pthread_mutex_lock(&v->lock);
	n->refs--;
	/* The cache keeps a vnode for its descriptor, unless its volume is dead or its file
	 * has no name left (the descriptor would keep its blocks allocated). */
	if (n->refs == 1 && n->fd >= 0 && n->uses == 0 && (volume_dead(v) || n->unlinked))
		fd = drop_fd_locked(n);
	if (n->refs == 0) {
		unlink_locked(v, n);
		gone = 1;
	}
	pthread_mutex_unlock(&v->lock);
	if (fd >= 0)
		close(fd);
	if (gone)
		vn_free(n);
}

void vn_move_locked(struct vnode *n, struct vnode *parent, const char *name, struct vnode **old)
{
	*old = NULL;
	if (!parent) /* the root stays where it is */
		return;
	if (n->parent != parent) {
		*old = n->parent;
		parent->refs++;
		n->parent = parent;
	}
	if (!n->name || strcmp(n->name, name) != 0) {
		free(n->name);
		n->name = xstrdup(name);
	}
	n->lost = n->unlinked = 0;
}

struct vnode *vn_intern(struct volume *v, int fd, const struct stat *st, int fresh,
			struct vnode *parent, const char *name)
{
	struct vnode *n, *old = NULL;
	int over = 0;
	pthread_mutex_lock(&v->lock);
	n = vn_find_locked(v, st->st_ino);
	if (n) {
		n->refs++;
		vn_move_locked(n, parent, name, &old);
		if (n->fd < 0)
			over = take_fd_locked(n, fd);
		else
			close(fd); /* it has one already */
		pthread_mutex_unlock(&v->lock);
		vnode_put(old);
		if (over)
			vn_evict(v->vs);
		return n;
	}
	n = xcalloc(1, sizeof(*n));
	n->vol = volume_ref(v);
	n->ino = st->st_ino;
	n->type = st->st_mode & S_IFMT;
	n->fd = -1;
	n->refs = 1;
	if (parent) {
		parent->refs++;
		n->parent = parent;
		n->name = xstrdup(name);
	}
	if (fresh)
		vn_charge_locked(n, st);
	else
		n->charged = vol_blocks_bytes(st);
	if (v->count + 1 > v->nb)
		grow_locked(v);
	size_t b = bucket(v, n->ino);
	n->next = v->tab[b];
	v->tab[b] = n;
	v->count++;
	over = take_fd_locked(n, fd);
	pthread_mutex_unlock(&v->lock);
	if (over)
		vn_evict(v->vs);
	return n;
}

struct vnode *vn_top(struct volume *v)
{
	struct vnode *n;
	pthread_mutex_lock(&v->lock);
	n = vn_find_locked(v, v->root_ino);
	if (n) {
		n->refs++;
		pthread_mutex_unlock(&v->lock);
		return n;
	}
	/* Evicted and forgotten: a vnode without descriptor, opened on its first use. */
	n = xcalloc(1, sizeof(*n));
	n->vol = volume_ref(v);
	n->ino = v->root_ino;
	n->type = S_IFDIR;
	n->fd = -1;
	n->refs = 1;
	n->charged = -1; /* not known here: set from the first stat below */
	if (v->count + 1 > v->nb)
		grow_locked(v);
	size_t b = bucket(v, n->ino);
	n->next = v->tab[b];
	v->tab[b] = n;
	v->count++;
	pthread_mutex_unlock(&v->lock);
	int fd = vn_acquire(n);
	if (fd >= 0) {
		struct stat st;
		pthread_mutex_lock(&v->lock);
		if (n->charged < 0 && fstat(fd, &st) == 0)
			n->charged = vol_blocks_bytes(&st); /* counted by the walk already */
		pthread_mutex_unlock(&v->lock);
		vn_release(n);
	}
	return n;
}

/* ---- descriptors ---- */

/* Deeper than this, a chain of evicted parents is a loop (the disk was changed behind our
 * back): the inode is not found again. */
#define REOPEN_DEPTH_MAX 4096

static int acquire(struct vnode *n, unsigned depth);

int vn_acquire(struct vnode *n)
{
	return acquire(n, 0);
}

static int acquire(struct vnode *n, unsigned depth)
{
	struct volume *v = n->vol;
	struct fdcache *c = &v->vs->fds;
	struct vnode *parent;
	char *name = NULL;
	int fd, pfd, over = 0;
	pthread_mutex_lock(&v->lock);
	n->uses++; /* from here on nobody closes n's descriptor */
	if (n->fd >= 0) {
		fd = n->fd;
		pthread_mutex_lock(&c->lock);
		if (n->in_lru)
			lru_push(c, n);
		pthread_mutex_unlock(&c->lock);
		pthread_mutex_unlock(&v->lock);
		return fd;
	}
	if (n->lost || depth > REOPEN_DEPTH_MAX) {
		n->uses--;
		pthread_mutex_unlock(&v->lock);
		return -ESTALE;
	}
	parent = n->parent;
	if (parent) {
		parent->refs++;
		name = xstrdup(n->name);
	}
	pthread_mutex_unlock(&v->lock);

	if (parent) {
		pfd = acquire(parent, depth + 1);
		fd = pfd < 0 ? pfd : vn_openat(pfd, name, O_PATH, 0);
		if (pfd >= 0)
			vn_release(parent);
	} else {
		fd = vn_openat(v->vs->dirfd, v->name, O_PATH | O_DIRECTORY, 0);
	}
	if (fd >= 0) {
		struct stat st;
		if (fstat(fd, &st) < 0 || st.st_ino != n->ino) {
			close(fd); /* that name leads elsewhere now */
			fd = -ESTALE;
		}
	} else if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP) {
		fd = -ESTALE;
	}

	pthread_mutex_lock(&v->lock);
	if (fd >= 0) {
		if (n->fd < 0) {
			over = take_fd_locked(n, fd);
		} else {
			close(fd); /* another caller opened it meanwhile */
			fd = n->fd;
		}
	} else {
		n->uses--;
	}
	pthread_mutex_unlock(&v->lock);
	vnode_put(parent);
	free(name);
	if (over)
		vn_evict(v->vs);
	return fd;
}

void vn_release(struct vnode *n)
{
	pthread_mutex_lock(&n->vol->lock);
	n->uses--;
	pthread_mutex_unlock(&n->vol->lock);
}

void vn_evict(struct volumes *vs)
{
	struct fdcache *c = &vs->fds;
	size_t tries;
	pthread_mutex_lock(&c->lock);
	tries = c->open;
	while (c->open > c->budget && c->tail && tries-- > 0) {
		struct vnode *t = c->tail;
		struct volume *v = t->vol;
		int fd = -1, gone = 0;
		/* Out of the list, t stays alive: only its descriptor's reference could free
		 * it, and only an evicter, which finds it in the list, drops that. */
		lru_unlink(c, t);
		pthread_mutex_unlock(&c->lock);
		pthread_mutex_lock(&v->lock);
		pthread_mutex_lock(&c->lock);
		int back = t->in_lru; /* a user put it back meanwhile: it stays */
		if (!back && t->fd >= 0 && t->uses > 0)
			lru_push(c, t); /* in use: try the next one */
		pthread_mutex_unlock(&c->lock);
		if (!back && t->fd >= 0 && t->uses == 0) {
			fd = t->fd;
			t->fd = -1;
			t->refs--;
			pthread_mutex_lock(&c->lock);
			c->open--;
			pthread_mutex_unlock(&c->lock);
			if (t->refs == 0) {
				unlink_locked(v, t);
				gone = 1;
			}
		}
		pthread_mutex_unlock(&v->lock);
		if (fd >= 0)
			close(fd);
		if (gone)
			vn_free(t);
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
}
