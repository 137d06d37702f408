/* test_events_index.c - the event log's index by object: one object's events render the
 * same lines as a filter over the whole log (checked against a brute-force model through
 * thousands of adds, drops of the oldest quarter and cursors), the index forgets an object
 * with its last kept event, and rendering one object's events does not cost a pass over
 * the whole log (10,000 objects in a full log render in a few milliseconds). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "unit.h"
#include "claimfs/events.h"

/* Brute force: the kept lines about object (NULL: all) with seq > after, from a full
 * rendering of the log filtered by the object field of each line. */
static char *model_render(const struct eventlog *log, const char *object, uint64_t after)
{
	struct strbuf all = STRBUF_INIT, out = STRBUF_INIT;
	uint64_t seq = eventlog_first_seq(log);
	const char *p;
	eventlog_render(log, &all, NULL, 0);
	for (p = sb_str(&all); *p; seq++) {
		const char *nl = strchr(p, '\n');
		/* "<time> <Type> <Reason> <object> <message>": the 4th field is the object */
		const char *f = p;
		int k;
		for (k = 0; k < 3; k++)
			f = strchr(f, ' ') + 1;
		size_t flen = (size_t)(strchr(f, ' ') - f);
		int match = !object || (strlen(object) == flen && strncmp(f, object, flen) == 0);
		if (seq > after && match)
			sb_add(&out, p, (size_t)(nl + 1 - p));
		p = nl + 1;
	}
	sb_release(&all);
	return sb_detach(&out, NULL);
}

static void add(struct eventlog *log, const char *object, int i)
{
	char msg[32];
	snprintf(msg, sizeof(msg), "m%d", i);
	eventlog_add(log, (int64_t)i * 1000, "Normal", "R", object, msg);
}

START_TEST(one_object_renders_its_lines_only)
{
	struct eventlog *log = eventlog_new(100);
	struct strbuf sb = STRBUF_INIT;
	add(log, "namespaces/default/persistentvolumeclaims/a", 1);
	add(log, "namespaces/default/persistentvolumeclaims/b", 2);
	add(log, "namespaces/default/persistentvolumeclaims/a", 3);
	/* a prefix of another object's path is another object */
	add(log, "namespaces/default/persistentvolumeclaims/ab", 4);
	ck_assert_uint_eq(
	    eventlog_render(log, &sb, "namespaces/default/persistentvolumeclaims/a", 0), 3);
	ck_assert_str_eq(
	    sb_str(&sb),
	    "1970-01-01T00:00:01Z Normal R namespaces/default/persistentvolumeclaims/a m1\n"
	    "1970-01-01T00:00:03Z Normal R namespaces/default/persistentvolumeclaims/a m3\n");
	ck_assert_uint_eq(eventlog_count(log, "namespaces/default/persistentvolumeclaims/a"), 2);
	ck_assert_uint_eq(eventlog_count(log, "namespaces/default/persistentvolumeclaims/ab"), 1);
	ck_assert_uint_eq(eventlog_count(log, "namespaces/default/persistentvolumeclaims/c"), 0);
	ck_assert_uint_eq(eventlog_count(log, NULL), 4);
	ck_assert_uint_eq(eventlog_objects(log), 3);
	ck_assert_uint_eq(eventlog_last_seq_of(log, "namespaces/default/persistentvolumeclaims/a"),
			  3);
	ck_assert_uint_eq(eventlog_last_seq_of(log, "nothing"), 0);
	/* nothing new after the cursor: nothing appended, the cursor is returned */
	sb_reset(&sb);
	ck_assert_uint_eq(
	    eventlog_render(log, &sb, "namespaces/default/persistentvolumeclaims/a", 3), 3);
	ck_assert_uint_eq(sb.len, 0);
	ck_assert_uint_eq(eventlog_render(log, &sb, "nothing", 0), 0);
	ck_assert_uint_eq(sb.len, 0);
	/* a cursor between an object's events */
	ck_assert_uint_eq(
	    eventlog_render(log, &sb, "namespaces/default/persistentvolumeclaims/a", 1), 3);
	ck_assert_str_eq(
	    sb_str(&sb),
	    "1970-01-01T00:00:03Z Normal R namespaces/default/persistentvolumeclaims/a m3\n");
	sb_release(&sb);
	eventlog_free(log);
}
END_TEST

/* The whole log from a cursor: every kept line after it, whatever the cursor (before the
 * oldest kept event, in the middle, at or past the newest). */
START_TEST(whole_log_from_any_cursor)
{
	struct eventlog *log = eventlog_new(8);
	struct strbuf sb = STRBUF_INIT;
	uint64_t after;
	int i;
	for (i = 1; i <= 13; i++) /* 13 events in 8 slots: 1..6 dropped, two at a time */
		add(log, i % 2 ? "odd" : "even", i);
	ck_assert_uint_eq(eventlog_first_seq(log), 7);
	ck_assert_uint_eq(eventlog_last_seq(log), 13);
	for (after = 0; after <= 15; after++) {
		char *want = model_render(log, NULL, after);
		sb_reset(&sb);
		uint64_t got = eventlog_render(log, &sb, NULL, after);
		ck_assert_str_eq(sb_str(&sb), want);
		ck_assert_uint_eq(got, after >= 13 ? after : 13);
		free(want);
	}
	sb_release(&sb);
	eventlog_free(log);
}
END_TEST

/* Random adds over many objects, with drops of the oldest quarter: every object's
 * rendering from every sort of cursor equals the brute-force filter, and the counts and
 * the index size agree with the model. */
