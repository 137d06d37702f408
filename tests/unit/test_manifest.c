/* test_manifest.c - the manifest module: decoding (types, positions, flow style, anchors,
 * multi-document streams, JSON), the refusals with their line:column, the YAML and JSON
 * emitters against golden text, and decode(emit(x)) == x for tricky and random values. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "claimfs/jsonutil.h"
#include "claimfs/manifest.h"
#include "../../src/manifest/manifest_internal.h" /* mpos_count: no stale positions */
#include "unit.h"

static int decode(const char *yaml, struct manifest *m, struct cfs_err *err)
{
	return manifest_decode(yaml, strlen(yaml), "t.yaml", m, err);
}

/* Decodes yaml, which must succeed with ndocs documents. */
static void decode_ok(const char *yaml, struct manifest *m, size_t ndocs)
{
	struct cfs_err err = {{0}};
	int rc = decode(yaml, m, &err);
	ck_assert_msg(rc == 0, "decode failed: %s\ninput:\n%s", err.msg, yaml);
	ck_assert_uint_eq(m->ndocs, ndocs);
}

/* Decodes yaml, which must fail with -EINVAL and a message starting with prefix (the
 * "t.yaml:line:col: " part) and containing what. */
static void decode_bad(const char *yaml, size_t len, const char *prefix, const char *what)
{
	struct manifest m;
	struct cfs_err err = {{0}};
	int rc = manifest_decode(yaml, len, "t.yaml", &m, &err);
	ck_assert_msg(rc == -EINVAL, "expected -EINVAL, got %d (%s) for:\n%.200s", rc, err.msg,
		      yaml);
	ck_assert_msg(strncmp(err.msg, prefix, strlen(prefix)) == 0,
		      "message \"%s\" does not start with \"%s\"", err.msg, prefix);
	ck_assert_msg(strstr(err.msg, what) != NULL, "message \"%s\" lacks \"%s\"", err.msg, what);
	ck_assert_uint_eq(m.ndocs, 0);
	ck_assert_ptr_null(m.docs);
	ck_assert_ptr_null(m.pos);
}

/* Adds text n times. */
static void add_times(struct strbuf *sb, const char *text, int n)
{
	for (int i = 0; i < n; i++)
		sb_adds(sb, text);
}

static json_t *doc0_get(struct manifest *m, const char *key)
{
	return json_object_get(m->docs[0], key);
}

/* ---- types ---------------------------------------------------------------------- */

START_TEST(scalar_types)
{
	struct manifest m;
	decode_ok("n1: ~\n"
		  "n2: null\n"
		  "n3:\n"
		  "n4: NULL\n"
		  "b1: true\n"
		  "b2: False\n"
		  "b3: yes\n"
		  "b4: NO\n"
		  "b5: on\n"
		  "b6: Off\n"
		  "b7: y\n"
		  "i1: 42\n"
		  "i2: -7\n"
		  "i3: +3\n"
		  "i4: 0x1F\n"
		  "i5: 0644\n"
		  "i6: 1_000\n"
		  "i7: 1e3\n"
		  "i8: 9223372036854775807\n"
		  "f1: 1.5\n"
		  "f2: -.25\n"
		  "f3: 1e400\n"
		  "s1: 5Gi\n"
		  "s2: \"true\"\n"
		  "s3: '123'\n"
		  "s4: !!str 42\n"
		  "s5: .inf\n"
		  "s6: 2026-11-24T21:57:01Z\n"
		  "s7: ! yes\n"
		  "s8: \"\"\n"
		  "s9: 1.5Gi\n"
		  "t1: !!int \"12\"\n"
		  "t2: !!bool \"yes\"\n"
		  "1: numeric key\n"
		  "true: bool key\n",
		  &m, 1);
	const char *nulls[] = {"n1", "n2", "n3", "n4"};
	for (size_t i = 0; i < 4; i++)
		ck_assert_msg(json_is_null(doc0_get(&m, nulls[i])), "%s not null", nulls[i]);
	ck_assert(json_is_true(doc0_get(&m, "b1")));
	ck_assert(json_is_false(doc0_get(&m, "b2")));
	ck_assert(json_is_true(doc0_get(&m, "b3")));
	ck_assert(json_is_false(doc0_get(&m, "b4")));
	ck_assert(json_is_true(doc0_get(&m, "b5")));
	ck_assert(json_is_false(doc0_get(&m, "b6")));
	ck_assert(json_is_true(doc0_get(&m, "b7")));
	ck_assert_int_eq(json_integer_value(doc0_get(&m, "i1")), 42);
	ck_assert_int_eq(json_integer_value(doc0_get(&m, "i2")), -7);
	ck_assert_int_eq(json_integer_value(doc0_get(&m, "i3")), 3);
	ck_assert_int_eq(json_integer_value(doc0_get(&m, "i4")), 31);
	ck_assert_int_eq(json_integer_value(doc0_get(&m, "i5")), 420);
	ck_assert_int_eq(json_integer_value(doc0_get(&m, "i6")), 1000);
	ck_assert(json_is_integer(doc0_get(&m, "i7")));
	ck_assert_int_eq(json_integer_value(doc0_get(&m, "i7")), 1000);
	ck_assert(json_integer_value(doc0_get(&m, "i8")) == 9223372036854775807LL);
	ck_assert(json_is_real(doc0_get(&m, "f1")));
	ck_assert(json_real_value(doc0_get(&m, "f1")) == 1.5);
	ck_assert(json_real_value(doc0_get(&m, "f2")) == -0.25);
	ck_assert_str_eq(json_string_value(doc0_get(&m, "f3")), "1e400");
	ck_assert_str_eq(json_string_value(doc0_get(&m, "s1")), "5Gi");
	ck_assert_str_eq(json_string_value(doc0_get(&m, "s2")), "true");
	ck_assert_str_eq(json_string_value(doc0_get(&m, "s3")), "123");
	ck_assert_str_eq(json_string_value(doc0_get(&m, "s4")), "42");
	ck_assert_str_eq(json_string_value(doc0_get(&m, "s5")), ".inf");
	ck_assert_str_eq(json_string_value(doc0_get(&m, "s6")), "2026-11-24T21:57:01Z");
	ck_assert_str_eq(json_string_value(doc0_get(&m, "s7")), "yes");
	ck_assert_str_eq(json_string_value(doc0_get(&m, "s8")), "");
	ck_assert_str_eq(json_string_value(doc0_get(&m, "s9")), "1.5Gi");
	ck_assert_int_eq(json_integer_value(doc0_get(&m, "t1")), 12);
	ck_assert(json_is_true(doc0_get(&m, "t2")));
	ck_assert_str_eq(json_string_value(doc0_get(&m, "1")), "numeric key");
	ck_assert_str_eq(json_string_value(doc0_get(&m, "true")), "bool key");
	manifest_release(&m);
	ck_assert_ptr_null(m.docs);
}
END_TEST

START_TEST(block_and_quoted_scalars)
{
	struct manifest m;
	decode_ok("lit: |\n  a\n   b\n\n  c\n"
		  "strip: |-\n  x\n  y\n"
		  "fold: >\n  one\n  two\n"
		  "dq: \"tab\\there \\u00e9 \\\"q\\\"\"\n"
		  "sq: 'it''s'\n"
		  "multi: plain\n  continued\n"
		  "utf8: h\xc3\xa9llo \xe2\x98\x83\n",
		  &m, 1);
	ck_assert_str_eq(json_string_value(doc0_get(&m, "lit")), "a\n b\n\nc\n");
	ck_assert_str_eq(json_string_value(doc0_get(&m, "strip")), "x\ny");
	ck_assert_str_eq(json_string_value(doc0_get(&m, "fold")), "one two\n");
	ck_assert_str_eq(json_string_value(doc0_get(&m, "dq")), "tab\there \xc3\xa9 \"q\"");
	ck_assert_str_eq(json_string_value(doc0_get(&m, "sq")), "it's");
	ck_assert_str_eq(json_string_value(doc0_get(&m, "multi")), "plain continued");
	ck_assert_str_eq(json_string_value(doc0_get(&m, "utf8")), "h\xc3\xa9llo \xe2\x98\x83");
	manifest_release(&m);
}
END_TEST

/* ---- positions ------------------------------------------------------------------- */

static void pos_is(struct manifest *m, const json_t *node, int line, int col)
{
	int l = -1, c = -1;
	ck_assert_ptr_nonnull(node);
	ck_assert_int_eq(manifest_pos(m, node, &l, &c), 0);
	ck_assert_msg(l == line && c == col, "position %d:%d, expected %d:%d", l, c, line, col);
}

