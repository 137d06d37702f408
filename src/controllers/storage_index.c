/* storage_index.c - the storage controllers' per-cluster indexes (CLUSTER_SLOT_STORAGE):
 * entries per PV and claim, per-class state (Available PVs by volumeMode and access-mode
 * set, waiting claims in creation order, the pool's running sums), the claimRef index and
 * the default classes. Kept current by the kinds' index hooks, which run for every insert,
 * change and removal (also while loading) and never touch objects or the work queue.
 * See storage_internal.h for the layout and the cost of each operation. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/idmap.h"
#include "claimfs/fnv.h"
#include "claimfs/volume.h"
#include "storage_internal.h"

/* ---- string -> pointer map: chained ---- */

struct snode {
	char *key;
	void *val;
	struct snode *next;
};

struct smap {
	struct snode **b;
	size_t cap, n;
};

static struct snode **smap_find(struct smap *m, const char *key)
{
	struct snode **pp;
	if (!m->cap)
		return NULL;
	for (pp = &m->b[fnv64_str(key) & (m->cap - 1)]; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->key, key) == 0)
			return pp;
	return NULL;
}

static void *smap_get(struct smap *m, const char *key)
{
	struct snode **pp = smap_find(m, key);
	return pp ? (*pp)->val : NULL;
}

static void smap_put(struct smap *m, const char *key, void *val)
{
	struct snode **pp = smap_find(m, key), *n;
	size_t i;
	if (pp) {
		(*pp)->val = val;
		return;
	}
	if (m->n + 1 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 64;
		struct snode **nb = xcalloc(ncap, sizeof(*nb));
		for (i = 0; i < m->cap; i++) {
			struct snode *x, *next;
			for (x = m->b[i]; x; x = next) {
				next = x->next;
				size_t h = fnv64_str(x->key) & (ncap - 1);
				x->next = nb[h];
				nb[h] = x;
			}
		}
		free(m->b);
		m->b = nb;
		m->cap = ncap;
	}
	n = xcalloc(1, sizeof(*n));
	n->key = xstrdup(key);
	n->val = val;
	i = fnv64_str(key) & (m->cap - 1);
	n->next = m->b[i];
	m->b[i] = n;
	m->n++;
}

static void smap_del(struct smap *m, const char *key)
{
	struct snode **pp = smap_find(m, key), *n;
	if (!pp)
		return;
	n = *pp;
	*pp = n->next;
	free(n->key);
	free(n);
	m->n--;
}

/* ---- treaps ---- */

typedef int (*tcmp_fn)(const struct tnode *a, const struct tnode *b);

#define PV_OF(t) ((struct pv_entry *)((char *)(t)-offsetof(struct pv_entry, node)))
#define PVC_OF(t) ((struct pvc_entry *)((char *)(t)-offsetof(struct pvc_entry, node)))

/* Keys are unique: (bytes, name) for PVs, (creation time, store id) for claims. */
static int cmp_pv(const struct tnode *a, const struct tnode *b)
{
	const struct pv_entry *x = PV_OF(a), *y = PV_OF(b);
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? -1 : 1;
	return strcmp(x->obj->name, y->obj->name);
}

static int cmp_pvc(const struct tnode *a, const struct tnode *b)
{
	const struct pvc_entry *x = PVC_OF(a), *y = PVC_OF(b);
	if (x->created_ms != y->created_ms)
		return x->created_ms < y->created_ms ? -1 : 1;
	if (x->obj->id != y->obj->id)
		return x->obj->id < y->obj->id ? -1 : 1;
	return 0;
}

/* Splits t into keys < n (l) and keys >= n (r). */
static void t_split(struct tnode *t, const struct tnode *n, tcmp_fn cmp, struct tnode **l,
		    struct tnode **r)
{
	if (!t) {
		*l = *r = NULL;
	} else if (cmp(t, n) < 0) {
		t_split(t->r, n, cmp, &t->r, r);
		*l = t;
	} else {
		t_split(t->l, n, cmp, l, &t->l);
		*r = t;
	}
}

static struct tnode *t_insert(struct tnode *t, struct tnode *n, tcmp_fn cmp)
{
	if (!t) {
		n->l = n->r = NULL;
		return n;
	}
	if (n->prio > t->prio) {
		t_split(t, n, cmp, &n->l, &n->r);
		return n;
	}
	if (cmp(n, t) < 0)
		t->l = t_insert(t->l, n, cmp);
	else
		t->r = t_insert(t->r, n, cmp);
	return t;
}

