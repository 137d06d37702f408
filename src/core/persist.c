/* persist.c - durable state (persist.h): the lock on the state directory, the snapshot
 * (written atomically), the append-only journal of CRC-framed records, torn-tail
 * recovery, compaction and group commit.
 *
 * DESIGN (durability and threads)
 * - A record is "<8 hex length> <8 hex crc32>\n<json>\n", written with one write(2) to an
 *   O_APPEND descriptor under p->mu. A failed or short write is cut off again with
 *   ftruncate, so no garbage ever sits in front of a later record (a load would stop
 *   there and drop acknowledged records).
 * - Group commit: a wait for seq (persist_sync, persist_sync_async) takes p->mu; while
 *   another thread is in fdatasync it queues on p->waiters (persist_sync then sleeps on its
 *   own semaphore, persist_sync_async returns at once); otherwise it leads: notes the last
 *   appended seq, drops p->mu, fdatasyncs, retakes p->mu, marks that seq durable, takes
 *   every waiter it covered off the queue and completes them after dropping p->mu (one
 *   post or one done() each, none of them needs p->mu again). Waiters it did not cover
 *   (appended during the fdatasync) need another sync: an asynchronous caller's thread
 *   leads on for them (nobody waits for that thread), a blocking caller returns as soon as
 *   its own record is durable and hands the next sync to the oldest blocking waiter, or,
 *   when only asynchronous ones are left, to the committer thread (started on first
 *   need). Appends go on during the fdatasync (they hold p->mu only for the write).
 * - A failed fsync/fdatasync sets p->failed = -EIO for good: the kernel may have dropped
 *   the dirty pages, so a later fsync that succeeds would prove nothing.
 * - Compaction (generation G -> G+1): write snapshot.json.tmp and fsync it; create an empty
 *   journal.G+1 and fsync it; rename the temp file over snapshot.json; fsync the
 *   directory; only then unlink journal.G. A crash at any step leaves a loadable
 *   directory: before the rename, snapshot G and journal.G are intact (the temp file and
 *   the empty journal.G+1 are removed at the next open); after it, snapshot G+1 holds
 *   everything, journal.G is stale (removed at open) and a missing journal.G+1 is
 *   created empty.
 * - Records and snapshots are written and read by the compact JSON writer and reader of
 *   jsontext.h (jansson builds and owns the values; its own encoder and decoder were most
 *   of the cost of a bulk apply and of a mount). A text the reader refuses goes to
 *   json_loadb, for the same verdict and its message.
 * - A load's parsing runs in a thread of its own (persist_reader.c), ahead of the
 *   caller's work on what it has parsed.
 * - Cost: append O(record size), sync O(1) plus the disk, load O(journal + snapshot),
 *   compaction O(state). Nothing per change depends on the number of objects. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "claimfs/jsontext.h"
#include "claimfs/persist.h"
#include "persist_internal.h"

#define SNAPSHOT_TMP "snapshot.json.tmp"
#define LOCKFILE "lock"
#define HDR_LEN 18u		    /* "%08x %08x\n" */
#define RECORD_MAX 0xffffffffu	    /* the length field has 8 hex digits */
#define BUF_INITIAL (64u << 10)	    /* record buffer, grows to the largest record */
#define BUF_KEEP_MAX (4u << 20)	    /* larger record buffers are shrunk after use */
#define SNAP_WRITE_CHUNK (1u << 20) /* snapshot writer's buffer */

int persist_test_no_fsync;

/* ---- crc32 (IEEE 802.3, as zlib), slicing by 8 ---- */

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	uint32_t i, j, c;
	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
		crc_table[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (j = 1; j < 8; j++)
			crc_table[j][i] =
			    (crc_table[j - 1][i] >> 8) ^ crc_table[0][crc_table[j - 1][i] & 0xff];
}

static uint32_t crc32_buf(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t c = 0xffffffffu;
	pthread_once(&crc_once, crc_init);
	while (len >= 8) {
		uint32_t a = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
				  (uint32_t)p[3] << 24);
		c = crc_table[7][a & 0xff] ^ crc_table[6][(a >> 8) & 0xff] ^
		    crc_table[5][(a >> 16) & 0xff] ^ crc_table[4][a >> 24] ^ crc_table[3][p[4]] ^
		    crc_table[2][p[5]] ^ crc_table[1][p[6]] ^ crc_table[0][p[7]];
		p += 8;
		len -= 8;
	}
	while (len--)
		c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
	return c ^ 0xffffffffu;
}

/* ---- record framing ---- */

static void put_hex8(char *out, uint32_t v)
{
	static const char digits[] = "0123456789abcdef";
	int i;
	for (i = 7; i >= 0; i--, v >>= 4)
		out[i] = digits[v & 0xf];
}