START_TEST(positions)
{
	struct manifest m;
	decode_ok("# leading comment\n"
		  "apiVersion: v1\n"
		  "metadata:\n"
		  "  name: web\n"
		  "  labels: {app: web, tier: \"front\"}\n"
		  "spec:\n"
		  "  ports:\n"
		  "  - port: 80\n"
		  "    name: http\n"
		  "  list: [1, [2, 3]]\n",
		  &m, 1);
	json_t *d = m.docs[0];
	pos_is(&m, d, 2, 1);
	pos_is(&m, json_object_get(d, "apiVersion"), 2, 13);
	json_t *md = json_object_get(d, "metadata");
	pos_is(&m, md, 4, 3);
	pos_is(&m, json_object_get(md, "name"), 4, 9);
	json_t *labels = json_object_get(md, "labels");
	pos_is(&m, labels, 5, 11);
	pos_is(&m, json_object_get(labels, "app"), 5, 17);
	pos_is(&m, json_object_get(labels, "tier"), 5, 28);
	json_t *ports = json_object_get(json_object_get(d, "spec"), "ports");
	pos_is(&m, ports, 8, 3);
	json_t *p0 = json_array_get(ports, 0);
	pos_is(&m, p0, 8, 5);
	pos_is(&m, json_object_get(p0, "port"), 8, 11);
	pos_is(&m, json_object_get(p0, "name"), 9, 11);
	json_t *list = json_object_get(json_object_get(d, "spec"), "list");
	pos_is(&m, list, 10, 9);
	pos_is(&m, json_array_get(list, 1), 10, 13);
	pos_is(&m, json_array_get(json_array_get(list, 1), 1), 10, 17);
	ck_assert_int_eq(m.doc_line[0], 2);

	/* Nodes that are not the manifest's, and the shared singletons, are unknown. */
	int l = 77, c = 77;
	json_t *other = json_string("x");
	ck_assert_int_eq(manifest_pos(&m, other, &l, &c), -ENOENT);
	ck_assert_int_eq(manifest_pos(&m, json_true(), &l, &c), -ENOENT);
	ck_assert_int_eq(manifest_pos(NULL, other, &l, &c), -ENOENT);
	ck_assert_int_eq(l, 77);
	ck_assert_int_eq(c, 77);
	json_decref(other);
	manifest_release(&m);
}
END_TEST

START_TEST(errorf_prefixes)
{
	struct manifest m;
	struct cfs_err err = {{0}};
	decode_ok("spec:\n  replicas: banana\n", &m, 1);
	json_t *spec = json_object_get(m.docs[0], "spec");
	int rc = manifest_errorf(&m, json_object_get(spec, "replicas"), &err, -EINVAL,
				 "spec.replicas: %s", "not a number");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err.msg, "t.yaml:2:13: spec.replicas: not a number");
	manifest_errorf(&m, spec, &err, -EINVAL, "missing %s", "selector");
	ck_assert_str_eq(err.msg, "t.yaml:2:3: missing selector");
	manifest_errorf(&m, NULL, &err, -EINVAL, "no position");
	ck_assert_str_eq(err.msg, "t.yaml: no position");
	ck_assert_int_eq(manifest_errorf(NULL, spec, &err, -ENOENT, "bare"), -ENOENT);
	ck_assert_str_eq(err.msg, "bare");
	ck_assert_int_eq(manifest_errorf(&m, spec, NULL, -EPERM, "x"), -EPERM);
	manifest_release(&m);
}
END_TEST

static void member_pos_is(struct manifest *m, const json_t *parent, const char *key, int line,
			  int col)
{
	int l = -1, c = -1;
	ck_assert_msg(manifest_member_pos(m, parent, key, &l, &c) == 0, "member %s: no position",
		      key);
	ck_assert_msg(l == line && c == col, "member %s at %d:%d, expected %d:%d", key, l, c, line,
		      col);
}

/* Members of v (at any depth) whose value is true, false or null. */
static size_t count_singleton_members(json_t *v)
{
	const char *k;
	json_t *c;
	size_t i, n = 0;
	if (json_is_object(v))
		json_object_foreach(v, k, c)
		{
			if (json_is_true(c) || json_is_false(c) || json_is_null(c))
				n++;
			else
				n += count_singleton_members(c);
		}
	else if (json_is_array(v))
		json_array_foreach(v, i, c) n += count_singleton_members(c);
	return n;
}

/* true/false/null are shared singletons: their place is known by (mapping, key). */
START_TEST(member_positions)
{
	struct manifest m;
	decode_ok("metadata:\n"
		  "  name: ~\n"
		  "  labels: {app: yes, tier: \"no\", off: Off}\n"
		  "spec:\n"
		  "  replicas: on\n"
		  "  empty:\n"
		  "  count: 3\n"
		  "t: &t true\n"
		  "u: *t\n"
		  "base: &b {x: null, y: 1}\n"
		  "copy: *b\n"
		  "merged: {<<: {z: false}, w: 2}\n"
		  "list: [true, {in: false}]\n",
		  &m, 1);
	json_t *d = m.docs[0], *md = json_object_get(d, "metadata");
	json_t *labels = json_object_get(md, "labels"), *spec = json_object_get(d, "spec");
	member_pos_is(&m, md, "name", 2, 9);
	member_pos_is(&m, labels, "app", 3, 17);
	member_pos_is(&m, labels, "off", 3, 39);
	member_pos_is(&m, labels, "tier", 3, 28); /* a string: its own position */
	member_pos_is(&m, spec, "replicas", 5, 13);
	member_pos_is(&m, spec, "count", 7, 10);
	int l = 0, c = 0;
	ck_assert_int_eq(manifest_member_pos(&m, spec, "empty", &l, &c), 0);
	ck_assert_int_eq(l, 6); /* an empty value: where its key ends */
	member_pos_is(&m, d, "t", 8, 4);
	member_pos_is(&m, d, "u", 9, 4);
	member_pos_is(&m, json_object_get(d, "base"), "x", 10, 14);
	/* The alias's copy has its own members, with the anchored node's positions. */
	ck_assert_ptr_ne(json_object_get(d, "copy"), json_object_get(d, "base"));
	member_pos_is(&m, json_object_get(d, "copy"), "x", 10, 14);
	member_pos_is(&m, json_object_get(d, "merged"), "z", 12, 18);
	member_pos_is(&m, json_array_get(json_object_get(d, "list"), 1), "in", 13, 19);
	/* Unknown: other mappings, other keys, no manifest; line and col left alone. */
	l = c = 77;
	json_t *other = json_object();
	ck_assert_int_eq(manifest_member_pos(&m, other, "name", &l, &c), -ENOENT);
	ck_assert_int_eq(manifest_member_pos(&m, md, "nope", &l, &c), -ENOENT);
	ck_assert_int_eq(manifest_member_pos(NULL, md, "name", &l, &c), -ENOENT);
	ck_assert_int_eq(manifest_member_pos(&m, NULL, "name", &l, &c), -ENOENT);
	ck_assert_int_eq(l, 77);
	ck_assert_int_eq(c, 77);
	json_decref(other);
	/* One entry per singleton member: nothing stale from merge sources. */
	ck_assert_uint_eq(mpos_member_count(m.pos), count_singleton_members(d));
	/* A member removed since is still known (the position of what was written). */
	json_object_del(md, "name");
	member_pos_is(&m, md, "name", 2, 9);
	manifest_release(&m);
}
END_TEST

START_TEST(member_errorf)
{
	struct manifest m;
	struct cfs_err err = {{0}};
	decode_ok("kind: Pod\nspec:\n  replicas: on\n  name: x\n", &m, 1);
	json_t *spec = json_object_get(m.docs[0], "spec");
	int rc = manifest_member_errorf(&m, spec, "replicas", &err, -EINVAL,
					"spec.replicas: Invalid value: %s", "must be an integer");
	ck_assert_int_eq(rc, -EINVAL);
	ck_assert_str_eq(err.msg, "t.yaml:3:13: spec.replicas: Invalid value: must be an integer");
	manifest_member_errorf(&m, spec, "name", &err, -EINVAL, "a string");
	ck_assert_str_eq(err.msg, "t.yaml:4:9: a string");
	/* Missing: the mapping's own position. */
	manifest_member_errorf(&m, spec, "selector", &err, -EINVAL, "spec.selector: Required");
	ck_assert_str_eq(err.msg, "t.yaml:3:3: spec.selector: Required");
	json_t *loose = json_object();
	manifest_member_errorf(&m, loose, "x", &err, -EINVAL, "nowhere");
	ck_assert_str_eq(err.msg, "t.yaml: nowhere");
	json_decref(loose);
	ck_assert_int_eq(manifest_member_errorf(NULL, spec, "replicas", &err, -ENOENT, "bare"),
			 -ENOENT);
	ck_assert_str_eq(err.msg, "bare");
	ck_assert_int_eq(manifest_member_errorf(&m, spec, "replicas", NULL, -EPERM, "x"), -EPERM);
	manifest_release(&m);
}
END_TEST

