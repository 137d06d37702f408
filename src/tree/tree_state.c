/* tree_state.c - the tree's per-cluster state in CLUSTER_SLOT_TREE: the map that hands out
 * inode numbers for variable entries (volumes/<v>, ordinals/<n>, ...), the change times of
 * kind directories and of event logs, and the change feed that keeps them
 * (tree_note_change, tree_note_event). Every function is LOCKED (cluster lock), which is
 * also what guards this state. Map operations are O(1) expected; dropping an object's
 * entries is O(its entries). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "claimfs/controllers.h"
#include "claimfs/fnv.h"
#include "tree_internal.h"

/* Map slots beyond attribute indexes: kind-directory times and event-log times. */
#define SLOT_KIND_TIME 0x20000u
#define SLOT_EVENT_TIME 0x30000u

struct tmap_ent {
	uint64_t owner;		/* object id the entry belongs to, 0: none */
	uint32_t slot;		/* attribute index or one of the SLOT_* above */
	uint8_t seen;		/* SLOT_KIND_TIME: val was read since the last change */
	char *sub;		/* variable part; owned */
	uint64_t val;		/* inode number or time */
	struct tmap_ent *hnext; /* hash chain */
	struct tmap_ent *onext; /* chain of the owner's entries */
};

struct tmap_owner {
	uint64_t owner;		  /* object id */
	struct tmap_ent *first;	  /* its entries */
	struct tmap_owner *hnext; /* hash chain */
};

struct tree_state {
	struct tmap_ent **tab;	 /* entries by (owner, slot, sub) */
	size_t tsize, count;	 /* buckets (power of two), entries */
	struct tmap_owner **own; /* owners by id */
	size_t osize, ocount;	 /* buckets (power of two), owners */
	uint64_t next_ino;	 /* next number of the map range (never reused) */
	int64_t start_ms;	 /* when the state was made (the mount) */
	int64_t last_change_ms;	 /* last change of anything */
	int64_t last_event_ms;	 /* last event, 0 when none was noted */
	uint64_t seen_gen;	 /* cluster generation when last_change_ms was taken */
	int fed;		 /* tree_note_change has been called */
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t hash_key(uint64_t owner, uint32_t slot, const char *sub)
{
	uint64_t h =
	    fnv64_add(FNV64_BASIS ^ (owner * 0x9e3779b97f4a7c15ULL) ^ slot, sub ? sub : "");
	return h ^ (h >> 29);
}

static uint64_t hash_owner(uint64_t owner)
{
	uint64_t h = owner * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 31);
}

static void *state_new(void)
{
	struct tree_state *st = xcalloc(1, sizeof(*st));
	st->tsize = 256;
	st->tab = xcalloc(st->tsize, sizeof(*st->tab));
	st->osize = 256;
	st->own = xcalloc(st->osize, sizeof(*st->own));
	st->next_ino = TREE_INO_MAP;
	st->start_ms = st->last_change_ms = now_ms();
	return st;
}

static void state_free(void *p)
{
	struct tree_state *st = p;
	size_t i;
	for (i = 0; i < st->tsize; i++) {
		struct tmap_ent *e = st->tab[i], *next;
		for (; e; e = next) {
			next = e->hnext;
			free(e->sub);
			free(e);
		}
	}
	for (i = 0; i < st->osize; i++) {
		struct tmap_owner *o = st->own[i], *next;
		for (; o; o = next) {
			next = o->hnext;
			free(o);
		}
	}
	free(st->tab);
	free(st->own);
	free(st);
}

struct tree_state *tree_state(struct cluster *cl)
{
	struct tree_state *st = cluster_slot(cl, CLUSTER_SLOT_TREE, state_new, state_free);
	if (!st->seen_gen)
		st->seen_gen = cluster_generation(cl);
	return st;
}

static void grow_tab(struct tree_state *st)
{
	size_t nsize = st->tsize * 2, i;
	struct tmap_ent **nt = xcalloc(nsize, sizeof(*nt));
	for (i = 0; i < st->tsize; i++) {
		struct tmap_ent *e = st->tab[i], *next;
		for (; e; e = next) {
			next = e->hnext;
			size_t h = hash_key(e->owner, e->slot, e->sub) & (nsize - 1);
			e->hnext = nt[h];
			nt[h] = e;
		}
	}
	free(st->tab);
	st->tab = nt;
	st->tsize = nsize;
}

