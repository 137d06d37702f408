/* idmap.c - the id -> pointer map of idmap.h: insertion with growth, backward-shift
 * deletion. Lookups are inline in the header. */
#include <stdlib.h>
#include "claimfs/error.h"
#include "claimfs/idmap.h"

static void grow(struct idmap *m)
{
	struct idmap old = *m;
	size_t i;
	m->cap = old.cap ? old.cap * 2 : 64;
	m->n = 0;
	m->keys = xcalloc(m->cap, sizeof(*m->keys));
	m->vals = xcalloc(m->cap, sizeof(*m->vals));
	for (i = 0; i < old.cap; i++)
		if (old.keys[i])
			idmap_put(m, old.keys[i], old.vals[i]);
	free(old.keys);
	free(old.vals);
}

void idmap_put(struct idmap *m, uint64_t k, void *v)
{
	size_t i;
	if (2 * (m->n + 1) > m->cap)
		grow(m);
	for (i = idmap_slot(k, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == k) {
			m->vals[i] = v;
			return;
		}
	m->keys[i] = k;
	m->vals[i] = v;
	m->n++;
}

void idmap_del(struct idmap *m, uint64_t k)
{
	size_t i, j, mask = m->cap - 1;
	if (!m->cap)
		return;
	for (i = idmap_slot(k, m->cap); m->keys[i] && m->keys[i] != k; i = (i + 1) & mask)
		;
	if (!m->keys[i])
		return;
	m->keys[i] = 0;
	m->n--;
	/* Backward shift: a later member of the run moves into the hole when its home slot
	 * lies at or before the hole (cyclically), so every member stays reachable from
	 * its home slot without crossing an empty one. */
	for (j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
		size_t home = idmap_slot(m->keys[j], m->cap);
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			m->keys[j] = 0;
			i = j;
		}
	}
}

void idmap_release(struct idmap *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
	m->cap = m->n = 0;
}