/* An update merges the document into a copy of the live object: the copy's objects take
 * the document's positions, so errors about the merged object point into the document. */
START_TEST(pos_follow_merged_copy)
{
	struct manifest m;
	struct cfs_err err = {{0}};
	decode_ok("spec:\n"
		  "  replicas: on\n"
		  "  selector:\n"
		  "    matchLabels: {app: api2}\n"
		  "  ports: [80]\n"
		  "  fresh: {a: null, b: true}\n",
		  &m, 1);
	json_t *doc = m.docs[0];
	json_t *live = json_loads("{\"spec\": {\"replicas\": 2, \"selector\": {\"matchLabels\":"
				  " {\"app\": \"api\"}}, \"keep\": {\"k\": 1}}, \"status\": {}}",
				  0, NULL);
	json_t *obj = json_deep_copy(live);
	jmerge(obj, doc);
	manifest_pos_follow(&m, doc, obj);
	json_t *spec = json_object_get(obj, "spec");
	pos_is(&m, obj, 1, 1);
	pos_is(&m, spec, 2, 3);
	pos_is(&m, json_object_get(spec, "selector"), 4, 5);
	pos_is(&m, jget(spec, "selector.matchLabels"), 4, 18);
	pos_is(&m, jget(spec, "selector.matchLabels.app"), 4, 24); /* shared by jmerge */
	pos_is(&m, json_object_get(spec, "ports"), 5, 10);
	pos_is(&m, json_object_get(spec, "fresh"), 6, 10);
	member_pos_is(&m, spec, "replicas", 2, 13);
	member_pos_is(&m, json_object_get(spec, "fresh"), "b", 6, 23);
	/* What the document did not write keeps no position: errors fall back to a parent. */
	int l, c;
	ck_assert_int_eq(manifest_pos(&m, json_object_get(spec, "keep"), &l, &c), -ENOENT);
	ck_assert_int_eq(manifest_pos(&m, json_object_get(obj, "status"), &l, &c), -ENOENT);
	manifest_member_errorf(&m, spec, "keep", &err, -EINVAL, "x");
	ck_assert_str_eq(err.msg, "t.yaml:2:3: x");
	/* The live object is untouched and unknown. */
	ck_assert_int_eq(manifest_pos(&m, json_object_get(live, "spec"), &l, &c), -ENOENT);
	ck_assert_int_eq(json_integer_value(jget(live, "spec.replicas")), 2);
	manifest_pos_follow(&m, doc, doc); /* harmless */
	manifest_pos_follow(NULL, doc, obj);
	json_t *str = json_string("x");
	manifest_pos_follow(&m, json_object_get(doc, "spec"), str);
	ck_assert_int_eq(manifest_pos(&m, str, &l, &c), -ENOENT);
	json_decref(str);
	json_decref(obj);
	json_decref(live);
	manifest_release(&m);
}
END_TEST

