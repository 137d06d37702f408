/* test_persist.c - the journal, snapshot, compaction, recovery and group commit of
 * persist.c and persist_reader.c. fdatasync is interposed below so the tests can count syncs,
 * simulate a slow disk and inject a failing one. */
#include "unit.h"
#include "claimfs/jsonalloc.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "claimfs/persist.h"

/* ---- the interposed fdatasync ---- */

static atomic_int fake_fail;	       /* fail with EIO */
static atomic_int fake_delay_us;       /* simulated disk latency instead of the syscall */
static atomic_long fake_calls;	       /* calls so far */
static atomic_long fake_passed;	       /* calls that went past the failure check */
static _Atomic long long synced_bytes; /* largest file size a successful call started at */

int fdatasync(int fd)
{
	struct stat st;
	int have = fstat(fd, &st) == 0;
	atomic_fetch_add(&fake_calls, 1);
	if (atomic_load(&fake_fail)) {
		errno = EIO;
		return -1;
	}
	atomic_fetch_add(&fake_passed, 1);
	if (atomic_load(&fake_delay_us))
		usleep((useconds_t)atomic_load(&fake_delay_us));
	else if (syscall(SYS_fdatasync, fd) < 0)
		return -1;
	if (have) {
		long long cur = atomic_load(&synced_bytes);
		while (st.st_size > cur &&
		       !atomic_compare_exchange_weak(&synced_bytes, &cur, (long long)st.st_size))
			;
	}
	return 0;
}

static void fake_reset(int no_fsync)
{
	persist_test_no_fsync = no_fsync;
	atomic_store(&fake_fail, 0);
	atomic_store(&fake_delay_us, 0);
	atomic_store(&fake_calls, 0);
	atomic_store(&fake_passed, 0);
	atomic_store(&synced_bytes, 0);
}

/* ---- helpers ---- */

static char tmp[64];
static struct cfs_err err;

static void setup(void)
{
	strcpy(tmp, "/tmp/claimfs-persist.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	memset(&err, 0, sizeof(err));
	fake_reset(1);
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	ck_assert_int_eq(system(cmd), 0);
	fake_reset(0);
}

static const char *path(const char *name)
{
	static char buf[4][256];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmp, name);
	return buf[i];
}

static int exists(const char *name)
{
	struct stat st;
	return stat(path(name), &st) == 0;
}

static long long file_size(const char *name)
{
	struct stat st;
	ck_assert_msg(stat(path(name), &st) == 0, "stat %s", name);
	return (long long)st.st_size;
}

static char *slurp(const char *name, size_t *len)
{
	FILE *f = fopen(path(name), "rb");
	ck_assert_msg(f != NULL, "open %s", name);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = xmalloc((size_t)n + 1);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void spill(const char *name, const char *data, size_t len)
{
	FILE *f = fopen(path(name), "wb");
	ck_assert_msg(f != NULL, "create %s", name);
	ck_assert_int_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static json_t *rec(int n)
{
	return json_pack("{s:i,s:s}", "n", n, "text", "a journal record");
}

static struct persist *open_ok(const char *dir, int want_new)
{
	struct persist *p = NULL;
	int is_new = -1;
	int rc = persist_open(dir, &p, &is_new, &err);
	ck_assert_msg(rc == 0, "persist_open: %d %s", rc, err.msg);
	ck_assert_ptr_nonnull(p);
	if (want_new >= 0)
		ck_assert_int_eq(is_new, want_new);
	return p;
}

static int64_t append_ok(struct persist *p, const json_t *r)
{
	int64_t seq = persist_append(p, r, &err);
	ck_assert_msg(seq > 0, "persist_append: %lld %s", (long long)seq, err.msg);
	return seq;
}

static int64_t append_n(struct persist *p, int n)
{
	json_t *r = rec(n);
	int64_t seq = append_ok(p, r);
	json_decref(r);
	return seq;
}

static int collect(void *ctx, json_t *record)
{
	json_array_append((json_t *)ctx, record);
	return 0;
}

/* Loads p: returns the records (new array); *snap gets the snapshot (or NULL if not
 * wanted: then it must be absent). */
static json_t *load_ok(struct persist *p, json_t **snap)
{
	json_t *recs = json_array(), *s = NULL;
	int rc = persist_load(p, &s, collect, recs, &err);
	ck_assert_msg(rc == 0, "persist_load: %d %s", rc, err.msg);
	if (snap)
		*snap = s;
	else
		ck_assert_ptr_null(s);
	return recs;
}

/* The records' "n" fields, as "1,2,3". */
static const char *ns_of(json_t *recs)
{
	static char buf[4096];
	size_t i, off = 0;
	json_t *v;
	buf[0] = '\0';
	json_array_foreach(recs, i, v)
	{
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%lld", i ? "," : "",
					(long long)json_integer_value(json_object_get(v, "n")));
	}
	return buf;
}

/* Loads dir afresh and checks the snapshot and the record list. */
static void expect_state(const char *dir, const json_t *want_snap, const char *want_ns)
{
	json_t *snap = NULL;
	struct persist *p = open_ok(dir, 0);
	json_t *recs = load_ok(p, &snap);
	if (want_snap)
		ck_assert_msg(snap && json_equal(snap, (json_t *)want_snap),
			      "snapshot differs from the one written");
	else
		ck_assert_ptr_null(snap);
	ck_assert_str_eq(ns_of(recs), want_ns);
	json_decref(recs);
	json_decref(snap);
	persist_close(p);
}

/* Speed targets do not apply under valgrind or ThreadSanitizer. */
static int slow_build(void)
{
#ifdef __SANITIZE_THREAD__
	return 1;
#endif
	const char *pre = getenv("LD_PRELOAD");
	return pre && strstr(pre, "vgpreload");
}

/* ---- tests ---- */

START_TEST(test_round_trip)
{
	json_t *snap = NULL, *state, *recs;
	fake_reset(0); /* the real fsync path: files, directory, rename */
	struct persist *p = open_ok(tmp, 1);
	append_n(p, 1);
	int64_t s2 = append_n(p, 2);
	state = json_pack("{s:[i,i],s:s}", "objects", 1, 2, "note", "snapshot \"one\"");
	ck_assert_int_eq(persist_compact_value(p, state, &err), 0);
	/* The durable snapshot holds records 1 and 2: no fdatasync needed for them. */
	long calls = atomic_load(&fake_calls);
	ck_assert_int_eq(persist_sync(p, s2, &err), 0);
	ck_assert_int_eq(atomic_load(&fake_calls), calls);
	ck_assert_uint_eq(persist_journal_bytes(p), 0);
	int64_t s3 = append_n(p, 3);
	int64_t s4 = append_n(p, 4);
	ck_assert_int_gt(s4, s3);
	ck_assert_int_eq(persist_sync(p, s4, &err), 0);
	ck_assert_int_eq(persist_journal_bytes(p), file_size("journal.1"));
	ck_assert(exists("snapshot.json"));
	ck_assert(!exists("journal.0"));
	ck_assert(!exists("snapshot.json.tmp"));
	persist_close(p);

	p = open_ok(tmp, 0);
	recs = load_ok(p, &snap);
	ck_assert(json_equal(snap, state));
	ck_assert_str_eq(ns_of(recs), "3,4");
	json_decref(recs);
	json_decref(snap);

	/* A second compaction: generation 2 in the snapshot, journal.1 gone. */
	append_n(p, 5);
	json_t *state2 = json_pack("{s:[i,i,i,i,i]}", "objects", 1, 2, 3, 4, 5);
	ck_assert_int_eq(persist_compact_value(p, state2, &err), 0);
	append_n(p, 6);
	persist_close(p);
	ck_assert(!exists("journal.1"));
	ck_assert(exists("journal.2"));
	json_error_t je;
	json_t *file = json_load_file(path("snapshot.json"), 0, &je);
	ck_assert_ptr_nonnull(file);
	ck_assert_int_eq(json_integer_value(json_object_get(file, "claimfs")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(file, "gen")), 2);
	ck_assert(json_equal(json_object_get(file, "state"), state2));
	json_decref(file);
	expect_state(tmp, state2, "6");
	json_decref(state);
	json_decref(state2);
}
END_TEST

START_TEST(test_reopen_after_close)
{
	struct persist *p = open_ok(tmp, 1);
	append_n(p, 1);
	append_n(p, 2);
	append_n(p, 3);
	persist_close(p);
	expect_state(tmp, NULL, "1,2,3");

	p = open_ok(tmp, 0);
	json_decref(load_ok(p, NULL));
	append_n(p, 4);
	/* A record larger than the buffer kept between appends (a 16 MiB apply). */
	size_t big_len = 5u << 20;
	char *big = xmalloc(big_len + 1);
	memset(big, 'b', big_len);
	big[big_len] = '\0';
	json_t *r = json_pack("{s:i,s:s}", "n", 5, "pad", big);
	append_ok(p, r);
	json_decref(r);
	append_n(p, 6);
	persist_close(p);
	expect_state(tmp, NULL, "1,2,3,4,5,6");
	p = open_ok(tmp, 0);
	json_t *recs = load_ok(p, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(recs, 4), "pad")), big);
	json_decref(recs);
	persist_close(p);
	free(big);

	/* The record format on disk: "<8 hex length> <8 hex crc32>\n<json>\n". */
	size_t len;
	char *j = slurp("journal.0", &len);
	unsigned rlen, crc;
	char nl;
	ck_assert_int_eq(sscanf(j, "%8x %8x%c", &rlen, &crc, &nl), 3);
	ck_assert_int_eq(nl, '\n');
	ck_assert_int_eq(j[17], '\n');
	ck_assert_int_eq(j[18 + rlen], '\n');
	ck_assert(strncmp(j + 18, "{\"n\":1,", 7) == 0);
	free(j);
}
END_TEST

