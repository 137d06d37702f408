/* test_cluster.c - the apply pipeline and durable state through the cluster API: any
 * kind is stored, streams are all-or-nothing, scopes are enforced, a reopen (remount)
 * shows the same objects and uids, namespaces cascade, objects go cold only when idle. */
#include <errno.h>
#include <string.h>
#include "unit.h"
#include "fixture.h"
#include "claimfs/jsonalloc.h"
#include "claimfs/strbuf.h"

static const char *uid_of(struct fixture *fx, const char *kind, const char *ns, const char *name)
{
	return fx_str(fx, kind, ns, name, "metadata.uid");
}

START_TEST(any_kind_is_stored)
{
	struct fixture fx;
	fx_open(&fx);
	fx_apply_ok(&fx, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: '1'}\n"
			 "---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n"
			 "  name: pdb\nspec:\n  minAvailable: 1\n");
	ck_assert_str_eq(fx_str(&fx, "ConfigMap", "default", "cfg", "data.a"), "1");
	ck_assert_ptr_nonnull(fx_get(&fx, "PodDisruptionBudget", "default", "pdb"));
	cluster_lock(fx.cl);
	const struct kind *k = store_kind_by_plural(cluster_store(fx.cl), "poddisruptionbudgets");
	cluster_unlock(fx.cl);
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(k->namespaced, 1);
	ck_assert_ptr_nonnull(uid_of(&fx, "ConfigMap", "default", "cfg"));
	fx_close(&fx);
}
END_TEST

START_TEST(stream_is_all_or_nothing)
{
	struct fixture fx;
	fx_open(&fx);
	int rc = fx_apply(&fx, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n---\n"
			       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Two_Bad}\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_ptr_nonnull(strstr(fx.err.msg, "apply:7:18: metadata.name"));
	ck_assert_ptr_null(fx_get(&fx, "ConfigMap", "default", "one"));
	ck_assert(fx_has_event(&fx, "FailedApply", "Two_Bad"));
	rc = fx_apply(&fx,
		      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: nope}\n");
	ck_assert_int_eq(rc, -ENOENT);
	ck_assert_ptr_nonnull(strstr(fx.err.msg, "namespaces \"nope\" not found"));
	/* a namespace created earlier in the same stream counts */
	fx_apply_ok(&fx, "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n---\n"
			 "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: team}\n");
	ck_assert_ptr_nonnull(fx_get(&fx, "ConfigMap", "team", "x"));
	rc = fx_apply(&fx, "kind: ConfigMap\nmetadata: {name: y}\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_ptr_nonnull(strstr(fx.err.msg, "apiVersion"));
	rc =
	    fx_apply(&fx, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: z, labels: {a: 1}}\n");
	ck_assert_int_eq(rc, -EINVAL);
	rc = fx_apply(&fx, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n---\n"
			   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_ptr_null(fx_get(&fx, "ConfigMap", "default", "d"));
	fx_close(&fx);
}
END_TEST

START_TEST(scope_is_enforced)
{
	struct fixture fx;
	const char *cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n";
	fx_open(&fx);
	cluster_lock(fx.cl);
	struct apply_scope sc = {.kind = cluster_kind(fx.cl, "Secret"), .ns = "default"};
	struct apply_scope named = {
	    .kind = cluster_kind(fx.cl, "ConfigMap"), .ns = "default", .default_name = "fromfile"};
	cluster_unlock(fx.cl);
	ck_assert_int_eq(cluster_apply(fx.cl, cm, strlen(cm), "secrets/c.yaml", &sc, &fx.err),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(fx.err.msg, "Secret"));
	const char *anon = "apiVersion: v1\nkind: ConfigMap\ndata: {k: v}\n";
	ck_assert_int_eq(
	    cluster_apply(fx.cl, anon, strlen(anon), "configmaps/fromfile.yaml", &named, &fx.err),
	    0);
	ck_assert_str_eq(fx_str(&fx, "ConfigMap", "default", "fromfile", "data.k"), "v");
	fx_close(&fx);
}
END_TEST

START_TEST(update_merges_and_keeps_identity)
{
	struct fixture fx;
	fx_open(&fx);
	fx_apply_ok(&fx, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {a: x}}\n"
			 "data: {k: v}\n");
	char *uid = xstrdup(uid_of(&fx, "ConfigMap", "default", "c"));
	const char *rv1 = fx_str(&fx, "ConfigMap", "default", "c", "metadata.resourceVersion");
	char *rv = xstrdup(rv1);
	fx_apply_ok(&fx, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, uid: forged}\n"
			 "data: {k2: w}\n");
	ck_assert_str_eq(uid_of(&fx, "ConfigMap", "default", "c"), uid);
	ck_assert_str_eq(fx_str(&fx, "ConfigMap", "default", "c", "data.k"), "v");
	ck_assert_str_eq(fx_str(&fx, "ConfigMap", "default", "c", "data.k2"), "w");
	ck_assert_str_eq(fx_str(&fx, "ConfigMap", "default", "c", "metadata.labels.a"), "x");
	ck_assert_str_ne(fx_str(&fx, "ConfigMap", "default", "c", "metadata.resourceVersion"), rv);
	free(uid);
	free(rv);
	fx_close(&fx);
}
END_TEST