static struct tnode *t_merge(struct tnode *a, struct tnode *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (a->prio > b->prio) {
		a->r = t_merge(a->r, b);
		return a;
	}
	b->l = t_merge(a, b->l);
	return b;
}

/* n must be in t with its key unchanged since insertion. */
static struct tnode *t_remove(struct tnode *t, struct tnode *n, tcmp_fn cmp)
{
	if (!t)
		return NULL;
	if (t == n)
		return t_merge(t->l, t->r);
	if (cmp(n, t) < 0)
		t->l = t_remove(t->l, n, cmp);
	else
		t->r = t_remove(t->r, n, cmp);
	return t;
}

/* ---- state ---- */

struct storage_state {
	struct idmap pvs, pvcs;	  /* store id -> pv_entry / pvc_entry */
	struct smap classes;	  /* class name -> struct sclass */
	struct smap refs;	  /* "ns/name" -> pv_entry chain */
	struct smap wants;	  /* volumeName -> pvc_entry chain (unbound claims) */
	struct object **defaults; /* default StorageClass objects */
	size_t ndefaults, capdefaults;
	int defaults_changed;  /* set when the default set changes */
	struct sclass **dirty; /* classes to drain (watch enqueues their objects) */
	size_t ndirty, capdirty;
	uint32_t rng;	       /* treap priorities (xorshift) */
	int draining;	       /* a drain is running */
	struct smap claimpods; /* "ns/claim" -> podlink chain */
	struct idmap podlinks; /* pod id -> its first podlink */
	int pods_indexed;      /* storage_pod_index is installed */
};

struct podlink {
	struct object *pod;    /* the pod */
	char *key;	       /* "ns/claim"; owned */
	struct podlink *knext; /* next link with the same key */
	struct podlink *pnext; /* next link of the same pod */
};

static void *state_init(void)
{
	struct storage_state *st = xcalloc(1, sizeof(*st));
	st->rng = 2463534242u;
	return st;
}

static void state_fini(void *p)
{
	struct storage_state *st = p;
	size_t i;
	/* The objects are gone already: free only what the entries own. */
	for (i = 0; i < st->pvs.cap; i++)
		if (st->pvs.keys[i]) {
			struct pv_entry *pe = st->pvs.vals[i];
			free(pe->cap_str);
			free(pe->ref_key);
			free(pe);
		}
	for (i = 0; i < st->pvcs.cap; i++)
		if (st->pvcs.keys[i]) {
			struct pvc_entry *ce = st->pvcs.vals[i];
			free(ce->req_str);
			free(ce->status_str);
			free(ce->want_key);
			free(ce);
		}
	for (i = 0; i < st->classes.cap; i++) {
		struct snode *n, *next;
		for (n = st->classes.b[i]; n; n = next) {
			struct sclass *c = n->val;
			next = n->next;
			free(c->name);
			free(c);
			free(n->key);
			free(n);
		}
	}
	for (i = 0; i < st->refs.cap; i++) {
		struct snode *n, *next;
		for (n = st->refs.b[i]; n; n = next) {
			next = n->next;
			free(n->key);
			free(n);
		}
	}
	for (i = 0; i < st->wants.cap; i++) {
		struct snode *n, *next;
		for (n = st->wants.b[i]; n; n = next) {
			next = n->next;
			free(n->key);
			free(n);
		}
	}
	for (i = 0; i < st->claimpods.cap; i++) {
		struct snode *n, *next;
		for (n = st->claimpods.b[i]; n; n = next) {
			struct podlink *l, *ln;
			next = n->next;
			for (l = n->val; l; l = ln) {
				ln = l->knext;
				free(l->key);
				free(l);
			}
			free(n->key);
			free(n);
		}
	}
	free(st->claimpods.b);
	idmap_release(&st->podlinks);
	free(st->classes.b);
	free(st->refs.b);
	free(st->wants.b);
	idmap_release(&st->pvs);
	idmap_release(&st->pvcs);
	free(st->defaults);
	free(st->dirty);
	free(st);
}

static struct storage_state *state(struct cluster *cl)
{
	return cluster_slot(cl, CLUSTER_SLOT_STORAGE, state_init, state_fini);
}

static uint32_t next_prio(struct storage_state *st)
{
	uint32_t x = st->rng;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return st->rng = x;
}

