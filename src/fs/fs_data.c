/* fs_data.c - the data adapter's views and inodes (design in fs_data.h): entering a
 * TREE_DATA node (a view of a volume), the data inode table, and the ops on names and
 * attributes of volume data: lookup, forget, getattr, setattr, access, readlink, mknod,
 * mkdir, symlink, create is in fs_data_io.c, link, unlink, rmdir, rename. Every change
 * is made through volume.h (capacity, path rules) and invalidates the peers in other
 * views (ds_*). Read-only views answer EROFS.
 * Complexity: every op O(1) hash lookups plus its system calls; entering a view the first
 * time after start also walks its volume once (volume_get). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "fs_data.h"

/* ---- life ---- */

struct fs_data *fs_data_new(struct fs *fs)
{
	struct fs_data *d = xcalloc(1, sizeof(*d));
	struct rlimit rl;
	d->fs = fs;
	cluster_lock(fs->cl);
	d->vs = volumes_of(fs->cl);
	cluster_unlock(fs->cl);
	pthread_mutex_init(&d->lock, NULL);
	d->nb = 1024;
	d->itab = xcalloc(d->nb, sizeof(*d->itab));
	d->ktab = xcalloc(d->nb, sizeof(*d->ktab));
	d->pnb = 1024;
	d->ptab = xcalloc(d->pnb, sizeof(*d->ptab));
	d->vnb = 64;
	d->vtab = xcalloc(d->vnb, sizeof(*d->vtab));
	d->otab = xcalloc(d->vnb, sizeof(*d->otab));
	/* Each inode the kernel holds in a volume keeps an O_PATH descriptor (as libfuse's
	 * passthrough_ll does): take every descriptor we may. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return d;
}

static void view_free(struct dview *v)
{
	vnode_put(v->root);
	volume_put(v->vol);
	free(v->volume);
	free(v->subpath);
	free(v->name);
	free(v);
}

void fs_data_free(struct fs_data *d)
{
	size_t i;
	if (!d)
		return;
	/* Every view has dnodes (its references): they go with the last one. */
	for (i = 0; i < d->nb; i++) {
		struct dnode *n = d->itab[i], *next;
		for (; n; n = next) {
			next = n->inext;
			vnode_put(n->vn);
			if (--n->view->refs == 0)
				view_free(n->view);
			free(n);
		}
	}
	for (i = 0; i < d->pnb; i++) {
		struct dpeers *p = d->ptab[i], *next;
		for (; p; p = next) {
			next = p->next;
			free(p);
		}
	}
	free(d->itab);
	free(d->ktab);
	free(d->ptab);
	free(d->vtab);
	free(d->otab);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* The largest request: 1 MiB, or less when /proc/sys/fs/pipe-max-size is smaller
 * (libfuse sizes max_write and max_pages to its buffer, and splices a read's reply
 * through a pipe, which may not grow past pipe-max-size without CAP_SYS_RESOURCE). */
static unsigned splice_max_write(void)
{
	unsigned long max = 1u << 20;
	FILE *f = fopen("/proc/sys/fs/pipe-max-size", "r");
	if (f) {
		if (fscanf(f, "%lu", &max) != 1)
			max = 1u << 20;
		fclose(f);
	}
	if (max > (2u << 20))
		max = 2u << 20;
	return max > (1u << 20) ? 1u << 20 : (unsigned)(max - 4096);
}

void fs_data_init_conn(struct fuse_conn_info *conn)
{
	/* Requests of up to 1 MiB (libfuse sizes max_write and max_pages to its buffer).
	 * Reads reply by splice from the backing descriptor. Requests are read with one
	 * read(2), not spliced in: splicing costs a splice and a read of the pipe for every
	 * request, claims and lookups included (8% of the daemon's CPU per durable claim),
	 * while the copy it saves a 1 MiB volume write did not show in the benchmark
	 * (volume writes within the noise, README Performance). */
	unsigned max_write = splice_max_write();
	if (conn->max_write > max_write)
		conn->max_write = max_write;
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	conn->want &= ~FUSE_CAP_SPLICE_READ;
	/* The kernel clears set-user-ID bits on writes itself (with a SETATTR). */
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
}

/* ---- hashing ---- */

static size_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k;
}

static size_t kbucket(const struct fs_data *d, const struct dview *v, const struct vnode *vn)
{
	return mix((uint64_t)(uintptr_t)v * 31 + (uint64_t)(uintptr_t)vn) & (d->nb - 1);
}

