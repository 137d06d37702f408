/* jsonpack.h - compact JSON text (jsontext.h) packed smaller for the store's cold objects:
 * the sequences Kubernetes storage objects repeat word for word become one byte each
 * (design in jsonpack.c). In memory only: the dictionary may change between versions.
 * Thread-safe. */
#ifndef CLAIMFS_JSONPACK_H
#define CLAIMFS_JSONPACK_H

#include <stddef.h>

/* Packs compact JSON text[0..n) in place (it never grows) and returns the packed length.
 * The text must hold no byte below 0x20 (compact JSON never does). */
size_t jsonpack_pack(char *text, size_t n);
/* The length packed[0..n) unpacks to. */
size_t jsonpack_unpacked_len(const char *packed, size_t n);
/* Unpacks packed[0..n) into out, which has room for jsonpack_unpacked_len bytes. */
void jsonpack_unpack(const char *packed, size_t n, char *out);

#endif
