/* pod.c - the Pod kind: admission (defaults, validation, the immutable spec), the sync
 * that walks a pod through its life (scheduler -> attach -> kubelet, in pod_scheduler.c,
 * pod_attach.c, pod_kubelet.c), and the watch that wakes whatever depends on a pod: its
 * controller, its claims (pvc-protection) and pods waiting for what it held.
 *
 * Deleting a pod removes it at once: pods carry no finalizers and the graceful
 * termination period (Terminating for terminationGracePeriodSeconds, preStop hooks) is
 * not simulated. It could be: a deletionTimestamp plus cluster_enqueue_after() of the
 * grace period, removing the object when the timer fires. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "claimfs/names.h"
#include "workload_internal.h"

const char *pod_volume_claim(const json_t *pod, const json_t *volume, char *buf)
{
	const char *c = json_string_value(
	    json_object_get(json_object_get(volume, "persistentVolumeClaim"), "claimName"));
	if (c)
		return c;
	if (!json_object_get(volume, "ephemeral"))
		return NULL;
	const char *vn = json_string_value(json_object_get(volume, "name"));
	const char *pn =
	    json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
	if (!vn || !pn)
		return NULL;
	snprintf(buf, POD_CLAIM_MAX, "%s-%s", pn, vn);
	return buf;
}

int pod_uses_claim(const json_t *pod, const char *claim)
{
	json_t *v;
	size_t i;
	char buf[POD_CLAIM_MAX];
	/* Hot (scanned over all pods): direct lookups, no paths. */
	json_array_foreach(json_object_get(json_object_get(pod, "spec"), "volumes"), i, v)
	{
		const char *c = pod_volume_claim(pod, v, buf);
		if (c && strcmp(c, claim) == 0)
			return 1;
	}
	return 0;
}

int pod_is_attached(const json_t *pod)
{
	return wl_condition_is(pod, "PodReadyToStartContainers", "True");
}

int pod_is_bound(const json_t *pod)
{
	return jstr(pod, "spec.nodeName") && wl_condition_is(pod, "PodScheduled", "True");
}

int pod_is_ready(const struct object *pod)
{
	const char *phase = json_string_value(
	    json_object_get(json_object_get(object_json(pod), "status"), "phase"));
	return phase && strcmp(phase, "Running") == 0 &&
	       wl_condition_is(object_json(pod), "Ready", "True");
}

const char *wl_claim_class(const json_t *pvc)
{
	const char *c = jannotation(pvc, ANN_BETA_CLASS);
	return c ? c : jstr(pvc, "spec.storageClassName");
}

/* Guaranteed when every container has equal cpu and memory requests and limits,
 * BestEffort when none has any, else Burstable (Kubernetes' qos.GetPodQOS). */
static const char *qos_class(const json_t *spec)
{
	json_t *c;
	size_t i;
	int any = 0, guaranteed = 1;
	static const char *const res[] = {"cpu", "memory"};
	json_array_foreach(json_object_get(spec, "containers"), i, c)
	{
		json_t *lim = jget(c, "resources.limits"), *req = jget(c, "resources.requests");
		size_t r;
		if (json_object_size(lim) || json_object_size(req))
			any = 1;
		for (r = 0; r < 2; r++) {
			const char *l = jstr(lim, res[r]), *q = jstr(req, res[r]);
			if (!l || (q && strcmp(l, q) != 0))
				guaranteed = 0;
		}
	}
	if (!any)
		return "BestEffort";
	return guaranteed ? "Guaranteed" : "Burstable";
}

/* The DefaultTolerationSeconds admission plugin: tolerate a failed node for 5 minutes
 * before eviction. */
static void default_tolerations(json_t *spec)
{
	static const char *const keys[] = {TAINT_NOT_READY, TAINT_UNREACHABLE};
	size_t k, i;
	json_t *t, *list = json_object_get(spec, "tolerations");
	for (k = 0; k < 2; k++) {
		int found = 0;
		json_array_foreach(list, i, t)
		{
			if (jstr(t, "key") && strcmp(jstr(t, "key"), keys[k]) == 0)
				found = 1;
		}
		if (found)
			continue;
		if (!json_is_array(list)) {
			list = json_array();
			json_object_set_new(spec, "tolerations", list);
		}
		json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:i}", "effect", "NoExecute",
						      "key", keys[k], "operator", "Exists",
						      "tolerationSeconds", 300));
	}
}

