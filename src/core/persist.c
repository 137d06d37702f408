/* persist.c - durable state (persist.h): the lock on the state directory, the snapshot
 * (written atomically), the append-only journal of CRC-framed records, torn-tail
 * recovery, compaction and group commit.
 *
 * DESIGN (durability and threads)
 * - A record is "<8 hex length> <8 hex crc32>\n<json>\n", written with one write(2) to an
 *   O_APPEND descriptor under p->mu. A failed or short write is cut off again with
 *   ftruncate, so no garbage ever sits in front of a later record (a load would stop
 *   there and drop acknowledged records).
 * - Group commit: persist_sync takes p->mu; while another thread is in fdatasync it waits
 *   on p->cond; otherwise it leads: notes the last appended seq, drops p->mu, fdatasyncs,
 *   retakes p->mu, marks that seq durable and wakes every waiter. Appends go on during the
 *   fdatasync (they hold p->mu only for the write) and are covered by the next leader.
 * - A failed fsync/fdatasync sets p->failed = -EIO for good: the kernel may have dropped
 *   the dirty pages, so a later fsync that succeeds would prove nothing.
 * - Compaction (generation G -> G+1): write snapshot.json.tmp and fsync it; create an empty
 *   journal.G+1 and fsync it; rename the temp file over snapshot.json; fsync the
 *   directory; only then unlink journal.G. A crash at any step leaves a loadable
 *   directory: before the rename, snapshot G and journal.G are intact (the temp file and
 *   the empty journal.G+1 are removed at the next open); after it, snapshot G+1 holds
 *   everything, journal.G is stale (removed at open) and a missing journal.G+1 is
 *   created empty.
 * - Cost: append O(record size), sync O(1) plus the disk, load O(journal + snapshot),
 *   compaction O(state). Nothing per change depends on the number of objects. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "claimfs/persist.h"

#define SNAPSHOT "snapshot.json"
#define SNAPSHOT_TMP "snapshot.json.tmp"
#define LOCKFILE "lock"
#define JOURNAL_PREFIX "journal."
#define SNAPSHOT_FORMAT 1
#define HDR_LEN 18u		    /* "%08x %08x\n" */
#define RECORD_MAX 0xffffffffu	    /* the length field has 8 hex digits */
#define BUF_INITIAL (64u << 10)	    /* record buffer, grows to the largest record */
#define BUF_KEEP_MAX (4u << 20)	    /* larger record buffers are shrunk after use */
#define SNAP_WRITE_CHUNK (1u << 20) /* snapshot writer's buffer */

int persist_test_no_fsync;

struct persist {
	char *dir;		   /* the state directory as given, for messages */
	int dirfd;		   /* the state directory, O_DIRECTORY */
	int lockfd;		   /* "lock", flock'ed for the life of this handle */
	pthread_mutex_t mu;	   /* guards every field below */
	pthread_cond_t cond;	   /* signalled when a sync or a compaction finishes */
	int fd;			   /* journal.<gen>, O_RDWR|O_APPEND; swapped by compaction only
				    * while it holds `syncing`, so a leader's copy stays valid */
	uint64_t gen;		   /* snapshot generation; journal.<gen> is the current journal */
	uint64_t jbytes;	   /* bytes of complete records in the journal */
	int64_t appended;	   /* seq of the last record written */
	int64_t durable;	   /* every seq <= this is on disk */
	int syncing;		   /* a leader is in fdatasync, or a compaction runs */
	int failed;		   /* sticky negative errno after a failed fsync, else 0 */
	char failmsg[CFS_ERR_MAX]; /* the reason of `failed` */
	int scanned;		   /* the journal was validated (torn tail cut) since open */
	json_t *snap;		   /* snapshot state read at open, until persist_load takes it */
	char *buf;		   /* record buffer: header, json, newline */
	size_t cap;		   /* bytes allocated in buf */
};

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
static json_t *record_parse(const char *data, uint64_t avail, uint64_t *size)
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
	return json_loadb(data + HDR_LEN, len, JSON_DECODE_ANY, &je);
}

/* ---- small file helpers ---- */

static int sync_fd(int fd, int data_only)
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
static int set_failed(struct persist *p, struct cfs_err *err, const char *what, int e)
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