static struct dnode *ifind(struct fs_data *d, uint64_t ino)
{
	struct dnode *n;
	for (n = d->itab[mix(ino) & (d->nb - 1)]; n; n = n->inext)
		if (n->ino == ino)
			return n;
	return NULL;
}

static void link_dnode(struct fs_data *d, struct dnode *n)
{
	size_t b = mix(n->ino) & (d->nb - 1);
	n->inext = d->itab[b];
	d->itab[b] = n;
	b = kbucket(d, n->view, n->vn);
	n->knext = d->ktab[b];
	d->ktab[b] = n;
}

static void grow_dnodes(struct fs_data *d)
{
	struct dnode **old = d->itab, *n, *next;
	size_t onb = d->nb, i;
	d->nb *= 2;
	d->itab = xcalloc(d->nb, sizeof(*d->itab));
	free(d->ktab);
	d->ktab = xcalloc(d->nb, sizeof(*d->ktab));
	for (i = 0; i < onb; i++)
		for (n = old[i]; n; n = next) {
			next = n->inext;
			link_dnode(d, n);
		}
	free(old);
}

static struct dpeers *peers_get(struct fs_data *d, const struct vnode *vn)
{
	size_t b = mix((uint64_t)(uintptr_t)vn) & (d->pnb - 1);
	struct dpeers *p;
	for (p = d->ptab[b]; p; p = p->next)
		if (p->vn == vn)
			return p;
	if (d->pcount + 1 > d->pnb) {
		struct dpeers **old = d->ptab, *q, *next;
		size_t onb = d->pnb, i;
		d->pnb *= 2;
		d->ptab = xcalloc(d->pnb, sizeof(*d->ptab));
		for (i = 0; i < onb; i++)
			for (q = old[i]; q; q = next) {
				next = q->next;
				size_t nb = mix((uint64_t)(uintptr_t)q->vn) & (d->pnb - 1);
				q->next = d->ptab[nb];
				d->ptab[nb] = q;
			}
		free(old);
		b = mix((uint64_t)(uintptr_t)vn) & (d->pnb - 1);
	}
	p = xcalloc(1, sizeof(*p));
	p->vn = vn;
	p->next = d->ptab[b];
	d->ptab[b] = p;
	d->pcount++;
	return p;
}

