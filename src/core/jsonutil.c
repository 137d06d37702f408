/* jsonutil.c - small helpers over jansson values in the Kubernetes API shape
 * (jsonutil.h): dotted paths, metadata shortcuts, finalizers, RFC 3339 times, JSON merge
 * patches and label selectors.
 *
 * Kubernetes leaves empty maps and lists out of an object (omitempty), so the helpers
 * that remove the last annotation or finalizer remove the emptied container too. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "claimfs/error.h"
#include "claimfs/jsonutil.h"

/* The member named by the next path segment; *path moves past it and its dot. */
static json_t *step(const json_t *obj, const char **path)
{
	const char *p = *path, *dot = strchr(p, '.');
	size_t n = dot ? (size_t)(dot - p) : strlen(p);

	*path = dot ? dot + 1 : p + n;
	if (!json_is_object(obj))
		return NULL;
	return json_object_getn(obj, p, n);
}

json_t *jget(const json_t *obj, const char *path)
{
	json_t *v = (json_t *)obj;

	if (!path || !*path)
		return v;
	while (v && *path)
		v = step(v, &path);
	return v;
}

const char *jstr(const json_t *obj, const char *path)
{
	return json_string_value(jget(obj, path));
}

const char *jstr_or(const json_t *obj, const char *path, const char *dflt)
{
	const char *s = jstr(obj, path);
	return s ? s : dflt;
}

int jint(const json_t *obj, const char *path, int64_t *out)
{
	json_t *v = jget(obj, path);

	if (!v)
		return -ENOENT;
	if (!json_is_integer(v))
		return -EINVAL;
	*out = json_integer_value(v);
	return 0;
}

int jbool(const json_t *obj, const char *path, int dflt)
{
	json_t *v = jget(obj, path);

	if (json_is_true(v))
		return 1;
	if (json_is_false(v))
		return 0;
	return dflt;
}

/* The object that holds the last segment of path (created as needed) and that segment. */
static json_t *parent_of(json_t *obj, const char *path, const char **last, size_t *lastlen,
			 int create)
{
	const char *p = path, *dot;

	while ((dot = strchr(p, '.')) != NULL) {
		size_t n = (size_t)(dot - p);
		json_t *next = json_object_getn(obj, p, n);
		if (!json_is_object(next)) {
			if (!create)
				return NULL;
			next = json_object();
			json_object_setn_new(obj, p, n, next);
		}
		obj = next;
		p = dot + 1;
	}
	*last = p;
	*lastlen = strlen(p);
	return obj;
}

void jset(json_t *obj, const char *path, json_t *value)
{
	const char *last;
	size_t n;

	if (!value)
		return;
	if (!json_is_object(obj) || !path || !*path) {
		json_decref(value);
		return;
	}
	obj = parent_of(obj, path, &last, &n, 1);
	json_object_setn_new(obj, last, n, value);
}

void jset_str(json_t *obj, const char *path, const char *s)
{
	if (s)
		jset(obj, path, json_string(s));
	else
		jdel(obj, path);
}

void jdel(json_t *obj, const char *path)
{
	const char *last;
	size_t n;

	if (!json_is_object(obj) || !path || !*path)
		return;
	obj = parent_of(obj, path, &last, &n, 0);
	if (obj)
		json_object_deln(obj, last, n);
}

json_t *jobj(json_t *obj, const char *path)
{
	const char *last;
	size_t n;

	if (!json_is_object(obj))
		return NULL;
	if (!path || !*path)
		return obj;
	obj = parent_of(obj, path, &last, &n, 1);
	json_t *v = json_object_getn(obj, last, n);
	if (!json_is_object(v)) {
		v = json_object();
		json_object_setn_new(obj, last, n, v);
	}
	return v;
}

const char *jname(const json_t *obj)
{
	return jstr(obj, "metadata.name");
}

const char *jnamespace(const json_t *obj)
{
	return jstr(obj, "metadata.namespace");
}

const char *juid(const json_t *obj)
{
	return jstr(obj, "metadata.uid");
}

/* Annotation and label keys hold dots ("storageclass.kubernetes.io/..."), so they are
 * looked up as one member, never as a path. */
const char *jannotation(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(jget(obj, "metadata.annotations"), key));
}

void jset_annotation(json_t *obj, const char *key, const char *value)
{
	if (!json_is_object(obj) || !key)
		return;
	if (value) {
		json_object_set_new(jobj(obj, "metadata.annotations"), key, json_string(value));
		return;
	}
	json_t *ann = jget(obj, "metadata.annotations");
	if (!json_is_object(ann))
		return;
	json_object_del(ann, key);
	if (json_object_size(ann) == 0)
		jdel(obj, "metadata.annotations");
}

const char *jlabel(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(jget(obj, "metadata.labels"), key));
}

static int array_find(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	if (!s)
		return -1;
	json_array_foreach(arr, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return (int)i;
	}
	return -1;
}

int jhas_finalizer(const json_t *obj, const char *f)
{
	return array_find(jget(obj, "metadata.finalizers"), f) >= 0;
}

void jadd_finalizer(json_t *obj, const char *f)
{
	if (!json_is_object(obj) || !f || jhas_finalizer(obj, f))
		return;
	json_t *arr = jget(obj, "metadata.finalizers");
	if (!json_is_array(arr)) {
		arr = json_array();
		json_object_set_new(jobj(obj, "metadata"), "finalizers", arr);
	}
	json_array_append_new(arr, json_string(f));
}

