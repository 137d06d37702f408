/* workload_index.c - the workload controllers' per-cluster indexes of pods
 * (CLUSTER_SLOT_WORKLOADS), kept current by pod_ops.index on every insert, change and
 * removal of a pod (also while the state is loaded), so that no per-pod step of the
 * StatefulSet controller, the scheduler or the kubelet scans all pods:
 *   - pod id -> entry (open addressing, O(1)), with what the controllers read of the pod
 *     decoded once per change: phase Running, Ready and since when, deletion, the
 *     controller-revision-hash (interned: equal hashes are the same pointer);
 *   - StatefulSet pods: (controller uid, owner name) -> its pods sorted by ordinal, and
 *     controller uid -> how many pods name it, so that a set's sync finds its pods in
 *     O(its pods) and knows when pods with another owner name make it scan instead;
 *   - nodes: spec.nodeName -> its pods, how many are not being deleted (the scheduler's
 *     pod count) and how many hold each address slot of the node's pod range (the
 *     kubelet's lowest free address).
 * Cost: O(1) hash work per pod change, plus O(log k) (binary search) and a memmove of the
 * set's array when a pod joins or leaves a set of k pods (O(1) when it is the highest
 * ordinal, as in a scale-up or scale-down). The indexes never change objects or the work
 * queue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/idmap.h"
#include "claimfs/fnv.h"
#include "workload_internal.h"

/* ---- an intrusive string-keyed hash: entries embed struct hkey first ---- */

struct hkey {
	char *key;	   /* owned */
	uint64_t hash;	   /* of key */
	struct hkey *next; /* bucket chain */
};

struct hmap {
	struct hkey **b; /* buckets, a power of two */
	size_t cap, n;
};

static void *hmap_get(const struct hmap *m, const char *key)
{
	uint64_t h;
	struct hkey *k;
	if (!m->cap)
		return NULL;
	h = fnv64_str(key);
	for (k = m->b[h & (m->cap - 1)]; k; k = k->next)
		if (k->hash == h && strcmp(k->key, key) == 0)
			return k;
	return NULL;
}

/* Links e (a new entry whose struct hkey is first) under key. */
static void hmap_add(struct hmap *m, struct hkey *e, const char *key)
{
	size_t i;
	if (m->n + 1 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 16;
		struct hkey **nb = xcalloc(ncap, sizeof(*nb));
		for (i = 0; i < m->cap; i++) {
			struct hkey *k, *next;
			for (k = m->b[i]; k; k = next) {
				next = k->next;
				k->next = nb[k->hash & (ncap - 1)];
				nb[k->hash & (ncap - 1)] = k;
			}
		}
		free(m->b);
		m->b = nb;
		m->cap = ncap;
	}
	e->key = xstrdup(key);
	e->hash = fnv64_str(key);
	e->next = m->b[e->hash & (m->cap - 1)];
	m->b[e->hash & (m->cap - 1)] = e;
	m->n++;
}

/* Unlinks e and frees its key (the caller frees e). */
static void hmap_del(struct hmap *m, struct hkey *e)
{
	struct hkey **pp = &m->b[e->hash & (m->cap - 1)];
	while (*pp && *pp != e)
		pp = &(*pp)->next;
	if (*pp)
		*pp = e->next;
	m->n--;
	free(e->key);
}

static void hmap_free(struct hmap *m, void (*fn)(struct hkey *))
{
	size_t i;
	for (i = 0; i < m->cap; i++) {
		struct hkey *k, *next;
		for (k = m->b[i]; k; k = next) {
			next = k->next;
			free(k->key);
			fn(k);
		}
	}
	free(m->b);
}

/* ---- the entries ---- */

struct rev {	       /* an interned controller-revision-hash */
	struct hkey k; /* the text is k.key */
	size_t refs;   /* pods that carry it */
};

struct owner {	       /* pods whose controller StatefulSet has this uid */
	struct hkey k; /* the uid */
	size_t n;
};

struct set {		      /* pods of (controller uid, owner name) */
	struct hkey k;	      /* "<uid>\n<name>" (names hold no newline) */
	struct wl_pod **pods; /* with a valid ordinal, sorted by it */
	size_t n, cap;
	size_t invalid; /* pods whose name does not parse as "<name>-<ordinal>" */
};

struct node {		      /* pods whose spec.nodeName is this name */
	struct hkey k;	      /* the node name */
	struct wl_pod **pods; /* unordered */
	size_t n, cap;
	size_t live;   /* of them, not being deleted */
	uint32_t *ips; /* pods holding each address slot (index: slot) */
	size_t nips;
};