static void peers_drop(struct fs_data *d, struct dnode *n)
{
	struct dpeers *p = n->peers, **pp;
	struct dnode **np;
	for (np = &p->first; *np; np = &(*np)->pnext)
		if (*np == n) {
			*np = n->pnext;
			break;
		}
	__atomic_store_n(&p->n, p->n - 1, __ATOMIC_RELAXED);
	if (p->n)
		return;
	for (pp = &d->ptab[mix((uint64_t)(uintptr_t)p->vn) & (d->pnb - 1)]; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	d->pcount--;
	free(p);
}

/* ---- views ---- */

static void view_unlist(struct fs_data *d, struct dview *v)
{
	struct dview **pp;
	if (!v->listed)
		return;
	for (pp = &d->vtab[mix(v->id) & (d->vnb - 1)]; *pp; pp = &(*pp)->hnext)
		if (*pp == v) {
			*pp = v->hnext;
			break;
		}
	for (pp = &d->otab[mix(v->owner) & (d->vnb - 1)]; *pp; pp = &(*pp)->onext)
		if (*pp == v) {
			*pp = v->onext;
			break;
		}
	v->listed = 0;
	__atomic_store_n(&d->vcount, d->vcount - 1, __ATOMIC_RELAXED); /* read unlocked */
}

static void view_list(struct fs_data *d, struct dview *v)
{
	size_t i;
	if (d->vcount + 1 > d->vnb) {
		struct dview **ov = d->vtab, *x, *next;
		size_t onb = d->vnb;
		d->vnb *= 2;
		d->vtab = xcalloc(d->vnb, sizeof(*d->vtab));
		free(d->otab);
		d->otab = xcalloc(d->vnb, sizeof(*d->otab));
		for (i = 0; i < onb; i++)
			for (x = ov[i]; x; x = next) {
				next = x->hnext;
				size_t b = mix(x->id) & (d->vnb - 1);
				x->hnext = d->vtab[b];
				d->vtab[b] = x;
				b = mix(x->owner) & (d->vnb - 1);
				x->onext = d->otab[b];
				d->otab[b] = x;
			}
		free(ov);
	}
	size_t b = mix(v->id) & (d->vnb - 1);
	v->hnext = d->vtab[b];
	d->vtab[b] = v;
	b = mix(v->owner) & (d->vnb - 1);
	v->onext = d->otab[b];
	d->otab[b] = v;
	v->listed = 1;
	__atomic_store_n(&d->vcount, d->vcount + 1, __ATOMIC_RELAXED); /* read unlocked */
}

static struct dview *view_find(struct fs_data *d, uint64_t id)
{
	struct dview *v;
	for (v = d->vtab[mix(id) & (d->vnb - 1)]; v; v = v->hnext)
		if (v->id == id)
			return v;
	return NULL;
}

static int view_alive(const struct dview *v)
{
	return !__atomic_load_n(&v->dead, __ATOMIC_ACQUIRE) && !volume_dead(v->vol);
}

/* Does live view v show what the tree node asks for? */
static int view_matches(const struct dview *v, const struct tree_node *tn)
{
	const char *a = v->subpath ? v->subpath : "", *b = tn->subpath ? tn->subpath : "";
	return view_alive(v) && v->owner == tn->obj_id && strcmp(v->volume, tn->volume) == 0 &&
	       strcmp(a, b) == 0 && v->ro == !!(tn->flags & TREE_RDONLY);
}

void fs_data_obj_changed(struct fs *fs, uint64_t obj_id, int removed)
{
	struct fs_data *d = fs->data;
	struct dview *v, *next;
	if (!d || !removed || !__atomic_load_n(&d->vcount, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&d->lock);
	for (v = d->otab[mix(obj_id) & (d->vnb - 1)]; v; v = next) {
		next = v->onext;
		if (v->owner != obj_id)
			continue;
		__atomic_store_n(&v->dead, 1, __ATOMIC_RELEASE);
		view_unlist(d, v); /* freed with its last inode */
	}
	pthread_mutex_unlock(&d->lock);
}

/* ---- dnodes ---- */

struct dnode *dn_get(struct fs_data *d, uint64_t ino)
{
	pthread_mutex_lock(&d->lock);
	struct dnode *n = ifind(d, ino);
	if (n)
		n->refs++;
	pthread_mutex_unlock(&d->lock);
	return n;
}

/* Unlinks n if nothing refers to it; returns it to be freed outside the lock. */
static struct dnode *maybe_unlink(struct fs_data *d, struct dnode *n)
{
	struct dnode **pp;
	if (n->refs || n->nlookup)
		return NULL;
	for (pp = &d->itab[mix(n->ino) & (d->nb - 1)]; *pp; pp = &(*pp)->inext)
		if (*pp == n) {
			*pp = n->inext;
			break;
		}
	for (pp = &d->ktab[kbucket(d, n->view, n->vn)]; *pp; pp = &(*pp)->knext)
		if (*pp == n) {
			*pp = n->knext;
			break;
		}
	peers_drop(d, n);
	d->count--;
	return n;
}

/* Frees an unlinked dnode (no lock held); its view goes with its last dnode. */
static void dn_free(struct fs_data *d, struct dnode *n)
{
	struct dview *v = n->view;
	int last;
	if (!n)
		return;
	pthread_mutex_lock(&d->lock);
	last = --v->refs == 0;
	if (last) /* its last inode: the kernel knows none of it any more */
		view_unlist(d, v);
	pthread_mutex_unlock(&d->lock);
	vnode_put(n->vn);
	if (last)
		view_free(v);
	free(n);
}

void dn_put(struct fs_data *d, struct dnode *n)
{
	struct dnode *gone;
	if (!n)
		return;
	pthread_mutex_lock(&d->lock);
	n->refs--;
	gone = maybe_unlink(d, n);
	pthread_mutex_unlock(&d->lock);
	if (gone)
		dn_free(d, gone);
}

void dn_forget(struct fs_data *d, uint64_t ino, uint64_t count)
{
	struct dnode *n, *gone = NULL;
	pthread_mutex_lock(&d->lock);
	n = ifind(d, ino);
	if (n) {
		n->nlookup = n->nlookup > count ? n->nlookup - count : 0;
		gone = maybe_unlink(d, n);
	}
	pthread_mutex_unlock(&d->lock);
	if (gone)
		dn_free(d, gone);
}

int dn_alive(const struct dnode *dn)
{
	return view_alive(dn->view) ? 0 : -ESTALE;
}

int dn_gone(struct fs *fs, const struct dnode *dn)
{
	const struct dview *v = dn->view;
	struct fs_data *d = fs->data;
	struct fs_node_info ni;
	int64_t now = fs_mono_ms(), last = __atomic_load_n(&d->estale_ms, __ATOMIC_RELAXED);
	int rc;
	/* A node looked up before a recent ESTALE may be a previous syscall's: only one
	 * looked up after it can be the retry's (which never walks into a dead view). */
	if (last && now - last < FS_FRESH_LOOKUP_MS &&
	    __atomic_load_n(&dn->looked_ms, __ATOMIC_RELAXED) >= last)
		return -ENOENT;
	memset(&ni, 0, sizeof(ni));
	ni.parent = v->parent;
	ni.name = v->name; /* borrowed: fs_gone copies what it keeps */
	cluster_lock(fs->cl);
	rc = fs_gone(fs, &ni);
	cluster_unlock(fs->cl);
	if (rc == -ESTALE)
		__atomic_store_n(&d->estale_ms, now, __ATOMIC_RELAXED);
	return rc;
}

int dn_get_alive(struct fs_data *d, uint64_t ino, struct dnode **out)
{
	struct dnode *n = dn_get(d, ino);
	int rc;
	if (!n)
		return -ESTALE;
	if (dn_alive(n) < 0) {
		rc = dn_gone(d->fs, n);
		dn_put(d, n);
		return rc;
	}
	*out = n;
	return 0;
}

struct dnode *dn_child(struct fs_data *d, struct dview *v, struct vnode *vn)
{
	struct dnode *n;
	pthread_mutex_lock(&d->lock);
	for (n = d->ktab[kbucket(d, v, vn)]; n; n = n->knext)
		if (n->view == v && n->vn == vn)
			break;
	if (n) {
		n->nlookup++;
		__atomic_store_n(&n->looked_ms, fs_mono_ms(), __ATOMIC_RELAXED);
		pthread_mutex_unlock(&d->lock);
		vnode_put(vn); /* the dnode has one */
		return n;
	}
	n = xcalloc(1, sizeof(*n));
	n->ino = FS_INO_DATA | ++d->next_ino;
	n->view = v;
	v->refs++;
	n->vn = vn;
	n->nlookup = 1;
	n->looked_ms = fs_mono_ms();
	if (d->count + 1 > d->nb)
		grow_dnodes(d);
	link_dnode(d, n);
	d->count++;
	n->peers = peers_get(d, vn);
	n->pnext = n->peers->first;
	n->peers->first = n;
	__atomic_store_n(&n->peers->n, n->peers->n + 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&d->lock);
	return n;
}

uint64_t dv_ino(const struct dview *v, uint64_t backing)
{
	if (backing == (uint64_t)v->root_ino)
		return v->id;
	uint64_t h = backing * 0x9e3779b97f4a7c15ULL ^ v->id * 0xc2b2ae3d27d4eb4fULL;
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 29;
	return FS_INO_DATA | (h & ~FS_INO_DATA);
}

void dn_attr(const struct dnode *dn, struct stat *st)
{
	st->st_ino = dv_ino(dn->view, st->st_ino);
}

double dn_ttl(const struct fs *fs)
{
	return fs->no_cache ? 0 : FS_TTL_LONG;
}

void dn_entry(struct fs *fs, const struct dnode *child, const struct stat *st,
	      struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = child->ino;
	e->generation = 0; /* node ids are never reused during a mount */
	e->attr = *st;
	dn_attr(child, &e->attr);
	e->attr_timeout = e->entry_timeout = dn_ttl(fs);
}

/* ---- coherence between views ---- */

void ds_init(struct dsync *s, int holds_dir)
{
	s->on = 0;
	s->holds_dir = holds_dir;
	s->op.batch = NULL;
}

void ds_add(struct fs_data *d, struct dsync *s, struct dnode *dn, const char *name)
{
	struct dnode *p;
	if (__atomic_load_n(&dn->peers->n, __ATOMIC_RELAXED) < 2)
		return; /* the usual case: one view, nothing to tell */
	pthread_mutex_lock(&d->lock);
	for (p = dn->peers->first; p; p = p->pnext) {
		if (p == dn || !p->nlookup)
			continue;
		if (!s->on) {
			fs_op_begin(d->fs, &s->op, s->holds_dir);
			s->on = 1;
		}
		fs_op_add_inode(&s->op, p->ino);
		if (name)
			fs_op_add_entry(&s->op, p->ino, name);
	}
	pthread_mutex_unlock(&d->lock);
}

void ds_add_vn(struct fs_data *d, struct dsync *s, const struct vnode *vn)
{
	struct dpeers *p;
	struct dnode *n;
	if (!vn)
		return;
	pthread_mutex_lock(&d->lock);
	for (p = d->ptab[mix((uint64_t)(uintptr_t)vn) & (d->pnb - 1)]; p; p = p->next)
		if (p->vn == vn)
			break;
	for (n = p ? p->first : NULL; n; n = n->pnext) {
		if (!n->nlookup)
			continue;
		if (!s->on) {
			fs_op_begin(d->fs, &s->op, s->holds_dir);
			s->on = 1;
		}
		fs_op_add_inode(&s->op, n->ino);
	}
	pthread_mutex_unlock(&d->lock);
}

void ds_self(struct fs_data *d, struct dsync *s, struct dnode *dn)
{
	if (!s->on) {
		fs_op_begin(d->fs, &s->op, s->holds_dir);
		s->on = 1;
	}
	fs_op_add_inode(&s->op, dn->ino);
}

void ds_before_reply(struct fs *fs, struct dsync *s)
{
	if (s->on)
		fs_op_before_reply(fs, &s->op);
}

void ds_after_reply(struct fs *fs, struct dsync *s)
{
	if (s->on)
		fs_op_after_reply(fs, &s->op);
	s->on = 0;
}

void data_reply_err(fuse_req_t req, int rc)
{
	fuse_reply_err(req, rc < 0 ? -rc : 0);
}

/* ---- entering a view ---- */

static void owner_of(fuse_req_t req, struct vnode_owner *o)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	o->uid = c->uid;
	o->gid = c->gid;
}

/* Makes the view tn (found as name in tree directory parent) asks for: 0 with *out
 * (listed, one reference for the caller). */
static int view_make(struct fs_data *d, fuse_req_t req, uint64_t parent, const char *name,
		     const struct tree_node *tn, struct dview **out)
{
	struct cfs_err err = {{0}};
	struct volume *vol = NULL;
	struct vnode *root = NULL;
	struct vnode_owner o;
	struct stat st;
	int rc = volume_get(d->vs, tn->volume, &vol, &err);
	if (rc == -ESTALE) /* deleted while it was being made: once more */
		rc = volume_get(d->vs, tn->volume, &vol, &err);
	if (rc < 0)
		return rc;
	owner_of(req, &o);
	rc = volume_root(vol, tn->subpath, &o, &root, &st, &err);
	if (rc < 0) {
		volume_put(vol);
		return rc;
	}
	struct dview *v = xcalloc(1, sizeof(*v));
	v->id = tn->ino;
	v->owner = tn->obj_id;
	v->volume = xstrdup(tn->volume);
	v->subpath = tn->subpath && *tn->subpath ? xstrdup(tn->subpath) : NULL;
	v->ro = !!(tn->flags & TREE_RDONLY);
	v->parent = parent;
	v->name = xstrdup(name);
	v->vol = vol;
	v->root = root;
	v->root_ino = st.st_ino;
	v->refs = 1; /* the caller's (the tables hold none: a view lives by its inodes) */
	pthread_mutex_lock(&d->lock);
	struct dview *old = view_find(d, v->id);
	if (old && view_matches(old, tn)) {
		/* Another lookup made it meanwhile: use that one. */
		old->refs++;
		pthread_mutex_unlock(&d->lock);
		view_free(v);
		*out = old;
		return 0;
	}
	if (old) {
		/* What the node shows changed (its volume was scrubbed or deleted): the old
		 * view's inodes answer dn_gone from now on. */
		__atomic_store_n(&old->dead, 1, __ATOMIC_RELEASE);
		view_unlist(d, old);
	}
	view_list(d, v);
	pthread_mutex_unlock(&d->lock);
	*out = v;
	return 0;
}

/* A view that dies between its making and the reply (its volume deleted or scrubbed
 * meanwhile) is made once more: a lookup answering ESTALE spends the VFS's one retry. */
void fs_data_enter(fuse_req_t req, uint64_t parent, const char *name, const struct tree_node *tn)
{
	struct fs *fs = fs_of(req);
	struct fs_data *d = fs->data;
	struct fuse_entry_param e;
	struct dview *v;
	struct stat st;
	int rc = -ESTALE, tries;
	if (!d || !d->vs || !tn->volume) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	for (tries = 0; tries < 2 && rc == -ESTALE; tries++) {
		pthread_mutex_lock(&d->lock);
		v = view_find(d, tn->ino);
		if (v && view_matches(v, tn))
			v->refs++;
		else
			v = NULL;
		pthread_mutex_unlock(&d->lock);
		if (!v && (rc = view_make(d, req, parent, name, tn, &v)) < 0)
			continue;
		rc = vnode_stat(v->root, &st);
		if (rc == 0) {
			struct dnode *root = dn_child(d, v, vnode_ref(v->root));
			dn_entry(fs, root, &st, &e);
			if (fuse_reply_entry(req, &e) != 0)
				dn_forget(d, root->ino, 1);
		}
		pthread_mutex_lock(&d->lock);
		int last = --v->refs == 0;
		if (last)
			view_unlist(d, v);
		pthread_mutex_unlock(&d->lock);
		if (last)
			view_free(v);
	}
	if (rc < 0)
		data_reply_err(req, rc);
}

/* ---- names ---- */

/* The child just made or found (vn, st) of dir as an entry reply. */
static void reply_child(fuse_req_t req, struct fs_data *d, struct dnode *dir, struct vnode *vn,
			const struct stat *st)
{
	struct fuse_entry_param e;
	struct dnode *c = dn_child(d, dir->view, vn);
	dn_entry(d->fs, c, st, &e);
	if (fuse_reply_entry(req, &e) != 0)
		dn_forget(d, c->ino, 1);
}

void fs_data_lookup(fuse_req_t req, uint64_t parent, const char *name)
{
	struct fs_data *d = fs_of(req)->data;
	struct dnode *dir;
	struct vnode *vn;
	struct stat st;
	int rc = dn_get_alive(d, parent, &dir);
	if (rc == 0) {
		rc = vnode_lookup(dir->vn, name, &vn, &st);
		if (rc == 0)
			reply_child(req, d, dir, vn, &st);
		dn_put(d, dir);
	}
	if (rc < 0)
		data_reply_err(req, rc);
}

void fs_data_forget(fuse_req_t req, uint64_t ino, uint64_t n)
{
	dn_forget(fs_of(req)->data, ino, n);
}

/* fstat of an open file whose view died answers what the file still reads (its own
 * descriptor), as the tree's files do; a path whose view died answers dn_gone. */
void fs_data_getattr(fuse_req_t req, uint64_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct dfile *fh = fi && fi->fh ? (struct dfile *)(uintptr_t)fi->fh : NULL;
	struct dnode *n = dn_get(fs->data, ino);
	struct stat st;
	double ttl = dn_ttl(fs);
	int rc;
	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (dn_alive(n) == 0) {
		rc = vnode_stat(n->vn, &st);
		if (rc == 0 && st.st_nlink == 0 && !fh)
			rc = -ESTALE; /* removed through another view: look the name up again */
	} else if (fh) {
		fs_fh_enter(&fh->sync);
		rc = fstat(fh->fd, &st) < 0 ? -errno : 0;
		fs_fh_leave(&fh->sync);
		ttl = 0;
	} else {
		rc = dn_gone(fs, n);
	}
	if (rc == 0) {
		dn_attr(n, &st);
		fuse_reply_attr(req, &st, ttl);
	} else {
		data_reply_err(req, rc);
	}
	dn_put(fs->data, n);
}

void fs_data_setattr(fuse_req_t req, uint64_t ino, struct stat *attr, int to_set,
		     struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct dnode *n;
	struct vnode_attr a;
	struct stat st;
	struct dsync s;
	struct dfile *fh = fi && fi->fh ? (struct dfile *)(uintptr_t)fi->fh : NULL;
	unsigned set = 0;
	int fd = -1;
	int rc = dn_get_alive(fs->data, ino, &n);
	if (rc < 0) {
		data_reply_err(req, rc);
		return;
	}
	if (fh) { /* ftruncate: through the open file (fs_fh_enter, fs_internal.h) */
		fs_fh_enter(&fh->sync);
		fd = fh->fd;
	}
	memset(&a, 0, sizeof(a));
	if (to_set & FUSE_SET_ATTR_MODE) {
		set |= VNODE_SET_MODE;
		a.mode = attr->st_mode;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		set |= VNODE_SET_UID;
		a.uid = attr->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		set |= VNODE_SET_GID;
		a.gid = attr->st_gid;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		set |= VNODE_SET_SIZE;
		a.size = attr->st_size;
	}
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW)) {
		set |= VNODE_SET_ATIME;
		a.atime = attr->st_atim;
		if (to_set & FUSE_SET_ATTR_ATIME_NOW)
			a.atime.tv_nsec = UTIME_NOW;
	}
	if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
		set |= VNODE_SET_MTIME;
		a.mtime = attr->st_mtim;
		if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			a.mtime.tv_nsec = UTIME_NOW;
	}
	ds_init(&s, 0);
	if (set && n->view->ro) {
		rc = -EROFS;
	} else if (set) {
		rc = vnode_setattr(n->vn, fd, &a, set, &st);
		ds_add(fs->data, &s, n, NULL);
	} else {
		rc = vnode_stat(n->vn, &st);
	}
	if (fh)
		fs_fh_leave(&fh->sync);
	ds_before_reply(fs, &s);
	if (rc == 0) {
		dn_attr(n, &st);
		fuse_reply_attr(req, &st, dn_ttl(fs));
	} else {
		data_reply_err(req, rc);
	}
	ds_after_reply(fs, &s);
	dn_put(fs->data, n);
}

