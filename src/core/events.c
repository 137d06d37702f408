/* events.c - the event log (events.h): a ring of the newest events, rendered as one line
 * each, and an index by object path (a hash of object -> the chain of its kept events,
 * linked through their ring slots) so that an object's events file costs O(its events)
 * instead of a filter over the whole log. No locking: the cluster lock covers every call.
 *
 * Invariants: the ring holds n events with consecutive sequence numbers starting at slot
 * head; an object's chain runs from its oldest kept event (first) to its newest (last)
 * in sequence order, so dropping the ring's oldest event always removes the head of its
 * object's chain; an object is in the index exactly while it has kept events. */
#include <stdlib.h>
#include <string.h>
#include "claimfs/error.h"
#include "claimfs/events.h"
#include "claimfs/fnv.h"
#include "claimfs/jsonutil.h"

#define NO_SLOT ((size_t)-1)
#define MIN_BUCKETS 64

struct objlog {
	char *object;	      /* the involved object's path (owned; the key) */
	uint64_t hash;	      /* hash of object */
	size_t first;	      /* ring slot of its oldest kept event */
	size_t last;	      /* ring slot of its newest kept event */
	size_t n;	      /* its kept events */
	struct objlog *hnext; /* next in the hash bucket */
};

struct event {
	uint64_t seq;	    /* never repeats */
	struct objlog *obj; /* its object's index entry (owned by the index) */
	size_t next;	    /* ring slot of the next event of the same object, or NO_SLOT */
	char *line;	    /* the whole rendered line with its newline (owned); NULL: empty */
};

struct eventlog {
	struct event *ring;	 /* cap slots */
	size_t cap;		 /* slots */
	size_t head;		 /* slot of the oldest event */
	size_t n;		 /* events kept */
	uint64_t last;		 /* seq of the newest event */
	struct objlog **buckets; /* the index: nbuckets chains (a power of two) */
	size_t nbuckets;
	size_t nobjs; /* objects in the index */
};

struct eventlog *eventlog_new(size_t capacity)
{
	struct eventlog *log = xcalloc(1, sizeof(*log));
	log->cap = capacity ? capacity : EVENTLOG_DEFAULT_CAPACITY;
	log->ring = xcalloc(log->cap, sizeof(*log->ring));
	log->nbuckets = MIN_BUCKETS;
	log->buckets = xcalloc(log->nbuckets, sizeof(*log->buckets));
	return log;
}

void eventlog_free(struct eventlog *log)
{
	size_t i;
	if (!log)
		return;
	for (i = 0; i < log->cap; i++)
		free(log->ring[i].line);
	for (i = 0; i < log->nbuckets; i++) {
		struct objlog *o = log->buckets[i], *next;
		for (; o; o = next) {
			next = o->hnext;
			free(o->object);
			free(o);
		}
	}
	free(log->buckets);
	free(log->ring);
	free(log);
}

/* ---- the index ---- */

static struct objlog *index_find(const struct eventlog *log, const char *object, uint64_t h)
{
	struct objlog *o = log->buckets[h & (log->nbuckets - 1)];
	for (; o; o = o->hnext)
		if (o->hash == h && strcmp(o->object, object) == 0)
			return o;
	return NULL;
}

/* Doubles the buckets once there are more objects than buckets: chains stay O(1). */
static void index_grow(struct eventlog *log)
{
	size_t nb = log->nbuckets * 2, i;
	struct objlog **b = xcalloc(nb, sizeof(*b));
	for (i = 0; i < log->nbuckets; i++) {
		struct objlog *o = log->buckets[i], *next;
		for (; o; o = next) {
			next = o->hnext;
			o->hnext = b[o->hash & (nb - 1)];
			b[o->hash & (nb - 1)] = o;
		}
	}
	free(log->buckets);
	log->buckets = b;
	log->nbuckets = nb;
}

static struct objlog *index_get(struct eventlog *log, const char *object)
{
	uint64_t h = fnv64_str(object);
	struct objlog *o = index_find(log, object, h);
	if (o)
		return o;
	if (log->nobjs >= log->nbuckets)
		index_grow(log);
	o = xcalloc(1, sizeof(*o));
	o->object = xstrdup(object);
	o->hash = h;
	o->first = o->last = NO_SLOT;
	o->hnext = log->buckets[h & (log->nbuckets - 1)];
	log->buckets[h & (log->nbuckets - 1)] = o;
	log->nobjs++;
	return o;
}

static void index_remove(struct eventlog *log, struct objlog *o)
{
	struct objlog **p = &log->buckets[o->hash & (log->nbuckets - 1)];
	while (*p != o)
		p = &(*p)->hnext;
	*p = o->hnext;
	log->nobjs--;
	free(o->object);
	free(o);
}

