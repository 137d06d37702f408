/* test_volume.c - the data of volumes (volume.h) without a mount: capacity accounting
 * (writes up to ENOSPC, short writes, truncate, unlink, hardlinks once, open unlinked
 * files, directories, expansion, the usage walk at first use against an independent du),
 * the path resolver (names, subPath, symlinks never followed, EXDEV between volumes, a
 * rename race swapping a directory for a symlink), reclaim (delete, scrub, the trash
 * emptied at start, dead incarnations answer ESTALE), xattrs; and, through a real cluster,
 * the tree's data entries and the controllers' reclaim hooks. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/xattr.h>
#include <time.h>
#include "unit.h"
#include "fixture.h"
#include "claimfs/volume.h"
#include "claimfs/tree.h"

#define KiB 1024LL
#define MiB (1024LL * 1024)

static char tmp[64];
static char state[128];
static struct volumes *vs;
static struct cfs_err err;

static void setup(void)
{
	strcpy(tmp, "/tmp/claimfs-vol.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(state, sizeof(state), "%s/state", tmp);
	ck_assert_int_eq(mkdir(state, 0700), 0);
	ck_assert_int_eq(volumes_open(state, &vs, &err), 0);
}

static void teardown(void)
{
	char cmd[128];
	volumes_close(vs);
	vs = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	ck_assert_int_eq(system(cmd), 0);
}

/* ---- helpers ---- */

static char *vpath(const char *name)
{
	static char buf[256];
	snprintf(buf, sizeof(buf), "%s/volumes/%s", state, name);
	return buf;
}

/* An independent du -s -B1: nftw without following symlinks, hardlinks once. */
static int64_t du_total;
static ino_t du_seen[4096];
static size_t du_nseen;

static int du_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	size_t i;
	(void)path, (void)flag, (void)f;
	if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
		for (i = 0; i < du_nseen; i++)
			if (du_seen[i] == st->st_ino)
				return 0;
		du_seen[du_nseen++] = st->st_ino;
	}
	du_total += (int64_t)st->st_blocks * 512;
	return 0;
}

static int64_t du(const char *dir)
{
	du_total = 0;
	du_nseen = 0;
	ck_assert_int_eq(nftw(dir, du_one, 16, FTW_PHYS), 0);
	return du_total;
}

static struct volume *get(const char *name, int64_t cap)
{
	struct volume *v = NULL;
	volumes_set_capacity(vs, name, cap);
	int rc = volume_get(vs, name, &v, &err);
	ck_assert_msg(rc == 0, "volume_get %s: %d %s", name, rc, err.msg);
	return v;
}

static struct vnode *root_of(struct volume *v)
{
	struct vnode *r = NULL;
	struct stat st;
	int rc = volume_root(v, NULL, NULL, &r, &st, &err);
	ck_assert_msg(rc == 0, "volume_root: %d %s", rc, err.msg);
	ck_assert(S_ISDIR(st.st_mode));
	return r;
}

static struct vnode *create(struct vnode *dir, const char *name, int *fd)
{
	struct vnode *n = NULL;
	struct stat st;
	int rc = vnode_create(dir, name, 0644, O_RDWR, NULL, &n, &st, fd);
	ck_assert_msg(rc == 0, "create %s: %d", name, rc);
	ck_assert(S_ISREG(st.st_mode));
	return n;
}

/* Writes size bytes at off in chunks; returns the total written and *last the last rc. */
static int64_t fill(struct vnode *n, int fd, off_t off, int64_t size, ssize_t *last)
{
	static char buf[256 * 1024];
	int64_t done = 0;
	memset(buf, 'x', sizeof(buf));
	*last = 0;
	while (done < size) {
		size_t chunk =
		    size - done > (int64_t)sizeof(buf) ? sizeof(buf) : (size_t)(size - done);
		ssize_t w = vnode_pwrite(n, fd, buf, chunk, off + done);
		*last = w;
		if (w <= 0)
			break;
		done += w;
		if ((size_t)w < chunk) {
			*last = vnode_pwrite(n, fd, buf, chunk - (size_t)w, off + done);
			break;
		}
	}
	return done;
}

/* ---- capacity ---- */

START_TEST(test_write_until_enospc)
{
	struct volume *v = get("pv-a", 1 * MiB);
	struct vnode *r = root_of(v);
	int fd;
	ssize_t last;
	ck_assert_int_eq(volume_used(v), du(vpath("pv-a")));
	struct vnode *f = create(r, "big", &fd);
	int64_t n = fill(f, fd, 0, 4 * MiB, &last);
	ck_assert_int_eq(last, -ENOSPC);
	ck_assert_msg(n > 900 * KiB && n <= 1 * MiB, "wrote %lld", (long long)n);
	ck_assert_int_le(volume_used(v), volume_capacity(v));
	ck_assert_int_eq(volume_used(v), du(vpath("pv-a")));
	/* df: nothing left */
	struct statvfs sv;
	volume_statfs(v, &sv);
	ck_assert_int_eq((int64_t)sv.f_blocks * (int64_t)sv.f_frsize, 1 * MiB);
	ck_assert_int_eq(sv.f_bavail, 0);
	/* an overwrite of allocated blocks still works when full */
	ck_assert_int_eq(vnode_pwrite(f, fd, "yyyy", 4, 100), 4);
	/* truncating gives the space back */
	struct vnode_attr a = {.size = 100 * KiB};
	struct stat st;
	ck_assert_int_eq(vnode_setattr(f, fd, &a, VNODE_SET_SIZE, &st), 0);
	ck_assert_int_eq(st.st_size, 100 * KiB);
	ck_assert_int_eq(volume_used(v), du(vpath("pv-a")));
	volume_statfs(v, &sv);
	ck_assert_int_eq((int64_t)sv.f_bavail * (int64_t)sv.f_frsize, 1 * MiB - du(vpath("pv-a")));
	/* growing by truncate is a hole: free */
	int64_t before = volume_used(v);
	a.size = 100 * MiB;
	ck_assert_int_eq(vnode_setattr(f, fd, &a, VNODE_SET_SIZE, &st), 0);
	ck_assert_int_eq(volume_used(v), before);
	/* filling a hole is charged, and refused when it does not fit */
	ck_assert_int_eq(vnode_pwrite(f, fd, "h", 1, 50 * MiB), 1);
	ck_assert_int_eq(volume_used(v), du(vpath("pv-a")));
	n = fill(f, fd, 10 * MiB, 2 * MiB, &last);
	ck_assert_int_eq(last, -ENOSPC);
	ck_assert_int_eq(volume_used(v), du(vpath("pv-a")));
	vnode_close(f, fd);
	vnode_put(f);
	/* the descriptor cache keeps no unlinked file (it would keep its blocks on the disk) */
	size_t fds = volumes_fds(vs);
	ck_assert_int_eq(vnode_unlink(r, "big"), 0);
	ck_assert_int_eq(volume_used(v), du(vpath("pv-a")));
	ck_assert_int_eq(volumes_fds(vs), fds - 1);
	vnode_put(r);
	volume_put(v);
}
END_TEST