START_TEST(reopen_keeps_state)
{
	struct fixture fx;
	fx_open(&fx);
	fx_apply_ok(&fx, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep}\n---\n"
			 "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: gone}\n");
	char *uid = xstrdup(uid_of(&fx, "ConfigMap", "default", "keep"));
	cluster_lock(fx.cl);
	const struct kind *k = cluster_kind(fx.cl, "ConfigMap");
	cluster_unlock(fx.cl);
	ck_assert_int_eq(cluster_delete(fx.cl, k, "default", "gone", "rmdir", &fx.err), 0);
	fx_reopen(&fx);
	ck_assert_str_eq(uid_of(&fx, "ConfigMap", "default", "keep"), uid);
	ck_assert_ptr_null(fx_get(&fx, "ConfigMap", "default", "gone"));
	ck_assert_ptr_nonnull(fx_get(&fx, "Node", NULL, "node-2"));
	/* new uids after a reopen never repeat old ones */
	fx_apply_ok(&fx, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: new}\n");
	ck_assert_str_ne(uid_of(&fx, "ConfigMap", "default", "new"), uid);
	free(uid);
	fx_close(&fx);
}
END_TEST

START_TEST(namespace_cascade)
{
	struct fixture fx;
	fx_open(&fx);
	ck_assert_int_eq(cluster_create_namespace(fx.cl, "team", "mkdir", &fx.err), 0);
	ck_assert_int_eq(cluster_create_namespace(fx.cl, "team", "mkdir", &fx.err), -EEXIST);
	ck_assert_int_eq(cluster_create_namespace(fx.cl, "Bad_Name", "mkdir", &fx.err), -EINVAL);
	fx_apply_ok(&fx, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: team}\n");
	cluster_lock(fx.cl);
	const struct kind *k = cluster_kind(fx.cl, "Namespace");
	cluster_unlock(fx.cl);
	ck_assert_int_eq(cluster_delete(fx.cl, k, NULL, "team", "rmdir", &fx.err), 0);
	ck_assert_ptr_null(fx_get(&fx, "ConfigMap", "team", "c"));
	ck_assert_ptr_null(fx_get(&fx, "Namespace", NULL, "team"));
	ck_assert_int_eq(cluster_delete(fx.cl, k, NULL, "default", "rmdir", &fx.err), -EPERM);
	fx_close(&fx);
}
END_TEST

START_TEST(object_limit)
{
	struct fixture fx;
	fx_prepare(&fx);
	fx.opts.max_objects = 8;
	ck_assert_int_eq(cluster_open(&fx.opts, &fx.cl, &fx.err), 0);
	int rc = fx_apply(&fx, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
			       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\n"
			       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n"
			       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d}\n---\n"
			       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: e}\n");
	ck_assert_int_eq(rc, -ENOSPC);
	ck_assert_ptr_nonnull(strstr(fx.err.msg, "8"));
	ck_assert_ptr_null(fx_get(&fx, "ConfigMap", "default", "a"));
	fx_close(&fx);
}
END_TEST

START_TEST(second_open_is_refused)
{
	struct fixture fx;
	struct cluster *other;
	struct cfs_err err;
	fx_open(&fx);
	ck_assert_int_eq(cluster_open(&fx.opts, &other, &err), -EBUSY);
	ck_assert_ptr_nonnull(strstr(err.msg, "in use"));
	fx_close(&fx);
}
END_TEST

/* Every object as "kind ns name rv json" (keys sorted), one line each, sorted. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *dump_objects(struct fixture *fx)
{
	struct strbuf out = STRBUF_INIT;
	cluster_lock(fx->cl);
	struct store *st = cluster_store(fx->cl);
	size_t nk, n, i, j, nl = 0;
	char **lines = xcalloc(store_count(st) + 1, sizeof(*lines));
	const struct kind *const *kinds = store_kinds(st, &nk);
	for (i = 0; i < nk; i++) {
		struct object *const *v = store_list(st, kinds[i], NULL, &n);
		for (j = 0; j < n; j++) {
			char *js = json_dumps(object_json(v[j]), JSON_COMPACT | JSON_SORT_KEYS);
			struct strbuf l = STRBUF_INIT;
			sb_addf(&l, "%s %s %s %llu %s", kinds[i]->kind, v[j]->ns ? v[j]->ns : "-",
				v[j]->name, (unsigned long long)v[j]->rv, js);
			jsonalloc_free(js); /* jansson's allocator */
			lines[nl++] = sb_detach(&l, NULL);
		}
	}
	cluster_unlock(fx->cl);
	qsort(lines, nl, sizeof(*lines), cmp_str);
	for (i = 0; i < nl; i++) {
		sb_addf(&out, "%s\n", lines[i]);
		free(lines[i]);
	}
	free(lines);
	return sb_detach(&out, NULL);
}

