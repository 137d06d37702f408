/* test_names.c - name validation: DNS-1123 subdomains and labels, label values and
 * qualified names; valid and invalid cases, length boundaries, every upstream message
 * (joined with "; " when there are several), and the promise that a name that passes is
 * one safe path component (no '/', never "." or ".."). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "claimfs/names.h"
#include "unit.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define SUBDOMAIN                                                                                  \
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "      \
	"'-' or '.', and must start and end with an alphanumeric character (e.g. "                 \
	"'example.com', regex used for validation is "                                             \
	"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define LABEL                                                                                      \
	"a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "   \
	"and must start and end with an alphanumeric character (e.g. 'my-name',  or "              \
	"'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define LABEL_VALUE                                                                                \
	"a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "   \
	"or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "      \
	"'my_value',  or '12345', regex used for validation is "                                   \
	"'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
#define QNAME                                                                                      \
	"must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "   \
	"an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "      \
	"for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define MAX63 "must be no more than 63 characters"
#define MAX253 "must be no more than 253 characters"

typedef int (*check_fn)(const char *, struct cfs_err *);

struct row {
	const char *in;
	const char *msg; /* NULL: valid */
};

/* Strings of a given length built at run time: "aaa...a", labels joined by dots. */
static char long_a[300], long_dotted[300], long_bad[300], long_mixed[300], long_qual[700];

static void fill(char *buf, size_t n, char c)
{
	memset(buf, c, n);
	buf[n] = '\0';
}

static void check_row(check_fn fn, const char *what, const struct row *r)
{
	struct cfs_err e = {{0}};
	int rc = fn(r->in, &e);

	if (!r->msg) {
		ck_assert_msg(rc == 0, "%s(\"%s\"): refused: %s", what, r->in, e.msg);
		ck_assert_msg(e.msg[0] == '\0', "%s(\"%s\"): message on success", what, r->in);
		return;
	}
	ck_assert_msg(rc == -EINVAL, "%s(\"%s\"): rc %d, want -EINVAL", what, r->in, rc);
	ck_assert_msg(strcmp(e.msg, r->msg) == 0, "%s(\"%s\"):\n got  %s\n want %s", what, r->in,
		      e.msg, r->msg);
	ck_assert_int_eq(fn(r->in, NULL), -EINVAL); /* no message buffer: same answer */
}

static void setup(void)
{
	fill(long_a, 63, 'a');
	/* 253 = 4 labels of 63 and 3 dots, minus 2 */
	fill(long_dotted, 253, 'b');
	long_dotted[63] = long_dotted[127] = long_dotted[191] = '.';
	fill(long_bad, 254, 'C');
	fill(long_mixed, 64, 'm');
	long_mixed[10] = '.';
	snprintf(long_qual, sizeof(long_qual), "%s/%s", long_dotted, long_a);
}

static const struct row subdomain_rows[] = {
    {"a", NULL},
    {"0", NULL},
    {"abc", NULL},
    {"a-b", NULL},
    {"a--b", NULL},
    {"a.b", NULL},
    {"a.b.c", NULL},
    {"1.2.3", NULL},
    {"example.com", NULL},
    {"my-pvc-0", NULL},
    {"www-web-0", NULL},
    {"", SUBDOMAIN},
    {"A", SUBDOMAIN},
    {"Abc", SUBDOMAIN},
    {"a_b", SUBDOMAIN},
    {"-a", SUBDOMAIN},
    {"a-", SUBDOMAIN},
    {".a", SUBDOMAIN},
    {"a.", SUBDOMAIN},
    {"a..b", SUBDOMAIN},
    {"a.-b", SUBDOMAIN},
    {"a-.b", SUBDOMAIN},
    {".", SUBDOMAIN},
    {"..", SUBDOMAIN},
    {"a/b", SUBDOMAIN},
    {"/", SUBDOMAIN},
    {"a b", SUBDOMAIN},
    {"a\tb", SUBDOMAIN},
    {"caf\xc3\xa9", SUBDOMAIN},
    {"a*", SUBDOMAIN},
};

START_TEST(subdomain)
{
	check_row(name_check_subdomain, "subdomain", &subdomain_rows[_i]);
}
END_TEST

START_TEST(subdomain_lengths)
{
	struct row ok = {long_dotted, NULL};
	char longer[1024];
	check_row(name_check_subdomain, "subdomain", &ok);
	ck_assert_int_eq(strlen(long_dotted), 253);
	snprintf(longer, sizeof(longer), "%sb", long_dotted);
	struct row too_long = {longer, MAX253};
	check_row(name_check_subdomain, "subdomain", &too_long);
	/* Upstream does not limit the labels of a subdomain to 63: one of 253 passes. */
	char one[300];
	fill(one, 253, 'z');
	struct row one_ok = {one, NULL};
	check_row(name_check_subdomain, "subdomain", &one_ok);
	/* Both problems: both messages, length first. */
	struct row both = {long_bad, MAX253 "; " SUBDOMAIN};
	check_row(name_check_subdomain, "subdomain", &both);
}
END_TEST

