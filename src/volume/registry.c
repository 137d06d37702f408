/* registry.c - the volumes of one state directory: which PV names exist with which
 * capacity (fed by the storage index hook), the live incarnation of each volume in use
 * (made on first use: its directory, its usage walk), reclaim (Delete and Recycle move the
 * directory into the trash) and the thread that empties the trash.
 *
 * DESIGN (threads): the remover thread sleeps on `work` until a reclaim or the start finds
 * something in .trash, removes every entry there with walk_remove (no symlink followed,
 * no descriptor per level), and goes back to sleep; volumes_close stops it between two
 * entries (what is left is removed at the next start). Activation runs in the thread of
 * the first user, outside the registry lock; later users of the same volume wait on its
 * init condition.
 * Complexity: set_capacity, get of a live volume, reclaim O(1) (hash by name); the first
 * get after start O(files of the volume). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <dirent.h>
#include "claimfs/fnv.h"
#include "volume_internal.h"

/* ---- names ---- */

int volumes_check_name(const char *name)
{
	size_t len = name ? strlen(name) : 0, i;
	if (!len || len > 253 || name[0] == '.' || name[0] == '-')
		return -EINVAL;
	for (i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return -EINVAL;
	}
	return 0;
}

static size_t name_hash(const char *s)
{
	uint64_t h = fnv64_str(s);
	return (size_t)(h ^ (h >> 29));
}

static struct ventry **entry_ref(struct volumes *vs, const char *name)
{
	struct ventry **p = &vs->tab[name_hash(name) & (vs->nb - 1)];
	while (*p && strcmp((*p)->name, name) != 0)
		p = &(*p)->next;
	return p;
}

static void grow(struct volumes *vs)
{
	struct ventry **old = vs->tab, *e, *next;
	size_t onb = vs->nb, i;
	vs->nb *= 2;
	vs->tab = xcalloc(vs->nb, sizeof(*vs->tab));
	for (i = 0; i < onb; i++)
		for (e = old[i]; e; e = next) {
			next = e->next;
			size_t b = name_hash(e->name) & (vs->nb - 1);
			e->next = vs->tab[b];
			vs->tab[b] = e;
		}
	free(old);
}

static struct ventry *entry_get(struct volumes *vs, const char *name, int create)
{
	struct ventry **p = entry_ref(vs, name);
	if (*p || !create)
		return *p;
	if (vs->count + 1 > vs->nb) {
		grow(vs);
		p = entry_ref(vs, name);
	}
	struct ventry *e = xcalloc(1, sizeof(*e));
	e->name = xstrdup(name);
	e->capacity = -1;
	*p = e;
	vs->count++;
	return e;
}

/* Forgets an entry that names no PV and no live volume. Registry lock held. */
static void entry_drop_if_unused(struct volumes *vs, struct ventry *e)
{
	if (e->capacity >= 0 || e->active)
		return;
	struct ventry **p = entry_ref(vs, e->name);
	*p = e->next;
	vs->count--;
	free(e->name);
	free(e);
}

/* ---- the trash ---- */