/* A remount of a state whose snapshot holds its objects (parsed and applied in parts while
 * the journal is read, persist.h): the same objects, versions and JSON. */
START_TEST(reopen_streams_a_large_snapshot)
{
	struct fixture fx;
	fx_open(&fx);
	fx.opts.compact_min_bytes = 1; /* compact at the next commit */
	fx_reopen(&fx);
	struct strbuf y = STRBUF_INIT;
	for (int i = 0; i < 1300; i++)
		sb_addf(&y,
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d}\n"
			"data: {i: '%d'}\n---\n",
			i, i);
	for (int i = 0; i < 40; i++)
		sb_addf(&y,
			"apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c-%d}\n"
			"spec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: "
			"{storage: 1Gi}}\n---\n",
			i);
	fx_apply_ok(&fx, sb_str(&y));
	sb_release(&y);
	fx_apply_ok(&fx, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: after}\n");
	size_t len;
	char path[128];
	snprintf(path, sizeof(path), "%s/snapshot.json", fx.dir);
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	char tail[8] = {0};
	fseek(f, -4, SEEK_END);
	len = fread(tail, 1, 4, f);
	fclose(f);
	ck_assert_uint_eq(len, 4);
	ck_assert_str_eq(tail, "]}}\n"); /* as claimfs writes it: the streamed layout */
	ck_assert_str_eq(fx_str(&fx, "PersistentVolumeClaim", "default", "c-39", "status.phase"),
			 "Bound");
	char *before = dump_objects(&fx);
	fx_reopen(&fx);
	char *after = dump_objects(&fx);
	ck_assert_msg(strstr(before, "ConfigMap default cm-1299 ") && strstr(before, " after "),
		      "the dump misses objects");
	ck_assert_msg(strcmp(before, after) == 0, "the state differs after a remount");
	free(before);
	free(after);
	fx_close(&fx);
}
END_TEST

static size_t hot_count(struct fixture *fx)
{
	cluster_lock(fx->cl); /* a use: the idle time starts again at the unlock */
	size_t n = store_hot_count(cluster_store(fx->cl));
	cluster_unlock(fx->cl);
	return n;
}

/* Objects are made cold once nothing has used the cluster for CLUSTER_IDLE_MS, not at a
 * shorter pause (a script's streams half a second apart are one burst). */
START_TEST(objects_go_cold_only_when_idle)
{
	struct fixture fx;
	fx_open(&fx);
	fx.opts.evict_at_unlock = 0;
	fx_reopen(&fx);
	struct strbuf y = STRBUF_INIT;
	for (int i = 0; i < 200; i++)
		sb_addf(&y, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d}\n---\n", i);
	fx_apply_ok(&fx, sb_str(&y));
	sb_release(&y);
	double t0 = unit_now_s();
	usleep(500 * 1000);
	size_t hot = hot_count(&fx);
	if (unit_now_s() - t0 < 0.9) /* else too slow a machine to tell */
		ck_assert_uint_ge(hot, 200);
	/* Each look is a use: wait the whole idle time before each one. */
	for (int i = 0; i < 10 && hot > fx.opts.hot_objects; i++) {
		usleep((CLUSTER_IDLE_MS + 300) * 1000);
		hot = hot_count(&fx);
	}
	ck_assert_uint_le(hot, fx.opts.hot_objects);
	ck_assert_str_eq(fx_str(&fx, "ConfigMap", "default", "cm-199", "metadata.name"), "cm-199");
	fx_close(&fx);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("cluster");
	TCase *tc = tcase_create("cluster");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, any_kind_is_stored);
	tcase_add_test(tc, stream_is_all_or_nothing);
	tcase_add_test(tc, scope_is_enforced);
	tcase_add_test(tc, update_merges_and_keeps_identity);
	tcase_add_test(tc, reopen_keeps_state);
	tcase_add_test(tc, reopen_streams_a_large_snapshot);
	tcase_add_test(tc, namespace_cascade);
	tcase_add_test(tc, object_limit);
	tcase_add_test(tc, second_open_is_refused);
	tcase_add_test(tc, objects_go_cold_only_when_idle);
	suite_add_tcase(s, tc);
	return s;
}
