/* names.c - Kubernetes name validation (names.h): DNS-1123 subdomains and labels, label
 * values and qualified names (label and annotation keys), with apimachinery's messages.
 *
 * The regular expressions are matched by hand (ASCII only, as Go's byte-wise match of
 * these character classes). Upstream returns a list of messages; they are joined with
 * "; ", as apimachinery does where one string is needed (labels.Parse). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "claimfs/names.h"

#define LABEL_MAX 63
#define SUBDOMAIN_MAX 253

/* Upstream's RegexError puts "', " after each example and " or " between them, hence
 * the double space in "'my-name',  or '123-abc'": kept, these are its exact texts. */
static const char subdomain_msg[] =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character (e.g. "
    "'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
static const char label_msg[] =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or "
    "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
static const char label_value_msg[] =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
#define QNAME_MSG                                                                                  \
	"must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "   \
	"an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "      \
	"for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
static const char qname_msg[] = QNAME_MSG;
static const char qname_slashes_msg[] =
    "a qualified name " QNAME_MSG
    " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";

/* The messages of one check, joined with "; "; truncated (never overrun) at the end. */
struct msgs {
	char buf[CFS_ERR_MAX];
	size_t len;
};

static void add(struct msgs *m, const char *prefix, const char *msg)
{
	const char *parts[] = {m->len ? "; " : "", prefix, msg};

	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(parts[i]), room = sizeof(m->buf) - 1 - m->len;
		if (n > room)
			n = room;
		memcpy(m->buf + m->len, parts[i], n);
		m->len += n;
	}
	m->buf[m->len] = '\0';
}

static int finish(const struct msgs *m, struct cfs_err *err)
{
	return m->len ? cfs_errorf(err, -EINVAL, "%s", m->buf) : 0;
}

/* A missing string (NULL) is checked as the empty one rather than dereferenced. */
static const char *or_empty(const char *s)
{
	return s ? s : "";
}

static void add_max_len(struct msgs *m, const char *prefix, int max)
{
	char msg[64];
	snprintf(msg, sizeof(msg), "must be no more than %d characters", max);
	add(m, prefix, msg);
}

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool alnum(char c)
{
	return lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? */
static bool is_label(const char *s, size_t n)
{
	if (n == 0 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* label(\.label)*: no empty label, so never "." or ".." and never a '/'. */
static bool is_subdomain(const char *s, size_t n)
{
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (!is_label(s + start, i - start))
			return false;
		start = i + 1;
	}
	return true;
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] */
static bool is_qname(const char *s, size_t n)
{
	if (n == 0 || !alnum(s[0]) || !alnum(s[n - 1]))
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* IsDNS1123Subdomain, with an optional prefix on each message ("prefix part "). */
static void check_subdomain(struct msgs *m, const char *prefix, const char *s, size_t n)
{
	if (n > SUBDOMAIN_MAX)
		add_max_len(m, prefix, SUBDOMAIN_MAX);
	if (!is_subdomain(s, n))
		add(m, prefix, subdomain_msg);
}

int name_check_subdomain(const char *s, struct cfs_err *err)
{
	struct msgs m = {.len = 0};

	s = or_empty(s);
	check_subdomain(&m, "", s, strlen(s));
	return finish(&m, err);
}

/* IsDNS1123Label in its newer form: a would-be subdomain is told about its dots. */
int name_check_label(const char *s, struct cfs_err *err)
{
	struct msgs m = {.len = 0};
	size_t n = strlen(s = or_empty(s));

	if (n > LABEL_MAX)
		add_max_len(&m, "", LABEL_MAX);
	if (!is_label(s, n))
		add(&m, "", is_subdomain(s, n) ? "must not contain dots" : label_msg);
	return finish(&m, err);
}

int name_check_label_value(const char *s, struct cfs_err *err)
{
	struct msgs m = {.len = 0};
	size_t n = strlen(s = or_empty(s));

	if (n > LABEL_MAX)
		add_max_len(&m, "", LABEL_MAX);
	if (n > 0 && !is_qname(s, n))
		add(&m, "", label_value_msg);
	return finish(&m, err);
}

/* IsQualifiedName: [prefix/]name. More than one '/' is one message about the whole. */
int name_check_qualified(const char *s, struct cfs_err *err)
{
	struct msgs m = {.len = 0};
	const char *slash, *name = s = or_empty(s);

	slash = strchr(s, '/');

	if (slash && strchr(slash + 1, '/')) {
		add(&m, "", qname_slashes_msg);
		return finish(&m, err);
	}
	if (slash) {
		size_t plen = (size_t)(slash - s);
		if (plen == 0)
			add(&m, "prefix part ", "must be non-empty");
		else
			check_subdomain(&m, "prefix part ", s, plen);
		name = slash + 1;
	}
	size_t n = strlen(name);
	if (n == 0)
		add(&m, "name part ", "must be non-empty");
	else if (n > LABEL_MAX)
		add_max_len(&m, "name part ", LABEL_MAX);
	if (!is_qname(name, n))
		add(&m, "name part ", qname_msg);
	return finish(&m, err);
}

size_t name_manifest_ext(const char *name)
{
	static const char *const exts[] = {".yaml", ".yml", ".json", NULL};
	size_t n = strlen(name);
	for (const char *const *e = exts; *e; e++) {
		size_t el = strlen(*e);
		if (n > el && memcmp(name + n - el, *e, el) == 0)
			return el;
	}
	return 0;
}
