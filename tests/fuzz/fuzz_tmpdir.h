/* fuzz_tmpdir.h - the private state directory of a fuzz target: on a tmpfs when there is
 * one ($TMPDIR, else /dev/shm, else /tmp), so that its many small writes stay off the
 * disk. */
#ifndef CLAIMFS_FUZZ_TMPDIR_H
#define CLAIMFS_FUZZ_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Creates <base>/<prefix>.XXXXXX into dir; 0, or -1 when mkdtemp fails. */
static inline int fuzz_tmpdir(char *dir, size_t len, const char *prefix)
{
	const char *base = getenv("TMPDIR");
	if (!base || !*base)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dir, len, "%s/%s.XXXXXX", base, prefix);
	return mkdtemp(dir) ? 0 : -1;
}

#endif