/* Cuts the journal at every byte inside its last record: loading must give exactly the
 * records before it, cut the file there, and take a new record after them. */
START_TEST(test_torn_tail_every_offset)
{
	struct persist *p = open_ok(tmp, 1);
	append_n(p, 1);
	append_n(p, 2);
	append_n(p, 3);
	uint64_t before_last = persist_journal_bytes(p);
	json_t *last = json_pack("{s:i,s:s}", "n", 4, "text", "the last record, \"torn\"\n");
	append_ok(p, last);
	json_decref(last);
	persist_close(p);

	size_t len, cut;
	char *full = slurp("journal.0", &len);
	ck_assert_uint_gt(len, before_last + 18);
	for (cut = before_last; cut < len; cut++) {
		spill("journal.0", full, cut);
		p = open_ok(tmp, 0);
		json_t *recs = load_ok(p, NULL);
		ck_assert_msg(strcmp(ns_of(recs), "1,2,3") == 0, "cut at %zu: records %s", cut,
			      ns_of(recs));
		json_decref(recs);
		ck_assert_int_eq(file_size("journal.0"), (long long)before_last);
		ck_assert_uint_eq(persist_journal_bytes(p), before_last);
		append_n(p, 9);
		persist_close(p);
		expect_state(tmp, NULL, "1,2,3,9");
	}
	spill("journal.0", full, len);
	expect_state(tmp, NULL, "1,2,3,4");
	free(full);
}
END_TEST

/* A torn first record of a new directory: still new, and an append without a load cuts
 * the garbage first. */
START_TEST(test_torn_first_record_is_new)
{
	struct persist *p = open_ok(tmp, 1);
	append_n(p, 1);
	persist_close(p);
	size_t len;
	char *full = slurp("journal.0", &len);
	spill("journal.0", full, len - 3);
	free(full);

	p = open_ok(tmp, 1);
	append_n(p, 2);
	persist_close(p);
	expect_state(tmp, NULL, "2");
}
END_TEST

static void corrupt_middle(size_t at_in_record)
{
	struct persist *p = open_ok(tmp, 1);
	uint64_t third = 0;
	int i;
	for (i = 1; i <= 5; i++) {
		if (i == 3)
			third = persist_journal_bytes(p);
		append_n(p, i);
	}
	persist_close(p);
	size_t len;
	char *j = slurp("journal.0", &len);
	char *c = j + third + at_in_record;
	*c = *c == 'a' ? 'b' : 'a'; /* still hex in the header, still valid json in the body */
	spill("journal.0", j, len);
	free(j);

	p = open_ok(tmp, 0);
	json_t *recs = load_ok(p, NULL);
	ck_assert_str_eq(ns_of(recs), "1,2");
	json_decref(recs);
	ck_assert_int_eq(file_size("journal.0"), (long long)third);
	append_n(p, 6);
	persist_close(p);
	expect_state(tmp, NULL, "1,2,6");
}

START_TEST(test_corrupt_crc_in_middle)
{
	corrupt_middle(12); /* a digit of the crc field */
}
END_TEST

START_TEST(test_corrupt_body_in_middle)
{
	corrupt_middle(18 + 20); /* inside "a journal record" */
}
END_TEST

START_TEST(test_busy)
{
	char dir[128], want[256];
	snprintf(dir, sizeof(dir), "%s/state", tmp);
	struct persist *p = open_ok(dir, 1), *q = (struct persist *)1;
	int is_new = -1;
	/* flock belongs to the open file description: a second open in this process
	 * conflicts like another daemon would. */
	ck_assert_int_eq(persist_open(dir, &q, &is_new, &err), -EBUSY);
	ck_assert_ptr_null(q);
	snprintf(want, sizeof(want), "state directory %s is in use by another claimfs (pid %ld)",
		 dir, (long)getpid());
	ck_assert_str_eq(err.msg, want);
	persist_close(p);
	q = open_ok(dir, 1);
	persist_close(q);
}
END_TEST

