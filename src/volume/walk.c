/* walk.c - the two whole-tree walks of a volume: the usage count at first use (du -s) and
 * the removal of a trashed directory (rm -rf). Both go down with openat(O_NOFOLLOW) from
 * the directory they are in and come back up through "..", checked against the inode they
 * left, so a symlink is never followed and a tree of any depth costs two descriptors.
 * Nothing else changes these trees while they are walked (a volume is counted before
 * anyone uses it; the trash is ours).
 * Complexity: O(entries) system calls, O(depth) memory, O(hardlinked files) for the set
 * that counts each of them once. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "volume_internal.h"

struct frame {
	char *name; /* the directory's name in its parent; owned */
	long pos;   /* the parent's stream position after that entry */
	dev_t dev;  /* the parent's identity, checked when coming back */
	ino_t ino;
};

struct walk {
	DIR *d;		  /* the directory being read */
	struct frame *st; /* the way down */
	size_t n, cap;
};

/* Open-addressing set of inode numbers (hardlinked files seen). */
struct inoset {
	uint64_t *v; /* 0: empty slot (inode 0 does not exist) */
	size_t cap, n;
};

static int inoset_add(struct inoset *s, uint64_t ino) /* 1 when new */
{
	size_t i;
	if ((s->n + 1) * 2 > s->cap) {
		struct inoset g = {xcalloc(s->cap ? s->cap * 2 : 64, sizeof(uint64_t)), 0, 0};
		g.cap = s->cap ? s->cap * 2 : 64;
		for (i = 0; i < s->cap; i++)
			if (s->v[i])
				inoset_add(&g, s->v[i]);
		free(s->v);
		*s = g;
	}
	for (i = (ino * 0x9e3779b97f4a7c15ULL) & (s->cap - 1); s->v[i]; i = (i + 1) & (s->cap - 1))
		if (s->v[i] == ino)
			return 0;
	s->v[i] = ino;
	s->n++;
	return 1;
}

static int open_dir(int at, const char *name)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int walk_start(struct walk *w, int at, const char *name)
{
	memset(w, 0, sizeof(*w));
	int fd = open_dir(at, name);
	if (fd < 0)
		return fd;
	w->d = fdopendir(fd);
	if (!w->d) {
		int e = -errno;
		close(fd);
		return e;
	}
	return 0;
}

static void walk_end(struct walk *w)
{
	size_t i;
	if (w->d)
		closedir(w->d);
	for (i = 0; i < w->n; i++)
		free(w->st[i].name);
	free(w->st);
	memset(w, 0, sizeof(*w));
}

/* Goes into the subdirectory name of the current one. */
static int walk_down(struct walk *w, const char *name)
{
	struct stat st;
	int fd = open_dir(dirfd(w->d), name);
	if (fd < 0)
		return fd;
	if (fstat(dirfd(w->d), &st) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->st = xrealloc(w->st, w->cap * sizeof(*w->st));
	}
	w->st[w->n].name = xstrdup(name);
	w->st[w->n].pos = telldir(w->d);
	w->st[w->n].dev = st.st_dev;
	w->st[w->n].ino = st.st_ino;
	w->n++;
	closedir(w->d);
	w->d = d;
	return 0;
}

/* Comes back to the parent, after the entry it went down into; *child gets that entry's
 * name (owned by the caller). -EAGAIN when ".." is not the directory it left. */
static int walk_up(struct walk *w, char **child)
{
	struct frame f = w->st[--w->n];
	struct stat st;
	int fd = open_dir(dirfd(w->d), "..");
	*child = f.name;
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || st.st_dev != f.dev || st.st_ino != f.ino) {
		close(fd);
		return -EAGAIN;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = -errno;
		close(fd);
		return e;
	}
	closedir(w->d);
	w->d = d;
	seekdir(w->d, f.pos);
	return 0;
}

static int is_dot(const char *n)
{
	return n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2]));
}

int walk_usage(int top, int64_t *bytes)
{
	struct walk w;
	struct inoset seen = {NULL, 0, 0};
	struct stat st;
	struct dirent *de;
	int64_t total = 0;
	int rc = walk_start(&w, top, ".");
	if (rc < 0)
		return rc;
	if (fstat(dirfd(w.d), &st) == 0)
		total += vol_blocks_bytes(&st);
	for (;;) {
		errno = 0;
		de = readdir(w.d);
		if (!de) {
			char *child;
			if (errno) {
				rc = -errno;
				break;
			}
			if (!w.n)
				break;
			rc = walk_up(&w, &child);
			free(child);
			if (rc < 0)
				break;
			continue;
		}
		if (is_dot(de->d_name))
			continue;
		if (fstatat(dirfd(w.d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone meanwhile */
		if (S_ISDIR(st.st_mode)) {
			total += vol_blocks_bytes(&st);
			rc = walk_down(&w, de->d_name);
			if (rc < 0)
				break;
			continue;
		}
		if (st.st_nlink > 1 && !inoset_add(&seen, (uint64_t)st.st_ino))
			continue;
		total += vol_blocks_bytes(&st);
	}
	walk_end(&w);
	free(seen.v);
	if (rc == 0)
		*bytes = total;
	return rc;
}

int walk_remove(int top, const char *name, const int *stop)
{
	struct walk w;
	struct dirent *de;
	int rc = 0, last = 0;
	if (unlinkat(top, name, 0) == 0)
		return 0; /* not a directory */
	if (errno != EISDIR && errno != EPERM)
		return errno == ENOENT ? 0 : -errno;
	rc = walk_start(&w, top, name);
	if (rc < 0)
		return rc;
	for (;;) {
		if (__atomic_load_n(stop, __ATOMIC_RELAXED)) {
			rc = -EINTR;
			break;
		}
		errno = 0;
		de = readdir(w.d);
		if (!de) {
			char *child;
			if (errno) {
				rc = -errno;
				break;
			}
			if (!w.n)
				break;
			rc = walk_up(&w, &child);
			if (rc == 0 && unlinkat(dirfd(w.d), child, AT_REMOVEDIR) < 0)
				last = -errno;
			free(child);
			if (rc < 0)
				break;
			continue;
		}
		if (is_dot(de->d_name))
			continue;
		if (unlinkat(dirfd(w.d), de->d_name, 0) == 0 || errno == ENOENT)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			last = -errno;
			continue;
		}
		int e = walk_down(&w, de->d_name);
		if (e < 0)
			last = e;
	}
	walk_end(&w);
	if (rc == 0 && unlinkat(top, name, AT_REMOVEDIR) < 0)
		rc = -errno;
	return rc < 0 ? rc : last;
}
