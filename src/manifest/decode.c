/* decode.c - a YAML/JSON manifest stream into jansson values with positions
 * (manifest_decode, manifest_release).
 *
 * libyaml's event parser drives a stack of open collections; each finished node goes to
 * its parent. Limits are checked while the events arrive, so a hostile input stops early:
 * nesting (libyaml itself slows down quadratically on deep flow nesting, so we must stop
 * it, not just judge the result), input bytes, and, counted with alias expansions (alias
 * bombs), nodes, the bytes of scalars and keys (a long scalar repeated) and the depths of
 * the nodes summed (deep nodes repeated: the indentation of what is shown for them). The
 * input bytes are checked for UTF-8 and control characters before libyaml sees them,
 * which gives exact positions where libyaml's reader would only give an offset.
 *
 * Aliases first share the anchored node (a reference); when the document is complete and
 * within the limits, every node that sits in more than one place is replaced by a deep
 * copy, so that callers can change one place without changing another. Sharing first
 * keeps an alias bomb from allocating anything before the node limit refuses it. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "claimfs/manifest.h"
#include "manifest_internal.h"

#define TAG_PREFIX "tag:yaml.org,2002:"

struct keypos {
	const char *key; /* the object's own copy of the key (stable while the key exists) */
	int line;	 /* where the key was written */
	int col;
};

/* What a stream, or an anchored node, holds once its aliases are expanded. */
struct tally {
	size_t nodes;  /* scalars and collections */
	size_t bytes;  /* of scalars and keys */
	size_t levels; /* the depths of its nodes summed (from the anchored node for an
			* anchor): what indentation its files will show */
};

struct frame {
	json_t *node;	       /* the object or array being filled; owned until delivered */
	int is_map;	       /* object (mapping) or array (sequence) */
	int line, col;	       /* where the collection starts */
	struct tally at_start; /* dec.counted before this node, to size its anchor */
	int height;	       /* levels of collections below this one so far */
	long anchor;	       /* index in dec.anchors of the anchor on this node, or -1 */
	/* mappings only */
	int have_key; /* key holds a key waiting for its value */
	char *key;    /* owned */
	int key_line, key_col;
	int key_is_merge;    /* the key is "<<" */
	json_t *merged;	     /* values from merge keys, applied where no key overrides them */
	struct keypos *keys; /* keys set so far, for the "already defined at" message */
	size_t nkeys, akeys;
};

struct anchor {
	json_t *node;	   /* a reference */
	struct tally size; /* of the anchored subtree, expansions included */
	int height;	   /* collection levels in it (0 for a scalar) */
	int pending;	   /* still open: an alias to it would make a cycle */
};

struct dec {
	const char *buf; /* the input */
	size_t len;
	yaml_parser_t parser;
	struct manifest *m;
	struct cfs_err *err;
	struct frame stack[MANIFEST_MAX_DEPTH]; /* open collections */
	int depth;				/* frames in use */
	struct anchor *anchors;			/* of the current document */
	size_t nanchors, aanchors;
	json_t *anchor_index; /* anchor name -> index in anchors */
	struct tally counted; /* the stream so far, alias expansions included */
	json_t *root;	      /* the current document's root, once complete */
	int doc_line;	      /* where the current document starts */
	size_t adocs;
};

/* ---- positions in the input -------------------------------------------------------- */