static void grow_own(struct tree_state *st)
{
	size_t nsize = st->osize * 2, i;
	struct tmap_owner **nt = xcalloc(nsize, sizeof(*nt));
	for (i = 0; i < st->osize; i++) {
		struct tmap_owner *o = st->own[i], *next;
		for (; o; o = next) {
			next = o->hnext;
			size_t h = hash_owner(o->owner) & (nsize - 1);
			o->hnext = nt[h];
			nt[h] = o;
		}
	}
	free(st->own);
	st->own = nt;
	st->osize = nsize;
}

static struct tmap_owner **owner_ref(struct tree_state *st, uint64_t owner)
{
	struct tmap_owner **p = &st->own[hash_owner(owner) & (st->osize - 1)];
	while (*p && (*p)->owner != owner)
		p = &(*p)->hnext;
	return p;
}

static struct tmap_ent **ent_ref(struct tree_state *st, uint64_t owner, uint32_t slot,
				 const char *sub)
{
	struct tmap_ent **p = &st->tab[hash_key(owner, slot, sub) & (st->tsize - 1)];
	for (; *p; p = &(*p)->hnext)
		if ((*p)->owner == owner && (*p)->slot == slot && strcmp((*p)->sub, sub) == 0)
			break;
	return p;
}

/* The entry for the key, created (value 0) when create is 1; NULL when missing. */
static struct tmap_ent *map_get(struct tree_state *st, uint64_t owner, uint32_t slot,
				const char *sub, int create)
{
	if (!sub)
		sub = "";
	struct tmap_ent **p = ent_ref(st, owner, slot, sub);
	if (*p || !create)
		return *p;
	if (st->count + 1 > st->tsize) {
		grow_tab(st);
		p = ent_ref(st, owner, slot, sub);
	}
	struct tmap_ent *e = xcalloc(1, sizeof(*e));
	e->owner = owner;
	e->slot = slot;
	e->sub = xstrdup(sub);
	*p = e;
	st->count++;
	if (owner) {
		struct tmap_owner **op = owner_ref(st, owner);
		if (!*op) {
			if (st->ocount + 1 > st->osize) {
				grow_own(st);
				op = owner_ref(st, owner);
			}
			*op = xcalloc(1, sizeof(**op));
			(*op)->owner = owner;
			st->ocount++;
		}
		e->onext = (*op)->first;
		(*op)->first = e;
	}
	return e;
}

static void unlink_ent(struct tree_state *st, struct tmap_ent *e)
{
	struct tmap_ent **p = ent_ref(st, e->owner, e->slot, e->sub);
	if (*p == e) {
		*p = e->hnext;
		st->count--;
	}
}

static void map_del(struct tree_state *st, uint64_t owner, uint32_t slot, const char *sub)
{
	struct tmap_ent *e = map_get(st, owner, slot, sub, 0);
	if (!e)
		return;
	unlink_ent(st, e);
	if (owner) {
		struct tmap_owner *o = *owner_ref(st, owner);
		struct tmap_ent **p = o ? &o->first : NULL;
		while (p && *p && *p != e)
			p = &(*p)->onext;
		if (p && *p)
			*p = e->onext;
	}
	free(e->sub);
	free(e);
}

/* Forgets every entry of an object that is gone: its numbers are never handed out again
 * (next_ino only grows), so a recreated object gets new ones. O(its entries). */
static void map_drop_owner(struct tree_state *st, uint64_t owner)
{
	struct tmap_owner **op = owner_ref(st, owner), *o = *op;
	struct tmap_ent *e, *next;
	if (!o)
		return;
	for (e = o->first; e; e = next) {
		next = e->onext;
		unlink_ent(st, e);
		free(e->sub);
		free(e);
	}
	*op = o->hnext;
	st->ocount--;
	free(o);
}

uint64_t tree_map_ino(struct cluster *cl, uint64_t owner, uint32_t slot, const char *sub)
{
	struct tree_state *st = tree_state(cl);
	struct tmap_ent *e = map_get(st, owner, slot, sub, 1);
	if (!e->val)
		e->val = st->next_ino++;
	return e->val;
}

/* The key of a kind directory's time: its kind index in the slot, the namespace in sub. */
static struct tmap_ent *kind_time(struct tree_state *st, const struct kind *k, const char *ns,
				  int create)
{
	return map_get(st, 0, SLOT_KIND_TIME + (uint32_t)k->index, k->namespaced ? ns : NULL,
		       create);
}

/* Notices changes nobody fed to us: the generation moved since last time. */
static void observe(struct cluster *cl, struct tree_state *st)
{
	uint64_t g = cluster_generation(cl);
	if (g != st->seen_gen) {
		st->seen_gen = g;
		st->last_change_ms = now_ms();
	}
}

