/* fs_watchdog.c - a tiny process that aborts the FUSE connection when the daemon dies
 * with a thread stuck in the kernel, so that `kill -9` always ends the daemon.
 *
 * Why. On SIGKILL every thread of the daemon dies, except one that waits in the kernel
 * without being killable: the notifier threads send FUSE_NOTIFY_INVAL_ENTRY, which
 * takes the parent directory's inode lock, and FUSE_NOTIFY_INVAL_INODE, which takes page
 * locks. A writer (mkdir, rmdir, create in that directory) or a READ can hold such a lock
 * while it waits for an answer that only a dead worker thread would have sent. The stuck
 * thread keeps the process's file table, so /dev/fuse is never closed, the kernel never
 * aborts the connection, and nothing ever answers: the writer stays in D state, the
 * notifier waits for it, and `wait $pid` waits for ever. The kernel offers no way to make
 * those waits killable; the one way out is to abort the connection through fusectl
 * (/sys/fs/fuse/connections/<n>/abort): every waiting request then fails with ENOTCONN,
 * the lock holders let go, the stuck thread returns and the process exits.
 *
 * How. After the mount, the daemon forks this watchdog. It keeps only the read end of a
 * pipe (every other descriptor is closed at once: it must not hold /dev/fuse, the state
 * directory's lock or the parent's pipe) and the connection number (the minor of the
 * mount's st_dev, read with AT_STATX_DONT_SYNC: a plain stat would wait for the loop).
 * Every WATCH_MS it looks at the daemon in /proc/<pid>/status: a zombie main thread (or
 * a SIGKILL pending, should the main thread be the stuck one, as with -s) seen twice in a
 * row while the pipe is still open means that the daemon was killed and something keeps
 * it from ending (the other threads are gone within milliseconds), so it writes 1 to the
 * connection's abort file (mounting fusectl there first if it is not, which needs root;
 * the abort file belongs to the mounting user). A byte on the pipe (fs_watchdog_stop: a
 * clean shutdown) or its end of file (the daemon is gone entirely) ends the watchdog.
 * After fork only async-signal-safe calls are made (the daemon has threads): no stdio,
 * no malloc.
 *
 * Cost: one process, a poll(2) and a read of /proc/<pid>/status every WATCH_MS. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fs_internal.h"

#define WATCH_MS 100
#define FUSECTL_DIR "/sys/fs/fuse/connections"

static int watch_fd = -1;    /* the daemon's write end of the pipe */
static pid_t watch_pid = -1; /* the watchdog */
#define NO_CONN (~0UL)
static unsigned long watch_conn = NO_CONN; /* the connection (fs_watchdog_prepare) */

/* Appends the decimal digits of v to buf at *pos (async-signal-safe). */
static void put_u(char *buf, size_t len, size_t *pos, unsigned long v)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n < sizeof(tmp));
	while (n && *pos + 1 < len)
		buf[(*pos)++] = tmp[--n];
	buf[*pos] = '\0';
}

static void put_s(char *buf, size_t len, size_t *pos, const char *s)
{
	while (*s && *pos + 1 < len)
		buf[(*pos)++] = *s++;
	buf[*pos] = '\0';
}

static void say(const char *msg)
{
	if (write(2, msg, strlen(msg)) < 0) {
		/* nobody to tell */
	}
}

/* The hexadecimal value after "name:" in a /proc status text, 0 when absent. */
static unsigned long long hex_field(const char *text, const char *name)
{
	const char *p = strstr(text, name);
	unsigned long long v = 0;
	if (!p)
		return 0;
	for (p += strlen(name); *p == '\t' || *p == ' '; p++)
		;
	for (;; p++) {
		int d = *p >= '0' && *p <= '9'	 ? *p - '0'
			: *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
						 : -1;
		if (d < 0)
			return v;
		v = v << 4 | (unsigned)d;
	}
}

/* 1: the daemon was killed (its main thread is a zombie, or it has SIGKILL pending: the
 * main thread itself may be the stuck one with -s); 0: alive; -1: gone (reaped). */