/* The one wording of a wrong type, at the member (its value, or where a singleton was). */
START_TEST(check_type)
{
	struct manifest m;
	struct cfs_err err = {{0}};
	decode_ok("spec:\n"
		  "  template: nginx\n"
		  "  replicas: on\n"
		  "  ports: {a: 1}\n"
		  "  name: [x]\n"
		  "  count: 2.5\n"
		  "  gone: ~\n"
		  "  ok: {}\n"
		  "  flag: off\n",
		  &m, 1);
	json_t *d = m.docs[0];
	ck_assert_int_eq(manifest_check_type(&m, d, "spec.template", JSON_OBJECT, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "t.yaml:2:13: spec.template: Invalid value: must be a map");
	ck_assert_int_eq(manifest_check_type(&m, d, "spec.replicas", JSON_INTEGER, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "t.yaml:3:13: spec.replicas: Invalid value: must be an integer");
	ck_assert_int_eq(manifest_check_type(&m, d, "spec.ports", JSON_ARRAY, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "t.yaml:4:10: spec.ports: Invalid value: must be a list");
	ck_assert_int_eq(manifest_check_type(&m, d, "spec.name", JSON_STRING, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "t.yaml:5:9: spec.name: Invalid value: must be a string");
	ck_assert_int_eq(manifest_check_type(&m, d, "spec.count", JSON_INTEGER, &err), -EINVAL);
	ck_assert_int_eq(manifest_check_type(&m, d, "spec.ok", JSON_TRUE, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "t.yaml:8:7: spec.ok: Invalid value: must be true or false");
	/* Right types, missing members, null and missing parents pass. */
	err.msg[0] = '\0';
	ck_assert_int_eq(manifest_check_type(&m, d, "spec.flag", JSON_TRUE, &err), 0);
	ck_assert_int_eq(manifest_check_type(&m, d, "spec.flag", JSON_FALSE, &err), 0);
	ck_assert_int_eq(manifest_check_type(&m, d, "spec.count", JSON_REAL, &err), 0);
	ck_assert_int_eq(manifest_check_type(&m, d, "spec.ok", JSON_OBJECT, &err), 0);
	ck_assert_int_eq(manifest_check_type(&m, d, "spec.gone", JSON_OBJECT, &err), 0);
	ck_assert_int_eq(manifest_check_type(&m, d, "spec.none", JSON_OBJECT, &err), 0);
	ck_assert_int_eq(manifest_check_type(&m, d, "spec.template.spec", JSON_OBJECT, &err), 0);
	ck_assert_int_eq(manifest_check_type(&m, d, "nope.x.y", JSON_OBJECT, &err), 0);
	ck_assert_str_eq(err.msg, "");
	ck_assert_str_eq(manifest_type_text(JSON_ARRAY), "must be a list");
	/* No manifest: the reason alone. */
	ck_assert_int_eq(manifest_check_type(NULL, d, "spec.template", JSON_OBJECT, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "spec.template: Invalid value: must be a map");
	manifest_release(&m);
}
END_TEST

START_TEST(quote_values)
{
	char buf[MANIFEST_QUOTE_BUF], want[200];
	ck_assert_str_eq(manifest_quote("web-0", buf, sizeof(buf)), "web-0");
	ck_assert_str_eq(manifest_quote(NULL, buf, sizeof(buf)), "");
	ck_assert_str_eq(manifest_quote("a\"b\\c\nd\te\x01", buf, sizeof(buf)),
			 "a\\\"b\\\\c\\nd\\te\\x01");
	/* 64 characters pass whole; one more is cut to 64 and "...". */
	memset(want, 'a', 64);
	want[64] = '\0';
	ck_assert_str_eq(manifest_quote(want, buf, sizeof(buf)), want);
	char longer[66];
	memset(longer, 'a', 65);
	longer[65] = '\0';
	strcat(want, "...");
	ck_assert_str_eq(manifest_quote(longer, buf, sizeof(buf)), want);
	/* Characters, not bytes: 70 two-byte characters give 64 whole ones. */
	struct strbuf sb = STRBUF_INIT, w = STRBUF_INIT;
	add_times(&sb, "\xc3\xa9", 70);
	for (int i = 0; i < 64; i++)
		sb_adds(&w, "\xc3\xa9");
	sb_adds(&w, "...");
	ck_assert_str_eq(manifest_quote(sb_str(&sb), buf, sizeof(buf)), sb_str(&w));
	sb_release(&sb);
	sb_release(&w);
	/* Escapes count as one character; a small buffer cuts at a whole one. */
	char small[10];
	ck_assert_str_eq(manifest_quote("\"\"\"\"\"", small, sizeof(small)), "\\\"\\\"\\\"...");
	/* The macro's buffer lives to the end of the block. */
	char msg[400];
	snprintf(msg, sizeof(msg), "\"%s\" and \"%s\"", MQUOTE("one"), MQUOTE(longer));
	ck_assert_uint_eq(strlen(msg), 5 + 5 + 2 + 64 + 3);
}
END_TEST

/* ---- flow style, anchors, documents, JSON -------------------------------------------- */

START_TEST(flow_trailing_commas)
{
	struct manifest m;
	decode_ok("a: [x, b, ]\n"
		  "b: { c: 1, d: [1, 2,], }\n"
		  "e: {\n  f: \"g\",\n  h: [\n    1,\n  ],\n}\n"
		  "url: [http://x:80/a, b:c]\n",
		  &m, 1);
	json_t *want = json_loads("{\"a\": [\"x\", \"b\"], \"b\": {\"c\": 1, \"d\": [1, 2]},"
				  "\"e\": {\"f\": \"g\", \"h\": [1]},"
				  "\"url\": [\"http://x:80/a\", \"b:c\"]}",
				  0, NULL);
	ck_assert_ptr_nonnull(want);
	ck_assert(json_equal(m.docs[0], want));
	json_decref(want);
	manifest_release(&m);
}
END_TEST

START_TEST(anchors_and_aliases)
{
	struct manifest m;
	decode_ok("base: &b\n"
		  "  image: nginx\n"
		  "  ports: [80]\n"
		  "one: *b\n"
		  "two: [*b, *b]\n"
		  "name: &n web\n"
		  "label: *n\n"
		  "merged:\n"
		  "  <<: *b\n"
		  "  image: redis\n"
		  "multi:\n"
		  "  <<: [{a: 1, b: 2}, {b: 3, c: 4}]\n"
		  "  c: 5\n",
		  &m, 1);
	json_t *d = m.docs[0], *base = json_object_get(d, "base");
	ck_assert(json_equal(base, json_object_get(d, "one")));
	ck_assert(json_equal(base, json_array_get(json_object_get(d, "two"), 0)));
	ck_assert(json_equal(base, json_array_get(json_object_get(d, "two"), 1)));
	ck_assert_str_eq(json_string_value(json_object_get(d, "label")), "web");
	/* Every place has its own node: changing one leaves the others alone. */
	ck_assert_ptr_ne(base, json_object_get(d, "one"));
	ck_assert_ptr_ne(json_array_get(json_object_get(d, "two"), 0),
			 json_array_get(json_object_get(d, "two"), 1));
	ck_assert_int_eq(json_object_get(d, "one")->refcount, 1);
	json_object_set_new(json_object_get(d, "one"), "image", json_string("changed"));
	ck_assert_str_eq(json_string_value(json_object_get(base, "image")), "nginx");
	/* Copies keep the positions of what they copy. */
	int l, c;
	ck_assert_int_eq(manifest_pos(&m, json_object_get(d, "one"), &l, &c), 0);
	ck_assert_int_eq(l, 1); /* a node starts at its anchor */
	pos_is(&m, json_object_get(json_array_get(json_object_get(d, "two"), 1), "ports"), 3, 10);
	/* Merge keys: explicit keys win, the first source of a key wins. */
	json_t *merged = json_object_get(d, "merged");
	ck_assert_str_eq(json_string_value(json_object_get(merged, "image")), "redis");
	ck_assert(json_equal(json_object_get(merged, "ports"), json_object_get(base, "ports")));
	json_t *want = json_loads("{\"a\": 1, \"b\": 2, \"c\": 5}", 0, NULL);
	ck_assert(json_equal(json_object_get(d, "multi"), want));
	json_decref(want);
	manifest_release(&m);
}
END_TEST

/* Nodes under v that are not true/false/null; each must have a position. */
static size_t count_positioned(struct manifest *m, json_t *v)
{
	const char *k;
	json_t *c;
	size_t i, n = 1;
	int line, col;

	if (json_is_true(v) || json_is_false(v) || json_is_null(v))
		return 0;
	ck_assert_msg(manifest_pos(m, v, &line, &col) == 0, "a node has no position");
	if (json_is_object(v))
		json_object_foreach(v, k, c) n += count_positioned(m, c);
	else if (json_is_array(v))
		json_array_foreach(v, i, c) n += count_positioned(m, c);
	return n;
}

START_TEST(positions_cover_every_node)
{
	struct manifest m;
	decode_ok("a: &a {x: [1, 2], y: {z: s}}\n"
		  "b: [*a, *a, {<<: *a, x: over}]\n"
		  "c:\n"
		  "  <<: [{x: [9, 9], w: 1}, {w: 2, v: [3]}, *a]\n"
		  "  w: own\n"
		  "d: &s str\n"
		  "e: [*s, *s, true, null, ~]\n"
		  "g: &g {t: true, n: ~, m: {f: false}}\n"
		  "h: [*g, {<<: *g, t: 1}]\n"
		  "---\n"
		  "f: {<<: {k: [1], j: [2], o: on}, k: 0, p: ~}\n",
		  &m, 2);
	size_t n = count_positioned(&m, m.docs[0]) + count_positioned(&m, m.docs[1]);
	ck_assert_uint_eq(n, mpos_count(m.pos));
	ck_assert_uint_eq(count_singleton_members(m.docs[0]) + count_singleton_members(m.docs[1]),
			  mpos_member_count(m.pos));
	json_t *want = json_loads("{\"x\": [9, 9], \"w\": \"own\", \"v\": [3], \"y\": {\"z\":"
				  " \"s\"}}",
				  0, NULL);
	ck_assert(json_equal(json_object_get(m.docs[0], "c"), want));
	json_decref(want);
	want = json_loads("{\"k\": 0, \"j\": [2], \"o\": true, \"p\": null}", 0, NULL);
	ck_assert(json_equal(json_object_get(m.docs[1], "f"), want));
	json_decref(want);
	manifest_release(&m);
}
END_TEST

START_TEST(multi_document_stream)
{
	struct manifest m;
	decode_ok("# a comment before anything\n"
		  "---\n"
		  "kind: A\n"
		  "---\n"
		  "# only a comment\n"
		  "---\n"
		  "...\n"
		  "---\n"
		  "kind: B\n"
		  "---\n"
		  "~\n"
		  "--- {kind: C}\n",
		  &m, 3);
	ck_assert_str_eq(json_string_value(json_object_get(m.docs[0], "kind")), "A");
	ck_assert_str_eq(json_string_value(json_object_get(m.docs[1], "kind")), "B");
	ck_assert_str_eq(json_string_value(json_object_get(m.docs[2], "kind")), "C");
	ck_assert_int_eq(m.doc_line[0], 2);
	ck_assert_int_eq(m.doc_line[1], 8);
	ck_assert_int_eq(m.doc_line[2], 12);
	manifest_release(&m);

	/* Anchors do not reach into the next document. */
	decode_bad("a: &x 1\n---\nb: *x\n", 17, "t.yaml:3:4: ", "no anchor");

	decode_ok("", &m, 0);
	manifest_release(&m);
	decode_ok("# nothing\n\n# at all\n", &m, 0);
	manifest_release(&m);
	decode_ok("---\n---\n", &m, 0);
	manifest_release(&m);
}
END_TEST

START_TEST(json_input)
{
	static const char *inputs[] = {
	    "{\"kind\":\"Pod\",\"spec\":{\"n\":[1,2.5,true,null,\"x\"]},\"e\":{}}",
	    "{\n    \"kind\": \"Pod\",\n    \"spec\": {\n        \"n\": [\n            1,\n"
	    "            2.5,\n            true,\n            null,\n            \"x\"\n"
	    "        ]\n    },\n    \"e\": {}\n}\n",
	    "{\n\t\"kind\": \"Pod\",\n\t\"spec\": {\n\t\t\"n\": [\n\t\t\t1,\n\t\t\t2.5,\n"
	    "\t\t\ttrue,\n\t\t\tnull,\n\t\t\t\"x\"\n\t\t]\n\t},\n\t\"e\": {}\n}\n",
	    "\xef\xbb\xbf{\"kind\": \"Pod\", \"spec\": {\"n\": [1, 2.5, true, null, \"x\"]}, "
	    "\"e\": {}}\r\n",
	};
	json_t *want = json_loads("{\"kind\":\"Pod\",\"spec\":{\"n\":[1,2.5,true,null,\"x\"]},"
				  "\"e\":{}}",
				  0, NULL);
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct manifest m;
		decode_ok(inputs[i], &m, 1);
		ck_assert_msg(json_equal(m.docs[0], want), "JSON input %zu differs", i);
		manifest_release(&m);
	}
	json_decref(want);
}
END_TEST

START_TEST(big_scalar)
{
	size_t n = 4u << 20;
	char *buf = malloc(n + 64);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, "data: ", 6);
	for (size_t i = 0; i < n; i++)
		buf[6 + i] = "abcdefghijklmnopqrstuvwxyz0123456789+/"[i % 38];
	memcpy(buf + 6 + n, "\nq: \"", 5);
	memcpy(buf + 11 + n, "x\"\n", 4);
	struct manifest m;
	struct cfs_err err = {{0}};
	ck_assert_int_eq(manifest_decode(buf, n + 14, "big", &m, &err), 0);
	ck_assert_uint_eq(json_string_length(json_object_get(m.docs[0], "data")), n);
	ck_assert_str_eq(json_string_value(json_object_get(m.docs[0], "q")), "x");
	manifest_release(&m);
	free(buf);
}
END_TEST

START_TEST(many_documents)
{
	struct strbuf sb = STRBUF_INIT;
	for (int i = 0; i < 10000; i++)
		sb_addf(&sb,
			"---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: c%d\n"
			"spec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n"
			"      storage: 1Gi\n",
			i);
	struct manifest m;
	decode_ok(sb_str(&sb), &m, 10000);
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(m.docs[9999], "metadata"), "name")),
	    "c9999");
	ck_assert_int_eq(m.doc_line[1], 11);
	manifest_release(&m);
	sb_release(&sb);
}
END_TEST

/* A stream over 256 KiB is decoded in two halves by two threads: the same documents,
 * document lines, positions (member positions of true/false/null too) and errors as one
 * pass. Each document is 9 lines. */
static void split_stream(struct strbuf *sb, int ndocs, int bad_doc)
{
	for (int i = 0; i < ndocs; i++) {
		sb_addf(sb,
			"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: &n c%d\n"
			"  labels: {a: *n, flag: true, none: ~}\n"
			"data: {k: \"v%05d\", %s: x}\n# a comment\nlist: [1, 2.5, no]\n",
			i, i, i == bad_doc ? "k" : "j");
	}
}

START_TEST(split_stream_is_one_stream)
{
	struct strbuf sb = STRBUF_INIT;
	struct manifest m;
	int line, col;
	/* where one document alone (one pass) has them */
	int name_l, name_c, flag_l, flag_c, list_l, list_c;
	split_stream(&sb, 1, -1);
	decode_ok(sb_str(&sb), &m, 1);
	json_t *meta0 = json_object_get(m.docs[0], "metadata");
	ck_assert_int_eq(manifest_pos(&m, json_object_get(meta0, "name"), &name_l, &name_c), 0);
	ck_assert_int_eq(
	    manifest_member_pos(&m, json_object_get(meta0, "labels"), "flag", &flag_l, &flag_c), 0);
	ck_assert_int_eq(manifest_pos(&m, json_array_get(json_object_get(m.docs[0], "list"), 1),
				      &list_l, &list_c),
			 0);
	manifest_release(&m);
	sb_reset(&sb);
	split_stream(&sb, 3000, -1);
	ck_assert_uint_gt(sb.len, 256u << 10);
	decode_ok(sb_str(&sb), &m, 3000);
	size_t n = 0, members = 0;
	for (int i = 0; i < 3000; i++) {
		json_t *d = m.docs[i], *meta = json_object_get(d, "metadata");
		ck_assert_int_eq(m.doc_line[i], 9 * i + 1);
		ck_assert_int_eq(manifest_pos(&m, json_object_get(meta, "name"), &line, &col), 0);
		ck_assert_int_eq(line, 9 * i + name_l);
		ck_assert_int_eq(col, name_c);
		json_t *labels = json_object_get(meta, "labels");
		ck_assert_int_eq(manifest_member_pos(&m, labels, "flag", &line, &col), 0);
		ck_assert_int_eq(line, 9 * i + flag_l);
		ck_assert_int_eq(col, flag_c);
		ck_assert_int_eq(
		    manifest_pos(&m, json_array_get(json_object_get(d, "list"), 1), &line, &col),
		    0);
		ck_assert_int_eq(line, 9 * i + list_l);
		ck_assert_int_eq(col, list_c);
		ck_assert_str_eq(json_string_value(json_object_get(labels, "a")),
				 json_string_value(json_object_get(meta, "name")));
		n += count_positioned(&m, d);
		members += count_singleton_members(d);
	}
	ck_assert_uint_eq(n, mpos_count(m.pos));
	ck_assert_uint_eq(members, mpos_member_count(m.pos));
	manifest_release(&m);

	/* an error in the second half, then in the first: the one pass's position (as for
	 * the bad document alone, that many lines down) */
	struct manifest bad1;
	struct cfs_err err1 = {{0}};
	int err_l = 0, err_c = 0;
	sb_reset(&sb);
	split_stream(&sb, 1, 0);
	ck_assert_int_eq(manifest_decode(sb_str(&sb), sb.len, "t.yaml", &bad1, &err1), -EINVAL);
	ck_assert_int_eq(sscanf(err1.msg, "t.yaml:%d:%d:", &err_l, &err_c), 2);
	for (int bad = 0; bad < 2; bad++) {
		int doc = bad ? 7 : 2500;
		char prefix[64];
		sb_reset(&sb);
		split_stream(&sb, 3000, doc);
		snprintf(prefix, sizeof(prefix), "t.yaml:%d:%d: ", 9 * doc + err_l, err_c);
		decode_bad(sb_str(&sb), sb.len, prefix, "mapping key \"k\" already defined");
	}

	/* two halves each under the limits, together over the one on levels: the one pass's
	 * refusal, at the alias of the second bomb that crosses it */
	sb_reset(&sb);
	int bomb_line = 0;
	for (int b = 0; b < 2; b++) {
		if (b)
			for (int i = 0; i < 20000; i++)
				sb_addf(&sb, "---\nfiller: %d\n", i);
		sb_adds(&sb, "---\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\","
			     "\"lol\",\"lol\"]\n");
		for (char c = 'b'; c <= 'f'; c++) {
			sb_addf(&sb, "%c: &%c [", c, c);
			for (int i = 0; i < 9; i++)
				sb_addf(&sb, "%s*%c", i ? "," : "", c - 1);
			sb_adds(&sb, "]\n");
		}
		bomb_line = 1;
		for (size_t i = 0; i < sb.len; i++)
			bomb_line += sb.buf[i] == '\n';
		sb_adds(&sb, "g: [*f]\n");
	}
	ck_assert_uint_gt(sb.len, 256u << 10);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "t.yaml:%d:", bomb_line);
	decode_bad(sb_str(&sb), sb.len, prefix, "MANIFEST_MAX_LEVELS");
	sb_release(&sb);
}
END_TEST

