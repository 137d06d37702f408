/* account.c - the capacity of a volume: its usage counter (an atomic that includes the
 * reservations of writes in flight), the estimate of what a write may allocate, the
 * charge of what it did allocate, and what df shows.
 *
 * A write of [off, end) in a file of size S may allocate the blocks past the last one
 * of S that it touches, and any hole it fills below S (one lseek(SEEK_HOLE) tells whether
 * the range has one). That estimate is reserved with a compare-and-swap against the
 * capacity, so concurrent writers never pass it together; a write that does not fit is
 * shortened to the blocks that do (the kernel returns the short count, the next write
 * gets ENOSPC), as a full disk does. Afterwards one fstat gives the blocks the file really
 * has; the difference from its last charge goes into the counter and the reservation
 * comes out. Cost per write: two fstat calls (one lseek for a rewrite with holes), one
 * CAS, one short critical section of the volume lock. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "volume_internal.h"

int64_t vol_blocks_bytes(const struct stat *st)
{
	return (int64_t)st->st_blocks * 512;
}

static int64_t round_up(int64_t x, int64_t b)
{
	return (x + b - 1) / b * b;
}

static int64_t round_down(int64_t x, int64_t b)
{
	return x / b * b;
}

int vol_reserve(struct volume *v, int64_t bytes)
{
	int64_t cur = __atomic_load_n(&v->used, __ATOMIC_RELAXED);
	if (bytes <= 0)
		return 0;
	for (;;) {
		int64_t cap = __atomic_load_n(&v->capacity, __ATOMIC_RELAXED);
		if (cur + bytes > cap)
			return -ENOSPC;
		if (__atomic_compare_exchange_n(&v->used, &cur, cur + bytes, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			return 0;
	}
}

void vol_charge(struct volume *v, int64_t delta)
{
	if (delta)
		__atomic_add_fetch(&v->used, delta, __ATOMIC_ACQ_REL);
}

void vn_charge_locked(struct vnode *n, const struct stat *st)
{
	int64_t now = vol_blocks_bytes(st);
	vol_charge(n->vol, now - n->charged);
	n->charged = now;
}

void vn_recharge(struct vnode *n, int fd)
{
	struct stat st;
	int own = fd < 0;
	if (own && (fd = vn_acquire(n)) < 0)
		return;
	pthread_mutex_lock(&n->vol->lock);
	if (fstat(fd, &st) == 0)
		vn_charge_locked(n, &st);
	pthread_mutex_unlock(&n->vol->lock);
	if (own)
		vn_release(n);
}

/* What a write of [off, end) may allocate in the file st describes; *holes says whether
 * part of it fills holes below the end of the file (then it cannot be shortened). */
static int64_t write_need(const struct stat *st, int fd, int64_t bs, int64_t off, int64_t end,
			  int *holes)
{
	int64_t size = st->st_size, alloc_end = round_up(size, bs), need = 0;
	int64_t lim = end < size ? end : size;
	*holes = 0;
	if (end > alloc_end) {
		int64_t from = off > alloc_end ? round_down(off, bs) : alloc_end;
		need += round_up(end, bs) - from;
	}
	if (off < lim) {
		off_t h = lseek(fd, off, SEEK_HOLE);
		if (h >= 0 && h < lim) {
			need += round_up(lim, bs) - round_down(h, bs);
			*holes = 1;
		}
	}
	return need;
}

int vnode_write_begin(struct vnode *n, int fd, off_t off, size_t *len, int64_t *reserved)
{
	struct volume *v = n->vol;
	struct stat st;
	int holes;
	*reserved = 0;
	if (volume_dead(v))
		return -ESTALE;
	if (*len == 0)
		return 0;
	if (off < 0 || (int64_t)*len > INT64_MAX - off)
		return -EFBIG;
	if (fstat(fd, &st) < 0)
		return -errno;
	int64_t bs = v->bsize, end = off + (int64_t)*len;
	int64_t need = write_need(&st, fd, bs, off, end, &holes);
	int64_t cur = __atomic_load_n(&v->used, __ATOMIC_RELAXED);
	for (;;) {
		int64_t cap = __atomic_load_n(&v->capacity, __ATOMIC_RELAXED);
		int64_t want = need, newlen = (int64_t)*len;
		if (want > 0 && cur + want > cap) {
			/* Shorten to the whole blocks left past the end of the file. */
			int64_t alloc_end = round_up(st.st_size, bs);
			int64_t from = off > alloc_end ? round_down(off, bs) : alloc_end;
			int64_t avail = cap > cur ? round_down(cap - cur, bs) : 0;
			if (holes || from + avail <= off)
				return -ENOSPC;
			newlen = from + avail - off;
			if (newlen > (int64_t)*len)
				newlen = (int64_t)*len;
			want = round_up(off + newlen, bs) - from;
			if (want < 0)
				want = 0;
		}
		if (want == 0 || __atomic_compare_exchange_n(&v->used, &cur, cur + want, 0,
							     __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			*len = (size_t)newlen;
			*reserved = want;
			return 0;
		}
	}
}

void vnode_write_end(struct vnode *n, int fd, int64_t reserved)
{
	vn_recharge(n, fd);
	vol_charge(n->vol, -reserved);
}

ssize_t vnode_pwrite(struct vnode *n, int fd, const void *buf, size_t len, off_t off)
{
	int64_t resv;
	size_t fit = len;
	int rc = vnode_write_begin(n, fd, off, &fit, &resv);
	if (rc < 0)
		return rc;
	ssize_t w = pwrite(fd, buf, fit, off);
	int e = errno;
	vnode_write_end(n, fd, resv);
	return w < 0 ? -e : w;
}

int vnode_fallocate(struct vnode *n, int fd, int mode, off_t off, off_t len)
{
	struct volume *v = n->vol;
	int64_t resv = 0;
	int rc;
	if (volume_dead(v))
		return -ESTALE;
	if (off < 0 || len <= 0)
		return -EINVAL;
	if (!(mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE))) {
		/* Everything in the range may be new: an upper bound. */
		resv = round_up(off + len, v->bsize) - round_down(off, v->bsize);
		rc = vol_reserve(v, resv);
		if (rc < 0)
			return rc;
	}
	rc = fallocate(fd, mode, off, len) < 0 ? -errno : 0;
	vnode_write_end(n, fd, resv);
	return rc;
}

int volume_dead(const struct volume *v)
{
	return __atomic_load_n(&v->dead, __ATOMIC_ACQUIRE);
}

int64_t volume_capacity(const struct volume *v)
{
	return __atomic_load_n(&v->capacity, __ATOMIC_RELAXED);
}

int64_t volume_used(const struct volume *v)
{
	return __atomic_load_n(&v->used, __ATOMIC_RELAXED);
}

void volume_statfs(struct volume *v, struct statvfs *st)
{
	struct statvfs b;
	int64_t cap = volume_capacity(v), used = volume_used(v), bs = v->bsize;
	memset(st, 0, sizeof(*st));
	if (fstatvfs(v->vs->dirfd, &b) == 0) { /* the same file system */
		st->f_files = b.f_files;
		st->f_ffree = b.f_ffree;
		st->f_favail = b.f_favail;
	}
	st->f_bsize = st->f_frsize = (unsigned long)bs;
	st->f_blocks = (fsblkcnt_t)(cap / bs);
	st->f_bfree = st->f_bavail = (fsblkcnt_t)(cap > used ? (cap - used) / bs : 0);
	st->f_namemax = 255;
}