int jremove_finalizer(json_t *obj, const char *f)
{
	json_t *arr = jget(obj, "metadata.finalizers");
	int i, found = 0;

	while ((i = array_find(arr, f)) >= 0) {
		json_array_remove(arr, (size_t)i);
		found = 1;
	}
	if (found && json_array_size(arr) == 0)
		jdel(obj, "metadata.finalizers");
	return found;
}

int jis_deleting(const json_t *obj)
{
	json_t *v = jget(obj, "metadata.deletionTimestamp");
	return v && !json_is_null(v);
}

int jarray_has_str(const json_t *obj, const char *path, const char *s)
{
	return array_find(jget(obj, path), s) >= 0;
}

void jtime_format(int64_t ms, char *buf, size_t len)
{
	/* Floor, not truncation, so that times before 1970 land on the right second. */
	time_t secs = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
	struct tm tm;

	if (!gmtime_r(&secs, &tm)) {
		snprintf(buf, len, "1970-01-01T00:00:00Z");
		return;
	}
	int year = tm.tm_year + 1900;
	if (year < 0 || year > 9999 || len < 21) { /* rare: let snprintf cope */
		snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", year, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		return;
	}
	/* By hand: every created object and every event carries a timestamp, and snprintf
	 * with six fields was 3% of a bulk apply. */
	const int parts[6] = {tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, 0};
	static const char seps[] = "-T::Z";
	char *p = buf;
	*p++ = (char)('0' + year / 1000);
	*p++ = (char)('0' + year / 100 % 10);
	*p++ = (char)('0' + year / 10 % 10);
	*p++ = (char)('0' + year % 10);
	*p++ = '-';
	for (int i = 0; i < 5; i++) {
		*p++ = (char)('0' + parts[i] / 10 % 10);
		*p++ = (char)('0' + parts[i] % 10);
		*p++ = seps[i];
	}
	*p = '\0';
}

/* n digits at *p into *out; moves *p. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : d[m - 1];
}

/* RFC 3339: date 'T' time, optional fraction (milliseconds kept), then Z or +hh:mm. */
int64_t jtime_parse(const char *s)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	int64_t frac = 0;
	const char *p = s;

	if (!s)
		return -1;
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return -1;
	if (*p != 'T' && *p != 't')
		return -1;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
	    digits(&p, 2, &sec))
		return -1;
	if (*p == '.') {
		int n = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, n++)
			if (n < 3)
				frac = frac * 10 + (*p - '0');
		if (n == 0)
			return -1;
		for (; n < 3; n++)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
			return -1;
	} else {
		return -1;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = sec};
	int64_t t = (int64_t)timegm(&tm) - (int64_t)sign * (oh * 3600 + om * 60);
	if (t < 0)
		return -1;
	return t * 1000 + frac;
}

void jmerge(json_t *target, const json_t *patch)
{
	const char *k;
	json_t *v;

	if (!json_is_object(target) || !json_is_object(patch))
		return;
	json_object_foreach((json_t *)patch, k, v)
	{
		if (json_is_null(v)) {
			json_object_del(target, k);
		} else if (json_is_object(v)) {
			json_t *t = json_object_get(target, k);
			if (!json_is_object(t)) {
				/* Merging into a fresh object drops the patch's nulls (RFC 7386).
				 */
				t = json_object();
				json_object_set_new(target, k, t);
			}
			jmerge(t, v);
		} else {
			/* By reference: a node of a decoded manifest keeps its position, so
			 * admission errors about the merged object point into the document. */
			json_object_set(target, k, v);
		}
	}
}

static int label_is(const json_t *labels, const char *key, const char *value)
{
	const char *have = json_string_value(json_object_get(labels, key));
	return have && value && strcmp(have, value) == 0;
}

static int in_values(const json_t *values, const char *s)
{
	return s && array_find(values, s) >= 0;
}

static int expression_matches(const json_t *e, const json_t *labels)
{
	const char *key = jstr(e, "key"), *op = jstr(e, "operator");
	const json_t *values = jget(e, "values");
	const char *have;

	if (!key || !op)
		return 0;
	have = json_string_value(json_object_get(labels, key));
	if (strcmp(op, "In") == 0)
		return have && in_values(values, have);
	if (strcmp(op, "NotIn") == 0)
		return !have || !in_values(values, have);
	if (strcmp(op, "Exists") == 0)
		return json_object_get(labels, key) != NULL;
	if (strcmp(op, "DoesNotExist") == 0)
		return json_object_get(labels, key) == NULL;
	return 0; /* an operator Kubernetes does not know matches nothing */
}

int jselector_matches(const json_t *selector, const json_t *labels)
{
	const json_t *ml, *me;
	const char *k;
	json_t *v;
	size_t i;

	if (!selector || json_is_null(selector))
		return 1;
	if (!json_is_object(selector))
		return 0;
	ml = json_object_get(selector, "matchLabels");
	me = json_object_get(selector, "matchExpressions");
	json_object_foreach((json_t *)ml, k, v)
	{
		if (!label_is(labels, k, json_string_value(v)))
			return 0;
	}
	json_array_foreach(me, i, v)
	{
		if (!expression_matches(v, labels))
			return 0;
	}
	return 1;
}

int jmap_selector_matches(const json_t *selector, const json_t *labels)
{
	const char *k;
	json_t *v;

	if (!json_is_object(selector) || json_object_size(selector) == 0)
		return 0;
	json_object_foreach((json_t *)selector, k, v)
	{
		if (!label_is(labels, k, json_string_value(v)))
			return 0;
	}
	return 1;
}