/* access(2) as the kernel would answer it from the attributes (no default_permissions
 * mount option: the daemon's own rights are not the caller's). */
void fs_data_access(fuse_req_t req, uint64_t ino, int mask)
{
	struct fs *fs = fs_of(req);
	const struct fuse_ctx *c = fuse_req_ctx(req);
	struct dnode *n;
	struct stat st;
	int rc = dn_get_alive(fs->data, ino, &n);
	if (rc < 0) {
		data_reply_err(req, rc);
		return;
	}
	rc = vnode_stat(n->vn, &st);
	if (rc == 0 && (mask & W_OK) && n->view->ro)
		rc = -EROFS;
	if (rc == 0 && mask != F_OK) {
		unsigned bits;
		if (c->uid == 0) /* root: anything but executing what nobody may execute */
			bits = 06 | (S_ISDIR(st.st_mode) || (st.st_mode & 0111) ? 01 : 0);
		else if (c->uid == st.st_uid)
			bits = (st.st_mode >> 6) & 7;
		else if (c->gid == st.st_gid)
			bits = (st.st_mode >> 3) & 7;
		else
			bits = st.st_mode & 7;
		if (((mask & R_OK) && !(bits & 4)) || ((mask & W_OK) && !(bits & 2)) ||
		    ((mask & X_OK) && !(bits & 1)))
			rc = -EACCES;
	}
	data_reply_err(req, rc);
	dn_put(fs->data, n);
}