static const struct row label_rows[] = {
    {"a", NULL},
    {"0", NULL},
    {"my-name", NULL},
    {"123-abc", NULL},
    {"mysql", NULL},
    {"a--b", NULL},
    {"", LABEL},
    {"My-name", LABEL},
    {"-a", LABEL},
    {"a-", LABEL},
    {"a_b", LABEL},
    {"a/b", LABEL},
    {"a b", LABEL},
    {".", LABEL},
    {"..", LABEL},
    {"a..b", LABEL},
    {".a", LABEL},
    {"a.", LABEL},
    {"A.b", LABEL},
    /* a valid subdomain that is not a label: it is the dots */
    {"a.b", "must not contain dots"},
    {"example.com", "must not contain dots"},
    {"1.2.3", "must not contain dots"},
};

START_TEST(label)
{
	check_row(name_check_label, "label", &label_rows[_i]);
}
END_TEST

START_TEST(label_lengths)
{
	char s[1024];
	struct row ok = {long_a, NULL};
	check_row(name_check_label, "label", &ok);
	snprintf(s, sizeof(s), "%sa", long_a);
	struct row too_long = {s, MAX63};
	check_row(name_check_label, "label", &too_long);
	struct row dots = {long_mixed, MAX63 "; must not contain dots"};
	check_row(name_check_label, "label", &dots);
	snprintf(s, sizeof(s), "%s_", long_a);
	struct row both = {s, MAX63 "; " LABEL};
	check_row(name_check_label, "label", &both);
	/* A StatefulSet name of 52 leaves room for "-<10-char hash>" in a label value. */
	char set[64], rev[80];
	fill(set, 52, 's');
	snprintf(rev, sizeof(rev), "%s-58d5fbb889", set);
	ck_assert_int_eq(name_check_label_value(rev, NULL), 0);
	snprintf(rev, sizeof(rev), "%ss-58d5fbb889", set);
	ck_assert_int_eq(name_check_label_value(rev, NULL), -EINVAL);
}
END_TEST

static const struct row label_value_rows[] = {
    {"", NULL},
    {"a", NULL},
    {"Z", NULL},
    {"7", NULL},
    {"MyValue", NULL},
    {"my_value", NULL},
    {"12345", NULL},
    {"a.b", NULL},
    {"A-b_c.D", NULL},
    {"mysql-58d5fbb889", NULL},
    {"a..b", NULL},
    {"-a", LABEL_VALUE},
    {"a-", LABEL_VALUE},
    {"_a", LABEL_VALUE},
    {"a_", LABEL_VALUE},
    {".", LABEL_VALUE},
    {"..", LABEL_VALUE},
    {".a", LABEL_VALUE},
    {"a/b", LABEL_VALUE},
    {"/", LABEL_VALUE},
    {"a b", LABEL_VALUE},
    {"a:b", LABEL_VALUE},
    {"\xc3\xa9", LABEL_VALUE},
};

START_TEST(label_value)
{
	check_row(name_check_label_value, "label value", &label_value_rows[_i]);
}
END_TEST

START_TEST(label_value_lengths)
{
	char s[1024];
	struct row ok = {long_a, NULL};
	check_row(name_check_label_value, "label value", &ok);
	snprintf(s, sizeof(s), "%sA", long_a);
	struct row too_long = {s, MAX63};
	check_row(name_check_label_value, "label value", &too_long);
	snprintf(s, sizeof(s), "%s-", long_a);
	struct row both = {s, MAX63 "; " LABEL_VALUE};
	check_row(name_check_label_value, "label value", &both);
}
END_TEST

static const struct row qualified_rows[] = {
    {"MyName", NULL},
    {"my.name", NULL},
    {"123-abc", NULL},
    {"a", NULL},
    {"app", NULL},
    {"example.com/MyName", NULL},
    {"app.kubernetes.io/name", NULL},
    {"statefulset.kubernetes.io/pod-name", NULL},
    {"k8s.io/a_b", NULL},
    {"kubectl.kubernetes.io/last-applied-configuration", NULL},
    {"", "name part must be non-empty; name part " QNAME},
    {"-a", "name part " QNAME},
    {"a-", "name part " QNAME},
    {"a b", "name part " QNAME},
    {".", "name part " QNAME},
    {"..", "name part " QNAME},
    {"a:b", "name part " QNAME},
    {"/a", "prefix part must be non-empty"},
    {"a/", "name part must be non-empty; name part " QNAME},
    {"/", "prefix part must be non-empty; name part must be non-empty; name part " QNAME},
    {"Example.com/x", "prefix part " SUBDOMAIN},
    {"a_b/x", "prefix part " SUBDOMAIN},
    {"../x", "prefix part " SUBDOMAIN},
    {"example.com/-x", "name part " QNAME},
    {"A/-", "prefix part " SUBDOMAIN "; name part " QNAME},
    {"a/b/c", "a qualified name " QNAME " with an optional DNS subdomain prefix and '/' "
	      "(e.g. 'example.com/MyName')"},
    {"//", "a qualified name " QNAME " with an optional DNS subdomain prefix and '/' "
	   "(e.g. 'example.com/MyName')"},
};

