/* persist_internal.h - what the two halves of persist share (not the API: persist.h):
 * the handle, the state directory's file names, record framing and the snapshot reader
 * of persist.c, and the load-time reader thread of persist_reader.c. Locking as persist.h
 * and store.h say: the handle's mu guards the handle, the reader has its own lock. */
#ifndef CLAIMFS_PERSIST_INTERNAL_H
#define CLAIMFS_PERSIST_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <jansson.h>
#include "claimfs/error.h"
#include "claimfs/persist.h"

#define SNAPSHOT "snapshot.json"
#define JOURNAL_PREFIX "journal."
#define SNAPSHOT_FORMAT 1

struct reader;

struct persist {
	char *dir;	     /* the state directory as given, for messages */
	int dirfd;	     /* the state directory, O_DIRECTORY */
	int lockfd;	     /* "lock", flock'ed for the life of this handle */
	pthread_mutex_t mu;  /* guards every field below */
	pthread_cond_t cond; /* signalled when `syncing` drops (a compaction waits) */
	int fd;		     /* journal.<gen>, O_RDWR|O_APPEND; swapped by compaction only
			      * while it holds `syncing`, so a leader's copy stays valid */
	uint64_t gen;	     /* snapshot generation; journal.<gen> is the current journal */
	uint64_t jbytes;     /* bytes of complete records in the journal */
	int64_t appended;    /* seq of the last record written */
	int64_t durable;     /* every seq <= this is on disk */
	int syncing;	     /* a leader is in (or handed) fdatasync, or compaction runs */
	struct persist_waiter *waiters;	    /* waits for a sync, oldest first */
	pthread_t committer;		    /* runs syncs nobody else can (committer_main) */
	int committer_started;		    /* committer was created (joined by close) */
	int committer_lead;		    /* the committer is to lead the next sync */
	struct persist_waiter *to_complete; /* completions the committer runs (compaction's) */
	int closing;			    /* persist_close: the committer ends */
	pthread_cond_t committer_cond;	    /* signals committer_lead, to_complete and closing */
	int failed;			    /* sticky negative errno after a failed fsync, else 0 */
	char failmsg[CFS_ERR_MAX];	    /* the reason of `failed` */
	int scanned;	       /* the journal was validated (torn tail cut) since open */
	json_t *snap;	       /* snapshot state read at open, until persist_load takes it */
	int snap_streamed;     /* the reader thread parses the snapshot instead (snap NULL) */
	struct reader *reader; /* the journal reader thread started by open, or NULL */
	char *buf;	       /* record buffer: header, json, newline */
	size_t cap;	       /* bytes allocated in buf */
};

/* persist.c */
/* The record at data (avail bytes on): its value, *size its bytes with the framing;
 * NULL when incomplete or corrupt. */
json_t *persist_record_parse(const char *data, uint64_t avail, uint64_t *size);
int persist_sync_fd(int fd, int data_only); /* fdatasync/fsync: 0 or a negative errno */
/* Makes the journal fail for good (sticky errno and reason); returns the error. mu held. */
int persist_set_failed(struct persist *p, struct cfs_err *err, const char *what, int e);
void persist_journal_name(char *buf, size_t len, uint64_t gen); /* "journal.<gen>" */
/* A journal read up to valid of its size bytes: the torn or corrupt tail cut off (and
 * synced), the journal then ready for appends. mu held. */
int persist_journal_scanned(struct persist *p, const char *name, uint64_t valid, uint64_t size,
			    struct cfs_err *err);
/* snapshot.json whole: *state (new reference) and *gen, or NULL and 0 without one. */
int persist_read_snapshot(struct persist *p, json_t **state, uint64_t *gen, struct cfs_err *err);

/* persist_reader.c: the thread that parses the journal (and a snapshot written as claimfs
 * writes it, in parts) while a load applies what it has. */
int persist_peek_snapshot(struct persist *p, uint64_t *gen, int *streamable);
void persist_reader_start(struct persist *p, uint64_t gen, int stream_snap);
void persist_reader_free(struct persist *p);
int persist_reader_usable(struct persist *p);
int persist_reader_replay(struct persist *p, int (*replay)(void *ctx, json_t *record), void *ctx,
			  struct cfs_err *err);
int persist_load_streamed(struct persist *p, int (*snapshot_fn)(void *ctx, json_t *state),
			  void *ctx, struct cfs_err *err);

#endif
