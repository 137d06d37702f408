/* test_store.c - the object store: kinds and plurals, get/list/insert/remove, the dirty
 * set the journal takes, object paths. */
#include <string.h>
#include "unit.h"
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
	ck_assert_str_eq(jstr(o->json, "metadata.resourceVersion"), "2");

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

Suite *make_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");
	tcase_add_test(tc, plurals);
	tcase_add_test(tc, insert_get_list_remove);
	tcase_add_test(tc, dirty_set);
	suite_add_tcase(s, tc);
	return s;
}