static int check_labels(const struct manifest *m, json_t *obj, struct cfs_err *err)
{
	json_t *labels = jget(obj, "metadata.labels"), *v;
	const char *k;
	struct cfs_err e;
	json_object_foreach(labels, k, v)
	{
		if (!json_is_string(v))
			return manifest_member_errorf(
			    m, labels, k, err, -EINVAL,
			    "metadata.labels[%s]: Invalid value: must be a string (quote it)",
			    MQUOTE(k));
		if (name_check_label_value(json_string_value(v), &e) < 0)
			return manifest_member_errorf(m, labels, k, err, -EINVAL,
						      "metadata.labels: Invalid value: \"%s\": %s",
						      MQUOTE(json_string_value(v)), e.msg);
	}
	return 0;
}

/* What a pod update may not change: everything in spec but images, activeDeadlineSeconds,
 * tolerations and terminationGracePeriodSeconds (ValidatePodUpdate). */
static json_t *mutable_stripped(const json_t *spec)
{
	json_t *s = json_deep_copy(spec), *c;
	size_t i;
	static const char *const lists[] = {"containers", "initContainers"};
	size_t l;
	json_object_del(s, "activeDeadlineSeconds");
	json_object_del(s, "tolerations");
	json_object_del(s, "terminationGracePeriodSeconds");
	for (l = 0; l < 2; l++) {
		json_array_foreach(json_object_get(s, lists[l]), i, c)
		{
			json_object_del(c, "image");
		}
	}
	return s;
}

static int pod_admit(struct cluster *cl, const struct manifest *m, json_t *doc, json_t *obj,
		     const struct object *old, struct cfs_err *err)
{
	json_t *spec = json_object_get(obj, "spec");
	struct cfs_err e;
	int rc;

	if (!old && name_check_subdomain(jstr_or(obj, "metadata.name", ""), &e) < 0)
		return manifest_errorf(m, obj, err, -EINVAL,
				       "metadata.name: Invalid value: \"%s\": %s",
				       MQUOTE(jstr_or(obj, "metadata.name", "")), e.msg);
	if ((rc = manifest_check_type(m, obj, "spec", JSON_OBJECT, err)) < 0)
		return rc;
	if (!json_is_object(spec))
		return manifest_member_errorf(m, obj, "spec", err, -EINVAL,
					      "spec.containers: Required value");
	podspec_default(spec);
	rc = podspec_validate(m, spec, "spec", NULL, err);
	if (rc == 0)
		rc = check_labels(m, obj, err);
	if (rc == 0 && !old)
		rc = pod_ephemeral_admit(cl, m, obj, err);
	if (rc < 0)
		return rc;
	if (!old) {
		default_tolerations(spec);
		jset_str(obj, "status.phase", "Pending");
		jset_str(obj, "status.qosClass", qos_class(spec));
		return 0;
	}
	json_t *a = mutable_stripped(json_object_get(object_json(old), "spec"));
	json_t *b = mutable_stripped(spec);
	int same = json_equal(a, b);
	json_decref(a);
	json_decref(b);
	if (!same)
		return manifest_errorf(
		    m, doc && json_object_get(doc, "spec") ? json_object_get(doc, "spec") : doc,
		    err, -EPERM,
		    "spec: Forbidden: pod updates may not change fields other than "
		    "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec."
		    "activeDeadlineSeconds`,`spec.tolerations` (only additions to "
		    "existing tolerations),`spec.terminationGracePeriodSeconds` "
		    "(allow it to be set to 1 if it was previously negative)");
	return 0;
}

static void pod_sync(struct cluster *cl, struct object *pod)
{
	if (jis_deleting(object_json(pod)))
		return; /* held by a finalizer someone else put there */
	if (!pod_is_bound(object_json(pod))) {
		pod_ephemeral_sync(cl, pod);
		if (!sched_pod(cl, pod))
			return;
	}
	struct object *node = store_get(cluster_store(cl), cluster_kind(cl, "Node"), NULL,
					jstr(object_json(pod), "spec.nodeName"));
	if (!node) {
		/* The pod garbage collector deletes pods bound to a node that is gone; a
		 * StatefulSet or ReplicaSet then makes a new one. */
		cluster_request_delete(cl, pod);
		return;
	}
	kubelet_sync(cl, pod, node);
}

static void enqueue_owner(struct cluster *cl, const struct object *pod, const char *kind)
{
	const char *uid = wl_controller_uid(object_json(pod), kind);
	json_t *r;
	size_t i;
	if (!uid)
		return;
	json_array_foreach(jget(object_json(pod), "metadata.ownerReferences"), i, r)
	{
		if (!jstr(r, "uid") || strcmp(jstr(r, "uid"), uid) != 0)
			continue;
		struct object *o =
		    store_get(cluster_store(cl), cluster_kind(cl, kind), pod->ns, jstr(r, "name"));
		if (o && juid(object_json(o)) && strcmp(juid(object_json(o)), uid) == 0)
			cluster_enqueue(cl, o);
	}
}