void fs_data_readlink(fuse_req_t req, uint64_t ino)
{
	struct fs_data *d = fs_of(req)->data;
	struct dnode *n;
	char buf[4097];
	int rc = dn_get_alive(d, ino, &n);
	if (rc == 0) {
		rc = vnode_readlink(n->vn, buf, sizeof(buf));
		dn_put(d, n);
	}
	if (rc < 0)
		data_reply_err(req, rc);
	else
		fuse_reply_readlink(req, buf);
}

/* ---- changes of names ---- */

enum made { MAKE_DIR, MAKE_NOD, MAKE_LINK };

static void make(fuse_req_t req, uint64_t parent, const char *name, enum made what, mode_t mode,
		 dev_t rdev, const char *target)
{
	struct fs *fs = fs_of(req);
	struct dnode *dir;
	struct vnode *vn = NULL;
	struct vnode_owner o;
	struct stat st;
	struct dsync s;
	int rc = dn_get_alive(fs->data, parent, &dir);
	if (rc < 0) {
		data_reply_err(req, rc);
		return;
	}
	owner_of(req, &o);
	ds_init(&s, 1);
	if (dir->view->ro)
		rc = -EROFS;
	else if (what == MAKE_DIR)
		rc = vnode_mkdir(dir->vn, name, mode, &o, &vn, &st);
	else if (what == MAKE_NOD)
		rc = vnode_mknod(dir->vn, name, mode, rdev, &o, &vn, &st);
	else
		rc = vnode_symlink(dir->vn, name, target, &o, &vn, &st);
	if (rc == 0)
		ds_add(fs->data, &s, dir, NULL);
	ds_before_reply(fs, &s);
	if (rc == 0)
		reply_child(req, fs->data, dir, vn, &st);
	else
		data_reply_err(req, rc);
	ds_after_reply(fs, &s);
	dn_put(fs->data, dir);
}

