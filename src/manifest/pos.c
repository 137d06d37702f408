/* pos.c - where each decoded node came from: an open-addressing hash from json_t pointer
 * to (line, column); a second one from (mapping, key) to the position of the member's
 * value, for true, false and null, which are jansson singletons with no identity of their
 * own; and the public readers of both (manifest_pos, manifest_member_pos, the
 * manifest_errorf family) and manifest_pos_follow.
 *
 * Linear probing with backward-shift deletion (no tombstones), so lookups stay short
 * after nodes are forgotten; the tables double at half load. A node is keyed by its
 * address, which is why the decoder forgets a node (and its members) before it frees it.
 * Members are keyed by the mapping's address and a 64-bit hash of the key: only
 * singleton-valued members are recorded (every other value has its own position), so
 * the second table stays small. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/manifest.h"
#include "claimfs/fnv.h"
#include "manifest_internal.h"

struct pos_ent {
	const json_t *node; /* NULL: free slot */
	int line;	    /* 1-based */
	int col;	    /* 1-based, in characters */
};

struct member_ent {
	const json_t *parent; /* the mapping; NULL: free slot */
	uint64_t khash;	      /* FNV-1a of the key */
	int line;	      /* of the member's value, 1-based */
	int col;
};

struct manifest_pos {
	struct pos_ent *tab;	 /* cap slots */
	size_t cap;		 /* a power of two */
	size_t n;		 /* slots in use */
	struct member_ent *mtab; /* mcap slots; NULL until a member is recorded */
	size_t mcap;		 /* a power of two, or 0 */
	size_t mn;		 /* slots in use */
};

static int is_singleton(const json_t *node)
{
	return json_is_true(node) || json_is_false(node) || json_is_null(node);
}

static size_t slot_of(const struct manifest_pos *p, const json_t *node)
{
	/* Fibonacci hashing of the address: allocations are aligned, so the low bits alone
	 * would crowd into a few slots. */
	uint64_t h = (uint64_t)(uintptr_t)node * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 20) & (p->cap - 1);
}

struct manifest_pos *mpos_new(void)
{
	struct manifest_pos *p = xcalloc(1, sizeof(*p));
	p->cap = 64;
	p->tab = xcalloc(p->cap, sizeof(*p->tab));
	return p;
}

void mpos_free(struct manifest_pos *p)
{
	if (!p)
		return;
	free(p->tab);
	free(p->mtab);
	free(p);
}

size_t mpos_count(const struct manifest_pos *p)
{
	return p ? p->n : 0;
}

static void grow(struct manifest_pos *p)
{
	struct pos_ent *old = p->tab;
	size_t oldcap = p->cap;

	p->cap *= 2;
	p->tab = xcalloc(p->cap, sizeof(*p->tab));
	for (size_t i = 0; i < oldcap; i++) {
		if (!old[i].node)
			continue;
		size_t s = slot_of(p, old[i].node);
		while (p->tab[s].node)
			s = (s + 1) & (p->cap - 1);
		p->tab[s] = old[i];
	}
	free(old);
}

void mpos_put(struct manifest_pos *p, const json_t *node, int line, int col)
{
	if (!node || is_singleton(node))
		return;
	if ((p->n + 1) * 2 > p->cap)
		grow(p);
	size_t s = slot_of(p, node);
	while (p->tab[s].node && p->tab[s].node != node)
		s = (s + 1) & (p->cap - 1);
	if (!p->tab[s].node)
		p->n++;
	p->tab[s].node = node;
	p->tab[s].line = line;
	p->tab[s].col = col;
}

static size_t find(const struct manifest_pos *p, const json_t *node)
{
	size_t s = slot_of(p, node);
	while (p->tab[s].node) {
		if (p->tab[s].node == node)
			return s;
		s = (s + 1) & (p->cap - 1);
	}
	return SIZE_MAX;
}

int mpos_get(const struct manifest_pos *p, const json_t *node, int *line, int *col)
{
	if (!p || !node || is_singleton(node))
		return -ENOENT;
	size_t s = find(p, node);
	if (s == SIZE_MAX)
		return -ENOENT;
	*line = p->tab[s].line;
	*col = p->tab[s].col;
	return 0;
}

