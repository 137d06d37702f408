/* test_store.c - the object store: kinds and plurals, get/list/insert/remove, the dirty
 * set the journal takes, object paths, cold objects (eviction and hydration) and the
 * JSON allocator's slabs. */
#include <string.h>
#include "unit.h"
#include "claimfs/jsonalloc.h"
#include "claimfs/jsonpack.h"
#include "claimfs/jsontext.h"
#include "claimfs/jsonutil.h"
#include "claimfs/store.h"

static json_t *mk(const char *kind, const char *ns, const char *name)
{
	json_t *o = json_pack("{s:s,s:{s:s}}", "kind", kind, "metadata", "name", name);
	if (ns)
		jset_str(o, "metadata.namespace", ns);
	return o;
}

START_TEST(plurals)
{
	char buf[64];
	store_plural_of("PersistentVolumeClaim", buf, sizeof(buf));
	ck_assert_str_eq(buf, "persistentvolumeclaims");
	store_plural_of("PodDisruptionBudget", buf, sizeof(buf));
	ck_assert_str_eq(buf, "poddisruptionbudgets");
	store_plural_of("StorageClass", buf, sizeof(buf));
	ck_assert_str_eq(buf, "storageclasses");
	store_plural_of("NetworkPolicy", buf, sizeof(buf));
	ck_assert_str_eq(buf, "networkpolicies");
	store_plural_of("Gateway", buf, sizeof(buf));
	ck_assert_str_eq(buf, "gateways");
	store_plural_of("Ingress", buf, sizeof(buf));
	ck_assert_str_eq(buf, "ingresses");
}
END_TEST

START_TEST(insert_get_list_remove)
{
	struct store *s = store_new();
	const struct kind *pvc = store_kind_register(s, "PersistentVolumeClaim", "v1", 1, NULL);
	const struct kind *pv = store_kind_register(s, "PersistentVolume", "v1", 0, NULL);
	size_t n, i;
	ck_assert_ptr_eq(store_kind_register(s, "PersistentVolumeClaim", "v1", 1, NULL), pvc);
	ck_assert_ptr_eq(store_kind_by_plural(s, "persistentvolumes"), pv);
	ck_assert_ptr_null(store_kind(s, "Nope"));

	char name[32];
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "c%zu", i);
		store_insert(s, pvc, mk("PersistentVolumeClaim", i % 2 ? "a" : "b", name), 1);
	}
	store_insert(s, pv, mk("PersistentVolume", NULL, "v1"), 1);
	ck_assert_uint_eq(store_count(s), 3001);
	store_list(s, pvc, NULL, &n);
	ck_assert_uint_eq(n, 3000);
	store_list(s, pvc, "a", &n);
	ck_assert_uint_eq(n, 1500);
	store_list(s, pvc, "zzz", &n);
	ck_assert_uint_eq(n, 0);
	struct object *o = store_get(s, pvc, "a", "c1");
	ck_assert_ptr_nonnull(o);
	ck_assert_ptr_null(store_get(s, pvc, "b", "c1"));
	ck_assert_ptr_nonnull(store_get(s, pv, "ignored-for-cluster-scope", "v1"));
	uint64_t id = o->id;
	ck_assert_str_eq(jstr(object_json(o), "metadata.resourceVersion"), "2");

	struct strbuf sb = STRBUF_INIT;
	object_path(o, &sb);
	ck_assert_str_eq(sb_str(&sb), "namespaces/a/persistentvolumeclaims/c1");
	sb_reset(&sb);
	object_path(store_get(s, pv, NULL, "v1"), &sb);
	ck_assert_str_eq(sb_str(&sb), "persistentvolumes/v1");
	sb_release(&sb);

	store_remove(s, o);
	ck_assert_ptr_null(store_get(s, pvc, "a", "c1"));
	store_list(s, pvc, "a", &n);
	ck_assert_uint_eq(n, 1499);
	/* every remaining object is still reachable after swap-removal */
	struct object *const *v = store_list(s, pvc, "a", &n);
	for (i = 0; i < n; i++)
		ck_assert_ptr_eq(store_get(s, pvc, "a", v[i]->name), v[i]);
	o = store_insert(s, pvc, mk("PersistentVolumeClaim", "a", "c1"), 1);
	ck_assert_uint_gt(o->id, id); /* ids are never reused */
	store_free(s);
}
END_TEST