static int get_hex8(const char *in, uint32_t *v)
{
	uint32_t r = 0;
	int i;
	for (i = 0; i < 8; i++) {
		char c = in[i];
		if (c >= '0' && c <= '9')
			r = r << 4 | (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			r = r << 4 | (uint32_t)(c - 'a' + 10);
		else
			return -1;
	}
	*v = r;
	return 0;
}

/* The complete record at data[0..avail) as a new json value (its frame is checked:
 * header, length, crc, newline; then the json must parse), or NULL when the record is
 * incomplete or corrupt. *size gets the record's whole length. */
json_t *persist_record_parse(const char *data, uint64_t avail, uint64_t *size)
{
	uint32_t len, crc;
	json_error_t je;
	if (avail < HDR_LEN || get_hex8(data, &len) < 0 || data[8] != ' ' ||
	    get_hex8(data + 9, &crc) < 0 || data[17] != '\n')
		return NULL;
	if (avail - HDR_LEN < (uint64_t)len + 1 || data[HDR_LEN + len] != '\n' ||
	    crc32_buf(data + HDR_LEN, len) != crc)
		return NULL;
	*size = HDR_LEN + (uint64_t)len + 1;
	json_t *v = jsontext_parse(data + HDR_LEN, len);
	return v ? v : json_loadb(data + HDR_LEN, len, JSON_DECODE_ANY, &je);
}

/* ---- small file helpers ---- */

int persist_sync_fd(int fd, int data_only)
{
	int rc;
	if (persist_test_no_fsync)
		return 0;
	do
		rc = data_only ? fdatasync(fd) : fsync(fd);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : 0;
}

/* Records a failed fsync; every later append, sync and compaction returns it. mu held. */
int persist_set_failed(struct persist *p, struct cfs_err *err, const char *what, int e)
{
	p->failed = -EIO;
	snprintf(p->failmsg, sizeof(p->failmsg),
		 "cannot sync %s in state directory %s: %s (no change is durable from now on)",
		 what, p->dir, strerror(e));
	return cfs_errorf(err, p->failed, "%s", p->failmsg);
}

static int failed_err(const struct persist *p, struct cfs_err *err)
{
	return cfs_errorf(err, p->failed, "%s", p->failmsg);
}

void persist_journal_name(char *buf, size_t len, uint64_t gen)
{
	snprintf(buf, len, JOURNAL_PREFIX "%llu", (unsigned long long)gen);
}

/* Makes the directory entry of a newly created path durable: fsync of its parent. */
static int sync_parent_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *parent =
	    slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
	int rc = 0, fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		rc = -errno;
	else {
		rc = persist_sync_fd(fd, 0);
		close(fd);
	}
	free(parent);
	return rc;
}

/* mkdir -p with mode 0700 for every directory it creates; existing ones are left alone. */
static int make_dirs(const char *dir, struct cfs_err *err)
{
	char *path = xstrdup(dir);
	size_t n = strlen(path), i;
	int rc = 0;

	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
	for (i = 1; i <= n && rc == 0; i++) {
		char c = path[i];
		if ((c != '/' && c != '\0') || path[i - 1] == '/')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) == 0) {
			rc = sync_parent_of(path);
			if (rc < 0)
				cfs_errorf(err, rc,
					   "cannot sync the parent of new directory %s: %s", path,
					   strerror(-rc));
		} else if (errno != EEXIST) {
			rc = cfs_errorf(err, -errno, "cannot create state directory %s: %s", path,
					strerror(errno));
		}
		path[i] = c;
	}
	free(path);
	return rc;
}