START_TEST(matches_brute_force_through_drops)
{
	enum { CAP = 64, OBJS = 23, ROUNDS = 3000 };
	struct eventlog *log = eventlog_new(CAP);
	struct strbuf sb = STRBUF_INIT;
	char name[OBJS][32];
	unsigned seed = 12345;
	int i, o;
	for (o = 0; o < OBJS; o++)
		snprintf(name[o], sizeof(name[o]), "namespaces/ns%d/pods/p%d", o % 3, o);
	for (i = 1; i <= ROUNDS; i++) {
		/* skewed choice: a few busy objects, many quiet ones */
		seed = seed * 1103515245u + 12345u;
		o = (int)((seed >> 16) % OBJS);
		if (o > 5 && (seed >> 8) % 4)
			o %= 5;
		add(log, name[o], i);
		if (i % 97 && i != ROUNDS)
			continue;
		size_t kept = 0, objects = 0;
		for (o = 0; o < OBJS; o++) {
			uint64_t afters[] = {0, eventlog_first_seq(log), eventlog_last_seq(log) - 5,
					     eventlog_last_seq(log)};
			size_t k;
			for (k = 0; k < sizeof(afters) / sizeof(afters[0]); k++) {
				char *want = model_render(log, name[o], afters[k]);
				sb_reset(&sb);
				eventlog_render(log, &sb, name[o], afters[k]);
				ck_assert_str_eq(sb_str(&sb), want);
				free(want);
			}
			char *all = model_render(log, name[o], 0);
			size_t lines = 0;
			const char *p;
			for (p = all; *p; p++)
				lines += *p == '\n';
			ck_assert_uint_eq(eventlog_count(log, name[o]), lines);
			kept += lines;
			objects += lines > 0;
			free(all);
		}
		ck_assert_uint_eq(kept, eventlog_count(log, NULL));
		ck_assert_uint_eq(objects, eventlog_objects(log));
	}
	ck_assert_uint_eq(eventlog_last_seq(log), ROUNDS);
	sb_release(&sb);
	eventlog_free(log);
}
END_TEST

/* Objects whose events were all dropped leave the index: it never outgrows the log. */
START_TEST(index_forgets_objects_with_their_last_event)
{
	struct eventlog *log = eventlog_new(100);
	struct strbuf sb = STRBUF_INIT;
	char name[32];
	int i;
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "pods/p%d", i);
		add(log, name, i);
		ck_assert_uint_le(eventlog_objects(log), 100);
	}
	ck_assert_uint_eq(eventlog_objects(log), eventlog_count(log, NULL));
	ck_assert_uint_eq(eventlog_count(log, "pods/p0"), 0);
	ck_assert_uint_eq(eventlog_render(log, &sb, "pods/p0", 0), 0);
	ck_assert_uint_eq(sb.len, 0);
	ck_assert_uint_eq(eventlog_count(log, "pods/p999"), 1);
	ck_assert_uint_gt(eventlog_render(log, &sb, "pods/p999", 0), 0);
	ck_assert_ptr_nonnull(strstr(sb_str(&sb), "pods/p999 m999\n"));
	/* an object that comes back after leaving the index starts a new chain */
	add(log, "pods/p0", 5000);
	sb_reset(&sb);
	eventlog_render(log, &sb, "pods/p0", 0);
	ck_assert_str_eq(sb_str(&sb), "1970-01-01T01:23:20Z Normal R pods/p0 m5000\n");
	sb_release(&sb);
	eventlog_free(log);
}
END_TEST

/* `cat <claim>/events` for 10,000 claims: 10,000 renderings of one object each over a
 * full log of 10,000 events. A filter over the whole log would make that 10^8 string
 * compares (about N whole-log renderings); the index makes it 10^4 steps. Timed against
 * one whole-log rendering, so valgrind and sanitizers slow both sides alike. */
START_TEST(one_object_costs_its_events_not_the_log)
{
	enum { N = 10000 };
	struct eventlog *log = eventlog_new(N);
	struct strbuf sb = STRBUF_INIT;
	char name[64];
	size_t bytes = 0;
	int i;
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "namespaces/default/persistentvolumeclaims/c%05d", i);
		add(log, name, i);
	}
	ck_assert_uint_eq(eventlog_objects(log), N);
	/* the yardstick: one rendering of the whole log (best of a few) */
	double full = 1e9;
	for (i = 0; i < 5; i++) {
		sb_reset(&sb);
		double t = unit_now_s();
		eventlog_render(log, &sb, NULL, 0);
		t = unit_now_s() - t;
		full = t < full ? t : full;
	}
	size_t whole = sb.len;
	double t0 = unit_now_s();
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "namespaces/default/persistentvolumeclaims/c%05d", i);
		sb_reset(&sb);
		eventlog_render(log, &sb, name, 0);
		bytes += sb.len;
	}
	double took = unit_now_s() - t0;
	ck_assert_uint_eq(bytes, whole);
	/* A filter over the log costs about one whole rendering per object: N of them. */
	ck_assert_msg(took < 500 * full + 0.05,
		      "10,000 object renderings took %.4f s, one whole-log rendering %.6f s", took,
		      full);
	sb_release(&sb);
	eventlog_free(log);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("events_index");
	TCase *tc = tcase_create("events_index");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, one_object_renders_its_lines_only);
	tcase_add_test(tc, whole_log_from_any_cursor);
	tcase_add_test(tc, matches_brute_force_through_drops);
	tcase_add_test(tc, index_forgets_objects_with_their_last_event);
	tcase_add_test(tc, one_object_costs_its_events_not_the_log);
	suite_add_tcase(s, tc);
	return s;
}