START_TEST(dirty_set)
{
	struct store *s = store_new();
	const struct kind *k = store_kind_register(s, "ConfigMap", "v1", 1, NULL);
	json_t *puts, *dels;
	struct object *a = store_insert(s, k, mk("ConfigMap", "d", "a"), 1);
	struct object *b = store_insert(s, k, mk("ConfigMap", "d", "b"), 1);
	store_touch(s, a, 2);
	ck_assert(store_has_changes(s));
	store_take_changes(s, &puts, &dels);
	ck_assert_uint_eq(json_array_size(puts), 2);
	ck_assert_uint_eq(json_array_size(dels), 0);
	json_decref(puts);
	json_decref(dels);
	ck_assert(!store_has_changes(s));

	store_touch(s, b, 3);
	store_remove(s, b); /* touched then removed: only the delete remains */
	store_take_changes(s, &puts, &dels);
	ck_assert_uint_eq(json_array_size(puts), 0);
	ck_assert_uint_eq(json_array_size(dels), 1);
	ck_assert_str_eq(json_string_value(json_array_get(json_array_get(dels, 0), 2)), "b");
	ck_assert_str_eq(json_string_value(json_array_get(json_array_get(dels, 0), 1)), "d");
	json_decref(puts);
	json_decref(dels);
	ck_assert_int_eq(a->mtime_ms, 2);
	store_free(s);
}
END_TEST

/* The object's text as a snapshot holds it (store_write_object). */
static char *text_of(const struct object *o)
{
	struct jsontext_writer w = {NULL, 0, 0, NULL, NULL};
	store_write_object(o, &w);
	jsontext_add(&w, "", 1);
	return w.buf;
}

START_TEST(cold_objects)
{
	struct store *s = store_new();
	const struct kind *k = store_kind_register(s, "ConfigMap", "v1", 1, NULL);
	json_t *puts, *dels;
	char name[32];
	size_t i;
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "m%zu", i);
		json_t *j = mk("ConfigMap", "d", name);
		jset(j, "data",
		     json_pack("{s:s,s:i,s:[s,b,n],s:f}", "k\"ey", "v\n\u00e9", "n", (int)i, "list",
			       "x", 1, "real", 1.5));
		store_insert(s, k, j, 1);
	}
	struct object *a = store_get(s, k, "d", "m7");
	char *hot_text = text_of(a);
	/* changed since the journal took them: nothing can be made cold */
	ck_assert_uint_eq(store_evict(s, 10), 0);
	ck_assert_uint_eq(store_hot_count(s), 100);
	store_take_changes(s, &puts, &dels);
	json_decref(puts);
	json_decref(dels);
	/* every object was just read: the clock's first pass only clears that */
	ck_assert_uint_eq(store_evict(s, 10), 90);
	ck_assert_uint_eq(store_hot_count(s), 10);
	ck_assert_uint_eq(store_evict(s, 0), 10);
	ck_assert_ptr_null(a->hot);
	ck_assert_ptr_nonnull(a->cold);
	/* a cold object's text is what its hot value wrote */
	char *cold_text = text_of(a);
	ck_assert_str_eq(cold_text, hot_text);
	/* read again: the same values, hot again */
	json_t *j = object_json(a);
	ck_assert_ptr_nonnull(j);
	ck_assert_ptr_null(a->cold);
	ck_assert_uint_eq(store_hot_count(s), 1);
	ck_assert_str_eq(jstr(j, "data.k\"ey"), "v\n\u00e9");
	ck_assert(json_is_real(jget(j, "data.real")));
	ck_assert(json_is_true(json_array_get(jget(j, "data.list"), 1)));
	ck_assert_str_eq(jstr(j, "metadata.resourceVersion"), "8");
	free(cold_text);
	/* a change made in place before the touch survives being made cold */
	jset_str(j, "data.new", "kept");
	store_touch(s, a, 5);
	store_take_changes(s, &puts, &dels);
	json_decref(puts);
	json_decref(dels);
	a->used = 0;
	ck_assert_uint_eq(store_evict(s, 0), 1);
	ck_assert_str_eq(jstr(object_json(a), "data.new"), "kept");
	/* replacing a cold object's JSON, and removing cold objects */
	ck_assert_uint_eq(store_evict(s, 0), 1); /* read: cold on the clock's second pass */
	store_set_json(s, a, mk("ConfigMap", "d", "m7"));
	ck_assert_ptr_null(jget(object_json(a), "data"));
	for (i = 0; i < 100; i += 2) {
		snprintf(name, sizeof(name), "m%zu", i);
		store_remove(s, store_get(s, k, "d", name));
	}
	ck_assert_uint_eq(store_count(s), 50);
	ck_assert_uint_le(store_hot_count(s), 50);
	free(hot_text);
	store_free(s);
}
END_TEST

/* The allocator's slabs: values come and go whole, and the memory with them. */
START_TEST(json_slabs)
{
	jsonalloc_init();
	if (!jsonalloc_active())
		return; /* a sanitizer build sees every block through malloc */
	json_t *arr = json_array();
	size_t i, before = jsonalloc_resident();
	for (i = 0; i < 20000; i++)
		json_array_append_new(arr, json_pack("{s:s,s:i,s:[i,i]}", "name", "a value here",
						     "i", (int)i, "l", 1, 2));
	size_t full = jsonalloc_resident();
	ck_assert_uint_gt(full, before + (1u << 20));
	for (i = 0; i < 20000; i++)
		ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(arr, i), "i")),
				 (json_int_t)i);
	json_decref(arr);
	/* all but a few kept empty slabs (and those the thread's cache holds) went back */
	ck_assert_uint_lt(jsonalloc_resident(), before + (full - before) / 2);
}
END_TEST

