/* emit_yaml.c - objects as YAML in the shape `kubectl get -o yaml` prints
 * (manifest_emit_yaml).
 *
 * Block style only: keys sorted by bytes, two spaces per level, a sequence under a key at
 * the key's own indentation ("- "), the first key of a mapping in a sequence on the dash's
 * line, {} and [] for empty collections. A string is written plain only when the decoder
 * would read the same string back (scalar.c decides, the same code the decoder uses);
 * otherwise it is quoted as kubectl's emitter does: double quotes when the text would read
 * as another type ("true", "123", "", timestamps) or holds characters that need escapes,
 * single quotes when only YAML's punctuation is in the way. Multi-line strings become
 * literal blocks (| or |-) where that reads back exactly, else double-quoted escapes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/manifest.h"
#include "manifest_internal.h"

/* libyaml refuses an implicit key of 1024 characters or more; longer ones get "? ". */
#define MAX_SIMPLE_KEY 1000

enum style { PLAIN, SINGLE, DOUBLE, LITERAL };

static void indent(struct strbuf *out, int n)
{
	sb_grow(out, (size_t)n);
	for (int i = 0; i < n; i++)
		sb_addc(out, ' ');
}

/* Decodes one UTF-8 character (jansson strings are valid UTF-8); returns its length. */
static size_t next_char(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : 4;
	uint32_t c = len == 1	? s[0]
		     : len == 2 ? s[0] & 0x1Fu
		     : len == 3 ? s[0] & 0x0Fu
				: s[0] & 0x07u;
	if (len > n)
		len = n;
	for (size_t i = 1; i < len; i++)
		c = (c << 6) | (s[i] & 0x3Fu);
	*cp = c;
	return len;
}

/* Characters that must be written as escapes: C0 and C1 controls (the tab included, as
 * libyaml's emitter does), DEL, and what YAML 1.1 reads as line breaks or a BOM. */
static int needs_escape(uint32_t c)
{
	return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x2028 || c == 0x2029 || c == 0xFEFF ||
	       c == 0xFFFE || c == 0xFFFF;
}

static int has_escapes(const char *s, size_t n, int allow_newline)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		uint32_t c;
		if (u[i] >= 0x20 && u[i] < 0x7F) {
			i++;
			continue;
		}
		i += next_char(u + i, n - i, &c);
		if (needs_escape(c) && !(allow_newline && c == '\n'))
			return 1;
	}
	return 0;
}

static int contains(const char *s, size_t n, const char *what)
{
	size_t w = strlen(what);
	for (size_t i = 0; i + w <= n; i++)
		if (memcmp(s + i, what, w) == 0)
			return 1;
	return 0;
}

/* YAML 1.1 sexagesimal numbers ("12:30", "1:20:30.5"): the decoder keeps them as strings,
 * but other YAML 1.1 readers do not, and kubectl quotes them. */
static int is_base60(const char *s, size_t n)
{
	size_t i = 0, parts = 0;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i >= n || s[i] < '0' || s[i] > '9')
		return 0;
	while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
		i++;
	while (i < n && s[i] == ':') {
		size_t d = 0;
		for (i++; i < n && s[i] >= '0' && s[i] <= '9' && d < 2; i++, d++)
			;
		if (d == 0 || (d == 2 && s[i - 2] > '5'))
			return 0;
		parts++;
	}
	if (parts && i < n && s[i] == '.')
		for (i++; i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'); i++)
			;
	return parts > 0 && i == n;
}

/* Would the string read back as a different type if written plain? "<<" as a key would
 * read as a merge key. */
static int reads_as_other_type(const char *s, size_t n, int is_key)
{
	if (mscalar_resolve(s, n, NULL, NULL, NULL) != MSCALAR_STR)
		return 1;
	return mscalar_is_timestamp(s, n) || is_base60(s, n) ||
	       (is_key && n == 2 && memcmp(s, "<<", 2) == 0);
}

