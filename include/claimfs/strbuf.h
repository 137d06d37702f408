/* strbuf.h - a growable, always NUL-terminated byte buffer (after git's strbuf).
 *
 * Ownership: the strbuf owns buf; sb_detach() hands it to the caller (free() it).
 * No locking: a strbuf belongs to one thread at a time. Allocation failure aborts. */
#ifndef CLAIMFS_STRBUF_H
#define CLAIMFS_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *buf;    /* contents, NUL-terminated once anything was added; may be NULL when empty */
	size_t len;   /* bytes used, without the NUL */
	size_t alloc; /* bytes allocated */
};

#define STRBUF_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

void sb_init(struct strbuf *sb);
void sb_release(struct strbuf *sb);
void sb_reset(struct strbuf *sb); /* len = 0, keeps the allocation */
void sb_grow(struct strbuf *sb, size_t extra);
void sb_add(struct strbuf *sb, const void *data, size_t n);
void sb_adds(struct strbuf *sb, const char *s);
void sb_addc(struct strbuf *sb, char c);
void sb_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the contents ("" when empty), caller frees; the strbuf is empty afterwards. */
char *sb_detach(struct strbuf *sb, size_t *len);
/* Never NULL: "" when nothing was added. Borrowed, valid until the next change. */
const char *sb_str(const struct strbuf *sb);

#endif
