/* cluster_apply.c - the write path: manifest streams (all documents or none), merge
 * patches from attribute files, deletes, node readiness, namespaces. Each entry point
 * validates everything before changing anything, lets the controllers settle, journals
 * one record and returns once it is durable. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/jsonutil.h"
#include "claimfs/manifest.h"
#include "claimfs/names.h"
#include "cluster_internal.h"

/* Cluster-scoped kinds Kubernetes has that claimfs only stores. */
static const char *const cluster_scoped[] = {"Namespace",
					     "Node",
					     "PersistentVolume",
					     "StorageClass",
					     "ClusterRole",
					     "ClusterRoleBinding",
					     "CustomResourceDefinition",
					     "PriorityClass",
					     "VolumeAttachment",
					     "CSIDriver",
					     "CSINode",
					     "IngressClass",
					     "MutatingWebhookConfiguration",
					     "ValidatingWebhookConfiguration",
					     "APIService",
					     "RuntimeClass",
					     "VolumeAttributesClass",
					     "VolumeSnapshotClass",
					     "VolumeSnapshotContent",
					     NULL};

static int is_cluster_scoped(const char *kind)
{
	const char *const *p;
	for (p = cluster_scoped; *p; p++)
		if (strcmp(*p, kind) == 0)
			return 1;
	return 0;
}

struct pending {
	json_t *doc;		 /* the written document (borrowed from the manifest) */
	json_t *obj;		 /* what will be stored (owned) */
	const struct kind *kind; /* NULL: a kind to register (new_kind) */
	char *new_kind;		 /* Kind not known yet, registered at commit */
	int namespaced;
	char *ns, *name;    /* owned */
	struct object *old; /* the live object for an update */
};

static void pending_free(struct pending *p)
{
	json_decref(p->obj);
	free(p->new_kind);
	free(p->ns);
	free(p->name);
}

/* apimachinery's TotalAnnotationSizeLimitB: keys and values of all annotations together. */
#define ANNOTATIONS_MAX_BYTES (256 * 1024)

/* Checks labels/annotations: maps of strings with valid keys (and label values), and for
 * annotations the total size. Errors point at the member's value (a key has no node). */
static int check_string_map(const struct manifest *m, json_t *meta, const char *field, int labels,
			    struct cfs_err *err)
{
	json_t *map = json_object_get(meta, field), *v;
	const char *key, *over = NULL;
	struct cfs_err e;
	size_t total = 0;
	if (!map || json_is_null(map))
		return 0;
	if (!json_is_object(map))
		return manifest_member_errorf(
		    m, meta, field, err, -EINVAL,
		    "metadata.%s: Invalid value: must be a map of strings", field);
	json_object_foreach(map, key, v)
	{
		if (!json_is_string(v))
			return manifest_member_errorf(m, map, key, err, -EINVAL,
						      "metadata.%s[%s]: Invalid value: must be a "
						      "string (quote it)",
						      field, MQUOTE(key));
		if (name_check_qualified(key, &e) < 0)
			return manifest_member_errorf(m, map, key, err, -EINVAL,
						      "metadata.%s: Invalid value: \"%s\": %s",
						      field, MQUOTE(key), e.msg);
		if (labels && name_check_label_value(json_string_value(v), &e) < 0)
			return manifest_member_errorf(m, map, key, err, -EINVAL,
						      "metadata.labels: Invalid value: \"%s\": %s",
						      MQUOTE(json_string_value(v)), e.msg);
		total += strlen(key) + json_string_length(v);
		if (!over && total > ANNOTATIONS_MAX_BYTES)
			over = key;
	}
	if (!labels && over)
		return manifest_member_errorf(m, map, over, err, -EINVAL,
					      "metadata.annotations: Too long: must have at most "
					      "%d bytes",
					      ANNOTATIONS_MAX_BYTES);
	return 0;
}

