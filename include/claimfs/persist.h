/* persist.h - durable state in the state directory: a snapshot plus an append-only
 * journal of JSON records, with group commit.
 *
 * Files in the state directory (created 0700):
 *   lock              flock'ed by the one daemon that owns the directory
 *   snapshot.json     {"claimfs":1,"gen":G,"state":<value>} written atomically
 *                     (temp file, fsync, rename, fsync of the directory)
 *   journal.G         records appended after snapshot generation G; each record is
 *                     "<8 hex length> <8 hex crc32>\n<json>\n" so a torn tail is detected
 * Loading replays journal.G after the snapshot and truncates an incomplete or corrupt tail
 * (everything from the first bad record on), so recovery stops at the last complete
 * record. The content of records and snapshot is the caller's (the cluster's).
 *
 * Locking: persist has its own mutex for the file and a condition for group commit.
 * persist_append is called under the caller's lock so records keep its order; persist_sync
 * is called without it and blocks until the record is on disk (persist_sync_async calls
 * back instead); concurrent syncs share one fdatasync. */
#ifndef CLAIMFS_PERSIST_H
#define CLAIMFS_PERSIST_H

#include <stdint.h>
#include <stddef.h>
#include <jansson.h>
#include "claimfs/error.h"

struct persist;

/* Opens (creating, mode 0700) the state directory and locks it. Returns -EBUSY with
 * "state directory DIR is in use by another claimfs (pid N)" when another process holds
 * it, other negative errnos for I/O errors. *is_new is 1 when no snapshot or journal
 * existed. */
int persist_open(const char *dir, struct persist **out, int *is_new, struct cfs_err *err);
/* Reads the state: *snapshot gets the snapshot's "state" value (new reference) or NULL
 * when there is none; then replay(ctx, record) is called for each complete journal record
 * in order (record borrowed). A non-zero return from replay stops with that error. On
 * failure *snapshot is NULL (anything loaded was freed). */
int persist_load(struct persist *p, json_t **snapshot, int (*replay)(void *ctx, json_t *record),
		 void *ctx, struct cfs_err *err);
/* The same, streaming: snapshot_fn(ctx, state) first (state borrowed; NULL when there is
 * no snapshot), then replay for each record. persist_open has started a thread that
 * parses the journal meanwhile (when the snapshot's header names its generation), so the
 * caller's work on the snapshot and on each record overlaps with the parse of the next
 * ones. A snapshot as claimfs writes it (the state's "objects" last) is parsed by that
 * thread too, in parts: snapshot_fn is then called once per part, each a state object
 * with a slice of the objects ({"objects":[...]}), in order, and last with the state's
 * other members (and "objects":[]); the parts together are the state. A corrupt snapshot
 * is then reported here rather than by persist_open (the same -EIO and message), after
 * the parts before the damage were handed over. A non-zero return of either callback
 * stops the load with that error (positive: -EINVAL). */
int persist_load_with(struct persist *p, int (*snapshot_fn)(void *ctx, json_t *state),
		      int (*replay)(void *ctx, json_t *record), void *ctx, struct cfs_err *err);
/* Appends a record with write(2), not waiting for the disk. Returns its sequence number
 * (> 0) or a negative errno. */
int64_t persist_append(struct persist *p, const json_t *record, struct cfs_err *err);
/* Blocks until every record up to seq is durable (fdatasync). Group commit: one call's
 * fdatasync covers all records appended before it. */
int persist_sync(struct persist *p, int64_t seq, struct cfs_err *err);
/* A wait for durability that holds no thread: the caller fills seq and done and keeps the
 * waiter alive until done runs. */
struct persist_waiter {
	int64_t seq; /* every record up to this one */
	/* Called exactly once: rc 0 once durable, else a negative errno with its reason
	 * (-EIO: the journal failed for good; -EINVAL: seq was never appended). It runs
	 * outside persist's lock in whichever thread made the record durable: a caller of
	 * persist_sync_async or persist_sync, or persist's committer thread (which also
	 * runs those a compaction covered: the compaction's caller holds its own locks). It
	 * must be short and take no lock a caller of persist_sync may hold. It may free w. */
	void (*done)(struct persist_waiter *w, int rc, const char *msg);
	/* persist's own */
	struct persist_waiter *next;
	int rc;
};
/* persist_sync without the wait: queues w and returns, or leads the fdatasync itself when
 * none is in flight (then done may run before this returns, and this thread goes on
 * leading while others wait, which takes the wake-up of a thread per write off group
 * commit). */
void persist_sync_async(struct persist *p, struct persist_waiter *w);
/* Writes the state's JSON text: state(ctx, w) appends exactly one JSON value to w
 * (jsontext.h; w may flush to the file as it fills). */
struct jsontext_writer;
typedef void (*persist_state_fn)(void *ctx, struct jsontext_writer *w);
/* Writes the state that state() writes as the new snapshot and starts an empty journal;
 * the old journal is removed after the snapshot is durable. Must not run concurrently
 * with persist_append. */
int persist_compact(struct persist *p, persist_state_fn state, void *ctx, struct cfs_err *err);
/* persist_compact of a state held as one JSON value (borrowed). */
int persist_compact_value(struct persist *p, const json_t *state, struct cfs_err *err);
/* Bytes in the current journal. Takes no lock: the caller serialises it with append and
 * compact (the cluster lock does). */
uint64_t persist_journal_bytes(const struct persist *p);
void persist_close(struct persist *p); /* syncs, unlocks, frees */

/* Test hook: when non-zero persist_sync does not fsync. Never set in the daemon. */
extern int persist_test_no_fsync;

#endif