START_TEST(test_expansion_at_once)
{
	struct volume *v = get("pv-grow", 256 * KiB);
	struct vnode *r = root_of(v);
	int fd;
	ssize_t last;
	struct vnode *f = create(r, "f", &fd);
	int64_t n = fill(f, fd, 0, 1 * MiB, &last);
	ck_assert_int_eq(last, -ENOSPC);
	ck_assert_int_lt(n, 256 * KiB);
	volumes_set_capacity(vs, "pv-grow", 2 * MiB);
	ck_assert_int_eq(volume_capacity(v), 2 * MiB);
	int64_t m = fill(f, fd, n, 1 * MiB, &last);
	ck_assert_int_eq(m, 1 * MiB);
	ck_assert_int_eq(volume_used(v), du(vpath("pv-grow")));
	vnode_close(f, fd);
	vnode_put(f);
	vnode_put(r);
	volume_put(v);
}
END_TEST

START_TEST(test_usage_walk_at_first_use)
{
	char p[512];
	int i;
	/* A volume filled behind our back before first use (a remount). */
	volumes_set_capacity(vs, "pv-w", 100 * MiB);
	ck_assert_int_eq(mkdir(vpath("pv-w"), 0755), 0);
	snprintf(p, sizeof(p),
		 "cd '%s' && mkdir -p a/b/c && head -c 300000 /dev/zero > a/b/c/f && "
		 "ln a/b/c/f a/hard && ln -s /etc a/esc && head -c 5000 /dev/zero > top && "
		 "truncate -s 10M sparse",
		 vpath("pv-w"));
	ck_assert_int_eq(system(p), 0);
	for (i = 0; i < 50; i++) {
		snprintf(p, sizeof(p), "%s/a/n%02d", vpath("pv-w"), i);
		FILE *f = fopen(p, "w");
		fputs("x", f);
		fclose(f);
	}
	struct volume *v = get("pv-w", 100 * MiB);
	ck_assert_int_eq(volume_used(v), du(vpath("pv-w")));
	volume_put(v);
}
END_TEST

START_TEST(test_hardlinks_counted_once)
{
	struct volume *v = get("pv-h", 10 * MiB);
	struct vnode *r = root_of(v), *d = NULL;
	struct stat st;
	int fd;
	ssize_t last;
	struct vnode *f = create(r, "f", &fd);
	fill(f, fd, 0, 1 * MiB, &last);
	vnode_close(f, fd);
	int64_t used = volume_used(v);
	ck_assert_int_eq(vnode_mkdir(r, "d", 0755, NULL, &d, &st), 0);
	int64_t with_dir = volume_used(v);
	ck_assert_int_ge(with_dir - used, 4096);
	ck_assert_int_eq(vnode_link(f, d, "g", &st), 0);
	ck_assert_int_eq(st.st_nlink, 2);
	ck_assert_int_eq(volume_used(v), du(vpath("pv-h")));
	ck_assert_int_eq(vnode_unlink(r, "f"), 0);
	ck_assert_int_eq(volume_used(v), du(vpath("pv-h")));
	ck_assert_int_ge(volume_used(v), with_dir);
	ck_assert_int_eq(vnode_unlink(d, "g"), 0);
	ck_assert_int_eq(volume_used(v), du(vpath("pv-h")));
	ck_assert_int_eq(vnode_rmdir(r, "d"), 0);
	ck_assert_int_eq(volume_used(v), du(vpath("pv-h")));
	vnode_put(d);
	vnode_put(f);
	vnode_put(r);
	volume_put(v);
}
END_TEST

START_TEST(test_unlinked_open_file)
{
	struct volume *v = get("pv-o", 10 * MiB);
	struct vnode *r = root_of(v);
	int fd;
	ssize_t last;
	int64_t empty = volume_used(v);
	struct vnode *f = create(r, "tmp", &fd);
	ck_assert_int_eq(vnode_unlink(r, "tmp"), 0);
	/* still open: its blocks count, as df counts them, until the last close */
	fill(f, fd, 0, 2 * MiB, &last);
	ck_assert_int_ge(volume_used(v), empty + 2 * MiB);
	/* and the capacity holds for it too */
	fill(f, fd, 2 * MiB, 20 * MiB, &last);
	ck_assert_int_eq(last, -ENOSPC);
	vnode_close(f, fd);
	ck_assert_int_eq(volume_used(v), empty);
	vnode_put(f);
	vnode_put(r);
	volume_put(v);
}
END_TEST

START_TEST(test_rename_over_releases)
{
	struct volume *v = get("pv-r", 10 * MiB);
	struct vnode *r = root_of(v);
	int fd;
	ssize_t last;
	struct vnode *a = create(r, "a", &fd);
	fill(a, fd, 0, 1 * MiB, &last);
	vnode_close(a, fd);
	struct vnode *b = create(r, "b", &fd);
	fill(b, fd, 0, 2 * MiB, &last);
	vnode_close(b, fd);
	ck_assert_int_eq(vnode_rename(r, "a", r, "b", 0), 0);
	ck_assert_int_eq(volume_used(v), du(vpath("pv-r")));
	ck_assert_int_lt(volume_used(v), 2 * MiB);
	ck_assert_int_eq(vnode_rename(r, "b", r, "b", 0), 0);
	ck_assert_int_eq(vnode_rename(r, "nope", r, "x", 0), -ENOENT);
	vnode_put(a);
	vnode_put(b);
	vnode_put(r);
	volume_put(v);
}
END_TEST

START_TEST(test_mkdir_needs_a_block)
{
	struct volume *v = get("pv-tiny", 8 * KiB);
	struct vnode *r = root_of(v), *d = NULL, *l = NULL;
	struct stat st;
	char longt[200];
	ck_assert_int_eq(vnode_mkdir(r, "d1", 0755, NULL, &d, &st), 0);
	vnode_put(d);
	ck_assert_int_eq(vnode_mkdir(r, "d2", 0755, NULL, &d, &st), -ENOSPC);
	/* short symlinks live in the inode; long ones need a block */
	ck_assert_int_eq(vnode_symlink(r, "s", "target", NULL, &l, &st), 0);
	vnode_put(l);
	memset(longt, 'a', sizeof(longt) - 1);
	longt[sizeof(longt) - 1] = '\0';
	ck_assert_int_eq(vnode_symlink(r, "s2", longt, NULL, &l, &st), -ENOSPC);
	ck_assert_int_le(volume_used(v), volume_capacity(v));
	vnode_put(r);
	volume_put(v);
}
END_TEST