/* Takes the flock on DIR/lock and writes our pid into it. */
static int take_lock(struct persist *p, struct cfs_err *err)
{
	char buf[32];
	int tries;

	p->lockfd = openat(p->dirfd, LOCKFILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (p->lockfd < 0)
		return cfs_errorf(err, -errno, "cannot open %s/" LOCKFILE ": %s", p->dir,
				  strerror(errno));
	if (flock(p->lockfd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		long pid = 0;
		if (e != EWOULDBLOCK)
			return cfs_errorf(err, -e, "cannot lock %s/" LOCKFILE ": %s", p->dir,
					  strerror(e));
		/* The holder writes its pid right after locking: give it a moment. */
		for (tries = 0; tries < 100 && pid <= 0; tries++) {
			ssize_t r = pread(p->lockfd, buf, sizeof(buf) - 1, 0);
			buf[r > 0 ? r : 0] = '\0';
			pid = strtol(buf, NULL, 10);
			if (pid <= 0)
				nanosleep(&(struct timespec){0, 1000000}, NULL);
		}
		if (pid > 0)
			return cfs_errorf(
			    err, -EBUSY,
			    "state directory %s is in use by another claimfs (pid %ld)", p->dir,
			    pid);
		return cfs_errorf(err, -EBUSY,
				  "state directory %s is in use by another claimfs (pid unknown)",
				  p->dir);
	}
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(p->lockfd, 0) < 0 || pwrite(p->lockfd, buf, (size_t)n, 0) != n)
		return cfs_errorf(err, -errno, "cannot write %s/" LOCKFILE ": %s", p->dir,
				  strerror(errno));
	return 0;
}

/* Reads snapshot.json: *state (new reference) and *gen, or *state NULL and *gen 0 when
 * there is no snapshot. */
int persist_read_snapshot(struct persist *p, json_t **state, uint64_t *gen, struct cfs_err *err)
{
	struct stat st;
	json_error_t je;
	json_t *root = NULL, *jgen, *jstate;
	void *map = NULL;
	int fd, rc = 0;

	*state = NULL;
	*gen = 0;
	fd = openat(p->dirfd, SNAPSHOT, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return cfs_errorf(err, -errno, "cannot open %s/" SNAPSHOT ": %s", p->dir,
				  strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		rc = cfs_errorf(err, -errno, "cannot stat %s/" SNAPSHOT ": %s", p->dir,
				strerror(errno));
		goto out;
	}
	if (st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			map = NULL;
			rc = cfs_errorf(err, -errno, "cannot map %s/" SNAPSHOT ": %s", p->dir,
					strerror(errno));
			goto out;
		}
		madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
		root = jsontext_parse(map, (size_t)st.st_size);
		if (!root || !json_is_object(root)) { /* json_loadb's verdict and message */
			json_decref(root);
			root = json_loadb(map, (size_t)st.st_size, 0, &je);
		}
	} else {
		snprintf(je.text, sizeof(je.text), "empty file");
		je.line = 1;
		je.column = 1;
	}
	if (!root) {
		rc = cfs_errorf(err, -EIO, "%s/" SNAPSHOT ":%d:%d: corrupt snapshot: %s", p->dir,
				je.line, je.column, je.text);
		goto out;
	}
	jgen = json_object_get(root, "gen");
	jstate = json_object_get(root, "state");
	if (json_integer_value(json_object_get(root, "claimfs")) != SNAPSHOT_FORMAT ||
	    !json_is_integer(jgen) || json_integer_value(jgen) < 0 || !jstate) {
		rc = cfs_errorf(err, -EIO,
				"%s/" SNAPSHOT ": not a claimfs snapshot of format %d (keys "
				"\"claimfs\", \"gen\", \"state\")",
				p->dir, SNAPSHOT_FORMAT);
		goto out;
	}
	*gen = (uint64_t)json_integer_value(jgen);
	*state = json_incref(jstate);
out:
	json_decref(root);
	if (map)
		munmap(map, (size_t)st.st_size);
	close(fd);
	return rc;
}

/* Parses "journal.<decimal>"; -1 when name is something else. */
static int journal_gen_of(const char *name, uint64_t *gen)
{
	const char *s = name + strlen(JOURNAL_PREFIX);
	char *end;
	if (strncmp(name, JOURNAL_PREFIX, strlen(JOURNAL_PREFIX)) != 0 || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*gen = strtoull(s, &end, 10);
	return *end || errno ? -1 : 0;
}

/* Removes what an interrupted compaction left: the temp snapshot, older journals and an
 * empty newer one. A non-empty journal newer than the snapshot cannot come from claimfs
 * (the snapshot is durable before anything is appended to it): refuse to guess. */
static int clean_generations(struct persist *p, struct cfs_err *err)
{
	int fd = openat(p->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	uint64_t g;

	if (!d) {
		rc = cfs_errorf(err, -errno, "cannot list state directory %s: %s", p->dir,
				strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		struct stat st;
		if (strcmp(de->d_name, SNAPSHOT_TMP) == 0) {
			unlinkat(p->dirfd, de->d_name, 0);
			continue;
		}
		if (journal_gen_of(de->d_name, &g) < 0 || g == p->gen)
			continue;
		if (g > p->gen && fstatat(p->dirfd, de->d_name, &st, 0) == 0 && st.st_size > 0) {
			rc = cfs_errorf(err, -EIO,
					"state directory %s is inconsistent: %s is newer than the "
					"snapshot (generation %llu)",
					p->dir, de->d_name, (unsigned long long)p->gen);
			break;
		}
		unlinkat(p->dirfd, de->d_name, 0);
	}
	closedir(d);
	return rc;
}

/* Opens (creating when missing) journal.<gen>. *created tells whether it was new. */
static int open_journal(struct persist *p, uint64_t gen, int *created, struct cfs_err *err)
{
	char name[64];
	persist_journal_name(name, sizeof(name), gen);
	*created = 0;
	p->fd = openat(p->dirfd, name, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (p->fd < 0 && errno == ENOENT) {
		p->fd = openat(p->dirfd, name,
			       O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		*created = p->fd >= 0;
	}
	if (p->fd < 0)
		return cfs_errorf(err, -errno, "cannot open %s/%s: %s", p->dir, name,
				  strerror(errno));
	if (*created) {
		int rc = persist_sync_fd(p->dirfd, 0);
		if (rc < 0)
			return cfs_errorf(err, -EIO, "cannot sync state directory %s: %s", p->dir,
					  strerror(-rc));
	}
	return 0;
}

/* Maps the journal read-only; *map NULL when it is empty. */
static int map_journal(struct persist *p, const char **map, uint64_t *size, struct cfs_err *err)
{
	struct stat st;
	*map = NULL;
	*size = 0;
	if (fstat(p->fd, &st) < 0)
		return cfs_errorf(err, -errno, "cannot stat journal in %s: %s", p->dir,
				  strerror(errno));
	if (st.st_size == 0)
		return 0;
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, p->fd, 0);
	if (m == MAP_FAILED)
		return cfs_errorf(err, -errno, "cannot map journal in %s: %s", p->dir,
				  strerror(errno));
	madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
	*map = m;
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Does the journal start with a complete record? (A new cluster whose first commit was
 * torn is still new.) */
static int journal_has_record(struct persist *p, int *has, struct cfs_err *err)
{
	const char *map;
	uint64_t size, rsize;
	int rc = map_journal(p, &map, &size, err);
	*has = 0;
	if (rc < 0 || !map)
		return rc;
	json_t *rec = persist_record_parse(map, size, &rsize);
	*has = rec != NULL;
	json_decref(rec);
	munmap((void *)map, (size_t)size);
	return 0;
}

/* Reads the journal from the start, calls replay (when set) for each complete record and
 * cuts the file after the last one. mu held (or not yet shared). O(journal). */
static int scan_journal(struct persist *p, int (*replay)(void *ctx, json_t *record), void *ctx,
			struct cfs_err *err)
{
	const char *map;
	uint64_t size, off = 0, rsize;
	int rc = map_journal(p, &map, &size, err);
	char name[64];

	if (rc < 0)
		return rc;
	persist_journal_name(name, sizeof(name), p->gen);
	while (off < size) {
		json_t *rec = persist_record_parse(map + off, size - off, &rsize);
		if (!rec)
			break;
		if (replay)
			rc = replay(ctx, rec);
		json_decref(rec);
		if (rc != 0) {
			munmap((void *)map, (size_t)size);
			if (rc > 0)
				rc = cfs_errorf(err, -EINVAL,
						"replaying %s/%s: record at byte %llu "
						"refused",
						p->dir, name, (unsigned long long)off);
			return rc;
		}
		off += rsize;
	}
	if (map)
		munmap((void *)map, (size_t)size);
	return persist_journal_scanned(p, name, off, size, err);
}

int persist_journal_scanned(struct persist *p, const char *name, uint64_t valid, uint64_t size,
			    struct cfs_err *err)
{
	if (valid < size) {
		/* A torn or corrupt tail: what follows it was never acknowledged as a whole, and
		 * new records must not be written behind garbage. */
		if (ftruncate(p->fd, (off_t)valid) < 0)
			return cfs_errorf(err, -errno, "cannot cut the torn tail of %s/%s: %s",
					  p->dir, name, strerror(errno));
		int rc = persist_sync_fd(p->fd, 1);
		if (rc < 0)
			return persist_set_failed(p, err, name, -rc);
	}
	p->jbytes = valid;
	p->scanned = 1;
	return 0;
}

/* ---- the API ---- */

int persist_open(const char *dir, struct persist **out, int *is_new, struct cfs_err *err)
{
	struct persist *p = xcalloc(1, sizeof(*p));
	int rc, created, has_record;

	*out = NULL;
	p->dir = xstrdup(dir);
	p->dirfd = p->lockfd = p->fd = -1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cond, NULL);
	pthread_cond_init(&p->committer_cond, NULL);
	p->cap = BUF_INITIAL;
	p->buf = xmalloc(p->cap);

	rc = make_dirs(dir, err);
	if (rc < 0)
		goto fail;
	p->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dirfd < 0) {
		rc = cfs_errorf(err, -errno, "cannot open state directory %s: %s", dir,
				strerror(errno));
		goto fail;
	}
	/* Whoever may write the directory may replace the journal: refuse a directory that
	 * group or others can write (as ssh's StrictModes does), whoever owns it. */
	struct stat dst;
	if (fstat(p->dirfd, &dst) == 0 && (dst.st_mode & 022)) {
		rc = cfs_errorf(err, -EPERM,
				"state directory %s is writable by group or others (mode %04o): "
				"chmod 700 it",
				dir, (unsigned)(dst.st_mode & 07777));
		goto fail;
	}
	rc = take_lock(p, err);
	if (rc < 0)
		goto fail;
	uint64_t peeked;
	int streamable;
	if (persist_peek_snapshot(p, &peeked, &streamable) == 0) {
		/* The thread parses the journal while we parse the snapshot, or streams the
		 * snapshot first (its generation is then the header's). */
		p->snap_streamed = streamable;
		persist_reader_start(p, peeked, p->snap_streamed);
		if (!p->reader)
			p->snap_streamed = 0;
	}
	if (p->snap_streamed)
		p->gen = peeked;
	else
		rc = persist_read_snapshot(p, &p->snap, &p->gen, err);
	if (rc < 0)
		goto fail;
	rc = clean_generations(p, err);
	if (rc < 0)
		goto fail;
	rc = open_journal(p, p->gen, &created, err);
	if (rc < 0)
		goto fail;
	if (created)
		p->scanned = 1;
	has_record = 0;
	if (!p->snap && !p->snap_streamed && !created) {
		rc = journal_has_record(p, &has_record, err);
		if (rc < 0)
			goto fail;
	}
	*is_new = !p->snap && !p->snap_streamed && !has_record;
	*out = p;
	return 0;
fail:
	persist_close(p);
	return rc;
}

int persist_load_with(struct persist *p, int (*snapshot_fn)(void *ctx, json_t *state),
		      int (*replay)(void *ctx, json_t *record), void *ctx, struct cfs_err *err)
{
	uint64_t gen;
	json_t *snap = NULL;
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	if (p->snap_streamed) {
		p->snap_streamed = 0;
		rc = persist_load_streamed(p, snapshot_fn, ctx, err);
	} else {
		if (p->snap) {
			snap = p->snap; /* read at open: take over our reference */
			p->snap = NULL;
		} else {
			rc = persist_read_snapshot(p, &snap, &gen, err); /* a second load */
		}
		if (rc == 0 && snapshot_fn)
			rc = snapshot_fn(ctx, snap); /* meanwhile the reader parses the journal */
		json_decref(snap);
	}
	if (rc > 0)
		rc = cfs_errorf(err, -EINVAL, "loading %s/" SNAPSHOT ": state refused", p->dir);
	if (rc == 0 && p->reader && persist_reader_usable(p))
		rc = persist_reader_replay(p, replay, ctx, err);
	else if (rc == 0) {
		persist_reader_free(p);
		rc = scan_journal(p, replay, ctx, err);
	}
	persist_reader_free(p);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* Keeps the state, put together again when it comes in parts (a streamed snapshot). */
static int keep_snapshot(void *ctx, json_t *state)
{
	json_t **kept = ctx;
	const char *key;
	json_t *v;
	if (!json_is_object(state) || !*kept) {
		json_decref(*kept);
		*kept = json_is_object(state) ? json_object() : json_incref(state);
		if (!json_is_object(state))
			return 0;
	}
	json_object_foreach(state, key, v)
	{
		json_t *have = json_object_get(*kept, key);
		if (strcmp(key, "objects") == 0 && json_is_array(have) && json_is_array(v))
			json_array_extend(have, v);
		else
			json_object_set(*kept, key, v);
	}
	return 0;
}

struct load_ctx {
	json_t *snap;
	int (*replay)(void *ctx, json_t *record);
	void *ctx;
};

static int load_keep(void *ctx, json_t *state)
{
	return keep_snapshot(&((struct load_ctx *)ctx)->snap, state);
}

static int load_replay(void *ctx, json_t *record)
{
	struct load_ctx *lc = ctx;
	return lc->replay ? lc->replay(lc->ctx, record) : 0;
}

int persist_load(struct persist *p, json_t **snapshot, int (*replay)(void *ctx, json_t *record),
		 void *ctx, struct cfs_err *err)
{
	struct load_ctx lc = {NULL, replay, ctx};
	int rc = persist_load_with(p, load_keep, load_replay, &lc, err);
	if (rc < 0) {
		json_decref(lc.snap);
		lc.snap = NULL;
	}
	*snapshot = lc.snap;
	return rc;
}

/* The large arrays at the top of a record (a bulk apply's objects) are written by two
 * threads (jsontext_list). */
#define SPLIT_MIN_ELEMENTS 512 /* as jsontext_list's own threshold */

static void array_item(void *ctx, size_t i, struct jsontext_writer *w)
{
	jsontext_value(w, json_array_get((const json_t *)ctx, i));
}

/* A record's member: a large array (a bulk apply's objects) by two threads. */
static void record_member(struct jsontext_writer *w, const json_t *val)
{
	if (json_is_array(val) && json_array_size(val) >= SPLIT_MIN_ELEMENTS)
		jsontext_list(w, json_array_size(val), array_item, (void *)val, 1);
	else
		jsontext_value(w, val);
}

/* jsontext_value of a record: the same text. */
static void jw_record(struct jsontext_writer *w, const json_t *record)
{
	if (json_is_object(record))
		jsontext_members(w, record, record_member);
	else
		jsontext_value(w, record);
}

/* Serialises record behind room for the header into p->buf; returns the json's length
 * (the buffer keeps one more byte free for the newline). */
static size_t dump_record(struct persist *p, const json_t *record)
{
	struct jsontext_writer w = {p->buf, HDR_LEN, p->cap, NULL, NULL};
	jw_record(&w, record);
	jsontext_reserve(&w, 1);
	p->buf = w.buf;
	p->cap = w.cap;
	return w.len - HDR_LEN;
}

int64_t persist_append(struct persist *p, const json_t *record, struct cfs_err *err)
{
	char name[64];
	int64_t rc;
	size_t n, total, done = 0;

	pthread_mutex_lock(&p->mu);
	persist_journal_name(name, sizeof(name), p->gen);
	if (p->failed) {
		rc = failed_err(p, err);
		goto out;
	}
	persist_reader_free(p); /* appending without a load: the reader's view gets stale */
	if (!p->scanned) {	/* appending without a load: cut a torn tail first */
		rc = scan_journal(p, NULL, NULL, err);
		if (rc < 0)
			goto out;
	}
	n = dump_record(p, record);
	if (n == 0 || n > RECORD_MAX) {
		rc = cfs_errorf(err, n ? -EFBIG : -EINVAL, "cannot serialise a journal record%s",
				n ? ": larger than 4 GiB" : "");
		goto out;
	}
	put_hex8(p->buf, (uint32_t)n);
	p->buf[8] = ' ';
	put_hex8(p->buf + 9, crc32_buf(p->buf + HDR_LEN, n));
	p->buf[17] = '\n';
	p->buf[HDR_LEN + n] = '\n';
	total = HDR_LEN + n + 1;
	while (done < total) {
		ssize_t w = write(p->fd, p->buf + done, total - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;
			rc = cfs_errorf(err, -e, "cannot write %s/%s: %s", p->dir, name,
					strerror(e));
			/* Take back the partial record so that later ones stay readable. */
			if (done > 0 && ftruncate(p->fd, (off_t)p->jbytes) < 0) {
				p->failed = -EIO;
				snprintf(p->failmsg, sizeof(p->failmsg),
					 "cannot cut a partial record off %s/%s: %s", p->dir, name,
					 strerror(errno));
				rc = failed_err(p, err);
			}
			goto out;
		}
		done += (size_t)w;
	}
	p->jbytes += total;
	rc = ++p->appended;
	if (p->cap > BUF_KEEP_MAX) { /* one huge apply should not pin its buffer for good */
		p->cap = BUF_INITIAL;
		p->buf = xrealloc(p->buf, p->cap);
	}
out:
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* ---- group commit ----
 *
 * A wait (struct persist_waiter) is either a thread's, in persist_sync (blocking: it
 * sleeps on its own semaphore and can be told to lead the next sync), or a caller's that
 * did not stay (persist_sync_async: nobody sleeps on it, its done() is the whole
 * completion). Waking one blocking waiter per post, instead of broadcasting a condition
 * every waiter then retakes p->mu for, keeps eight writers off each other; completing an
 * asynchronous wait from the leader spares the wake-up of a thread that would only reply
 * and go back to waiting for work. */

#define WAIT_LEAD 1 /* rc handed to a blocking waiter's done(): lead the next sync */

struct blocking_wait {
	struct persist_waiter w; /* first: done() gets &w */
	sem_t sem;
	int rc; /* 0, a negative errno, or WAIT_LEAD */
};

static void blocking_done(struct persist_waiter *w, int rc, const char *msg)
{
	struct blocking_wait *b = (struct blocking_wait *)w;
	(void)msg;
	b->rc = rc;
	sem_post(&b->sem); /* after this the waiter may return and its frame be gone */
}

static int is_blocking(const struct persist_waiter *w)
{
	return w->done == blocking_done;
}

static void *committer_main(void *arg);

/* mu held. 0 once the committer runs, -1 when it cannot be started. */
static int start_committer(struct persist *p)
{
	if (!p->committer_started) {
		if (pthread_create(&p->committer, NULL, committer_main, p) != 0)
			return -1;
		p->committer_started = 1;
	}
	return 0;
}

/* Finds someone to run the next sync for the waiters still queued, mu held and `syncing`
 * kept set for them: the oldest blocking waiter (taken off the queue and put on *done
 * with WAIT_LEAD), else the committer thread (started on first need). Returns 0, or -1
 * when neither is possible (no thread could be started): the caller leads on. */
static int hand_over(struct persist *p, struct persist_waiter ***done_tail)
{
	for (struct persist_waiter **pp = &p->waiters; *pp; pp = &(*pp)->next) {
		struct persist_waiter *w = *pp;
		if (!is_blocking(w))
			continue;
		*pp = w->next;
		w->next = NULL;
		w->rc = WAIT_LEAD;
		**done_tail = w;
		*done_tail = &w->next;
		return 0;
	}
	if (start_committer(p) < 0)
		return -1;
	p->committer_lead = 1;
	pthread_cond_signal(&p->committer_cond);
	return 0;
}

/* After a sync or a compaction, mu held: every queued waiter that is covered now (or will
 * never be: the journal failed) is taken off the queue, with its result in rc. The rest
 * need another sync: *stay is set when the caller runs it (can_stay: the thread may go on
 * leading for others, as an asynchronous caller's or the committer may), else it is
 * handed over (hand_over); `syncing` stays set for whoever runs it, and drops once nobody
 * waits. Returns the waiters to complete once mu is dropped, oldest first. */
static struct persist_waiter *finish_sync(struct persist *p, int can_stay, int *stay)
{
	struct persist_waiter *done = NULL, **tail = &done, **pp = &p->waiters;
	*stay = 0;
	while (*pp) {
		struct persist_waiter *w = *pp;
		if (!p->failed && w->seq > p->durable) {
			pp = &w->next;
			continue;
		}
		w->rc = p->failed ? p->failed : 0;
		*pp = w->next;
		w->next = NULL;
		*tail = w;
		tail = &w->next;
	}
	if (!p->waiters) {
		p->syncing = 0;
		pthread_cond_broadcast(&p->cond); /* a compaction waiting for the descriptor */
	} else if (can_stay || hand_over(p, &tail) < 0) {
		*stay = 1;
	}
	return done;
}

/* mu not held. Each done() may free its waiter. */
static void complete(struct persist *p, struct persist_waiter *w)
{
	while (w) {
		struct persist_waiter *next = w->next;
		w->done(w, w->rc, w->rc < 0 ? p->failmsg : NULL);
		w = next;
	}
}

/* Leads: one fdatasync for everything appended so far (none once an append has made the
 * journal fail meanwhile), then completes what it covered; again while waiters are left
 * and the caller may stay (finish_sync). mu held and `syncing` set for the caller on
 * entry; returns with mu dropped. */
static void lead(struct persist *p, int can_stay)
{
	int stay;
	do {
		if (!p->failed) {
			int64_t target = p->appended;
			int fd = p->fd;
			pthread_mutex_unlock(&p->mu);
			int r = persist_sync_fd(fd, 1);
			pthread_mutex_lock(&p->mu);
			if (r < 0) {
				char name[64];
				persist_journal_name(name, sizeof(name), p->gen);
				persist_set_failed(p, NULL, name, -r);
			} else if (target > p->durable) {
				p->durable = target;
			}
		}
		struct persist_waiter *done = finish_sync(p, can_stay, &stay);
		pthread_mutex_unlock(&p->mu);
		complete(p, done);
		if (stay)
			pthread_mutex_lock(&p->mu);
	} while (stay);
}

/* The committer: runs the syncs that a blocking leader leaves to nobody (only
 * asynchronous waiters are queued behind it: they have no thread to lead with), and the
 * completions of asynchronous waits that a compaction covered (it runs under the cluster
 * lock, which is never held while the FUSE adapter replies). */
static void *committer_main(void *arg)
{
	struct persist *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->committer_lead && !p->to_complete && !p->closing)
			pthread_cond_wait(&p->committer_cond, &p->mu);
		if (p->to_complete) {
			struct persist_waiter *done = p->to_complete;
			p->to_complete = NULL;
			pthread_mutex_unlock(&p->mu);
			complete(p, done);
			pthread_mutex_lock(&p->mu);
			continue;
		}
		if (!p->committer_lead)
			break;
		p->committer_lead = 0;
		lead(p, 1);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* mu held. Is seq durable already, or never going to be? Sets *rc when so. */
static int settled(struct persist *p, int64_t seq, int *rc)
{
	if (seq > p->appended)
		*rc = -EINVAL;
	else if (p->durable >= seq)
		*rc = 0;
	else if (p->failed)
		*rc = p->failed;
	else
		return 0;
	return 1;
}

static void enqueue(struct persist *p, struct persist_waiter *w)
{
	struct persist_waiter **tail = &p->waiters;
	while (*tail) /* oldest first */
		tail = &(*tail)->next;
	w->next = NULL;
	*tail = w;
}

void persist_sync_async(struct persist *p, struct persist_waiter *w)
{
	int rc;
	pthread_mutex_lock(&p->mu);
	if (settled(p, w->seq, &rc)) {
		pthread_mutex_unlock(&p->mu);
		w->done(w, rc,
			rc == -EINVAL ? "persist_sync_async: that sequence was never appended"
			: rc < 0      ? p->failmsg
				      : NULL);
		return;
	}
	enqueue(p, w);
	if (p->syncing) {
		pthread_mutex_unlock(&p->mu);
		return;
	}
	p->syncing = 1;
	lead(p, 1); /* this caller's thread is free to go on for the others */
}

int persist_sync(struct persist *p, int64_t seq, struct cfs_err *err)
{
	struct blocking_wait b;
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	if (settled(p, seq, &rc)) {
		if (rc == -EINVAL)
			rc = cfs_errorf(err, -EINVAL,
					"persist_sync: sequence %lld was never appended",
					(long long)seq);
		else if (rc < 0)
			rc = failed_err(p, err);
		pthread_mutex_unlock(&p->mu);
		return rc;
	}
	b.w.seq = seq;
	b.w.done = blocking_done;
	b.rc = 0;
	if (p->syncing) {
		sem_init(&b.sem, 0, 0);
		enqueue(p, &b.w);
		pthread_mutex_unlock(&p->mu);
		while (sem_wait(&b.sem) < 0) /* EINTR only */
			;
		sem_destroy(&b.sem);
		if (b.rc != WAIT_LEAD) {
			if (b.rc < 0)
				return cfs_errorf(err, b.rc, "%s", p->failmsg); /* sticky: stable */
			return 0;
		}
		pthread_mutex_lock(&p->mu); /* `syncing` was kept set for us */
	} else {
		p->syncing = 1;
	}
	/* Lead once for everyone queued so far; what is left goes to the next leader, so this
	 * caller returns as soon as its own record is durable. */
	lead(p, 0);
	pthread_mutex_lock(&p->mu);
	if (p->durable < seq)
		rc = failed_err(p, err);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* Writes all of data; returns 0 or an errno. */
static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The snapshot writer: jw's flush, buffered write(2)s, the first error kept. */
struct snap_writer {
	int fd;
	int err; /* errno of the first failed write, else 0 */
};

static int sw_flush(struct jsontext_writer *w)
{
	struct snap_writer *sw = w->ctx;
	if (!sw->err && w->len)
		sw->err = write_all(sw->fd, w->buf, w->len);
	w->len = 0;
	return sw->err ? -1 : 0;
}

/* persist_set_failed for code that runs without mu (compaction holds `syncing` instead). */
static int set_failed_unlocked(struct persist *p, struct cfs_err *err, const char *what, int e)
{
	pthread_mutex_lock(&p->mu);
	int rc = persist_set_failed(p, err, what, e);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* Steps 1-4 of compaction (see the top): afterwards snapshot G+1 and an empty journal.G+1
 * are durable and *newfd is that journal. On failure before the rename nothing changed;
 * a failed fsync is sticky. Runs with `syncing` held, mu not held. O(state). */
static int compact_files(struct persist *p, persist_state_fn state, void *ctx, int *newfd,
			 struct cfs_err *err)
{
	char head[96], name[64];
	struct snap_writer sw = {-1, 0};
	uint64_t gen = p->gen + 1;
	int rc, fd, jfd = -1;

	persist_journal_name(name, sizeof(name), gen);
	fd = openat(p->dirfd, SNAPSHOT_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		    0600);
	if (fd < 0)
		return cfs_errorf(err, -errno, "cannot create %s/" SNAPSHOT_TMP ": %s", p->dir,
				  strerror(errno));
	sw.fd = fd;
	struct jsontext_writer w = {xmalloc(SNAP_WRITE_CHUNK), 0, SNAP_WRITE_CHUNK, sw_flush, &sw};
	int n =
	    snprintf(head, sizeof(head), "{\"claimfs\":%d,\"gen\":%llu,\"state\":", SNAPSHOT_FORMAT,
		     (unsigned long long)gen);
	jsontext_add(&w, head, (size_t)n);
	state(ctx, &w);
	jsontext_add(&w, "}\n", 2);
	sw_flush(&w);
	free(w.buf);
	if (sw.err) {
		rc = cfs_errorf(err, -sw.err, "cannot write %s/" SNAPSHOT_TMP ": %s", p->dir,
				strerror(sw.err));
		goto undo;
	}
	rc = persist_sync_fd(fd, 0);
	if (rc < 0) {
		rc = set_failed_unlocked(p, err, SNAPSHOT_TMP, -rc);
		goto undo;
	}
	jfd = openat(p->dirfd, name, O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		     0600);
	if (jfd < 0) {
		rc = cfs_errorf(err, -errno, "cannot create %s/%s: %s", p->dir, name,
				strerror(errno));
		goto undo;
	}
	rc = persist_sync_fd(jfd, 0);
	if (rc < 0) {
		rc = set_failed_unlocked(p, err, name, -rc);
		goto undo;
	}
	if (renameat(p->dirfd, SNAPSHOT_TMP, p->dirfd, SNAPSHOT) < 0) {
		rc =
		    cfs_errorf(err, -errno, "cannot rename %s/" SNAPSHOT_TMP " to " SNAPSHOT ": %s",
			       p->dir, strerror(errno));
		goto undo;
	}
	close(fd);
	rc = persist_sync_fd(p->dirfd, 0);
	if (rc < 0) {
		/* The rename may or may not be on disk: either state loads, but we cannot tell
		 * which one a crash would show, so nothing counts as durable any more. */
		close(jfd);
		return set_failed_unlocked(p, err, "the state directory", -rc);
	}
	*newfd = jfd;
	return 0;
undo:
	close(fd);
	unlinkat(p->dirfd, SNAPSHOT_TMP, 0);
	if (jfd >= 0) {
		close(jfd);
		unlinkat(p->dirfd, name, 0);
	}
	return rc;
}

/* mu held. Moves the asynchronous waits off done onto the committer's to_complete
 * (unless it cannot be started: then they stay) and returns the rest. */
static struct persist_waiter *pass_async_on(struct persist *p, struct persist_waiter *done)
{
	struct persist_waiter *keep = NULL, **kt = &keep, **at = &p->to_complete, *w;
	for (w = done; w && is_blocking(w); w = w->next)
		;
	if (!w || start_committer(p) < 0) /* no asynchronous wait: no thread needed */
		return done;
	while (*at)
		at = &(*at)->next;
	while (done) {
		w = done;
		done = w->next;
		w->next = NULL;
		if (is_blocking(w)) {
			*kt = w;
			kt = &w->next;
		} else {
			*at = w;
			at = &w->next;
		}
	}
	if (p->to_complete)
		pthread_cond_signal(&p->committer_cond);
	return keep;
}

int persist_compact(struct persist *p, persist_state_fn state, void *ctx, struct cfs_err *err)
{
	int rc, newfd = -1, oldfd;
	char oldname[64];
	pthread_mutex_lock(&p->mu);
	persist_reader_free(p);
	while (p->syncing) /* a leader may be using the old journal's descriptor */
		pthread_cond_wait(&p->cond, &p->mu);
	if (p->failed) {
		rc = failed_err(p, err);
		pthread_mutex_unlock(&p->mu);
		return rc;
	}
	p->syncing = 1; /* keeps new leaders off the descriptor while we swap it */
	pthread_mutex_unlock(&p->mu);

	rc = compact_files(p, state, ctx, &newfd, err);

	pthread_mutex_lock(&p->mu);
	persist_journal_name(oldname, sizeof(oldname), p->gen);
	oldfd = p->fd;
	if (rc == 0) {
		p->fd = newfd;
		p->gen++;
		p->jbytes = 0;
		p->scanned = 1;
		/* The snapshot holds the effect of every record appended so far. */
		p->durable = p->appended;
	}
	int stay;
	struct persist_waiter *done = finish_sync(p, 0, &stay);
	done = pass_async_on(p, done);
	if (stay) /* nobody could take the next sync over: this thread runs it */
		lead(p, 0);
	else
		pthread_mutex_unlock(&p->mu);
	complete(p, done);
	if (rc == 0) {
		close(oldfd);
		unlinkat(p->dirfd, oldname, 0); /* if this fails, the next open removes it */
	}
	return rc;
}

static void value_state(void *ctx, struct jsontext_writer *w)
{
	jw_record(w, ctx); /* large top-level arrays by two threads, as a record's */
}

int persist_compact_value(struct persist *p, const json_t *state, struct cfs_err *err)
{
	return persist_compact(p, value_state, (void *)state, err);
}

uint64_t persist_journal_bytes(const struct persist *p)
{
	return p->jbytes; /* changed only by append/compact, which the caller serialises */
}

void persist_close(struct persist *p)
{
	if (!p)
		return;
	persist_reader_free(p); /* it reads through dirfd */
	if (p->fd >= 0) {
		pthread_mutex_lock(&p->mu);
		int64_t last = p->appended;
		pthread_mutex_unlock(&p->mu);
		persist_sync(p, last, NULL); /* what was acknowledged is durable already */
	}
	pthread_mutex_lock(&p->mu);
	p->closing = 1;
	pthread_cond_signal(&p->committer_cond);
	pthread_mutex_unlock(&p->mu);
	if (p->committer_started)
		pthread_join(p->committer, NULL); /* after its last sync: it uses p->fd */
	if (p->fd >= 0)
		close(p->fd);
	if (p->lockfd >= 0)
		close(p->lockfd); /* releases the flock */
	if (p->dirfd >= 0)
		close(p->dirfd);
	json_decref(p->snap);
	pthread_cond_destroy(&p->cond);
	pthread_cond_destroy(&p->committer_cond);
	pthread_mutex_destroy(&p->mu);
	free(p->buf);
	free(p->dir);
	free(p);
}