/* Line and column (1-based, columns in characters) of byte offset off. */
static void where(const struct dec *d, size_t off, int *line, int *col)
{
	int l = 1, c = 1;
	for (size_t i = 0; i < off && i < d->len; i++) {
		unsigned char ch = (unsigned char)d->buf[i];
		if (ch == '\n' || (ch == '\r' && (i + 1 >= d->len || d->buf[i + 1] != '\n'))) {
			l++;
			c = 1;
		} else if (ch != '\r' && (ch & 0xC0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*col = c;
}

/* The byte offset of a libyaml mark (0-based line and column in characters); d->len when
 * the mark is at or past the end. */
static size_t offset_of_mark(const struct dec *d, yaml_mark_t mk)
{
	size_t i = 0, line = 0, col = 0;
	while (i < d->len && line < mk.line) {
		if (d->buf[i] == '\n' ||
		    (d->buf[i] == '\r' && (i + 1 >= d->len || d->buf[i + 1] != '\n')))
			line++;
		i++;
	}
	while (i < d->len && col < mk.column) {
		i++;
		while (i < d->len && ((unsigned char)d->buf[i] & 0xC0) == 0x80)
			i++;
		col++;
	}
	return i;
}

/* The byte under a libyaml mark, or -1. */
static int byte_at_mark(const struct dec *d, yaml_mark_t mk)
{
	size_t i = offset_of_mark(d, mk);
	return i < d->len ? (unsigned char)d->buf[i] : -1;
}

/* Is the ':' at mk the end of an implicit key of 1024 characters or more (which libyaml
 * stops tracking, then calls the ':' misplaced)? The key is what precedes it on its line
 * after the indentation and "- " or "? " indicators, with no ": " inside. */
static int after_long_key(const struct dec *d, yaml_mark_t mk)
{
	size_t end = offset_of_mark(d, mk), start = end;
	if (mk.column < 1024 || end >= d->len || d->buf[end] != ':')
		return 0;
	while (start > 0 && d->buf[start - 1] != '\n' && d->buf[start - 1] != '\r')
		start--;
	for (;;) {
		while (start < end && d->buf[start] == ' ')
			start++;
		if (start + 1 < end && (d->buf[start] == '-' || d->buf[start] == '?') &&
		    d->buf[start + 1] == ' ')
			start += 2;
		else
			break;
	}
	if (end - start < 1024)
		return 0;
	for (size_t i = start; i + 1 < end; i++)
		if (d->buf[i] == ':' && d->buf[i + 1] == ' ')
			return 0;
	return 1;
}

static int errat(struct dec *d, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int errat(struct dec *d, int line, int col, const char *fmt, ...)
{
	char msg[CFS_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cfs_errorf(d->err, -EINVAL, "%s:%d:%d: %s", d->m->source, line, col, msg);
}

#define MARK(mk) (int)(mk).line + 1, (int)(mk).column + 1

/* A short, printable rendering of a key or anchor name for messages. */
static const char *shown(const char *s, char *buf, size_t len)
{
	size_t o = 0;
	for (; *s && o + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	if (*s && o + 4 <= len)
		memcpy(buf + o, "...", 3), o += 3;
	buf[o] = '\0';
	return buf;
}

/* ---- the bytes, before libyaml --------------------------------------------------- */

/* Length of the UTF-8 sequence at s (n bytes left) and its code point, or 0 if invalid. */
static size_t utf8_char(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xE0) == 0xC0) {
		len = 2, c = s[0] & 0x1F, min = 0x80;
	} else if ((s[0] & 0xF0) == 0xE0) {
		len = 3, c = s[0] & 0x0F, min = 0x800;
	} else if ((s[0] & 0xF8) == 0xF0) {
		len = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

/* The characters YAML allows in a stream (what libyaml's reader accepts). */
static int yaml_printable(uint32_t c)
{
	return c == 0x09 || c == 0x0A || c == 0x0D || (c >= 0x20 && c <= 0x7E) || c == 0x85 ||
	       (c >= 0xA0 && c <= 0xD7FF) || (c >= 0xE000 && c <= 0xFFFD) ||
	       (c >= 0x10000 && c <= 0x10FFFF);
}

static int check_bytes(struct dec *d)
{
	const unsigned char *s = (const unsigned char *)d->buf;
	int line, col;

	for (size_t i = 0; i < d->len;) {
		uint32_t c;
		if (s[i] >= 0x20 && s[i] < 0x7F) {
			i++;
			continue;
		}
		size_t n = utf8_char(s + i, d->len - i, &c);
		if (n == 0) {
			where(d, i, &line, &col);
			return errat(d, line, col, "invalid UTF-8 byte 0x%02x", s[i]);
		}
		if (c == 0) {
			where(d, i, &line, &col);
			return errat(d, line, col, "NUL byte is not allowed");
		}
		if (!yaml_printable(c)) {
			where(d, i, &line, &col);
			return errat(d, line, col, "control character U+%04X is not allowed", c);
		}
		i += n;
	}
	return 0;
}

/* ---- libyaml's errors ------------------------------------------------------------- */

static int parser_error(struct dec *d)
{
	yaml_parser_t *p = &d->parser;
	const char *problem = p->problem ? p->problem : "invalid YAML";
	int line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return cfs_errorf(d->err, -ENOMEM, "%s: out of memory while parsing", d->m->source);
	case YAML_READER_ERROR:
		where(d, p->problem_offset, &line, &col);
		return errat(d, line, col, "%s", problem);
	case YAML_SCANNER_ERROR:
	case YAML_PARSER_ERROR:
	default:
		break;
	}
	if (p->error == YAML_SCANNER_ERROR &&
	    strcmp(problem, "found character that cannot start any token") == 0 &&
	    byte_at_mark(d, p->problem_mark) == '\t')
		return errat(d, MARK(p->problem_mark),
			     "found a tab character where YAML allows only spaces (indentation)");
	/* libyaml gives up on an implicit key once it is 1024 characters long, then reports
	 * the ':' after it as misplaced: name the real problem. */
	if (p->error == YAML_SCANNER_ERROR &&
	    strcmp(problem, "mapping values are not allowed in this context") == 0 &&
	    after_long_key(d, p->problem_mark))
		return errat(d, MARK(p->problem_mark),
			     "%s (a mapping key written without \"? \" must be shorter than 1024 "
			     "characters)",
			     problem);
	if (p->context && (p->context_mark.line != p->problem_mark.line ||
			   p->context_mark.column != p->problem_mark.column))
		return errat(d, MARK(p->problem_mark), "%s (%s at line %d, column %d)", problem,
			     p->context, (int)p->context_mark.line + 1,
			     (int)p->context_mark.column + 1);
	if (p->context)
		return errat(d, MARK(p->problem_mark), "%s %s", problem, p->context);
	return errat(d, MARK(p->problem_mark), "%s", problem);
}

/* ---- nodes ------------------------------------------------------------------------ */

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "mapping";
	case JSON_ARRAY:
		return "sequence";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	default:
		return "null";
	}
}

/* Do a and b together stay within the limits count_nodes checks? */
static int within_limits(struct tally a, struct tally b)
{
	return a.nodes + b.nodes <= MANIFEST_MAX_NODES && a.bytes + b.bytes <= MANIFEST_MAX_BYTES &&
	       a.levels + b.levels <= MANIFEST_MAX_LEVELS;
}

/* Counts what a node adds to the stream (levels already from the top). Without aliases
 * the bytes never pass the input's length; with them a long scalar repeated would, and
 * deep nodes repeated would make files of gigabytes from a page of YAML. */
static int count_nodes(struct dec *d, struct tally add, yaml_mark_t mk)
{
	struct tally *t = &d->counted;
	if (add.nodes > MANIFEST_MAX_NODES || t->nodes > MANIFEST_MAX_NODES - add.nodes)
		return errat(d, MARK(mk),
			     "stream has more than %d nodes (MANIFEST_MAX_NODES) counting alias "
			     "expansions",
			     MANIFEST_MAX_NODES);
	if (add.bytes > MANIFEST_MAX_BYTES || t->bytes > MANIFEST_MAX_BYTES - add.bytes)
		return errat(d, MARK(mk),
			     "stream has more than %u bytes of scalars and keys (16 MiB, "
			     "MANIFEST_MAX_BYTES) counting alias expansions",
			     MANIFEST_MAX_BYTES);
	if (add.levels > MANIFEST_MAX_LEVELS || t->levels > MANIFEST_MAX_LEVELS - add.levels)
		return errat(d, MARK(mk),
			     "stream has more than %d levels of nesting summed over its nodes "
			     "(MANIFEST_MAX_LEVELS: a node N levels deep counts N) counting alias "
			     "expansions",
			     MANIFEST_MAX_LEVELS);
	t->nodes += add.nodes;
	t->bytes += add.bytes;
	t->levels += add.levels;
	return 0;
}

/* Types a scalar event. Returns a new reference, or NULL with err set. */
static json_t *make_scalar(struct dec *d, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	int resolve = plain, bv = 0;
	json_int_t iv = 0;
	double dv = 0;
	const char *want = NULL;

	if (memchr(s, '\0', len)) {
		errat(d, MARK(ev->start_mark), "NUL character in a scalar is not allowed");
		return NULL;
	}
	if (tag && strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) == 0) {
		want = tag + strlen(TAG_PREFIX);
		if (!strcmp(want, "int") || !strcmp(want, "float") || !strcmp(want, "bool") ||
		    !strcmp(want, "null"))
			resolve = 1;
		else if (!strcmp(want, "str") || !strcmp(want, "binary") ||
			 !strcmp(want, "timestamp"))
			resolve = 0, want = NULL;
		else
			want = NULL; /* !!map, !!seq, ... on a scalar: typed as if untagged */
	} else if (tag && strcmp(tag, "!") == 0) {
		resolve = 0; /* the non-specific tag: a string */
	}

	enum mscalar t = resolve ? mscalar_resolve(s, len, &bv, &iv, &dv) : MSCALAR_STR;
	if (t == MSCALAR_SPECIAL)
		t = MSCALAR_STR; /* JSON has no infinities or NaN */
	if (want) {
		int ok = (!strcmp(want, "int") && t == MSCALAR_INT) ||
			 (!strcmp(want, "float") && (t == MSCALAR_INT || t == MSCALAR_FLOAT)) ||
			 (!strcmp(want, "bool") && t == MSCALAR_BOOL) || !strcmp(want, "null");
		if (!ok) {
			char b[80];
			errat(d, MARK(ev->start_mark), "cannot decode \"%s\" as !!%s",
			      shown(s, b, sizeof(b)), want);
			return NULL;
		}
		if (!strcmp(want, "null"))
			t = MSCALAR_NULL;
	}
	switch (t) {
	case MSCALAR_NULL:
		return json_null();
	case MSCALAR_BOOL:
		return json_boolean(bv);
	case MSCALAR_INT:
		return json_integer(iv);
	case MSCALAR_FLOAT:
		return json_real(dv);
	default:
		break;
	}
	json_t *v = json_stringn(s, len);
	if (!v)
		errat(d, MARK(ev->start_mark), "scalar is not valid UTF-8");
	return v;
}

/* A key from a scalar node (an alias used as a key). */
static char *key_text(const json_t *v)
{
	char buf[64];
	switch (json_typeof(v)) {
	case JSON_STRING:
		return xstrndup(json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return xstrdup(buf);
	case JSON_REAL:
		mscalar_format_real(json_real_value(v), buf, sizeof(buf));
		return xstrdup(buf);
	case JSON_TRUE:
		return xstrdup("true");
	case JSON_FALSE:
		return xstrdup("false");
	default:
		return xstrdup("null");
	}
}

static int is_singleton(const json_t *v)
{
	return json_is_true(v) || json_is_false(v) || json_is_null(v);
}

/* Copies the recorded position of from's singleton member k to (to, k). */
static void copy_member_pos(struct dec *d, const json_t *from, const json_t *to, const char *k)
{
	int line, col;
	if (mpos_get_member(d->m->pos, from, k, &line, &col) == 0)
		mpos_put_member(d->m->pos, to, k, line, col);
}

/* Forgets the positions of the nodes of v that die when this reference goes. */
static void forget_dying(struct dec *d, json_t *v)
{
	const char *k;
	json_t *c;
	size_t i;

	if (json_is_true(v) || json_is_false(v) || json_is_null(v) || v->refcount > 1)
		return;
	mpos_del(d->m->pos, v);
	if (json_is_object(v))
		json_object_foreach(v, k, c)
		{
			if (is_singleton(c))
				mpos_del_member(d->m->pos, v, k);
			else
				forget_dying(d, c);
		}
	else if (json_is_array(v))
		json_array_foreach(v, i, c) forget_dying(d, c);
}

/* ---- anchors ------------------------------------------------------------------------ */

/* bytes: a scalar's length (a collection's size is set when it ends). */
static long anchor_add(struct dec *d, const char *name, json_t *node, size_t bytes, int pending)
{
	if (d->nanchors == d->aanchors) {
		d->aanchors = d->aanchors ? d->aanchors * 2 : 16;
		d->anchors = xrealloc(d->anchors, d->aanchors * sizeof(*d->anchors));
	}
	struct anchor *a = &d->anchors[d->nanchors];
	a->node = json_incref(node);
	a->size = (struct tally){1, bytes, 0};
	a->height = 0;
	a->pending = pending;
	/* A later anchor of the same name hides the earlier one, as YAML says. */
	json_object_set_new(d->anchor_index, name, json_integer((json_int_t)d->nanchors));
	return (long)d->nanchors++;
}

static void anchors_clear(struct dec *d)
{
	for (size_t i = 0; i < d->nanchors; i++)
		json_decref(d->anchors[i].node);
	d->nanchors = 0;
	json_object_clear(d->anchor_index);
}

/* ---- building ----------------------------------------------------------------------- */

static void frame_free(struct frame *f)
{
	json_decref(f->node);
	json_decref(f->merged);
	free(f->key);
	free(f->keys);
	memset(f, 0, sizeof(*f));
}

static int merge_from(struct dec *d, struct frame *f, json_t *src, yaml_mark_t mk)
{
	const char *k;
	json_t *v;

	if (!json_is_object(src))
		return errat(d, MARK(mk),
			     "merge key << needs a mapping or a sequence of mappings (got %s)",
			     type_name(src));
	if (!f->merged)
		f->merged = json_object();
	/* The first source of a key wins, as in YAML's merge key type. */
	json_object_foreach(src, k, v)
	{
		if (!json_object_get(f->merged, k)) {
			json_object_set(f->merged, k, v);
			if (is_singleton(v))
				copy_member_pos(d, src, f->merged, k);
		}
	}
	return 0;
}

static int merge_value(struct dec *d, struct frame *f, json_t *v, yaml_mark_t mk)
{
	int rc = 0;
	size_t i;
	json_t *e;

	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
		{
			if ((rc = merge_from(d, f, e, mk)) != 0)
				break;
		}
	} else {
		rc = merge_from(d, f, v, mk);
	}
	if (rc == 0)
		forget_dying(d, v);
	json_decref(v);
	return rc;
}

static void apply_merges(struct dec *d, struct frame *f)
{
	const char *k;
	json_t *v;

	if (!f->merged)
		return;
	json_object_foreach(f->merged, k, v)
	{
		if (!json_object_get(f->node, k)) {
			json_object_set(f->node, k, v);
			if (is_singleton(v))
				copy_member_pos(d, f->merged, f->node, k);
		}
	}
	json_object_foreach(f->merged, k, v)
	{
		if (is_singleton(v))
			mpos_del_member(d->m->pos, f->merged, k);
		else
			forget_dying(d, v);
	}
	json_decref(f->merged);
	f->merged = NULL;
}

/* Hands a finished node (a stolen reference) to its parent, or makes it the root. */
static int deliver(struct dec *d, json_t *v, int height, yaml_mark_t mk)
{
	if (d->depth == 0) {
		if (!json_is_object(v)) {
			const char *what = type_name(v);
			json_decref(v);
			return errat(d, MARK(mk), "a manifest document must be a mapping (got %s)",
				     what);
		}
		d->root = v;
		return 0;
	}
	struct frame *f = &d->stack[d->depth - 1];
	if (height > f->height)
		f->height = height;
	if (!f->is_map) {
		json_array_append_new(f->node, v);
		return 0;
	}
	int rc = 0;
	if (f->key_is_merge) {
		rc = merge_value(d, f, v, mk);
	} else if (json_object_set_new(f->node, f->key, v) == 0) {
		/* true/false/null have no identity: remember where this member's was read. */
		if (is_singleton(v))
			mpos_put_member(d->m->pos, f->node, f->key, MARK(mk));
		if (f->nkeys == f->akeys) {
			f->akeys = f->akeys ? f->akeys * 2 : 8;
			f->keys = xrealloc(f->keys, f->akeys * sizeof(*f->keys));
		}
		struct keypos *kp = &f->keys[f->nkeys++];
		kp->key = json_object_iter_key(json_object_iter_at(f->node, f->key));
		kp->line = f->key_line;
		kp->col = f->key_col;
	} else {
		rc = errat(d, f->key_line, f->key_col, "mapping key is not valid UTF-8");
	}
	free(f->key);
	f->key = NULL;
	f->have_key = 0;
	f->key_is_merge = 0;
	return rc;
}

/* Takes key (owned) as the pending key of the mapping on top. */
static int set_key(struct dec *d, char *key, int merge, yaml_mark_t mk)
{
	struct frame *f = &d->stack[d->depth - 1];
	char b[80];
	int rc;

	if ((rc = count_nodes(d, (struct tally){0, strlen(key), 0}, mk)) != 0) {
		free(key);
		return rc;
	}
	if (!merge && json_object_get(f->node, key)) {
		int line = 0;
		for (size_t i = 0; i < f->nkeys; i++)
			if (strcmp(f->keys[i].key, key) == 0)
				line = f->keys[i].line;
		errat(d, MARK(mk), "mapping key \"%s\" already defined at line %d",
		      shown(key, b, sizeof(b)), line);
		free(key);
		return -EINVAL;
	}
	f->key = key;
	f->have_key = 1;
	f->key_is_merge = merge;
	f->key_line = (int)mk.line + 1;
	f->key_col = (int)mk.column + 1;
	return 0;
}

static int in_key_position(const struct dec *d)
{
	return d->depth > 0 && d->stack[d->depth - 1].is_map && !d->stack[d->depth - 1].have_key;
}

static int on_collection_start(struct dec *d, const yaml_event_t *ev, int is_map)
{
	const char *anchor =
	    (const char *)(is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor);
	const char *what = is_map ? "mapping" : "sequence";
	int rc;

	if (in_key_position(d))
		return errat(d, MARK(ev->start_mark), "a mapping key must be a scalar (got %s)",
			     what);
	if (d->depth == 0 && !is_map)
		return errat(d, MARK(ev->start_mark),
			     "a manifest document must be a mapping (got sequence)");
	if (d->depth >= MANIFEST_MAX_DEPTH)
		return errat(d, MARK(ev->start_mark),
			     "nesting deeper than %d levels (MANIFEST_MAX_DEPTH)",
			     MANIFEST_MAX_DEPTH);
	struct tally before = d->counted;
	if ((rc = count_nodes(d, (struct tally){1, 0, (size_t)d->depth}, ev->start_mark)) != 0)
		return rc;
	struct frame *f = &d->stack[d->depth++];
	memset(f, 0, sizeof(*f));
	f->node = is_map ? json_object() : json_array();
	f->is_map = is_map;
	f->line = (int)ev->start_mark.line + 1;
	f->col = (int)ev->start_mark.column + 1;
	f->at_start = before;
	f->anchor = anchor ? anchor_add(d, anchor, f->node, 0, 1) : -1;
	mpos_put(d->m->pos, f->node, f->line, f->col);
	return 0;
}

static int on_collection_end(struct dec *d)
{
	struct frame *f = &d->stack[d->depth - 1];
	yaml_mark_t mk = {0, (size_t)f->line - 1, (size_t)f->col - 1};
	json_t *node = f->node;
	int height = f->height + 1;

	if (f->is_map)
		apply_merges(d, f);
	if (f->anchor >= 0) {
		struct anchor *a = &d->anchors[f->anchor];
		a->pending = 0;
		a->size.nodes = d->counted.nodes - f->at_start.nodes;
		a->size.bytes = d->counted.bytes - f->at_start.bytes;
		/* from the anchored node, which sits d->depth - 1 levels deep */
		a->size.levels =
		    d->counted.levels - f->at_start.levels - a->size.nodes * (size_t)(d->depth - 1);
		a->height = height;
	}
	f->node = NULL;
	frame_free(f);
	d->depth--;
	return deliver(d, node, height, mk);
}

static int on_scalar(struct dec *d, const yaml_event_t *ev)
{
	const char *anchor = (const char *)ev->data.scalar.anchor;
	json_t *v;
	int rc;

	if (!(v = make_scalar(d, ev)))
		return -EINVAL;
	if (anchor)
		anchor_add(d, anchor, v, ev->data.scalar.length, 0);
	if (in_key_position(d)) {
		const char *s = (const char *)ev->data.scalar.value;
		const char *tag = (const char *)ev->data.scalar.tag;
		int merge = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
			    strcmp(s, "<<") == 0 && (!tag || strcmp(tag, TAG_PREFIX "merge") == 0);
		json_decref(v);
		return set_key(d, xstrndup(s, ev->data.scalar.length), merge, ev->start_mark);
	}
	if (d->depth == 0 && json_is_null(v))
		return 0; /* an empty document: "---" alone, or only comments */
	struct tally add = {1, ev->data.scalar.length, (size_t)d->depth};
	if ((rc = count_nodes(d, add, ev->start_mark)) != 0) {
		json_decref(v);
		return rc;
	}
	mpos_put(d->m->pos, v, MARK(ev->start_mark));
	return deliver(d, v, 0, ev->start_mark);
}

static int on_alias(struct dec *d, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	json_t *idx = json_object_get(d->anchor_index, name);
	char b[80];
	int rc;

	if (!idx)
		return errat(d, MARK(ev->start_mark), "alias *%s has no anchor &%s before it",
			     shown(name, b, sizeof(b)), b);
	struct anchor *a = &d->anchors[json_integer_value(idx)];
	if (a->pending)
		return errat(d, MARK(ev->start_mark), "alias *%s refers to a node that contains it",
			     shown(name, b, sizeof(b)));
	if (in_key_position(d)) {
		if (json_is_object(a->node) || json_is_array(a->node))
			return errat(d, MARK(ev->start_mark),
				     "a mapping key must be a scalar (got %s)", type_name(a->node));
		return set_key(d, key_text(a->node), 0, ev->start_mark);
	}
	if (d->depth + a->height > MANIFEST_MAX_DEPTH)
		return errat(d, MARK(ev->start_mark),
			     "nesting deeper than %d levels (MANIFEST_MAX_DEPTH) once alias *%s is "
			     "expanded",
			     MANIFEST_MAX_DEPTH, shown(name, b, sizeof(b)));
	struct tally add = a->size;
	add.levels += add.nodes * (size_t)d->depth;
	if ((rc = count_nodes(d, add, ev->start_mark)) != 0)
		return rc;
	return deliver(d, json_incref(a->node), a->height, ev->start_mark);
}

/* ---- unsharing -------------------------------------------------------------------- */

static json_t *copy_node(struct dec *d, json_t *src)
{
	json_t *c, *v;
	const char *k;
	size_t i;
	int line, col;

	switch (json_typeof(src)) {
	case JSON_OBJECT:
		c = json_object();
		json_object_foreach(src, k, v)
		{
			json_object_set_new(c, k, copy_node(d, v));
			if (is_singleton(v))
				copy_member_pos(d, src, c, k);
		}
		break;
	case JSON_ARRAY:
		c = json_array();
		json_array_foreach(src, i, v) json_array_append_new(c, copy_node(d, v));
		break;
	case JSON_STRING:
		c = json_stringn_nocheck(json_string_value(src), json_string_length(src));
		break;
	case JSON_INTEGER:
		c = json_integer(json_integer_value(src));
		break;
	case JSON_REAL:
		c = json_real(json_real_value(src));
		break;
	default:
		return src; /* true, false, null: singletons */
	}
	if (mpos_get(d->m->pos, src, &line, &col) == 0)
		mpos_put(d->m->pos, c, line, col);
	return c;
}

static int shared(const json_t *v)
{
	return !json_is_true(v) && !json_is_false(v) && !json_is_null(v) && v->refcount > 1;
}

/* Gives every place its own node. The last holder of a shared node keeps the original
 * (its refcount is 1 by then), so no node dies and no position goes stale. */
static void unshare_nodes(struct dec *d, json_t *node)
{
	if (json_is_object(node)) {
		for (void *it = json_object_iter(node); it; it = json_object_iter_next(node, it)) {
			json_t *v = json_object_iter_value(it);
			if (shared(v))
				json_object_iter_set_new(node, it, copy_node(d, v));
			else
				unshare_nodes(d, v);
		}
	} else if (json_is_array(node)) {
		for (size_t i = 0; i < json_array_size(node); i++) {
			json_t *v = json_array_get(node, i);
			if (shared(v))
				json_array_set_new(node, i, copy_node(d, v));
			else
				unshare_nodes(d, v);
		}
	}
}

/* ---- the stream --------------------------------------------------------------------- */

static void end_document(struct dec *d)
{
	struct manifest *m = d->m;

	/* Drop the anchors' references first: refcounts must count places in the tree. */
	anchors_clear(d);
	if (!d->root)
		return;
	unshare_nodes(d, d->root);
	if (m->ndocs == d->adocs) {
		d->adocs = d->adocs ? d->adocs * 2 : 4;
		m->docs = xrealloc(m->docs, d->adocs * sizeof(*m->docs));
		m->doc_line = xrealloc(m->doc_line, d->adocs * sizeof(*m->doc_line));
	}
	m->docs[m->ndocs] = d->root;
	m->doc_line[m->ndocs] = d->doc_line;
	m->ndocs++;
	d->root = NULL;
}

static int on_event(struct dec *d, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		d->doc_line = (int)ev->start_mark.line + 1;
		return 0;
	case YAML_DOCUMENT_END_EVENT:
		end_document(d);
		return 0;
	case YAML_MAPPING_START_EVENT:
		return on_collection_start(d, ev, 1);
	case YAML_SEQUENCE_START_EVENT:
		return on_collection_start(d, ev, 0);
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		return on_collection_end(d);
	case YAML_SCALAR_EVENT:
		return on_scalar(d, ev);
	case YAML_ALIAS_EVENT:
		return on_alias(d, ev);
	default:
		return 0;
	}
}

static int run(struct dec *d)
{
	int rc;

	if ((rc = check_bytes(d)) != 0)
		return rc;
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&d->parser, &ev))
			return parser_error(d);
		rc = on_event(d, &ev);
		int end = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
		if (rc || end)
			return rc;
	}
}

