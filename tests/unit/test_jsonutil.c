/* test_jsonutil.c - the jansson helpers: paths, metadata shortcuts, finalizers, times,
 * RFC 7386 merge patches and label selectors. */
#include <errno.h>
#include <string.h>
#include "claimfs/jsonutil.h"
#include "unit.h"

static json_t *load(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);
	ck_assert_msg(v != NULL, "bad test JSON: %s", e.text);
	return v;
}

static void assert_json(const json_t *got, const char *want_text)
{
	json_t *want = load(want_text);
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY);
		ck_abort_msg("got %s, want %s", g, want_text);
	}
	json_decref(want);
}

START_TEST(paths)
{
	json_t *o = load("{\"spec\": {\"resources\": {\"requests\": {\"storage\": \"5Gi\"}},"
			 " \"replicas\": 3, \"big\": 1.5, \"on\": true, \"off\": false}}");
	ck_assert_str_eq(jstr(o, "spec.resources.requests.storage"), "5Gi");
	ck_assert_ptr_null(jstr(o, "spec.replicas"));
	ck_assert_ptr_null(jstr(o, "spec.missing.deeper"));
	ck_assert_ptr_null(jget(o, "spec.replicas.x"));
	ck_assert_ptr_eq(jget(o, ""), o);
	ck_assert_str_eq(jstr_or(o, "spec.nope", "dflt"), "dflt");
	ck_assert_str_eq(jstr_or(o, "spec.resources.requests.storage", "dflt"), "5Gi");
	int64_t n = -1;
	ck_assert_int_eq(jint(o, "spec.replicas", &n), 0);
	ck_assert_int_eq(n, 3);
	n = -1;
	ck_assert_int_eq(jint(o, "spec.big", &n), -EINVAL);
	ck_assert_int_eq(jint(o, "spec.none", &n), -ENOENT);
	ck_assert_int_eq(n, -1);
	ck_assert_int_eq(jbool(o, "spec.on", 0), 1);
	ck_assert_int_eq(jbool(o, "spec.off", 1), 0);
	ck_assert_int_eq(jbool(o, "spec.replicas", 7), 7);
	ck_assert_int_eq(jbool(NULL, "spec.on", 5), 5);
	ck_assert_ptr_null(jget(NULL, "a"));

	jset(o, "status.capacity.storage", json_string("5Gi"));
	jset_str(o, "status.phase", "Bound");
	jset(o, "spec.replicas.sub", json_integer(1)); /* a scalar in the way is replaced */
	ck_assert_str_eq(jstr(o, "status.capacity.storage"), "5Gi");
	ck_assert_str_eq(jstr(o, "status.phase"), "Bound");
	ck_assert(jint(o, "spec.replicas.sub", &n) == 0 && n == 1);
	jset_str(o, "status.phase", NULL);
	ck_assert_ptr_null(jget(o, "status.phase"));
	jdel(o, "status.capacity");
	jdel(o, "status.never.there");
	assert_json(jget(o, "status"), "{}");

	json_t *md = jobj(o, "metadata");
	ck_assert(json_is_object(md));
	ck_assert_ptr_eq(jobj(o, "metadata"), md);
	json_t *lbl = jobj(o, "metadata.labels");
	ck_assert_ptr_eq(jget(o, "metadata.labels"), lbl);
	ck_assert_ptr_eq(jobj(o, NULL), o);
	json_decref(o);
}
END_TEST

START_TEST(metadata)
{
	json_t *o = load("{\"metadata\": {\"name\": \"web-0\", \"namespace\": \"default\","
			 " \"uid\": \"u-1\", \"labels\": {\"app.kubernetes.io/name\": \"web\"},"
			 " \"annotations\": {\"storageclass.kubernetes.io/is-default-class\":"
			 " \"true\"}}, \"spec\": {\"accessModes\": [\"ReadWriteOnce\", 3]}}");
	ck_assert_str_eq(jname(o), "web-0");
	ck_assert_str_eq(jnamespace(o), "default");
	ck_assert_str_eq(juid(o), "u-1");
	ck_assert_str_eq(jlabel(o, "app.kubernetes.io/name"), "web");
	ck_assert_ptr_null(jlabel(o, "app"));
	ck_assert_str_eq(jannotation(o, "storageclass.kubernetes.io/is-default-class"), "true");
	jset_annotation(o, "a.b/c", "d");
	ck_assert_str_eq(jannotation(o, "a.b/c"), "d");
	jset_annotation(o, "a.b/c", NULL);
	jset_annotation(o, "storageclass.kubernetes.io/is-default-class", NULL);
	ck_assert_ptr_null(jget(o, "metadata.annotations"));
	ck_assert(jarray_has_str(o, "spec.accessModes", "ReadWriteOnce"));
	ck_assert(!jarray_has_str(o, "spec.accessModes", "ReadWriteMany"));
	ck_assert(!jarray_has_str(o, "spec.nothing", "x"));

	json_t *bare = json_object();
	ck_assert_ptr_null(jname(bare));
	jset_annotation(bare, "k", "v");
	ck_assert_str_eq(jannotation(bare, "k"), "v");
	json_decref(bare);
	json_decref(o);
}
END_TEST