static int check_name(const struct manifest *m, json_t *at, const char *kind, const char *name,
		      struct cfs_err *err)
{
	struct cfs_err e;
	int rc;
	if (strcmp(kind, "Namespace") == 0 || strcmp(kind, "Service") == 0 ||
	    strcmp(kind, "StatefulSet") == 0)
		rc = name_check_label(name, &e);
	else
		rc = name_check_subdomain(name, &e);
	if (rc < 0)
		return manifest_errorf(m, at, err, -EINVAL,
				       "metadata.name: Invalid value: \"%s\": %s", MQUOTE(name),
				       e.msg);
	return 0;
}

/* Fields a writer cannot set: the API server owns them. */
static void strip_server_fields(json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");
	json_object_del(obj, "status");
	if (json_is_object(meta)) {
		static const char *const owned[] = {"uid",
						    "resourceVersion",
						    "creationTimestamp",
						    "deletionTimestamp",
						    "deletionGracePeriodSeconds",
						    "generation",
						    "managedFields",
						    "selfLink",
						    NULL};
		const char *const *f;
		for (f = owned; *f; f++)
			json_object_del(meta, *f);
	}
}

static int namespace_exists(struct cluster *cl, struct pending *ps, size_t n, const char *ns)
{
	size_t i;
	if (store_get(cl->store, store_kind(cl->store, "Namespace"), NULL, ns))
		return 1;
	for (i = 0; i < n; i++)
		if (ps[i].kind && strcmp(ps[i].kind->kind, "Namespace") == 0 &&
		    strcmp(ps[i].name, ns) == 0)
			return 1;
	return 0;
}

/* Prepares document i: kind, scope, name, namespace, create-or-update, admission. */
static int prepare(struct cluster *cl, const struct manifest *m, size_t i,
		   const struct apply_scope *scope, struct pending *ps, json_t *seen,
		   struct cfs_err *err)
{
	struct pending *p = &ps[i];
	json_t *doc = m->docs[i];
	json_t *jkind = json_object_get(doc, "kind"), *jav = json_object_get(doc, "apiVersion");
	json_t *meta = json_object_get(doc, "metadata"), *jname_, *jns;
	const char *kind, *name, *ns = NULL;
	int rc;