int64_t tree_global_mtime(struct cluster *cl)
{
	struct tree_state *st = tree_state(cl);
	observe(cl, st);
	return st->last_change_ms;
}

int64_t tree_start_mtime(struct cluster *cl)
{
	return tree_state(cl)->start_ms;
}

/* With the change feed: the time noted for (k, ns), else the newest object's time
 * (computed once, O(objects of the kind in ns), then kept current by the feed).
 * Without the feed: the last change noticed anywhere. */
int64_t tree_kind_mtime(struct cluster *cl, const struct kind *k, const char *ns)
{
	struct tree_state *st = tree_state(cl);
	if (!st->fed)
		return tree_global_mtime(cl);
	struct tmap_ent *e = kind_time(st, k, ns, 1);
	if (!e->val) {
		size_t n, i;
		int64_t newest = st->start_ms;
		struct object *const *v = store_list(cluster_store(cl), k, ns, &n);
		for (i = 0; i < n; i++)
			if (v[i]->mtime_ms > newest)
				newest = v[i]->mtime_ms;
		e->val = (uint64_t)newest;
	}
	e->seen = 1;
	return (int64_t)e->val;
}

int64_t tree_events_mtime(struct cluster *cl, const char *object_path, int64_t dflt)
{
	struct tree_state *st = tree_state(cl);
	if (!object_path)
		return st->last_event_ms ? st->last_event_ms : tree_global_mtime(cl);
	struct tmap_ent *e = map_get(st, 0, SLOT_EVENT_TIME, object_path, 0);
	return e ? (int64_t)e->val : dflt;
}

void tree_note_change(struct cluster *cl, const struct object *obj, int removed)
{
	struct tree_state *st = tree_state(cl);
	int64_t t = removed ? cluster_now_ms(cl) : obj->mtime_ms;
	if (!t)
		t = cluster_now_ms(cl);
	st->fed = 1;
	/* Never back, and never the value a reader saw before this change: a second change
	 * within the millisecond of one already seen (a claim created and deleted again) moves
	 * it a millisecond on, so a reader comparing mtimes around a read of .table sees that
	 * the content moved. Only seen values are passed over, so the mtime runs ahead of the
	 * clock only while reads and changes interleave within a millisecond, never in a burst
	 * of changes alone (a bulk apply). */
	struct tmap_ent *kt = kind_time(st, obj->kind, obj->ns, 1);
	if ((uint64_t)t > kt->val)
		kt->val = (uint64_t)t;
	else if (kt->seen)
		kt->val++;
	kt->seen = 0;
	st->last_change_ms = t > st->last_change_ms ? t : st->last_change_ms;
	st->seen_gen = cluster_generation(cl);
	if (removed) {
		struct strbuf path = STRBUF_INIT;
		map_drop_owner(st, obj->id);
		object_path(obj, &path);
		map_del(st, 0, SLOT_EVENT_TIME, sb_str(&path));
		sb_release(&path);
	}
}

/* Is path ("namespaces/<ns>/<plural>/<name>" or "<plural>/<name>") a live object? Event
 * times are kept for objects only (they go with the object), not for written file names
 * of refused inputs, which would pile up. O(1). */
static int is_object_path(struct cluster *cl, const char *path)
{
	char *copy = xstrdup(path), *part[4], *save = NULL, *tok;
	size_t n = 0;
	const struct kind *k = NULL;
	struct object *obj = NULL;
	for (tok = strtok_r(copy, "/", &save); tok && n < 4; tok = strtok_r(NULL, "/", &save))
		part[n++] = tok;
	if (!tok && n == 4 && strcmp(part[0], "namespaces") == 0) {
		k = store_kind_by_plural(cluster_store(cl), part[2]);
		if (k && k->namespaced)
			obj = store_get(cluster_store(cl), k, part[1], part[3]);
	} else if (!tok && n == 2) {
		k = store_kind_by_plural(cluster_store(cl), part[0]);
		if (k && !k->namespaced)
			obj = store_get(cluster_store(cl), k, NULL, part[1]);
	}
	free(copy);
	return obj != NULL;
}

void tree_note_event(struct cluster *cl, const char *object_path)
{
	struct tree_state *st = tree_state(cl);
	int64_t t = cluster_now_ms(cl);
	st->last_event_ms = t;
	st->last_change_ms = t > st->last_change_ms ? t : st->last_change_ms;
	st->seen_gen = cluster_generation(cl);
	if (object_path && is_object_path(cl, object_path))
		map_get(st, 0, SLOT_EVENT_TIME, object_path, 1)->val = (uint64_t)t;
}
