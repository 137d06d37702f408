/* writer.c - durable single-object writes for the benchmark: what `cp claim.yaml DIR/`
 * costs, one writer and several in parallel, and the same for plain fdatasync on the
 * state disk (the limit for durability).
 *
 *   writer claim DIR PREFIX COUNT THREADS [WARM_MS]
 *        COUNT claims in all, each one file DIR/PREFIX-<t>-<i>.yaml written whole and
 *        closed (claimfs applies it at close(2) and returns once it is durable)
 *   writer fsync DIR PREFIX COUNT THREADS [WARM_MS]
 *        COUNT appends of 256 bytes + fdatasync, one file DIR/PREFIX-<t>.dat per thread
 *
 * WARM_MS (default 0): each thread first does the same operations, untimed (claims named
 * PREFIX-w<t>-<i>), for WARM_MS milliseconds, and the timed COUNT start together once
 * every thread is warm. A new writer process is often slower at first on this VM (its
 * first hundred claims 30-50 % slower than the rest with one writer; the fsync mode's
 * too, so not claimfs's: docs/performance.md, Eight writers), so rates compared with
 * one another are taken warm.
 *
 * Prints one JSON object: {"ops":N,"threads":T,"seconds":S,"ops_per_s":R,"lat_ms":{"mean":,
 * "median":,"p90":,"p99":,"max":},"warm_ops":W} (W: the untimed operations) and exits 1
 * at the first failed operation (with the errno on stderr). Built by scripts/bench.sh,
 * not by the Makefile. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct worker {
	pthread_t tid;
	int t;		/* thread number */
	long count;	/* operations of this thread */
	double *lat_ms; /* one per operation; owned by main */
	long warm_ops;	/* untimed operations before them */
	int failed;	/* errno of the first failure */
};

static const char *mode, *dir, *prefix;
static double warm_ms;
static pthread_barrier_t warm; /* every thread warm, and main: the timed part begins */

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int one_claim(const char *tag, int t, long i)
{
	char path[4096], name[256], doc[1024];
	snprintf(name, sizeof(name), "%s-%s%d-%ld", prefix, tag, t, i);
	snprintf(path, sizeof(path), "%s/%s.yaml", dir, name);
	int len = snprintf(doc, sizeof(doc),
			   "apiVersion: v1\n"
			   "kind: PersistentVolumeClaim\n"
			   "metadata:\n"
			   "  name: %s\n"
			   "spec:\n"
			   "  accessModes: [ReadWriteOnce]\n"
			   "  resources:\n"
			   "    requests:\n"
			   "      storage: 1Mi\n",
			   name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -errno;
	int rc = write_all(fd, doc, (size_t)len);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

static int one_fsync(int fd)
{
	static const char rec[256] = "claimfs benchmark record\n";
	int rc = write_all(fd, rec, sizeof(rec));
	if (rc == 0 && fdatasync(fd) < 0)
		rc = -errno;
	return rc;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	int fd = -1, rc = 0;
	if (!strcmp(mode, "fsync")) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s-%d.dat", dir, prefix, w->t);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
		if (fd < 0)
			rc = -errno;
	}
	double start = now_ms();
	for (long i = 0; rc == 0 && warm_ms > 0 && now_ms() - start < warm_ms; i++) {
		rc = fd >= 0 ? one_fsync(fd) : one_claim("w", w->t, i);
		w->warm_ops++;
	}
	if (rc < 0)
		w->failed = -rc;
	pthread_barrier_wait(&warm); /* even after a failure: main waits here too */
	for (long i = 0; !w->failed && i < w->count; i++) {
		double t0 = now_ms();
		rc = fd >= 0 ? one_fsync(fd) : one_claim("", w->t, i);
		w->lat_ms[i] = now_ms() - t0;
		if (rc < 0) {
			w->failed = -rc;
			break;
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if ((argc != 6 && argc != 7) || (strcmp(argv[1], "claim") && strcmp(argv[1], "fsync"))) {
		fprintf(stderr, "usage: writer claim|fsync DIR PREFIX COUNT THREADS [WARM_MS]\n");
		return 2;
	}
	mode = argv[1];
	dir = argv[2];
	prefix = argv[3];
	long count = atol(argv[4]);
	int threads = atoi(argv[5]);
	warm_ms = argc == 7 ? atof(argv[6]) : 0;
	if (count < 1 || threads < 1 || threads > 256 || warm_ms < 0) {
		fprintf(stderr, "writer: bad COUNT, THREADS or WARM_MS\n");
		return 2;
	}
	double *lat = calloc((size_t)count, sizeof(double));
	struct worker *w = calloc((size_t)threads, sizeof(*w));
	if (!lat || !w)
		return 1;
	long done = 0;
	for (int t = 0; t < threads; t++) {
		w[t].t = t;
		w[t].count = count / threads + (t < count % threads);
		w[t].lat_ms = lat + done;
		done += w[t].count;
	}
	pthread_barrier_init(&warm, NULL, (unsigned)threads + 1);
	for (int t = 0; t < threads; t++)
		if (pthread_create(&w[t].tid, NULL, run, &w[t]) != 0) {
			fprintf(stderr, "writer: cannot start a thread\n");
			return 1;
		}
	pthread_barrier_wait(&warm);
	double t0 = now_ms();
	long warm_ops = 0;
	for (int t = 0; t < threads; t++) {
		pthread_join(w[t].tid, NULL);
		warm_ops += w[t].warm_ops;
	}
	double secs = (now_ms() - t0) / 1e3;
	for (int t = 0; t < threads; t++) {
		if (w[t].failed) {
			fprintf(stderr, "writer: %s in %s: %s\n", mode, dir, strerror(w[t].failed));
			return 1;
		}
	}
	double sum = 0;
	for (long i = 0; i < count; i++)
		sum += lat[i];
	qsort(lat, (size_t)count, sizeof(double), cmp);
	printf("{\"ops\":%ld,\"threads\":%d,\"seconds\":%.6f,\"ops_per_s\":%.1f,"
	       "\"lat_ms\":{\"mean\":%.4f,\"median\":%.4f,\"p90\":%.4f,\"p99\":%.4f,"
	       "\"max\":%.4f},\"warm_ops\":%ld}\n",
	       count, threads, secs, count / secs, sum / count, lat[count / 2],
	       lat[(long)(count * 0.9)], lat[(long)(count * 0.99)], lat[count - 1], warm_ops);
	free(lat);
	free(w);
	return 0;
}
