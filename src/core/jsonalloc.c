/* jsonalloc.c - the allocator behind jansson (jsonalloc.h): the many small blocks of the
 * objects' JSON (about 170 per bound claim with its PV) come from 64 KiB slabs of their
 * own, one size class per slab, instead of malloc's heap. Two things follow:
 *  - a slab whose blocks are all free goes back to the kernel (MADV_DONTNEED), so the
 *    memory of trees freed when objects are made cold (store.h) is really returned; in
 *    malloc's heap the long-lived blocks allocated in between (names, index entries,
 *    compact texts) pinned nearly every page;
 *  - freeing thousands of trees leaves no millions of small chunks in malloc's bins for
 *    every later allocation to sort through (bulk applies ran at half speed).
 *
 * DESIGN. One region of address space (JA_REGION, reserved at once, backed only where
 * touched) is cut into slabs, handed out from the top or from a stack of released slabs.
 * A slab starts with its header (class, live blocks, free list, links); its blocks follow.
 * A block is found to be ours by its address (inside the region), its slab by rounding
 * down. Blocks larger than the largest class go to malloc. Each class has its own lock
 * and a list of slabs with free blocks; the slab stack has one more. A slab left empty is
 * kept while its class holds fewer than JA_KEEP_EMPTY empty ones (no flapping at a
 * boundary), else released. Each thread keeps a small cache of blocks per class, so that
 * most allocations and frees take no lock (a lock per block cost a sixth of a bulk
 * apply). Complexity: O(1) per allocation and free (amortised).
 * Locking: class locks and the slab lock are leaves (never two at once).
 * Not used in AddressSanitizer builds (it must see every block) nor under
 * CLAIMFS_JSON_MALLOC=system (valgrind runs, which must too). */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <jansson.h>
#include "claimfs/error.h"
#include "claimfs/jsonalloc.h"

/* AddressSanitizer must see every block to catch a use after free; ThreadSanitizer
 * understands the locks here, so it checks this allocator too. */
#if defined(__SANITIZE_ADDRESS__)
#define JA_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define JA_SANITIZED 1
#endif
#endif

#define JA_SLAB (64u << 10)	     /* bytes per slab, and its alignment */
#define JA_REGION ((size_t)64 << 30) /* address space reserved (not memory) */
#define JA_KEEP_EMPTY 2		     /* empty slabs a class keeps before releasing more */
#define JA_MAX 512		     /* largest block from a slab; larger ones: malloc */

/* Block sizes: 16-byte steps to 128, then wider (a block is never more than 25 % too
 * big beyond 128 bytes). */
static const uint16_t class_size[] = {16,  32,	48,  64,  80,  96,  112, 128,
				      160, 192, 224, 256, 320, 384, 448, 512};
#define JA_NCLASS (sizeof(class_size) / sizeof(class_size[0]))

struct slab {
	struct slab *prev, *next; /* in its class's list of slabs with free blocks */
	void *free;		  /* freed blocks, linked through their first word */
	uint32_t bump;		  /* offset of the first never-used block */
	uint32_t live;		  /* blocks handed out */
	uint16_t cls;		  /* class index */
	uint8_t listed;		  /* on the class's list */
};
#define JA_HEADER 64 /* sizeof(struct slab), rounded to keep blocks 16-byte aligned */

struct klass {
	pthread_spinlock_t lock; /* held for a few dozen blocks at most */
	struct slab *avail;	 /* slabs with a free block */
	unsigned empty;		 /* listed slabs with no live block */
};

static struct {
	char *base, *end; /* the region */
	char *top;	  /* never-used slabs start here */
	void **released;  /* released slabs, a stack */
	size_t nreleased, capreleased;
	pthread_spinlock_t lock; /* top and released */
	struct klass k[JA_NCLASS];
	int on; /* installed as jansson's allocator */
} ja;