/* Decodes buf[0..len) into out (whose source is set; pos, docs are made here): the
 * stream in one pass. On failure out keeps its source and nothing else. *counted gets
 * what was counted. */
static int decode_stream(const char *buf, size_t len, struct manifest *out, struct tally *counted,
			 struct cfs_err *err)
{
	struct dec d;
	int rc;

	out->pos = mpos_new();
	memset(&d, 0, sizeof(d));
	d.buf = buf;
	d.len = len;
	d.m = out;
	d.err = err;
	d.anchor_index = json_object();
	if (!yaml_parser_initialize(&d.parser)) {
		json_decref(d.anchor_index);
		return cfs_errorf(err, -ENOMEM, "out of memory starting the YAML parser");
	}
	yaml_parser_set_encoding(&d.parser, YAML_UTF8_ENCODING);
	yaml_parser_set_input_string(&d.parser, (const unsigned char *)(buf ? buf : ""), len);

	rc = run(&d);

	while (d.depth > 0)
		frame_free(&d.stack[--d.depth]);
	json_decref(d.root);
	anchors_clear(&d);
	free(d.anchors);
	json_decref(d.anchor_index);
	yaml_parser_delete(&d.parser);
	*counted = d.counted;
	return rc;
}

/* Frees out's documents and positions, keeps its source. */
static void drop_contents(struct manifest *m)
{
	char *source = m->source;
	m->source = NULL;
	manifest_release(m);
	m->source = source;
}