START_TEST(finalizers)
{
	json_t *o = load("{\"metadata\": {\"name\": \"c\"}}");
	const char *f = "kubernetes.io/pvc-protection";
	ck_assert(!jhas_finalizer(o, f));
	jadd_finalizer(o, f);
	jadd_finalizer(o, f);
	jadd_finalizer(o, "other");
	ck_assert(jhas_finalizer(o, f));
	assert_json(jget(o, "metadata.finalizers"),
		    "[\"kubernetes.io/pvc-protection\", \"other\"]");
	ck_assert_int_eq(jremove_finalizer(o, f), 1);
	ck_assert_int_eq(jremove_finalizer(o, f), 0);
	ck_assert_int_eq(jremove_finalizer(o, "other"), 1);
	ck_assert_ptr_null(jget(o, "metadata.finalizers"));

	ck_assert(!jis_deleting(o));
	jset(o, "metadata.deletionTimestamp", json_null());
	ck_assert(!jis_deleting(o));
	jset_str(o, "metadata.deletionTimestamp", "2026-11-24T21:57:01Z");
	ck_assert(jis_deleting(o));
	json_decref(o);
}
END_TEST

START_TEST(times)
{
	char buf[32];
	jtime_format(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1970-01-01T00:00:00Z");
	jtime_format(1795557421999LL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-11-24T21:57:01Z");
	jtime_format(-1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1969-12-31T23:59:59Z");
	ck_assert_int_eq(jtime_parse("2026-11-24T21:57:01Z"), 1795557421000LL);
	ck_assert_int_eq(jtime_parse("1970-01-01T00:00:00Z"), 0);
	ck_assert_int_eq(jtime_parse("2026-11-24T21:57:01.250Z"), 1795557421250LL);
	ck_assert_int_eq(jtime_parse("2026-11-24T22:57:01+01:00"), 1795557421000LL);
	ck_assert_int_eq(jtime_parse("2024-02-29T00:00:00Z"), 1709164800000LL);
	const char *bad[] = {"",
			     "2026-11-24",
			     "2026-11-24T21:57:01",
			     "2026-13-01T00:00:00Z",
			     "2023-02-29T00:00:00Z",
			     "2026-11-24T24:00:00Z",
			     "2026-11-24T21:57:01Zjunk",
			     "2026-11-24 21:57:01Z",
			     "26-11-24T21:57:01Z",
			     "2026-11-24T21:57:01.Z",
			     "banana"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(jtime_parse(bad[i]) == -1, "\"%s\" parsed", bad[i]);
	ck_assert_int_eq(jtime_parse(NULL), -1);
	for (int64_t ms = 0; ms < 4000000000000LL; ms += 123456789000LL) {
		jtime_format(ms, buf, sizeof(buf));
		ck_assert_int_eq(jtime_parse(buf), ms / 1000 * 1000);
	}
}
END_TEST

START_TEST(merge_patch)
{
	/* The examples of RFC 7386, appendix A. */
	static const char *cases[][3] = {
	    {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
	    {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
	    {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
	    {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
	    {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
	    {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
	    {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
	    {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
	    {"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
	    {"{\"a\":\"foo\"}", "{}", "{\"a\":\"foo\"}"},
	    {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
	    {"{\"a\":1}", "{\"a\":{\"x\":null,\"y\":2}}", "{\"a\":{\"y\":2}}"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *t = load(cases[i][0]), *p = load(cases[i][1]);
		jmerge(t, p);
		assert_json(t, cases[i][2]);
		/* The patch is borrowed: unchanged, and it outlives the result. */
		json_t *p2 = load(cases[i][1]);
		json_decref(t);
		ck_assert(json_equal(p, p2));
		json_decref(p2);
		json_decref(p);
	}
}
END_TEST

/* Non-object values are merged by reference (a manifest node keeps its identity, hence its
 * position); objects of the target stay the target's own, even where the patch has one. */
START_TEST(merge_patch_shares_values)
{
	json_t *t = load("{\"spec\": {\"replicas\": 1, \"sel\": {\"a\": \"b\"}}, \"x\": 1}");
	json_t *p = load("{\"spec\": {\"replicas\": 4, \"sel\": {\"a\": \"c\"}, "
			 "\"ports\": [1, 2], \"fresh\": {\"k\": \"v\", \"gone\": null}}, "
			 "\"x\": null}");
	json_t *tspec = json_object_get(t, "spec"), *tsel = jget(t, "spec.sel");

	jmerge(t, p);
	ck_assert_ptr_eq(jget(t, "spec.replicas"), jget(p, "spec.replicas"));
	ck_assert_ptr_eq(jget(t, "spec.ports"), jget(p, "spec.ports"));
	ck_assert_ptr_eq(jget(t, "spec.sel.a"), jget(p, "spec.sel.a"));
	ck_assert_ptr_eq(jget(t, "spec.fresh.k"), jget(p, "spec.fresh.k"));
	ck_assert_ptr_eq(json_object_get(t, "spec"), tspec);
	ck_assert_ptr_eq(jget(t, "spec.sel"), tsel);
	ck_assert_ptr_ne(jget(t, "spec.fresh"), jget(p, "spec.fresh"));
	ck_assert_ptr_null(jget(t, "spec.fresh.gone"));
	ck_assert_ptr_nonnull(jget(p, "spec.fresh.gone"));
	ck_assert_ptr_null(json_object_get(t, "x"));
	/* Each tree holds its own reference: the result survives the patch. */
	json_decref(p);
	assert_json(t, "{\"spec\": {\"replicas\": 4, \"sel\": {\"a\": \"c\"}, "
		       "\"ports\": [1, 2], \"fresh\": {\"k\": \"v\"}}}");
	json_decref(t);
}
END_TEST

START_TEST(label_selectors)
{
	json_t *labels = load("{\"app\": \"mysql\", \"tier\": \"db\", \"zone\": \"a\"}");
	struct {
		const char *sel;
		int want;
	} cases[] = {
	    {"{}", 1},
	    {"{\"matchLabels\": {}}", 1},
	    {"{\"matchLabels\": {\"app\": \"mysql\"}}", 1},
	    {"{\"matchLabels\": {\"app\": \"mysql\", \"tier\": \"db\"}}", 1},
	    {"{\"matchLabels\": {\"app\": \"web\"}}", 0},
	    {"{\"matchLabels\": {\"missing\": \"x\"}}", 0},
	    {"{\"matchExpressions\": [{\"key\": \"zone\", \"operator\": \"In\","
	     " \"values\": [\"a\", \"b\"]}]}",
	     1},
	    {"{\"matchExpressions\": [{\"key\": \"zone\", \"operator\": \"In\","
	     " \"values\": [\"b\"]}]}",
	     0},
	    {"{\"matchExpressions\": [{\"key\": \"nope\", \"operator\": \"In\","
	     " \"values\": [\"a\"]}]}",
	     0},
	    {"{\"matchExpressions\": [{\"key\": \"zone\", \"operator\": \"NotIn\","
	     " \"values\": [\"b\"]}]}",
	     1},
	    {"{\"matchExpressions\": [{\"key\": \"zone\", \"operator\": \"NotIn\","
	     " \"values\": [\"a\"]}]}",
	     0},
	    {"{\"matchExpressions\": [{\"key\": \"nope\", \"operator\": \"NotIn\","
	     " \"values\": [\"a\"]}]}",
	     1},
	    {"{\"matchExpressions\": [{\"key\": \"tier\", \"operator\": \"Exists\"}]}", 1},
	    {"{\"matchExpressions\": [{\"key\": \"nope\", \"operator\": \"Exists\"}]}", 0},
	    {"{\"matchExpressions\": [{\"key\": \"nope\", \"operator\": \"DoesNotExist\"}]}", 1},
	    {"{\"matchExpressions\": [{\"key\": \"tier\", \"operator\": \"DoesNotExist\"}]}", 0},
	    {"{\"matchExpressions\": [{\"key\": \"tier\", \"operator\": \"Gt\","
	     " \"values\": [\"1\"]}]}",
	     0},
	    /* matchLabels and matchExpressions are ANDed. */
	    {"{\"matchLabels\": {\"app\": \"mysql\"}, \"matchExpressions\": [{\"key\": \"zone\","
	     " \"operator\": \"In\", \"values\": [\"b\"]}]}",
	     0},
	    {"{\"matchLabels\": {\"app\": \"mysql\"}, \"matchExpressions\": [{\"key\": \"zone\","
	     " \"operator\": \"In\", \"values\": [\"a\"]}, {\"key\": \"x\", \"operator\":"
	     " \"DoesNotExist\"}]}",
	     1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *sel = load(cases[i].sel);
		ck_assert_msg(jselector_matches(sel, labels) == cases[i].want, "selector %s",
			      cases[i].sel);
		json_decref(sel);
	}
	ck_assert(jselector_matches(NULL, labels));
	ck_assert(jselector_matches(json_null(), NULL));
	json_t *sel = load("{\"matchLabels\": {\"app\": \"mysql\"}}");
	ck_assert(!jselector_matches(sel, NULL));
	json_decref(sel);

	json_t *map = load("{\"app\": \"mysql\", \"tier\": \"db\"}");
	ck_assert(jmap_selector_matches(map, labels));
	json_object_set_new(map, "tier", json_string("web"));
	ck_assert(!jmap_selector_matches(map, labels));
	json_object_clear(map);
	ck_assert(!jmap_selector_matches(map, labels));
	ck_assert(!jmap_selector_matches(NULL, labels));
	json_decref(map);
	json_decref(labels);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("jsonutil");
	TCase *tc = tcase_create("jsonutil");
	tcase_add_test(tc, paths);
	tcase_add_test(tc, metadata);
	tcase_add_test(tc, finalizers);
	tcase_add_test(tc, times);
	tcase_add_test(tc, merge_patch);
	tcase_add_test(tc, merge_patch_shares_values);
	tcase_add_test(tc, label_selectors);
	suite_add_tcase(s, tc);
	return s;
}