/* The class of an n-byte block (n <= JA_MAX), by 16-byte step. */
static const uint8_t class_by_step[JA_MAX / 16 + 1] = {
    0,	0,  1,	2,  3,	4,  5,	6,  7,		    /* up to 128 */
    8,	8,  9,	9,  10, 10, 11, 11,		    /* up to 256 */
    12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 14, /* up to 448 */
    15, 15, 15, 15,				    /* up to 512 */
};

static inline unsigned class_of(size_t n)
{
	return class_by_step[(n + 15) / 16];
}

static struct slab *slab_new(unsigned cls)
{
	char *p = NULL;
	pthread_spin_lock(&ja.lock);
	if (ja.nreleased)
		p = ja.released[--ja.nreleased];
	else if (ja.top + JA_SLAB <= ja.end) {
		p = ja.top;
		ja.top += JA_SLAB;
	}
	pthread_spin_unlock(&ja.lock);
	if (!p)
		return NULL;
	struct slab *s = (struct slab *)p;
	memset(s, 0, sizeof(*s));
	s->bump = JA_HEADER;
	s->cls = (uint16_t)cls;
	return s;
}

static void slab_release(struct slab *s)
{
	madvise(s, JA_SLAB, MADV_DONTNEED); /* its pages go back; the range stays ours */
	pthread_spin_lock(&ja.lock);
	if (ja.nreleased == ja.capreleased) {
		ja.capreleased = ja.capreleased ? 2 * ja.capreleased : 256;
		ja.released = xrealloc(ja.released, ja.capreleased * sizeof(*ja.released));
	}
	ja.released[ja.nreleased++] = s;
	pthread_spin_unlock(&ja.lock);
}

static void list_add(struct klass *k, struct slab *s)
{
	s->prev = NULL;
	s->next = k->avail;
	if (k->avail)
		k->avail->prev = s;
	k->avail = s;
	s->listed = 1;
}

static void list_del(struct klass *k, struct slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		k->avail = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	s->listed = 0;
}

/* Takes one block from the class's slabs, k locked; NULL when the region is used up. */
static void *slab_take(struct klass *k, unsigned c)
{
	size_t size = class_size[c];
	void *p;
	struct slab *s = k->avail;
	if (!s) {
		s = slab_new(c);
		if (!s)
			return NULL;
		list_add(k, s);
	} else if (!s->live) {
		k->empty--;
	}
	if (s->free) {
		p = s->free;
		s->free = *(void **)p;
	} else {
		p = (char *)s + s->bump;
		s->bump += (uint32_t)size;
	}
	s->live++;
	if (!s->free && s->bump + size > JA_SLAB)
		list_del(k, s); /* full */
	return p;
}

/* Gives a block back to its slab, k locked; returns the slab when it is to be released. */
static struct slab *slab_give(struct klass *k, void *p)
{
	struct slab *s = (struct slab *)((uintptr_t)p & ~(uintptr_t)(JA_SLAB - 1));
	*(void **)p = s->free;
	s->free = p;
	if (!s->listed)
		list_add(k, s);
	if (--s->live == 0) {
		if (k->empty < JA_KEEP_EMPTY) {
			k->empty++;
		} else {
			list_del(k, s);
			return s;
		}
	}
	return NULL;
}

/* Per-thread caches: most allocations and frees take no lock. A cache holds up to
 * TC_MAX blocks per class, refilled and emptied TC_BATCH at a time under the class's
 * lock; blocks in a cache count as live for their slab. A thread's cache goes back to
 * the slabs when the thread ends. */
#define TC_MAX 128
#define TC_BATCH 64
struct tcache {
	void *head[JA_NCLASS]; /* blocks, linked through their first word */
	unsigned n[JA_NCLASS]; /* how many */
};
static pthread_key_t tc_key;
static __thread struct tcache *tc;

/* Moves up to count blocks of class c from the cache to their slabs. */
static void tc_flush(struct tcache *t, unsigned c, unsigned count)
{
	struct klass *k = &ja.k[c];
	struct slab *rel[TC_MAX + 1];
	unsigned nrel = 0;
	pthread_spin_lock(&k->lock);
	while (count-- && t->n[c]) {
		void *p = t->head[c];
		t->head[c] = *(void **)p;
		t->n[c]--;
		struct slab *s = slab_give(k, p);
		if (s)
			rel[nrel++] = s;
	}
	pthread_spin_unlock(&k->lock);
	while (nrel)
		slab_release(rel[--nrel]);
}