START_TEST(test_directory_modes)
{
	struct stat st;
	char dir[128], existing[128];
	mode_t old = umask(022);
	snprintf(dir, sizeof(dir), "%s/a/b/state/", tmp);
	struct persist *p = open_ok(dir, 1);
	append_n(p, 1);
	json_t *state = json_object();
	ck_assert_int_eq(persist_compact_value(p, state, &err), 0);
	json_decref(state);
	persist_close(p);
	const char *dirs[] = {"a", "a/b", "a/b/state"};
	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(stat(path(dirs[i]), &st), 0);
		ck_assert_msg((st.st_mode & 07777) == 0700, "%s has mode %o", dirs[i],
			      st.st_mode & 07777);
	}
	const char *files[] = {"a/b/state/lock", "a/b/state/journal.1", "a/b/state/snapshot.json"};
	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(stat(path(files[i]), &st), 0);
		ck_assert_msg((st.st_mode & 07777) == 0600, "%s has mode %o", files[i],
			      st.st_mode & 07777);
	}
	/* The lock file holds our pid. */
	size_t len;
	char *pid = slurp("a/b/state/lock", &len);
	ck_assert_int_eq(atol(pid), getpid());
	free(pid);

	/* An existing directory keeps its mode. */
	snprintf(existing, sizeof(existing), "%s/mine", tmp);
	ck_assert_int_eq(mkdir(existing, 0755), 0);
	p = open_ok(existing, 1);
	persist_close(p);
	ck_assert_int_eq(stat(existing, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0755);
	ck_assert_int_eq(stat(path("mine/journal.0"), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	umask(old);

	/* A file where the directory should be. */
	spill("plain", "x", 1);
	struct persist *q = NULL;
	int is_new;
	ck_assert_int_eq(persist_open(path("plain"), &q, &is_new, &err), -ENOTDIR);
	ck_assert_ptr_null(q);
	ck_assert(strstr(err.msg, "plain") != NULL);
}
END_TEST

/* Whoever may write the state directory may replace its files: a directory writable by
 * group or others is refused, and the files are never followed through a symlink. */
START_TEST(test_unsafe_directory_refused)
{
	char dir[128];
	struct persist *q = NULL;
	int is_new;
	snprintf(dir, sizeof(dir), "%s/shared", tmp);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(chmod(dir, 0775), 0);
	ck_assert_int_eq(persist_open(dir, &q, &is_new, &err), -EPERM);
	ck_assert_ptr_null(q);
	ck_assert_msg(strstr(err.msg, "writable by group or others (mode 0775)"), "%s", err.msg);
	ck_assert_int_eq(chmod(dir, 0700), 0);
	struct persist *p = open_ok(dir, 1);
	append_n(p, 1);
	persist_close(p);
	/* the journal replaced by a symlink to a file elsewhere */
	char journal[160], target[160];
	snprintf(journal, sizeof(journal), "%s/journal.0", dir);
	snprintf(target, sizeof(target), "%s/elsewhere", tmp);
	ck_assert_int_eq(rename(journal, target), 0);
	ck_assert_int_eq(symlink(target, journal), 0);
	ck_assert_int_eq(persist_open(dir, &q, &is_new, &err), -ELOOP);
	ck_assert_ptr_null(q);
}
END_TEST

START_TEST(test_compaction_then_appends)
{
	json_t *state = json_pack("{s:i}", "upto", 20);
	struct persist *p = open_ok(tmp, 1);
	for (int i = 1; i <= 20; i++)
		append_n(p, i);
	ck_assert_int_eq(persist_compact_value(p, state, &err), 0);
	for (int i = 21; i <= 23; i++)
		append_n(p, i);
	persist_close(p);
	expect_state(tmp, state, "21,22,23");

	/* Reloading more than once keeps working, appends after a reload too. */
	p = open_ok(tmp, 0);
	json_t *s1 = NULL, *s2 = NULL;
	json_t *r1 = load_ok(p, &s1), *r2 = load_ok(p, &s2);
	ck_assert(json_equal(s1, state) && json_equal(s2, state));
	ck_assert_str_eq(ns_of(r1), "21,22,23");
	ck_assert_str_eq(ns_of(r2), "21,22,23");
	json_decref(r1);
	json_decref(r2);
	json_decref(s1);
	json_decref(s2);
	append_n(p, 24);
	persist_close(p);
	expect_state(tmp, state, "21,22,23,24");
	json_decref(state);
}
END_TEST

/* Builds the files of the directory before and after one compaction, then lays out what
 * a crash at each step would leave and checks that each loads. */
struct compaction_files {
	char *j0, *snap1, *j1;
	size_t j0_len, snap1_len, j1_len;
	json_t *state;
};

static void make_compaction_files(struct compaction_files *cf)
{
	struct persist *p = open_ok(tmp, 1);
	append_n(p, 1);
	append_n(p, 2);
	persist_close(p);
	cf->j0 = slurp("journal.0", &cf->j0_len);
	p = open_ok(tmp, 0);
	json_decref(load_ok(p, NULL));
	cf->state = json_pack("{s:[i,i]}", "objects", 1, 2);
	ck_assert_int_eq(persist_compact_value(p, cf->state, &err), 0);
	append_n(p, 3);
	persist_close(p);
	cf->snap1 = slurp("snapshot.json", &cf->snap1_len);
	cf->j1 = slurp("journal.1", &cf->j1_len);
	unlink(path("snapshot.json"));
	unlink(path("journal.1"));
	unlink(path("journal.0"));
}

static void free_compaction_files(struct compaction_files *cf)
{
	free(cf->j0);
	free(cf->snap1);
	free(cf->j1);
	json_decref(cf->state);
}

static void clear_dir(void)
{
	unlink(path("snapshot.json"));
	unlink(path("snapshot.json.tmp"));
	unlink(path("journal.0"));
	unlink(path("journal.1"));
	unlink(path("journal.2"));
}

START_TEST(test_crash_during_compaction)
{
	struct compaction_files cf;
	make_compaction_files(&cf);

	/* 1. while writing the temp snapshot */
	clear_dir();
	spill("journal.0", cf.j0, cf.j0_len);
	spill("snapshot.json.tmp", cf.snap1, cf.snap1_len / 2);
	expect_state(tmp, NULL, "1,2");
	ck_assert(!exists("snapshot.json.tmp"));

	/* 2. temp snapshot and the empty journal.1 durable, not renamed yet */
	clear_dir();
	spill("journal.0", cf.j0, cf.j0_len);
	spill("snapshot.json.tmp", cf.snap1, cf.snap1_len);
	spill("journal.1", "", 0);
	expect_state(tmp, NULL, "1,2");
	ck_assert(!exists("snapshot.json.tmp"));
	ck_assert(!exists("journal.1"));
	ck_assert(exists("journal.0"));

	/* 3. renamed, old journal not removed yet */
	clear_dir();
	spill("journal.0", cf.j0, cf.j0_len);
	spill("snapshot.json", cf.snap1, cf.snap1_len);
	spill("journal.1", "", 0);
	expect_state(tmp, cf.state, "");
	ck_assert(!exists("journal.0"));

	/* 4. the rename reached the disk, the new journal's entry did not */
	clear_dir();
	spill("journal.0", cf.j0, cf.j0_len);
	spill("snapshot.json", cf.snap1, cf.snap1_len);
	struct persist *p = open_ok(tmp, 0);
	json_t *snap = NULL;
	json_t *recs = load_ok(p, &snap);
	ck_assert(json_equal(snap, cf.state));
	ck_assert_str_eq(ns_of(recs), "");
	json_decref(recs);
	json_decref(snap);
	append_n(p, 7);
	persist_close(p);
	ck_assert(exists("journal.1"));
	ck_assert(!exists("journal.0"));
	expect_state(tmp, cf.state, "7");

	/* 5. done, with records after it */
	clear_dir();
	spill("snapshot.json", cf.snap1, cf.snap1_len);
	spill("journal.1", cf.j1, cf.j1_len);
	expect_state(tmp, cf.state, "3");

	/* Not something a crash leaves: records newer than the snapshot. Refused. */
	clear_dir();
	spill("journal.0", cf.j0, cf.j0_len);
	spill("journal.1", cf.j1, cf.j1_len);
	struct persist *q = NULL;
	int is_new;
	ck_assert_int_eq(persist_open(tmp, &q, &is_new, &err), -EIO);
	ck_assert_ptr_null(q);
	ck_assert_msg(strstr(err.msg, "journal.1 is newer than the snapshot") != NULL, "%s",
		      err.msg);
	ck_assert(exists("journal.1"));
	free_compaction_files(&cf);
}
END_TEST

/* Strings with a character to escape at every position of an 8-byte block, and clean
 * ones of every length, go through the journal writer and reader unchanged. */
START_TEST(test_string_escapes)
{
	static const char *const special[] = {"\"", "\\",	"\x01", "\n", "\x1f",
					      "\t", "\xc3\xa9", "\x7f", "/",  " "};
	json_t *all = json_array();
	struct persist *p = open_ok(tmp, 1);
	for (size_t sp = 0; sp < sizeof(special) / sizeof(special[0]); sp++)
		for (int before = 0; before < 18; before++) {
			char buf[64];
			int n = snprintf(buf, sizeof(buf), "%.*s%s%.*s", before,
					 "abcdefghijklmnopqrstuvwxyz", special[sp], 17 - before,
					 "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
			ck_assert_int_lt(n, (int)sizeof(buf));
			json_t *r =
			    json_pack("{s:i,s:s}", "n", (int)json_array_size(all), "s", buf);
			append_ok(p, r);
			json_array_append_new(all, r);
		}
	persist_close(p);
	p = open_ok(tmp, 0);
	json_t *recs = load_ok(p, NULL);
	ck_assert_uint_eq(json_array_size(recs), json_array_size(all));
	ck_assert(json_equal(recs, all));
	json_decref(recs);
	json_decref(all);
	persist_close(p);
}
END_TEST

/* A record with large arrays (written by two threads) reads back equal, byte for byte the
 * text one thread writes (json_dumps' compact form here). */
START_TEST(test_large_record_split)
{
	json_t *r = json_object(), *put = json_array(), *small = json_array();
	for (int i = 0; i < 2001; i++)
		json_array_append_new(put, json_pack("{s:i,s:s,s:[s,i]}", "i", i, "s",
						     i % 7 ? "plain" : "a \"quoted\"\n\xc3\xa9",
						     "l", "x", i));
	json_array_append_new(small, json_integer(1));
	json_object_set_new(r, "n", json_integer(1));
	json_object_set_new(r, "del", small);
	json_object_set_new(r, "put", put);
	struct persist *p = open_ok(tmp, 1);
	append_ok(p, r);
	append_n(p, 2);
	persist_close(p);
	size_t len;
	char *j = slurp("journal.0", &len), *text = json_dumps(r, JSON_COMPACT);
	ck_assert(strncmp(j + 18, text, strlen(text)) == 0);
	ck_assert_int_eq(j[18 + strlen(text)], '\n');
	jsonalloc_free(text);
	free(j);
	p = open_ok(tmp, 0);
	json_t *recs = load_ok(p, NULL);
	ck_assert_uint_eq(json_array_size(recs), 2);
	ck_assert(json_equal(json_array_get(recs, 0), r));
	json_decref(recs);
	/* the same state as a snapshot (its half written from memory) */
	ck_assert_int_eq(persist_compact_value(p, r, &err), 0);
	persist_close(p);
	j = slurp("snapshot.json", &len);
	text = json_dumps(r, JSON_COMPACT);
	char *want = xmalloc(strlen(text) + 64);
	sprintf(want, "{\"claimfs\":1,\"gen\":1,\"state\":%s}\n", text);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert(memcmp(j, want, len) == 0);
	free(want);
	jsonalloc_free(text);
	free(j);
	expect_state(tmp, r, "");
	json_decref(r);

	/* a snapshot whose second half is larger than the writer's 1 MiB buffer */
	json_t *objects = json_array();
	for (int i = 0; i < 40000; i++)
		json_array_append_new(objects, json_pack("{s:i,s:s}", "i", i, "pad",
							 "0123456789abcdefghijklmnopqrstuv"));
	json_t *state = json_pack("{s:i,s:o}", "rv", 7, "objects", objects);
	p = open_ok(tmp, 0);
	ck_assert_int_eq(persist_compact_value(p, state, &err), 0);
	persist_close(p);
	j = slurp("snapshot.json", &len);
	ck_assert_uint_gt(len, 2u << 20);
	text = json_dumps(state, JSON_COMPACT);
	ck_assert(memcmp(j, "{\"claimfs\":1,\"gen\":2,\"state\":", 29) == 0);
	ck_assert(memcmp(j + 29, text, strlen(text)) == 0);
	ck_assert_uint_eq(len, 29 + strlen(text) + 2);
	jsonalloc_free(text);
	free(j);
	expect_state(tmp, state, "");
	json_decref(state);
}
END_TEST

/* A snapshot whose start is not what persist writes (here: pretty-printed) is read
 * before the journal instead of beside it: the same state. */
START_TEST(test_snapshot_in_another_layout)
{
	struct persist *p = open_ok(tmp, 1);
	append_n(p, 1);
	json_t *state = json_pack("{s:[i,i]}", "objects", 7, 8);
	ck_assert_int_eq(persist_compact_value(p, state, &err), 0);
	append_n(p, 2);
	append_n(p, 3);
	persist_close(p);
	json_t *file = json_pack("{s:i,s:i,s:O}", "claimfs", 1, "gen", 1, "state", state);
	ck_assert_int_eq(json_dump_file(file, path("snapshot.json"), JSON_INDENT(2)), 0);
	json_decref(file);
	expect_state(tmp, state, "2,3");
	json_decref(state);
}
END_TEST

/* The journal of n records "first".."first+n-1", as bytes (len in *len). */
static char *journal_bytes(int first, int n, size_t *len)
{
	struct persist *p = open_ok(tmp, 1);
	for (int i = 0; i < n; i++)
		append_n(p, first + i);
	persist_close(p);
	char *j = slurp("journal.0", len);
	clear_dir();
	return j;
}

/* The header names generation 1, the snapshot itself (a later duplicate key wins)
 * generation 2: the journal read beside the snapshot is the wrong one and is thrown
 * away. */
START_TEST(test_snapshot_header_misleads)
{
	size_t l1, l2;
	char *j1 = journal_bytes(1, 2, &l1), *j2 = journal_bytes(3, 2, &l2);
	const char *snap = "{\"claimfs\":1,\"gen\":1,\"state\":{\"x\":1},\"gen\":2}\n";
	spill("snapshot.json", snap, strlen(snap));
	spill("journal.1", j1, l1);
	spill("journal.2", j2, l2);
	json_t *state = json_pack("{s:i}", "x", 1);
	expect_state(tmp, state, "3,4");
	ck_assert(!exists("journal.1"));
	json_decref(state);
	free(j1);
	free(j2);
}
END_TEST

/* persist_load_with: the snapshot first, then every record in order. */
struct calls {
	char log[256];
	size_t len;
};

static int log_snapshot(void *ctx, json_t *state)
{
	struct calls *c = ctx;
	c->len += (size_t)snprintf(c->log + c->len, sizeof(c->log) - c->len, "s%lld",
				   (long long)json_integer_value(json_object_get(state, "x")));
	return 0;
}

static int log_record(void *ctx, json_t *record)
{
	struct calls *c = ctx;
	c->len += (size_t)snprintf(c->log + c->len, sizeof(c->log) - c->len, ",%lld",
				   (long long)json_integer_value(json_object_get(record, "n")));
	return 0;
}

START_TEST(test_load_streams)
{
	struct persist *p = open_ok(tmp, 1);
	append_n(p, 1);
	json_t *state = json_pack("{s:i}", "x", 5);
	ck_assert_int_eq(persist_compact_value(p, state, &err), 0);
	json_decref(state);
	for (int i = 2; i <= 40; i++)
		append_n(p, i);
	persist_close(p);
	struct calls c = {{0}, 0};
	p = open_ok(tmp, 0);
	ck_assert_int_eq(persist_load_with(p, log_snapshot, log_record, &c, &err), 0);
	char want[256];
	size_t off = (size_t)snprintf(want, sizeof(want), "s5");
	for (int i = 2; i <= 40; i++)
		off += (size_t)snprintf(want + off, sizeof(want) - off, ",%d", i);
	ck_assert_str_eq(c.log, want);
	append_n(p, 41); /* the journal takes appends after a streamed load */
	persist_close(p);
	off += (size_t)snprintf(want + off, sizeof(want) - off, ",41");
	state = json_pack("{s:i}", "x", 5);
	expect_state(tmp, state, want + 3); /* "2,3,...,41" */
	json_decref(state);
}
END_TEST

/* A snapshot as claimfs writes it (its state's objects last) is parsed in parts by the
 * reader thread and handed over part by part: together the same state, then every record. */
struct parts {
	struct calls recs; /* first: log_record writes each record's "n" here */
	size_t calls;	   /* snapshot_fn calls */
	json_t *objects;   /* every part's objects, in order */
	json_t *rest;	   /* the members of the last call */
};

static int collect_part(void *ctx, json_t *state)
{
	struct parts *c = ctx;
	c->calls++;
	json_array_extend(c->objects, json_object_get(state, "objects"));
	json_decref(c->rest);
	c->rest = json_deep_copy(state);
	json_object_del(c->rest, "objects");
	return 0;
}

/* A state of n objects {"i":0}.. and "rv", its objects last. */
static json_t *objects_state(int n)
{
	json_t *objs = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(objs, json_pack("{s:i,s:s}", "i", i, "s", "an object"));
	return json_pack("{s:i,s:o}", "rv", 7, "objects", objs);
}

/* snapshot.json (generation 1) holding state, and records 2 and 3 after it. */
static void write_objects_snapshot(json_t *state)
{
	struct persist *p = open_ok(tmp, 1);
	append_n(p, 1);
	ck_assert_int_eq(persist_compact_value(p, state, &err), 0);
	append_n(p, 2);
	append_n(p, 3);
	persist_close(p);
}

START_TEST(test_snapshot_streamed_in_parts)
{
	json_t *state = objects_state(1300);
	write_objects_snapshot(state);
	struct parts c = {{{0}, 0}, 0, json_array(), NULL};
	struct persist *p = open_ok(tmp, 0);
	ck_assert_int_eq(persist_load_with(p, collect_part, log_record, &c, &err), 0);
	persist_close(p);
	ck_assert_uint_eq(c.calls, 4); /* 512 + 512 + 276 objects, then the rest */
	ck_assert(json_equal(c.objects, json_object_get(state, "objects")));
	ck_assert_int_eq(json_integer_value(json_object_get(c.rest, "rv")), 7);
	ck_assert_str_eq(c.recs.log, ",2,3");
	expect_state(tmp, state, "2,3"); /* persist_load puts the parts together again */
	json_decref(c.objects);
	json_decref(c.rest);
	json_decref(state);
}
END_TEST

/* Damage inside the streamed objects: the parts before it are handed over, then the load
 * fails with the verdict and position of a parse of the whole file. */
START_TEST(test_snapshot_streamed_corrupt)
{
	json_t *state = objects_state(1300);
	write_objects_snapshot(state);
	json_decref(state);
	size_t len;
	char *snap = slurp("snapshot.json", &len);
	char *at = strstr(snap, "{\"i\":1000,");
	ck_assert_ptr_nonnull(at);
	at[1] = 'x'; /* {x"i":1000,... */
	spill("snapshot.json", snap, len);
	struct parts c = {{{0}, 0}, 0, json_array(), NULL};
	struct persist *p = open_ok(tmp, 0);
	ck_assert_int_eq(persist_load_with(p, collect_part, log_record, &c, &err), -EIO);
	persist_close(p);
	ck_assert_msg(strstr(err.msg, "/snapshot.json:1:") && strstr(err.msg, "corrupt snapshot"),
		      "%s", err.msg);
	ck_assert_uint_eq(c.calls, 1); /* objects 0..511; the next part holds the damage */
	ck_assert_uint_eq(json_array_size(c.objects), 512);
	ck_assert_str_eq(c.recs.log, "");
	free(snap);
	json_decref(c.objects);
	json_decref(c.rest);
}
END_TEST

/* Keys given twice in a snapshot that ends like claimfs's: a later state member wins as in
 * a parse of the whole; so does anything given twice before any part was handed over (the
 * file is then read whole); a second "objects" after parts of the first were handed over
 * cannot, and is refused. */
START_TEST(test_snapshot_streamed_duplicate_keys)
{
	size_t l1;
	char *j1 = journal_bytes(1, 2, &l1);
	const char *later_rv = "{\"claimfs\":1,\"gen\":1,\"state\":{\"rv\":1,\"rv\":2,"
			       "\"objects\":[5,6]}}\n";
	spill("snapshot.json", later_rv, strlen(later_rv));
	spill("journal.1", j1, l1);
	json_t *want = json_pack("{s:i,s:[i,i]}", "rv", 2, "objects", 5, 6);
	expect_state(tmp, want, "1,2");
	json_decref(want);

	const char *twice = "{\"claimfs\":1,\"gen\":1,\"claimfs\":1,\"state\":{\"objects\":[]}}";
	spill("snapshot.json", twice, strlen(twice));
	want = json_pack("{s:[]}", "objects");
	expect_state(tmp, want, "1,2");
	json_decref(want);

	/* a second "objects" after a first one long enough to be handed over in part */
	char two_lists[4096];
	size_t off = (size_t)snprintf(two_lists, sizeof(two_lists),
				      "{\"claimfs\":1,\"gen\":1,\"state\":{\"objects\":[0");
	for (int i = 1; i < 600; i++)
		off += (size_t)snprintf(two_lists + off, sizeof(two_lists) - off, ",%d", i);
	snprintf(two_lists + off, sizeof(two_lists) - off, "],\"objects\":[2]}}");
	spill("snapshot.json", two_lists, strlen(two_lists));
	struct persist *p = open_ok(tmp, 0);
	json_t *s = NULL;
	ck_assert_int_eq(persist_load(p, &s, NULL, NULL, &err), -EIO);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(err.msg, "a key given twice") != NULL, "%s", err.msg);
	persist_close(p);
	free(j1);
}
END_TEST

START_TEST(test_corrupt_snapshot)
{
	struct persist *q = NULL;
	int is_new;
	spill("snapshot.json", "{\"claimfs\":1,\"gen\":", 19);
	ck_assert_int_eq(persist_open(tmp, &q, &is_new, &err), -EIO);
	ck_assert_ptr_null(q);
	ck_assert_msg(strstr(err.msg, "/snapshot.json:1:") != NULL, "%s", err.msg);
	spill("snapshot.json", "{\"gen\":1,\"state\":{}}", 20);
	ck_assert_int_eq(persist_open(tmp, &q, &is_new, &err), -EIO);
	ck_assert(strstr(err.msg, "not a claimfs snapshot") != NULL);
}
END_TEST

static int refuse_second(void *ctx, json_t *record __attribute__((unused)))
{
	int *seen = ctx;
	return ++*seen == 2 ? -ECANCELED : 0;
}

START_TEST(test_replay_error_stops)
{
	struct persist *p = open_ok(tmp, 1);
	append_n(p, 1);
	json_t *state = json_pack("{s:i}", "x", 1);
	ck_assert_int_eq(persist_compact_value(p, state, &err), 0);
	json_decref(state);
	append_n(p, 2);
	append_n(p, 3);
	append_n(p, 4);
	persist_close(p);
	long long size = file_size("journal.1");

	p = open_ok(tmp, 0);
	int seen = 0;
	json_t *snap = (json_t *)1;
	ck_assert_int_eq(persist_load(p, &snap, refuse_second, &seen, &err), -ECANCELED);
	ck_assert_int_eq(seen, 2);
	ck_assert_ptr_null(snap); /* freed on failure */
	persist_close(p);
	ck_assert_int_eq(file_size("journal.1"), size);
}
END_TEST

START_TEST(test_failed_fsync_is_sticky)
{
	fake_reset(0);
	struct persist *p = open_ok(tmp, 1);
	int64_t s1 = append_n(p, 1);
	ck_assert_int_eq(persist_sync(p, s1, &err), 0);
	int64_t s2 = append_n(p, 2);
	atomic_store(&fake_fail, 1);
	ck_assert_int_eq(persist_sync(p, s2, &err), -EIO);
	ck_assert_msg(strstr(err.msg, "cannot sync journal.0") != NULL, "%s", err.msg);
	atomic_store(&fake_fail, 0);
	/* The disk "works" again, but nothing may be reported durable any more. */
	ck_assert_int_eq(persist_sync(p, s2, &err), -EIO);
	json_t *r3 = rec(3);
	ck_assert_int_eq(persist_append(p, r3, &err), -EIO);
	json_decref(r3);
	json_t *state = json_object();
	ck_assert_int_eq(persist_compact_value(p, state, &err), -EIO);
	json_decref(state);
	ck_assert(!exists("snapshot.json"));
	/* What was durable before the failure stays so. */
	ck_assert_int_eq(persist_sync(p, s1, &err), 0);
	persist_close(p);
}
END_TEST

/* A write that fails half-way (file size limit) leaves no partial record behind. */
START_TEST(test_failed_write_leaves_no_garbage)
{
	struct rlimit old, lim;
	struct persist *p = open_ok(tmp, 1);
	char big[4096];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	json_t *r1 = json_pack("{s:i,s:s}", "n", 1, "pad", big);
	append_ok(p, r1);
	json_decref(r1);
	long long size = file_size("journal.0");
	json_t *r2 = json_pack("{s:i,s:s}", "n", 99, "pad", big);

	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = (rlim_t)size + 100;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	int64_t rc = persist_append(p, r2, &err);
	setrlimit(RLIMIT_FSIZE, &old);

	json_decref(r2);
	ck_assert_int_eq(rc, -EFBIG);
	ck_assert(strstr(err.msg, "cannot write") != NULL);
	ck_assert_int_eq(file_size("journal.0"), size);
	ck_assert_uint_eq(persist_journal_bytes(p), (uint64_t)size);
	append_n(p, 2);
	persist_close(p);
	expect_state(tmp, NULL, "1,2");
}
END_TEST

START_TEST(test_append_throughput)
{
	char pad[1001];
	const int n = 20000;
	memset(pad, 'p', 1000);
	pad[1000] = '\0';
	json_t *r = json_pack("{s:i,s:s,s:{s:s,s:s}}", "n", 0, "pad", pad, "metadata", "name",
			      "claim", "namespace", "default");
	struct persist *p = open_ok(tmp, 1);
	double t0 = unit_now_s();
	for (int i = 1; i <= n; i++) {
		json_object_set_new(r, "n", json_integer(i));
		if (persist_append(p, r, &err) <= 0)
			ck_abort_msg("append %d: %s", i, err.msg);
	}
	double dt = unit_now_s() - t0;
	json_decref(r);
	ck_assert_int_eq(persist_journal_bytes(p), file_size("journal.0"));
	persist_close(p);
	if (!slow_build())
		ck_assert_msg(n / dt >= 50000, "%.0f appends/s of ~1 KiB, want >= 50000", n / dt);
	p = open_ok(tmp, 0);
	json_t *recs = load_ok(p, NULL);
	ck_assert_int_eq(json_array_size(recs), n);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(recs, n - 1), "n")), n);
	json_decref(recs);
	persist_close(p);
}
END_TEST

