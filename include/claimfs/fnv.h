/* fnv.h - FNV-1a, the one string hash of claimfs: 64 bits for the in-memory tables
 * (store, indexes, event logs, positions, inode map) and 32 bits where claimfs derives a
 * value as Kubernetes does (the pod-template-hash's FNV-32a, the Service IP's spread).
 * Each step is h = (h ^ byte) * prime; the _add forms go on from a running h, so a key
 * of several strings is hashed without joining them. */
#ifndef CLAIMFS_FNV_H
#define CLAIMFS_FNV_H

#include <stddef.h>
#include <stdint.h>

#define FNV64_BASIS 14695981039346656037ULL
#define FNV64_PRIME 1099511628211ULL
#define FNV32_BASIS 2166136261u
#define FNV32_PRIME 16777619u

static inline uint64_t fnv64_add(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * FNV64_PRIME;
	return h;
}

static inline uint64_t fnv64_bytes(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;
	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * FNV64_PRIME;
	return h;
}

/* s and then a separator byte 0xff (which no UTF-8 text holds), for keys of several
 * strings: ("a", "bc") and ("ab", "c") hash apart. */
static inline uint64_t fnv64_add_field(uint64_t h, const char *s)
{
	return (fnv64_add(h, s) ^ 0xff) * FNV64_PRIME;
}

/* FNV-1a (64-bit) of a NUL-terminated string. */
static inline uint64_t fnv64_str(const char *s)
{
	return fnv64_add(FNV64_BASIS, s);
}

static inline uint32_t fnv32_add(uint32_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * FNV32_PRIME;
	return h;
}

#endif
