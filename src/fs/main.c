/* main.c - the claimfs daemon: command line, the cluster (cluster_open), the FUSE
 * session (mount, multi-threaded loop), clean unmount on SIGINT/SIGTERM/SIGHUP, and
 * detaching into the background.
 *
 * Exit status: 0 after a clean unmount (fusermount -u or a signal), 2 for a bad command
 * line, 1 for anything else (state directory in use, bad cluster file, mount failure).
 *
 * Detaching. The mount must exist when the command returns, and errors (a second daemon
 * on the same state, a bad --cluster file, a failed mount) must reach the terminal with
 * the right exit status. cluster_open starts the cluster's timer thread, which a later
 * fork (fuse_daemonize) would lose, and it must run before the mount. So without -f the
 * process forks first: the child opens the cluster, mounts, then reports success through
 * a pipe and detaches (setsid, stdio to /dev/null: what fuse_daemonize does after the
 * mount); the parent waits for that report and exits with the child's status. Errors are
 * printed by the child while its stderr is still the terminal.
 *
 * Once mounted, a watchdog process (fs_watchdog.c) makes sure that kill -9 ends the
 * daemon even when one of its threads is stuck in the kernel. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "claimfs/error.h"
#include "fs_internal.h"

#define CLAIMFS_VERSION "0.1.0"

static int ready_fd = -1; /* write end of the pipe to the waiting parent */

/* Forks; the parent waits for the child's status byte and exits with it. */
static void background(void)
{
	int p[2];
	unsigned char status = 1;
	if (pipe(p) < 0) {
		fprintf(stderr, "claimfs: cannot create a pipe: %s\n", strerror(errno));
		exit(1);
	}
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "claimfs: cannot fork: %s\n", strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &status, 1) != 1)
			status = 1; /* the child died before reporting */
		_exit(status);
	}
	close(p[0]);
	ready_fd = p[1];
	setsid();
}

/* Tells the waiting parent how it went; on success detaches from the terminal. */
static void report(unsigned char status)
{
	if (ready_fd < 0)
		return;
	if (status == 0) {
		int null = open("/dev/null", O_RDWR);
		if (chdir("/") < 0) {
			/* stays where it is; nothing uses relative paths after this */
		}
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			if (null > 2)
				close(null);
		}
	}
	if (write(ready_fd, &status, 1) != 1) {
		/* the parent is gone; nothing to tell */
	}
	close(ready_fd);
	ready_fd = -1;
}

/* libfuse's arguments: fsname/subtype, -o options (allow_other brings
 * default_permissions), -d. */
static void fuse_argv(const struct fs_cmdline *cmd, const char *prog, struct fuse_args *args)
{
	struct strbuf o = STRBUF_INIT;
	sb_adds(&o, "fsname=claimfs,subtype=claimfs");
	if (cmd->allow_other)
		sb_adds(&o, ",default_permissions");
	if (cmd->fuse_opts.len)
		sb_addf(&o, ",%s", sb_str(&cmd->fuse_opts));
	fuse_opt_add_arg(args, prog);
	fuse_opt_add_arg(args, "-o");
	fuse_opt_add_arg(args, sb_str(&o));
	if (cmd->debug)
		fuse_opt_add_arg(args, "-d");
	sb_release(&o);
}

/* -s: libfuse's single-threaded loop; otherwise claimfs's own (fs_loop.c). */
static int run_loop(struct fs *fs)
{
	return fs->single_thread ? fuse_session_loop(fs->se) : fs_loop_run(fs);
}