void fs_data_mkdir(fuse_req_t req, uint64_t parent, const char *name, mode_t mode)
{
	make(req, parent, name, MAKE_DIR, mode, 0, NULL);
}

void fs_data_mknod(fuse_req_t req, uint64_t parent, const char *name, mode_t mode, dev_t rdev)
{
	make(req, parent, name, MAKE_NOD, mode, rdev, NULL);
}

void fs_data_symlink(fuse_req_t req, const char *link, uint64_t parent, const char *name)
{
	make(req, parent, name, MAKE_LINK, 0777, 0, link);
}

/* What name in dir is, when another view may show it (a reference, or NULL): a removal
 * or a rename over it invalidates its inodes there, so a stat through a cached entry asks
 * again (ESTALE for a file with no name left) instead of showing it. */
static struct vnode *peer_victim(struct dnode *dir, const char *name)
{
	struct vnode *vn = NULL;
	struct stat st;
	if (__atomic_load_n(&dir->peers->n, __ATOMIC_RELAXED) < 2)
		return NULL;
	if (vnode_lookup(dir->vn, name, &vn, &st) < 0)
		return NULL;
	return vn;
}

static void remove_op(fuse_req_t req, uint64_t parent, const char *name, int is_dir)
{
	struct fs *fs = fs_of(req);
	struct dnode *dir;
	struct dsync s;
	int rc = dn_get_alive(fs->data, parent, &dir);
	if (rc < 0) {
		data_reply_err(req, rc);
		return;
	}
	ds_init(&s, 1);
	struct vnode *victim = peer_victim(dir, name);
	if (dir->view->ro)
		rc = -EROFS;
	else
		rc = is_dir ? vnode_rmdir(dir->vn, name) : vnode_unlink(dir->vn, name);
	if (rc == 0) {
		ds_add(fs->data, &s, dir, name);
		ds_add_vn(fs->data, &s, victim);
	}
	vnode_put(victim);
	ds_before_reply(fs, &s);
	data_reply_err(req, rc);
	ds_after_reply(fs, &s);
	dn_put(fs->data, dir);
}