/* ---- refusals ---------------------------------------------------------------------- */

/* Each with the exact "file:line:column: " it must be reported at. len 0: strlen. */
static const struct {
	const char *yaml;
	size_t len;
	const char *prefix, *what;
} bad_inputs[] = {
    {"a: [1, 2\nb: 3\n", 0, "t.yaml:2:2: ", "did not find expected ',' or ']'"},
    {"a:\n\tb: 1\n", 0, "t.yaml:2:1: ", "tab character"},
    {"a: 1\nb: 2\na: 3\n", 0, "t.yaml:3:1: ", "mapping key \"a\" already defined at line 1"},
    {"m:\n  x: {k: 1, k: 2}\n", 0, "t.yaml:2:13: ", "\"k\" already defined at line 2"},
    {"- a\n- b\n", 0, "t.yaml:1:1: ", "a manifest document must be a mapping (got sequence)"},
    {"just a string\n", 0, "t.yaml:1:1: ", "must be a mapping (got string)"},
    {"a: 1\n---\n42\n", 0, "t.yaml:3:1: ", "must be a mapping (got integer)"},
    {"a: *nope\n", 0, "t.yaml:1:4: ", "alias *nope has no anchor &nope"},
    {"a: &x [1, *x]\n", 0, "t.yaml:1:11: ", "refers to a node that contains it"},
    {"a: b: c\n", 0, "t.yaml:1:5: ", "mapping values are not allowed"},
    {"a: 'unterminated\n", 0, "t.yaml:2:1: ", "found unexpected end of stream"},
    {"? [1, 2]\n: x\n", 0, "t.yaml:1:3: ", "a mapping key must be a scalar (got sequence)"},
    {"k: &s {a: 1}\n*s : 2\n", 0, "t.yaml:2:1: ", "a mapping key must be a scalar"},
    {"a: \"x\\0y\"\n", 0, "t.yaml:1:4: ", "NUL character"},
    {"a: !!int abc\n", 0, "t.yaml:1:4: ", "cannot decode \"abc\" as !!int"},
    {"a: 1\n  b: 2\n", 0, "t.yaml:2:4: ", "mapping values are not allowed"},
    {"a: \x01\n", 0, "t.yaml:1:4: ", "control character U+0001"},
    {"a: \"\xed\xa0\x80\"\n", 0, "t.yaml:1:5: ", "invalid UTF-8 byte 0xed"},
    {"a: [}\n", 0, "t.yaml:1:5: ", "did not find expected node content"},
    {"key: value\n- item\n", 0, "t.yaml:2:1: ", "did not find expected key"},
    {"a: \"x\\q\"\n", 0, "t.yaml:1:6: ", "found unknown escape character"},
    /* Bytes strlen() cannot see. */
    {"a: b\0c\n", 7, "t.yaml:1:5: ", "NUL byte"},
    {"a: ok\nb: caf\xe9\n", 14, "t.yaml:2:7: ", "invalid UTF-8 byte 0xe9"},
    {"x: \xc3\xa9\xff\n", 7, "t.yaml:1:5: ", "invalid UTF-8 byte 0xff"},
};

START_TEST(bad_input)
{
	size_t len = bad_inputs[_i].len ? bad_inputs[_i].len : strlen(bad_inputs[_i].yaml);
	decode_bad(bad_inputs[_i].yaml, len, bad_inputs[_i].prefix, bad_inputs[_i].what);
}
END_TEST

