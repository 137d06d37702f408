/* error.h - the one error convention of claimfs.
 *
 * Every fallible function returns 0 on success or a negative errno, and fills a
 * caller-supplied struct cfs_err with the human reason: lowercase, the problem first, no
 * full stop, "file:line:column: " in front where the input has a position. The FUSE
 * adapter is the only place that turns the errno into a syscall result. */
#ifndef CLAIMFS_ERROR_H
#define CLAIMFS_ERROR_H

#include <stddef.h>

#define CFS_ERR_MAX 1024

struct cfs_err {
	char msg[CFS_ERR_MAX]; /* the reason, NUL-terminated; empty when none was set */
};

/* Sets err->msg (err may be NULL) from the format and returns code, a negative errno,
 * so that callers write `return cfs_errorf(err, -EINVAL, "...")`. */
int cfs_errorf(struct cfs_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Puts "prefix: " in front of the message already in err (no-op when err is NULL). */
void cfs_err_prefix(struct cfs_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "claimfs: <message>" and aborts: an invariant of claimfs' own data is broken. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Allocation that never returns NULL: claimfs aborts on out-of-memory, as git does. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