void fs_data_unlink(fuse_req_t req, uint64_t parent, const char *name)
{
	remove_op(req, parent, name, 0);
}

void fs_data_rmdir(fuse_req_t req, uint64_t parent, const char *name)
{
	remove_op(req, parent, name, 1);
}

void fs_data_link(fuse_req_t req, uint64_t ino, uint64_t newparent, const char *newname)
{
	struct fs *fs = fs_of(req);
	struct fs_data *d = fs->data;
	struct dnode *n, *dir;
	struct stat st;
	struct dsync s;
	int rc;
	if (!fs_is_data(ino) || !fs_is_data(newparent)) {
		fuse_reply_err(req, EXDEV);
		return;
	}
	if ((rc = dn_get_alive(d, ino, &n)) < 0) {
		data_reply_err(req, rc);
		return;
	}
	if ((rc = dn_get_alive(d, newparent, &dir)) < 0) {
		dn_put(d, n);
		data_reply_err(req, rc);
		return;
	}
	ds_init(&s, 1);
	if (n->view != dir->view) /* another mount, even of the same volume */
		rc = -EXDEV;
	else if (dir->view->ro)
		rc = -EROFS;
	else
		rc = vnode_link(n->vn, dir->vn, newname, &st);
	if (rc == 0) {
		ds_add(d, &s, dir, NULL);
		ds_add(d, &s, n, NULL);
	}
	ds_before_reply(fs, &s);
	if (rc == 0)
		reply_child(req, d, dir, vnode_ref(n->vn), &st);
	else
		data_reply_err(req, rc);
	ds_after_reply(fs, &s);
	dn_put(d, dir);
	dn_put(d, n);
}

