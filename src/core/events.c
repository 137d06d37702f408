/* events.c - the event log (events.h): a ring of the newest events, rendered as one line
 * each. No locking: the cluster lock covers every call. */
#include <stdlib.h>
#include <string.h>
#include "claimfs/error.h"
#include "claimfs/events.h"
#include "claimfs/jsonutil.h"

struct event {
	uint64_t seq;  /* never repeats; 0 marks an empty slot */
	char *object;  /* involved object's path (owned) */
	char *line;    /* the whole rendered line with its newline (owned) */
};

struct eventlog {
	struct event *ring; /* capacity slots */
	size_t cap;         /* slots */
	size_t head;        /* slot of the oldest event */
	size_t n;           /* events kept */
	uint64_t last;      /* seq of the newest event */
};

struct eventlog *eventlog_new(size_t capacity)
{
	struct eventlog *log = xcalloc(1, sizeof(*log));
	log->cap = capacity ? capacity : EVENTLOG_DEFAULT_CAPACITY;
	log->ring = xcalloc(log->cap, sizeof(*log->ring));
	return log;
}

void eventlog_free(struct eventlog *log)
{
	size_t i;
	if (!log)
		return;
	for (i = 0; i < log->cap; i++) {
		free(log->ring[i].object);
		free(log->ring[i].line);
	}
	free(log->ring);
	free(log);
}

/* Appends s with newlines and tabs turned into spaces. */
static void add_flat(struct strbuf *sb, const char *s)
{
	for (; *s; s++)
		sb_addc(sb, (*s == '\n' || *s == '\r' || *s == '\t') ? ' ' : *s);
}

uint64_t eventlog_add(struct eventlog *log, int64_t ms, const char *type, const char *reason,
		      const char *object, const char *message)
{
	struct strbuf sb = STRBUF_INIT;
	char when[40];
	struct event *e;

	jtime_format(ms, when, sizeof(when));
	sb_addf(&sb, "%s %s %s ", when, type, reason);
	add_flat(&sb, object);
	sb_addc(&sb, ' ');
	add_flat(&sb, message);
	sb_addc(&sb, '\n');

	if (log->n == log->cap) {
		/* Drop the oldest quarter at once: /events then shrinks rarely, like a log
		 * that is rotated, instead of shifting under `tail -f` at every event. */
		size_t drop = log->cap / 4 ? log->cap / 4 : 1;
		while (drop--) {
			e = &log->ring[log->head];
			free(e->object);
			free(e->line);
			e->object = e->line = NULL;
			log->head = (log->head + 1) % log->cap;
			log->n--;
		}
	}
	e = &log->ring[(log->head + log->n) % log->cap];
	e->seq = ++log->last;
	e->object = xstrdup(object);
	e->line = sb_detach(&sb, NULL);
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
	for (i = 0; i < log->n; i++) {
		const struct event *e = &log->ring[(log->head + i) % log->cap];
		if (e->seq <= after)
			continue;
		if (object && strcmp(object, e->object) != 0)
			continue;
		sb_adds(out, e->line);
		last = e->seq;
	}
	return last;
}