/* ---- group commit ---- */

struct writer {
	struct persist *p;
	pthread_mutex_t *lock; /* stands for the cluster lock around append */
	int id, count;
	int check_cover; /* also check that an fdatasync covered each record */
	int bad;	 /* failed appends/syncs, syncs that returned too early */
	pthread_t thread;
	int async; /* waits with persist_sync_async, as the FUSE adapter's close does */
};

/* An asynchronous wait: done() runs in whichever thread's fdatasync covered the record. */
struct async_wait {
	struct persist_waiter w; /* first: done() gets &w */
	uint64_t end;		 /* the journal's size once the record was appended */
	atomic_int calls;	 /* done() calls */
	int rc;
	int covered; /* an fdatasync that started at `end` or later had returned */
	pthread_t by;
	sem_t sem;
};

static void async_done(struct persist_waiter *w, int rc, const char *msg)
{
	struct async_wait *a = (struct async_wait *)w;
	a->rc = rc;
	if (rc == -EIO && (!msg || !strstr(msg, "cannot sync journal.0")))
		a->rc = -EINVAL; /* the reason must come with the errno */
	a->covered = (uint64_t)atomic_load(&synced_bytes) >= a->end;
	a->by = pthread_self();
	atomic_fetch_add(&a->calls, 1);
	sem_post(&a->sem);
}