START_TEST(nesting_limit)
{
	size_t n = 100000;
	char *buf = malloc(n + 8);
	memcpy(buf, "a: ", 3);
	memset(buf + 3, '[', n);
	buf[3 + n] = '\n';
	clock_t t0 = clock();
	decode_bad(buf, n + 4, "t.yaml:1:131: ", "nesting deeper than 128 levels");
	/* libyaml alone needs tens of seconds here; stopping early takes milliseconds. */
	ck_assert_msg((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0, "deep nesting is slow");
	for (size_t i = 0; i < n / 4; i++)
		memcpy(buf + 3 + 4 * i, "{a: ", 4);
	decode_bad(buf, n + 4, "t.yaml:1:", "MANIFEST_MAX_DEPTH");
	memcpy(buf, "a:\n", 3);
	for (size_t i = 0; i < n / 2; i++)
		memcpy(buf + 3 + 2 * i, "- ", 2);
	decode_bad(buf, n + 4, "t.yaml:2:", "MANIFEST_MAX_DEPTH");
	free(buf);

	/* 128 levels are fine; 129 are not. */
	struct strbuf sb = STRBUF_INIT;
	sb_adds(&sb, "a: ");
	add_times(&sb, "[", 127);
	add_times(&sb, "]", 127);
	struct manifest m;
	decode_ok(sb_str(&sb), &m, 1);
	manifest_release(&m);
	sb_reset(&sb);
	sb_adds(&sb, "a: ");
	add_times(&sb, "[", 128);
	add_times(&sb, "]", 128);
	decode_bad(sb_str(&sb), sb.len, "t.yaml:1:131: ", "nesting deeper");

	/* Aliases cannot stack nesting past the limit either. */
	sb_reset(&sb);
	sb_adds(&sb, "a: &x ");
	add_times(&sb, "[", 100);
	add_times(&sb, "]", 100);
	sb_adds(&sb, "\nb: ");
	add_times(&sb, "[", 50);
	sb_adds(&sb, "*x");
	add_times(&sb, "]", 50);
	sb_addc(&sb, '\n');
	decode_bad(sb_str(&sb), sb.len, "t.yaml:2:54: ", "once alias *x is expanded");
	sb_release(&sb);
}
END_TEST

START_TEST(alias_bomb)
{
	struct strbuf sb = STRBUF_INIT;
	sb_adds(
	    &sb,
	    "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
	for (char c = 'b'; c <= 'i'; c++) {
		sb_addf(&sb, "%c: &%c [", c, c);
		for (int i = 0; i < 9; i++)
			sb_addf(&sb, "%s*%c", i ? "," : "", c - 1);
		sb_adds(&sb, "]\n");
	}
	clock_t t0 = clock();
	/* nine levels deep: the nodes' levels pass their limit before their number does */
	decode_bad(sb_str(&sb), sb.len, "t.yaml:7:", "MANIFEST_MAX_LEVELS");
	ck_assert_msg((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0, "alias bomb is slow");

	/* flat: a sequence of 1,000 repeated 5,000 times, two or three levels deep */
	sb_reset(&sb);
	sb_adds(&sb, "a: &a [1");
	add_times(&sb, ",1", 999);
	sb_adds(&sb, "]\nb: [*a");
	add_times(&sb, ",*a", 4999);
	sb_adds(&sb, "]\n");
	decode_bad(sb_str(&sb), sb.len, "t.yaml:2:", "MANIFEST_MAX_NODES");
	sb_release(&sb);
}
END_TEST

/* Lines "l1: &l1 [*base, ...]", "l2: &l2 [*l1, ...]" ... up to l<levels>: nine aliases of
 * the level above on each, last_copies on the last one. */
static void add_alias_levels(struct strbuf *sb, const char *base, int levels, int last_copies)
{
	for (int l = 1; l <= levels; l++) {
		sb_addf(sb, "l%d: &l%d [", l, l);
		for (int i = 0; i < (l < levels ? 9 : last_copies); i++)
			if (l == 1)
				sb_addf(sb, "%s*%s", i ? ", " : "", base);
			else
				sb_addf(sb, "%s*l%d", i ? ", " : "", l - 1);
		sb_adds(sb, "]\n");
	}
}

/* A long scalar (or key) repeated by aliases: few nodes, many bytes. Each level below
 * holds nine aliases of the one above: 729 copies of 4,000 bytes decode, 6,561 do not. */
static void bytes_bomb(struct strbuf *sb, int levels, int as_key)
{
	char big[4001];
	memset(big, 'x', 4000);
	big[4000] = '\0';
	if (as_key)
		sb_addf(sb, "a: &a\n  ? %s\n  : 1\n", big); /* a key of 1024+ must be explicit */
	else
		sb_addf(sb, "a: &a %s\n", big);
	add_alias_levels(sb, "a", levels, 9);
}

START_TEST(alias_bytes_bomb)
{
	for (int as_key = 0; as_key < 2; as_key++) {
		struct strbuf sb = STRBUF_INIT;
		struct manifest m;
		struct cfs_err err = {{0}};
		bytes_bomb(&sb, 3, as_key);
		ck_assert_int_eq(manifest_decode(sb_str(&sb), sb.len, "t.yaml", &m, &err), 0);
		ck_assert_uint_eq(json_array_size(json_object_get(m.docs[0], "l3")), 9);
		manifest_release(&m);
		sb_reset(&sb);
		bytes_bomb(&sb, 4, as_key);
		decode_bad(sb_str(&sb), sb.len,
			   as_key ? "t.yaml:7:" : "t.yaml:5:", "bytes of scalars and keys");
		sb_release(&sb);
	}
}
END_TEST

/* A node 100 levels deep repeated by aliases (nine copies of nine of nine, then
 * last_copies of those): each copy adds about 5,000 levels. */
static void deep_repeated(struct strbuf *sb, int last_copies)
{
	sb_adds(sb, "d: &d ");
	add_times(sb, "{a: ", 100);
	sb_adds(sb, "1");
	add_times(sb, "}", 100);
	sb_adds(sb, "\n");
	add_alias_levels(sb, "d", 4, last_copies);
}

/* Nine copies at the last level are refused at the third, with the nodes far under
 * MANIFEST_MAX_NODES. */
START_TEST(alias_levels_bomb)
{
	struct strbuf sb = STRBUF_INIT;
	deep_repeated(&sb, 9);
	decode_bad(sb_str(&sb), sb.len, "t.yaml:5:", "MANIFEST_MAX_LEVELS");
	sb_release(&sb);
}
END_TEST

/* Within the limits, a deep object can still show as more than 16 MiB (indentation, as
 * kubectl's): writing it back is refused as any stream that large. */
START_TEST(deep_object_shows_over_limit)
{
	struct strbuf sb = STRBUF_INIT, shown = STRBUF_INIT;
	struct manifest m, back;
	struct cfs_err err = {{0}};
	deep_repeated(&sb, 2);
	ck_assert_int_eq(manifest_decode(sb_str(&sb), sb.len, "t.yaml", &m, &err), 0);
	manifest_emit_yaml(m.docs[0], &shown);
	ck_assert_uint_gt(shown.len, MANIFEST_MAX_BYTES);
	ck_assert_int_eq(manifest_decode(shown.buf, shown.len, "t.yaml", &back, &err), -EFBIG);
	manifest_release(&m);
	sb_release(&shown);
	sb_release(&sb);
}
END_TEST

START_TEST(too_big)
{
	size_t n = MANIFEST_MAX_BYTES + 1;
	char *buf = malloc(n);
	memset(buf, '#', n);
	struct manifest m;
	struct cfs_err err = {{0}};
	ck_assert_int_eq(manifest_decode(buf, n, "big.yaml", &m, &err), -EFBIG);
	ck_assert_msg(strncmp(err.msg, "big.yaml: ", 10) == 0, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "16 MiB") != NULL, "%s", err.msg);
	ck_assert_uint_eq(m.ndocs, 0);
	/* Exactly the limit is allowed (a comment-only stream: no documents). */
	ck_assert_int_eq(manifest_decode(buf, n - 1, "big.yaml", &m, &err), 0);
	ck_assert_uint_eq(m.ndocs, 0);
	manifest_release(&m);
	free(buf);
}
END_TEST

/* ---- emitters ---------------------------------------------------------------------- */

static const char pvc_json[] =
    "{\"apiVersion\": \"v1\", \"kind\": \"PersistentVolumeClaim\","
    " \"metadata\": {\"name\": \"goserver-pvc\", \"namespace\": \"default\","
    "  \"uid\": \"0b7d6c4e-5f3a-4c1e-9d2b-8a7f6e5d4c3b\", \"resourceVersion\": \"42\","
    "  \"creationTimestamp\": \"2026-11-24T21:57:01Z\","
    "  \"annotations\": {\"pv.kubernetes.io/bind-completed\": \"yes\","
    "   \"volume.kubernetes.io/storage-provisioner\": \"claimfs.io/simulated\","
    "   \"note\": \"first line\\nsecond line\\n\"},"
    "  \"finalizers\": [\"kubernetes.io/pvc-protection\"], \"labels\": {}},"
    " \"spec\": {\"accessModes\": [\"ReadWriteOnce\"],"
    "  \"resources\": {\"requests\": {\"storage\": \"5Gi\"}},"
    "  \"storageClassName\": \"standard\", \"volumeMode\": \"Filesystem\","
    "  \"selector\": null, \"dataSource\": [], \"replicas\": 3, \"ratio\": 0.5,"
    "  \"containers\": [{\"name\": \"mysql\", \"image\": \"mysql:8\","
    "    \"args\": [\"-c\", \"echo hi: there\"], \"env\": []}],"
    "  \"matrix\": [[1, 2], [\"a\"]]},"
    " \"status\": {\"phase\": \"Bound\", \"capacity\": {\"storage\": \"5Gi\"},"
    "  \"accessModes\": [\"ReadWriteOnce\"], \"ready\": true}}";

static const char pvc_yaml[] =
    "apiVersion: v1\n"
    "kind: PersistentVolumeClaim\n"
    "metadata:\n"
    "  annotations:\n"
    "    note: |\n"
    "      first line\n"
    "      second line\n"
    "    pv.kubernetes.io/bind-completed: \"yes\"\n"
    "    volume.kubernetes.io/storage-provisioner: claimfs.io/simulated\n"
    "  creationTimestamp: \"2026-11-24T21:57:01Z\"\n"
    "  finalizers:\n"
    "  - kubernetes.io/pvc-protection\n"
    "  labels: {}\n"
    "  name: goserver-pvc\n"
    "  namespace: default\n"
    "  resourceVersion: \"42\"\n"
    "  uid: 0b7d6c4e-5f3a-4c1e-9d2b-8a7f6e5d4c3b\n"
    "spec:\n"
    "  accessModes:\n"
    "  - ReadWriteOnce\n"
    "  containers:\n"
    "  - args:\n"
    "    - -c\n"
    "    - 'echo hi: there'\n"
    "    env: []\n"
    "    image: mysql:8\n"
    "    name: mysql\n"
    "  dataSource: []\n"
    "  matrix:\n"
    "  - - 1\n"
    "    - 2\n"
    "  - - a\n"
    "  ratio: 0.5\n"
    "  replicas: 3\n"
    "  resources:\n"
    "    requests:\n"
    "      storage: 5Gi\n"
    "  selector: null\n"
    "  storageClassName: standard\n"
    "  volumeMode: Filesystem\n"
    "status:\n"
    "  accessModes:\n"
    "  - ReadWriteOnce\n"
    "  capacity:\n"
    "    storage: 5Gi\n"
    "  phase: Bound\n"
    "  ready: true\n";

START_TEST(emit_yaml_golden)
{
	json_t *obj = json_loads(pvc_json, 0, NULL);
	ck_assert_ptr_nonnull(obj);
	struct strbuf sb = STRBUF_INIT;
	manifest_emit_yaml(obj, &sb);
	ck_assert_str_eq(sb_str(&sb), pvc_yaml);

	struct manifest m;
	decode_ok(sb_str(&sb), &m, 1);
	ck_assert(json_equal(m.docs[0], obj));
	manifest_release(&m);

	/* Appends; does not reset. */
	sb_reset(&sb);
	sb_adds(&sb, "---\n");
	json_t *empty = json_object();
	manifest_emit_yaml(empty, &sb);
	ck_assert_str_eq(sb_str(&sb), "---\n{}\n");
	json_decref(empty);
	sb_release(&sb);
	json_decref(obj);
}
END_TEST

START_TEST(emit_yaml_quoting)
{
	struct {
		const char *in, *out;
	} cases[] = {
	    {"yes", "\"yes\""},
	    {"No", "\"No\""},
	    {"y", "\"y\""},
	    {"~", "\"~\""},
	    {"null", "\"null\""},
	    {"", "\"\""},
	    {"123", "\"123\""},
	    {"1e3", "\"1e3\""},
	    {"0x1F", "\"0x1F\""},
	    {"1.5", "\"1.5\""},
	    {".inf", "\".inf\""},
	    {"2026-01-02", "\"2026-01-02\""},
	    {"<<", "<<"},
	    {"?x", "?x"},
	    {":x", ":x"},
	    {"12:30", "\"12:30\""},
	    {"1:20:30", "\"1:20:30\""},
	    {"?", "'?'"},
	    {": x", "': x'"},
	    {"-", "'-'"},
	    {"- x", "'- x'"},
	    {"a: b", "'a: b'"},
	    {"#x", "'#x'"},
	    {"a #b", "'a #b'"},
	    {" x", "' x'"},
	    {"x ", "'x '"},
	    {"it's: x", "'it''s: x'"},
	    {"*", "'*'"},
	    {"&a", "'&a'"},
	    {"!x", "'!x'"},
	    {"{a}", "'{a}'"},
	    {"[a]", "'[a]'"},
	    {"key:", "'key:'"},
	    {"%x", "'%x'"},
	    {"@x", "'@x'"},
	    {"`x", "'`x'"},
	    {"---", "'---'"},
	    {"tab\there", "\"tab\\there\""},
	    {"5Gi", "5Gi"},
	    {"1.5Gi", "1.5Gi"},
	    {"-c", "-c"},
	    {"a:b", "a:b"},
	    {"a#b", "a#b"},
	    {"http://x/y?z", "http://x/y?z"},
	    {"caf\xc3\xa9", "caf\xc3\xa9"},
	    {"bell\a", "\"bell\\u0007\""},
	    {"\xc2\x85", "\"\\u0085\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *obj = json_pack("{s:s}", "k", cases[i].in);
		struct strbuf sb = STRBUF_INIT, want = STRBUF_INIT;
		manifest_emit_yaml(obj, &sb);
		sb_addf(&want, "k: %s\n", cases[i].out);
		ck_assert_str_eq(sb_str(&sb), sb_str(&want));
		sb_release(&sb);
		sb_release(&want);
		json_decref(obj);
	}
}
END_TEST

START_TEST(emit_yaml_blocks)
{
	json_t *obj = json_pack("{s:s, s:[s], s:s, s:s}", "a", "one\ntwo", "b", "x\ny\n", "c",
				"trailing \nspace", "d", "two\n\n");
	struct strbuf sb = STRBUF_INIT;
	manifest_emit_yaml(obj, &sb);
	ck_assert_str_eq(sb_str(&sb), "a: |-\n  one\n  two\n"
				      "b:\n- |\n  x\n  y\n"
				      "c: \"trailing \\nspace\"\n"
				      "d: \"two\\n\\n\"\n");
	sb_release(&sb);
	json_decref(obj);
}
END_TEST

START_TEST(emit_json_golden)
{
	json_t *obj = json_loads("{\"kind\": \"PersistentVolumeClaim\", \"metadata\": {\"name\":"
				 " \"c\", \"labels\": {}}, \"spec\": {\"accessModes\":"
				 " [\"ReadWriteOnce\"], \"n\": 3, \"x\": null, \"e\": []}}",
				 0, NULL);
	struct strbuf sb = STRBUF_INIT;
	manifest_emit_json(obj, &sb);
	ck_assert_str_eq(sb_str(&sb), "{\n"
				      "    \"kind\": \"PersistentVolumeClaim\",\n"
				      "    \"metadata\": {\n"
				      "        \"name\": \"c\",\n"
				      "        \"labels\": {}\n"
				      "    },\n"
				      "    \"spec\": {\n"
				      "        \"accessModes\": [\n"
				      "            \"ReadWriteOnce\"\n"
				      "        ],\n"
				      "        \"n\": 3,\n"
				      "        \"x\": null,\n"
				      "        \"e\": []\n"
				      "    }\n"
				      "}\n");
	/* And it decodes back as YAML too. */
	struct manifest m;
	decode_ok(sb_str(&sb), &m, 1);
	ck_assert(json_equal(m.docs[0], obj));
	manifest_release(&m);
	sb_release(&sb);
	json_decref(obj);
}
END_TEST

/* ---- round trips ------------------------------------------------------------------- */

static void round_trip(const json_t *obj)
{
	struct strbuf sb = STRBUF_INIT;
	struct manifest m;
	struct cfs_err err = {{0}};
	manifest_emit_yaml(obj, &sb);
	int rc = manifest_decode(sb.buf, sb.len, "rt", &m, &err);
	if (rc != 0 || m.ndocs != 1 || !json_equal(m.docs[0], obj)) {
		char *want = json_dumps(obj, JSON_ENCODE_ANY);
		char *got = rc == 0 && m.ndocs ? json_dumps(m.docs[0], 0) : NULL;
		ck_abort_msg("round trip failed (%s)\nvalue: %s\nyaml:\n%s\nback: %s", err.msg,
			     want, sb_str(&sb), got ? got : "-");
	}
	manifest_release(&m);
	sb_release(&sb);
}

static const char *tricky[] = {
    "yes",
    "No",
    "~",
    "null",
    "1e3",
    "0x1F",
    "-",
    "a: b",
    "#x",
    " x",
    "x ",
    "",
    "1.5Gi",
    "5Gi",
    "true",
    "NaN",
    ".nan",
    "-.Inf",
    "0644",
    "0o17",
    "0b101",
    "1_0",
    "+1",
    "-0",
    ".5",
    "1.",
    "08",
    "y",
    "n",
    "ON",
    "<<",
    "=",
    "?",
    ":",
    "?x",
    ":x",
    "x:",
    "-x",
    "--",
    "---",
    "...",
    "- ",
    "a\tb",
    "\t",
    "line\nbreak",
    "a\n",
    "a\n\n",
    "\n",
    "\na",
    " a\nb",
    "a \nb",
    "a\n b\n  c",
    "x\n\ny",
    "\"",
    "'",
    "\\",
    "'q'",
    "\"q\"",
    "a'b",
    "a\"b",
    "a\\b",
    "%",
    "@",
    "`",
    "!",
    "&",
    "*",
    "|",
    ">",
    "{",
    "}",
    "[",
    "]",
    ",",
    "a,b",
    "[a, b]",
    "{a: b}",
    "a #b",
    "a# b",
    "a:b",
    "a : b",
    "2026-11-24",
    "2026-11-24T21:57:01Z",
    "2026-1-2 3:4:5",
    "1234-56",
    "0.",
    "caf\xc3\xa9",
    "\xe2\x98\x83 snow",
    "\xe2\x80\xa8",
    "\xc2\x85",
    "\xef\xbb\xbf"
    "bom",
    "\x7f",
    "\x01\x02",
    "\xf0\x9f\x98\x80",
    "1e400",
    "9223372036854775808",
    "-9223372036854775809",
    "0x",
    "0xZZ",
    "1_",
    "_1",
    "+",
    "+.5e-3",
    "12:30",
    "1:20:30",
    "Yes please",
    "no-op",
    "null ",
    "~x",
    "#",
    "# ",
    " #",
    "a  b",
    "  ",
    "a\rb",
    "\r\n",
};

START_TEST(round_trip_tricky_strings)
{
	size_t n = sizeof(tricky) / sizeof(tricky[0]);
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_string(tricky[i]);
		ck_assert_msg(s != NULL, "bad test string %zu", i);
		json_t *obj = json_pack("{s:O, s:[O, [O], {s:O}], s:{s:O}}", "value", s, "list", s,
					s, "k", s, "nested", "deeper", s);
		json_object_set(obj, tricky[i], s);
		round_trip(obj);
		json_decref(obj);
		json_decref(s);
	}
}
END_TEST

START_TEST(round_trip_other_values)
{
	json_t *obj = json_loads("{\"i\": -9223372036854775807, \"big\": 9223372036854775807,"
				 " \"r\": 0.1, \"r2\": -2.5e-300, \"r3\": 1e300, \"r4\": 1.25,"
				 " \"t\": true, \"f\": false, \"n\": null, \"eo\": {}, \"ea\": [],"
				 " \"deep\": [[[[{}]]], [[]], {\"a\": [{}]}]}",
				 0, NULL);
	ck_assert_ptr_nonnull(obj);
	round_trip(obj);
	/* A key too long for an implicit key, and a long value. */
	char *k = malloc(3001);
	memset(k, 'k', 3000);
	k[3000] = '\0';
	json_object_set_new(obj, k, json_pack("{s:[i]}", "x", 1));
	json_object_set_new(obj, "long", json_string(k));
	k[10] = ':';
	k[11] = ' ';
	json_object_set_new(obj, k, json_pack("[i, {s:[i]}, s]", 1, "a", 2, "v"));
	round_trip(obj);
	free(k);
	json_decref(obj);
}
END_TEST

/* A small deterministic generator (no dependence on rand()'s implementation). */
static unsigned long long rng_state;

static unsigned rnd(unsigned n)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)((rng_state >> 33) % n);
}