	p->doc = doc;
	if ((rc = manifest_check_type(m, doc, "kind", JSON_STRING, err)) < 0 ||
	    (rc = manifest_check_type(m, doc, "apiVersion", JSON_STRING, err)) < 0)
		return rc;
	if (!jkind || !json_is_string(jkind) || !*json_string_value(jkind))
		return manifest_member_errorf(m, doc, "kind", err, -EINVAL,
					      "kind: Required value: a manifest needs a kind");
	if (!jav || !json_is_string(jav) || !*json_string_value(jav))
		return manifest_member_errorf(m, doc, "apiVersion", err, -EINVAL,
					      "apiVersion: Required value: a manifest needs an "
					      "apiVersion");
	kind = json_string_value(jkind);
	if (json_is_null(meta))
		meta = NULL; /* "metadata: ~" is no metadata, as in Kubernetes */
	if (meta && !json_is_object(meta))
		return manifest_member_errorf(m, doc, "metadata", err, -EINVAL,
					      "metadata: Invalid value: must be a map");
	p->kind = store_kind(cl->store, kind);
	if (p->kind) {
		p->namespaced = p->kind->namespaced;
	} else {
		char plural[300];
		const char *c;
		for (c = kind; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (*c >= '0' && *c <= '9')))
				return manifest_errorf(
				    m, jkind, err, -EINVAL,
				    "kind: Invalid value: \"%s\": a kind is letters "
				    "and digits",
				    MQUOTE(kind));
		if (strlen(kind) > 63)
			return manifest_errorf(
			    m, jkind, err, -EINVAL,
			    "kind: Invalid value: must be no more than 63 characters");
		store_plural_of(kind, plural, sizeof(plural));
		if (store_kind_by_plural(cl->store, plural))
			return manifest_errorf(
			    m, jkind, err, -EINVAL,
			    "kind: Invalid value: \"%s\": clashes with a known kind", kind);
		p->new_kind = xstrdup(kind);
		p->namespaced = !is_cluster_scoped(kind);
	}
	if (scope && scope->kind && (!p->kind || p->kind != scope->kind))
		return manifest_errorf(
		    m, jkind, err, -EINVAL,
		    "kind: Invalid value: \"%s\": this directory holds %s objects", MQUOTE(kind),
		    scope->kind->kind);

	jname_ = meta ? json_object_get(meta, "name") : NULL;
	if (json_is_null(jname_))
		jname_ = NULL; /* "name: ~" is no name (and the error points at it) */
	if (jname_ && !json_is_string(jname_))
		return manifest_errorf(m, jname_, err, -EINVAL,
				       "metadata.name: Invalid value: must be a string");
	name = jname_ ? json_string_value(jname_) : NULL;
	if (!name && scope && scope->name)
		name = scope->name;
	if (!name && scope && scope->default_name)
		name = scope->default_name;
	if (!name)
		return manifest_member_errorf(m, meta ? meta : doc, meta ? "name" : "metadata", err,
					      -EINVAL,
					      "metadata.name: Required value: name or generateName "
					      "is required");
	rc = check_name(m, jname_ ? jname_ : doc, kind, name, err);
	if (rc < 0)
		return rc;
	if (scope && scope->name && strcmp(scope->name, name) != 0)
		return manifest_errorf(m, jname_ ? jname_ : doc, err, -EINVAL,
				       "metadata.name: Invalid value: \"%s\": this manifest.yaml "
				       "belongs to \"%s\"",
				       name, scope->name);

	jns = meta ? json_object_get(meta, "namespace") : NULL;
	if (jns && !json_is_null(jns) && !json_is_string(jns))
		return manifest_errorf(m, jns, err, -EINVAL,
				       "metadata.namespace: Invalid value: must be a string");
	if (p->namespaced) {
		ns = jns ? json_string_value(jns) : NULL;
		if (ns && scope && scope->ns && strcmp(ns, scope->ns) != 0)
			return manifest_errorf(m, jns, err, -EINVAL,
					       "metadata.namespace: Invalid value: \"%s\": this "
					       "directory is in namespace \"%s\"",
					       MQUOTE(ns), scope->ns);
		if (!ns)
			ns = scope && scope->ns ? scope->ns : "default";
		if (!namespace_exists(cl, ps, i, ns))
			return manifest_member_errorf(m, jns ? meta : doc, jns ? "namespace" : "",
						      err, -ENOENT, "namespaces \"%s\" not found",
						      MQUOTE(ns));
	}
	if (meta) {
		rc = check_string_map(m, meta, "labels", 1, err);
		if (!rc)
			rc = check_string_map(m, meta, "annotations", 0, err);
		if (rc < 0)
			return rc;
	}
	p->name = xstrdup(name);
	p->ns = ns ? xstrdup(ns) : NULL;

	/* Names cannot contain '/', so "kind/ns/name" identifies the object: O(1) per
	 * document instead of comparing with every earlier one. */
	struct strbuf key = STRBUF_INIT;
	sb_addf(&key, "%s/%s/%s", kind, p->ns ? p->ns : "", p->name);
	if (json_object_get(seen, sb_str(&key))) {
		sb_release(&key);
		return manifest_errorf(m, doc, err, -EINVAL,
				       "%s \"%s\" appears twice in this stream", kind, name);
	}
	json_object_set_new(seen, sb_str(&key), json_true());
	sb_release(&key);

	p->old = p->kind ? store_get(cl->store, p->kind, p->ns, p->name) : NULL;
	if (!p->old && p->ns) {
		struct object *nso =
		    store_get(cl->store, store_kind(cl->store, "Namespace"), NULL, p->ns);
		if (nso && jis_deleting(object_json(nso)))
			return manifest_errorf(
			    m, doc, err, -EPERM,
			    "%s \"%s\" is forbidden: unable to create new content "
			    "in namespace %s because it is being terminated",
			    p->kind ? p->kind->plural : kind, name, p->ns);
	}
	if (p->old && jis_deleting(object_json(p->old)))
		return manifest_errorf(m, doc, err, -EEXIST,
				       "%s \"%s\" is being deleted: try again when it is gone",
				       p->kind->plural, name);
	if (p->old) {
		/* A shallow copy: the document's own nodes are merged, so they keep their
		 * positions for admission errors. */
		json_t *patch = json_copy(doc);
		if (json_is_object(meta)) {
			json_t *m2 = json_copy(meta);
			json_object_del(m2, "finalizers");
			json_object_del(m2, "ownerReferences");
			json_object_set_new(patch, "metadata", m2);
		} else {
			json_object_del(patch, "metadata"); /* "metadata: ~" deletes nothing */
		}
		strip_server_fields(patch);
		/* Leaf nodes from the document keep their positions: merge references. */
		p->obj = json_deep_copy(object_json(p->old));
		jmerge(p->obj, patch);
		/* The copy's objects stand where the document's were written. */
		manifest_pos_follow(m, doc, p->obj);
		json_t *ostatus = json_object_get(object_json(p->old), "status");
		json_object_set_new(p->obj, "status",
				    ostatus ? json_incref(ostatus) : json_object());
		json_t *ometa = json_object_get(object_json(p->old), "metadata");
		json_t *nmeta = json_object_get(p->obj, "metadata");
		static const char *const keep[] = {
		    "uid",	  "resourceVersion", "creationTimestamp",
		    "finalizers", "ownerReferences", "generation",
		    NULL};
		const char *const *f;
		for (f = keep; *f; f++) {
			json_t *v = json_object_get(ometa, *f);
			if (v)
				json_object_set(nmeta, *f, v);
			else
				json_object_del(nmeta, *f);
		}
		if (!json_object_get(object_json(p->old), "status"))
			json_object_del(p->obj, "status");
		json_decref(patch);
	} else {
		p->obj = json_incref(doc);
		strip_server_fields(p->obj);
		if (!meta)
			json_object_set_new(p->obj, "metadata", json_object());
		/* Keep the document's own nodes where they are right: they carry the
		 * positions admission errors point at. */
		if (!jname_)
			jset_str(p->obj, "metadata.name", p->name);
		if (p->ns && (!jnamespace(p->obj) || strcmp(jnamespace(p->obj), p->ns) != 0))
			jset_str(p->obj, "metadata.namespace", p->ns);
		else if (!p->ns)
			jdel(p->obj, "metadata.namespace");
	}
	if (p->kind && p->kind->ops && p->kind->ops->admit) {
		rc = p->kind->ops->admit(cl, m, doc, p->obj, p->old, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int64_t spec_generation(json_t *old, json_t *obj)
{
	int64_t g = 1;
	jint(old, "metadata.generation", &g);
	if (!json_equal(json_object_get(old, "spec"), json_object_get(obj, "spec")))
		g++;
	return g;
}

int cluster_apply_manifest(struct cluster *cl, const struct manifest *m,
			   const struct apply_scope *scope, struct cfs_err *err)
{
	struct pending *ps = xcalloc(m->ndocs ? m->ndocs : 1, sizeof(*ps));
	size_t i, creates = 0;
	int rc = 0;

	if (m->ndocs == 0) {
		rc = cfs_errorf(err, -EINVAL, "%s: no objects in the manifest", m->source);
		goto out;
	}
	json_t *seen = json_object();
	for (i = 0; i < m->ndocs && rc == 0; i++) {
		rc = prepare(cl, m, i, scope, ps, seen, err);
		if (rc == 0 && !ps[i].old)
			creates++;
	}
	json_decref(seen);
	if (rc < 0)
		goto out;
	if (store_count(cl->store) + creates > cl->opts.max_objects) {
		rc = cfs_errorf(err, -ENOSPC,
				"%s: too many objects: the cluster would exceed its limit of %zu "
				"(--max-objects)",
				m->source, cl->opts.max_objects);
		goto out;
	}
	/* Everything passed: apply all documents in order. */
	for (i = 0; i < m->ndocs; i++) {
		struct pending *p = &ps[i];
		if (!p->kind)
			p->kind =
			    store_kind_register(cl->store, p->new_kind, jstr(p->doc, "apiVersion"),
						p->namespaced, NULL);
		if (p->old) {
			if (json_equal(object_json(p->old), p->obj))
				continue; /* unchanged, as kubectl says */
			jset(p->obj, "metadata.generation",
			     json_integer(spec_generation(object_json(p->old), p->obj)));
			store_set_json(cl->store, p->old, p->obj);
			p->obj = NULL;
			cluster_update(cl, p->old);
		} else {
			jset(p->obj, "metadata.generation", json_integer(1));
			struct object *o = cluster_create(cl, p->kind, p->obj, err);
			p->obj = NULL;
			if (!o) {
				rc = -EIO; /* checked above; cannot happen */
				goto out;
			}
		}
	}
out:
	for (i = 0; i < m->ndocs; i++)
		pending_free(&ps[i]);
	free(ps);
	return rc;
}

/* Reports a refused input (under the lock) and returns rc. */
static int refuse(struct cluster *cl, const char *source, int rc, struct cfs_err *err)
{
	cluster_report_failure(cl, source, err->msg);
	return rc;
}

/* Settles, commits and syncs after a successful change; called LOCKED, returns UNLOCKED. */
static int finish(struct cluster *cl, struct cfs_err *err)
{
	cluster_settle(cl);
	int64_t seq = cluster_commit(cl, err);
	return cluster_unlock_and_sync(cl, seq, err);
}

int cluster_apply_nowait(struct cluster *cl, const char *buf, size_t len, const char *source,
			 const struct apply_scope *scope, struct cfs_err *err, int64_t *seq)
{
	struct manifest m;
	struct cfs_err local;
	int rc;

	*seq = 0;
	if (!err)
		err = &local;
	err->msg[0] = '\0';
	rc = manifest_decode(buf, len, source, &m, err);
	cluster_lock(cl);
	if (rc < 0) {
		rc = refuse(cl, source, rc, err);
		cluster_unlock(cl);
		return rc;
	}
	rc = cluster_apply_manifest(cl, &m, scope, err);
	/* The documents' nodes now live in stored objects too: drop the manifest's
	 * references under the lock, like every other access to stored JSON. */
	if (rc < 0) {
		refuse(cl, source, rc, err);
		manifest_release(&m);
		cluster_unlock(cl);
		return rc;
	}
	cluster_settle(cl);
	int64_t s = cluster_commit(cl, err);
	manifest_release(&m);
	cluster_unlock(cl);
	if (s < 0)
		return (int)s;
	*seq = s;
	return 0;
}

int cluster_apply(struct cluster *cl, const char *buf, size_t len, const char *source,
		  const struct apply_scope *scope, struct cfs_err *err)
{
	int64_t seq;
	int rc = cluster_apply_nowait(cl, buf, len, source, scope, err, &seq);
	if (rc < 0 || seq == 0)
		return rc;
	return persist_sync(cl->persist, seq, err);
}

int cluster_patch(struct cluster *cl, const struct kind *k, const char *ns, const char *name,
		  const json_t *patch, const char *source, struct cfs_err *err)
{
	struct cfs_err local;
	int rc;
	if (!err)
		err = &local;
	cluster_lock(cl);
	struct object *obj = store_get(cl->store, k, ns, name);
	if (!obj) {
		rc = refuse(cl, source,
			    cfs_errorf(err, -ENOENT, "%s \"%s\" not found", k->plural, name), err);
		cluster_unlock(cl);
		return rc;
	}
	/* jmerge shares the patch's values with the result; the caller's patch is dropped
	 * after the lock is released, so the stored object gets copies of its own (a patch
	 * has no positions to keep). */
	json_t *next = json_deep_copy(object_json(obj)), *own = json_deep_copy(patch);
	jmerge(next, own);
	if (k->ops && k->ops->admit) {
		rc = k->ops->admit(cl, NULL, own, next, obj, err);
		if (rc < 0) {
			json_decref(next);
			json_decref(own);
			refuse(cl, source, rc, err);
			cluster_unlock(cl);
			return rc;
		}
	}
	json_decref(own);
	if (!json_equal(next, object_json(obj))) {
		jset(next, "metadata.generation",
		     json_integer(spec_generation(object_json(obj), next)));
		store_set_json(cl->store, obj, next);
		cluster_update(cl, obj);
	} else {
		json_decref(next);
	}
	return finish(cl, err);
}

int cluster_delete(struct cluster *cl, const struct kind *k, const char *ns, const char *name,
		   const char *source, struct cfs_err *err)
{
	struct cfs_err local;
	int rc;
	if (!err)
		err = &local;
	cluster_lock(cl);
	struct object *obj = store_get(cl->store, k, ns, name);
	if (!obj) {
		rc = cfs_errorf(err, -ENOENT, "%s \"%s\" not found", k->plural, name);
		cluster_unlock(cl);
		return rc;
	}
	if (strcmp(k->kind, "Namespace") == 0 &&
	    (strcmp(name, "default") == 0 || strncmp(name, "kube-", 5) == 0)) {
		rc = refuse(cl, source,
			    cfs_errorf(err, -EPERM,
				       "namespaces \"%s\" is forbidden: this namespace may not be "
				       "deleted",
				       name),
			    err);
		cluster_unlock(cl);
		return rc;
	}
	cluster_request_delete(cl, obj);
	return finish(cl, err);
}

int cluster_set_node_ready(struct cluster *cl, const char *node, int ready, const char *source,
			   struct cfs_err *err)
{
	char when[40];
	size_t i;
	json_t *c, *conds;
	cluster_lock(cl);
	struct object *obj = store_get(cl->store, store_kind(cl->store, "Node"), NULL, node);
	if (!obj) {
		int rc = cfs_errorf(err, -ENOENT, "nodes \"%s\" not found", node);
		cluster_unlock(cl);
		return rc;
	}
	conds = jget(object_json(obj), "status.conditions");
	if (!json_is_array(conds)) {
		conds = json_array();
		jset(object_json(obj), "status.conditions", conds);
	}
	json_t *cond = NULL;
	json_array_foreach(conds, i, c) if (jstr(c, "type") &&
					    strcmp(jstr(c, "type"), "Ready") == 0) cond = c;
	if (!cond) {
		cond = json_pack("{s:s}", "type", "Ready");
		json_array_append_new(conds, cond);
	}
	const char *want = ready ? "True" : "Unknown";
	if (!jstr(cond, "status") || strcmp(jstr(cond, "status"), want) != 0) {
		jtime_format(cluster_now_ms(cl), when, sizeof(when));
		jset_str(cond, "status", want);
		jset_str(cond, "reason", ready ? "KubeletReady" : "NodeStatusUnknown");
		jset_str(cond, "message",
			 ready ? "kubelet is posting ready status"
			       : "Kubelet stopped posting node status.");
		jset_str(cond, "lastTransitionTime", when);
		jset_str(cond, "lastHeartbeatTime", when);
		cluster_event(cl, obj, "Normal", ready ? "NodeReady" : "NodeNotReady",
			      "Node %s status is now: %s", node,
			      ready ? "NodeReady" : "NodeNotReady");
		cluster_update(cl, obj);
	}
	return finish(cl, err);
}

int cluster_create_namespace(struct cluster *cl, const char *name, const char *source,
			     struct cfs_err *err)
{
	struct cfs_err e;
	int rc;
	cluster_lock(cl);
	const struct kind *k = store_kind(cl->store, "Namespace");
	if (store_get(cl->store, k, NULL, name)) {
		rc = cfs_errorf(err, -EEXIST, "namespaces \"%s\" already exists", name);
		cluster_unlock(cl);
		return rc;
	}
	if (name_check_label(name, &e) < 0) {
		rc = refuse(cl, source,
			    cfs_errorf(err, -EINVAL, "metadata.name: Invalid value: \"%s\": %s",
				       name, e.msg),
			    err);
		cluster_unlock(cl);
		return rc;
	}
	json_t *ns = json_pack("{s:s,s:s,s:{s:s,s:{s:s}},s:{s:[s]},s:{s:s}}", "apiVersion", "v1",
			       "kind", "Namespace", "metadata", "name", name, "labels",
			       "kubernetes.io/metadata.name", name, "spec", "finalizers",
			       "kubernetes", "status", "phase", "Active");
	if (!cluster_create(cl, k, ns, err)) {
		rc = refuse(cl, source, -ENOSPC, err);
		cluster_unlock(cl);
		return rc;
	}
	return finish(cl, err);
}
