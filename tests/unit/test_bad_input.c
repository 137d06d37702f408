/* test_bad_input.c - bad input never hurts: every entry of the corpus in tests/data/bad
 * (described by tests/data/bad/EXPECT) is applied to a real cluster and must be refused
 * with the listed errno and a reason that names the source, the line (and column) and the
 * problem; nothing may change (every object, every kind, the resourceVersion and every
 * event but one FailedApply line, which must be there). Inputs too big to commit (100,000
 * levels of nesting, multi-megabyte scalars, > 16 MiB, a stream of 5,000 documents) are
 * made by gen_input() below. Also: the configurable limits, every entry in a row against
 * one cluster that must keep working, and the corpus itself (each file has an entry).
 * The corpus directory is $CLAIMFS_BAD_DIR, else tests/data/bad (run from the root). */
#include "unit.h"
#include "claimfs/jsonalloc.h"
#include "fixture.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

#define MAX_SUBS 6
#define MAX_SETUPS 4

struct entry {
	char *name;		  /* file of the corpus, or @generated */
	int err;		  /* expected negative errno */
	int line, col;		  /* expected position; 0: none given */
	char *scope;		  /* KIND[/NS[/NAME]] or NULL */
	char *setups[MAX_SETUPS]; /* files of setup/ applied first */
	int nsetups;
	char *del;	       /* KIND/NS/NAME deleted after the setup, or NULL */
	long max_objects_plus; /* > 0: limit = objects after setup + this */
	long max_replicas;     /* > 0: the replica limit */
	char *subs[MAX_SUBS];  /* substrings of the reason */
	int nsubs;
	int expect_line; /* line of EXPECT, for messages */
};

static struct entry *entries;
static size_t nentries;

static const char *bad_dir(void)
{
	const char *d = getenv("CLAIMFS_BAD_DIR");
	return d && *d ? d : "tests/data/bad";
}

/* ---- reading files and EXPECT ------------------------------------------------------- */

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct strbuf sb = STRBUF_INIT;
	char buf[65536];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sb_add(&sb, buf, n);
	fclose(f);
	*len = sb.len;
	return sb_detach(&sb, NULL);
}

static int errno_of(const char *s)
{
	static const struct {
		const char *name;
		int err;
	} tab[] = {{"EINVAL", EINVAL}, {"EFBIG", EFBIG},   {"ENOENT", ENOENT},
		   {"EPERM", EPERM},   {"ENOSPC", ENOSPC}, {"EEXIST", EEXIST}};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(s, tab[i].name) == 0)
			return -tab[i].err;
	return 0;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Parses one line of EXPECT into e; returns 0, or -1 with a reason in why. */
static int parse_entry(char *line, struct entry *e, char *why, size_t len)
{
	char *subs = strstr(line, " :: "), *tok, *save = NULL;
	int field = 0;

	if (!subs)
		return snprintf(why, len, "no \" :: \" before the reason substrings"), -1;
	*subs = '\0';
	subs += 4;
	for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save), field++) {
		if (field == 0) {
			e->name = xstrdup(tok);
		} else if (field == 1) {
			if (!(e->err = errno_of(tok)))
				return snprintf(why, len, "unknown errno %s", tok), -1;
		} else if (field == 2) {
			if (strcmp(tok, "-") != 0 && sscanf(tok, "%d:%d", &e->line, &e->col) < 1)
				return snprintf(why, len, "bad position %s", tok), -1;
		} else if (strcmp(tok, "-") == 0) {
			continue;
		} else if (strncmp(tok, "scope=", 6) == 0) {
			e->scope = xstrdup(tok + 6);
		} else if (strncmp(tok, "setup=", 6) == 0 && e->nsetups < MAX_SETUPS) {
			e->setups[e->nsetups++] = xstrdup(tok + 6);
		} else if (strncmp(tok, "delete=", 7) == 0) {
			e->del = xstrdup(tok + 7);
		} else if (strncmp(tok, "max-objects=+", 13) == 0) {
			e->max_objects_plus = atol(tok + 13);
		} else if (strncmp(tok, "max-replicas=", 13) == 0) {
			e->max_replicas = atol(tok + 13);
		} else {
			return snprintf(why, len, "unknown option %s", tok), -1;
		}
	}
	if (field < 3)
		return snprintf(why, len, "needs NAME ERRNO WHERE"), -1;
	for (char *s = subs; s && e->nsubs < MAX_SUBS;) {
		char *next = strstr(s, " :: ");
		if (next)
			*next = '\0';
		e->subs[e->nsubs++] = xstrdup(trim(s));
		s = next ? next + 4 : NULL;
	}
	return 0;
}