/* Packing gives back the very text, for the objects it was made for and for any other. */
START_TEST(packed_text)
{
	static const char *const texts[] = {
	    "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolume\",\"metadata\":{\"name\":\"pvc-"
	    "ce83\","
	    "\"annotations\":{\"pv.kubernetes.io/bound-by-controller\":\"yes\",\"pv.kubernetes.io/"
	    "provisioned-by\":\"claimfs.io/simulated\"},\"finalizers\":[\"kubernetes.io/"
	    "pv-protection\","
	    "\"external-provisioner.volume.kubernetes.io/finalizer\"],\"uid\":\"03f3\","
	    "\"creationTimestamp\":\"2026-12-06T16:53:38Z\",\"resourceVersion\":\"12\"},\"spec\":{"
	    "\"accessModes\":[\"ReadWriteOnce\"],\"capacity\":{\"storage\":\"1Mi\"},\"claimRef\":{"
	    "\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"namespace\":\"default\","
	    "\"name\":\"c-000000\",\"uid\":\"ce83\",\"resourceVersion\":\"9\"},\"csi\":{\"driver\":"
	    "\"claimfs.io/simulated\",\"fsType\":\"ext4\",\"volumeHandle\":\"ce83\"},"
	    "\"persistentVolumeReclaimPolicy\":\"Delete\",\"storageClassName\":\"standard\","
	    "\"volumeMode\":\"Filesystem\"},\"status\":{\"lastPhaseTransitionTime\":"
	    "\"2026-12-06T16:53:38Z\",\"phase\":\"Bound\"}}",
	    "{\"a\":\"\\\"\\u0001 \u00e9\",\"\":[],\"b\":{}}",
	    "\"",
	    "\"\"",
	    "\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name",
	    "",
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		size_t n = strlen(texts[i]);
		char *p = xstrndup(texts[i], n);
		size_t m = jsonpack_pack(p, n);
		ck_assert_uint_le(m, n);
		ck_assert_uint_eq(jsonpack_unpacked_len(p, m), n);
		char *back = xmalloc(n + 1);
		jsonpack_unpack(p, m, back);
		back[n] = '\0';
		ck_assert_str_eq(back, texts[i]);
		if (i == 0)
			ck_assert_uint_lt(m, n / 3); /* a provisioned PV packs to a third or less */
		free(back);
		free(p);
	}
}
END_TEST

/* The reader behind snapshots and records (jsontext.h): one value of a larger text and
 * where it ends, nesting counted with the containers around it, and numbers as json_loadb
 * reads them however many digits they have. */
START_TEST(jsontext_reader)
{
	static const char list[] = " {\"a\":[1,2]} ,3";
	size_t used = 0;
	json_t *v = jsontext_parse_some(list, strlen(list), 0, &used);
	ck_assert(json_is_object(v));
	ck_assert_uint_eq(used, 12); /* up to the closing brace */
	json_decref(v);

	const char *numbers[] = {
	    "[1.00000000000000000000000000000000000000000000000000000000000000000000001,2]",
	    "[-0.000000000000000000000000000000000000000000000000000000000000000000000012e-3]",
	    "[123456789012345678901234567890123456789012345678901234567890123456789]",
	};
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		json_error_t je;
		json_t *mine = jsontext_parse(numbers[i], strlen(numbers[i]));
		json_t *theirs = json_loadb(numbers[i], strlen(numbers[i]), 0, &je);
		ck_assert_msg(mine ? theirs && json_equal(mine, theirs) : !theirs, "%s",
			      numbers[i]);
		json_decref(mine);
		json_decref(theirs);
	}

	struct strbuf deep = STRBUF_INIT;
	for (int i = 0; i < JSON_PARSER_MAX_DEPTH - 1; i++)
		sb_adds(&deep, "[");
	for (int i = 0; i < JSON_PARSER_MAX_DEPTH - 1; i++)
		sb_adds(&deep, "]");
	v = jsontext_parse_some(sb_str(&deep), deep.len, 1, &used);
	ck_assert_ptr_nonnull(v); /* the limit itself */
	json_decref(v);
	ck_assert_ptr_null(jsontext_parse_some(sb_str(&deep), deep.len, 2, &used));
	sb_release(&deep);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");
	tcase_add_test(tc, plurals);
	tcase_add_test(tc, insert_get_list_remove);
	tcase_add_test(tc, dirty_set);
	tcase_add_test(tc, cold_objects);
	tcase_add_test(tc, json_slabs);
	tcase_add_test(tc, packed_text);
	tcase_add_test(tc, jsontext_reader);
	suite_add_tcase(s, tc);
	return s;
}
