/* events.h - the event log: Kubernetes events as one line each, oldest first.
 *
 * Line format (the /events ABI): "<RFC 3339 time> <Type> <Reason> <object> <message>\n"
 * where object is the involved object's path in the mount
 * ("namespaces/default/persistentvolumeclaims/data") or, for FailedApply, the path that
 * was written. A message never contains a newline (they are replaced by spaces).
 * The log keeps at most `capacity` events: when it is full the oldest quarter is dropped
 * at once (so the file shrinks rarely, as a rotated log does, and `tail -f` follows it);
 * every event has a sequence number that never repeats, and the kept events always have
 * consecutive sequence numbers.
 *
 * Index: the log keeps, per object path, the list of that object's kept events, so one
 * object's events render in O(its events) and the whole log from a cursor in O(events
 * after the cursor), however many other events and objects the log holds. An object
 * leaves the index with its last kept event (the index never outgrows the log).
 *
 * No internal locking: callers hold the cluster lock. Allocation failure aborts
 * (error.h); no function here fails otherwise. */
#ifndef CLAIMFS_EVENTS_H
#define CLAIMFS_EVENTS_H

#include <stdint.h>
#include <stddef.h>
#include "claimfs/strbuf.h"

#define EVENTLOG_DEFAULT_CAPACITY 10000

struct eventlog;

/* A new, empty log of `capacity` events (0: EVENTLOG_DEFAULT_CAPACITY); free it with
 * eventlog_free (NULL is fine). */
struct eventlog *eventlog_new(size_t capacity);
void eventlog_free(struct eventlog *log);
/* Records one event at wall-clock time ms; strings are copied. Returns its sequence.
 * O(1) amortised (O(capacity / 4) when it drops the oldest quarter: O(1) per event). */
uint64_t eventlog_add(struct eventlog *log, int64_t ms, const char *type, const char *reason,
		      const char *object, const char *message);
uint64_t eventlog_last_seq(const struct eventlog *log);	 /* 0 when empty */
uint64_t eventlog_first_seq(const struct eventlog *log); /* oldest kept, 0 when empty */
/* Appends the lines of the kept events with seq > after, oldest first; only those whose
 * object equals `object` when it is not NULL. Returns the seq of the last line written
 * (or `after` when none). O(lines written) for the whole log; O(the object's kept
 * events) for one object, O(1) when it has none after `after`. */
uint64_t eventlog_render(const struct eventlog *log, struct strbuf *out, const char *object,
			 uint64_t after);
/* Kept events about `object`, or in all when it is NULL. O(1). */
size_t eventlog_count(const struct eventlog *log, const char *object);
/* Distinct objects that have kept events (the size of the index). O(1). */
size_t eventlog_objects(const struct eventlog *log);
/* Sequence of the newest kept event about `object`, 0 when it has none. O(1). */
uint64_t eventlog_last_seq_of(const struct eventlog *log, const char *object);

#endif
