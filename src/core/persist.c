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
 * - Records and snapshots are written and read by the compact JSON writer and reader
 *   below (jansson builds and owns the values; its own encoder and decoder were most of
 *   the cost of a bulk apply and of a mount). A text the reader refuses goes to
 *   json_loadb, for the same verdict and its message.
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
	struct reader *reader;	   /* the journal reader thread started by open, or NULL */
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

/* ---- JSON reader ----
 * Records and snapshots are read here rather than by json_loadb, whose lexer goes
 * through a per-character stream and a string buffer: this reader scans the mapped text
 * directly and hands strings without escapes straight to jansson. It is strict JSON
 * (RFC 8259: one value, nothing but white space after it, UTF-8 checked, depth at most
 * JSON_PARSER_MAX_DEPTH) and builds the values json_loadb would (integers that fit
 * json_int_t, other numbers reals, later duplicate keys win). On any failure the caller
 * asks json_loadb again, for the same verdict and its message. O(text). */
struct jp {
	const char *p;	       /* next byte */
	const char *end;       /* end of the text */
	int depth;	       /* open containers */
	char *tmp;	       /* scratch for unescaped strings and numbers; owned */
	size_t tmplen, tmpcap; /* bytes used and allocated in tmp */
};

static void jp_ws(struct jp *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
		s->p++;
}

static void jp_tmp_add(struct jp *s, const char *d, size_t n)
{
	if (!n)
		return; /* tmp may still be NULL: no memcpy from or to it */
	if (s->tmplen + n > s->tmpcap) {
		while (s->tmplen + n > s->tmpcap)
			s->tmpcap = s->tmpcap ? s->tmpcap * 2 : 256;
		s->tmp = xrealloc(s->tmp, s->tmpcap);
	}
	memcpy(s->tmp + s->tmplen, d, n);
	s->tmplen += n;
}

/* 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
static int jp_utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t k;
		unsigned cp;
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + k >= n)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

static int jp_hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* A string at s->p (after the opening quote). Sets *str and *len to the text, either in the
 * input (no escapes) or in s->tmp. Returns -1 on bad input. */
static int jp_string(struct jp *s, const char **str, size_t *len)
{
	const char *start = s->p;
	int high = 0;
	while (s->p < s->end) {
		unsigned char c = (unsigned char)*s->p;
		if (c == '"') {
			*str = start;
			*len = (size_t)(s->p - start);
			s->p++;
			return high && !jp_utf8_ok((const unsigned char *)start, *len) ? -1 : 0;
		}
		if (c == '\\')
			break;
		if (c < 0x20)
			return -1;
		high |= c >= 0x80;
		s->p++;
	}
	/* escapes: copy into tmp */
	s->tmplen = 0;
	jp_tmp_add(s, start, (size_t)(s->p - start));
	while (s->p < s->end) {
		const char *run = s->p;
		while (s->p < s->end && *s->p != '"' && *s->p != '\\') {
			if ((unsigned char)*s->p < 0x20)
				return -1;
			high |= (unsigned char)*s->p >= 0x80;
			s->p++;
		}
		jp_tmp_add(s, run, (size_t)(s->p - run));
		if (s->p >= s->end)
			return -1;
		if (*s->p == '"') {
			s->p++;
			*str = s->tmp;
			*len = s->tmplen;
			return high && !jp_utf8_ok((const unsigned char *)s->tmp, s->tmplen) ? -1
											     : 0;
		}
		/* a backslash */
		if (s->end - s->p < 2)
			return -1;
		char e = s->p[1], out;
		s->p += 2;
		switch (e) {
		case '"':
			out = '"';
			break;
		case '\\':
			out = '\\';
			break;
		case '/':
			out = '/';
			break;
		case 'b':
			out = '\b';
			break;
		case 'f':
			out = '\f';
			break;
		case 'n':
			out = '\n';
			break;
		case 'r':
			out = '\r';
			break;
		case 't':
			out = '\t';
			break;
		case 'u': {
			unsigned cp, lo;
			if (s->end - s->p < 4 || jp_hex4(s->p, &cp) < 0)
				return -1;
			s->p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' ||
				    jp_hex4(s->p + 2, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
					return -1;
				s->p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				return -1;
			}
			if (cp == 0)
				return -1; /* as json_loadb without JSON_ALLOW_NUL */
			char u[4];
			size_t n;
			if (cp < 0x80) {
				u[0] = (char)cp;
				n = 1;
			} else if (cp < 0x800) {
				u[0] = (char)(0xc0 | cp >> 6);
				u[1] = (char)(0x80 | (cp & 0x3f));
				n = 2;
			} else if (cp < 0x10000) {
				u[0] = (char)(0xe0 | cp >> 12);
				u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
				u[2] = (char)(0x80 | (cp & 0x3f));
				n = 3;
			} else {
				u[0] = (char)(0xf0 | cp >> 18);
				u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
				u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
				u[3] = (char)(0x80 | (cp & 0x3f));
				n = 4;
			}
			jp_tmp_add(s, u, n);
			continue;
		}
		default:
			return -1;
		}
		jp_tmp_add(s, &out, 1);
	}
	return -1;
}