static json_t *random_string(void)
{
	static const char *atoms[] = {
	    "a",    "Z",   "0",	   "1",	   "9",	 " ",  ":",   "#",	  "-",
	    "?",    ",",   "[",	   "]",	   "{",	 "}",  "'",   "\"",	  "\\",
	    "\n",   "\t",  ".",	   "e",	   "x",	 "_",  "+",   "~",	  "!",
	    "&",    "*",   "|",	   ">",	   "%",	 "@",  "`",   "\xc3\xa9", "\xe2\x80\xa8",
	    "\x7f", "yes", "null", "true", "0x", "Gi", "---", "...",	  "\r",
	    "<<"};
	char buf[64];
	size_t len = 0, n = rnd(6);
	for (size_t i = 0; i < n; i++) {
		const char *a = atoms[rnd(sizeof(atoms) / sizeof(atoms[0]))];
		memcpy(buf + len, a, strlen(a));
		len += strlen(a);
	}
	return json_stringn(buf, len);
}

static json_t *random_value(int depth)
{
	unsigned kind = rnd(depth > 4 ? 6 : 9);
	switch (kind) {
	case 0:
	case 1:
		return random_string();
	case 2:
		return json_integer((json_int_t)rnd(2000000) - 1000000);
	case 3:
		return json_real((double)((int)rnd(20000) - 10000) / 64.0 + 1.0 / 128.0);
	case 4:
		return json_boolean(rnd(2));
	case 5:
		return json_null();
	case 6:
	case 7: {
		json_t *o = json_object();
		for (unsigned i = rnd(4); i > 0; i--) {
			json_t *k = random_string();
			json_object_set_new(o, json_string_value(k), random_value(depth + 1));
			json_decref(k);
		}
		return o;
	}
	default: {
		json_t *a = json_array();
		for (unsigned i = rnd(4); i > 0; i--)
			json_array_append_new(a, random_value(depth + 1));
		return a;
	}
	}
}

