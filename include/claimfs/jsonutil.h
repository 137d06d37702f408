/* jsonutil.h - small helpers over jansson values in the Kubernetes API shape.
 *
 * Paths are dot-separated member names ("spec.resources.requests.storage"); no arrays.
 * Getters return borrowed references or NULL; they never allocate. Setters steal the
 * value (like json_object_set_new) and create missing intermediate objects.
 * No locking: the values belong to whoever holds the cluster lock. */
#ifndef CLAIMFS_JSONUTIL_H
#define CLAIMFS_JSONUTIL_H

#include <stdint.h>
#include <jansson.h>

json_t *jget(const json_t *obj, const char *path);     /* borrowed or NULL */
const char *jstr(const json_t *obj, const char *path); /* string value or NULL */
const char *jstr_or(const json_t *obj, const char *path, const char *dflt);
int jint(const json_t *obj, const char *path, int64_t *out); /* 0 if an integer is there */
int jbool(const json_t *obj, const char *path, int dflt);    /* true/false, else dflt */
void jset(json_t *obj, const char *path, json_t *value);     /* steals value */
void jset_str(json_t *obj, const char *path, const char *s);
void jdel(json_t *obj, const char *path);    /* no-op when missing */
json_t *jobj(json_t *obj, const char *path); /* gets or creates an object */
/* metadata shortcuts */
const char *jname(const json_t *obj);
const char *jnamespace(const json_t *obj);
const char *juid(const json_t *obj);
const char *jannotation(const json_t *obj, const char *key);
void jset_annotation(json_t *obj, const char *key, const char *value);
const char *jlabel(const json_t *obj, const char *key);
int jhas_finalizer(const json_t *obj, const char *f);
void jadd_finalizer(json_t *obj, const char *f);
int jremove_finalizer(json_t *obj, const char *f); /* 1 if it was there */
int jis_deleting(const json_t *obj);		   /* metadata.deletionTimestamp set */
/* Is s one of the strings of the array at path? */
int jarray_has_str(const json_t *obj, const char *path, const char *s);
/* RFC 3339 UTC "2026-11-24T21:57:01Z" of a wall-clock time in ms. buf >= 32 bytes. */
void jtime_format(int64_t ms, char *buf, size_t len);
int64_t jtime_parse(const char *s); /* ms since epoch, or -1 */
/* Merges patch into target as a JSON merge patch (RFC 7386): objects merge recursively,
 * other values replace, null deletes. target is changed in place; patch is borrowed, but
 * its non-object values (strings, numbers, arrays) are put into target BY REFERENCE, not
 * copied: they keep their identity (a manifest node keeps its position). Both trees then
 * hold those nodes, so neither may change them in place while the other is in use (the
 * callers drop the patch once merged). target's objects stay target's own. */
void jmerge(json_t *target, const json_t *patch);
/* Does the label selector (matchLabels/matchExpressions, a LabelSelector object) match the
 * labels object? An empty or NULL selector matches everything. */
int jselector_matches(const json_t *selector, const json_t *labels);
/* Does a plain map selector (Service spec.selector) match? An empty one matches nothing. */
int jmap_selector_matches(const json_t *selector, const json_t *labels);

#endif