static void async_start(struct async_wait *a, struct persist *p, int64_t seq, uint64_t end)
{
	memset(a, 0, sizeof(*a));
	sem_init(&a->sem, 0, 0);
	a->w.seq = seq;
	a->w.done = async_done;
	a->end = end;
	persist_sync_async(p, &a->w);
}

/* Waits up to 5 s for done(); returns its rc, or -ETIMEDOUT. */
static int async_wait_done(struct async_wait *a)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	while (sem_timedwait(&a->sem, &ts) < 0)
		if (errno != EINTR)
			return -ETIMEDOUT;
	sem_destroy(&a->sem);
	return a->rc;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct cfs_err e;
	for (int k = 0; k < w->count; k++) {
		json_t *r = json_pack("{s:i,s:i}", "t", w->id, "k", k);
		pthread_mutex_lock(w->lock);
		int64_t seq = persist_append(w->p, r, &e);
		uint64_t end = persist_journal_bytes(w->p);
		pthread_mutex_unlock(w->lock);
		json_decref(r);
		if (seq > 0 && w->async) {
			struct async_wait a;
			async_start(&a, w->p, seq, end);
			if (async_wait_done(&a) != 0 || atomic_load(&a.calls) != 1 ||
			    (w->check_cover && !a.covered))
				w->bad++;
		} else if (seq <= 0 || persist_sync(w->p, seq, &e) != 0)
			w->bad++;
		else if (w->check_cover && (uint64_t)atomic_load(&synced_bytes) < end)
			w->bad++; /* returned before an fdatasync covered the record */
	}
	return NULL;
}