static int has_host_ports(const json_t *pod)
{
	json_t *c, *p;
	size_t i, j;
	json_array_foreach(jget(pod, "spec.containers"), i, c)
	{
		json_array_foreach(json_object_get(c, "ports"), j, p)
		{
			if (json_integer_value(json_object_get(p, "hostPort")) > 0)
				return 1;
		}
	}
	return 0;
}

static int cmp_list_pos(const void *a, const void *b)
{
	size_t x = store_list_pos(*(struct object *const *)a, 0),
	       y = store_list_pos(*(struct object *const *)b, 0);
	return x < y ? -1 : x > y;
}

/* A pod went away: pods that waited for what it held (an RWO attachment, an RWOP claim,
 * a host port) may go on now. They are woken in the namespace's list order. Without host
 * ports: O(pods using its claims) through the claim index (log of them for the order);
 * with host ports, O(pods): any unbound pod may have waited for the port. */
static void wake_waiters(struct cluster *cl, const struct object *gone)
{
	size_t n, i, j;
	json_t *v;
	int ports = has_host_ports(object_json(gone));
	if (!ports) {
		struct object **wake = NULL;
		size_t nwake = 0;
		json_array_foreach(jget(object_json(gone), "spec.volumes"), j, v)
		{
			char buf[POD_CLAIM_MAX];
			const char *c = pod_volume_claim(object_json(gone), v, buf);
			struct object **users;
			if (!c)
				continue;
			n = storage_claim_pods(cl, gone->ns, c, &users);
			wake = xrealloc(wake, (nwake + n + 1) * sizeof(*wake));
			for (i = 0; i < n; i++)
				if (users[i] != gone && !pod_is_attached(object_json(users[i])))
					wake[nwake++] = users[i];
			free(users);
		}
		if (nwake > 1)
			qsort(wake, nwake, sizeof(*wake), cmp_list_pos);
		for (i = 0; i < nwake; i++)
			if (!i || wake[i] != wake[i - 1]) /* a pod sharing two claims: once */
				cluster_enqueue(cl, wake[i]);
		free(wake);
		return;
	}
	struct object *const *pods = store_list(cluster_store(cl), gone->kind, NULL, &n);
	for (i = 0; i < n; i++) {
		struct object *p = pods[i];
		if (p == gone || pod_is_attached(object_json(p)))
			continue;
		if (ports && !pod_is_bound(object_json(p))) {
			cluster_enqueue(cl, p);
			continue;
		}
		if (!p->ns || !gone->ns || strcmp(p->ns, gone->ns) != 0)
			continue;
		json_array_foreach(jget(object_json(gone), "spec.volumes"), j, v)
		{
			char buf[POD_CLAIM_MAX];
			const char *c = pod_volume_claim(object_json(gone), v, buf);
			if (c && pod_uses_claim(object_json(p), c)) {
				cluster_enqueue(cl, p);
				break;
			}
		}
	}
}

static void pod_watch(struct cluster *cl, struct object *pod, int removed)
{
	const struct kind *pvck = cluster_kind(cl, "PersistentVolumeClaim");
	json_t *v;
	size_t i;

	enqueue_owner(cl, pod, "StatefulSet");
	enqueue_owner(cl, pod, "ReplicaSet");
	/* The claims' pvc-protection re-checks whether a scheduled pod still uses them. */
	json_array_foreach(jget(object_json(pod), "spec.volumes"), i, v)
	{
		char buf[POD_CLAIM_MAX];
		const char *c = pod_volume_claim(object_json(pod), v, buf);
		struct object *pvc =
		    c && pvck ? store_get(cluster_store(cl), pvck, pod->ns, c) : NULL;
		if (pvc)
			cluster_enqueue(cl, pvc);
	}
	if (removed)
		wake_waiters(cl, pod);
}

/* The indexes over pods: claims -> pods (storage) and sets, nodes (workloads). */
static void pod_index(struct cluster *cl, struct object *pod, int removed)
{
	storage_pod_index(cl, pod, removed);
	wl_pod_index(cl, pod, removed);
}

const struct kind_ops pod_ops = {
    .admit = pod_admit,
    .sync = pod_sync,
    .watch = pod_watch,
    .index = pod_index,
};