void fs_data_rename(fuse_req_t req, uint64_t parent, const char *name, uint64_t newparent,
		    const char *newname, unsigned int flags)
{
	struct fs *fs = fs_of(req);
	struct fs_data *d = fs->data;
	struct dnode *dir, *ndir;
	struct dsync s;
	int rc;
	if (!fs_is_data(parent) || !fs_is_data(newparent)) {
		fuse_reply_err(req, EXDEV); /* between the tree and a volume: mv copies */
		return;
	}
	if ((rc = dn_get_alive(d, parent, &dir)) < 0) {
		data_reply_err(req, rc);
		return;
	}
	if ((rc = dn_get_alive(d, newparent, &ndir)) < 0) {
		dn_put(d, dir);
		data_reply_err(req, rc);
		return;
	}
	ds_init(&s, 1);
	struct vnode *victim = dir->view == ndir->view ? peer_victim(ndir, newname) : NULL;
	if (dir->view != ndir->view)
		rc = -EXDEV;
	else if (dir->view->ro)
		rc = -EROFS;
	else
		rc = vnode_rename(dir->vn, name, ndir->vn, newname, flags);
	if (rc == 0) {
		ds_add(d, &s, dir, name);
		ds_add(d, &s, ndir, newname);
		ds_add_vn(d, &s, victim);
	}
	vnode_put(victim);
	ds_before_reply(fs, &s);
	data_reply_err(req, rc);
	ds_after_reply(fs, &s);
	dn_put(d, ndir);
	dn_put(d, dir);
}