/* ---- two halves at once ----------------------------------------------------------------
 * A large stream (a bulk apply) is decoded by two threads: the documents before a
 * document start line ("---" at the start of a line, then a blank or the end) near the
 * middle, and the documents from it on, each as a stream of its own. When the whole
 * stream is valid, every such line starts a document and nothing crosses it (anchors and
 * tags are per document), so the two halves give the documents of the whole; line
 * numbers of the second half move down by the lines before it. Whenever either half
 * fails, or both pass but together exceed the node limit, the stream is decoded again in
 * one pass, which gives the error (and its position) of the whole stream. */
#define SPLIT_MIN_BYTES (256u << 10)

/* Lines before off as libyaml counts them (\n, \r\n, \r), or -1 when buf[0..off) holds
 * one of the Unicode line breaks libyaml also counts (NEL, LS, PS): then no split. */
static long lines_before(const char *buf, size_t off)
{
	long lines = 0;
	for (size_t i = 0; i < off; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c == '\n' || (c == '\r' && (i + 1 >= off || buf[i + 1] != '\n')))
			lines++;
		else if ((c == 0xC2 && i + 1 < off && (unsigned char)buf[i + 1] == 0x85) ||
			 (c == 0xE2 && i + 2 < off && (unsigned char)buf[i + 1] == 0x80 &&
			  ((unsigned char)buf[i + 2] == 0xA8 || (unsigned char)buf[i + 2] == 0xA9)))
			return -1;
	}
	return lines;
}