struct wl_pod_entry {
	struct wl_pod pub;   /* what the controllers read (workload_internal.h) */
	struct owner *owner; /* counted there, or NULL */
	struct set *set;     /* member (or counted invalid) there, or NULL */
	size_t set_slot;     /* index in set->pods when valid */
	struct node *node;   /* member there, or NULL */
	size_t node_slot;    /* index in node->pods */
	int live;	     /* counted in node->live */
	size_t ip;	     /* address slot counted in node->ips (0: none) */
	struct rev *rev;     /* interned label, or NULL */
	size_t unbound_slot; /* index in st->unbound + 1, 0 when bound */
};

struct wl_state {
	struct idmap pods; /* id -> struct wl_pod_entry */
	struct hmap revs, owners, sets, nodes;
	struct wl_pod **unbound; /* pods that pod_is_bound() does not accept, unordered */
	size_t nunbound, capunbound;
};

static void free_entry(struct hkey *k)
{
	free(k);
}

static void free_set(struct hkey *k)
{
	free(((struct set *)k)->pods);
	free(k);
}

static void free_node(struct hkey *k)
{
	free(((struct node *)k)->pods);
	free(((struct node *)k)->ips);
	free(k);
}

static void *state_init(void)
{
	return xcalloc(1, sizeof(struct wl_state));
}

static void state_fini(void *p)
{
	struct wl_state *st = p;
	size_t i;
	for (i = 0; i < st->pods.cap; i++)
		if (st->pods.keys[i])
			free(st->pods.vals[i]);
	idmap_release(&st->pods);
	hmap_free(&st->revs, free_entry);
	hmap_free(&st->owners, free_entry);
	hmap_free(&st->sets, free_set);
	hmap_free(&st->nodes, free_node);
	free(st->unbound);
	free(st);
}

static struct wl_state *state(struct cluster *cl)
{
	return cluster_slot(cl, CLUSTER_SLOT_WORKLOADS, state_init, state_fini);
}

/* ---- revisions ---- */

static struct rev *rev_ref(struct wl_state *st, const char *s)
{
	struct rev *r;
	if (!s)
		return NULL;
	r = hmap_get(&st->revs, s);
	if (!r) {
		r = xcalloc(1, sizeof(*r));
		hmap_add(&st->revs, &r->k, s);
	}
	r->refs++;
	return r;
}

static void rev_unref(struct wl_state *st, struct rev *r)
{
	if (r && --r->refs == 0) {
		hmap_del(&st->revs, &r->k);
		free(r);
	}
}

const char *wl_rev_interned(struct cluster *cl, const char *rev)
{
	struct rev *r = rev ? hmap_get(&state(cl)->revs, rev) : NULL;
	return r ? r->k.key : NULL;
}

/* ---- StatefulSet membership ---- */

static void set_key(const char *uid, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s\n%s", uid, name);
}

/* First index in s->pods whose ordinal is > ord (insertion after equal ones). */
static size_t set_upper(const struct set *s, int64_t ord)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->pods[mid]->ord <= ord)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void set_leave(struct wl_state *st, struct wl_pod_entry *e)
{
	struct set *s = e->set;
	size_t i;
	if (!s)
		return;
	if (e->pub.ord < 0) {
		s->invalid--;
	} else {
		memmove(&s->pods[e->set_slot], &s->pods[e->set_slot + 1],
			(s->n - e->set_slot - 1) * sizeof(*s->pods));
		s->n--;
		for (i = e->set_slot; i < s->n; i++)
			((struct wl_pod_entry *)s->pods[i])->set_slot = i;
	}
	e->set = NULL;
	if (s->n == 0 && s->invalid == 0) {
		hmap_del(&st->sets, &s->k);
		free(s->pods);
		free(s);
	}
}

static void set_join(struct wl_state *st, struct wl_pod_entry *e, const char *key)
{
	struct set *s = hmap_get(&st->sets, key);
	size_t at, i;
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		hmap_add(&st->sets, &s->k, key);
	}
	e->set = s;
	if (e->pub.ord < 0) {
		s->invalid++;
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->pods = xrealloc(s->pods, s->cap * sizeof(*s->pods));
	}
	at = s->n && s->pods[s->n - 1]->ord <= e->pub.ord ? s->n : set_upper(s, e->pub.ord);
	memmove(&s->pods[at + 1], &s->pods[at], (s->n - at) * sizeof(*s->pods));
	s->pods[at] = &e->pub;
	s->n++;
	for (i = at; i < s->n; i++)
		((struct wl_pod_entry *)s->pods[i])->set_slot = i;
}

static void owner_leave(struct wl_state *st, struct wl_pod_entry *e)
{
	struct owner *o = e->owner;
	if (!o)
		return;
	e->owner = NULL;
	if (--o->n == 0) {
		hmap_del(&st->owners, &o->k);
		free(o);
	}
}