static json_t *jp_number(struct jp *s)
{
	const char *start = s->p, *q = s->p;
	int real = 0;
	if (q < s->end && *q == '-')
		q++;
	if (q >= s->end)
		return NULL;
	if (*q == '0') {
		q++;
	} else if (*q >= '1' && *q <= '9') {
		while (q < s->end && *q >= '0' && *q <= '9')
			q++;
	} else {
		return NULL;
	}
	if (q < s->end && *q == '.') {
		real = 1;
		q++;
		if (q >= s->end || *q < '0' || *q > '9')
			return NULL;
		while (q < s->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < s->end && (*q == 'e' || *q == 'E')) {
		real = 1;
		q++;
		if (q < s->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= s->end || *q < '0' || *q > '9')
			return NULL;
		while (q < s->end && *q >= '0' && *q <= '9')
			q++;
	}
	s->p = q;
	char buf[64];
	size_t n = (size_t)(q - start);
	if (n >= sizeof(buf))
		return NULL; /* let json_loadb judge such a number */
	memcpy(buf, start, n);
	buf[n] = '\0';
	errno = 0;
	if (!real) {
		long long v = strtoll(buf, NULL, 10);
		if (errno == ERANGE)
			return NULL; /* json_loadb: "too big integer" */
		return json_integer((json_int_t)v);
	}
	double d = strtod(buf, NULL);
	if (errno == ERANGE && (d > 1 || d < -1))
		return NULL; /* json_loadb: "real number overflow" */
	return json_real(d);
}

static json_t *jp_value(struct jp *s)
{
	const char *str;
	size_t len;
	jp_ws(s);
	if (s->p >= s->end)
		return NULL;
	switch (*s->p) {
	case '{': {
		if (++s->depth > JSON_PARSER_MAX_DEPTH)
			return NULL;
		json_t *o = json_object();
		s->p++;
		jp_ws(s);
		if (s->p < s->end && *s->p == '}') {
			s->p++;
			s->depth--;
			return o;
		}
		for (;;) {
			jp_ws(s);
			if (s->p >= s->end || *s->p != '"')
				break;
			s->p++;
			if (jp_string(s, &str, &len) < 0 || memchr(str, '\0', len))
				break;
			/* the key may sit in tmp, which the value below may reuse */
			char kbuf[128], *key = len < sizeof(kbuf) ? kbuf : xmalloc(len + 1);
			memcpy(key, str, len);
			key[len] = '\0';
			jp_ws(s);
			json_t *v = NULL;
			if (s->p < s->end && *s->p == ':') {
				s->p++;
				v = jp_value(s);
			}
			if (v)
				json_object_setn_new_nocheck(o, key, len, v);
			if (key != kbuf)
				free(key);
			if (!v)
				break;
			jp_ws(s);
			if (s->p < s->end && *s->p == ',') {
				s->p++;
				continue;
			}
			if (s->p < s->end && *s->p == '}') {
				s->p++;
				s->depth--;
				return o;
			}
			break;
		}
		json_decref(o);
		return NULL;
	}
	case '[': {
		if (++s->depth > JSON_PARSER_MAX_DEPTH)
			return NULL;
		json_t *a = json_array();
		s->p++;
		jp_ws(s);
		if (s->p < s->end && *s->p == ']') {
			s->p++;
			s->depth--;
			return a;
		}
		for (;;) {
			json_t *v = jp_value(s);
			if (!v)
				break;
			json_array_append_new(a, v);
			jp_ws(s);
			if (s->p < s->end && *s->p == ',') {
				s->p++;
				continue;
			}
			if (s->p < s->end && *s->p == ']') {
				s->p++;
				s->depth--;
				return a;
			}
			break;
		}
		json_decref(a);
		return NULL;
	}
	case '"':
		s->p++;
		if (jp_string(s, &str, &len) < 0)
			return NULL;
		return json_stringn_nocheck(str, len);
	case 't':
		if (s->end - s->p >= 4 && !memcmp(s->p, "true", 4)) {
			s->p += 4;
			return json_true();
		}
		return NULL;
	case 'f':
		if (s->end - s->p >= 5 && !memcmp(s->p, "false", 5)) {
			s->p += 5;
			return json_false();
		}
		return NULL;
	case 'n':
		if (s->end - s->p >= 4 && !memcmp(s->p, "null", 4)) {
			s->p += 4;
			return json_null();
		}
		return NULL;
	default:
		return jp_number(s);
	}
}

/* The value in text[0..len), or NULL when it is not exactly one valid JSON value. */
static json_t *jp_parse(const char *text, size_t len)
{
	struct jp s = {text, text + len, 0, NULL, 0, 0};
	json_t *v = jp_value(&s);
	jp_ws(&s);
	if (v && s.p != s.end) {
		json_decref(v);
		v = NULL;
	}
	free(s.tmp);
	return v;
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
	json_t *v = jp_parse(data + HDR_LEN, len);
	return v ? v : json_loadb(data + HDR_LEN, len, JSON_DECODE_ANY, &je);
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
static int read_snapshot(struct persist *p, json_t **state, uint64_t *gen, struct cfs_err *err)
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
		root = jp_parse(map, (size_t)st.st_size);
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
	journal_name(name, sizeof(name), gen);
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

/* ---- the journal reader thread ----
 * Loading a large state is mostly parsing. persist_open peeks at the snapshot's header
 * for its generation and starts a thread that parses journal.<gen> record by record
 * while the snapshot is parsed (and, through persist_load's callback, applied); then
 * persist_load replays each record as soon as the thread has it. The thread only reads,
 * through its own descriptor and mapping. When the snapshot turns out to name another
 * generation, or the journal persist_open settles on is another file, its work is thrown
 * away and the journal is read again as without it. The torn-tail cut stays with
 * persist_load, under mu. */
struct reader {
	pthread_t th;
	pthread_mutex_t mu;  /* guards everything below */
	pthread_cond_t cond; /* a record was added, or the thread ended */
	int dirfd;	     /* the state directory (borrowed) */
	uint64_t gen;	     /* the generation read */
	json_t **recs;	     /* parsed records; taken ones are NULL */
	uint64_t *offs;	     /* each record's offset in the file */
	size_t n, cap;	     /* records parsed, slots allocated */
	uint64_t valid;	     /* bytes of complete records, once done */
	uint64_t size;	     /* the file's size when it was mapped */
	dev_t dev;	     /* the file read (missing: no journal then) */
	ino_t ino;
	int missing;
	int done; /* the thread has ended */
	int stop; /* asks the thread to end */
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	char name[64];
	struct stat st;
	const char *map = NULL;
	uint64_t off = 0, rsize;

	journal_name(name, sizeof(name), r->gen);
	int fd = openat(r->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0) {
		pthread_mutex_lock(&r->mu);
		r->missing = 1;
		goto end;
	}
	if (st.st_size > 0) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		if (m != MAP_FAILED) {
			madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
			map = m;
		}
	}
	pthread_mutex_lock(&r->mu);
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	r->size = (uint64_t)st.st_size;
	if (st.st_size > 0 && !map) {
		r->missing = 1; /* could not map: persist_load reads it itself */
		goto end;
	}
	while (off < r->size && !r->stop) {
		pthread_mutex_unlock(&r->mu);
		json_t *rec = record_parse(map + off, r->size - off, &rsize);
		pthread_mutex_lock(&r->mu);
		if (!rec)
			break;
		if (r->n == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 64;
			r->recs = xrealloc(r->recs, r->cap * sizeof(*r->recs));
			r->offs = xrealloc(r->offs, r->cap * sizeof(*r->offs));
		}
		r->recs[r->n] = rec;
		r->offs[r->n++] = off;
		off += rsize;
		pthread_cond_broadcast(&r->cond);
	}
	r->valid = off;
end:
	r->done = 1;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->mu);
	if (map)
		munmap((void *)map, (size_t)st.st_size);
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* The generation named at the start of snapshot.json as this file's writer puts it
 * ({"claimfs":1,"gen":G,...); 0 when there is no snapshot; -1 when the start is something
 * else (the snapshot is then parsed first, and the journal after it). */
static int peek_gen(struct persist *p, uint64_t *gen)
{
	static const char head[] = "{\"claimfs\":1,\"gen\":";
	char buf[64];
	int fd = openat(p->dirfd, SNAPSHOT, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;
	uint64_t g = 0;
	size_t i;

	*gen = 0;
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (n < (ssize_t)sizeof(head) || memcmp(buf, head, sizeof(head) - 1) != 0)
		return -1;
	for (i = sizeof(head) - 1; i < (size_t)n && buf[i] >= '0' && buf[i] <= '9'; i++) {
		if (g > (UINT64_MAX - 9) / 10)
			return -1;
		g = g * 10 + (uint64_t)(buf[i] - '0');
	}
	if (i == sizeof(head) - 1 || i >= (size_t)n || buf[i] != ',')
		return -1;
	*gen = g;
	return 0;
}

static void reader_start(struct persist *p, uint64_t gen)
{
	struct reader *r = xcalloc(1, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->dirfd = p->dirfd;
	r->gen = gen;
	json_decref(json_object()); /* jansson's hash seed, before a second thread uses it */
	if (pthread_create(&r->th, NULL, reader_main, r) != 0) {
		pthread_cond_destroy(&r->cond);
		pthread_mutex_destroy(&r->mu);
		free(r);
		return;
	}
	p->reader = r;
}

/* Stops (when still running) and frees the reader with the records nobody took. */
static void reader_free(struct persist *p)
{
	struct reader *r = p->reader;
	size_t i;
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = 1;
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->th, NULL);
	for (i = 0; i < r->n; i++)
		json_decref(r->recs[i]);
	free(r->recs);
	free(r->offs);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->mu);
	free(r);
	p->reader = NULL;
}

/* Did the reader read the journal this handle settled on? Waits for it to have looked. */
static int reader_usable(struct persist *p)
{
	struct reader *r = p->reader;
	struct stat st;
	int ok;
	if (!r || r->gen != p->gen || fstat(p->fd, &st) < 0)
		return 0;
	pthread_mutex_lock(&r->mu);
	while (!r->done && !r->missing && r->dev == 0 && r->ino == 0 && r->size == 0)
		pthread_cond_wait(&r->cond, &r->mu);
	ok = r->missing
		 ? r->done && r->n == 0 && st.st_size == 0 && r->size == 0
		 : r->dev == st.st_dev && r->ino == st.st_ino && r->size == (uint64_t)st.st_size;
	pthread_mutex_unlock(&r->mu);
	return ok;
}

/* scan_journal through the reader: the same replays, errors and torn-tail cut. mu held. */
static int reader_replay(struct persist *p, int (*replay)(void *ctx, json_t *record), void *ctx,
			 struct cfs_err *err)
{
	struct reader *r = p->reader;
	char name[64];
	size_t i;
	int rc = 0;

	journal_name(name, sizeof(name), p->gen);
	for (i = 0;; i++) {
		pthread_mutex_lock(&r->mu);
		while (i >= r->n && !r->done)
			pthread_cond_wait(&r->cond, &r->mu);
		if (i >= r->n) {
			pthread_mutex_unlock(&r->mu);
			break;
		}
		json_t *rec = r->recs[i];
		uint64_t off = r->offs[i];
		r->recs[i] = NULL;
		pthread_mutex_unlock(&r->mu);
		if (replay)
			rc = replay(ctx, rec);
		json_decref(rec);
		if (rc != 0) {
			reader_free(p);
			if (rc > 0)
				rc = cfs_errorf(err, -EINVAL,
						"replaying %s/%s: record at byte %llu refused",
						p->dir, name, (unsigned long long)off);
			return rc;
		}
	}
	uint64_t off = r->valid, size = r->size;
	reader_free(p);
	if (off < size) {
		/* A torn or corrupt tail, as in scan_journal. */
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
	if (peek_gen(p, &peeked) == 0)
		reader_start(p, peeked); /* parses the journal while we parse the snapshot */
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

int persist_load_with(struct persist *p, int (*snapshot_fn)(void *ctx, json_t *state),
		      int (*replay)(void *ctx, json_t *record), void *ctx, struct cfs_err *err)
{
	uint64_t gen;
	json_t *snap = NULL;
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	if (p->snap) {
		snap = p->snap; /* read at open: take over our reference */
		p->snap = NULL;
	} else {
		rc = read_snapshot(p, &snap, &gen, err); /* a second load */
	}
	if (rc == 0 && snapshot_fn)
		rc = snapshot_fn(ctx, snap); /* meanwhile the reader parses the journal */
	json_decref(snap);
	if (rc > 0)
		rc = cfs_errorf(err, -EINVAL, "loading %s/" SNAPSHOT ": state refused", p->dir);
	if (rc == 0 && p->reader && reader_usable(p))
		rc = reader_replay(p, replay, ctx, err);
	else if (rc == 0) {
		reader_free(p);
		rc = scan_journal(p, replay, ctx, err);
	}
	reader_free(p);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

static int keep_snapshot(void *ctx, json_t *state)
{
	*(json_t **)ctx = json_incref(state);
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

/* ---- compact JSON writer ----
 * Records and snapshots are written here rather than by json_dumpb: jansson's encoder
 * formats every container's address with snprintf and keeps it in a hashtable to detect
 * cycles (the store holds none), and calls back per token; that was a third of the cost
 * of a bulk apply. Output is compact JSON (keys in insertion order, UTF-8 as is, only
 * '"', '\\' and control characters escaped) that json_loadb reads back to equal values.
 * O(size of the value). */
struct jw {
	char *buf;		    /* output; owned by the caller */
	size_t len;		    /* bytes used */
	size_t cap;		    /* bytes allocated */
	int (*flush)(struct jw *w); /* NULL: grow buf; else empties buf (sets len 0) */
	void *ctx;		    /* for flush */
};

static inline void jw_reserve(struct jw *w, size_t n)
{
	if (w->len + n <= w->cap)
		return;
	if (w->flush && w->len) {
		w->flush(w);
		if (w->len + n <= w->cap)
			return;
	}
	while (w->cap < w->len + n)
		w->cap = w->cap ? w->cap * 2 : 4096;
	w->buf = xrealloc(w->buf, w->cap);
}

static inline void jw_add(struct jw *w, const char *s, size_t n)
{
	jw_reserve(w, n);
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

/* Non-zero when one of the 8 bytes of x is a control character, '"' or '\\' (the
 * has-less and has-zero byte tricks; a false alarm only sends that block through the
 * byte loop). */
static uint64_t jw_special8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
	return ((x - ones * 0x20) & ~x & highs) | ((q - ones) & ~q & highs) |
	       ((b - ones) & ~b & highs);
}

static void jw_string(struct jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, run = 0;
	uint64_t x;
	jw_reserve(w, n + 2);
	/* The common case, nothing to escape: one copy into the room just reserved. */
	for (i = 0; i + 8 <= n && (memcpy(&x, s + i, 8), !jw_special8(x)); i += 8)
		;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == '"' || c == '\\')
			break;
	}
	if (i == n) {
		char *o = w->buf + w->len;
		o[0] = '"';
		memcpy(o + 1, s, n);
		o[n + 1] = '"';
		w->len += n + 2;
		return;
	}
	w->buf[w->len++] = '"';
	for (i = 0; i < n; i++) {
		/* Most strings need no escape: skip them 8 bytes at a time. */
		while (i + 8 <= n && (memcpy(&x, s + i, 8), !jw_special8(x)))
			i += 8;
		if (i >= n)
			break;
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		jw_add(w, s + run, i - run);
		run = i + 1;
		char esc[6] = {'\\', 0, '0', '0', 0, 0};
		size_t elen = 2;
		switch (c) {
		case '"':
			esc[1] = '"';
			break;
		case '\\':
			esc[1] = '\\';
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			esc[1] = 'u';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			elen = 6;
		}
		jw_add(w, esc, elen);
	}
	jw_add(w, s + run, n - run);
	jw_add(w, "\"", 1);
}

static void jw_value(struct jw *w, const json_t *v)
{
	char num[64];
	int n;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *val;
		void *it;
		int first = 1;
		jw_add(w, "{", 1);
		for (it = json_object_iter((json_t *)v); it;
		     it = json_object_iter_next((json_t *)v, it)) {
			key = json_object_iter_key(it);
			val = json_object_iter_value(it);
			if (!first)
				jw_add(w, ",", 1);
			first = 0;
			jw_string(w, key, json_object_iter_key_len(it));
			jw_add(w, ":", 1);
			jw_value(w, val);
		}
		jw_add(w, "}", 1);
		break;
	}
	case JSON_ARRAY: {
		size_t i, len = json_array_size(v);
		jw_add(w, "[", 1);
		for (i = 0; i < len; i++) {
			if (i)
				jw_add(w, ",", 1);
			jw_value(w, json_array_get(v, i));
		}
		jw_add(w, "]", 1);
		break;
	}
	case JSON_STRING:
		jw_string(w, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		jw_add(w, num, (size_t)n);
		break;
	case JSON_REAL: {
		/* As jansson: 17 significant digits, always a '.' or an exponent so that it
		 * reads back as a real, an exponent without '+' and leading zeros, a point even
		 * under a locale's decimal comma. */
		n = snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		char *e = strchr(num, 'e');
		for (int i = 0; i < n; i++)
			if (num[i] == ',')
				num[i] = '.';
		if (e) {
			char *d = e + 1, *q = e + 1;
			if (*q == '+')
				q++;
			else if (*q == '-')
				*d++ = *q++;
			while (*q == '0' && q[1])
				q++;
			memmove(d, q, strlen(q) + 1);
			n = (int)strlen(num);
		} else if (!strchr(num, '.')) {
			num[n++] = '.';
			num[n++] = '0';
		}
		jw_add(w, num, (size_t)n);
		break;
	}
	case JSON_TRUE:
		jw_add(w, "true", 4);
		break;
	case JSON_FALSE:
		jw_add(w, "false", 5);
		break;
	case JSON_NULL:
		jw_add(w, "null", 4);
		break;
	}
}

/* Serialises record behind room for the header into p->buf; returns the json's length
 * (the buffer keeps one more byte free for the newline). */
/* The large arrays at the top of a record (a bulk apply's objects) or of a snapshot's
 * state (every object) are written by two threads: a helper writes the second half of
 * the elements into a buffer of its own while this thread writes the first half, then
 * the helper's text follows. Both only read the values (the caller holds whatever lock
 * guards them until append or compact returns). A snapshot's helper half is held in
 * memory until it is written: half the snapshot's size, for a moment. */
#define SPLIT_MIN_ELEMENTS 512

struct jw_half {
	const json_t *arr;
	size_t from, to;
	struct jw w; /* its own growing buffer */
};

static void *jw_half_main(void *arg)
{
	struct jw_half *h = arg;
	for (size_t i = h->from; i < h->to; i++) {
		jw_add(&h->w, ",", 1);
		jw_value(&h->w, json_array_get(h->arr, i));
	}
	return NULL;
}

static void jw_array_split(struct jw *w, const json_t *arr)
{
	size_t i, n = json_array_size(arr);
	struct jw_half h = {arr, n / 2, n, {NULL, 0, 0, NULL, NULL}};
	pthread_t th;
	int helped = pthread_create(&th, NULL, jw_half_main, &h) == 0;
	size_t mid = helped ? h.from : n;
	jw_add(w, "[", 1);
	for (i = 0; i < mid; i++) {
		if (i)
			jw_add(w, ",", 1);
		jw_value(w, json_array_get(arr, i));
	}
	if (helped) {
		pthread_join(th, NULL);
		if (w->flush && h.w.len > w->cap) {
			/* A snapshot: write the helper's half as it is, not through a copy. */
			struct jw big = *w;
			w->flush(w);
			big.buf = h.w.buf;
			big.len = h.w.len;
			big.cap = h.w.cap;
			big.flush(&big);
		} else {
			jw_add(w, h.w.buf, h.w.len);
		}
		free(h.w.buf);
	}
	jw_add(w, "]", 1);
}

/* jw_value of a record: the same text. */
static void jw_record(struct jw *w, const json_t *record)
{
	const char *key;
	json_t *val;
	void *it;
	int first = 1;
	if (!json_is_object(record)) {
		jw_value(w, record);
		return;
	}
	jw_add(w, "{", 1);
	for (it = json_object_iter((json_t *)record); it;
	     it = json_object_iter_next((json_t *)record, it)) {
		key = json_object_iter_key(it);
		val = json_object_iter_value(it);
		if (!first)
			jw_add(w, ",", 1);
		first = 0;
		jw_string(w, key, json_object_iter_key_len(it));
		jw_add(w, ":", 1);
		if (json_is_array(val) && json_array_size(val) >= SPLIT_MIN_ELEMENTS)
			jw_array_split(w, val);
		else
			jw_value(w, val);
	}
	jw_add(w, "}", 1);
}

static size_t dump_record(struct persist *p, const json_t *record)
{
	struct jw w = {p->buf, HDR_LEN, p->cap, NULL, NULL};
	jw_record(&w, record);
	jw_reserve(&w, 1);
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
	journal_name(name, sizeof(name), p->gen);
	if (p->failed) {
		rc = failed_err(p, err);
		goto out;
	}
	reader_free(p);	   /* appending without a load: the reader's view gets stale */
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

/* The snapshot writer: jw's flush, buffered write(2)s, the first error kept. */
struct snap_writer {
	int fd;
	int err; /* errno of the first failed write, else 0 */
};

static int sw_flush(struct jw *w)
{
	struct snap_writer *sw = w->ctx;
	if (!sw->err && w->len)
		sw->err = write_all(sw->fd, w->buf, w->len);
	w->len = 0;
	return sw->err ? -1 : 0;
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
	struct snap_writer sw = {-1, 0};
	uint64_t gen = p->gen + 1;
	int rc, fd, jfd = -1;

	journal_name(name, sizeof(name), gen);
	fd = openat(p->dirfd, SNAPSHOT_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		    0600);
	if (fd < 0)
		return cfs_errorf(err, -errno, "cannot create %s/" SNAPSHOT_TMP ": %s", p->dir,
				  strerror(errno));
	sw.fd = fd;
	struct jw w = {xmalloc(SNAP_WRITE_CHUNK), 0, SNAP_WRITE_CHUNK, sw_flush, &sw};
	int n =
	    snprintf(head, sizeof(head), "{\"claimfs\":%d,\"gen\":%llu,\"state\":", SNAPSHOT_FORMAT,
		     (unsigned long long)gen);
	jw_add(&w, head, (size_t)n);
	jw_record(&w, state); /* the objects by two threads */
	jw_add(&w, "}\n", 2);
	sw_flush(&w);
	free(w.buf);
	if (sw.err) {
		rc = cfs_errorf(err, -sw.err, "cannot write %s/" SNAPSHOT_TMP ": %s", p->dir,
				strerror(sw.err));
		goto undo;
	}
	rc = sync_fd(fd, 0);
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
	reader_free(p);
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
	reader_free(p); /* it reads through dirfd */
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
