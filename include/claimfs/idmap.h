/* idmap.h - a map from object id (uint64_t, never 0) to pointer: open addressing with
 * linear probing and backward-shift deletion, so that a removal leaves no tombstone and a
 * lookup stops at the first empty slot. The controllers' indexes key their entries by
 * store id with it (their string maps hash with fnv.h).
 *
 * A zeroed struct idmap is an empty map. The map owns its two arrays, never the values.
 * Cost: O(1) expected per get, put and del (load factor at most 1/2; put doubles the
 * table when it would pass it). No locking: callers hold the cluster lock. */
#ifndef CLAIMFS_IDMAP_H
#define CLAIMFS_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap {
	uint64_t *keys; /* 0: an empty slot */
	void **vals;
	size_t cap, n; /* cap: 0 or a power of two */
};

static inline size_t idmap_slot(uint64_t k, size_t cap)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k & (cap - 1);
}

/* The value stored under k, or NULL. Inline: the indexes look entries up on every
 * object change. */
static inline void *idmap_get(const struct idmap *m, uint64_t k)
{
	size_t i;
	if (!m->cap)
		return NULL;
	for (i = idmap_slot(k, m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1))
		if (m->keys[i] == k)
			return m->vals[i];
	return NULL;
}

void idmap_put(struct idmap *m, uint64_t k, void *v); /* adds or replaces; k != 0 */
void idmap_del(struct idmap *m, uint64_t k);	      /* no-op when absent */
void idmap_release(struct idmap *m);		      /* frees the arrays; empty again */

#endif