struct sclass *storage_class(struct cluster *cl, const char *name, int create)
{
	struct storage_state *st = state(cl);
	struct sclass *c = smap_get(&st->classes, name);
	if (c || !create)
		return c;
	c = xcalloc(1, sizeof(*c));
	c->name = xstrdup(name);
	c->capacity = DEFAULT_POOL_BYTES;
	smap_put(&st->classes, name, c);
	return c;
}

static void mark_dirty(struct storage_state *st, struct sclass *c)
{
	c->dirty = 1;
	if (c->listed)
		return;
	if (st->ndirty == st->capdirty) {
		st->capdirty = st->capdirty ? st->capdirty * 2 : 8;
		st->dirty = xrealloc(st->dirty, st->capdirty * sizeof(*st->dirty));
	}
	st->dirty[st->ndirty++] = c;
	c->listed = 1;
}

void storage_flush_dirty(struct cluster *cl)
{
	struct storage_state *st = state(cl);
	const struct kind *sck = cluster_kind(cl, "StorageClass");
	size_t i;
	for (i = 0; i < st->ndirty; i++) {
		struct sclass *c = st->dirty[i];
		c->listed = 0;
		if (c->dirty && c->exists)
			cluster_enqueue(cl, store_get(cluster_store(cl), sck, NULL, c->name));
	}
	st->ndirty = 0;
}

int storage_default_changed(struct cluster *cl)
{
	struct storage_state *st = state(cl);
	int v = st->defaults_changed;
	st->defaults_changed = 0;
	return v;
}

int *storage_draining(struct cluster *cl)
{
	return &state(cl)->draining;
}

struct pv_entry *storage_pv(struct cluster *cl, const struct object *pv)
{
	return idmap_get(&state(cl)->pvs, pv->id);
}

struct pvc_entry *storage_pvc(struct cluster *cl, const struct object *pvc)
{
	return idmap_get(&state(cl)->pvcs, pvc->id);
}

struct pvc_entry *storage_pvc_by_id(struct cluster *cl, uint64_t id)
{
	return idmap_get(&state(cl)->pvcs, id);
}

struct pv_entry *storage_pv_by_id(struct cluster *cl, uint64_t id)
{
	return idmap_get(&state(cl)->pvs, id);
}

void storage_settled(uint64_t *rv, uint64_t *peer_id, uint64_t *peer_rv, const struct object *self,
		     const struct object *peer)
{
	*rv = self->rv;
	*peer_id = peer->id;
	*peer_rv = peer->rv;
}

int storage_unchanged_pvc(struct cluster *cl, const struct object *pvc)
{
	struct pvc_entry *ce = storage_pvc(cl, pvc);
	struct pv_entry *pe;
	if (!ce || !ce->synced_rv || ce->synced_rv != pvc->rv)
		return 0;
	pe = storage_pv_by_id(cl, ce->synced_peer_id);
	return pe && pe->obj->rv == ce->synced_peer_rv;
}

int storage_unchanged_pv(struct cluster *cl, const struct object *pv)
{
	struct pv_entry *pe = storage_pv(cl, pv);
	struct pvc_entry *ce;
	if (!pe || !pe->synced_rv || pe->synced_rv != pv->rv)
		return 0;
	ce = storage_pvc_by_id(cl, pe->synced_peer_id);
	return ce && ce->obj->rv == pe->synced_peer_rv;
}

struct object *const *storage_defaults(struct cluster *cl, size_t *n)
{
	struct storage_state *st = state(cl);
	*n = st->ndefaults;
	return st->defaults;
}

static void ref_key(const char *ns, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", ns ? ns : "", name ? name : "");
}

struct pv_entry *storage_refs(struct cluster *cl, const char *ns, const char *name)
{
	char key[600];
	ref_key(ns, name, key, sizeof(key));
	return smap_get(&state(cl)->refs, key);
}

struct pvc_entry *storage_wanting(struct cluster *cl, const char *pv)
{
	return smap_get(&state(cl)->wants, pv);
}

int64_t storage_free(const struct sclass *cls)
{
	return cls->capacity - cls->allocated - cls->reserved;
}

void storage_reserve(struct pvc_entry *ce, int64_t bytes)
{
	if (ce->prov_reserved && ce->cls)
		ce->cls->reserved -= ce->prov_reserved;
	ce->prov_reserved = 0;
	if (bytes > 0 && ce->cls) {
		ce->cls->reserved += bytes;
		ce->prov_reserved = bytes;
	}
}

/* ---- walks ---- */

struct walk {
	int64_t min;
	int (*fn)(struct pv_entry *, void *);
	void *ctx;
};