/* Runs n writers of count records each; returns the seconds taken. */
static double run_writers(struct persist *p, struct writer *ws, int n, int first_id, int count)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	double t0 = unit_now_s();
	for (int i = 0; i < n; i++) {
		ws[i] = (struct writer){p, &lock, first_id + i, count, 1, 0, 0, ws[i].async};
		ck_assert_int_eq(pthread_create(&ws[i].thread, NULL, writer_main, &ws[i]), 0);
	}
	for (int i = 0; i < n; i++)
		pthread_join(ws[i].thread, NULL);
	double dt = unit_now_s() - t0;
	for (int i = 0; i < n; i++)
		ck_assert_msg(ws[i].bad == 0, "writer %d: %d bad syncs", i, ws[i].bad);
	return dt;
}

START_TEST(test_group_commit)
{
	enum { PER = 40, N = 8 };
	struct writer ws[N] = {{0}};
	fake_reset(0);
	atomic_store(&fake_delay_us, 5000); /* a 5 ms disk */
	struct persist *p = open_ok(tmp, 1);

	atomic_store(&fake_calls, 0);
	double t1 = run_writers(p, ws, 1, 0, PER);
	long calls1 = atomic_load(&fake_calls);
	ck_assert_int_eq(calls1, PER); /* alone: one fdatasync per record */

	atomic_store(&fake_calls, 0);
	double t8 = run_writers(p, ws, N, 1, PER);
	long calls8 = atomic_load(&fake_calls);
	ck_assert_msg(calls8 <= N * PER / 2, "%ld fdatasyncs for %d records: not shared", calls8,
		      N * PER);
	double speedup = (N * PER / t8) / (PER / t1);
	ck_assert_msg(speedup >= 3.0, "8 writers: %.1fx the throughput of one, want >= 3x",
		      speedup);
	persist_close(p);

	/* Nothing lost, each writer's records in its order. */
	atomic_store(&fake_delay_us, 0);
	persist_test_no_fsync = 1;
	p = open_ok(tmp, 0);
	json_t *recs = load_ok(p, NULL), *v;
	int next[N + 1] = {0};
	size_t i;
	ck_assert_int_eq(json_array_size(recs), (N + 1) * PER);
	json_array_foreach(recs, i, v)
	{
		int t = (int)json_integer_value(json_object_get(v, "t"));
		int k = (int)json_integer_value(json_object_get(v, "k"));
		ck_assert(t >= 0 && t <= N);
		ck_assert_int_eq(k, next[t]);
		next[t]++;
	}
	json_decref(recs);
	persist_close(p);
}
END_TEST