static void tc_destroy(void *arg)
{
	struct tcache *t = arg;
	for (unsigned c = 0; c < JA_NCLASS; c++)
		tc_flush(t, c, UINT32_MAX);
	free(t);
}

static inline struct tcache *tc_get(void)
{
	if (__builtin_expect(!tc, 0)) {
		tc = calloc(1, sizeof(*tc));
		if (tc)
			pthread_setspecific(tc_key, tc);
	}
	return tc;
}

static void *ja_malloc(size_t n)
{
	if (n > JA_MAX)
		return malloc(n);
	unsigned c = class_of(n);
	struct tcache *t = tc_get();
	void *p;
	if (t && t->n[c]) {
		p = t->head[c];
		t->head[c] = *(void **)p;
		t->n[c]--;
		return p;
	}
	struct klass *k = &ja.k[c];
	pthread_spin_lock(&k->lock);
	p = slab_take(k, c);
	for (unsigned i = 1; t && p && i < TC_BATCH; i++) {
		void *q = slab_take(k, c);
		if (!q)
			break;
		*(void **)q = t->head[c];
		t->head[c] = q;
		t->n[c]++;
	}
	pthread_spin_unlock(&k->lock);
	return p ? p : malloc(n); /* the region is used up: malloc serves the rest */
}

static void ja_free(void *p)
{
	if (!p)
		return;
	if ((char *)p < ja.base || (char *)p >= ja.end) {
		free(p); /* malloc's: large, or from before the allocator was installed */
		return;
	}
	struct slab *s = (struct slab *)((uintptr_t)p & ~(uintptr_t)(JA_SLAB - 1));
	unsigned c = s->cls;
	struct tcache *t = tc_get();
	if (!t) {
		tc_flush(&(struct tcache){{p}, {1}}, c, 1);
		return;
	}
	*(void **)p = t->head[c];
	t->head[c] = p;
	if (++t->n[c] > TC_MAX)
		tc_flush(t, c, TC_BATCH);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

#ifdef JA_SANITIZED
static const int sanitized = 1;
#else
static const int sanitized = 0;
#endif

static void install(void)
{
	if (sanitized)
		return;
	const char *env = getenv("CLAIMFS_JSON_MALLOC");
	if (env && strcmp(env, "system") == 0)
		return;
	void *r = mmap(NULL, JA_REGION + JA_SLAB, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED)
		return; /* no address space to spare (ulimit -v): malloc it is */
	uintptr_t a = ((uintptr_t)r + JA_SLAB - 1) & ~(uintptr_t)(JA_SLAB - 1);
	ja.base = ja.top = (char *)a;
	ja.end = ja.base + JA_REGION;
	for (size_t i = 0; i < JA_NCLASS; i++)
		pthread_spin_init(&ja.k[i].lock, PTHREAD_PROCESS_PRIVATE);
	pthread_spin_init(&ja.lock, PTHREAD_PROCESS_PRIVATE);
	if (pthread_key_create(&tc_key, tc_destroy) != 0)
		return;
	json_set_alloc_funcs(ja_malloc, ja_free);
	ja.on = 1;
}

void jsonalloc_free(void *p)
{
	if (ja.on)
		ja_free(p);
	else
		free(p);
}

void jsonalloc_init(void)
{
	pthread_once(&once, install);
}

int jsonalloc_active(void)
{
	return ja.on;
}

size_t jsonalloc_resident(void)
{
	size_t slabs = 0;
	if (!ja.on)
		return 0;
	pthread_spin_lock(&ja.lock);
	slabs = (size_t)(ja.top - ja.base) / JA_SLAB - ja.nreleased;
	pthread_spin_unlock(&ja.lock);
	return slabs * JA_SLAB;
}