/* Drops the oldest event: it is the head of its object's chain. */
static void drop_oldest(struct eventlog *log)
{
	struct event *e = &log->ring[log->head];
	struct objlog *o = e->obj;
	o->first = e->next;
	if (--o->n == 0)
		index_remove(log, o);
	free(e->line);
	memset(e, 0, sizeof(*e));
	log->head = (log->head + 1) % log->cap;
	log->n--;
}

/* ---- the log ---- */

/* Copies n bytes of s to out with newlines and tabs turned into spaces; returns the end. */
static char *put_flat(char *out, const char *s, size_t n)
{
	size_t i;
	memcpy(out, s, n);
	for (i = 0; i < n; i++)
		if ((unsigned char)out[i] <= '\r' &&
		    (out[i] == '\n' || out[i] == '\r' || out[i] == '\t'))
			out[i] = ' ';
	return out + n;
}

static char *put(char *out, const char *s, size_t n)
{
	memcpy(out, s, n);
	return out + n;
}

uint64_t eventlog_add(struct eventlog *log, int64_t ms, const char *type, const char *reason,
		      const char *object, const char *message)
{
	char when[40];
	struct event *e;
	struct objlog *o;
	size_t slot;

	/* "<when> <type> <reason> <object> <message>\n", built once in its own allocation
	 * (one per event: bulk applies write three per claim). */
	jtime_format(ms, when, sizeof(when));
	size_t lw = strlen(when), lt = strlen(type), lr = strlen(reason), lo = strlen(object),
	       lm = strlen(message);
	char *line = xmalloc(lw + lt + lr + lo + lm + 6), *p = line;
	p = put(p, when, lw);
	*p++ = ' ';
	p = put(p, type, lt);
	*p++ = ' ';
	p = put(p, reason, lr);
	*p++ = ' ';
	p = put_flat(p, object, lo);
	*p++ = ' ';
	p = put_flat(p, message, lm);
	*p++ = '\n';
	*p = '\0';

	if (log->n == log->cap) {
		/* Drop the oldest quarter at once: /events then shrinks rarely, like a log
		 * that is rotated, instead of shifting under `tail -f` at every event. */
		size_t drop = log->cap / 4 ? log->cap / 4 : 1;
		while (drop--)
			drop_oldest(log);
	}
	slot = (log->head + log->n) % log->cap;
	o = index_get(log, object);
	e = &log->ring[slot];
	e->seq = ++log->last;
	e->obj = o;
	e->next = NO_SLOT;
	e->line = line;
	if (o->n)
		log->ring[o->last].next = slot;
	else
		o->first = slot;
	o->last = slot;
	o->n++;
	log->n++;
	return e->seq;
}

uint64_t eventlog_last_seq(const struct eventlog *log)
{
	return log->last;
}

uint64_t eventlog_first_seq(const struct eventlog *log)
{
	return log->n ? log->ring[log->head].seq : 0;
}

uint64_t eventlog_render(const struct eventlog *log, struct strbuf *out, const char *object,
			 uint64_t after)
{
	uint64_t last = after;
	size_t i;
	if (object) {
		const struct objlog *o = index_find(log, object, fnv64_str(object));
		if (!o || log->ring[o->last].seq <= after)
			return after;
		for (i = o->first; i != NO_SLOT; i = log->ring[i].next) {
			const struct event *e = &log->ring[i];
			if (e->seq <= after)
				continue;
			sb_adds(out, e->line);
			last = e->seq;
		}
		return last;
	}
	if (!log->n || after >= log->last)
		return after;
	/* Sequence numbers are consecutive: the first one after the cursor is found at once. */
	uint64_t first = log->ring[log->head].seq;
	size_t skip = after >= first ? (size_t)(after - first + 1) : 0;
	for (i = skip; i < log->n; i++) {
		const struct event *e = &log->ring[(log->head + i) % log->cap];
		sb_adds(out, e->line);
		last = e->seq;
	}
	return last;
}

size_t eventlog_count(const struct eventlog *log, const char *object)
{
	if (!object)
		return log->n;
	const struct objlog *o = index_find(log, object, fnv64_str(object));
	return o ? o->n : 0;
}

size_t eventlog_objects(const struct eventlog *log)
{
	return log->nobjs;
}

uint64_t eventlog_last_seq_of(const struct eventlog *log, const char *object)
{
	const struct objlog *o = index_find(log, object, fnv64_str(object));
	return o ? log->ring[o->last].seq : 0;
}