static int walk_from(struct tnode *t, const struct walk *w)
{
	int r;
	while (t) {
		struct pv_entry *pe = PV_OF(t);
		if (pe->bytes >= w->min) {
			if ((r = walk_from(t->l, w)) != 0)
				return r;
			if ((r = w->fn(pe, w->ctx)) != 0)
				return r;
		}
		t = t->r;
	}
	return 0;
}

int storage_avail_walk(struct sclass *cls, int block, unsigned modes, int64_t min_bytes,
		       int (*fn)(struct pv_entry *pe, void *ctx), void *ctx)
{
	struct walk w = {min_bytes, fn, ctx};
	if (!cls || modes >= AM_SETS)
		return 0;
	return walk_from(cls->avail[block ? 1 : 0][modes], &w);
}

static void collect_ids(struct tnode *t, uint64_t *ids, size_t *n)
{
	while (t) {
		collect_ids(t->l, ids, n);
		ids[(*n)++] = PVC_OF(t)->obj->id;
		t = t->r;
	}
}

size_t storage_pending_ids(struct sclass *cls, uint64_t **ids)
{
	size_t n = 0;
	*ids = xcalloc(cls->npending + 1, sizeof(**ids));
	collect_ids(cls->pending, *ids, &n);
	return n;
}

/* ---- views: the fields the indexes read, looked up once per change ---- */

