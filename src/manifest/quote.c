/* quote.c - manifest_quote: a written value as a message quotes it, escaped as Go's %q
 * escapes it and cut to MANIFEST_QUOTE_MAX characters, so that every refusal keeps its
 * problem in view however big the value (a 4 MiB name must still read "must be no more
 * than 253 characters"). */
#include <stdio.h>
#include <string.h>
#include "claimfs/manifest.h"

/* Appends the n bytes of piece when they fit with room for "..." and the NUL. */
static int put(char *buf, size_t len, size_t *o, const char *piece, size_t n)
{
	if (*o + n + 4 > len)
		return -1;
	memcpy(buf + *o, piece, n);
	*o += n;
	return 0;
}

const char *manifest_quote(const char *s, char *buf, size_t len)
{
	size_t o = 0, chars = 0;
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	if (!buf || len < 4)
		return "";
	while (*p && chars < MANIFEST_QUOTE_MAX) {
		char esc[8];
		size_t n = 1;
		const char *piece = (const char *)p;
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\', esc[1] = (char)*p;
			piece = esc, n = 2;
		} else if (*p == '\n' || *p == '\t' || *p == '\r') {
			esc[0] = '\\', esc[1] = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
			piece = esc, n = 2;
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
			piece = esc, n = 4;
		} else if (*p >= 0x80) {
			/* One character: the lead byte and its continuation bytes. */
			while (p[n] && (p[n] & 0xC0) == 0x80)
				n++;
		}
		if (put(buf, len, &o, piece, n) < 0)
			break;
		p += piece == (const char *)p ? n : 1;
		chars++;
	}
	if (*p) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}
