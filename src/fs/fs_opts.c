/* fs_opts.c - the command line: options, Go-style durations, the default state directory
 * and the --help text. Parsing only: nothing is opened or mounted here.
 * Errors: -1 with a message in err (lowercase, the problem first); main() exits 2. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "claimfs/error.h"
#include "fs_internal.h"

enum {
	OPT_STATE = 256,
	OPT_CLUSTER,
	OPT_POD_START_DELAY,
	OPT_PROVISION_DELAY,
	OPT_MAX_OBJECTS,
	OPT_MAX_REPLICAS,
	OPT_HOT_OBJECTS,
	OPT_EVICT_EAGERLY,
	OPT_NO_CACHE,
};

static const struct option long_opts[] = {
    {"state", required_argument, NULL, OPT_STATE},
    {"cluster", required_argument, NULL, OPT_CLUSTER},
    {"pod-start-delay", required_argument, NULL, OPT_POD_START_DELAY},
    {"provision-delay", required_argument, NULL, OPT_PROVISION_DELAY},
    {"max-objects", required_argument, NULL, OPT_MAX_OBJECTS},
    {"max-replicas", required_argument, NULL, OPT_MAX_REPLICAS},
    {"hot-objects", required_argument, NULL, OPT_HOT_OBJECTS},
    {"evict-eagerly", no_argument, NULL, OPT_EVICT_EAGERLY},
    {"no-cache", no_argument, NULL, OPT_NO_CACHE},
    {"foreground", no_argument, NULL, 'f'},
    {"debug", no_argument, NULL, 'd'},
    {"single-thread", no_argument, NULL, 's'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

void fs_usage(FILE *out, const char *prog)
{
	fprintf(
	    out,
	    "usage: %s [options] MOUNTPOINT\n"
	    "\n"
	    "Mounts a simulated Kubernetes storage control plane (claims, volumes, storage\n"
	    "classes, StatefulSets, pods) as files. See MOUNTPOINT/README once mounted.\n"
	    "\n"
	    "options:\n"
	    "  --state DIR              state directory (default $XDG_STATE_HOME/claimfs,\n"
	    "                           else ~/.local/state/claimfs); one daemon per directory\n"
	    "  --cluster FILE           manifest stream applied when the state is new\n"
	    "                           (default: a built-in cluster of three nodes)\n"
	    "  --pod-start-delay DUR    simulated container start time (e.g. 500ms, 2s, 1m30s)\n"
	    "  --provision-delay DUR    simulated volume provisioning time\n"
	    "  --max-objects N          refuse creations beyond N objects (default %d)\n"
	    "  --max-replicas N         refuse more than N replicas per workload (default %d)\n"
	    "  --hot-objects N          objects kept decoded in memory; the others are kept as\n"
	    "                           compact text and decoded when read (default %d)\n"
	    "  --evict-eagerly          make objects cold whenever the lock is let go, not when\n"
	    "                           idle (a debugging aid: nearly every read decodes)\n"
	    "  --no-cache               no kernel caching at all (a debugging aid)\n"
	    "  -o OPT[,OPT...]          mount options (allow_other, ro, ...); allow_other also\n"
	    "                           turns on default_permissions\n"
	    "  -f, --foreground         stay in the foreground\n"
	    "  -d, --debug              print every FUSE request and each change of the request\n"
	    "                           loop's mode (implies -f)\n"
	    "  -s, --single-thread      serve requests from one thread\n"
	    "  -h, --help               print this help and exit\n"
	    "  -V, --version            print the version and exit\n",
	    prog, CLUSTER_DEFAULT_MAX_OBJECTS, CLUSTER_DEFAULT_MAX_REPLICAS,
	    CLUSTER_DEFAULT_HOT_OBJECTS);
}

/* Go's time.ParseDuration units, in nanoseconds. */
static const struct {
	const char *name;
	double ns;
} units[] = {
    {"ns", 1},	 {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
    {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},	  {"h", 3600e9},
};

int fs_parse_duration(const char *s, int64_t *ms)
{
	const char *p = s;
	double total = 0;
	if (!s || !*s)
		return -EINVAL;
	if (*p == '+')
		p++;
	if (strcmp(p, "0") == 0) {
		*ms = 0;
		return 0;
	}
	if (!*p)
		return -EINVAL;
	while (*p) {
		char *end;
		size_t i, best = 0, bestlen = 0;
		if (!((*p >= '0' && *p <= '9') || *p == '.'))
			return -EINVAL;
		errno = 0;
		double v = strtod(p, &end);
		if (end == p || errno || !(v >= 0 && v < 1e30))
			return -EINVAL;
		p = end;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t n = strlen(units[i].name);
			if (strncmp(p, units[i].name, n) == 0 && n > bestlen) {
				best = i;
				bestlen = n;
			}
		}
		if (!bestlen)
			return -EINVAL; /* a number without a unit */
		total += v * units[best].ns;
		p += bestlen;
	}
	double v = total / 1e6; /* rounded up: 500us is 1ms, not no delay */
	if (v > 1e15)
		return -ERANGE;
	int64_t r = (int64_t)v;
	if ((double)r < v)
		r++;
	*ms = r;
	return 0;
}

