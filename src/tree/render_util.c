/* render_util.c - small helpers that kubectl's printers and kube-state-metrics share in
 * spirit: access-mode strings, quantity cells, label sets and selectors as kubectl prints
 * them, Go's shortest float text for integers, and the namespace/name sort that makes
 * every rendering deterministic. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/error.h"
#include "claimfs/jsonutil.h"
#include "claimfs/store.h"
#include "render_internal.h"

void render_access_modes(const json_t *modes, char *buf, size_t len)
{
	static const struct {
		const char *mode, *abbrev;
	} order[] = {{"ReadWriteOnce", "RWO"},
		     {"ReadOnlyMany", "ROX"},
		     {"ReadWriteMany", "RWX"},
		     {"ReadWriteOncePod", "RWOP"}};
	size_t i, used = 0;

	if (len)
		buf[0] = '\0';
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!jarray_has_str(modes, "", order[i].mode))
			continue;
		int n = snprintf(buf + used, len > used ? len - used : 0, "%s%s", used ? "," : "",
				 order[i].abbrev);
		if (n > 0)
			used += (size_t)n;
	}
}

int render_json_quantity(const json_t *v, struct quantity *q)
{
	char num[32];

	if (json_is_string(v))
		return quantity_parse(json_string_value(v), q, NULL);
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		return quantity_parse(num, q, NULL);
	}
	return v ? -EINVAL : -ENOENT;
}

void render_quantity_cell(const json_t *v, char *buf, size_t len)
{
	struct quantity q;

	if (render_json_quantity(v, &q) == 0)
		quantity_format(&q, buf, len);
	else if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v)); /* never stored; show it as is */
	else
		snprintf(buf, len, "0");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void render_format_labels(const json_t *map, struct strbuf *out)
{
	size_t n = json_object_size(map), i = 0;
	const char **keys;
	const char *k;
	json_t *v;

	if (!json_is_object(map) || n == 0) {
		sb_adds(out, "<none>");
		return;
	}
	keys = xcalloc(n, sizeof(*keys));
	json_object_foreach((json_t *)map, k, v) keys[i++] = k;
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 0; i < n; i++)
		sb_addf(out, "%s%s=%s", i ? "," : "", keys[i],
			json_string_value(json_object_get(map, keys[i])) ?: "");
	free(keys);
}

struct requirement {
	const char *key;
	const char *op;	     /* "=", " in ", " notin ", "" (exists), "!" (does not exist) */
	const json_t *value; /* a string (=) or an array of strings (in, notin) */
	size_t seq;	     /* input order, so that equal keys keep it (a stable sort) */
};

static int cmp_req(const void *a, const void *b)
{
	const struct requirement *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void add_values(const json_t *arr, struct strbuf *out)
{
	size_t n = json_array_size(arr), i;
	const char **vals;

	if (n == 0)
		return;
	vals = xcalloc(n, sizeof(*vals));
	for (i = 0; i < n; i++)
		vals[i] = json_string_value(json_array_get(arr, i)) ?: "";
	if (n > 1)
		qsort(vals, n, sizeof(*vals), cmp_str);
	for (i = 0; i < n; i++)
		sb_addf(out, "%s%s", i ? "," : "", vals[i]);
	free(vals);
}

int render_format_selector(const json_t *sel, struct strbuf *out)
{
	const json_t *ml = jget(sel, "matchLabels"), *me = jget(sel, "matchExpressions");
	size_t n = json_object_size(ml) + json_array_size(me), i = 0, j;
	struct requirement *r;
	const char *k;
	json_t *v;

	if (n == 0)
		return 0;
	r = xcalloc(n, sizeof(*r));
	json_object_foreach((json_t *)ml, k, v)
	{
		r[i].key = k;
		r[i].op = "=";
		r[i].value = v;
		r[i].seq = i;
		i++;
	}
	json_array_foreach(me, j, v)
	{
		const char *op = jstr_or(v, "operator", "");
		r[i].key = jstr_or(v, "key", "");
		r[i].value = jget(v, "values");
		r[i].seq = i;
		if (strcmp(op, "In") == 0)
			r[i].op = " in ";
		else if (strcmp(op, "NotIn") == 0)
			r[i].op = " notin ";
		else if (strcmp(op, "Exists") == 0)
			r[i].op = "";
		else if (strcmp(op, "DoesNotExist") == 0)
			r[i].op = "!";
		else {
			free(r);
			return -EINVAL;
		}
		i++;
	}
	qsort(r, n, sizeof(*r), cmp_req);
	for (i = 0; i < n; i++) {
		if (i)
			sb_addc(out, ',');
		if (strcmp(r[i].op, "!") == 0) {
			sb_addf(out, "!%s", r[i].key);
		} else if (!*r[i].op) {
			sb_adds(out, r[i].key);
		} else if (strcmp(r[i].op, "=") == 0) {
			sb_addf(out, "%s=%s", r[i].key, json_string_value(r[i].value) ?: "");
		} else {
			sb_addf(out, "%s%s(", r[i].key, r[i].op);
			add_values(r[i].value, out);
			sb_addc(out, ')');
		}
	}
	free(r);
	return 0;
}

void render_prom_int(int64_t v, char *buf, size_t len)
{
	char digits[24];
	size_t nd, dp;
	int neg = v < 0;
	uint64_t u = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	if (u == 0) {
		snprintf(buf, len, "0");
		return;
	}
	snprintf(digits, sizeof(digits), "%llu", (unsigned long long)u);
	dp = strlen(digits);
	nd = dp;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	/* strconv 'g' with the shortest precision: %e when the exponent reaches
	 * max(nd, 6) (or 6 when there are fewer digits than the decimal point). */
	size_t eprec = 6;
	if (eprec > nd && nd >= dp)
		eprec = nd;
	if (dp - 1 < eprec) {
		snprintf(buf, len, "%s%s", neg ? "-" : "", digits);
		return;
	}
	digits[nd] = '\0';
	snprintf(buf, len, "%s%c%s%s%se+%02zu", neg ? "-" : "", digits[0], nd > 1 ? "." : "",
		 digits + 1, "", dp - 1);
}

static int cmp_obj(const void *a, const void *b)
{
	const struct object *x = *(struct object *const *)a, *y = *(struct object *const *)b;
	int c = strcmp(x->ns ? x->ns : "", y->ns ? y->ns : "");
	return c ? c : strcmp(x->name, y->name);
}

struct object **render_sorted_objects(struct object *const *objs, size_t n)
{
	struct object **v = xcalloc(n ? n : 1, sizeof(*v));

	if (n)
		memcpy(v, objs, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_obj);
	return v;
}
