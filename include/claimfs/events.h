/* events.h - the event log: Kubernetes events as one line each, oldest first.
 *
 * Line format (the /events ABI): "<RFC 3339 time> <Type> <Reason> <object> <message>\n"
 * where object is the involved object's path in the mount
 * ("namespaces/default/persistentvolumeclaims/data") or, for FailedApply, the path that
 * was written. A message never contains a newline (they are replaced by spaces).
 * The log keeps at most `capacity` events: when it is full the oldest quarter is dropped
 * at once (so the file shrinks rarely, as a rotated log does, and `tail -f` follows it);
 * every event has a sequence number that never repeats. No internal locking: callers hold the cluster lock. */
#ifndef CLAIMFS_EVENTS_H
#define CLAIMFS_EVENTS_H

#include <stdint.h>
#include <stddef.h>
#include "claimfs/strbuf.h"

#define EVENTLOG_DEFAULT_CAPACITY 10000

struct eventlog;

struct eventlog *eventlog_new(size_t capacity);
void eventlog_free(struct eventlog *log);
/* Records one event at wall-clock time ms; strings are copied. Returns its sequence. */
uint64_t eventlog_add(struct eventlog *log, int64_t ms, const char *type, const char *reason,
		      const char *object, const char *message);
uint64_t eventlog_last_seq(const struct eventlog *log); /* 0 when empty */
uint64_t eventlog_first_seq(const struct eventlog *log); /* oldest kept, 0 when empty */
/* Appends the lines of the kept events with seq > after, oldest first; only those whose
 * object equals `object` when it is not NULL. Returns the seq of the last line written
 * (or `after` when none). */
uint64_t eventlog_render(const struct eventlog *log, struct strbuf *out, const char *object,
			 uint64_t after);

#endif