static int parse_count(const char *s, size_t *out)
{
	char *end;
	if (!s || !*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || errno)
		return -EINVAL;
	if (v == 0 || v > SIZE_MAX / 2)
		return -ERANGE;
	*out = (size_t)v;
	return 0;
}

/* Appends -o options to cmd->fuse_opts and notices allow_other. */
static void add_fuse_opts(struct fs_cmdline *cmd, const char *opts)
{
	char *copy = xstrdup(opts), *save = NULL, *tok;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "allow_other") == 0)
			cmd->allow_other = 1;
		if (cmd->fuse_opts.len)
			sb_addc(&cmd->fuse_opts, ',');
		sb_adds(&cmd->fuse_opts, tok);
	}
	free(copy);
}

int fs_cmdline_parse(int argc, char **argv, struct fs_cmdline *cmd, struct cfs_err *err)
{
	int c, rc;
	memset(cmd, 0, sizeof(*cmd));
	sb_init(&cmd->fuse_opts);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":o:fdshV", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_STATE:
			if (!*optarg)
				return cfs_errorf(err, -1, "--state needs a directory");
			cmd->state_dir = optarg;
			break;
		case OPT_CLUSTER:
			if (!*optarg)
				return cfs_errorf(err, -1, "--cluster needs a file");
			cmd->cluster_file = optarg;
			break;
		case OPT_POD_START_DELAY:
		case OPT_PROVISION_DELAY:
			rc = fs_parse_duration(optarg, c == OPT_POD_START_DELAY
							   ? &cmd->pod_start_delay_ms
							   : &cmd->provision_delay_ms);
			if (rc < 0)
				return cfs_errorf(
				    err, -1,
				    "invalid duration \"%s\" for --%s: use a number "
				    "with a unit (ns, us, ms, s, m, h), e.g. 500ms or 1m30s",
				    optarg,
				    c == OPT_POD_START_DELAY ? "pod-start-delay"
							     : "provision-delay");
			break;
		case OPT_MAX_OBJECTS:
		case OPT_MAX_REPLICAS:
		case OPT_HOT_OBJECTS:
			if (parse_count(optarg, c == OPT_MAX_OBJECTS	? &cmd->max_objects
						: c == OPT_MAX_REPLICAS ? &cmd->max_replicas
									: &cmd->hot_objects) < 0)
				return cfs_errorf(
				    err, -1,
				    "invalid count \"%s\" for --%s: must be a positive "
				    "integer",
				    optarg,
				    c == OPT_MAX_OBJECTS    ? "max-objects"
				    : c == OPT_MAX_REPLICAS ? "max-replicas"
							    : "hot-objects");
			break;
		case OPT_NO_CACHE:
			cmd->no_cache = 1;
			break;
		case OPT_EVICT_EAGERLY:
			cmd->evict_eagerly = 1;
			break;
		case 'o':
			add_fuse_opts(cmd, optarg);
			break;
		case 'f':
			cmd->foreground = 1;
			break;
		case 'd':
			cmd->debug = 1;
			cmd->foreground = 1;
			break;
		case 's':
			cmd->single_thread = 1;
			break;
		case 'h':
			cmd->show_help = 1;
			break;
		case 'V':
			cmd->show_version = 1;
			break;
		case ':':
			if (optopt > 0 && optopt < 256)
				return cfs_errorf(err, -1, "option -%c needs a value", optopt);
			return cfs_errorf(err, -1, "option %s needs a value", argv[optind - 1]);
		default:
			if (optopt > 0 && optopt < 256)
				return cfs_errorf(err, -1, "unknown option -%c", optopt);
			return cfs_errorf(err, -1, "unknown option %s", argv[optind - 1]);
		}
	}
	if (cmd->show_help || cmd->show_version)
		return 0;
	if (optind >= argc)
		return cfs_errorf(err, -1, "missing mount point");
	if (optind + 1 < argc)
		return cfs_errorf(err, -1, "unexpected argument \"%s\" after the mount point",
				  argv[optind + 1]);
	cmd->mountpoint = argv[optind];
	if (!*cmd->mountpoint)
		return cfs_errorf(err, -1, "missing mount point");
	return 0;
}

void fs_cmdline_release(struct fs_cmdline *cmd)
{
	sb_release(&cmd->fuse_opts);
}

/* mkdir -p for the parents of the default state directory (0700 as XDG asks). */
static int make_parents(char *path, struct cfs_err *err)
{
	char *p;
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			int e = errno;
			cfs_errorf(err, -e, "cannot create %s: %s", path, strerror(e));
			*p = '/';
			return -e;
		}
		*p = '/';
	}
	return 0;
}

char *fs_default_state_dir(struct cfs_err *err)
{
	struct strbuf sb = STRBUF_INIT;
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	if (xdg && xdg[0] == '/') {
		sb_addf(&sb, "%s/claimfs", xdg);
	} else {
		if (!home || !*home) {
			struct passwd *pw = getpwuid(getuid());
			home = pw ? pw->pw_dir : NULL;
		}
		if (!home || !*home) {
			cfs_errorf(err, -ENOENT,
				   "no home directory to keep the state in: use --state DIR");
			return NULL;
		}
		sb_addf(&sb, "%s/.local/state/claimfs", home);
	}
	char *path = sb_detach(&sb, NULL);
	if (make_parents(path, err) < 0) {
		free(path);
		return NULL;
	}
	return path;
}
