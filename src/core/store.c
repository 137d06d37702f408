/* store.c - the object store (store.h): a hash of every object by (kind, namespace,
 * name), per-kind and per-(kind, namespace) arrays for listing, the kind registry, the
 * dirty set the journal takes after each transaction, and the hot list of objects whose
 * JSON is decoded (cold objects keep compact text: store.h). No locking here: the
 * cluster lock covers every call (see the lock design in store.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/error.h"
#include "claimfs/fnv.h"
#include "claimfs/jsonpack.h"
#include "claimfs/jsontext.h"
#include "claimfs/jsonutil.h"
#include "claimfs/names.h"
#include "claimfs/store.h"

struct objvec {
	struct object **v; /* the objects */
	size_t n, cap;	   /* used, allocated */
};

struct nsbucket {
	char *ns;	       /* namespace name */
	struct objvec vec;     /* objects of one kind in that namespace */
	struct nsbucket *next; /* next namespace of the same kind */
};

struct kindslot {
	struct kind kind;	  /* the descriptor handed out (first: objects find their
				     store through their kind) */
	struct store *store;	  /* the store it belongs to */
	struct objvec all;	  /* every object of the kind */
	struct nsbucket *buckets; /* per namespace (namespaced kinds only) */
};

struct store {
	struct kindslot **kinds; /* registry, by index */
	size_t nkinds, capkinds;
	const struct kind **kindptrs;	/* what store_kinds returns */
	struct object **table;		/* hash chains */
	size_t tsize, count;		/* buckets, objects */
	uint64_t next_id;		/* object ids, never reused */
	uint64_t rv;			/* last resourceVersion */
	struct objvec dirty;		/* objects changed since the last take (NULL: dropped) */
	struct objvec hot;		/* objects whose JSON is decoded (object->hot_slot) */
	size_t hand;			/* the eviction clock's position in hot */
	struct jsontext_writer scratch; /* make_cold's text buffer, kept */
	json_t *dels;			/* keys removed since the last take */
	store_hook_fn hook;		/* change hook and its context */
	void *hook_ctx;
	_Atomic size_t manifest_named; /* objects whose name ends like a manifest file's */
};

static void vec_push(struct objvec *v, struct object *o, size_t *slot)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 16;
		v->v = xrealloc(v->v, v->cap * sizeof(*v->v));
	}
	*slot = v->n;
	v->v[v->n++] = o;
}

/* Swap-remove; slot_of tells which index field of the moved object to fix. */
static void vec_remove(struct objvec *v, size_t slot, int which)
{
	struct object *last = v->v[--v->n];
	if (slot < v->n) {
		v->v[slot] = last;
		if (which == 0)
			last->kind_slot = slot;
		else
			last->ns_slot = slot;
	}
}

static uint64_t hash_key(size_t kind, const char *ns, const char *name)
{
	return fnv64_add(fnv64_add_field(FNV64_BASIS ^ (uint64_t)kind, ns ? ns : ""), name);
}

static int same_ns(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

struct store *store_new(void)
{
	struct store *s = xcalloc(1, sizeof(*s));
	s->tsize = 1024;
	s->table = xcalloc(s->tsize, sizeof(*s->table));
	s->dels = json_array();
	s->next_id = 1;
	return s;
}

static void free_object(struct object *o)
{
	json_decref(o->hot);
	free(o->cold);
	free(o->ns);
	free(o->name);
	free(o);
}

void store_free(struct store *s)
{
	size_t i;
	if (!s)
		return;
	for (i = 0; i < s->tsize; i++) {
		struct object *o = s->table[i], *next;
		for (; o; o = next) {
			next = o->hnext;
			free_object(o);
		}
	}
	for (i = 0; i < s->nkinds; i++) {
		struct kindslot *ks = s->kinds[i];
		struct nsbucket *b, *nb;
		for (b = ks->buckets; b; b = nb) {
			nb = b->next;
			free(b->ns);
			free(b->vec.v);
			free(b);
		}
		free(ks->all.v);
		free((char *)ks->kind.kind);
		free((char *)ks->kind.plural);
		free((char *)ks->kind.api_version);
		free(ks);
	}
	free(s->kinds);
	free(s->kindptrs);
	free(s->table);
	free(s->dirty.v);
	free(s->hot.v);
	free(s->scratch.buf);
	json_decref(s->dels);
	free(s);
}

void store_set_hook(struct store *s, store_hook_fn fn, void *ctx)
{
	s->hook = fn;
	s->hook_ctx = ctx;
}

void store_plural_of(const char *kind, char *buf, size_t len)
{
	size_t n = strlen(kind), i;
	char low[256];
	if (n >= sizeof(low) - 4)
		n = sizeof(low) - 4;
	for (i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)kind[i]);
	low[n] = '\0';
	if (n > 1 && low[n - 1] == 'y' && !strchr("aeiou", low[n - 2]))
		snprintf(buf, len, "%.*sies", (int)(n - 1), low);
	else if ((n > 0 && (low[n - 1] == 's' || low[n - 1] == 'x')) ||
		 (n > 1 && (strcmp(low + n - 2, "ch") == 0 || strcmp(low + n - 2, "sh") == 0)))
		snprintf(buf, len, "%ses", low);
	else
		snprintf(buf, len, "%ss", low);
}

