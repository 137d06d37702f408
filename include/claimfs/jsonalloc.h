/* jsonalloc.h - jansson's allocator: the objects' JSON in slabs of its own, returned to
 * the kernel when empty (design in jsonalloc.c). */
#ifndef CLAIMFS_JSONALLOC_H
#define CLAIMFS_JSONALLOC_H

#include <stddef.h>

/* Installs it as jansson's allocator, once per process (later calls do nothing); jansson
 * values allocated before are still freed right. Not in sanitizer builds, nor when the
 * environment has CLAIMFS_JSON_MALLOC=system. Thread-safe. */
void jsonalloc_init(void);
/* Frees what jansson allocated and hands to its caller (json_dumps' text): with this
 * allocator installed free() must not see it. NULL is fine. */
void jsonalloc_free(void *p);
/* Is it installed? */
int jsonalloc_active(void);
/* Bytes of slabs in use (touched and not released). */
size_t jsonalloc_resident(void);

#endif
