/* storage_util.c - small helpers the storage controllers share: access modes as bits,
 * storage quantities in bytes, the class an object asks for, PV phases, deduplicated
 * events, the pods and StatefulSets that wait on a claim, and the field checks that
 * claims and volumes have in common (access modes, quantities). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/names.h"
#include "claimfs/fnv.h"
#include "claimfs/quantity.h"
#include "storage_internal.h"

static const struct {
	const char *name;
	unsigned bit;
} modes[] = {
    {"ReadWriteOnce", AM_RWO},
    {"ReadOnlyMany", AM_ROX},
    {"ReadWriteMany", AM_RWX},
    {"ReadWriteOncePod", AM_RWOP},
};

static unsigned mode_bit(const char *s)
{
	size_t i;
	for (i = 0; s && i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(modes[i].name, s) == 0)
			return modes[i].bit;
	return 0;
}

unsigned storage_modes(const json_t *arr)
{
	unsigned m = 0;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) m |= mode_bit(json_string_value(v));
	return m;
}

int64_t storage_bytes(const char *s)
{
	struct quantity q;
	if (!s || quantity_parse(s, &q, NULL) < 0 || q.nanos < 0)
		return -1;
	return quantity_value(&q);
}

void storage_qty_text(int64_t bytes, char *buf, size_t len)
{
	struct quantity q = quantity_from_int(bytes, QTY_BINARY_SI);
	quantity_format(&q, buf, len);
}

const char *storage_class_of(const json_t *obj)
{
	const char *c = jannotation(obj, ANN_BETA_CLASS);
	return c ? c : jstr(obj, "spec.storageClassName");
}

int storage_is_block(const json_t *obj)
{
	const char *m = jstr(obj, "spec.volumeMode");
	return m && strcmp(m, "Block") == 0;
}

int storage_pv_bound_to(const json_t *pv, const struct object *pvc)
{
	const char *ns = jstr(pv, "spec.claimRef.namespace");
	const char *name = jstr(pv, "spec.claimRef.name");
	const char *uid = jstr(pv, "spec.claimRef.uid");
	if (!name || strcmp(name, pvc->name) != 0 || !ns || !pvc->ns || strcmp(ns, pvc->ns) != 0)
		return 0;
	return !uid || !*uid || strcmp(uid, jstr_or(object_json(pvc), "metadata.uid", "")) == 0;
}

int storage_set_phase(struct cluster *cl, json_t *obj, const char *phase, const char *message)
{
	const char *old = jstr(obj, "status.phase"), *om = jstr(obj, "status.message");
	int changed = 0;
	char when[40];
	if (!old || strcmp(old, phase) != 0) {
		jset_str(obj, "status.phase", phase);
		jtime_format(cluster_now_ms(cl), when, sizeof(when));
		jset_str(obj, "status.lastPhaseTransitionTime", when);
		changed = 1;
	}
	if (message && (!om || strcmp(om, message) != 0)) {
		jset_str(obj, "status.message", message);
		changed = 1;
	} else if (!message && om) {
		jdel(obj, "status.message");
		changed = 1;
	}
	return changed;
}

uint64_t storage_hash_add(uint64_t h, const char *s)
{
	return fnv64_add_field(h, s ? s : "\1");
}

int storage_memo_new(uint64_t *memo, const char *reason, const char *message)
{
	uint64_t h = storage_hash_add(storage_hash_add(STORAGE_HASH_INIT, reason), message) | 1;
	if (memo && *memo == h)
		return 0;
	if (memo)
		*memo = h;
	return 1;
}

void storage_event_once(struct cluster *cl, const struct object *obj, uint64_t *memo,
			const char *type, const char *reason, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (storage_memo_new(memo, reason, msg))
		cluster_event(cl, obj, type, reason, "%s", msg);
}

int storage_claim_in_use(struct cluster *cl, const char *ns, const char *claim,
			 const char **node_out)
{
	struct object **pods;
	size_t n = storage_claim_pods(cl, ns, claim, &pods), i;
	int found = 0;
	for (i = 0; i < n && !found; i++) {
		const char *node = jstr(object_json(pods[i]), "spec.nodeName");
		if (node && *node) {
			if (node_out)
				*node_out = node;
			found = 1;
		}
	}
	free(pods);
	return found;
}

void storage_wake_pods(struct cluster *cl, const char *ns, const char *claim)
{
	struct object **pods;
	size_t n = storage_claim_pods(cl, ns, claim, &pods), i;
	for (i = 0; i < n; i++)
		cluster_enqueue(cl, pods[i]);
	free(pods);
}

/* Does the set have a claim template with this name? */
static int has_template(const struct object *set, const char *tmpl, size_t len)
{
	json_t *t;
	size_t i;
	json_array_foreach(jget(object_json(set), "spec.volumeClaimTemplates"), i, t)
	{
		const char *n = jstr(t, "metadata.name");
		if (n && strlen(n) == len && strncmp(n, tmpl, len) == 0)
			return 1;
	}
	return 0;
}