void mpos_del(struct manifest_pos *p, const json_t *node)
{
	if (!p || !node || is_singleton(node))
		return;
	size_t hole = find(p, node);
	if (hole == SIZE_MAX)
		return;
	p->tab[hole].node = NULL;
	p->n--;
	/* Backward shift: pull later entries of the same probe run into the hole when their
	 * home slot does not lie (cyclically) between the hole and where they sit. */
	size_t mask = p->cap - 1;
	for (size_t s = (hole + 1) & mask; p->tab[s].node; s = (s + 1) & mask) {
		size_t home = slot_of(p, p->tab[s].node);
		if (((s - home) & mask) >= ((s - hole) & mask)) {
			p->tab[hole] = p->tab[s];
			p->tab[s].node = NULL;
			hole = s;
		}
	}
}

/* ---- members: (mapping, key) -> position of the value ---- */

static size_t mslot_of(size_t cap, const json_t *parent, uint64_t khash)
{
	uint64_t h = ((uint64_t)(uintptr_t)parent ^ khash) * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 20) & (cap - 1);
}

static void mgrow(struct manifest_pos *p)
{
	struct member_ent *old = p->mtab;
	size_t oldcap = p->mcap;

	p->mcap = p->mcap ? p->mcap * 2 : 16;
	p->mtab = xcalloc(p->mcap, sizeof(*p->mtab));
	for (size_t i = 0; i < oldcap; i++) {
		if (!old[i].parent)
			continue;
		size_t s = mslot_of(p->mcap, old[i].parent, old[i].khash);
		while (p->mtab[s].parent)
			s = (s + 1) & (p->mcap - 1);
		p->mtab[s] = old[i];
	}
	free(old);
}

static size_t mfind(const struct manifest_pos *p, const json_t *parent, uint64_t khash)
{
	if (!p->mcap)
		return SIZE_MAX;
	size_t s = mslot_of(p->mcap, parent, khash);
	while (p->mtab[s].parent) {
		if (p->mtab[s].parent == parent && p->mtab[s].khash == khash)
			return s;
		s = (s + 1) & (p->mcap - 1);
	}
	return SIZE_MAX;
}

void mpos_put_member(struct manifest_pos *p, const json_t *parent, const char *key, int line,
		     int col)
{
	if (!p || !parent || !key)
		return;
	uint64_t kh = fnv64_str(key);
	size_t s = mfind(p, parent, kh);
	if (s == SIZE_MAX) {
		if ((p->mn + 1) * 2 > p->mcap)
			mgrow(p);
		s = mslot_of(p->mcap, parent, kh);
		while (p->mtab[s].parent)
			s = (s + 1) & (p->mcap - 1);
		p->mn++;
	}
	p->mtab[s].parent = parent;
	p->mtab[s].khash = kh;
	p->mtab[s].line = line;
	p->mtab[s].col = col;
}

void mpos_merge(struct manifest_pos *dst, const struct manifest_pos *src, int line_offset)
{
	size_t i;
	for (i = 0; i < src->cap; i++)
		if (src->tab[i].node)
			mpos_put(dst, src->tab[i].node, src->tab[i].line + line_offset,
				 src->tab[i].col);
	for (i = 0; i < src->mcap; i++) {
		const struct member_ent *e = &src->mtab[i];
		if (!e->parent)
			continue;
		size_t s = mfind(dst, e->parent, e->khash);
		if (s == SIZE_MAX) {
			if ((dst->mn + 1) * 2 > dst->mcap)
				mgrow(dst);
			s = mslot_of(dst->mcap, e->parent, e->khash);
			while (dst->mtab[s].parent)
				s = (s + 1) & (dst->mcap - 1);
			dst->mn++;
		}
		dst->mtab[s] = *e;
		dst->mtab[s].line += line_offset;
	}
}

int mpos_get_member(const struct manifest_pos *p, const json_t *parent, const char *key, int *line,
		    int *col)
{
	if (!p || !parent || !key)
		return -ENOENT;
	size_t s = mfind(p, parent, fnv64_str(key));
	if (s == SIZE_MAX)
		return -ENOENT;
	*line = p->mtab[s].line;
	*col = p->mtab[s].col;
	return 0;
}

void mpos_del_member(struct manifest_pos *p, const json_t *parent, const char *key)
{
	if (!p || !parent || !key)
		return;
	size_t hole = mfind(p, parent, fnv64_str(key));
	if (hole == SIZE_MAX)
		return;
	p->mtab[hole].parent = NULL;
	p->mn--;
	size_t mask = p->mcap - 1;
	for (size_t s = (hole + 1) & mask; p->mtab[s].parent; s = (s + 1) & mask) {
		size_t home = mslot_of(p->mcap, p->mtab[s].parent, p->mtab[s].khash);
		if (((s - home) & mask) >= ((s - hole) & mask)) {
			p->mtab[hole] = p->mtab[s];
			p->mtab[s].parent = NULL;
			hole = s;
		}
	}
}