/* Loads EXPECT once (at suite creation, so the loop test knows how many entries). A
 * malformed line is fatal: the corpus must say exactly what it expects. */
static void load_expect(void)
{
	char path[4096], why[256];
	size_t len;
	int lineno = 0;

	snprintf(path, sizeof(path), "%s/EXPECT", bad_dir());
	char *text = read_file(path, &len);
	if (!text) {
		fprintf(stderr, "test_bad_input: cannot read %s\n", path);
		exit(1);
	}
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		char *l = trim(line);
		if (!*l || *l == '#')
			continue;
		entries = xrealloc(entries, (nentries + 1) * sizeof(*entries));
		struct entry *e = &entries[nentries];
		memset(e, 0, sizeof(*e));
		e->expect_line = lineno;
		if (parse_entry(l, e, why, sizeof(why)) < 0) {
			fprintf(stderr, "%s:%d: %s\n", path, lineno, why);
			exit(1);
		}
		nentries++;
	}
	free(text);
}

/* ---- generated inputs ---------------------------------------------------------------- */

#define MIB (1u << 20)

static void sb_rep(struct strbuf *sb, const char *s, size_t times)
{
	for (size_t i = 0; i < times; i++)
		sb_adds(sb, s);
}

static void sb_fill(struct strbuf *sb, char c, size_t n)
{
	char buf[4096];
	memset(buf, c, sizeof(buf));
	while (n > 0) {
		size_t k = n < sizeof(buf) ? n : sizeof(buf);
		sb_add(sb, buf, k);
		n -= k;
	}
}