/* Can the string be written plain in block context and read back as itself? */
static int plain_ok(const char *s, size_t n, int is_key)
{
	if (n == 0 || reads_as_other_type(s, n, is_key) || has_escapes(s, n, 0))
		return 0;
	if (strchr(",[]{}#&*!|>'\"%@`", s[0]))
		return 0;
	/* "-x", "?x", ":x" are plain scalars in block context ("- -c" in args). */
	if ((s[0] == '-' || s[0] == '?' || s[0] == ':') && (n == 1 || s[1] == ' '))
		return 0;
	if (n >= 3 && (memcmp(s, "---", 3) == 0 || memcmp(s, "...", 3) == 0))
		return 0;
	if (s[0] == ' ' || s[n - 1] == ' ' || s[n - 1] == ':')
		return 0;
	return !contains(s, n, ": ") && !contains(s, n, " #");
}

/* A literal block keeps every character when: no escapes are needed besides line breaks,
 * the first line has text that does not start with a space (it sets the indentation),
 * no line ends in a space (libyaml will not emit that), and at most one final newline. */
static int literal_ok(const char *s, size_t n)
{
	if (!memchr(s, '\n', n) || has_escapes(s, n, 1))
		return 0;
	if (s[0] == ' ' || s[0] == '\n')
		return 0;
	if (contains(s, n, " \n") || s[n - 1] == ' ')
		return 0;
	return !(n >= 2 && s[n - 1] == '\n' && s[n - 2] == '\n');
}

static enum style choose(const char *s, size_t n, int is_key)
{
	if (!is_key && literal_ok(s, n))
		return LITERAL;
	if (plain_ok(s, n, is_key))
		return PLAIN;
	if (has_escapes(s, n, 0) || reads_as_other_type(s, n, is_key))
		return DOUBLE;
	return SINGLE;
}

static void add_double(struct strbuf *out, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	sb_addc(out, '"');
	for (size_t i = 0; i < n;) {
		uint32_t c;
		size_t len = next_char(u + i, n - i, &c);
		switch (c) {
		case '"':
			sb_adds(out, "\\\"");
			break;
		case '\\':
			sb_adds(out, "\\\\");
			break;
		case '\n':
			sb_adds(out, "\\n");
			break;
		case '\t':
			sb_adds(out, "\\t");
			break;
		case '\r':
			sb_adds(out, "\\r");
			break;
		case '\b':
			sb_adds(out, "\\b");
			break;
		case '\f':
			sb_adds(out, "\\f");
			break;
		default:
			if (needs_escape(c))
				sb_addf(out, "\\u%04X", (unsigned)c);
			else
				sb_add(out, s + i, len);
		}
		i += len;
	}
	sb_addc(out, '"');
}

static void add_single(struct strbuf *out, const char *s, size_t n)
{
	sb_addc(out, '\'');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\'')
			sb_addc(out, '\'');
		sb_addc(out, s[i]);
	}
	sb_addc(out, '\'');
}

/* The block's lines at column ind; empty lines stay empty. */
static void add_literal(struct strbuf *out, const char *s, size_t n, int ind)
{
	int clip = s[n - 1] == '\n';

	sb_adds(out, clip ? "|\n" : "|-\n");
	if (clip)
		n--;
	for (size_t i = 0; i <= n;) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t e = nl ? (size_t)(nl - s) : n;
		if (e > i) {
			indent(out, ind);
			sb_add(out, s + i, e - i);
		}
		sb_addc(out, '\n');
		i = e + 1;
	}
}

/* A string: after "key: " or "- "; ind is where a literal block's lines go. Ends the
 * line. */
static void add_string(struct strbuf *out, const char *s, size_t n, int is_key, int ind)
{
	switch (choose(s, n, is_key)) {
	case LITERAL:
		add_literal(out, s, n, ind);
		return;
	case PLAIN:
		sb_add(out, s, n);
		break;
	case SINGLE:
		add_single(out, s, n);
		break;
	case DOUBLE:
		add_double(out, s, n);
		break;
	}
	if (!is_key)
		sb_addc(out, '\n');
}