/* Is there a document start line ("---", then a blank or the end) at offset i? */
static int doc_start_at(const char *buf, size_t len, size_t i)
{
	if (i + 3 > len || memcmp(buf + i, "---", 3) != 0)
		return 0;
	return i + 3 == len || buf[i + 3] == ' ' || buf[i + 3] == '\t' || buf[i + 3] == '\n' ||
	       buf[i + 3] == '\r';
}

/* The offset of the first document start line after the middle, else of the last one
 * before it (never offset 0), or 0 when there is none. */
static size_t split_point(const char *buf, size_t len)
{
	const char *p = buf + len / 2, *end = buf + len, *nl;
	size_t last = 0;
	for (; (nl = memchr(p, '\n', (size_t)(end - p))) != NULL; p = nl + 1)
		if (doc_start_at(buf, len, (size_t)(nl + 1 - buf)))
			return (size_t)(nl + 1 - buf);
	for (p = buf; (nl = memchr(p, '\n', (size_t)(buf + len / 2 - p))) != NULL; p = nl + 1)
		if (doc_start_at(buf, len, (size_t)(nl + 1 - buf)))
			last = (size_t)(nl + 1 - buf);
	return last;
}

struct half {
	const char *buf;
	size_t len;
	struct manifest m;
	struct tally counted;
	struct cfs_err err;
	int rc;
};