START_TEST(round_trip_random)
{
	rng_state = 20261124;
	for (int i = 0; i < 3000; i++) {
		json_t *obj = json_object();
		for (unsigned k = rnd(5) + 1; k > 0; k--) {
			json_t *key = random_string();
			json_object_set_new(obj, json_string_value(key), random_value(0));
			json_decref(key);
		}
		round_trip(obj);
		json_decref(obj);
	}
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("manifest");
	TCase *dec = tcase_create("decode");
	tcase_set_timeout(dec, 120);
	tcase_add_test(dec, scalar_types);
	tcase_add_test(dec, block_and_quoted_scalars);
	tcase_add_test(dec, positions);
	tcase_add_test(dec, errorf_prefixes);
	tcase_add_test(dec, member_positions);
	tcase_add_test(dec, member_errorf);
	tcase_add_test(dec, pos_follow_merged_copy);
	tcase_add_test(dec, check_type);
	tcase_add_test(dec, quote_values);
	tcase_add_test(dec, flow_trailing_commas);
	tcase_add_test(dec, anchors_and_aliases);
	tcase_add_test(dec, positions_cover_every_node);
	tcase_add_test(dec, multi_document_stream);
	tcase_add_test(dec, json_input);
	tcase_add_test(dec, big_scalar);
	tcase_add_test(dec, many_documents);
	tcase_add_test(dec, split_stream_is_one_stream);
	suite_add_tcase(s, dec);

	TCase *bad = tcase_create("refusals");
	tcase_set_timeout(bad, 120);
	tcase_add_loop_test(bad, bad_input, 0, (int)(sizeof(bad_inputs) / sizeof(bad_inputs[0])));
	tcase_add_test(bad, nesting_limit);
	tcase_add_test(bad, alias_bomb);
	tcase_add_test(bad, alias_bytes_bomb);
	tcase_add_test(bad, alias_levels_bomb);
	tcase_add_test(bad, deep_object_shows_over_limit);
	tcase_add_test(bad, too_big);
	suite_add_tcase(s, bad);

	TCase *emit = tcase_create("emit");
	tcase_set_timeout(emit, 120);
	tcase_add_test(emit, emit_yaml_golden);
	tcase_add_test(emit, emit_yaml_quoting);
	tcase_add_test(emit, emit_yaml_blocks);
	tcase_add_test(emit, emit_json_golden);
	tcase_add_test(emit, round_trip_tricky_strings);
	tcase_add_test(emit, round_trip_other_values);
	tcase_add_test(emit, round_trip_random);
	suite_add_tcase(s, emit);
	return s;
}
