/* workload_util.c - small pieces every workload controller needs: the create path that
 * runs admission as the API server would, owner references, the hashes behind
 * controller-revision-hash / pod-template-hash and generateName suffixes, conditions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/jsonalloc.h"
#include "claimfs/fnv.h"
#include "workload_internal.h"

/* apimachinery's rand alphabet: no vowels (no words), no 0/1/3 (confusable). */
static const char safe_alphabet[] = "bcdfghjklmnpqrstvwxz2456789";

struct object *wl_create(struct cluster *cl, const struct kind *k, json_t *json,
			 struct cfs_err *err)
{
	struct cfs_err e = {{0}};
	char *name = xstrdup(jstr_or(json, "metadata.name", ""));
	struct object *o = NULL;
	int rc = 0;

	const char *ns = jnamespace(json);
	struct object *nso =
	    ns ? store_get(cluster_store(cl), cluster_kind(cl, "Namespace"), NULL, ns) : NULL;
	if (nso && jis_deleting(object_json(nso))) {
		rc = cfs_errorf(
		    err, -EPERM,
		    "%s \"%s\" is forbidden: unable to create new content in namespace %s "
		    "because it is being terminated",
		    k->plural, name, ns);
		json_decref(json);
		free(name);
		return NULL;
	}
	/* Controllers' requests go through admission too: defaults and validation. */
	if (k->ops && k->ops->admit)
		rc = k->ops->admit(cl, NULL, json, json, NULL, &e);
	if (rc < 0) {
		if (rc == -EINVAL)
			cfs_errorf(err, rc, "%s \"%s\" is invalid: %s", k->kind, name, e.msg);
		else
			cfs_errorf(err, rc, "%s", e.msg);
		json_decref(json);
	} else {
		o = cluster_create(cl, k, json, err);
	}
	free(name);
	return o;
}

int wl_commit(struct cluster *cl, struct object *obj, json_t *before)
{
	int changed = !json_equal(before, object_json(obj));
	json_decref(before);
	if (changed)
		cluster_update(cl, obj);
	return changed;
}

json_t *wl_owner_ref(const struct object *owner, int controller)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "apiVersion",
			 jstr_or(object_json(owner), "apiVersion", owner->kind->api_version),
			 "kind", owner->kind->kind, "name", owner->name, "uid",
			 jstr_or(object_json(owner), "metadata.uid", ""), "controller", controller,
			 "blockOwnerDeletion", 1);
}

const char *wl_controller_uid(const json_t *obj, const char *kind)
{
	json_t *r;
	size_t i;
	/* Hot (every controller lists its pods by it): direct lookups, no paths. */
	json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), i,
			   r)
	{
		const char *k = json_string_value(json_object_get(r, "kind"));
		if (json_is_true(json_object_get(r, "controller")) && k && strcmp(k, kind) == 0)
			return json_string_value(json_object_get(r, "uid"));
	}
	return NULL;
}

int wl_has_owner(const json_t *obj, const char *uid)
{
	json_t *r;
	size_t i;
	if (!uid)
		return 0;
	json_array_foreach(jget(obj, "metadata.ownerReferences"), i, r)
	{
		if (jstr(r, "uid") && strcmp(jstr(r, "uid"), uid) == 0)
			return 1;
	}
	return 0;
}

int wl_add_owner(json_t *obj, const struct object *owner, int controller)
{
	if (wl_has_owner(obj, juid(object_json(owner))))
		return 0;
	json_t *refs = jget(obj, "metadata.ownerReferences");
	if (!json_is_array(refs)) {
		refs = json_array();
		jset(obj, "metadata.ownerReferences", refs);
	}
	json_array_append_new(refs, wl_owner_ref(owner, controller));
	return 1;
}

int wl_remove_owner(json_t *obj, const char *uid)
{
	json_t *refs = jget(obj, "metadata.ownerReferences"), *r;
	size_t i;
	int changed = 0;
	if (!uid)
		return 0;
	for (i = 0; i < json_array_size(refs);) {
		r = json_array_get(refs, i);
		if (jstr(r, "uid") && strcmp(jstr(r, "uid"), uid) == 0) {
			json_array_remove(refs, i);
			changed = 1;
			continue;
		}
		i++;
	}
	if (changed && json_array_size(refs) == 0)
		jdel(obj, "metadata.ownerReferences");
	return changed;
}