static void owner_join(struct wl_state *st, struct wl_pod_entry *e, const char *uid)
{
	struct owner *o = hmap_get(&st->owners, uid);
	if (!o) {
		o = xcalloc(1, sizeof(*o));
		hmap_add(&st->owners, &o->k, uid);
	}
	o->n++;
	e->owner = o;
}

/* Follows the pod's controller StatefulSet reference (as pod_ordinal reads it). */
static void index_owner(struct wl_state *st, struct wl_pod_entry *e)
{
	const json_t *pj = object_json(e->pub.obj);
	const char *uid = wl_controller_uid(pj, "StatefulSet"), *name = NULL;
	json_t *r;
	size_t i;
	char key[1024];

	if (uid) {
		json_array_foreach(
		    json_object_get(json_object_get(pj, "metadata"), "ownerReferences"), i, r)
		{
			const char *ru = json_string_value(json_object_get(r, "uid"));
			if (ru && strcmp(ru, uid) == 0) {
				name = json_string_value(json_object_get(r, "name"));
				break;
			}
		}
		if (!name)
			name = "";
		set_key(uid, name, key, sizeof(key));
	}
	if (e->set && uid && strcmp(e->set->k.key, key) == 0)
		return; /* the same owner as before; a pod's name never changes */
	set_leave(st, e);
	owner_leave(st, e);
	if (!uid)
		return;
	e->pub.ord = sts_parse_ordinal(name, e->pub.obj->name);
	owner_join(st, e, uid);
	set_join(st, e, key);
}

struct wl_pod *const *wl_set_pods(struct cluster *cl, const struct object *set, size_t *n)
{
	struct wl_state *st = state(cl);
	const char *uid = juid(object_json(set));
	char key[1024];
	struct owner *o;
	struct set *s;

	*n = 0;
	if (!uid)
		return NULL;
	o = hmap_get(&st->owners, uid);
	if (!o)
		return NULL; /* no pod names this set */
	set_key(uid, set->name, key, sizeof(key));
	s = hmap_get(&st->sets, key);
	if (!s || s->n + s->invalid != o->n) {
		*n = (size_t)-1; /* pods name the set's uid under another name: scan */
		return NULL;
	}
	*n = s->n;
	return s->pods;
}

/* ---- nodes ---- */

static size_t ip_slot_of(const char *ip)
{
	unsigned a, b, c, d;
	if (!ip || sscanf(ip, "%u.%u.%u.%u", &a, &b, &c, &d) != 4 || a != 10 || b < 244 || d < 2 ||
	    d > 254)
		return 0;
	return (size_t)(b - 244) * 253 + d;
}

static void node_leave(struct wl_state *st, struct wl_pod_entry *e)
{
	struct node *nd = e->node;
	if (!nd)
		return;
	if (e->ip)
		nd->ips[e->ip]--;
	if (e->live)
		nd->live--;
	nd->pods[e->node_slot] = nd->pods[--nd->n];
	((struct wl_pod_entry *)nd->pods[e->node_slot])->node_slot = e->node_slot;
	e->node = NULL;
	e->ip = 0;
	e->live = 0;
	if (nd->n == 0) {
		hmap_del(&st->nodes, &nd->k);
		free(nd->pods);
		free(nd->ips);
		free(nd);
	}
}

static void index_node(struct wl_state *st, struct wl_pod_entry *e, const char *nn, const char *ip,
		       int deleting)
{
	struct node *nd;
	size_t slot = ip_slot_of(ip);
	if (e->node && (!nn || strcmp(e->node->k.key, nn) != 0))
		node_leave(st, e);
	if (!nn)
		return;
	nd = e->node;
	if (!nd) {
		nd = hmap_get(&st->nodes, nn);
		if (!nd) {
			nd = xcalloc(1, sizeof(*nd));
			hmap_add(&st->nodes, &nd->k, nn);
		}
		if (nd->n == nd->cap) {
			nd->cap = nd->cap ? nd->cap * 2 : 16;
			nd->pods = xrealloc(nd->pods, nd->cap * sizeof(*nd->pods));
		}
		e->node_slot = nd->n;
		nd->pods[nd->n++] = &e->pub;
		e->node = nd;
	}
	if (e->live != !deleting) {
		nd->live += deleting ? (size_t)-1 : 1;
		e->live = !deleting;
	}
	if (e->ip != slot) {
		if (e->ip)
			nd->ips[e->ip]--;
		if (slot >= nd->nips) {
			size_t ncap = nd->nips ? nd->nips : 64;
			while (ncap <= slot)
				ncap *= 2;
			nd->ips = xrealloc(nd->ips, ncap * sizeof(*nd->ips));
			memset(nd->ips + nd->nips, 0, (ncap - nd->nips) * sizeof(*nd->ips));
			nd->nips = ncap;
		}
		if (slot)
			nd->ips[slot]++;
		e->ip = slot;
	}
}

