/* cluster_objects.c - object life cycle as the API server does it for controllers:
 * create (uid, creationTimestamp, finalizers), update, DELETE with finalizers and
 * Terminating, garbage collection of dependents through ownerReferences, events.
 * Everything here is LOCKED (the caller holds the cluster lock). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/jsonutil.h"
#include "cluster_internal.h"

struct object *cluster_create(struct cluster *cl, const struct kind *k, json_t *json,
			      struct cfs_err *err)
{
	char uid[40], when[40];
	const char *name = jname(json);
	const char *ns = k->namespaced ? jnamespace(json) : NULL;

	if (!name) {
		json_decref(json);
		cfs_errorf(err, -EINVAL, "metadata.name: Required value");
		return NULL;
	}
	if (k->namespaced && !ns) {
		jset_str(json, "metadata.namespace", "default");
		ns = "default";
	}
	if (store_get(cl->store, k, ns, name)) {
		cfs_errorf(err, -EEXIST, "%s \"%s\" already exists", k->plural, name);
		json_decref(json);
		return NULL;
	}
	if (store_count(cl->store) >= cl->opts.max_objects) {
		cfs_errorf(err, -ENOSPC,
			   "too many objects: the cluster holds its limit of %zu (--max-objects)",
			   cl->opts.max_objects);
		json_decref(json);
		return NULL;
	}
	if (!jstr(json, "apiVersion"))
		jset_str(json, "apiVersion", k->api_version);
	if (!jstr(json, "kind"))
		jset_str(json, "kind", k->kind);
	if (!k->namespaced)
		jdel(json, "metadata.namespace");
	cluster_new_uid(cl, uid);
	jset_str(json, "metadata.uid", uid);
	jtime_format(cluster_now_ms(cl), when, sizeof(when));
	jset_str(json, "metadata.creationTimestamp", when);
	jdel(json, "metadata.deletionTimestamp");
	if (k->ops && k->ops->finalizers) {
		const char *const *f;
		for (f = k->ops->finalizers; *f; f++)
			jadd_finalizer(json, *f);
	}
	return store_insert(cl->store, k, json, cluster_now_ms(cl));
}

void cluster_update(struct cluster *cl, struct object *obj)
{
	store_touch(cl->store, obj, cluster_now_ms(cl));
}

static int has_finalizers(const struct object *obj)
{
	return json_array_size(jget(object_json(obj), "metadata.finalizers")) > 0;
}

/* Objects that may name obj in their ownerReferences: the kinds that Kubernetes'
 * controllers make owned objects of, in obj's namespace. */
static void collect_dependents(struct cluster *cl, const char *ns, const char *uid, json_t *out)
{
	static const char *const owned[] = {"Pod", "PersistentVolumeClaim", "ReplicaSet", NULL};
	const char *const *kn;
	size_t n, i, j;
	for (kn = owned; *kn; kn++) {
		const struct kind *k = store_kind(cl->store, *kn);
		if (!k)
			continue;
		struct object *const *v = store_list(cl->store, k, ns, &n);
		for (i = 0; i < n; i++) {
			json_t *refs = jget(object_json(v[i]), "metadata.ownerReferences"), *r;
			json_array_foreach(refs, j, r)
			{
				const char *ruid = jstr(r, "uid");
				if (ruid && strcmp(ruid, uid) == 0) {
					json_array_append_new(out,
							      json_pack("[ss]", (*kn), v[i]->name));
					break;
				}
			}
		}
	}
}

void cluster_remove_now(struct cluster *cl, struct object *obj)
{
	char *uid = xstrdup(juid(object_json(obj)) ? juid(object_json(obj)) : "");
	char *ns = obj->ns ? xstrdup(obj->ns) : NULL;
	json_t *deps = json_array(), *d;
	size_t i;

	store_remove(cl->store, obj);
	if (ns && *uid)
		collect_dependents(cl, ns, uid, deps);
	json_array_foreach(deps, i, d)
	{
		const struct kind *k =
		    store_kind(cl->store, json_string_value(json_array_get(d, 0)));
		struct object *dep =
		    store_get(cl->store, k, ns, json_string_value(json_array_get(d, 1)));
		if (dep)
			cluster_request_delete(cl, dep);
	}
	json_decref(deps);
	free(uid);
	free(ns);
}

void cluster_request_delete(struct cluster *cl, struct object *obj)
{
	char when[40];
	if (jis_deleting(object_json(obj)))
		return;
	if (!has_finalizers(obj)) {
		cluster_remove_now(cl, obj);
		return;
	}
	jtime_format(cluster_now_ms(cl), when, sizeof(when));
	jset_str(object_json(obj), "metadata.deletionTimestamp", when);
	jset(object_json(obj), "metadata.deletionGracePeriodSeconds", json_integer(0));
	cluster_update(cl, obj);
}

int cluster_remove_finalizer(struct cluster *cl, struct object *obj, const char *finalizer)
{
	if (!jremove_finalizer(object_json(obj), finalizer))
		return 0;
	if (json_array_size(jget(object_json(obj), "metadata.finalizers")) == 0)
		jdel(object_json(obj), "metadata.finalizers");
	if (jis_deleting(object_json(obj)) && !has_finalizers(obj)) {
		cluster_remove_now(cl, obj);
		return 1;
	}
	cluster_update(cl, obj);
	return 0;
}

void cluster_event(struct cluster *cl, const struct object *obj, const char *type,
		   const char *reason, const char *fmt, ...)
{
	struct strbuf path = STRBUF_INIT;
	va_list ap;
	char tmp[2048]; /* messages are cut at 2047 bytes */
	const char *msg = tmp;

	if (strcmp(fmt, "%s") == 0) { /* a message made already: no copy */
		va_start(ap, fmt);
		msg = va_arg(ap, const char *);
		va_end(ap);
		if (strlen(msg) >= sizeof(tmp)) {
			memcpy(tmp, msg, sizeof(tmp) - 1);
			tmp[sizeof(tmp) - 1] = '\0';
			msg = tmp;
		}
	} else {
		va_start(ap, fmt);
		vsnprintf(tmp, sizeof(tmp), fmt, ap);
		va_end(ap);
	}
	object_path(obj, &path);
	eventlog_add(cl->events, cluster_now_ms(cl), type, reason, sb_str(&path), msg);
	cl->generation++;
	if (cl->watch.event)
		cl->watch.event(cl->watch.ctx, sb_str(&path));
	sb_release(&path);
}

void cluster_report_failure(struct cluster *cl, const char *source, const char *reason)
{
	eventlog_add(cl->events, cluster_now_ms(cl), "Warning", "FailedApply", source, reason);
	cl->generation++;
	if (cl->watch.event)
		cl->watch.event(cl->watch.ctx, source);
	if (cl->opts.quiet)
		return;
	size_t n = strlen(source);
	if (strncmp(reason, source, n) == 0 && reason[n] == ':')
		fprintf(stderr, "claimfs: %s\n", reason); /* the reason names its source */
	else
		fprintf(stderr, "claimfs: %s: %s\n", source, reason);
}