/* Names in the trash right now (a new array of owned strings, NULL-terminated). */
static char **trash_names(struct volumes *vs)
{
	char **v = NULL;
	size_t n = 0, cap = 0;
	int fd = openat(vs->trashfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return xcalloc(1, sizeof(char *));
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n + 2 > cap) {
			cap = cap ? cap * 2 : 8;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (!v)
		v = xcalloc(1, sizeof(char *));
	v[n] = NULL;
	return v;
}

static void *remover_main(void *arg)
{
	struct volumes *vs = arg;
	pthread_mutex_lock(&vs->lock);
	while (!vs->stopping) {
		if (!vs->pending) {
			vs->busy = 0;
			pthread_cond_broadcast(&vs->idle);
			pthread_cond_wait(&vs->work, &vs->lock);
			continue;
		}
		vs->pending = 0;
		vs->busy = 1;
		pthread_mutex_unlock(&vs->lock);
		char **names = trash_names(vs), **p;
		for (p = names; *p; p++) {
			if (!__atomic_load_n(&vs->stopping, __ATOMIC_RELAXED))
				walk_remove(vs->trashfd, *p, &vs->stopping);
			free(*p);
		}
		free(names);
		pthread_mutex_lock(&vs->lock);
	}
	vs->busy = 0;
	pthread_cond_broadcast(&vs->idle);
	pthread_mutex_unlock(&vs->lock);
	return NULL;
}

/* Registry lock held. */
static void wake_remover(struct volumes *vs)
{
	vs->pending = 1;
	if (!vs->remover_started && !vs->stopping) {
		if (pthread_create(&vs->remover, NULL, remover_main, vs) == 0)
			vs->remover_started = 1;
	}
	pthread_cond_signal(&vs->work);
}

void volumes_wait_idle(struct volumes *vs)
{
	pthread_mutex_lock(&vs->lock);
	while (vs->remover_started && !vs->stopping && (vs->pending || vs->busy))
		pthread_cond_wait(&vs->idle, &vs->lock);
	pthread_mutex_unlock(&vs->lock);
}

/* ---- open and close ---- */

/* Descriptors vnodes may keep: a quarter of what the process may open (raised to its hard
 * limit first), the rest for open files, directories, FUSE and the journal. */
static size_t fd_budget(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 256;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	rlim_t b = rl.rlim_cur / 4;
	if (b > (1u << 20))
		b = 1u << 20;
	return b < 64 ? 64 : (size_t)b;
}

void volumes_set_fd_budget(struct volumes *vs, size_t n)
{
	pthread_mutex_lock(&vs->fds.lock);
	vs->fds.budget = n;
	pthread_mutex_unlock(&vs->fds.lock);
	vn_evict(vs);
}

size_t volumes_fds(struct volumes *vs)
{
	pthread_mutex_lock(&vs->fds.lock);
	size_t n = vs->fds.open;
	pthread_mutex_unlock(&vs->fds.lock);
	return n;
}

static int open_dir_at(int dirfd, const char *name, struct cfs_err *err, const char *what)
{
	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
		return cfs_errorf(err, -errno, "cannot make %s: %s", what, strerror(errno));
	int fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return cfs_errorf(err, -errno, "cannot open %s: %s", what, strerror(errno));
	return fd;
}

int volumes_open(const char *state_dir, struct volumes **out, struct cfs_err *err)
{
	struct volumes *vs;
	int sfd = open(state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return cfs_errorf(err, -errno, "cannot open state directory %s: %s", state_dir,
				  strerror(errno));
	int dfd = open_dir_at(sfd, VOLUMES_DIR, err, "the volumes directory");
	close(sfd);
	if (dfd < 0)
		return dfd;
	int tfd = open_dir_at(dfd, TRASH_DIR, err, "the volumes trash");
	if (tfd < 0) {
		close(dfd);
		return tfd;
	}
	vs = xcalloc(1, sizeof(*vs));
	pthread_mutex_init(&vs->lock, NULL);
	pthread_mutex_init(&vs->fds.lock, NULL);
	vs->fds.budget = fd_budget();
	pthread_cond_init(&vs->work, NULL);
	pthread_cond_init(&vs->idle, NULL);
	vs->dirfd = dfd;
	vs->trashfd = tfd;
	vs->nb = 64;
	vs->tab = xcalloc(vs->nb, sizeof(*vs->tab));
	char **left = trash_names(vs);
	if (left[0]) {
		pthread_mutex_lock(&vs->lock);
		wake_remover(vs); /* what a crash or a stop left behind */
		pthread_mutex_unlock(&vs->lock);
	}
	for (char **p = left; *p; p++)
		free(*p);
	free(left);
	*out = vs;
	return 0;
}

void volumes_close(struct volumes *vs)
{
	size_t i;
	if (!vs)
		return;
	pthread_mutex_lock(&vs->lock);
	__atomic_store_n(&vs->stopping, 1, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&vs->work);
	pthread_cond_broadcast(&vs->idle);
	pthread_mutex_unlock(&vs->lock);
	if (vs->remover_started)
		pthread_join(vs->remover, NULL);
	/* Nobody uses a vnode any more: the cache lets them all go (and their volumes). */
	volumes_set_fd_budget(vs, 0);
	for (i = 0; i < vs->nb; i++) {
		struct ventry *e = vs->tab[i], *next;
		for (; e; e = next) {
			next = e->next;
			volume_put(e->active);
			free(e->name);
			free(e);
		}
	}
	free(vs->tab);
	close(vs->dirfd);
	close(vs->trashfd);
	pthread_cond_destroy(&vs->work);
	pthread_cond_destroy(&vs->idle);
	pthread_mutex_destroy(&vs->fds.lock);
	pthread_mutex_destroy(&vs->lock);
	free(vs);
}

/* ---- capacities ---- */

void volumes_set_capacity(struct volumes *vs, const char *name, int64_t bytes)
{
	if (!vs || !name)
		return;
	pthread_mutex_lock(&vs->lock);
	struct ventry *e = entry_get(vs, name, bytes >= 0);
	if (e) {
		e->capacity = bytes < 0 ? -1 : bytes;
		if (e->active && bytes >= 0)
			__atomic_store_n(&e->active->capacity, bytes, __ATOMIC_RELAXED);
		entry_drop_if_unused(vs, e);
	}
	pthread_mutex_unlock(&vs->lock);
}

int64_t volumes_capacity(struct volumes *vs, const char *name)
{
	pthread_mutex_lock(&vs->lock);
	struct ventry *e = entry_get(vs, name, 0);
	int64_t c = e ? e->capacity : -1;
	pthread_mutex_unlock(&vs->lock);
	return c;
}

/* ---- incarnations ---- */

static struct volume *volume_new(struct volumes *vs, const char *name, int64_t capacity)
{
	struct volume *v = xcalloc(1, sizeof(*v));
	v->vs = vs;
	v->name = xstrdup(name);
	v->refs = 1;
	v->capacity = capacity;
	v->bsize = 4096;
	v->state = V_LOADING;
	pthread_mutex_init(&v->init_lock, NULL);
	pthread_cond_init(&v->init_cond, NULL);
	pthread_mutex_init(&v->ns_lock, NULL);
	pthread_mutex_init(&v->lock, NULL);
	v->nb = 64;
	v->tab = xcalloc(v->nb, sizeof(*v->tab));
	return v;
}

void volume_free(struct volume *v)
{
	vn_table_free(v); /* empty: every vnode held a reference */
	free(v->name);
	pthread_cond_destroy(&v->init_cond);
	pthread_mutex_destroy(&v->init_lock);
	pthread_mutex_destroy(&v->ns_lock);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

struct volume *volume_ref(struct volume *v)
{
	__atomic_add_fetch(&v->refs, 1, __ATOMIC_RELAXED);
	return v;
}

void volume_put(struct volume *v)
{
	if (v && __atomic_sub_fetch(&v->refs, 1, __ATOMIC_ACQ_REL) == 0)
		volume_free(v);
}

const char *volume_name(const struct volume *v)
{
	return v->name;
}

/* Makes the directory of a new incarnation and counts what it holds. No lock held. */
static int activate(struct volume *v, struct cfs_err *err)
{
	struct volumes *vs = v->vs;
	struct statvfs sv;
	struct stat st;
	int64_t used = 0;
	int rc, fd;
	if (mkdirat(vs->dirfd, v->name, 0755) < 0 && errno != EEXIST)
		return cfs_errorf(err, -errno, "cannot make the directory of volume %s: %s",
				  v->name, strerror(errno));
	fd = vn_openat(vs->dirfd, v->name, O_PATH | O_DIRECTORY, 0);
	if (fd < 0)
		return cfs_errorf(err, fd, "cannot open the directory of volume %s: %s", v->name,
				  strerror(-fd));
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return cfs_errorf(err, rc, "volume %s: %s", v->name, strerror(-rc));
	}
	if (fstatvfs(fd, &sv) == 0 && sv.f_frsize > 0)
		v->bsize = (int64_t)sv.f_frsize;
	rc = walk_usage(fd, &used);
	if (rc < 0) {
		close(fd);
		return cfs_errorf(err, rc, "cannot count the usage of volume %s: %s", v->name,
				  strerror(-rc));
	}
	__atomic_add_fetch(&v->used, used, __ATOMIC_ACQ_REL);
	v->root_ino = st.st_ino;
	vnode_put(vn_intern(v, fd, &st, 0, NULL, NULL)); /* its root, in the cache */
	return 0;
}

int volume_get(struct volumes *vs, const char *name, struct volume **out, struct cfs_err *err)
{
	struct volume *v;
	int mine = 0;
	if (volumes_check_name(name) < 0)
		return cfs_errorf(err, -EINVAL, "invalid volume name \"%s\"", name);
	pthread_mutex_lock(&vs->lock);
	struct ventry *e = entry_get(vs, name, 0);
	if (!e || e->capacity < 0) {
		pthread_mutex_unlock(&vs->lock);
		return cfs_errorf(err, -ENOENT, "persistentvolumes \"%s\" not found", name);
	}
	v = e->active;
	if (!v || volume_dead(v)) {
		volume_put(v);
		v = volume_new(vs, name, e->capacity); /* the registry's reference */
		e->active = v;
		mine = 1;
	}
	volume_ref(v);
	pthread_mutex_unlock(&vs->lock);

	if (mine) {
		struct cfs_err e2 = {{0}};
		int rc = activate(v, &e2);
		pthread_mutex_lock(&v->init_lock);
		v->state = rc < 0 ? V_FAILED : V_READY;
		v->init_err = rc;
		snprintf(v->init_msg, sizeof(v->init_msg), "%s", e2.msg);
		pthread_cond_broadcast(&v->init_cond);
		pthread_mutex_unlock(&v->init_lock);
		if (rc < 0) {
			/* The next user tries again. */
			pthread_mutex_lock(&vs->lock);
			struct ventry *now = entry_get(vs, name, 0);
			if (now && now->active == v) {
				now->active = NULL;
				volume_put(v);
				entry_drop_if_unused(vs, now);
			}
			pthread_mutex_unlock(&vs->lock);
		}
	}
	pthread_mutex_lock(&v->init_lock);
	while (v->state == V_LOADING)
		pthread_cond_wait(&v->init_cond, &v->init_lock);
	int rc = v->state == V_FAILED ? v->init_err : 0;
	if (rc < 0)
		cfs_errorf(err, rc, "%s", v->init_msg);
	pthread_mutex_unlock(&v->init_lock);
	if (rc == 0 && volume_dead(v))
		rc = cfs_errorf(err, -ESTALE, "volume %s was deleted", name);
	if (rc < 0) {
		volume_put(v);
		return rc;
	}
	*out = v;
	return 0;
}

/* ---- reclaim ---- */

/* Moves volumes/<name> into the trash under a name nobody used. Registry lock held. */
static int to_trash(struct volumes *vs, const char *name)
{
	char tname[320];
	int tries;
	for (tries = 0; tries < 64; tries++) {
		snprintf(tname, sizeof(tname), "%s.%ld.%llu", name, (long)getpid(),
			 (unsigned long long)++vs->trash_seq);
		if (renameat(vs->dirfd, name, vs->trashfd, tname) == 0)
			return 0;
		if (errno != EEXIST && errno != ENOTEMPTY)
			return -errno;
	}
	return -EEXIST;
}

int volumes_reclaim(struct volumes *vs, const char *name, enum volume_reclaim how,
		    struct cfs_err *err)
{
	struct volume *dead = NULL;
	struct stat old;
	int rc = 0;
	if (volumes_check_name(name) < 0)
		return cfs_errorf(err, -EINVAL, "invalid volume name \"%s\"", name);
	pthread_mutex_lock(&vs->lock);
	struct ventry *e = entry_get(vs, name, 0);
	if (e && e->active) {
		dead = e->active;
		__atomic_store_n(&dead->dead, 1, __ATOMIC_RELEASE);
		e->active = NULL;
		entry_drop_if_unused(vs, e);
	}
	if (fstatat(vs->dirfd, name, &old, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			rc = cfs_errorf(err, -errno, "volume %s: %s", name, strerror(errno));
		goto out; /* never used: nothing to remove */
	}
	rc = to_trash(vs, name);
	if (rc < 0) {
		cfs_errorf(err, rc, "cannot remove the data of volume %s: %s", name, strerror(-rc));
		goto out;
	}
	wake_remover(vs);
	if (how == VOLUME_SCRUB && S_ISDIR(old.st_mode)) {
		/* rm -rf of the content: the root stays as it was. */
		if (mkdirat(vs->dirfd, name, old.st_mode & 07777) < 0) {
			rc = cfs_errorf(err, -errno, "cannot make volume %s again: %s", name,
					strerror(errno));
			goto out;
		}
		int fd = vn_openat(vs->dirfd, name, O_PATH | O_DIRECTORY, 0);
		if (fd >= 0) {
			char path[32];
			(void)!fchownat(fd, "", old.st_uid, old.st_gid, AT_EMPTY_PATH);
			vn_proc_path(fd, path, sizeof(path));
			(void)!chmod(path, old.st_mode & 07777);
			close(fd);
		}
	}
out:
	pthread_mutex_unlock(&vs->lock);
	volume_put(dead);
	return rc;
}