size_t wl_node_live_pods(struct cluster *cl, const char *node, const struct object *self)
{
	struct wl_state *st = state(cl);
	struct node *nd = hmap_get(&st->nodes, node);
	struct wl_pod_entry *e = self ? idmap_get(&st->pods, self->id) : NULL;
	if (!nd)
		return 0;
	return nd->live - (e && e->node == nd && e->live ? 1 : 0);
}

size_t wl_node_free_ip_slot(struct cluster *cl, const char *node, const struct object *self)
{
	struct wl_state *st = state(cl);
	struct node *nd = hmap_get(&st->nodes, node);
	struct wl_pod_entry *e = self ? idmap_get(&st->pods, self->id) : NULL;
	size_t h;
	if (!nd)
		return 2;
	for (h = 2; h < nd->nips; h++) {
		uint32_t used = nd->ips[h] - (e && e->node == nd && e->ip == h ? 1 : 0);
		if (!used)
			return h;
	}
	return h < 2 ? 2 : h;
}

struct wl_pod *const *wl_node_pods(struct cluster *cl, const char *node, size_t *n)
{
	struct node *nd = node ? hmap_get(&state(cl)->nodes, node) : NULL;
	*n = nd ? nd->n : 0;
	return nd ? nd->pods : NULL;
}

/* ---- unbound pods ---- */

static void set_unbound(struct wl_state *st, struct wl_pod_entry *e, int unbound)
{
	if (unbound && !e->unbound_slot) {
		if (st->nunbound == st->capunbound) {
			st->capunbound = st->capunbound ? st->capunbound * 2 : 16;
			st->unbound = xrealloc(st->unbound, st->capunbound * sizeof(*st->unbound));
		}
		st->unbound[st->nunbound++] = &e->pub;
		e->unbound_slot = st->nunbound;
	} else if (!unbound && e->unbound_slot) {
		struct wl_pod *last = st->unbound[--st->nunbound];
		st->unbound[e->unbound_slot - 1] = last;
		((struct wl_pod_entry *)last)->unbound_slot = e->unbound_slot;
		e->unbound_slot = 0;
	}
}

struct wl_pod *const *wl_unbound_pods(struct cluster *cl, size_t *n)
{
	struct wl_state *st = state(cl);
	*n = st->nunbound;
	return st->unbound;
}

/* ---- the hook ---- */

void wl_pod_index(struct cluster *cl, struct object *pod, int removed)
{
	struct wl_state *st = state(cl);
	struct wl_pod_entry *e = idmap_get(&st->pods, pod->id);
	const json_t *pj = object_json(pod);
	json_t *meta, *spec, *status, *del, *ready;
	const char *phase;

	if (removed) {
		if (!e)
			return;
		set_leave(st, e);
		owner_leave(st, e);
		node_leave(st, e);
		set_unbound(st, e, 0);
		rev_unref(st, e->rev);
		idmap_del(&st->pods, pod->id);
		free(e);
		return;
	}
	if (!e) {
		e = xcalloc(1, sizeof(*e));
		e->pub.obj = pod;
		e->pub.ord = -1;
		idmap_put(&st->pods, pod->id, e);
	}
	meta = json_object_get(pj, "metadata");
	spec = json_object_get(pj, "spec");
	status = json_object_get(pj, "status");
	del = json_object_get(meta, "deletionTimestamp");
	phase = json_string_value(json_object_get(status, "phase"));
	ready = wl_condition(pj, "Ready");

	e->pub.created = phase != NULL;
	e->pub.running = phase && strcmp(phase, "Running") == 0;
	e->pub.ready = e->pub.running && pod_is_ready(pod);
	e->pub.deleting = del && !json_is_null(del);
	e->pub.ready_since =
	    jtime_parse(json_string_value(json_object_get(ready, "lastTransitionTime")) ?: "");
	const char *rev = json_string_value(
	    json_object_get(json_object_get(meta, "labels"), LABEL_REVISION_HASH));
	if (!e->rev || !rev || strcmp(e->rev->k.key, rev) != 0) {
		struct rev *old = e->rev;
		e->rev = rev_ref(st, rev);
		rev_unref(st, old);
	}
	e->pub.rev = e->rev ? e->rev->k.key : NULL;
	index_owner(st, e);
	const char *nn = json_string_value(json_object_get(spec, "nodeName"));
	index_node(st, e, nn, json_string_value(json_object_get(status, "podIP")), e->pub.deleting);
	set_unbound(st, e, !nn || !wl_condition_is(pj, "PodScheduled", "True"));
}

struct wl_pod *wl_pod_of(struct cluster *cl, const struct object *pod)
{
	struct wl_pod_entry *e = idmap_get(&state(cl)->pods, pod->id);
	return e ? &e->pub : NULL;
}