const struct kind *store_kind(struct store *s, const char *kind)
{
	size_t i;
	for (i = 0; i < s->nkinds; i++)
		if (strcmp(s->kinds[i]->kind.kind, kind) == 0)
			return &s->kinds[i]->kind;
	return NULL;
}

const struct kind *store_kind_by_plural(struct store *s, const char *plural)
{
	size_t i;
	for (i = 0; i < s->nkinds; i++)
		if (strcmp(s->kinds[i]->kind.plural, plural) == 0)
			return &s->kinds[i]->kind;
	return NULL;
}

const struct kind *store_kind_register(struct store *s, const char *kind, const char *api_version,
				       int namespaced, const struct kind_ops *ops)
{
	const struct kind *old = store_kind(s, kind);
	char plural[300];
	size_t i;

	if (old)
		return old;
	if (s->nkinds == s->capkinds) {
		s->capkinds = s->capkinds ? s->capkinds * 2 : 16;
		s->kinds = xrealloc(s->kinds, s->capkinds * sizeof(*s->kinds));
		s->kindptrs = xrealloc(s->kindptrs, s->capkinds * sizeof(*s->kindptrs));
	}
	struct kindslot *ks = xcalloc(1, sizeof(*ks));
	ks->store = s;
	store_plural_of(kind, plural, sizeof(plural));
	ks->kind.kind = xstrdup(kind);
	ks->kind.plural = xstrdup(plural);
	ks->kind.api_version = xstrdup(api_version ? api_version : "v1");
	ks->kind.namespaced = namespaced;
	ks->kind.ops = ops;
	ks->kind.index = s->nkinds;
	s->kinds[s->nkinds++] = ks;
	for (i = 0; i < s->nkinds; i++)
		s->kindptrs[i] = &s->kinds[i]->kind;
	return &ks->kind;
}

const struct kind *const *store_kinds(struct store *s, size_t *n)
{
	*n = s->nkinds;
	return s->kindptrs;
}

struct object *store_get(struct store *s, const struct kind *k, const char *ns, const char *name)
{
	if (!k || !name)
		return NULL;
	if (!k->namespaced)
		ns = NULL;
	struct object *o = s->table[hash_key(k->index, ns, name) & (s->tsize - 1)];
	for (; o; o = o->hnext)
		if (o->kind == k && strcmp(o->name, name) == 0 && same_ns(o->ns, ns))
			return o;
	return NULL;
}

static struct nsbucket *bucket_of(struct kindslot *ks, const char *ns, int create)
{
	struct nsbucket *b;
	for (b = ks->buckets; b; b = b->next)
		if (strcmp(b->ns, ns) == 0)
			return b;
	if (!create)
		return NULL;
	b = xcalloc(1, sizeof(*b));
	b->ns = xstrdup(ns);
	b->next = ks->buckets;
	ks->buckets = b;
	return b;
}

struct object *const *store_list(struct store *s, const struct kind *k, const char *ns, size_t *n)
{
	struct kindslot *ks = s->kinds[k->index];
	if (!ns || !k->namespaced) {
		*n = ks->all.n;
		return ks->all.v;
	}
	struct nsbucket *b = bucket_of(ks, ns, 0);
	*n = b ? b->vec.n : 0;
	return b ? b->vec.v : NULL;
}

size_t store_manifest_named(struct store *s)
{
	return s->manifest_named; /* atomic: read without the cluster lock */
}

size_t store_count(struct store *s)
{
	return s->count;
}

size_t store_list_pos(const struct object *obj, int all_ns)
{
	return obj->ns && !all_ns ? obj->ns_slot : obj->kind_slot;
}