static const char *str_of(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int deleting_of(const json_t *meta)
{
	json_t *v = json_object_get(meta, "deletionTimestamp");
	return v && !json_is_null(v);
}

struct pv_view {
	const char *phase, *rns, *rname, *ruid, *cap, *cls, *provisioned_by;
	const json_t *modes;
	int block, deleting, message;
};

/* An access-mode array as a number, equal for two arrays exactly when json_equal says
 * they are: 2 bits per element (the four modes), its length in the top byte; absent (0)
 * and unknown (anything else in it, or too long) have codes of their own. */
#define MODES_ABSENT 0
#define MODES_UNKNOWN UINT64_MAX

static uint64_t modes_code(const json_t *arr)
{
	static const char *const names[] = {"ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany",
					    "ReadWriteOncePod"};
	size_t i, n = json_array_size(arr), m;
	uint64_t code = 0;
	if (!arr)
		return MODES_ABSENT;
	if (!json_is_array(arr) || n > 28)
		return MODES_UNKNOWN;
	for (i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		for (m = 0; s && m < 4 && strcmp(s, names[m]) != 0; m++)
			;
		if (!s || m == 4)
			return MODES_UNKNOWN;
		code |= (uint64_t)m << (2 * i);
	}
	return code | (uint64_t)(n + 1) << 56;
}

static void view_pv(const json_t *j, struct pv_view *v)
{
	json_t *meta = json_object_get(j, "metadata"), *spec = json_object_get(j, "spec");
	json_t *ann = json_object_get(meta, "annotations"),
	       *ref = json_object_get(spec, "claimRef");
	const char *mode = str_of(spec, "volumeMode");
	v->phase = str_of(json_object_get(j, "status"), "phase");
	v->rns = str_of(ref, "namespace");
	v->rname = str_of(ref, "name");
	v->ruid = str_of(ref, "uid");
	v->cap = str_of(json_object_get(spec, "capacity"), "storage");
	v->cls = str_of(ann, ANN_BETA_CLASS);
	if (!v->cls)
		v->cls = str_of(spec, "storageClassName");
	v->provisioned_by = str_of(ann, ANN_PROVISIONED_BY);
	v->modes = json_object_get(spec, "accessModes");
	v->block = mode && strcmp(mode, "Block") == 0;
	v->deleting = deleting_of(meta);
	v->message = str_of(json_object_get(j, "status"), "message") != NULL;
}

struct pvc_view {
	const char *phase, *volume, *request, *status_cap, *cls, *created;
	const json_t *status_modes;
	int deleting, bind_completed;
};

static void view_pvc(const json_t *j, struct pvc_view *v)
{
	json_t *meta = json_object_get(j, "metadata"), *spec = json_object_get(j, "spec");
	json_t *status = json_object_get(j, "status");
	v->phase = str_of(status, "phase");
	v->volume = str_of(spec, "volumeName");
	v->request =
	    str_of(json_object_get(json_object_get(spec, "resources"), "requests"), "storage");
	v->status_cap = str_of(json_object_get(status, "capacity"), "storage");
	v->cls = str_of(json_object_get(meta, "annotations"), ANN_BETA_CLASS);
	if (!v->cls)
		v->cls = str_of(spec, "storageClassName");
	v->created = str_of(meta, "creationTimestamp");
	v->deleting = deleting_of(meta);
	v->status_modes = json_object_get(status, "accessModes");
	v->bind_completed =
	    str_of(json_object_get(meta, "annotations"), ANN_BIND_COMPLETED) != NULL;
}

/* ---- settled pairs found while loading ----
 * The resume after a load syncs every object. A bound claim and its volume that a saved
 * state shows consistent would come out of pvc_sync -> sync_bound -> storage_bind ->
 * expansion_sync unchanged, with both recorded as settled: record that at once, from
 * what the index hooks read anyway, so that those syncs return at the first check
 * (storage_unchanged_*) instead of reading both objects' JSON again (cold by then: a
 * third of a mount of 100,000 claims). Every condition below is one of those syncs'
 * (the uids are compared in the JSON, once). Only while loading: later, the syncs
 * themselves record it. */
static void presettle(struct cluster *cl, struct pvc_entry *ce, struct pv_entry *pe)
{
	struct object *pvc = ce->obj, *pv = pe->obj;
	char key[600];
	if (!ce->bound_facts || !pe->bound_facts || !ce->want_key || !pe->ref_key ||
	    strcmp(ce->want_key, pv->name) != 0 || !pvc->ns)
		return;
	ref_key(pvc->ns, pvc->name, key, sizeof(key));
	if (strcmp(pe->ref_key, key) != 0)
		return;
	/* storage_bind copies the volume's access modes to the claim's status */
	if (pe->modes_code != MODES_ABSENT &&
	    (pe->modes_code == MODES_UNKNOWN || pe->modes_code != ce->modes_code))
		return;
	const char *uid = jstr(object_json(pvc), "metadata.uid"),
		   *ruid = jstr(object_json(pv), "spec.claimRef.uid");
	if (!uid || !ruid || strcmp(uid, ruid) != 0)
		return;
	storage_settled(&ce->synced_rv, &ce->synced_peer_id, &ce->synced_peer_rv, pvc, pv);
	storage_settled(&pe->synced_rv, &pe->synced_peer_id, &pe->synced_peer_rv, pv, pvc);
}

/* ---- signatures: what the watches compare ---- */

static uint64_t pv_signature(const struct pv_view *v)
{
	uint64_t h = STORAGE_HASH_INIT;
	h = storage_hash_add(h, v->phase);
	h = storage_hash_add(h, v->rns);
	h = storage_hash_add(h, v->rname);
	h = storage_hash_add(h, v->ruid);
	h = storage_hash_add(h, v->cap);
	h = storage_hash_add(h, v->deleting ? "d" : "");
	return h | 1; /* never 0: 0 means "did not exist" */
}

static uint64_t pvc_signature(const struct pvc_view *v)
{
	uint64_t h = STORAGE_HASH_INIT;
	h = storage_hash_add(h, v->phase);
	h = storage_hash_add(h, v->volume);
	h = storage_hash_add(h, v->deleting ? "d" : "");
	return h | 1;
}

/* ---- PVs ---- */

static void pv_unlink_ref(struct storage_state *st, struct pv_entry *pe)
{
	struct pv_entry *head, **pp;
	if (!pe->ref_key)
		return;
	head = smap_get(&st->refs, pe->ref_key);
	for (pp = &head; *pp; pp = &(*pp)->ref_next)
		if (*pp == pe) {
			*pp = pe->ref_next;
			break;
		}
	if (head)
		smap_put(&st->refs, pe->ref_key, head);
	else
		smap_del(&st->refs, pe->ref_key);
	free(pe->ref_key);
	pe->ref_key = NULL;
	pe->ref_next = NULL;
}

static void pv_link_ref(struct storage_state *st, struct pv_entry *pe, const char *key)
{
	pe->ref_key = xstrdup(key);
	pe->ref_next = smap_get(&st->refs, key);
	smap_put(&st->refs, key, pe);
}

static void pv_unavail(struct pv_entry *pe)
{
	if (!pe->in_avail)
		return;
	struct tnode **root = &pe->cls->avail[pe->block][pe->modes];
	*root = t_remove(*root, &pe->node, cmp_pv);
	pe->in_avail = 0;
}

static void pv_uncount(struct storage_state *st, struct pv_entry *pe)
{
	if (!pe->counted)
		return;
	pe->cls->allocated -= pe->counted_bytes;
	pe->counted = 0;
	if (pe->counted_bytes > 0)
		mark_dirty(st, pe->cls);
}

void storage_index_pv(struct cluster *cl, struct object *obj, int removed)
{
	struct storage_state *st = state(cl);
	struct pv_entry *pe = idmap_get(&st->pvs, obj->id);
	const json_t *j = object_json(obj);
	char key[600];

	if (removed) {
		volumes_set_capacity(volumes_of(cl), obj->name, -1);
		if (!pe)
			return;
		pv_unavail(pe);
		pv_uncount(st, pe);
		pv_unlink_ref(st, pe);
		idmap_del(&st->pvs, obj->id);
		free(pe->cap_str);
		free(pe);
		return;
	}
	if (!pe) {
		pe = xcalloc(1, sizeof(*pe));
		pe->obj = obj;
		pe->bytes = -1;
		idmap_put(&st->pvs, obj->id, pe);
	}
	struct pv_view v;
	view_pv(j, &v);
	pe->sig_prev = pe->sig;
	pe->sig = pv_signature(&v);

	/* Take it out under its old keys, then put it back under the new ones. */
	pv_unavail(pe);
	struct sclass *cls = pe->cls && strcmp(pe->cls->name, v.cls ? v.cls : "") == 0
				 ? pe->cls
				 : storage_class(cl, v.cls ? v.cls : "", 1);
	const char *cap = v.cap;
	if (!cap || !pe->cap_str || strcmp(cap, pe->cap_str) != 0) {
		free(pe->cap_str);
		pe->cap_str = cap ? xstrdup(cap) : NULL;
		pe->bytes = storage_bytes(cap);
		/* The volume's data (volume.h) takes the capacity at once: expansion. */
		volumes_set_capacity(volumes_of(cl), obj->name, pe->bytes > 0 ? pe->bytes : 0);
	}
	pe->modes = storage_modes(v.modes) & (AM_SETS - 1);
	pe->block = v.block;

	const char *rns = v.rns, *rname = v.rname;
	if (rname) {
		ref_key(rns, rname, key, sizeof(key));
		if (!pe->ref_key || strcmp(pe->ref_key, key) != 0) {
			pv_unlink_ref(st, pe);
			pv_link_ref(st, pe, key);
		}
	} else {
		pv_unlink_ref(st, pe);
	}

	/* Pool accounting: a provisioned PV counts in its class while it exists. */
	int want = v.provisioned_by != NULL && pe->bytes > 0;
	if (pe->counted && (!want || pe->cls != cls || pe->counted_bytes != pe->bytes)) {
		struct sclass *old = pe->cls;
		int64_t ob = pe->counted_bytes;
		old->allocated -= ob;
		pe->counted = 0;
		if (!want || old != cls || pe->bytes < ob)
			mark_dirty(st, old);
	}
	pe->cls = cls;
	if (want && !pe->counted) {
		cls->allocated += pe->bytes;
		pe->counted = 1;
		pe->counted_bytes = pe->bytes;
	}

	if (v.phase && strcmp(v.phase, "Available") == 0 && !rname && !v.deleting &&
	    pe->bytes >= 0 && pe->modes) {
		pe->node.prio = next_prio(st);
		struct tnode **root = &cls->avail[pe->block][pe->modes];
		*root = t_insert(*root, &pe->node, cmp_pv);
		pe->in_avail = 1;
	}

	pe->modes_code = modes_code(v.modes);
	pe->bound_facts = v.phase && strcmp(v.phase, "Bound") == 0 && !v.message && rname &&
			  v.ruid && !v.deleting;
	if (cluster_loading(cl) && pe->bound_facts && v.rns) {
		struct object *claim = store_get(
		    cluster_store(cl), cluster_kind(cl, "PersistentVolumeClaim"), v.rns, rname);
		struct pvc_entry *ce = claim ? storage_pvc(cl, claim) : NULL;
		if (ce)
			presettle(cl, ce, pe);
	}
}

/* ---- claims ---- */

static void pvc_unwant(struct storage_state *st, struct pvc_entry *ce)
{
	struct pvc_entry *head, **pp;
	if (!ce->want_key)
		return;
	head = smap_get(&st->wants, ce->want_key);
	for (pp = &head; *pp; pp = &(*pp)->want_next)
		if (*pp == ce) {
			*pp = ce->want_next;
			break;
		}
	if (head)
		smap_put(&st->wants, ce->want_key, head);
	else
		smap_del(&st->wants, ce->want_key);
	free(ce->want_key);
	ce->want_key = NULL;
	ce->want_next = NULL;
}

static void pvc_unpend(struct pvc_entry *ce)
{
	if (!ce->in_pending)
		return;
	ce->cls->pending = t_remove(ce->cls->pending, &ce->node, cmp_pvc);
	ce->cls->npending--;
	ce->in_pending = 0;
}

void storage_index_pvc(struct cluster *cl, struct object *obj, int removed)
{
	struct storage_state *st = state(cl);
	struct pvc_entry *ce = idmap_get(&st->pvcs, obj->id);
	struct pvc_view v;

	if (removed) {
		if (!ce)
			return;
		pvc_unpend(ce);
		pvc_unwant(st, ce);
		storage_reserve(ce, 0);
		idmap_del(&st->pvcs, obj->id);
		free(ce->req_str);
		free(ce->status_str);
		free(ce);
		return;
	}
	view_pvc(object_json(obj), &v);
	if (!ce) {
		ce = xcalloc(1, sizeof(*ce));
		ce->obj = obj;
		ce->request = -1;
		ce->created_ms = jtime_parse(v.created);
		idmap_put(&st->pvcs, obj->id, ce);
	}
	ce->sig_prev = ce->sig;
	ce->sig = pvc_signature(&v);
	ce->deleting_prev = ce->deleting;
	ce->deleting = v.deleting;

	if (!v.request || !ce->req_str || strcmp(v.request, ce->req_str) != 0) {
		free(ce->req_str);
		ce->req_str = v.request ? xstrdup(v.request) : NULL;
		ce->request = storage_bytes(v.request);
	}
	int bound = v.phase && strcmp(v.phase, "Bound") == 0;
	int unbound = !v.phase || strcmp(v.phase, "Pending") == 0;
	const char *st_cap = bound ? v.status_cap : NULL;
	if (!st_cap || !ce->status_str || strcmp(st_cap, ce->status_str) != 0) {
		free(ce->status_str);
		ce->status_str = st_cap ? xstrdup(st_cap) : NULL;
		int64_t b = storage_bytes(st_cap);
		ce->status_bytes = b > 0 ? b : 0;
	}
	const char *cname = v.cls ? v.cls : "";
	struct sclass *cls =
	    ce->cls && strcmp(ce->cls->name, cname) == 0 ? ce->cls : storage_class(cl, cname, 1);
	int pending = !v.deleting && (unbound || (bound && ce->request > ce->status_bytes));
	int named = v.volume && *v.volume;

	if (ce->in_pending && (!pending || ce->cls != cls))
		pvc_unpend(ce);
	if (ce->prov_reserved && (ce->cls != cls || !unbound || named))
		storage_reserve(ce, 0);
	if (!unbound || named)
		ce->prov_due = 0;
	ce->cls = cls;
	ce->nil_class = v.cls == NULL;
	if (named) {
		if (!ce->want_key || strcmp(ce->want_key, v.volume) != 0) {
			pvc_unwant(st, ce);
			ce->want_key = xstrdup(v.volume);
			ce->want_next = smap_get(&st->wants, v.volume);
			smap_put(&st->wants, v.volume, ce);
		}
	} else {
		pvc_unwant(st, ce);
	}
	if (pending && !ce->in_pending) {
		ce->node.prio = next_prio(st);
		cls->pending = t_insert(cls->pending, &ce->node, cmp_pvc);
		cls->npending++;
		ce->in_pending = 1;
	}

	ce->modes_code = modes_code(v.status_modes);
	ce->bound_facts =
	    v.bind_completed && bound && named && !v.deleting && ce->request <= ce->status_bytes;
	if (cluster_loading(cl) && ce->bound_facts) {
		struct object *pv = store_get(cluster_store(cl),
					      cluster_kind(cl, "PersistentVolume"), NULL, v.volume);
		struct pv_entry *pe = pv ? storage_pv(cl, pv) : NULL;
		if (pe)
			presettle(cl, ce, pe);
	}
}

/* ---- classes ---- */

static int is_default(const json_t *sc)
{
	const char *a = jannotation(sc, ANN_IS_DEFAULT_CLASS);
	const char *b = jannotation(sc, ANN_BETA_IS_DEFAULT_CLASS);
	return (a && strcmp(a, "true") == 0) || (b && strcmp(b, "true") == 0);
}

static int defaults_drop(struct storage_state *st, const struct object *sc)
{
	size_t i;
	for (i = 0; i < st->ndefaults; i++)
		if (st->defaults[i] == sc) {
			st->defaults[i] = st->defaults[--st->ndefaults];
			return 1;
		}
	return 0;
}

void storage_index_sc(struct cluster *cl, struct object *obj, int removed)
{
	struct storage_state *st = state(cl);
	struct sclass *c = storage_class(cl, obj->name, 1);
	int was = defaults_drop(st, obj);

	if (removed) {
		c->exists = 0;
		c->capacity = DEFAULT_POOL_BYTES;
		if (was)
			st->defaults_changed = 1;
		return;
	}
	if (is_default(object_json(obj))) {
		if (st->ndefaults == st->capdefaults) {
			st->capdefaults = st->capdefaults ? st->capdefaults * 2 : 4;
			st->defaults =
			    xrealloc(st->defaults, st->capdefaults * sizeof(*st->defaults));
		}
		st->defaults[st->ndefaults++] = obj;
		if (!was)
			st->defaults_changed = 1;
	} else if (was) {
		st->defaults_changed = 1;
	}
	int64_t cap = DEFAULT_POOL_BYTES;
	const char *p = jstr(object_json(obj), "parameters.capacity");
	if (p) {
		int64_t b = storage_bytes(p);
		if (b >= 0)
			cap = b;
	}
	if (!c->exists || cap > c->capacity)
		mark_dirty(st, c); /* claims waiting for this class or for space retry */
	c->capacity = cap;
	c->exists = 1;
}

/* ---- pods by claim ---- */

static void pod_unlink(struct storage_state *st, struct object *pod)
{
	struct podlink *l = idmap_get(&st->podlinks, pod->id), *next;
	for (; l; l = next) {
		struct podlink *head = smap_get(&st->claimpods, l->key), **pp;
		next = l->pnext;
		for (pp = &head; *pp; pp = &(*pp)->knext)
			if (*pp == l) {
				*pp = l->knext;
				break;
			}
		if (head)
			smap_put(&st->claimpods, l->key, head);
		else
			smap_del(&st->claimpods, l->key);
		free(l->key);
		free(l);
	}
	idmap_del(&st->podlinks, pod->id);
}

void storage_pod_index(struct cluster *cl, struct object *pod, int removed)
{
	struct storage_state *st = state(cl);
	struct podlink *first = NULL;
	json_t *v;
	size_t i;
	char key[600];
	st->pods_indexed = 1;
	if (removed) {
		pod_unlink(st, pod);
		return;
	}
	if (idmap_get(&st->podlinks, pod->id))
		return; /* linked at insertion; a pod's volumes never change */
	json_array_foreach(jget(object_json(pod), "spec.volumes"), i, v)
	{
		char buf[POD_CLAIM_MAX];
		const char *c = pod_volume_claim(object_json(pod), v, buf);
		if (!c)
			continue;
		ref_key(pod->ns, c, key, sizeof(key));
		struct podlink *l = xcalloc(1, sizeof(*l));
		l->pod = pod;
		l->key = xstrdup(key);
		l->knext = smap_get(&st->claimpods, key);
		smap_put(&st->claimpods, key, l);
		l->pnext = first;
		first = l;
	}
	if (first)
		idmap_put(&st->podlinks, pod->id, first);
}

size_t storage_claim_pods(struct cluster *cl, const char *ns, const char *claim,
			  struct object ***out)
{
	struct storage_state *st = state(cl);
	size_t n = 0, cap = 8, np, i;
	char key[600];
	*out = xcalloc(cap, sizeof(**out));
	if (st->pods_indexed) {
		struct podlink *l;
		ref_key(ns, claim, key, sizeof(key));
		for (l = smap_get(&st->claimpods, key); l; l = l->knext) {
			if (n == cap) {
				cap *= 2;
				*out = xrealloc(*out, cap * sizeof(**out));
			}
			(*out)[n++] = l->pod;
		}
		return n;
	}
	const struct kind *pk = cluster_kind(cl, "Pod");
	if (!pk || !ns)
		return 0;
	struct object *const *pods = store_list(cluster_store(cl), pk, ns, &np);
	for (i = 0; i < np; i++) {
		if (!pod_uses_claim(object_json(pods[i]), claim))
			continue;
		if (n == cap) {
			cap *= 2;
			*out = xrealloc(*out, cap * sizeof(**out));
		}
		(*out)[n++] = pods[i];
	}
	return n;
}