size_t mpos_member_count(const struct manifest_pos *p)
{
	return p ? p->mn : 0;
}

/* ---- the public readers ---- */

int manifest_pos(const struct manifest *m, const json_t *node, int *line, int *col)
{
	if (!m)
		return -ENOENT;
	return mpos_get(m->pos, node, line, col);
}

int manifest_member_pos(const struct manifest *m, const json_t *parent, const char *key, int *line,
			int *col)
{
	if (!m || !json_is_object(parent) || !key)
		return -ENOENT;
	json_t *v = json_object_get(parent, key);
	if (v && mpos_get(m->pos, v, line, col) == 0)
		return 0;
	return mpos_get_member(m->pos, parent, key, line, col);
}

void manifest_pos_follow(const struct manifest *m, const json_t *from, const json_t *to)
{
	const char *k;
	json_t *v;
	int line, col;

	if (!m || !json_is_object(from) || !json_is_object(to) || from == to)
		return;
	if (mpos_get(m->pos, from, &line, &col) == 0)
		mpos_put(m->pos, to, line, col);
	json_object_foreach((json_t *)from, k, v)
	{
		json_t *t = json_object_get(to, k);
		if (!t)
			continue;
		if (is_singleton(v)) {
			if (t == v && mpos_get_member(m->pos, from, k, &line, &col) == 0)
				mpos_put_member(m->pos, to, k, line, col);
		} else if (json_is_object(v)) {
			manifest_pos_follow(m, v, t);
		}
	}
}

/* The message of fmt, prefixed with "source:line:column: " (or "source: " where no
 * position is known); an error without a manifest is the bare message. */
static int put_error(const struct manifest *m, int have_pos, int line, int col, struct cfs_err *err,
		     int code, const char *fmt, va_list ap) __attribute__((format(printf, 7, 0)));
static int put_error(const struct manifest *m, int have_pos, int line, int col, struct cfs_err *err,
		     int code, const char *fmt, va_list ap)
{
	char msg[CFS_ERR_MAX];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!m)
		return cfs_errorf(err, code, "%s", msg);
	const char *src = m->source ? m->source : "<input>";
	if (have_pos)
		return cfs_errorf(err, code, "%s:%d:%d: %s", src, line, col, msg);
	return cfs_errorf(err, code, "%s: %s", src, msg);
}

int manifest_errorf(const struct manifest *m, const json_t *node, struct cfs_err *err, int code,
		    const char *fmt, ...)
{
	va_list ap;
	int line = 0, col = 0;
	if (!err)
		return code;
	int have = m && manifest_pos(m, node, &line, &col) == 0;
	va_start(ap, fmt);
	int rc = put_error(m, have, line, col, err, code, fmt, ap);
	va_end(ap);
	return rc;
}

int manifest_member_errorf(const struct manifest *m, const json_t *parent, const char *key,
			   struct cfs_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	int line = 0, col = 0;
	if (!err)
		return code;
	int have = m && (manifest_member_pos(m, parent, key, &line, &col) == 0 ||
			 manifest_pos(m, parent, &line, &col) == 0);
	va_start(ap, fmt);
	int rc = put_error(m, have, line, col, err, code, fmt, ap);
	va_end(ap);
	return rc;
}

const char *manifest_type_text(json_type want)
{
	switch (want) {
	case JSON_OBJECT:
		return "must be a map";
	case JSON_ARRAY:
		return "must be a list";
	case JSON_STRING:
		return "must be a string";
	case JSON_INTEGER:
		return "must be an integer";
	case JSON_REAL:
		return "must be a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "must be true or false";
	default:
		return "must be null";
	}
}

int manifest_check_type(const struct manifest *m, const json_t *obj, const char *path,
			json_type want, struct cfs_err *err)
{
	const json_t *parent = obj;
	const char *key = path, *dot;

	while ((dot = strchr(key, '.')) != NULL) {
		parent = json_object_getn(parent, key, (size_t)(dot - key));
		if (!json_is_object(parent))
			return 0; /* an intermediate member is missing (or checked elsewhere) */
		key = dot + 1;
	}
	json_t *v = json_object_get(parent, key);
	if (!v || json_is_null(v))
		return 0;
	int ok = want == JSON_TRUE || want == JSON_FALSE ? json_is_boolean(v)
		 : want == JSON_REAL			 ? json_is_number(v)
							 : json_typeof(v) == want;
	if (ok)
		return 0;
	return manifest_member_errorf(m, parent, key, err, -EINVAL, "%s: Invalid value: %s", path,
				      manifest_type_text(want));
}