static void *half_main(void *arg)
{
	struct half *h = arg;
	h->rc = decode_stream(h->buf, h->len, &h->m, &h->counted, &h->err);
	return NULL;
}

/* Decodes in two halves; returns 0 with out filled, or 1 when the caller must decode in
 * one pass (out is then left with only its source). */
static int decode_split(const char *buf, size_t len, struct manifest *out)
{
	size_t at = split_point(buf, len);
	long lines = at ? lines_before(buf, at) : -1;
	struct half h = {buf + at, len - at, {0}, {0, 0, 0}, {{0}}, 0};
	struct cfs_err err1 = {{0}};
	struct tally t1 = {0, 0, 0};
	pthread_t th;

	if (!at || lines < 0)
		return 1;
	json_decref(json_object()); /* jansson's hash seed, before a second thread uses it */
	if (pthread_create(&th, NULL, half_main, &h) != 0)
		return 1;
	int rc1 = decode_stream(buf, at, out, &t1, &err1);
	pthread_join(th, NULL);
	if (rc1 || h.rc || !within_limits(t1, h.counted)) {
		drop_contents(out);
		manifest_release(&h.m);
		return 1;
	}
	size_t n = out->ndocs + h.m.ndocs;
	out->docs = xrealloc(out->docs, (n ? n : 1) * sizeof(*out->docs));
	out->doc_line = xrealloc(out->doc_line, (n ? n : 1) * sizeof(*out->doc_line));
	for (size_t i = 0; i < h.m.ndocs; i++) {
		out->docs[out->ndocs + i] = h.m.docs[i]; /* the reference moves */
		out->doc_line[out->ndocs + i] = h.m.doc_line[i] + (int)lines;
	}
	out->ndocs = n;
	mpos_merge(out->pos, h.m.pos, (int)lines);
	h.m.ndocs = 0;
	manifest_release(&h.m);
	return 0;
}

int manifest_decode(const char *buf, size_t len, const char *source, struct manifest *out,
		    struct cfs_err *err)
{
	struct tally counted;
	int rc;

	memset(out, 0, sizeof(*out));
	out->source = xstrdup(source ? source : "<input>");
	if (len > MANIFEST_MAX_BYTES) {
		rc = cfs_errorf(err, -EFBIG,
				"%s: manifest stream of %zu bytes is larger than the limit of %u "
				"bytes (16 MiB, MANIFEST_MAX_BYTES)",
				out->source, len, MANIFEST_MAX_BYTES);
		manifest_release(out);
		return rc;
	}
	if (buf && len >= SPLIT_MIN_BYTES && decode_split(buf, len, out) == 0)
		return 0;
	rc = decode_stream(buf, len, out, &counted, err);
	if (rc)
		manifest_release(out);
	return rc;
}

void manifest_release(struct manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->ndocs; i++)
		json_decref(m->docs[i]);
	free(m->docs);
	free(m->doc_line);
	free(m->source);
	mpos_free(m->pos);
	memset(m, 0, sizeof(*m));
}