void storage_wake_sets(struct cluster *cl, const struct object *pvc)
{
	const struct kind *sk = cluster_kind(cl, "StatefulSet");
	struct store *s = cluster_store(cl);
	json_t *r;
	size_t i;
	char set[512];
	if (!sk)
		return;
	json_array_foreach(jget(object_json(pvc), "metadata.ownerReferences"), i, r)
	{
		if (strcmp(jstr_or(r, "kind", ""), "StatefulSet") == 0)
			cluster_enqueue(cl, store_get(s, sk, pvc->ns, jstr_or(r, "name", "")));
	}
	/* "<template>-<set>-<ordinal>": try every split of the part before the ordinal. */
	const char *name = pvc->name, *last = strrchr(name, '-'), *p;
	if (!last || !last[1] || strspn(last + 1, "0123456789") != strlen(last + 1))
		return;
	for (p = strchr(name, '-'); p && p < last; p = strchr(p + 1, '-')) {
		size_t sl = (size_t)(last - p - 1);
		if (sl == 0 || sl >= sizeof(set))
			continue;
		memcpy(set, p + 1, sl);
		set[sl] = '\0';
		struct object *o = store_get(s, sk, pvc->ns, set);
		if (o && has_template(o, name, (size_t)(p - name)))
			cluster_enqueue(cl, o);
	}
}

json_t *storage_at(const struct manifest *m, const json_t *doc, const char *path)
{
	char buf[256];
	int line, col;
	snprintf(buf, sizeof(buf), "%s", path);
	for (;;) {
		json_t *v = jget(doc, buf);
		/* true, false and null are shared values without a position of their own */
		if (v && (!m || manifest_pos(m, v, &line, &col) == 0))
			return v;
		char *dot = strrchr(buf, '.');
		if (!dot)
			return (json_t *)doc;
		*dot = '\0';
	}
}

json_t *storage_pos(const struct manifest *m, json_t *node, json_t *fallback)
{
	int line, col;
	if (node && (!m || manifest_pos(m, node, &line, &col) == 0))
		return node;
	return fallback;
}

int storage_check_volume_mode(const struct manifest *m, const json_t *doc, json_t *spec,
			      struct cfs_err *err)
{
	json_t *v = json_object_get(spec, "volumeMode");
	if (!v || json_is_null(v)) {
		json_object_set_new(spec, "volumeMode", json_string("Filesystem"));
	} else if (strcmp(json_string_value(v), "Filesystem") != 0 &&
		   strcmp(json_string_value(v), "Block") != 0) {
		return manifest_errorf(
		    m, storage_pos(m, v, storage_at(m, doc, "spec")), err, -EINVAL,
		    "spec.volumeMode: Unsupported value: \"%s\": supported values: "
		    "\"Block\", \"Filesystem\"",
		    MQUOTE(json_string_value(v)));
	}
	return 0;
}

