/* jsontext.h - compact JSON text, fast: the writer and the reader behind the journal,
 * the snapshot and the store's cold objects (store.h). jansson's own encoder formats
 * every container's address with snprintf into a hashtable to detect cycles and calls
 * back per token, and its decoder lexes through a per-character stream: together most of
 * the cost of a bulk apply and of a mount. These write compact JSON (keys in insertion
 * order, UTF-8 as is, only '"', '\\' and control characters escaped) that json_loadb
 * reads back to equal values, and read strict JSON (RFC 8259) into the values json_loadb
 * would build. No locking: values are only read while writing. O(size of the text). */
#ifndef CLAIMFS_JSONTEXT_H
#define CLAIMFS_JSONTEXT_H

#include <stddef.h>
#include <string.h>
#include <jansson.h>
#include "claimfs/error.h"

/* A growing output buffer; with flush set, full buffers are handed to it instead. */
struct jsontext_writer {
	char *buf;				 /* output; owned by the caller */
	size_t len;				 /* bytes used */
	size_t cap;				 /* bytes allocated */
	int (*flush)(struct jsontext_writer *w); /* NULL: grow buf; else empties buf (sets len 0) */
	void *ctx;				 /* for flush */
};

static inline void jsontext_reserve(struct jsontext_writer *w, size_t n)
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

static inline void jsontext_add(struct jsontext_writer *w, const char *s, size_t n)
{
	jsontext_reserve(w, n);
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

/* Appends s[0..n) as a JSON string, quoted and escaped. */
void jsontext_string(struct jsontext_writer *w, const char *s, size_t n);
/* Appends v as compact JSON. */
void jsontext_value(struct jsontext_writer *w, const json_t *v);
/* Appends object obj, each member's value written by value() (jsontext_value, or one
 * that writes some members its own way). */
void jsontext_members(struct jsontext_writer *w, const json_t *obj,
		      void (*value)(struct jsontext_writer *w, const json_t *v));
/* Appends a JSON array of n items, item(ctx, i, w) writing the i-th. With split and
 * enough items, a helper thread writes the second half into a buffer of its own while
 * this thread writes the first (item must then be safe to call from two threads at once:
 * reading values that the caller's lock keeps); a writer with flush (a snapshot) gets
 * the helper's half written as it is, not through a copy, so half the text is held in
 * memory for a moment. */
void jsontext_list(struct jsontext_writer *w, size_t n,
		   void (*item)(void *ctx, size_t i, struct jsontext_writer *w), void *ctx,
		   int split);
/* The value in text[0..len) as a new reference, or NULL when the text is not exactly one
 * valid JSON value (then json_loadb gives the verdict and its message). Strings without
 * escapes go to jansson straight from the text. */
json_t *jsontext_parse(const char *text, size_t len);
/* The one value at the start of text[0..len) (white space before it skipped) as a new
 * reference, with *used set to the bytes up to its end; NULL when no valid value starts
 * there (*used is then meaningless). depth: the containers already open around it, which
 * count against jansson's nesting limit as in a whole document. For reading the values
 * of a larger text one by one (persist streams a snapshot's objects). */
json_t *jsontext_parse_some(const char *text, size_t len, int depth, size_t *used);

#endif