START_TEST(qualified)
{
	check_row(name_check_qualified, "qualified", &qualified_rows[_i]);
}
END_TEST

START_TEST(qualified_lengths)
{
	char s[1024];
	struct row ok = {long_qual, NULL};
	check_row(name_check_qualified, "qualified", &ok);
	snprintf(s, sizeof(s), "%sA", long_a);
	struct row name_long = {s, "name part " MAX63};
	check_row(name_check_qualified, "qualified", &name_long);
	snprintf(s, sizeof(s), "x/%s-", long_a);
	struct row name_both = {s, "name part " MAX63 "; name part " QNAME};
	check_row(name_check_qualified, "qualified", &name_both);
	snprintf(s, sizeof(s), "%sb/x", long_dotted);
	struct row prefix_long = {s, "prefix part " MAX253};
	check_row(name_check_qualified, "qualified", &prefix_long);
	/* Everything wrong at once: four messages, all of them whole. */
	snprintf(s, sizeof(s), "%s/%s-", long_bad, long_a);
	struct row all = {s, "prefix part " MAX253 "; prefix part " SUBDOMAIN "; name part " MAX63
			     "; name part " QNAME};
	check_row(name_check_qualified, "qualified", &all);
}
END_TEST

/* Every name that passes is one safe path component. The generator favours the
 * dangerous bytes ('.', '/', '-', NUL-free) and short strings, where "." and ".." live. */
START_TEST(path_safety)
{
	static const char alphabet[] = "../-_aZ9";
	static const check_fn checks[] = {name_check_subdomain, name_check_label,
					  name_check_label_value};
	unsigned long state = 12345;
	char s[8];
	int passed = 0;

	for (size_t c = 0; c < NELEM(checks); c++) {
		ck_assert_int_eq(checks[c](".", NULL), -EINVAL);
		ck_assert_int_eq(checks[c]("..", NULL), -EINVAL);
		ck_assert_int_eq(checks[c]("/", NULL), -EINVAL);
		ck_assert_int_eq(checks[c]("a/b", NULL), -EINVAL);
		ck_assert_int_eq(checks[c]("../a", NULL), -EINVAL);
	}
	for (int iter = 0; iter < 100000; iter++) {
		size_t n = 1 + (size_t)(iter % 6);
		for (size_t i = 0; i < n; i++) {
			state = state * 6364136223846793005ul + 1442695040888963407ul;
			s[i] = alphabet[(state >> 33) % (sizeof(alphabet) - 1)];
		}
		s[n] = '\0';
		for (size_t c = 0; c < NELEM(checks); c++) {
			if (checks[c](s, NULL) != 0)
				continue;
			passed++;
			ck_assert_msg(strchr(s, '/') == NULL, "\"%s\" passed with a '/'", s);
			ck_assert_msg(strcmp(s, ".") != 0 && strcmp(s, "..") != 0, "\"%s\" passed",
				      s);
		}
	}
	ck_assert_int_gt(passed, 1000); /* the generator does produce valid names */
	/* The empty label value is valid (and is no path component): callers never use a
	 * label value as one. */
	ck_assert_int_eq(name_check_label_value("", NULL), 0);
	ck_assert_int_eq(name_check_subdomain("", NULL), -EINVAL);
	ck_assert_int_eq(name_check_label("", NULL), -EINVAL);
}
END_TEST

START_TEST(null_input)
{
	struct cfs_err e = {{0}};
	ck_assert_int_eq(name_check_subdomain(NULL, &e), -EINVAL);
	ck_assert_str_eq(e.msg, SUBDOMAIN);
	ck_assert_int_eq(name_check_label(NULL, &e), -EINVAL);
	ck_assert_str_eq(e.msg, LABEL);
	ck_assert_int_eq(name_check_label_value(NULL, NULL), 0);
	ck_assert_int_eq(name_check_qualified(NULL, &e), -EINVAL);
	ck_assert_str_eq(e.msg, "name part must be non-empty; name part " QNAME);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("names");
	TCase *tc = tcase_create("names");
	tcase_add_unchecked_fixture(tc, setup, NULL);
	tcase_add_loop_test(tc, subdomain, 0, NELEM(subdomain_rows));
	tcase_add_test(tc, subdomain_lengths);
	tcase_add_loop_test(tc, label, 0, NELEM(label_rows));
	tcase_add_test(tc, label_lengths);
	tcase_add_loop_test(tc, label_value, 0, NELEM(label_value_rows));
	tcase_add_test(tc, label_value_lengths);
	tcase_add_loop_test(tc, qualified, 0, NELEM(qualified_rows));
	tcase_add_test(tc, qualified_lengths);
	tcase_add_test(tc, path_safety);
	tcase_add_test(tc, null_input);
	suite_add_tcase(s, tc);
	return s;
}