int storage_check_class_name(const struct manifest *m, const json_t *doc, json_t *spec,
			     struct cfs_err *err)
{
	struct cfs_err e = {{0}};
	json_t *v = json_object_get(spec, "storageClassName");
	if (v && !json_is_null(v) && *json_string_value(v) &&
	    name_check_subdomain(json_string_value(v), &e) < 0)
		return manifest_errorf(m, storage_pos(m, v, storage_at(m, doc, "spec")), err,
				       -EINVAL, "spec.storageClassName: Invalid value: \"%s\": %s",
				       MQUOTE(json_string_value(v)), e.msg);
	return 0;
}

int storage_check_modes(const struct manifest *m, const json_t *doc, json_t *obj, const char *path,
			int claim, struct cfs_err *err)
{
	json_t *arr = jget(obj, path), *v;
	size_t i;
	unsigned all = 0;
	int rc = manifest_check_type(m, obj, path, JSON_ARRAY, err);
	if (rc < 0)
		return rc;
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return manifest_errorf(m, storage_at(m, doc, path), err, -EINVAL,
				       "%s: Required value%s", path,
				       claim ? ": at least 1 access mode is required" : "");
	json_array_foreach(arr, i, v)
	{
		unsigned b = mode_bit(json_string_value(v));
		if (!b)
			return manifest_errorf(
			    m, storage_pos(m, v, storage_at(m, doc, path)), err, -EINVAL,
			    "%s: Unsupported value: \"%s\": supported values: \"ReadOnlyMany\", "
			    "\"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\"",
			    path, MQUOTE(json_is_string(v) ? json_string_value(v) : ""));
		all |= b;
	}
	if ((all & AM_RWOP) && json_array_size(arr) > 1)
		return manifest_errorf(
		    m, storage_at(m, doc, path), err, -EPERM,
		    "%s: Forbidden: may not use ReadWriteOncePod with other access "
		    "modes",
		    path);
	return 0;
}

int storage_check_quantity(const struct manifest *m, const json_t *doc, json_t *obj,
			   const char *path, const char *field, int64_t *bytes, struct cfs_err *err)
{
	json_t *v = jget(obj, path);
	json_t *at = storage_at(m, doc, path);
	char raw[64], canon[QTY_STR_MAX];
	struct quantity q;
	struct cfs_err e;
	const char *s;

	if (!v || json_is_null(v))
		return -ENOENT;
	if (json_is_string(v)) {
		s = json_string_value(v);
	} else if (json_is_integer(v)) {
		snprintf(raw, sizeof(raw), "%lld", (long long)json_integer_value(v));
		s = raw;
	} else if (json_is_real(v)) {
		snprintf(raw, sizeof(raw), "%.15g", json_real_value(v));
		s = raw;
	} else {
		/* true/false or a collection: at the member (a singleton has no node) */
		const char *dot = strrchr(path, '.');
		char parent[256];
		snprintf(parent, sizeof(parent), "%.*s", dot ? (int)(dot - path) : 0, path);
		return manifest_member_errorf(
		    m, jget(obj, parent), dot ? dot + 1 : path, err, -EINVAL,
		    "%s: Invalid value: must be a quantity such as 10Gi", field);
	}
	if (quantity_parse(s, &q, &e) < 0)
		return manifest_errorf(m, at, err, -EINVAL, "%s: Invalid value: \"%s\": %s", field,
				       MQUOTE(s), e.msg);
	quantity_format(&q, canon, sizeof(canon));
	if (q.nanos <= 0)
		return manifest_errorf(m, at, err, -EINVAL,
				       "%s: Invalid value: \"%s\": must be greater than zero",
				       field, canon);
	if (bytes)
		*bytes = quantity_value(&q);
	if (!json_is_string(v) || strcmp(json_string_value(v), canon) != 0)
		jset(obj, path, json_string(canon));
	return 0;
}
