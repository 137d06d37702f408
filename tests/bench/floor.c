/* floor.c - "the FUSE floor" of the benchmark: a naive read-only FUSE server that serves
 * a copy of a directory tree from memory, with no kernel caching at all (entry and
 * attribute timeouts 0, direct_io, no readdirplus, no readdir cache). Whatever claimfs
 * does per request, this server does the least a FUSE server can do, so its times are
 * the cost of the FUSE round trips themselves: the floor for cold figures.
 *
 *   floor [-s] SRC MOUNTPOINT     load SRC (files, directories, symlinks) and mount it
 *
 * Runs in the foreground with libfuse's multi-threaded loop (as claimfs does; -s: one
 * thread) until unmounted. Modes, sizes, mtimes, contents and link targets are SRC's;
 * uid/gid are the caller's. Built by scripts/bench.sh, not by the Makefile.
 * Lookups are O(1) (a hash table keyed by parent inode and name); nothing is locked
 * because nothing changes after loading. */
#define FUSE_USE_VERSION 314
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct node {
	char *name;	      /* owned; "" for the root */
	uint64_t parent;      /* inode of the parent directory */
	mode_t mode;	      /* type and permission bits */
	off_t size;	      /* file size or link length */
	struct timespec mtim; /* from SRC */
	char *data;	      /* file contents or link target; owned */
	uint64_t *kids;	      /* directories: children's inodes, sorted by name */
	size_t nkids, capkids;
	uint64_t hnext; /* hash chain (inode, 0 = end) */
};

static struct node *nodes; /* nodes[ino], ino >= 1; nodes[0] unused */
static size_t nnodes, capnodes;
static uint64_t *buckets; /* head inode per bucket */
static size_t nbuckets;
static uid_t uid;
static gid_t gid;

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		perror("floor");
		exit(1);
	}
	return p;
}

static uint64_t hash(uint64_t parent, const char *name)
{
	uint64_t h = 1469598103934665603ULL ^ parent;
	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 1099511628211ULL;
	return h;
}

static uint64_t find(uint64_t parent, const char *name)
{
	for (uint64_t i = buckets[hash(parent, name) % nbuckets]; i; i = nodes[i].hnext)
		if (nodes[i].parent == parent && strcmp(nodes[i].name, name) == 0)
			return i;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(nodes[*(const uint64_t *)a].name, nodes[*(const uint64_t *)b].name);
}

static char *read_all(const char *path, off_t size)
{
	char *buf = xrealloc(NULL, (size_t)size + 1);
	int fd = open(path, O_RDONLY);
	off_t got = 0;
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	while (got < size) {
		ssize_t n = read(fd, buf + got, (size_t)(size - got));
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	return buf;
}

/* Adds path (already lstat'ed) as a child of parent; recurses into directories. */
static uint64_t load(const char *path, const char *name, uint64_t parent, const struct stat *st)
{
	if (nnodes == capnodes) {
		capnodes = capnodes ? capnodes * 2 : 1024;
		nodes = xrealloc(nodes, capnodes * sizeof(*nodes));
	}
	uint64_t ino = nnodes++;
	struct node *n = &nodes[ino];
	memset(n, 0, sizeof(*n));
	n->name = strdup(name);
	n->parent = parent;
	n->mode = st->st_mode;
	n->size = st->st_size;
	n->mtim = st->st_mtim;
	if (S_ISREG(st->st_mode)) {
		n->data = read_all(path, st->st_size);
	} else if (S_ISLNK(st->st_mode)) {
		n->data = xrealloc(NULL, (size_t)st->st_size + 1);
		ssize_t len = readlink(path, n->data, (size_t)st->st_size);
		n->data[len < 0 ? 0 : len] = '\0';
	} else if (S_ISDIR(st->st_mode)) {
		DIR *d = opendir(path);
		struct dirent *de;
		if (!d) {
			perror(path);
			exit(1);
		}
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			char *sub;
			struct stat cst;
			if (asprintf(&sub, "%s/%s", path, de->d_name) < 0)
				exit(1);
			if (lstat(sub, &cst) == 0) {
				uint64_t k = load(sub, de->d_name, ino, &cst);
				struct node *dn = &nodes[ino]; /* nodes may have moved */
				if (dn->nkids == dn->capkids) {
					dn->capkids = dn->capkids ? dn->capkids * 2 : 8;
					dn->kids =
					    xrealloc(dn->kids, dn->capkids * sizeof(uint64_t));
				}
				dn->kids[dn->nkids++] = k;
			}
			free(sub);
		}
		closedir(d);
		qsort(nodes[ino].kids, nodes[ino].nkids, sizeof(uint64_t), by_name);
	}
	return ino;
}