static void rehash(struct store *s)
{
	size_t nsize = s->tsize * 2, i;
	struct object **nt = xcalloc(nsize, sizeof(*nt));
	for (i = 0; i < s->tsize; i++) {
		struct object *o = s->table[i], *next;
		for (; o; o = next) {
			next = o->hnext;
			size_t h = hash_key(o->kind->index, o->ns, o->name) & (nsize - 1);
			o->hnext = nt[h];
			nt[h] = o;
		}
	}
	free(s->table);
	s->table = nt;
	s->tsize = nsize;
}

/* ---- hot and cold ---- */

static void hot_push(struct store *s, struct object *o)
{
	size_t slot;
	vec_push(&s->hot, o, &slot);
	o->hot_slot = (uint32_t)(slot + 1);
	o->used = 1;
}

static void hot_remove(struct store *s, struct object *o)
{
	size_t slot = o->hot_slot - 1;
	struct object *last = s->hot.v[--s->hot.n];
	if (slot < s->hot.n) {
		s->hot.v[slot] = last;
		last->hot_slot = (uint32_t)(slot + 1);
	}
	o->hot_slot = 0;
}

json_t *store_hydrate(struct object *o)
{
	struct store *s = ((const struct kindslot *)o->kind)->store;
	struct jsontext_writer *w = &s->scratch;
	size_t n = jsonpack_unpacked_len(o->cold, o->cold_len);
	w->len = 0;
	jsontext_reserve(w, n);
	jsonpack_unpack(o->cold, o->cold_len, w->buf);
	json_t *v = jsontext_parse(w->buf, n);
	if (!v) /* our own text: cannot happen short of memory corruption */
		die("cold object %s/%s does not parse", o->kind->plural, o->name);
	free(o->cold);
	o->cold = NULL;
	o->cold_len = 0;
	o->hot = v;
	hot_push(s, o);
	return v;
}

/* The hot value as text, and the tree freed. The text is written into the store's
 * scratch buffer and copied out at its exact size: a first allocation of the writer's
 * 4 KiB would be a large request to malloc, which then consolidates every small block
 * the freed trees just left (most of the cost of an eviction, measured). */
static void make_cold(struct store *s, struct object *o)
{
	struct jsontext_writer *w = &s->scratch;
	w->len = 0;
	jsontext_value(w, o->hot);
	if (w->len > UINT32_MAX)
		die("object %s/%s is larger than 4 GiB", o->kind->plural, o->name);
	size_t n = jsonpack_pack(w->buf, w->len);
	o->cold = xmalloc(n ? n : 1);
	memcpy(o->cold, w->buf, n);
	o->cold_len = (uint32_t)n;
	json_decref(o->hot);
	o->hot = NULL;
	hot_remove(s, o);
}

size_t store_evict(struct store *s, size_t keep)
{
	size_t made = 0, looked = 0, limit = 2 * s->hot.n + 1;
	while (s->hot.n > keep && looked++ < limit) {
		if (s->hand >= s->hot.n)
			s->hand = 0;
		struct object *o = s->hot.v[s->hand];
		if (o->used || o->dirty_slot) { /* a second chance; the journal's values stay */
			o->used = 0;
			s->hand++;
			continue;
		}
		make_cold(s, o); /* the last hot object moved into this slot: look at it next */
		made++;
	}
	return made;
}

size_t store_hot_count(const struct store *s)
{
	return s->hot.n;
}

void store_write_object(const struct object *o, struct jsontext_writer *w)
{
	if (o->hot) {
		jsontext_value(w, o->hot);
		return;
	}
	size_t n = jsonpack_unpacked_len(o->cold, o->cold_len);
	jsontext_reserve(w, n);
	jsonpack_unpack(o->cold, o->cold_len, w->buf + w->len);
	w->len += n;
}

void store_set_json(struct store *s, struct object *o, json_t *json)
{
	if (o->hot) {
		json_decref(o->hot);
	} else {
		free(o->cold);
		o->cold = NULL;
		o->cold_len = 0;
		hot_push(s, o);
	}
	o->hot = json;
}

static void mark_dirty(struct store *s, struct object *o)
{
	size_t slot;
	if (o->dirty_slot)
		return;
	vec_push(&s->dirty, o, &slot);
	o->dirty_slot = slot + 1;
}

static void set_rv(struct store *s, struct object *o)
{
	char buf[32];
	o->rv = ++s->rv;
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)o->rv);
	jset_str(object_json(o), "metadata.resourceVersion", buf);
}