/* A sync that fails while writers wait for it: every one of them gets EIO with the reason,
 * none is left waiting, and none is told its record is durable. */
struct sync_thread {
	struct persist *p;
	int64_t seq;
	int rc;
	pthread_t thread;
};

static void *sync_thread_main(void *arg)
{
	struct sync_thread *t = arg;
	struct cfs_err e;
	t->rc = persist_sync(t->p, t->seq, &e);
	if (t->rc == -EIO && !strstr(e.msg, "cannot sync journal.0"))
		t->rc = -EINVAL; /* the reason must come with the errno */
	return NULL;
}

START_TEST(test_failed_sync_wakes_every_waiter)
{
	enum { N = 6 };
	struct sync_thread first, ts[N];
	fake_reset(0);
	atomic_store(&fake_delay_us, 50000); /* the writers queue behind a slow sync */
	struct persist *p = open_ok(tmp, 1);
	first = (struct sync_thread){p, append_n(p, 1), 1, 0};
	ck_assert_int_eq(pthread_create(&first.thread, NULL, sync_thread_main, &first), 0);
	while (atomic_load(&fake_passed) == 0) /* its fdatasync started and will succeed */
		usleep(100);
	atomic_store(&fake_fail, 1); /* every later one fails */
	for (int i = 0; i < N; i++)  /* appended after its sync began: not covered by it */
		ts[i] = (struct sync_thread){p, append_n(p, 2 + i), 1, 0};
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(pthread_create(&ts[i].thread, NULL, sync_thread_main, &ts[i]), 0);
	pthread_join(first.thread, NULL);
	ck_assert_int_eq(first.rc, 0);
	for (int i = 0; i < N; i++) {
		pthread_join(ts[i].thread, NULL);
		ck_assert_msg(ts[i].rc == -EIO, "writer %d: %d, want -EIO", i, ts[i].rc);
	}
	ck_assert_int_eq(persist_sync(p, first.seq, &err), 0); /* durable before the failure */
	persist_close(p);
}
END_TEST

/* Eight writers on a 300 us disk, every other one waiting asynchronously when `mixed`:
 * run_writers checks that an fdatasync covered each record (and each done() ran once);
 * fewer than max_calls fdatasyncs were made. */
static void writers_share_syncs(int mixed, long max_calls)
{
	enum { PER = 200, N = 8 };
	struct writer ws[N] = {{0}};
	fake_reset(0);
	atomic_store(&fake_delay_us, 300);
	struct persist *p = open_ok(tmp, 1);
	atomic_store(&fake_calls, 0);
	for (int i = 0; i < N; i++)
		ws[i].async = mixed && i % 2;
	run_writers(p, ws, N, 0, PER);
	long calls = atomic_load(&fake_calls);
	ck_assert_msg(calls < max_calls, "%ld fdatasyncs for %d records: not shared", calls,
		      N * PER);
	persist_close(p);
}

/* Writers that keep coming while a sync is in flight: the next sync is handed to one of
 * them, each sync covers every record appended before it started, nobody waits forever. */
START_TEST(test_sync_handoff_covers_everyone)
{
	writers_share_syncs(0, 8 * 200);
}
END_TEST

/* A compaction waits for a sync in flight and leaves every earlier seq durable. */
START_TEST(test_compaction_during_sync)
{
	enum { N = 4, PER = 30 };
	struct writer ws[N] = {{0}};
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	fake_reset(0);
	atomic_store(&fake_delay_us, 1000);
	struct persist *p = open_ok(tmp, 1);
	for (int i = 0; i < N; i++) {
		/* compaction makes records durable without an fdatasync: no cover check */
		ws[i] = (struct writer){p, &lock, i, PER, 0, 0, 0, i % 2};
		ck_assert_int_eq(pthread_create(&ws[i].thread, NULL, writer_main, &ws[i]), 0);
	}
	json_t *state = json_pack("{s:s}", "compacted", "yes");
	for (int c = 0; c < 5; c++) {
		usleep(3000);
		pthread_mutex_lock(&lock);
		int rc = persist_compact_value(p, state, &err);
		pthread_mutex_unlock(&lock);
		ck_assert_msg(rc == 0, "compact: %s", err.msg);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(ws[i].thread, NULL);
		ck_assert_msg(ws[i].bad == 0, "writer %d: %d failed appends/syncs", i, ws[i].bad);
	}
	persist_close(p);
	ck_assert(exists("journal.5"));
	ck_assert(!exists("journal.4"));
	persist_test_no_fsync = 1;
	atomic_store(&fake_delay_us, 0);
	p = open_ok(tmp, 0);
	json_t *snap = NULL, *recs = load_ok(p, &snap);
	ck_assert(json_equal(snap, state));
	ck_assert_int_le(json_array_size(recs), N * PER);
	json_decref(recs);
	json_decref(snap);
	json_decref(state);
	persist_close(p);
}
END_TEST

