/* pos.c - where each decoded node came from: an open-addressing hash from json_t pointer
 * to (line, column), and the two public readers of it, manifest_pos and manifest_errorf.
 *
 * Linear probing with backward-shift deletion (no tombstones), so lookups stay short
 * after nodes are forgotten; the table doubles at half load. A node is keyed by its
 * address, which is why the decoder forgets a node before it frees it. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/manifest.h"
#include "manifest_internal.h"

struct pos_ent {
	const json_t *node; /* NULL: free slot */
	int line;	    /* 1-based */
	int col;	    /* 1-based, in characters */
};

struct manifest_pos {
	struct pos_ent *tab; /* cap slots */
	size_t cap;	     /* a power of two */
	size_t n;	     /* slots in use */
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

int manifest_pos(const struct manifest *m, const json_t *node, int *line, int *col)
{
	if (!m)
		return -ENOENT;
	return mpos_get(m->pos, node, line, col);
}

int manifest_errorf(const struct manifest *m, const json_t *node, struct cfs_err *err, int code,
		    const char *fmt, ...)
{
	char msg[CFS_ERR_MAX];
	va_list ap;
	int line, col;

	if (!err)
		return code;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!m)
		return cfs_errorf(err, code, "%s", msg);
	const char *src = m->source ? m->source : "<input>";
	if (manifest_pos(m, node, &line, &col) == 0)
		return cfs_errorf(err, code, "%s:%d:%d: %s", src, line, col, msg);
	return cfs_errorf(err, code, "%s: %s", src, msg);
}