/* ---- path rules ---- */

START_TEST(test_names_stay_inside)
{
	struct volume *v = get("pv-n", 10 * MiB);
	struct vnode *r = root_of(v), *n = NULL;
	struct stat st;
	int fd;
	ck_assert_int_eq(vnode_lookup(r, "..", &n, &st), -ENOENT);
	ck_assert_int_eq(vnode_lookup(r, ".", &n, &st), -ENOENT);
	ck_assert_int_eq(vnode_lookup(r, "", &n, &st), -ENOENT);
	ck_assert_int_eq(vnode_lookup(r, "../../etc", &n, &st), -ENOENT);
	ck_assert_int_eq(vnode_lookup(r, "/etc", &n, &st), -ENOENT);
	ck_assert_int_eq(vnode_create(r, "../escape", 0644, O_RDWR, NULL, &n, &st, &fd), -EINVAL);
	ck_assert_int_eq(vnode_mkdir(r, "..", 0755, NULL, &n, &st), -EINVAL);
	ck_assert_int_eq(vnode_mkdir(r, "a/b", 0755, NULL, &n, &st), -EINVAL);
	ck_assert_int_eq(vnode_unlink(r, "../volumes"), -ENOENT);
	ck_assert_int_eq(vnode_rename(r, "x", r, "../x", 0), -EINVAL);
	char longname[300];
	memset(longname, 'n', 299);
	longname[299] = '\0';
	ck_assert_int_eq(vnode_mkdir(r, longname, 0755, NULL, &n, &st), -ENAMETOOLONG);
	/* nothing appeared next to the volume */
	char p[256];
	snprintf(p, sizeof(p), "%s/volumes/escape", state);
	ck_assert_int_ne(access(p, F_OK), 0);
	vnode_put(r);
	volume_put(v);
}
END_TEST