void wl_hash10(const json_t *v, char *out)
{
	char *text =
	    json_dumps(v ? v : json_null(), JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	char digits[16];
	size_t i;
	/* Kubernetes encodes the decimal FNV-32a hash with SafeEncodeString; zero-padding it
	 * to 10 digits keeps every hash the same length. */
	snprintf(digits, sizeof(digits), "%010u", fnv32_add(FNV32_BASIS, text ? text : ""));
	jsonalloc_free(text);
	for (i = 0; i < 10; i++)
		out[i] = safe_alphabet[(unsigned char)digits[i] % (sizeof(safe_alphabet) - 1)];
	out[10] = '\0';
}

void wl_random_suffix(struct cluster *cl, char *out)
{
	char uid[40], hex[40];
	size_t i, n = 0;
	cluster_new_uid(cl, uid);
	for (i = 0; uid[i]; i++)
		if (uid[i] != '-')
			hex[n++] = uid[i];
	for (i = 0; i < 5; i++) {
		char pair[3] = {hex[2 * i], hex[2 * i + 1], 0};
		out[i] = safe_alphabet[strtoul(pair, NULL, 16) % (sizeof(safe_alphabet) - 1)];
	}
	out[5] = '\0';
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Quoted as every message quotes a written value (manifest_quote: escaped, at most 64
 * characters), so that a huge label cannot push the problem out of the reason. */
static void go_quote(struct strbuf *out, const char *s)
{
	sb_addc(out, '"');
	sb_adds(out, MQUOTE(s));
	sb_addc(out, '"');
}

/* At most this many entries are shown, then "...": the reason is 1 KiB. */
#define GO_MAP_SHOWN 8

void wl_go_map(const json_t *map, struct strbuf *out)
{
	size_t n = json_object_size(map), i = 0;
	const char **keys = xcalloc(n ? n : 1, sizeof(*keys));
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)map, k, v) keys[i++] = k;
	qsort(keys, n, sizeof(*keys), cmp_str);
	sb_adds(out, "map[string]string{");
	for (i = 0; i < n; i++) {
		if (i)
			sb_adds(out, ", ");
		if (i == GO_MAP_SHOWN) {
			sb_adds(out, "...");
			break;
		}
		go_quote(out, keys[i]);
		sb_addc(out, ':');
		go_quote(out, json_string_value(json_object_get(map, keys[i])));
	}
	sb_addc(out, '}');
	free(keys);
}

json_t *wl_condition(const json_t *obj, const char *type)
{
	json_t *c;
	size_t i;
	json_array_foreach(json_object_get(json_object_get(obj, "status"), "conditions"), i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));
		if (t && strcmp(t, type) == 0)
			return c;
	}
	return NULL;
}

int wl_condition_is(const json_t *obj, const char *type, const char *status)
{
	const char *s = json_string_value(json_object_get(wl_condition(obj, type), "status"));
	return s && strcmp(s, status) == 0;
}

void wl_set_condition(json_t *obj, const char *type, const char *status, const char *reason,
		      const char *message, int64_t now_ms)
{
	char when[40];
	json_t *c = wl_condition(obj, type);
	if (!c) {
		json_t *conds = jget(obj, "status.conditions");
		if (!json_is_array(conds)) {
			conds = json_array();
			jset(obj, "status.conditions", conds);
		}
		c = json_pack("{s:s}", "type", type);
		json_array_append_new(conds, c);
	}
	if (!jstr(c, "status") || strcmp(jstr(c, "status"), status) != 0 ||
	    !jstr(c, "lastTransitionTime")) {
		jtime_format(now_ms, when, sizeof(when));
		jset_str(c, "lastTransitionTime", when);
	}
	jset_str(c, "status", status);
	jset_str(c, "reason", reason);
	jset_str(c, "message", message);
}

void wl_now(struct cluster *cl, char *buf, size_t len)
{
	jtime_format(cluster_now_ms(cl), buf, len);
}

int64_t wl_int_or_percent(const json_t *v, int64_t total, int round_up, int64_t dflt)
{
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		long p = strtol(s, &end, 10);
		if (end != s && strcmp(end, "%") == 0 && p >= 0) {
			int64_t x = total * p;
			return round_up ? (x + 99) / 100 : x / 100;
		}
		if (end != s && *end == '\0' && p >= 0)
			return p;
	}
	return dflt;
}