/* Inserts json with rv (0: hands out a new one and writes it into the json). */
static struct object *insert(struct store *s, const struct kind *k, json_t *json, uint64_t rv,
			     int64_t now_ms)
{
	struct object *o = xcalloc(1, sizeof(*o));
	const char *ns = k->namespaced ? jnamespace(json) : NULL;
	o->kind = k;
	o->hot = json;
	hot_push(s, o);
	o->name = xstrdup(jname(json));
	o->ns = ns ? xstrdup(ns) : NULL;
	if (name_manifest_ext(o->name))
		s->manifest_named++;
	o->id = s->next_id++;
	o->mtime_ms = now_ms;
	if (rv) {
		s->rv++;
		o->rv = rv;
	} else {
		set_rv(s, o);
	}

	if (s->count + 1 > s->tsize)
		rehash(s);
	size_t h = hash_key(k->index, o->ns, o->name) & (s->tsize - 1);
	o->hnext = s->table[h];
	s->table[h] = o;
	s->count++;

	struct kindslot *ks = s->kinds[k->index];
	vec_push(&ks->all, o, &o->kind_slot);
	if (o->ns)
		vec_push(&bucket_of(ks, o->ns, 1)->vec, o, &o->ns_slot);
	mark_dirty(s, o);
	if (s->hook)
		s->hook(s->hook_ctx, o, 0);
	return o;
}

struct object *store_insert(struct store *s, const struct kind *k, json_t *json, int64_t now_ms)
{
	return insert(s, k, json, 0, now_ms);
}

struct object *store_insert_loaded(struct store *s, const struct kind *k, json_t *json, uint64_t rv,
				   int64_t mtime_ms)
{
	return insert(s, k, json, rv, mtime_ms);
}

void store_touch(struct store *s, struct object *o, int64_t now_ms)
{
	set_rv(s, o);
	o->mtime_ms = now_ms;
	mark_dirty(s, o);
	if (s->hook)
		s->hook(s->hook_ctx, o, 0);
}

void store_remove(struct store *s, struct object *o)
{
	if (s->hook)
		s->hook(s->hook_ctx, o, 1);
	size_t h = hash_key(o->kind->index, o->ns, o->name) & (s->tsize - 1);
	struct object **pp = &s->table[h];
	while (*pp && *pp != o)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = o->hnext;
	s->count--;
	if (name_manifest_ext(o->name))
		s->manifest_named--;

	struct kindslot *ks = s->kinds[o->kind->index];
	vec_remove(&ks->all, o->kind_slot, 0);
	if (o->ns) {
		struct nsbucket *b = bucket_of(ks, o->ns, 0);
		if (b)
			vec_remove(&b->vec, o->ns_slot, 1);
	}
	if (o->dirty_slot)
		s->dirty.v[o->dirty_slot - 1] = NULL;
	if (o->hot_slot)
		hot_remove(s, o);
	json_t *key = json_pack("[ssO]", o->kind->kind, "", json_null());
	json_array_set_new(key, 1, o->ns ? json_string(o->ns) : json_null());
	json_array_set_new(key, 2, json_string(o->name));
	json_array_append_new(s->dels, key);
	s->rv++;
	free_object(o);
}

uint64_t store_rv(struct store *s)
{
	return s->rv;
}

void store_set_rv(struct store *s, uint64_t rv)
{
	s->rv = rv;
}

int store_has_changes(struct store *s)
{
	return s->dirty.n > 0 || json_array_size(s->dels) > 0;
}

void store_take_changes(struct store *s, json_t **puts, json_t **dels)
{
	size_t i;
	json_t *p = json_array();
	for (i = 0; i < s->dirty.n; i++) {
		struct object *o = s->dirty.v[i];
		if (!o)
			continue;
		o->dirty_slot = 0;
		json_array_append(p, object_json(o));
	}
	s->dirty.n = 0;
	*puts = p;
	*dels = s->dels;
	s->dels = json_array();
}

void object_path(const struct object *obj, struct strbuf *out)
{
	size_t np = strlen(obj->kind->plural), nn = strlen(obj->name);
	size_t ns = obj->ns ? strlen(obj->ns) : 0;
	sb_grow(out, 12 + ns + np + nn); /* one allocation: this runs for every event */
	if (obj->ns) {
		sb_add(out, "namespaces/", 11);
		sb_add(out, obj->ns, ns);
		sb_add(out, "/", 1);
	}
	sb_add(out, obj->kind->plural, np);
	sb_add(out, "/", 1);
	sb_add(out, obj->name, nn);
}
