/* test_events.c - the event log: line format, per-object filtering, bounded history with
 * sequence numbers that never repeat, rendering only what is new. */
#include <string.h>
#include "unit.h"
#include <stdio.h>
#include "claimfs/events.h"

START_TEST(format_and_filter)
{
	struct eventlog *log = eventlog_new(10);
	struct strbuf sb = STRBUF_INIT;
	eventlog_add(log, 0, "Normal", "ProvisioningSucceeded", "namespaces/default/pvcs/a",
		     "Successfully provisioned\nvolume");
	eventlog_add(log, 1000, "Warning", "FailedApply", "apply", "bad: x");
	eventlog_render(log, &sb, NULL, 0);
	ck_assert_str_eq(sb_str(&sb), "1970-01-01T00:00:00Z Normal ProvisioningSucceeded "
				      "namespaces/default/pvcs/a Successfully provisioned volume\n"
				      "1970-01-01T00:00:01Z Warning FailedApply apply bad: x\n");
	sb_reset(&sb);
	eventlog_render(log, &sb, "apply", 0);
	ck_assert_str_eq(sb_str(&sb), "1970-01-01T00:00:01Z Warning FailedApply apply bad: x\n");
	sb_reset(&sb);
	ck_assert_uint_eq(eventlog_render(log, &sb, NULL, 1), 2);
	ck_assert_ptr_nonnull(strstr(sb_str(&sb), "FailedApply"));
	ck_assert_ptr_null(strstr(sb_str(&sb), "Provisioning"));
	sb_release(&sb);
	eventlog_free(log);
}
END_TEST

/* Newlines, returns and tabs in the object and the message become spaces; nothing else
 * changes (a long message keeps every byte). */
START_TEST(flattens_whitespace)
{
	struct eventlog *log = eventlog_new(4);
	struct strbuf sb = STRBUF_INIT, want = STRBUF_INIT, msg = STRBUF_INIT;
	for (int i = 0; i < 300; i++)
		sb_addc(&msg, "ab\tc\rd\ne\x01\xc3\xa9 "[i % 12]);
	eventlog_add(log, 0, "Normal", "Reason", "pods/a\tb", sb_str(&msg));
	eventlog_render(log, &sb, NULL, 0);
	sb_adds(&want, "1970-01-01T00:00:00Z Normal Reason pods/a b ");
	for (int i = 0; i < 300; i++) {
		char c = "ab\tc\rd\ne\x01\xc3\xa9 "[i % 12];
		sb_addc(&want, c == '\t' || c == '\r' || c == '\n' ? ' ' : c);
	}
	sb_addc(&want, '\n');
	ck_assert_str_eq(sb_str(&sb), sb_str(&want));
	sb_release(&sb);
	sb_release(&want);
	sb_release(&msg);
	eventlog_free(log);
}
END_TEST

START_TEST(bounded)
{
	struct eventlog *log = eventlog_new(5);
	struct strbuf sb = STRBUF_INIT;
	char msg[16];
	int i;
	for (i = 0; i < 12; i++) {
		snprintf(msg, sizeof(msg), "m%d", i);
		eventlog_add(log, 0, "Normal", "R", "o", msg);
	}
	ck_assert_uint_eq(eventlog_last_seq(log), 12);
	ck_assert_uint_eq(eventlog_first_seq(log), 8);
	eventlog_render(log, &sb, NULL, 0);
	ck_assert_ptr_null(strstr(sb_str(&sb), "m6\n"));
	ck_assert_ptr_nonnull(strstr(sb_str(&sb), "m7\n"));
	ck_assert_ptr_nonnull(strstr(sb_str(&sb), "m11\n"));
	sb_release(&sb);
	eventlog_free(log);
}
END_TEST

/* A full log drops its oldest quarter at once, so it shrinks rarely (tail -f). */
START_TEST(drops_a_quarter_when_full)
{
	struct eventlog *log = eventlog_new(8);
	int i;
	for (i = 0; i < 8; i++)
		eventlog_add(log, 0, "Normal", "R", "o", "m");
	ck_assert_uint_eq(eventlog_first_seq(log), 1);
	eventlog_add(log, 0, "Normal", "R", "o", "m");
	ck_assert_uint_eq(eventlog_first_seq(log), 3);
	ck_assert_uint_eq(eventlog_last_seq(log), 9);
	eventlog_add(log, 0, "Normal", "R", "o", "m");
	ck_assert_uint_eq(eventlog_first_seq(log), 3);
	eventlog_free(log);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("events");
	TCase *tc = tcase_create("events");
	tcase_add_test(tc, format_and_filter);
	tcase_add_test(tc, flattens_whitespace);
	tcase_add_test(tc, bounded);
	tcase_add_test(tc, drops_a_quarter_when_full);
	suite_add_tcase(s, tc);
	return s;
}