static int daemon_killed(const char *status_path)
{
	char buf[2048];
	int fd = open(status_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	const char *st = strstr(buf, "\nState:");
	if (st && (strncmp(st, "\nState:\tZ", 10) == 0 || strncmp(st, "\nState:\tX", 10) == 0))
		return 1;
	unsigned long long kill_bit = 1ULL << (SIGKILL - 1);
	return ((hex_field(buf, "\nSigPnd:") | hex_field(buf, "\nShdPnd:")) & kill_bit) != 0;
}

static int abort_connection(unsigned long conn)
{
	char path[128];
	size_t pos = 0;
	put_s(path, sizeof(path), &pos, FUSECTL_DIR "/");
	put_u(path, sizeof(path), &pos, conn);
	put_s(path, sizeof(path), &pos, "/abort");
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT &&
	    mount("fusectl", FUSECTL_DIR, "fusectl", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0)
		fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int ok = write(fd, "1", 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

static void watch(int rd, pid_t daemon, unsigned long conn)
{
	char status_path[64];
	size_t pos = 0;
	int aborted = 0, seen = 0;
	put_s(status_path, sizeof(status_path), &pos, "/proc/");
	put_u(status_path, sizeof(status_path), &pos, (unsigned long)daemon);
	put_s(status_path, sizeof(status_path), &pos, "/status");
	for (;;) {
		struct pollfd p = {rd, POLLIN, 0};
		int rc = poll(&p, 1, WATCH_MS);
		if (rc > 0)
			return; /* a byte (clean shutdown) or end of file (the daemon is gone) */
		if (rc < 0 && errno != EINTR)
			return;
		int killed = daemon_killed(status_path);
		if (killed < 0)
			return; /* reaped: nothing left to abort */
		seen = killed ? seen + 1 : 0;
		if (seen >= 2 && !aborted) {
			/* Killed a WATCH_MS ago, yet the pipe is open: a thread is stuck in the
			 * kernel (the others are gone within a few milliseconds). */
			if (abort_connection(conn) == 0)
				say("claimfs: watchdog: the killed daemon did not end (a thread "
				    "waits in "
				    "the kernel); its FUSE connection was aborted\n");
			else
				say("claimfs: watchdog: the killed daemon did not end (a thread "
				    "waits in "
				    "the kernel), and its FUSE connection could not be aborted (is "
				    "fusectl mounted on " FUSECTL_DIR "?)\n");
			aborted = 1;
		}
	}
}

int fs_watchdog_prepare(const char *mountpoint)
{
	struct statx stx;
	/* AT_STATX_DONT_SYNC: the attributes the kernel has, without a FUSE request (the
	 * loop that would answer one is not running yet) */
	if (statx(AT_FDCWD, mountpoint, AT_STATX_DONT_SYNC, 0, &stx) < 0)
		return -errno;
	if (stx.stx_dev_major != 0)
		return -ENODEV; /* not the anonymous device of a FUSE mount */
	watch_conn = stx.stx_dev_minor;
	return 0;
}

int fs_watchdog_start(void)
{
	int p[2];
	if (watch_conn == NO_CONN)
		return -EINVAL;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t daemon = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return -e;
	}
	if (pid == 0) {
		/* Only the pipe's read end stays (as descriptor 3); stdio stays for messages. */
		int rd = p[0] == 3 ? 3 : dup2(p[0], 3);
		if (rd < 0)
			_exit(1);
		close_range(4, UINT_MAX, 0);
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		setsid(); /* a signal to the daemon's process group is not for it */
		watch(rd, daemon, watch_conn);
		_exit(0);
	}
	close(p[0]);
	watch_fd = p[1];
	watch_pid = pid;
	return 0;
}

void fs_watchdog_stop(void)
{
	if (watch_fd < 0)
		return;
	if (write(watch_fd, "q", 1) != 1) {
		/* the watchdog is gone already */
	}
	close(watch_fd);
	watch_fd = -1;
	waitpid(watch_pid, NULL, WNOHANG); /* usually not ended yet: init reaps it later */
	watch_pid = -1;
}