/* The inputs named @... in EXPECT (tests/integration/test_bad_input.sh makes the same). */
static char *gen_input(const char *name, size_t *len)
{
	static const char cm[] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n";
	struct strbuf sb = STRBUF_INIT;

	if (strcmp(name, "@deep-flow-100000") == 0) {
		sb_adds(&sb, "x: ");
		sb_fill(&sb, '[', 100000);
		sb_fill(&sb, ']', 100000);
		sb_adds(&sb, "\n");
	} else if (strcmp(name, "@deep-flow-map-100000") == 0) {
		sb_adds(&sb, "x: ");
		sb_rep(&sb, "{a: ", 100000);
		sb_adds(&sb, "1");
		sb_fill(&sb, '}', 100000);
		sb_adds(&sb, "\n");
	} else if (strcmp(name, "@deep-block-seq-100000") == 0) {
		sb_adds(&sb, "x:\n");
		sb_rep(&sb, "- ", 100000);
		sb_adds(&sb, "1\n");
	} else if (strcmp(name, "@big-name-4MiB") == 0) {
		sb_adds(&sb, cm);
		sb_adds(&sb, "  name: ");
		sb_fill(&sb, 'a', 4 * MIB);
		sb_adds(&sb, "\n");
	} else if (strcmp(name, "@big-label-value-2MiB") == 0) {
		sb_adds(&sb, cm);
		sb_adds(&sb, "  name: big\n  labels:\n    app: ");
		sb_fill(&sb, 'v', 2 * MIB);
		sb_adds(&sb, "\n");
	} else if (strcmp(name, "@big-annotation-3MiB") == 0) {
		sb_adds(&sb, cm);
		sb_adds(&sb, "  name: big\n  annotations:\n    note: ");
		sb_fill(&sb, 'x', 3 * MIB);
		sb_adds(&sb, "\n");
	} else if (strcmp(name, "@big-key-1MiB") == 0) {
		sb_adds(&sb, cm);
		sb_adds(&sb, "  name: big\n  labels:\n    ? ");
		sb_fill(&sb, 'k', MIB);
		sb_adds(&sb, "\n    : v\n");
	} else if (strcmp(name, "@big-implicit-key-1MiB") == 0) {
		sb_adds(&sb, cm);
		sb_adds(&sb, "  name: big\n  labels:\n    ");
		sb_fill(&sb, 'k', MIB);
		sb_adds(&sb, ": v\n");
	} else if (strcmp(name, "@oversize-17MiB") == 0) {
		sb_adds(&sb, cm);
		sb_adds(&sb, "  name: big\ndata:\n  blob: ");
		sb_fill(&sb, 'z', 17 * MIB);
		sb_adds(&sb, "\n");
	} else if (strcmp(name, "@oversize-boundary") == 0) {
		/* Three good documents that end exactly at 16 MiB, then one more: a reader that
		 * cut the stream at the limit would apply the first three. */
		for (int i = 0; i < 3; i++)
			sb_addf(&sb,
				"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c%d\n",
				i);
		sb_adds(&sb, "# ");
		sb_fill(&sb, 'p', MANIFEST_MAX_BYTES - sb.len - 1);
		sb_adds(&sb, "\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: beyond\n");
	} else if (strcmp(name, "@many-docs-bad-last") == 0) {
		/* Five lines per document: the last one's name is on line 25000. */
		for (int i = 0; i < 4999; i++)
			sb_addf(&sb,
				"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg-%d\n",
				i);
		sb_adds(&sb, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad\n");
	} else {
		sb_release(&sb);
		return NULL;
	}
	*len = sb.len;
	return sb_detach(&sb, NULL);
}

static char *load_input(const struct entry *e, size_t *len)
{
	char path[4096];
	if (e->name[0] == '@')
		return gen_input(e->name, len);
	snprintf(path, sizeof(path), "%s/%s", bad_dir(), e->name);
	return read_file(path, len);
}

/* ---- the state of a cluster, as text ----------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every kind, every object (path and full JSON, sorted) and the last resourceVersion. */
static char *dump_objects(struct cluster *cl)
{
	struct strbuf out = STRBUF_INIT;
	char **lines = NULL;
	size_t nlines = 0, nk, i, j, n;

	cluster_lock(cl);
	struct store *st = cluster_store(cl);
	const struct kind *const *kinds = store_kinds(st, &nk);
	sb_addf(&out, "rv %llu, %zu objects, kinds:", (unsigned long long)store_rv(st),
		store_count(st));
	for (i = 0; i < nk; i++) {
		sb_addf(&out, " %s", kinds[i]->kind);
		struct object *const *objs = store_list(st, kinds[i], NULL, &n);
		for (j = 0; j < n; j++) {
			struct strbuf l = STRBUF_INIT;
			char *js = json_dumps(object_json(objs[j]), JSON_SORT_KEYS | JSON_COMPACT);
			object_path(objs[j], &l);
			sb_addf(&l, " rv=%llu %s\n", (unsigned long long)objs[j]->rv,
				js ? js : "?");
			jsonalloc_free(js);
			lines = xrealloc(lines, (nlines + 1) * sizeof(*lines));
			lines[nlines++] = sb_detach(&l, NULL);
		}
	}
	cluster_unlock(cl);
	sb_adds(&out, "\n");
	qsort(lines, nlines, sizeof(*lines), cmp_str);
	for (i = 0; i < nlines; i++) {
		sb_adds(&out, lines[i]);
		free(lines[i]);
	}
	free(lines);
	return sb_detach(&out, NULL);
}

static char *dump_events(struct cluster *cl)
{
	struct strbuf sb = STRBUF_INIT;
	cluster_lock(cl);
	eventlog_render(cluster_events(cl), &sb, NULL, 0);
	cluster_unlock(cl);
	return sb_detach(&sb, NULL);
}

/* The first line where a and b differ, for failure messages. */
static char *first_difference(const char *a, const char *b)
{
	const char *la = a, *lb = b;
	while (*a && *a == *b) {
		if (*a == '\n')
			la = a + 1, lb = b + 1;
		a++, b++;
	}
	char buf[600];
	snprintf(buf, sizeof(buf), "before: %.250s | after: %.250s", la, lb);
	for (char *p = buf; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return xstrdup(buf);
}

/* ---- one entry ------------------------------------------------------------------------- */

struct run {
	struct fixture fx;
	char source[512];
	struct apply_scope scope;
	int scoped;
	char *before_objs, *before_events;
	size_t limit; /* the configured limit the reason must name, 0: none */
};

static void apply_setup(struct run *r, const char *file)
{
	char path[4096], src[600];
	size_t len;
	snprintf(path, sizeof(path), "%s/setup/%s", bad_dir(), file);
	char *buf = read_file(path, &len);
	ck_assert_msg(buf != NULL, "cannot read %s", path);
	snprintf(src, sizeof(src), "setup/%s", file);
	int rc = cluster_apply(r->fx.cl, buf, len, src, NULL, &r->fx.err);
	ck_assert_msg(rc == 0, "setup %s failed (%d): %s", file, rc, r->fx.err.msg);
	free(buf);
}

/* "KIND/NS/NAME" -> parts (NS "-" or empty: cluster-scoped); s is changed. */
static void split_ref(char *s, char **kind, char **ns, char **name)
{
	*kind = s;
	*ns = *name = NULL;
	char *p = strchr(s, '/');
	if (p) {
		*p++ = '\0';
		*ns = p;
		if ((p = strchr(p, '/')) != NULL) {
			*p++ = '\0';
			*name = p;
		}
	}
	if (*ns && (!**ns || strcmp(*ns, "-") == 0))
		*ns = NULL;
}

static const struct kind *kind_named(struct cluster *cl, const char *kind)
{
	cluster_lock(cl);
	const struct kind *k = store_kind(cluster_store(cl), kind);
	cluster_unlock(cl);
	return k;
}

static void prepare_run(struct run *r, const struct entry *e, char *scope_buf)
{
	int i;

	fx_open(&r->fx);
	if (e->max_replicas > 0) {
		r->fx.opts.max_replicas = (size_t)e->max_replicas;
		r->limit = (size_t)e->max_replicas;
		fx_reopen(&r->fx);
	}
	for (i = 0; i < e->nsetups; i++)
		apply_setup(r, e->setups[i]);
	if (e->del) {
		char *d = xstrdup(e->del), *kind, *ns, *name;
		split_ref(d, &kind, &ns, &name);
		const struct kind *k = kind_named(r->fx.cl, kind);
		ck_assert_msg(k && name, "bad delete=%s", e->del);
		int rc = cluster_delete(r->fx.cl, k, ns, name, "setup", &r->fx.err);
		ck_assert_msg(rc == 0, "delete %s failed (%d): %s", e->del, rc, r->fx.err.msg);
		free(d);
	}
	if (e->max_objects_plus > 0) {
		cluster_lock(r->fx.cl);
		size_t have = store_count(cluster_store(r->fx.cl));
		cluster_unlock(r->fx.cl);
		r->limit = have + (size_t)e->max_objects_plus;
		r->fx.opts.max_objects = r->limit;
		fx_reopen(&r->fx);
	}
	snprintf(r->source, sizeof(r->source), "bad/%s", e->name);
	if (e->scope) {
		char *kind, *ns, *name;
		strcpy(scope_buf, e->scope);
		split_ref(scope_buf, &kind, &ns, &name);
		r->scope.kind = kind_named(r->fx.cl, kind);
		ck_assert_msg(r->scope.kind != NULL, "unknown kind in scope=%s", e->scope);
		r->scope.ns = ns;
		r->scope.name = name;
		r->scope.default_name = "from-file-name";
		r->scoped = 1;
	}
	r->before_objs = dump_objects(r->fx.cl);
	r->before_events = dump_events(r->fx.cl);
}

/* Applies e's input and checks everything the corpus promises. */
static void check_refused(struct run *r, const struct entry *e, const char *buf, size_t len)
{
	char want[700];
	struct cfs_err err;

	memset(&err, 0, sizeof(err));
	int rc = cluster_apply(r->fx.cl, buf, len, r->source, r->scoped ? &r->scope : NULL, &err);
	ck_assert_msg(rc == e->err, "%s (EXPECT:%d): want %s, got %d (%s): %s", e->name,
		      e->expect_line, strerror(-e->err), rc, rc ? strerror(-rc) : "accepted",
		      err.msg);

	/* The position: "source:line:col: ", "source:line:" or "source: ". */
	if (e->line && e->col)
		snprintf(want, sizeof(want), "%s:%d:%d: ", r->source, e->line, e->col);
	else if (e->line)
		snprintf(want, sizeof(want), "%s:%d:", r->source, e->line);
	else
		snprintf(want, sizeof(want), "%s: ", r->source);
	ck_assert_msg(strstr(err.msg, want) != NULL, "%s (EXPECT:%d): reason lacks \"%s\": %s",
		      e->name, e->expect_line, want, err.msg);
	for (int i = 0; i < e->nsubs; i++)
		ck_assert_msg(strstr(err.msg, e->subs[i]) != NULL,
			      "%s (EXPECT:%d): reason lacks \"%s\": %s", e->name, e->expect_line,
			      e->subs[i], err.msg);
	if (r->limit) {
		snprintf(want, sizeof(want), "%zu", r->limit);
		ck_assert_msg(strstr(err.msg, want) != NULL,
			      "%s: reason does not name the limit %zu: %s", e->name, r->limit,
			      err.msg);
	}
	ck_assert_msg(strchr(err.msg, '\n') == NULL, "%s: reason has a newline: %s", e->name,
		      err.msg);

	/* Nothing changed. */
	char *after_objs = dump_objects(r->fx.cl);
	if (strcmp(r->before_objs, after_objs) != 0) {
		char *d = first_difference(r->before_objs, after_objs);
		ck_abort_msg("%s (EXPECT:%d): refused input changed the state: %s", e->name,
			     e->expect_line, d);
	}
	free(after_objs);

	/* Exactly one new event: "<time> Warning FailedApply <source> <reason>". */
	char *after_events = dump_events(r->fx.cl);
	size_t nb = strlen(r->before_events);
	ck_assert_msg(strncmp(after_events, r->before_events, nb) == 0,
		      "%s: the earlier events changed", e->name);
	const char *added = after_events + nb;
	const char *nl = strchr(added, '\n');
	ck_assert_msg(nl && nl[1] == '\0', "%s: want exactly one new event line, got: %.600s",
		      e->name, added);
	snprintf(want, sizeof(want), " Warning FailedApply %s ", r->source);
	ck_assert_msg(strstr(added, want) != NULL, "%s: no FailedApply line: %.600s", e->name,
		      added);
	ck_assert_msg(strncmp(strstr(added, want) + strlen(want), err.msg, strlen(err.msg)) == 0,
		      "%s: the FailedApply line does not carry the reason: %.600s", e->name, added);
	free(after_events);
}

static void finish_run(struct run *r)
{
	free(r->before_objs);
	free(r->before_events);
	fx_close(&r->fx);
}

START_TEST(t_entry)
{
	const struct entry *e = &entries[_i];
	struct run r;
	char scope_buf[512];
	size_t len;

	memset(&r, 0, sizeof(r));
	char *buf = load_input(e, &len);
	ck_assert_msg(buf != NULL, "%s (EXPECT:%d): no such input", e->name, e->expect_line);
	prepare_run(&r, e, scope_buf);
	check_refused(&r, e, buf, len);
	/* The cluster still works: a good manifest goes through. */
	fx_apply_ok(&r.fx, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: still-alive\n");
	ck_assert_ptr_nonnull(fx_get(&r.fx, "ConfigMap", "default", "still-alive"));
	finish_run(&r);
	free(buf);
}
END_TEST

/* ---- the corpus itself ------------------------------------------------------------------ */

static int has_entry(const char *name)
{
	for (size_t i = 0; i < nentries; i++)
		if (strcmp(entries[i].name, name) == 0)
			return 1;
	return 0;
}

START_TEST(t_corpus_complete)
{
	char path[4096];
	size_t files = 0, i;
	struct dirent *de;
	DIR *d = opendir(bad_dir());

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", bad_dir(), de->d_name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
		    strcmp(de->d_name, "EXPECT") == 0 || strncmp(de->d_name, "README", 6) == 0)
			continue;
		files++;
		ck_assert_msg(has_entry(de->d_name), "%s has no entry in EXPECT", de->d_name);
	}
	closedir(d);
	ck_assert_uint_ge(files, 60);
	for (i = 0; i < nentries; i++) {
		const struct entry *e = &entries[i];
		size_t len;
		char *buf = load_input(e, &len);
		ck_assert_msg(buf != NULL, "EXPECT:%d: %s does not exist", e->expect_line, e->name);
		free(buf);
		ck_assert_msg(e->nsubs > 0 && *e->subs[0], "EXPECT:%d: no reason substring",
			      e->expect_line);
		for (int s = 0; s < e->nsetups; s++) {
			snprintf(path, sizeof(path), "%s/setup/%s", bad_dir(), e->setups[s]);
			ck_assert_msg(access(path, R_OK) == 0, "EXPECT:%d: no setup %s",
				      e->expect_line, path);
		}
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(strcmp(entries[j].name, e->name) != 0,
				      "EXPECT:%d: %s listed twice", e->expect_line, e->name);
	}
}
END_TEST

/* Every entry that needs no prior state, one after the other, against one cluster: the
 * state after all of them is the state before, and the cluster still takes good input. */
START_TEST(t_all_in_a_row)
{
	struct fixture fx;
	size_t i, tried = 0;

	fx_open(&fx);
	char *objs = dump_objects(fx.cl);
	for (i = 0; i < nentries; i++) {
		const struct entry *e = &entries[i];
		size_t len;
		char src[300];
		struct cfs_err err;
		if (e->nsetups || e->del || e->scope || e->max_objects_plus || e->max_replicas)
			continue;
		char *buf = load_input(e, &len);
		ck_assert_ptr_nonnull(buf);
		snprintf(src, sizeof(src), "bad/%s", e->name);
		int rc = cluster_apply(fx.cl, buf, len, src, NULL, &err);
		ck_assert_msg(rc < 0, "%s was accepted", e->name);
		free(buf);
		tried++;
	}
	ck_assert_uint_ge(tried, 40);
	char *after = dump_objects(fx.cl);
	ck_assert_str_eq(objs, after);
	free(after);
	free(objs);
	fx_apply_ok(&fx, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after-all\n");
	ck_assert_ptr_nonnull(fx_get(&fx, "ConfigMap", "default", "after-all"));
	fx_close(&fx);
}
END_TEST

/* ---- limits through cluster_options ---------------------------------------------------- */

START_TEST(t_limit_objects_exact)
{
	struct fixture fx;
	struct strbuf sb = STRBUF_INIT;

	fx_open(&fx);
	cluster_lock(fx.cl);
	size_t have = store_count(cluster_store(fx.cl));
	cluster_unlock(fx.cl);
	fx.opts.max_objects = have + 2;
	fx_reopen(&fx);
	/* Exactly up to the limit goes through... */
	fx_apply_ok(&fx, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n"
			 "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n");
	/* ...an update of existing objects is not a creation... */
	fx_apply_ok(&fx, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata: {k: v}\n");
	/* ...one more is refused, naming the limit. */
	int rc = fx_apply(&fx, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n");
	ck_assert_int_eq(rc, -ENOSPC);
	sb_addf(&sb, "%zu", have + 2);
	ck_assert_msg(strstr(fx.err.msg, sb_str(&sb)) && strstr(fx.err.msg, "--max-objects"), "%s",
		      fx.err.msg);
	ck_assert_ptr_null(fx_get(&fx, "ConfigMap", "default", "c"));
	ck_assert(fx_has_event(&fx, "FailedApply", "--max-objects"));
	sb_release(&sb);
	fx_close(&fx);
}
END_TEST

START_TEST(t_limit_replicas_exact)
{
	struct fixture fx;
	static const char sts[] =
	    "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\nspec:\n"
	    "  serviceName: db\n  replicas: %d\n  selector:\n    matchLabels: {app: db}\n"
	    "  template:\n    metadata:\n      labels: {app: db}\n    spec:\n      containers:\n"
	    "      - name: db\n        image: busybox\n";
	char buf[1024];

	fx_open(&fx);
	fx.opts.max_replicas = 3;
	fx_reopen(&fx);
	/* Created beyond the limit: refused at the value. */
	snprintf(buf, sizeof(buf), sts, 4);
	ck_assert_int_eq(fx_apply(&fx, buf), -ENOSPC);
	ck_assert_msg(strstr(fx.err.msg, "apply:7:13: spec.replicas: Invalid value: 4") &&
			  strstr(fx.err.msg, "no more than 3") &&
			  strstr(fx.err.msg, "--max-replicas"),
		      "%s", fx.err.msg);
	ck_assert_ptr_null(fx_get(&fx, "StatefulSet", "default", "db"));
	/* At the limit: fine. */
	snprintf(buf, sizeof(buf), sts, 3);
	fx_apply_ok(&fx, buf);
	/* Updated beyond the limit: refused at the value too, and nothing changes. */
	snprintf(buf, sizeof(buf), sts, 4);
	ck_assert_int_eq(fx_apply(&fx, buf), -ENOSPC);
	ck_assert_msg(strstr(fx.err.msg, "apply:7:13: spec.replicas: Invalid value: 4") &&
			  strstr(fx.err.msg, "no more than 3") &&
			  strstr(fx.err.msg, "--max-replicas"),
		      "%s", fx.err.msg);
	int64_t replicas = 0;
	struct object *o = fx_get(&fx, "StatefulSet", "default", "db");
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(jint(object_json(o), "spec.replicas", &replicas), 0);
	ck_assert_int_eq(replicas, 3);
	fx_close(&fx);
}
END_TEST

/* Annotations may hold 262144 bytes of keys and values in all (apimachinery's
 * TotalAnnotationSizeLimitB); one byte more is refused at the value that crosses it. */
START_TEST(t_limit_annotations_exact)
{
	struct fixture fx;
	struct strbuf sb = STRBUF_INIT;
	/* keys "a" and "b": 2 bytes, values 100000 and the rest */
	static const char head[] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n"
				   "  annotations:\n    a: ";
	size_t rest = 262144 - 2 - 100000;

	fx_open(&fx);
	sb_addf(&sb, head, "fits");
	sb_fill(&sb, 'x', 100000);
	sb_adds(&sb, "\n    b: ");
	sb_fill(&sb, 'y', rest);
	sb_adds(&sb, "\n");
	int rc = cluster_apply(fx.cl, sb.buf, sb.len, "fits", NULL, &fx.err);
	ck_assert_msg(rc == 0, "%s", fx.err.msg);
	ck_assert_ptr_nonnull(fx_get(&fx, "ConfigMap", "default", "fits"));

	sb_reset(&sb);
	sb_addf(&sb, head, "over");
	sb_fill(&sb, 'x', 100000);
	sb_adds(&sb, "\n    b: ");
	sb_fill(&sb, 'y', rest + 1);
	sb_adds(&sb, "\n    c: z\n");
	rc = cluster_apply(fx.cl, sb.buf, sb.len, "over", NULL, &fx.err);
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "over:7:8: metadata.annotations: Too long: must have at "
					 "most 262144 bytes"),
		      "%s", fx.err.msg);
	ck_assert_ptr_null(fx_get(&fx, "ConfigMap", "default", "over"));
	sb_release(&sb);
	fx_close(&fx);
}
END_TEST

/* A refused value is quoted escaped and cut, so the problem stays in the reason. */
START_TEST(t_quoted_values_are_cut)
{
	struct fixture fx;
	struct strbuf sb = STRBUF_INIT;

	fx_open(&fx);
	sb_adds(&sb, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n  labels:\n"
		     "    app: \"");
	for (int i = 0; i < 200; i++)
		sb_adds(&sb, "\\\"");
	sb_adds(&sb, "\"\n");
	int rc = cluster_apply(fx.cl, sb.buf, sb.len, "q", NULL, &fx.err);
	ck_assert_int_eq(rc, -EINVAL);
	/* 64 escaped quotes, then "...", then the problem */
	struct strbuf want = STRBUF_INIT;
	sb_adds(&want, "q:6:10: metadata.labels: Invalid value: \"");
	for (int i = 0; i < 64; i++)
		sb_adds(&want, "\\\"");
	sb_adds(&want, "...\": must be no more than 63 characters");
	ck_assert_msg(strncmp(fx.err.msg, sb_str(&want), want.len) == 0, "%s", fx.err.msg);
	sb_release(&want);
	sb_release(&sb);
	fx_close(&fx);
}
END_TEST

/* A stream of exactly 16 MiB is decoded; one byte more is EFBIG. */
START_TEST(t_limit_bytes_boundary)
{
	struct fixture fx;
	struct strbuf sb = STRBUF_INIT;
	static const char head[] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n# ";

	fx_open(&fx);
	sb_adds(&sb, head);
	sb_fill(&sb, 'c', MANIFEST_MAX_BYTES - strlen(head) - 1);
	sb_adds(&sb, "\n");
	ck_assert_uint_eq(sb.len, MANIFEST_MAX_BYTES);
	int rc = cluster_apply(fx.cl, sb.buf, sb.len, "big", NULL, &fx.err);
	ck_assert_msg(rc == 0, "%s", fx.err.msg);
	sb_adds(&sb, "\n");
	rc = cluster_apply(fx.cl, sb.buf, sb.len, "bigger", NULL, &fx.err);
	ck_assert_int_eq(rc, -EFBIG);
	ck_assert_msg(strstr(fx.err.msg, "bigger: ") && strstr(fx.err.msg, "16 MiB"), "%s",
		      fx.err.msg);
	sb_release(&sb);
	fx_close(&fx);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("bad_input");
	TCase *tc;

	load_expect();
	tc = tcase_create("corpus");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, t_corpus_complete);
	tcase_add_loop_test(tc, t_entry, 0, (int)nentries);
	tcase_add_test(tc, t_all_in_a_row);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, t_limit_objects_exact);
	tcase_add_test(tc, t_limit_replicas_exact);
	tcase_add_test(tc, t_limit_bytes_boundary);
	tcase_add_test(tc, t_limit_annotations_exact);
	tcase_add_test(tc, t_quoted_values_are_cut);
	suite_add_tcase(s, tc);
	return s;
}