static void add_key(struct strbuf *out, const char *k)
{
	add_string(out, k, strlen(k), 1, 0);
}

/* Scalars and empty collections, on the current line; ends the line. */
static void add_inline(struct strbuf *out, const json_t *v, int ind)
{
	char buf[48];

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		sb_adds(out, "{}\n");
		break;
	case JSON_ARRAY:
		sb_adds(out, "[]\n");
		break;
	case JSON_STRING:
		add_string(out, json_string_value(v), json_string_length(v), 0, ind);
		break;
	case JSON_INTEGER:
		sb_addf(out, "%" JSON_INTEGER_FORMAT "\n", json_integer_value(v));
		break;
	case JSON_REAL:
		mscalar_format_real(json_real_value(v), buf, sizeof(buf));
		sb_adds(out, buf);
		sb_addc(out, '\n');
		break;
	case JSON_TRUE:
		sb_adds(out, "true\n");
		break;
	case JSON_FALSE:
		sb_adds(out, "false\n");
		break;
	default:
		sb_adds(out, "null\n");
	}
}

static int is_block(const json_t *v)
{
	return (json_is_object(v) && json_object_size(v) > 0) ||
	       (json_is_array(v) && json_array_size(v) > 0);
}

static void emit_map(const json_t *obj, struct strbuf *out, int ind, int first_inline);
static void emit_seq(const json_t *arr, struct strbuf *out, int ind, int first_inline);

/* The value of a key written at column ind; the cursor is just after the ':'. */
static void emit_value(const json_t *v, struct strbuf *out, int ind)
{
	if (json_is_object(v) && json_object_size(v) > 0) {
		sb_addc(out, '\n');
		emit_map(v, out, ind + 2, 0);
	} else if (json_is_array(v) && json_array_size(v) > 0) {
		sb_addc(out, '\n');
		emit_seq(v, out, ind, 0);
	} else {
		sb_addc(out, ' ');
		add_inline(out, v, ind + 2);
	}
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* first_inline: the cursor already sits at column ind (after "- "). */
static void emit_map(const json_t *obj, struct strbuf *out, int ind, int first_inline)
{
	size_t n = json_object_size(obj), i = 0;
	const char **keys = xmalloc(n * sizeof(*keys));
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)obj, k, v) keys[i++] = k;
	qsort(keys, n, sizeof(*keys), cmp_keys);
	for (i = 0; i < n; i++) {
		v = json_object_get(obj, keys[i]);
		if (i > 0 || !first_inline)
			indent(out, ind);
		struct strbuf key = STRBUF_INIT;
		add_key(&key, keys[i]);
		if (key.len <= MAX_SIMPLE_KEY) {
			sb_add(out, key.buf, key.len);
			sb_addc(out, ':');
			emit_value(v, out, ind);
		} else {
			/* An explicit key; its value is then written like a nested one. */
			sb_adds(out, "? ");
			sb_add(out, key.buf, key.len);
			sb_addc(out, '\n');
			indent(out, ind);
			sb_addc(out, ':');
			emit_value(v, out, ind);
		}
		sb_release(&key);
	}
	free(keys);
}

static void emit_seq(const json_t *arr, struct strbuf *out, int ind, int first_inline)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
	{
		if (i > 0 || !first_inline)
			indent(out, ind);
		sb_adds(out, "- ");
		if (json_is_object(v) && is_block(v))
			emit_map(v, out, ind + 2, 1);
		else if (is_block(v))
			emit_seq(v, out, ind + 2, 1);
		else
			add_inline(out, v, ind + 2);
	}
}

void manifest_emit_yaml(const json_t *obj, struct strbuf *out)
{
	if (!obj)
		return;
	if (json_is_object(obj) && is_block(obj))
		emit_map(obj, out, 0, 0);
	else if (is_block(obj))
		emit_seq(obj, out, 0, 0);
	else
		add_inline(out, obj, 2);
}