START_TEST(test_symlinks_never_followed)
{
	struct volume *v = get("pv-s", 10 * MiB);
	struct vnode *r = root_of(v), *l = NULL, *x = NULL;
	struct stat st;
	char buf[256];
	int fd;
	ck_assert_int_eq(vnode_symlink(r, "etc", "/etc", NULL, &l, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	ck_assert_int_eq(vnode_readlink(l, buf, sizeof(buf)), 4);
	ck_assert_str_eq(buf, "/etc");
	/* the daemon never resolves it: no open, no lookup through it */
	ck_assert_int_eq(vnode_open(l, O_RDONLY, &fd), -ELOOP);
	ck_assert_int_eq(vnode_lookup(l, "passwd", &x, &st), -ENOTDIR);
	vnode_put(l);
	ck_assert_int_eq(vnode_lookup(r, "etc", &l, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	vnode_put(l);
	ck_assert_int_eq(vnode_symlink(r, "up", "../../../../..", NULL, &l, &st), 0);
	ck_assert_int_eq(vnode_lookup(l, "etc", &x, &st), -ENOTDIR);
	/* creating through a symlink's name makes nothing outside */
	ck_assert_int_eq(vnode_create(r, "up", 0644, O_RDWR, NULL, &x, &st, &fd), -EEXIST);
	ck_assert_int_eq(vnode_mkdir(r, "up", 0755, NULL, &x, &st), -EEXIST);
	/* attributes of the link are its own; setattr on the link never reaches /etc */
	struct stat etc_before, etc_after;
	ck_assert_int_eq(stat("/etc", &etc_before), 0);
	struct vnode_attr a = {.mode = 0700};
	ck_assert_int_ne(vnode_setattr(l, -1, &a, VNODE_SET_MODE, &st), 0);
	ck_assert_int_eq(stat("/etc", &etc_after), 0);
	ck_assert_int_eq(etc_before.st_mode, etc_after.st_mode);
	vnode_put(l);
	vnode_put(r);
	volume_put(v);
}
END_TEST

START_TEST(test_subpath_rules)
{
	struct volume *v = get("pv-sub", 10 * MiB);
	struct vnode *r = root_of(v), *s = NULL, *l = NULL, *f;
	struct stat st;
	int fd;
	ck_assert_int_eq(volume_root(v, "a/b/c", NULL, &s, &st, &err), 0);
	ck_assert(S_ISDIR(st.st_mode));
	char p[512];
	snprintf(p, sizeof(p), "%s/a/b/c", vpath("pv-sub"));
	ck_assert_int_eq(access(p, F_OK), 0);
	ck_assert_int_eq(volume_used(v), du(vpath("pv-sub")));
	vnode_put(s);
	ck_assert_int_eq(volume_root(v, "./a//b/", NULL, &s, &st, &err), 0);
	vnode_put(s);
	ck_assert_int_eq(volume_root(v, "../state", NULL, &s, &st, &err), -EINVAL);
	ck_assert_int_eq(volume_root(v, "a/../../x", NULL, &s, &st, &err), -EINVAL);
	ck_assert_int_eq(volume_root(v, "/etc", NULL, &s, &st, &err), -EINVAL);
	ck_assert_int_eq(vnode_symlink(r, "link", "/etc", NULL, &l, &st), 0);
	vnode_put(l);
	ck_assert_int_eq(volume_root(v, "link", NULL, &s, &st, &err), -ELOOP);
	ck_assert_int_eq(volume_root(v, "link/ssl", NULL, &s, &st, &err), -ELOOP);
	f = create(r, "file", &fd);
	vnode_close(f, fd);
	vnode_put(f);
	ck_assert_int_eq(volume_root(v, "file", NULL, &s, &st, &err), -ENOTDIR);
	vnode_put(r);
	volume_put(v);
}
END_TEST

START_TEST(test_exdev_between_volumes)
{
	struct volume *a = get("pv-x1", 10 * MiB), *b = get("pv-x2", 10 * MiB);
	struct vnode *ra = root_of(a), *rb = root_of(b), *n = NULL;
	struct stat st;
	int fd;
	struct vnode *f = create(ra, "f", &fd);
	vnode_close(f, fd);
	ck_assert_int_eq(vnode_link(f, rb, "g", &st), -EXDEV);
	ck_assert_int_eq(vnode_rename(ra, "f", rb, "g", 0), -EXDEV);
	ck_assert_int_eq(vnode_lookup(rb, "f", &n, &st), -ENOENT);
	ck_assert_int_eq(vnode_lookup(ra, "f", &n, &st), 0);
	vnode_put(n);
	vnode_put(f);
	vnode_put(ra);
	vnode_put(rb);
	volume_put(a);
	volume_put(b);
}
END_TEST

/* A loop swaps a directory "d" for a symlink "d" -> outside while another loop opens
 * d/secret through the resolver: it only ever opens the volume's own file. */
struct race {
	const char *vdir;
	const char *outside;
	int stop; /* atomic: set by the test, read by the swapper */
};

static void *swapper(void *arg)
{
	struct race *r = arg;
	char d[512], d2[512], l[512];
	snprintf(d, sizeof(d), "%s/d", r->vdir);
	snprintf(d2, sizeof(d2), "%s/d.real", r->vdir);
	snprintf(l, sizeof(l), "%s/d.link", r->vdir);
	for (unsigned n = 1; !__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE); n++) {
		(void)!renameat2(AT_FDCWD, l, AT_FDCWD, d, RENAME_EXCHANGE);
		(void)!renameat2(AT_FDCWD, d2, AT_FDCWD, d, RENAME_EXCHANGE);
		(void)!renameat2(AT_FDCWD, d, AT_FDCWD, d2, RENAME_EXCHANGE);
		(void)!renameat2(AT_FDCWD, d, AT_FDCWD, l, RENAME_EXCHANGE);
		/* "d" is the real directory only from here to the next loop: on a busy machine
		 * the opener could miss every such window, so now and then the swapper rests
		 * in it (the opener must also succeed, not only never escape) */
		if (n % 16 == 0)
			usleep(50);
	}
	return NULL;
}

START_TEST(test_rename_race_stays_inside)
{
	struct volume *v = get("pv-race", 10 * MiB);
	struct vnode *r = root_of(v);
	char p[1100], outside[512];
	struct stat out_st, st;
	struct race rc = {vpath("pv-race"), outside, 0};
	pthread_t t;
	int i, opened = 0, escaped = 0;
	char vdir[256];
	snprintf(vdir, sizeof(vdir), "%s", vpath("pv-race"));
	rc.vdir = vdir;
	snprintf(outside, sizeof(outside), "%s/outside", tmp);
	ck_assert_int_eq(mkdir(outside, 0755), 0);
	snprintf(p, sizeof(p), "%s/secret", outside);
	FILE *fo = fopen(p, "w");
	fputs("host secret\n", fo);
	fclose(fo);
	ck_assert_int_eq(stat(p, &out_st), 0);
	snprintf(p, sizeof(p), "%s/d", vdir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/d/secret", vdir);
	fo = fopen(p, "w");
	fputs("volume\n", fo);
	fclose(fo);
	snprintf(p, sizeof(p), "%s/d.real", vdir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/d.link", vdir);
	ck_assert_int_eq(symlink(outside, p), 0);
	volumes_set_fd_budget(vs, 3); /* descriptors opened again by name all the time */
	ck_assert_int_eq(pthread_create(&t, NULL, swapper, &rc), 0);
	/* 20,000 rounds, or 5 s when the machine is slow (valgrind runs one thread at a time) */
	time_t end = time(NULL) + 5;
	for (i = 0; i < 20000 && time(NULL) < end; i++) {
		struct vnode *d = NULL, *s = NULL;
		int fd;
		if (vnode_lookup(r, "d", &d, &st) < 0)
			continue;
		if (vnode_lookup(d, "secret", &s, &st) == 0) {
			if (st.st_ino == out_st.st_ino && st.st_dev == out_st.st_dev)
				escaped++;
			if (vnode_open(s, O_RDONLY, &fd) == 0) {
				opened++;
				struct stat fs;
				fstat(fd, &fs);
				if (fs.st_ino == out_st.st_ino && fs.st_dev == out_st.st_dev)
					escaped++;
				vnode_close(s, fd);
			}
			vnode_put(s);
		}
		vnode_put(d);
		/* the subPath resolver too */
		if (volume_root(v, "d", NULL, &d, &st, &err) == 0) {
			if (st.st_ino == out_st.st_ino)
				escaped++;
			vnode_put(d);
		}
	}
	__atomic_store_n(&rc.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	ck_assert_int_eq(escaped, 0);
	ck_assert_int_gt(opened, 0);
	vnode_put(r);
	volume_put(v);
}
END_TEST

/* Descriptors are a cache: with room for two, every vnode is opened again by its name when
 * used, through renames, and one whose name went answers ESTALE. */
START_TEST(test_descriptor_cache)
{
	struct volume *v = get("pv-fd", 10 * MiB);
	struct vnode *r = root_of(v), *a = NULL, *b = NULL, *c = NULL, *x = NULL;
	struct stat st;
	char buf[64];
	int fd;
	volumes_set_fd_budget(vs, 2);
	ck_assert_int_eq(vnode_mkdir(r, "a", 0755, NULL, &a, &st), 0);
	ck_assert_int_eq(vnode_mkdir(a, "b", 0755, NULL, &b, &st), 0);
	struct vnode *f = create(b, "f", &fd);
	ck_assert_int_eq(vnode_pwrite(f, fd, "hello", 5, 0), 5);
	vnode_close(f, fd);
	ck_assert_int_le(volumes_fds(vs), 2);
	/* every node answers, opened again through its parents */
	ck_assert_int_eq(vnode_stat(a, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(vnode_stat(f, &st), 0);
	ck_assert_int_eq(st.st_size, 5);
	ck_assert_int_eq(vnode_open(f, O_RDONLY, &fd), 0);
	ck_assert_int_eq(pread(fd, buf, sizeof(buf), 0), 5);
	vnode_close(f, fd);
	ck_assert_int_eq(vnode_lookup(b, "f", &x, &st), 0);
	ck_assert_ptr_eq(x, f); /* one vnode per inode */
	vnode_put(x);
	/* renamed: found again under the new name */
	ck_assert_int_eq(vnode_rename(r, "a", r, "a2", 0), 0);
	ck_assert_int_eq(vnode_mkdir(b, "c", 0755, NULL, &c, &st), 0);
	ck_assert_int_eq(vnode_stat(f, &st), 0);
	ck_assert_int_eq(vnode_open(f, O_RDONLY, &fd), 0);
	vnode_close(f, fd);
	char p[1024];
	snprintf(p, sizeof(p), "%s/a2/b/c", vpath("pv-fd"));
	ck_assert_int_eq(access(p, F_OK), 0);
	/* moved behind our back and replaced by another directory: never the wrong inode */
	snprintf(p, sizeof(p), "mv '%s/a2/b' '%s/b.moved' && mkdir '%s/a2/b'", vpath("pv-fd"),
		 vpath("pv-fd"), vpath("pv-fd"));
	ck_assert_int_eq(system(p), 0);
	volumes_set_fd_budget(vs, 0); /* everything idle is closed */
	ck_assert_int_eq(vnode_stat(f, &st), -ESTALE);
	ck_assert_int_eq(vnode_stat(c, &st), -ESTALE);
	volumes_set_fd_budget(vs, 2);
	/* a name that went: the vnode cannot come back */
	ck_assert_int_eq(vnode_mkdir(r, "gone", 0755, NULL, &x, &st), 0);
	ck_assert_int_eq(vnode_rmdir(r, "gone"), 0);
	volumes_set_fd_budget(vs, 0);
	ck_assert_int_eq(vnode_stat(x, &st), -ESTALE);
	vnode_put(x);
	vnode_put(c);
	vnode_put(f);
	vnode_put(b);
	vnode_put(a);
	vnode_put(r);
	ck_assert_int_eq(volumes_fds(vs), 0); /* (the usage misses the mkdir made behind us) */
	volume_put(v);
}
END_TEST

/* ---- reclaim ---- */

START_TEST(test_reclaim_delete)
{
	struct volume *v = get("pv-del", 10 * MiB), *v2;
	struct vnode *r = root_of(v), *n = NULL;
	struct stat st;
	int fd;
	ssize_t last;
	struct vnode *f = create(r, "data", &fd);
	fill(f, fd, 0, 1 * MiB, &last);
	vnode_close(f, fd);
	ck_assert_int_eq(volumes_reclaim(vs, "pv-del", VOLUME_DELETE, &err), 0);
	ck_assert(volume_dead(v));
	ck_assert_int_eq(vnode_lookup(r, "data", &n, &st), -ESTALE);
	ck_assert_int_eq(vnode_open(f, O_RDONLY, &fd), -ESTALE);
	ck_assert_int_ne(access(vpath("pv-del"), F_OK), 0);
	volumes_wait_idle(vs);
	char p[256];
	snprintf(p, sizeof(p), "%s/volumes/.trash", state);
	ck_assert_int_eq(du(p), du(p)); /* exists */
	DIR *d = opendir(p);
	struct dirent *de;
	int left = 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			left++;
	closedir(d);
	ck_assert_int_eq(left, 0);
	/* a new incarnation starts empty */
	v2 = get("pv-del", 10 * MiB);
	ck_assert_ptr_ne(v2, v);
	ck_assert_int_eq(volume_used(v2), du(vpath("pv-del")));
	ck_assert_int_le(volume_used(v2), 4096);
	vnode_put(f);
	vnode_put(r);
	volume_put(v);
	volume_put(v2);
	/* a volume never used: nothing to do */
	volumes_set_capacity(vs, "pv-never", MiB);
	ck_assert_int_eq(volumes_reclaim(vs, "pv-never", VOLUME_DELETE, &err), 0);
}
END_TEST

START_TEST(test_reclaim_scrub_keeps_root)
{
	struct volume *v = get("pv-rec", 10 * MiB), *v2;
	struct vnode *r = root_of(v), *d = NULL;
	struct stat st;
	struct vnode_attr a = {.mode = 0770};
	ck_assert_int_eq(vnode_setattr(r, -1, &a, VNODE_SET_MODE, &st), 0);
	ck_assert_int_eq(vnode_mkdir(r, "sub", 0755, NULL, &d, &st), 0);
	vnode_put(d);
	ck_assert_int_eq(volumes_reclaim(vs, "pv-rec", VOLUME_SCRUB, &err), 0);
	ck_assert(volume_dead(v));
	ck_assert_int_eq(stat(vpath("pv-rec"), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0770);
	v2 = get("pv-rec", 10 * MiB);
	struct vnode *r2 = root_of(v2);
	ck_assert_int_eq(vnode_lookup(r2, "sub", &d, &st), -ENOENT);
	vnode_put(r2);
	vnode_put(r);
	volume_put(v);
	volume_put(v2);
}
END_TEST

START_TEST(test_trash_emptied_at_start)
{
	char cmd[512];
	volumes_close(vs);
	snprintf(
	    cmd, sizeof(cmd),
	    "mkdir -p '%s/volumes/.trash/left.1/a/b' && ln -s / '%s/volumes/.trash/left.1/a/root'"
	    " && touch '%s/volumes/.trash/left.1/a/b/f'",
	    state, state, state);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(volumes_open(state, &vs, &err), 0);
	volumes_wait_idle(vs);
	snprintf(cmd, sizeof(cmd), "%s/volumes/.trash/left.1", state);
	ck_assert_int_ne(access(cmd, F_OK), 0);
	ck_assert_int_eq(access("/etc/hostname", F_OK) == 0 || access("/etc", F_OK) == 0, 1);
}
END_TEST

START_TEST(test_unknown_volume)
{
	struct volume *v = NULL;
	ck_assert_int_eq(volume_get(vs, "nobody", &v, &err), -ENOENT);
	ck_assert_int_eq(volume_get(vs, "../x", &v, &err), -EINVAL);
	ck_assert_int_eq(volume_get(vs, ".trash", &v, &err), -EINVAL);
	volumes_set_capacity(vs, "gone", MiB);
	volumes_set_capacity(vs, "gone", -1);
	ck_assert_int_eq(volume_get(vs, "gone", &v, &err), -ENOENT);
	ck_assert_int_eq(volumes_capacity(vs, "gone"), -1);
}
END_TEST

/* ---- attributes ---- */

START_TEST(test_attrs_and_xattrs)
{
	struct volume *v = get("pv-at", 10 * MiB);
	struct vnode *r = root_of(v);
	struct stat st;
	int fd;
	char buf[64];
	struct vnode *f = create(r, "f", &fd);
	ck_assert_int_eq(vnode_fsync(f, fd, 0), 0);
	ck_assert_int_eq(vnode_fsync(f, fd, 1), 0);
	struct vnode_attr a = {.mode = 0600};
	ck_assert_int_eq(vnode_setattr(f, -1, &a, VNODE_SET_MODE, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	a.mtime.tv_sec = 1000000000;
	a.mtime.tv_nsec = 5;
	ck_assert_int_eq(vnode_setattr(f, fd, &a, VNODE_SET_MTIME, &st), 0);
	ck_assert_int_eq(st.st_mtim.tv_sec, 1000000000);
	int rc = vnode_setxattr(f, "user.k", "val", 3, 0);
	if (rc == -EOPNOTSUPP) {
		vnode_close(f, fd);
		vnode_put(f);
		vnode_put(r);
		volume_put(v);
		return; /* the backing disk has none */
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(vnode_getxattr(f, "user.k", buf, sizeof(buf)), 3);
	ck_assert_int_eq(memcmp(buf, "val", 3), 0);
	ck_assert_int_eq(vnode_getxattr(f, "user.k", NULL, 0), 3);
	ck_assert_int_eq(vnode_listxattr(f, buf, sizeof(buf)), 7);
	ck_assert_str_eq(buf, "user.k");
	ck_assert_int_eq(vnode_setxattr(f, "trusted.k", "v", 1, 0), -EOPNOTSUPP);
	ck_assert_int_eq(vnode_getxattr(f, "trusted.k", buf, sizeof(buf)), -ENODATA);
	ck_assert_int_eq(vnode_removexattr(f, "user.k"), 0);
	ck_assert_int_eq(vnode_getxattr(f, "user.k", buf, sizeof(buf)), -ENODATA);
	vnode_close(f, fd);
	vnode_put(f);
	vnode_put(r);
	volume_put(v);
}
END_TEST

/* ---- through a cluster: the tree's data entries and the controllers' hooks ---- */

static struct fixture fx;

static void csetup(void)
{
	fx_open(&fx);
}

static void cteardown(void)
{
	fx_close(&fx);
}

/* Walks a path of the tree from the root. */
static int tpath(const char *path, struct tree_node *out)
{
	struct tree_node cur, next;
	char *copy = xstrdup(path), *save = NULL, *c;
	int rc = 0;
	tree_root(&cur);
	cluster_lock(fx.cl);
	for (c = strtok_r(copy, "/", &save); c && rc == 0; c = strtok_r(NULL, "/", &save)) {
		memset(&next, 0, sizeof(next));
		rc = tree_lookup(fx.cl, &cur, c, &next);
		tree_node_release(&cur);
		if (rc == 0)
			cur = next;
	}
	cluster_unlock(fx.cl);
	free(copy);
	if (rc == 0)
		*out = cur;
	else
		memset(out, 0, sizeof(*out));
	return rc;
}

static int add_name(void *ctx, const char *name, const struct tree_node *n)
{
	struct strbuf *sb = ctx;
	(void)n;
	sb_addf(sb, "%s%s", sb->len ? " " : "", name);
	return 0;
}

/* The names a directory lists, space-separated (caller frees); NULL when it fails. */
static char *tls(const char *path)
{
	struct tree_node n;
	struct strbuf sb = STRBUF_INIT;
	if (tpath(path, &n) < 0)
		return NULL;
	cluster_lock(fx.cl);
	int rc = tree_readdir(fx.cl, &n, add_name, &sb);
	cluster_unlock(fx.cl);
	tree_node_release(&n);
	if (rc < 0) {
		sb_release(&sb);
		return NULL;
	}
	return sb_detach(&sb, NULL);
}

static void ck_ls(const char *path, const char *want)
{
	char *got = tls(path);
	ck_assert_msg(got && strcmp(got, want) == 0, "ls %s: got \"%s\", want \"%s\"", path,
		      got ? got : "(error)", want);
	free(got);
}

static struct volumes *cvs(void)
{
	cluster_lock(fx.cl);
	struct volumes *v = volumes_of(fx.cl);
	cluster_unlock(fx.cl);
	ck_assert_ptr_nonnull(v);
	return v;
}

static char *cpath(const char *pv)
{
	static char buf[256];
	snprintf(buf, sizeof(buf), "%s/volumes/%s", fx.dir, pv);
	return buf;
}

/* Writes a file at the root of volume pv through the volume API. */
static void put_file(const char *pv, const char *name, const char *content)
{
	struct volume *v = NULL;
	struct vnode *r, *f;
	int fd, rc = volume_get(cvs(), pv, &v, &err);
	ck_assert_msg(rc == 0, "volume_get %s: %s", pv, err.msg);
	r = root_of(v);
	f = create(r, name, &fd);
	ck_assert_int_eq(vnode_pwrite(f, fd, content, strlen(content), 0),
			 (ssize_t)strlen(content));
	vnode_close(f, fd);
	vnode_put(f);
	vnode_put(r);
	volume_put(v);
}

/* Is there a file name at the root of volume pv (as its live incarnation shows it)? */
static int has_file(const char *pv, const char *name)
{
	struct volume *v = NULL;
	struct vnode *r, *f = NULL;
	struct stat st;
	if (volume_get(cvs(), pv, &v, &err) < 0)
		return 0;
	r = root_of(v);
	int found = vnode_lookup(r, name, &f, &st) == 0;
	vnode_put(f);
	vnode_put(r);
	volume_put(v);
	return found;
}

START_TEST(test_tree_pv_data)
{
	struct tree_node n, x;
	char path[256];
	fx_apply_claim(&fx, "data", "1Gi", NULL, NULL);
	char *pv = xstrdup(fx_claim(&fx, "data", "spec.volumeName"));
	snprintf(path, sizeof(path), "persistentvolumes/%s/data", pv);
	ck_assert_int_eq(tpath(path, &n), 0);
	ck_assert_int_eq(n.type, TREE_DIR);
	ck_assert(n.flags & TREE_DATA);
	ck_assert(!(n.flags & TREE_RDONLY));
	ck_assert_str_eq(n.volume, pv);
	ck_assert_ptr_null(n.subpath);
	cluster_lock(fx.cl);
	ck_assert_int_eq(tree_lookup(fx.cl, &n, "anything", &x), -ENOENT);
	ck_assert_int_eq(tree_revalidate(fx.cl, &n), 0);
	cluster_unlock(fx.cl);
	/* the copy carries the volume too */
	tree_node_copy(&x, &n);
	ck_assert_str_eq(x.volume, pv);
	tree_node_release(&x);
	tree_node_release(&n);
	snprintf(path, sizeof(path), "persistentvolumes/%s", pv);
	char *l = tls(path);
	ck_assert_ptr_nonnull(strstr(l, " data"));
	free(l);
	/* the registry knows its capacity */
	ck_assert_int_eq(volumes_capacity(cvs(), pv), 1LL << 30);
	/* a Block volume has no file system, so no data/ */
	fx_apply_ok(&fx,
		    "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: raw\n"
		    "spec:\n  capacity: {storage: 1Gi}\n  accessModes: [ReadWriteOnce]\n"
		    "  volumeMode: Block\n  storageClassName: \"\"\n  hostPath: {path: /raw}\n");
	ck_assert_int_eq(tpath("persistentvolumes/raw/data", &n), -ENOENT);
	free(pv);
}
END_TEST

static const char app_pod[] =
    "apiVersion: v1\nkind: Pod\nmetadata: {name: app}\nspec:\n"
    "  initContainers:\n  - name: init\n    image: busybox\n"
    "    volumeMounts: [{name: data, mountPath: /init}]\n"
    "  containers:\n  - name: main\n    image: busybox\n    volumeMounts:\n"
    "    - {name: data, mountPath: /var/lib/mysql/, subPath: db}\n"
    "    - {name: data, mountPath: /ro, readOnly: true}\n"
    "    - {name: shared, mountPath: /shared}\n"
    "    - {name: scratch, mountPath: /tmp}\n"
    "    - {name: data, mountPath: /var/../etc}\n"
    "    - {name: locked, mountPath: /var/locked}\n"
    "  volumes:\n"
    "  - {name: data, persistentVolumeClaim: {claimName: data}}\n"
    "  - {name: shared, persistentVolumeClaim: {claimName: rox}}\n"
    "  - {name: locked, persistentVolumeClaim: {claimName: data, readOnly: true}}\n"
    "  - {name: scratch, emptyDir: {}}\n";

START_TEST(test_tree_pod_mounts)
{
	struct tree_node n, again;
	fx_apply_claim(&fx, "data", "1Gi", NULL, NULL);
	ck_assert_int_eq(fx_try_claim(&fx, "rox", "1Gi", "ReadOnlyMany", NULL, NULL), 0);
	char *pv = xstrdup(fx_claim(&fx, "data", "spec.volumeName"));
	char *roxpv = xstrdup(fx_claim(&fx, "rox", "spec.volumeName"));
	fx_apply_ok(&fx, app_pod);
	ck_ls("namespaces/default/pods/app/containers", "init main");
	ck_ls("namespaces/default/pods/app/containers/main", "var ro shared");
	ck_ls("namespaces/default/pods/app/containers/main/var", "lib locked");
	ck_ls("namespaces/default/pods/app/containers/main/var/lib", "mysql");
	ck_ls("namespaces/default/pods/app/containers/init", "init");
	ck_assert_int_eq(tpath("namespaces/default/pods/app/containers/main/tmp", &n), -ENOENT);
	ck_assert_int_eq(tpath("namespaces/default/pods/app/containers/main/etc", &n), -ENOENT);
	ck_assert_int_eq(tpath("namespaces/default/pods/app/containers/nobody", &n), -ENOENT);

	ck_assert_int_eq(tpath("namespaces/default/pods/app/containers/main/var", &n), 0);
	ck_assert_int_eq(n.type, TREE_DIR);
	ck_assert(!(n.flags & TREE_DATA));
	tree_node_release(&n);

	ck_assert_int_eq(tpath("namespaces/default/pods/app/containers/main/var/lib/mysql", &n), 0);
	ck_assert(n.flags & TREE_DATA);
	ck_assert(!(n.flags & TREE_RDONLY));
	ck_assert_str_eq(n.volume, pv);
	ck_assert_str_eq(n.subpath, "db");
	ck_assert_int_eq(tpath("namespaces/default/pods/app/containers/main/var/lib/mysql", &again),
			 0);
	ck_assert_int_eq(again.ino, n.ino); /* stable for the pod's life */
	tree_node_release(&again);
	cluster_lock(fx.cl);
	ck_assert_int_eq(tree_revalidate(fx.cl, &n), 0);
	cluster_unlock(fx.cl);

	ck_assert_int_eq(tpath("namespaces/default/pods/app/containers/main/ro", &again), 0);
	ck_assert((again.flags & (TREE_DATA | TREE_RDONLY)) == (TREE_DATA | TREE_RDONLY));
	ck_assert_str_eq(again.volume, pv);
	ck_assert_ptr_null(again.subpath);
	ck_assert_int_ne(again.ino, n.ino);
	tree_node_release(&again);
	ck_assert_int_eq(tpath("namespaces/default/pods/app/containers/main/var/locked", &again),
			 0);
	ck_assert(again.flags & TREE_RDONLY);
	tree_node_release(&again);
	ck_assert_int_eq(tpath("namespaces/default/pods/app/containers/main/shared", &again), 0);
	ck_assert(again.flags & TREE_RDONLY); /* a ReadOnlyMany claim */
	ck_assert_str_eq(again.volume, roxpv);
	tree_node_release(&again);

	/* the pod goes: its nodes no longer resolve */
	ck_assert_int_eq(fx_delete(&fx, "Pod", "default", "app"), 0);
	cluster_lock(fx.cl);
	ck_assert_int_eq(tree_revalidate(fx.cl, &n), -ENOENT);
	cluster_unlock(fx.cl);
	tree_node_release(&n);
	free(pv);
	free(roxpv);
}
END_TEST

START_TEST(test_tree_unbound_claim_has_no_mount)
{
	struct tree_node n;
	fx_apply_claim(&fx, "waiting", "1Gi", "no-such-class", NULL);
	ck_assert_str_eq(fx_claim(&fx, "waiting", "status.phase"), "Pending");
	fx_apply_ok(&fx, "apiVersion: v1\nkind: Pod\nmetadata: {name: w}\nspec:\n"
			 "  containers:\n  - name: c\n    image: busybox\n"
			 "    volumeMounts: [{name: v, mountPath: /data}]\n"
			 "  volumes: [{name: v, persistentVolumeClaim: {claimName: waiting}}]\n");
	ck_ls("namespaces/default/pods/w/containers", "c");
	ck_ls("namespaces/default/pods/w/containers/c", "");
	ck_assert_int_eq(tpath("namespaces/default/pods/w/containers/c/data", &n), -ENOENT);
}
END_TEST

START_TEST(test_delete_policy_removes_data)
{
	fx_apply_claim(&fx, "gone", "1Gi", NULL, NULL);
	char *pv = xstrdup(fx_claim(&fx, "gone", "spec.volumeName"));
	put_file(pv, "f", "bytes\n");
	ck_assert_int_eq(access(cpath(pv), F_OK), 0);
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolumeClaim", "default", "gone"), 0);
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolume", NULL, pv));
	ck_assert_int_ne(access(cpath(pv), F_OK), 0);
	volumes_wait_idle(cvs());
	char trash[256];
	snprintf(trash, sizeof(trash), "%s/volumes/.trash", fx.dir);
	ck_assert_int_le(du(trash), 4096);
	ck_assert_int_eq(volumes_capacity(cvs(), pv), -1);
	free(pv);
}
END_TEST

START_TEST(test_deleted_delete_pv_takes_its_data)
{
	fx_apply_ok(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: scratch\n"
			 "spec:\n  capacity: {storage: 1Gi}\n  accessModes: [ReadWriteOnce]\n"
			 "  storageClassName: \"\"\n  persistentVolumeReclaimPolicy: Delete\n"
			 "  hostPath: {path: /scratch}\n");
	put_file("scratch", "f", "x\n");
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolume", NULL, "scratch"), 0);
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolume", NULL, "scratch"));
	ck_assert_int_ne(access(cpath("scratch"), F_OK), 0);
	/* a Retain PV deleted directly keeps it */
	fx_apply_ok(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: kept\n"
			 "spec:\n  capacity: {storage: 1Gi}\n  accessModes: [ReadWriteOnce]\n"
			 "  storageClassName: \"\"\n  hostPath: {path: /kept}\n");
	put_file("kept", "f", "x\n");
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolume", NULL, "kept"), 0);
	ck_assert_int_eq(access(cpath("kept"), F_OK), 0);
}
END_TEST

START_TEST(test_retain_keeps_data)
{
	static const char disk[] =
	    "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: disk\n"
	    "spec:\n  capacity: {storage: 1Gi}\n  accessModes: [ReadWriteOnce]\n"
	    "  storageClassName: \"\"\n  hostPath: {path: /disk}\n";
	fx_apply_ok(&fx, disk);
	fx_apply_claim(&fx, "a", "1Gi", "", NULL);
	ck_assert_str_eq(fx_claim(&fx, "a", "spec.volumeName"), "disk");
	put_file("disk", "kept", "precious\n");
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolumeClaim", "default", "a"), 0);
	ck_assert_str_eq(fx_str(&fx, "PersistentVolume", NULL, "disk", "status.phase"), "Released");
	ck_assert(has_file("disk", "kept"));
	/* the admin frees it; a new claim binds it and sees the data */
	json_t *p = json_pack("{s:{s:n}}", "spec", "claimRef");
	ck_assert_int_eq(cluster_patch(fx.cl, cluster_kind(fx.cl, "PersistentVolume"), NULL, "disk",
				       p, "t", &fx.err),
			 0);
	json_decref(p);
	fx_apply_claim(&fx, "b", "1Gi", "", NULL);
	ck_assert_str_eq(fx_claim(&fx, "b", "spec.volumeName"), "disk");
	ck_assert(has_file("disk", "kept"));
	/* deleting a Retain PV leaves the asset; the same PV made again finds it */
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolumeClaim", "default", "b"), 0);
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolume", NULL, "disk"), 0);
	ck_assert_ptr_null(fx_get(&fx, "PersistentVolume", NULL, "disk"));
	ck_assert_int_eq(access(cpath("disk"), F_OK), 0);
	fx_apply_ok(&fx, disk);
	ck_assert(has_file("disk", "kept"));
}
END_TEST

START_TEST(test_recycle_empties_data)
{
	fx_apply_ok(&fx, "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: share\n"
			 "spec:\n  capacity: {storage: 1Gi}\n  accessModes: [ReadWriteOnce]\n"
			 "  storageClassName: \"\"\n  persistentVolumeReclaimPolicy: Recycle\n"
			 "  nfs: {server: nas, path: /share}\n");
	fx_apply_claim(&fx, "r", "1Gi", "", NULL);
	put_file("share", "old", "old data\n");
	ck_assert_int_eq(fx_delete(&fx, "PersistentVolumeClaim", "default", "r"), 0);
	ck_assert(fx_has_event(&fx, "VolumeRecycled", "persistentvolumes/share Volume recycled"));
	ck_assert_str_eq(fx_str(&fx, "PersistentVolume", NULL, "share", "status.phase"),
			 "Available");
	ck_assert(!has_file("share", "old"));
	ck_assert_int_eq(access(cpath("share"), F_OK), 0);
	volumes_wait_idle(cvs());
	ck_assert_int_le(du(cpath("share")), 4096);
}
END_TEST

START_TEST(test_expansion_raises_the_limit)
{
	struct volume *v = NULL;
	fx_apply_claim(&fx, "grow", "1Mi", NULL, NULL);
	char *pv = xstrdup(fx_claim(&fx, "grow", "spec.volumeName"));
	ck_assert_int_eq(volume_get(cvs(), pv, &v, &err), 0);
	ck_assert_int_eq(volume_capacity(v), 1 * MiB);
	json_t *p =
	    json_pack("{s:{s:{s:{s:s}}}}", "spec", "resources", "requests", "storage", "3Mi");
	ck_assert_int_eq(cluster_patch(fx.cl, cluster_kind(fx.cl, "PersistentVolumeClaim"),
				       "default", "grow", p, "t", &fx.err),
			 0);
	json_decref(p);
	ck_assert_int_eq(volume_capacity(v), 3 * MiB);
	volume_put(v);
	free(pv);
}
END_TEST

START_TEST(test_remount_keeps_data_and_usage)
{
	fx_apply_claim(&fx, "keep", "10Mi", NULL, NULL);
	char *pv = xstrdup(fx_claim(&fx, "keep", "spec.volumeName"));
	put_file(pv, "f", "survives a remount\n");
	fx_reopen(&fx);
	ck_assert(has_file(pv, "f"));
	struct volume *v = NULL;
	ck_assert_int_eq(volume_get(cvs(), pv, &v, &err), 0);
	ck_assert_int_eq(volume_used(v), du(cpath(pv)));
	ck_assert_int_eq(volume_capacity(v), 10 * MiB);
	volume_put(v);
	free(pv);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("volume");
	TCase *tc = tcase_create("volume");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_write_until_enospc);
	tcase_add_test(tc, test_expansion_at_once);
	tcase_add_test(tc, test_usage_walk_at_first_use);
	tcase_add_test(tc, test_hardlinks_counted_once);
	tcase_add_test(tc, test_unlinked_open_file);
	tcase_add_test(tc, test_rename_over_releases);
	tcase_add_test(tc, test_mkdir_needs_a_block);
	tcase_add_test(tc, test_names_stay_inside);
	tcase_add_test(tc, test_symlinks_never_followed);
	tcase_add_test(tc, test_subpath_rules);
	tcase_add_test(tc, test_exdev_between_volumes);
	tcase_add_test(tc, test_rename_race_stays_inside);
	tcase_add_test(tc, test_descriptor_cache);
	tcase_add_test(tc, test_reclaim_delete);
	tcase_add_test(tc, test_reclaim_scrub_keeps_root);
	tcase_add_test(tc, test_trash_emptied_at_start);
	tcase_add_test(tc, test_unknown_volume);
	tcase_add_test(tc, test_attrs_and_xattrs);
	suite_add_tcase(s, tc);

	TCase *tk = tcase_create("cluster");
	tcase_add_checked_fixture(tk, csetup, cteardown);
	tcase_set_timeout(tk, 60);
	tcase_add_test(tk, test_tree_pv_data);
	tcase_add_test(tk, test_tree_pod_mounts);
	tcase_add_test(tk, test_tree_unbound_claim_has_no_mount);
	tcase_add_test(tk, test_delete_policy_removes_data);
	tcase_add_test(tk, test_deleted_delete_pv_takes_its_data);
	tcase_add_test(tk, test_retain_keeps_data);
	tcase_add_test(tk, test_recycle_empties_data);
	tcase_add_test(tk, test_expansion_raises_the_limit);
	tcase_add_test(tk, test_remount_keeps_data_and_usage);
	suite_add_tcase(s, tk);
	return s;
}