/* Asynchronous waits beside blocking ones (the FUSE adapter's close beside rm and echo):
 * each done() runs once, after an fdatasync covered its record, and syncs are shared. */
START_TEST(test_async_group_commit)
{
	writers_share_syncs(1, 8 * 200 / 2);
}
END_TEST

/* A wait for what is durable already, or for what was never appended, completes in the
 * caller's thread before persist_sync_async returns. */
START_TEST(test_async_settled_at_once)
{
	struct async_wait a;
	fake_reset(0);
	struct persist *p = open_ok(tmp, 1);
	int64_t s1 = append_n(p, 1);
	ck_assert_int_eq(persist_sync(p, s1, &err), 0);
	async_start(&a, p, s1, 0);
	ck_assert_int_eq(atomic_load(&a.calls), 1);
	ck_assert(pthread_equal(a.by, pthread_self()));
	ck_assert_int_eq(async_wait_done(&a), 0);
	async_start(&a, p, s1 + 5, 0);
	ck_assert_int_eq(atomic_load(&a.calls), 1);
	ck_assert_int_eq(async_wait_done(&a), -EINVAL);
	persist_close(p);
}
END_TEST

/* Asynchronous waits queued behind a blocking caller's sync: the caller returns once its
 * own record is durable, without leading the next sync for them (they have no thread of
 * their own to lead it, the committer does); a failure of that sync reaches them. */
static void async_behind_blocking(int fail)
{
	enum { N = 3 };
	struct async_wait as[N];
	fake_reset(0);
	atomic_store(&fake_delay_us, 50000); /* a slow disk: the waits queue */
	struct persist *p = open_ok(tmp, 1);
	struct sync_thread b = {p, append_n(p, 1), 1, 0};
	ck_assert_int_eq(pthread_create(&b.thread, NULL, sync_thread_main, &b), 0);
	while (atomic_load(&fake_passed) == 0) /* its fdatasync is under way */
		usleep(100);
	if (fail)
		atomic_store(&fake_fail, 1); /* the next one fails */
	for (int i = 0; i < N; i++) {
		int64_t seq = append_n(p, 2 + i);
		async_start(&as[i], p, seq, persist_journal_bytes(p));
		ck_assert_int_eq(atomic_load(&as[i].calls), 0); /* queued, not led */
	}
	pthread_join(b.thread, NULL);
	ck_assert_int_eq(b.rc, 0);
	for (int i = 0; !fail && i < N; i++) {
		/* the next sync takes 50 ms: the caller did not wait for it (a failing one
		 * returns at once) */
		ck_assert_int_eq(atomic_load(&as[i].calls), 0);
	}
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(async_wait_done(&as[i]), fail ? -EIO : 0);
		ck_assert_int_eq(atomic_load(&as[i].calls), 1);
		ck_assert(fail || as[i].covered);
		ck_assert(!pthread_equal(as[i].by, pthread_self()));
	}
	ck_assert_int_eq(atomic_load(&fake_calls), 2); /* one sync covered all three */
	persist_close(p);
}

START_TEST(test_async_behind_blocking_leader)
{
	async_behind_blocking(0);
}
END_TEST

START_TEST(test_async_behind_failed_sync)
{
	async_behind_blocking(1);
}
END_TEST

/* Another process appends and syncs until it is killed with SIGKILL at a random moment:
 * every record it acknowledged is there afterwards, in order, and the lock is free. */
START_TEST(test_kill_9)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct persist *p;
		int is_new;
		close(fds[0]);
		if (persist_open(tmp, &p, &is_new, &err) < 0)
			_exit(2);
		for (int i = 1;; i++) {
			json_t *r = rec(i);
			int64_t seq = persist_append(p, r, &err);
			json_decref(r);
			if (seq <= 0 || persist_sync(p, seq, &err) < 0)
				_exit(3);
			if (write(fds[1], &i, sizeof(i)) != sizeof(i)) /* acknowledged */
				_exit(4);
		}
	}
	close(fds[1]);
	int acked = 0, i, n = 0;
	while (acked < 300 && read(fds[0], &i, sizeof(i)) == sizeof(i))
		acked = i;
	ck_assert_int_eq(acked, 300);

	/* While it runs, the directory is its. */
	struct persist *q = NULL;
	int is_new;
	char want[256];
	ck_assert_int_eq(persist_open(tmp, &q, &is_new, &err), -EBUSY);
	snprintf(want, sizeof(want), "(pid %ld)", (long)pid);
	ck_assert_msg(strstr(err.msg, want) != NULL, "%s", err.msg);

	usleep((useconds_t)(rand() % 3000));
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));
	while (read(fds[0], &i, sizeof(i)) == sizeof(i))
		acked = i;
	close(fds[0]);

	struct persist *p = open_ok(tmp, 0);
	json_t *recs = load_ok(p, NULL), *v;
	size_t k;
	json_array_foreach(recs, k, v)
	{
		ck_assert_int_eq(json_integer_value(json_object_get(v, "n")), (json_int_t)k + 1);
		n++;
	}
	ck_assert_msg(n >= acked, "%d records after kill -9, %d were acknowledged", n, acked);
	json_decref(recs);
	persist_close(p);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("persist");
	TCase *tc = tcase_create("persist");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_reopen_after_close);
	tcase_add_test(tc, test_torn_tail_every_offset);
	tcase_add_test(tc, test_torn_first_record_is_new);
	tcase_add_test(tc, test_corrupt_crc_in_middle);
	tcase_add_test(tc, test_corrupt_body_in_middle);
	tcase_add_test(tc, test_busy);
	tcase_add_test(tc, test_directory_modes);
	tcase_add_test(tc, test_unsafe_directory_refused);
	tcase_add_test(tc, test_compaction_then_appends);
	tcase_add_test(tc, test_crash_during_compaction);
	tcase_add_test(tc, test_string_escapes);
	tcase_add_test(tc, test_large_record_split);
	tcase_add_test(tc, test_snapshot_in_another_layout);
	tcase_add_test(tc, test_snapshot_header_misleads);
	tcase_add_test(tc, test_load_streams);
	tcase_add_test(tc, test_snapshot_streamed_in_parts);
	tcase_add_test(tc, test_snapshot_streamed_corrupt);
	tcase_add_test(tc, test_snapshot_streamed_duplicate_keys);
	tcase_add_test(tc, test_corrupt_snapshot);
	tcase_add_test(tc, test_replay_error_stops);
	tcase_add_test(tc, test_failed_fsync_is_sticky);
	tcase_add_test(tc, test_failed_write_leaves_no_garbage);
	tcase_add_test(tc, test_append_throughput);
	tcase_add_test(tc, test_group_commit);
	tcase_add_test(tc, test_compaction_during_sync);
	tcase_add_test(tc, test_failed_sync_wakes_every_waiter);
	tcase_add_test(tc, test_sync_handoff_covers_everyone);
	tcase_add_test(tc, test_async_group_commit);
	tcase_add_test(tc, test_async_settled_at_once);
	tcase_add_test(tc, test_async_behind_blocking_leader);
	tcase_add_test(tc, test_async_behind_failed_sync);
	tcase_add_test(tc, test_kill_9);
	suite_add_tcase(s, tc);
	return s;
}