int main(int argc, char **argv)
{
	struct fs_cmdline cmd;
	struct cfs_err err = {{0}};
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fs fs;
	char *state_dir = NULL;
	int status = 1, rc;

	if (fs_cmdline_parse(argc, argv, &cmd, &err) < 0) {
		fprintf(stderr, "claimfs: %s\nTry 'claimfs --help' for more information.\n",
			err.msg);
		fs_cmdline_release(&cmd);
		return 2;
	}
	if (cmd.show_help) {
		fs_usage(stdout, "claimfs");
		fs_cmdline_release(&cmd);
		return 0;
	}
	if (cmd.show_version) {
		printf("claimfs %s\nFUSE library version %s\n", CLAIMFS_VERSION, fuse_pkgversion());
		fs_cmdline_release(&cmd);
		return 0;
	}

	memset(&fs, 0, sizeof(fs));
	fs.uid = getuid();
	fs.gid = getgid();
	fs.no_cache = cmd.no_cache;
	fs.single_thread = cmd.single_thread;
	fs.debug = cmd.debug;

	/* libfuse checks the -o options here, before anything is opened (exit 2). */
	fuse_argv(&cmd, argv[0], &args);
	fs.se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), &fs);
	if (!fs.se) {
		fprintf(stderr, "claimfs: invalid mount options \"%s\"\n", sb_str(&cmd.fuse_opts));
		status = 2;
		goto out_args;
	}
	if (cmd.state_dir) {
		state_dir = xstrdup(cmd.state_dir);
	} else if (!(state_dir = fs_default_state_dir(&err))) {
		fprintf(stderr, "claimfs: %s\n", err.msg);
		goto out_session;
	}

	if (!cmd.foreground)
		background();

	struct cluster_options copts = {
	    .state_dir = state_dir,
	    .cluster_file = cmd.cluster_file,
	    .pod_start_delay_ms = cmd.pod_start_delay_ms,
	    .provision_delay_ms = cmd.provision_delay_ms,
	    .max_objects = cmd.max_objects,
	    .max_replicas = cmd.max_replicas,
	    .hot_objects = cmd.hot_objects,
	    .evict_at_unlock = cmd.evict_eagerly,
	    .quiet = 0,
	};
	/* The signals that end the daemon reach the main thread only (fs_loop.c): the
	 * threads started from here on (timer, committer, notifier) are born blocking them. */
	sigset_t stop_sigs, open_mask;
	fs_stop_signals(&stop_sigs);
	pthread_sigmask(SIG_BLOCK, &stop_sigs, &open_mask);
	rc = cluster_open(&copts, &fs.cl, &err);
	if (rc < 0) {
		fprintf(stderr, "claimfs: %s\n", err.msg[0] ? err.msg : strerror(-rc));
		goto out_session;
	}
	fs.nodes = fs_nodes_new();
	fs.notify = fs_notify_new(&fs);
	fs.data = fs_data_new(&fs);
	if (fuse_set_signal_handlers(fs.se) != 0) {
		fprintf(stderr, "claimfs: cannot install signal handlers\n");
		goto out_cluster;
	}
	if (fuse_session_mount(fs.se, cmd.mountpoint) != 0) {
		/* libfuse printed why */
		goto out_signals;
	}
	if (fs_notify_start(fs.notify) < 0) {
		fprintf(stderr, "claimfs: cannot start the notifier threads\n");
		goto out_unmount;
	}
	/* kill -9 must end the daemon even with a thread stuck in the kernel (fs_watchdog.c):
	 * forked once report() detached stdio, with the path as it was before its chdir("/") */
	rc = fs_watchdog_prepare(cmd.mountpoint);
	report(0);
	if (rc == 0)
		rc = fs_watchdog_start();
	if (rc < 0)
		fprintf(stderr, "claimfs: warning: no watchdog: %s\n", strerror(-rc));
	pthread_sigmask(SIG_SETMASK, &open_mask, NULL);
	rc = run_loop(&fs);
	fs_watchdog_stop();
	/* > 0: the signal that ended the loop (a clean unmount); < 0: an error. */
	status = rc < 0 ? 1 : 0;
	fs_notify_stop(fs.notify);
out_unmount:
	fuse_session_unmount(fs.se);
out_signals:
	fuse_remove_signal_handlers(fs.se);
out_cluster:
	fs_notify_stop(fs.notify);
	fs_notify_free(fs.notify);
	fs_data_free(fs.data); /* its volume references, before the cluster closes them */
	cluster_close(fs.cl);
	fs_nodes_free(fs.nodes);
out_session:
	fuse_session_destroy(fs.se);
out_args:
	report((unsigned char)(status ? status : 1));
	fuse_opt_free_args(&args);
	free(state_dir);
	fs_cmdline_release(&cmd);
	return status;
}