static void journal_name(char *buf, size_t len, uint64_t gen)
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
		rc = sync_fd(fd, 0);
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

	p->lockfd = openat(p->dirfd, LOCKFILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
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
static int read_snapshot(struct persist *p, json_t **state, uint64_t *gen, struct cfs_err *err)
{
	struct stat st;
	json_error_t je;
	json_t *root = NULL, *jgen, *jstate;
	void *map = NULL;
	int fd, rc = 0;

	*state = NULL;
	*gen = 0;
	fd = openat(p->dirfd, SNAPSHOT, O_RDONLY | O_CLOEXEC);
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
		root = json_loadb(map, (size_t)st.st_size, 0, &je);
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
	journal_name(name, sizeof(name), gen);
	*created = 0;
	p->fd = openat(p->dirfd, name, O_RDWR | O_APPEND | O_CLOEXEC);
	if (p->fd < 0 && errno == ENOENT) {
		p->fd =
		    openat(p->dirfd, name, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		*created = p->fd >= 0;
	}
	if (p->fd < 0)
		return cfs_errorf(err, -errno, "cannot open %s/%s: %s", p->dir, name,
				  strerror(errno));
	if (*created) {
		int rc = sync_fd(p->dirfd, 0);
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
	json_t *rec = record_parse(map, size, &rsize);
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
	journal_name(name, sizeof(name), p->gen);
	while (off < size) {
		json_t *rec = record_parse(map + off, size - off, &rsize);
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
	if (off < size) {
		/* A torn or corrupt tail: what follows it was never acknowledged as a whole, and
		 * new records must not be written behind garbage. */
		if (ftruncate(p->fd, (off_t)off) < 0)
			return cfs_errorf(err, -errno, "cannot cut the torn tail of %s/%s: %s",
					  p->dir, name, strerror(errno));
		rc = sync_fd(p->fd, 1);
		if (rc < 0)
			return set_failed(p, err, name, -rc);
	}
	p->jbytes = off;
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
	rc = take_lock(p, err);
	if (rc < 0)
		goto fail;
	rc = read_snapshot(p, &p->snap, &p->gen, err);
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
	if (!p->snap && !created) {
		rc = journal_has_record(p, &has_record, err);
		if (rc < 0)
			goto fail;
	}
	*is_new = !p->snap && !has_record;
	*out = p;
	return 0;
fail:
	persist_close(p);
	return rc;
}

int persist_load(struct persist *p, json_t **snapshot, int (*replay)(void *ctx, json_t *record),
		 void *ctx, struct cfs_err *err)
{
	uint64_t gen;
	int rc = 0;

	*snapshot = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->snap) {
		*snapshot = p->snap; /* read at open: hand over our reference */
		p->snap = NULL;
	} else {
		rc = read_snapshot(p, snapshot, &gen, err); /* a second load */
	}
	if (rc == 0)
		rc = scan_journal(p, replay, ctx, err);
	pthread_mutex_unlock(&p->mu);
	if (rc < 0) {
		json_decref(*snapshot);
		*snapshot = NULL;
	}
	return rc;
}

/* Serialises record behind room for the header into p->buf; returns the json's length. */
static size_t dump_record(struct persist *p, const json_t *record)
{
	const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
	size_t n = json_dumpb(record, p->buf + HDR_LEN, p->cap - HDR_LEN - 1, flags);
	if (n > p->cap - HDR_LEN - 1) {
		while (p->cap < n + HDR_LEN + 1)
			p->cap *= 2;
		p->buf = xrealloc(p->buf, p->cap);
		n = json_dumpb(record, p->buf + HDR_LEN, p->cap - HDR_LEN - 1, flags);
	}
	return n;
}

int64_t persist_append(struct persist *p, const json_t *record, struct cfs_err *err)
{
	char name[64];
	int64_t rc;
	size_t n, total, done = 0;

	pthread_mutex_lock(&p->mu);
	journal_name(name, sizeof(name), p->gen);
	if (p->failed) {
		rc = failed_err(p, err);
		goto out;
	}
	if (!p->scanned) { /* appending without a load: cut a torn tail first */
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

int persist_sync(struct persist *p, int64_t seq, struct cfs_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	if (seq > p->appended) {
		rc = cfs_errorf(err, -EINVAL, "persist_sync: sequence %lld was never appended",
				(long long)seq);
		goto out;
	}
	while (p->durable < seq) {
		if (p->failed) {
			rc = failed_err(p, err);
			break;
		}
		if (p->syncing) {
			pthread_cond_wait(&p->cond, &p->mu);
			continue;
		}
		/* Lead: one fdatasync for everything appended so far. */
		int64_t target = p->appended;
		int fd = p->fd;
		p->syncing = 1;
		pthread_mutex_unlock(&p->mu);
		int r = sync_fd(fd, 1);
		pthread_mutex_lock(&p->mu);
		p->syncing = 0;
		if (r < 0) {
			char name[64];
			journal_name(name, sizeof(name), p->gen);
			set_failed(p, NULL, name, -r);
		} else if (target > p->durable) {
			p->durable = target;
		}
		pthread_cond_broadcast(&p->cond);
	}
out:
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

/* The snapshot writer behind json_dump_callback: buffered write(2)s, first error kept. */
struct snap_writer {
	int fd;
	char *buf;  /* SNAP_WRITE_CHUNK bytes */
	size_t len; /* bytes waiting in buf */
	int err;    /* errno of the first failed write, else 0 */
};

static void sw_flush(struct snap_writer *w)
{
	if (!w->err && w->len)
		w->err = write_all(w->fd, w->buf, w->len);
	w->len = 0;
}

static int sw_add(const char *data, size_t size, void *ctx)
{
	struct snap_writer *w = ctx;
	if (w->len + size > SNAP_WRITE_CHUNK)
		sw_flush(w);
	if (size >= SNAP_WRITE_CHUNK) {
		if (!w->err)
			w->err = write_all(w->fd, data, size);
	} else {
		memcpy(w->buf + w->len, data, size);
		w->len += size;
	}
	return w->err ? -1 : 0;
}

/* set_failed for code that runs without mu (compaction holds `syncing` instead). */
static int set_failed_unlocked(struct persist *p, struct cfs_err *err, const char *what, int e)
{
	pthread_mutex_lock(&p->mu);
	int rc = set_failed(p, err, what, e);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* Steps 1-4 of compaction (see the top): afterwards snapshot G+1 and an empty journal.G+1
 * are durable and *newfd is that journal. On failure before the rename nothing changed;
 * a failed fsync is sticky. Runs with `syncing` held, mu not held. O(state). */
static int compact_files(struct persist *p, const json_t *state, int *newfd, struct cfs_err *err)
{
	char head[96], name[64];
	struct snap_writer w = {-1, NULL, 0, 0};
	uint64_t gen = p->gen + 1;
	int rc, fd, jfd = -1;

	journal_name(name, sizeof(name), gen);
	fd = openat(p->dirfd, SNAPSHOT_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return cfs_errorf(err, -errno, "cannot create %s/" SNAPSHOT_TMP ": %s", p->dir,
				  strerror(errno));
	w.fd = fd;
	w.buf = xmalloc(SNAP_WRITE_CHUNK);
	int n =
	    snprintf(head, sizeof(head), "{\"claimfs\":%d,\"gen\":%llu,\"state\":", SNAPSHOT_FORMAT,
		     (unsigned long long)gen);
	sw_add(head, (size_t)n, &w);
	int dumped = json_dump_callback(state, sw_add, &w, JSON_COMPACT | JSON_ENCODE_ANY);
	sw_add("}\n", 2, &w);
	sw_flush(&w);
	free(w.buf);
	if (w.err || dumped < 0) {
		rc = w.err ? cfs_errorf(err, -w.err, "cannot write %s/" SNAPSHOT_TMP ": %s", p->dir,
					strerror(w.err))
			   : cfs_errorf(err, -EINVAL, "cannot serialise the snapshot");
		goto undo;
	}
	rc = sync_fd(fd, 0);
	if (rc < 0) {
		rc = set_failed_unlocked(p, err, SNAPSHOT_TMP, -rc);
		goto undo;
	}
	jfd = openat(p->dirfd, name, O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (jfd < 0) {
		rc = cfs_errorf(err, -errno, "cannot create %s/%s: %s", p->dir, name,
				strerror(errno));
		goto undo;
	}
	rc = sync_fd(jfd, 0);
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
	rc = sync_fd(p->dirfd, 0);
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

int persist_compact(struct persist *p, const json_t *state, struct cfs_err *err)
{
	int rc, newfd = -1, oldfd;
	char oldname[64];

	pthread_mutex_lock(&p->mu);
	while (p->syncing) /* a leader may be using the old journal's descriptor */
		pthread_cond_wait(&p->cond, &p->mu);
	if (p->failed) {
		rc = failed_err(p, err);
		pthread_mutex_unlock(&p->mu);
		return rc;
	}
	p->syncing = 1; /* keeps new leaders off the descriptor while we swap it */
	pthread_mutex_unlock(&p->mu);

	rc = compact_files(p, state, &newfd, err);

	pthread_mutex_lock(&p->mu);
	journal_name(oldname, sizeof(oldname), p->gen);
	oldfd = p->fd;
	if (rc == 0) {
		p->fd = newfd;
		p->gen++;
		p->jbytes = 0;
		p->scanned = 1;
		/* The snapshot holds the effect of every record appended so far. */
		p->durable = p->appended;
	}
	p->syncing = 0;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
	if (rc == 0) {
		close(oldfd);
		unlinkat(p->dirfd, oldname, 0); /* if this fails, the next open removes it */
	}
	return rc;
}

uint64_t persist_journal_bytes(const struct persist *p)
{
	return p->jbytes; /* changed only by append/compact, which the caller serialises */
}

void persist_close(struct persist *p)
{
	if (!p)
		return;
	if (p->fd >= 0) {
		pthread_mutex_lock(&p->mu);
		int64_t last = p->appended;
		pthread_mutex_unlock(&p->mu);
		persist_sync(p, last, NULL); /* what was acknowledged is durable already */
		close(p->fd);
	}
	if (p->lockfd >= 0)
		close(p->lockfd); /* releases the flock */
	if (p->dirfd >= 0)
		close(p->dirfd);
	json_decref(p->snap);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->mu);
	free(p->buf);
	free(p->dir);
	free(p);
}