static void fill(uint64_t ino, struct stat *st)
{
	const struct node *n = &nodes[ino];
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = n->mode;
	st->st_nlink = 1;
	st->st_uid = uid;
	st->st_gid = gid;
	st->st_size = n->size;
	st->st_blksize = 4096;
	st->st_blocks = (n->size + 511) / 512;
	st->st_mtim = st->st_ctim = st->st_atim = n->mtim;
}

static int valid(fuse_ino_t ino)
{
	return ino >= 1 && ino < nnodes;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	uint64_t ino = valid(parent) ? find(parent, name) : 0;
	if (!ino) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = ino;
	fill(ino, &e.attr);
	e.attr_timeout = 0;
	e.entry_timeout = 0;
	fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	if (!valid(ino)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill(ino, &st);
	fuse_reply_attr(req, &st, 0);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	if (!valid(ino) || !S_ISLNK(nodes[ino].mode))
		fuse_reply_err(req, EINVAL);
	else
		fuse_reply_readlink(req, nodes[ino].data);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (!valid(ino) || S_ISDIR(nodes[ino].mode)) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EACCES);
		return;
	}
	fi->direct_io = 1;
	fi->keep_cache = 0;
	fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	const struct node *n = &nodes[ino];
	if (off >= n->size)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, n->data + off,
			       (size_t)(n->size - off) < size ? (size_t)(n->size - off) : size);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (!valid(ino) || !S_ISDIR(nodes[ino].mode)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	fi->cache_readdir = 0;
	fi->keep_cache = 0;
	fuse_reply_open(req, fi);
}

/* Offsets: 1 ".", 2 "..", 2 + k + 1 the k-th child. */
static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	const struct node *n = &nodes[ino];
	char *buf = malloc(size);
	size_t used = 0;
	struct stat st;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (off_t i = off; (size_t)i < n->nkids + 2; i++) {
		const char *name = i == 0 ? "." : i == 1 ? ".." : nodes[n->kids[i - 2]].name;
		uint64_t k = i == 0 ? ino : i == 1 ? (n->parent ? n->parent : ino) : n->kids[i - 2];
		memset(&st, 0, sizeof(st));
		st.st_ino = k;
		st.st_mode = nodes[k].mode;
		size_t len = fuse_add_direntry(req, buf + used, size - used, name, &st, i + 1);
		if (len > size - used)
			break;
		used += len;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static const struct fuse_lowlevel_ops ops = {
    .lookup = op_lookup,
    .getattr = op_getattr,
    .readlink = op_readlink,
    .open = op_open,
    .read = op_read,
    .opendir = op_opendir,
    .readdir = op_readdir,
};

int main(int argc, char **argv)
{
	int single = 0, rc = 1;
	if (argc > 1 && !strcmp(argv[1], "-s")) {
		single = 1;
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: floor [-s] SRC MOUNTPOINT\n");
		return 2;
	}
	struct stat st;
	if (lstat(argv[1], &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "floor: %s is not a directory\n", argv[1]);
		return 2;
	}
	uid = getuid();
	gid = getgid();
	nnodes = 1; /* inode 0 unused: the root is 1, as FUSE wants */
	capnodes = 1;
	nodes = xrealloc(NULL, sizeof(*nodes));
	load(argv[1], "", 0, &st);
	nbuckets = nnodes * 2 + 1;
	buckets = calloc(nbuckets, sizeof(*buckets));
	for (uint64_t i = 2; i < nnodes; i++) {
		uint64_t b = hash(nodes[i].parent, nodes[i].name) % nbuckets;
		nodes[i].hnext = buckets[b];
		buckets[b] = i;
	}

	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	fuse_opt_add_arg(&args, argv[0]);
	fuse_opt_add_arg(&args, "-o");
	fuse_opt_add_arg(&args, "fsname=floor,subtype=floor");
	struct fuse_session *se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!se) {
		fuse_opt_free_args(&args);
		return 1;
	}
	if (fuse_set_signal_handlers(se) != 0)
		goto out;
	if (fuse_session_mount(se, argv[2]) != 0)
		goto out_signals;
	if (single) {
		rc = fuse_session_loop(se);
	} else {
		struct fuse_loop_config *cfg = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(cfg, 0);
		rc = fuse_session_loop_mt(se, cfg);
		fuse_loop_cfg_destroy(cfg);
	}
	rc = rc < 0 ? 1 : 0;
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out:
	fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	return rc;
}
