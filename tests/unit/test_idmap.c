/* test_idmap.c - the id -> pointer map of the controllers' indexes (idmap.h): puts,
 * replaces, deletes with backward shift (runs that wrap around the table's end
 * included), growth, against a plain array as the reference; and fnv.h's string hashes against
 * FNV-1a's published values. */
#include <stdint.h>
#include <string.h>
#include "claimfs/idmap.h"
#include "claimfs/fnv.h"
#include "unit.h"

#define KEYS 1000

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_rand(void) /* xorshift64: the same sequence every run */
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Every key of the reference is found with its value, every other key is not, and the
 * count agrees. */
static void check_against(const struct idmap *m, void *const *ref, uint64_t nkeys)
{
	size_t present = 0;
	for (uint64_t k = 1; k <= nkeys; k++) {
		ck_assert_ptr_eq(idmap_get(m, k), ref[k]);
		present += ref[k] != NULL;
	}
	ck_assert_uint_eq(m->n, present);
	ck_assert(m->cap == 0 || 2 * m->n <= m->cap);
}

START_TEST(empty_map)
{
	struct idmap m;
	memset(&m, 0, sizeof(m));
	ck_assert_ptr_null(idmap_get(&m, 1));
	idmap_del(&m, 1); /* nothing to remove, no table yet */
	idmap_release(&m);
	ck_assert_uint_eq(m.cap, 0);
	ck_assert_ptr_null(idmap_get(&m, 42));
}
END_TEST

START_TEST(put_replace_delete)
{
	struct idmap m;
	int a, b;
	memset(&m, 0, sizeof(m));
	idmap_put(&m, 7, &a);
	ck_assert_ptr_eq(idmap_get(&m, 7), &a);
	idmap_put(&m, 7, &b); /* replaces, does not add */
	ck_assert_ptr_eq(idmap_get(&m, 7), &b);
	ck_assert_uint_eq(m.n, 1);
	idmap_del(&m, 8); /* absent */
	ck_assert_uint_eq(m.n, 1);
	idmap_del(&m, 7);
	ck_assert_ptr_null(idmap_get(&m, 7));
	ck_assert_uint_eq(m.n, 0);
	idmap_release(&m);
}
END_TEST

/* Random puts and deletes over a small key space, so that the table keeps long runs and
 * deletes in their middle (and across the wrap) must shift the rest back. */
START_TEST(random_against_reference)
{
	static void *ref[KEYS + 1];
	static char vals[KEYS + 1];
	struct idmap m;
	memset(&m, 0, sizeof(m));
	memset(ref, 0, sizeof(ref));
	for (int round = 0; round < 30; round++) {
		uint64_t span = round % 2 ? KEYS : 60; /* small spans: a crowded 128-slot table */
		for (int op = 0; op < 2000; op++) {
			uint64_t k = 1 + next_rand() % span;
			if (next_rand() % 3) {
				ref[k] = &vals[k];
				idmap_put(&m, k, &vals[k]);
			} else {
				ref[k] = NULL;
				idmap_del(&m, k);
			}
		}
		check_against(&m, ref, KEYS);
	}
	for (uint64_t k = 1; k <= KEYS; k++) {
		ref[k] = NULL;
		idmap_del(&m, k);
	}
	check_against(&m, ref, KEYS);
	ck_assert_uint_eq(m.n, 0);
	idmap_release(&m);
}
END_TEST

START_TEST(large_ids_grow)
{
	struct idmap m;
	static char vals[10000];
	memset(&m, 0, sizeof(m));
	for (uint64_t i = 0; i < 10000; i++)
		idmap_put(&m, (i << 40) | 1, &vals[i]); /* ids differing only in high bits */
	ck_assert_uint_eq(m.n, 10000);
	ck_assert_uint_ge(m.cap, 20000);
	for (uint64_t i = 0; i < 10000; i++)
		ck_assert_ptr_eq(idmap_get(&m, (i << 40) | 1), &vals[i]);
	ck_assert_ptr_null(idmap_get(&m, 2));
	idmap_release(&m);
}
END_TEST

START_TEST(string_hash)
{
	/* FNV-1a's published values for "" and "a" */
	ck_assert(fnv64_str("") == 0xcbf29ce484222325ULL);
	ck_assert(fnv64_str("a") == 0xaf63dc4c8601ec8cULL);
	ck_assert(fnv64_str("ns/claim-a") != fnv64_str("ns/claim-b"));
	ck_assert(fnv64_bytes(FNV64_BASIS, "a", 1) == 0xaf63dc4c8601ec8cULL);
	ck_assert(fnv64_add(fnv64_add_field(FNV64_BASIS, "a"), "bc") !=
		  fnv64_add(fnv64_add_field(FNV64_BASIS, "ab"), "c"));
	/* FNV-32a's (the pod-template-hash's): "" and "a" */
	ck_assert_uint_eq(fnv32_add(FNV32_BASIS, ""), 0x811c9dc5u);
	ck_assert_uint_eq(fnv32_add(FNV32_BASIS, "a"), 0xe40c292cu);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("idmap");
	TCase *tc = tcase_create("idmap");
	tcase_add_test(tc, empty_map);
	tcase_add_test(tc, put_replace_delete);
	tcase_add_test(tc, random_against_reference);
	tcase_add_test(tc, large_ids_grow);
	tcase_add_test(tc, string_hash);
	suite_add_tcase(s, tc);
	return s;
}
