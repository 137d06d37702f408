/* attrs_workloads.c - the attribute tables of the workload kinds: Node, Pod, StatefulSet,
 * Deployment, ReplicaSet, Service and Namespace (one-value files, kubectl's pod STATUS, the
 * pod -> claim and pod -> node symlinks, a pod's containers/ (tree_mounts.c), a set's
 * ordinals/, a node's pods/), and their
 * writable files: replicas (cluster_patch) and a node's ready (cluster_set_node_ready).
 * Shows are LOCKED; stores UNLOCKED.
 * Complexity: files O(1) (fqdn, endpoints and dns cost what workloads.h costs); a pod's
 * volumes/ O(its volumes); a set's ordinals/ listing O(pods in the namespace), lookup
 * O(1); a node's pods/ listing O(all pods), lookup O(1). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/jsonutil.h"
#include "claimfs/workloads.h"
#include "claimfs/render.h"
#include "tree_internal.h"

#define LABEL_ZONE "topology.kubernetes.io/zone"
#define LABEL_ZONE_BETA "failure-domain.beta.kubernetes.io/zone"

static int show_phase(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_path(obj, "status.phase", out);
}

/* The ownerReference with controller: true, or NULL. */
static json_t *controller_ref(const json_t *obj)
{
	json_t *r;
	size_t i;
	json_array_foreach(jget(obj, "metadata.ownerReferences"), i,
			   r) if (jbool(r, "controller", 0)) return r;
	return NULL;
}

/* Stores a replica count: strict integer, then a merge patch of spec.replicas. */
static int store_replicas(struct cluster *cl, const struct tree_node *node, const char *val,
			  struct cfs_err *err)
{
	struct strbuf source = STRBUF_INIT;
	int64_t n;
	int rc;
	tree_node_path(node, &source);
	rc = tree_parse_count("spec.replicas", val, &n, err);
	if (rc < 0) {
		rc = tree_refuse(cl, sb_str(&source), rc, err);
	} else {
		json_t *patch = json_pack("{s:{s:I}}", "spec", "replicas", (json_int_t)n);
		rc = cluster_patch(cl, node->kind, node->ns, node->name, patch, sb_str(&source),
				   err);
		json_decref(patch);
	}
	sb_release(&source);
	return rc;
}

/* spec.replicas, or Kubernetes' default of 1 when unset. */
static int show_replicas(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	int64_t v = 1;
	jint(object_json(obj), "spec.replicas", &v);
	sb_addf(out, "%lld\n", (long long)v);
	return 0;
}

static int show_ready_replicas(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_count(obj, "status.readyReplicas", out);
}

static int show_current_replicas(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_count(obj, "status.currentReplicas", out);
}

static int show_updated_replicas(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_count(obj, "status.updatedReplicas", out);
}

static int show_available_replicas(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_count(obj, "status.availableReplicas", out);
}

/* ---- Node ---- */

static int node_ready(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_bool(node_is_ready(obj), out);
}

static int node_ready_store(struct cluster *cl, const struct tree_node *node, const char *val,
			    struct cfs_err *err)
{
	struct strbuf source = STRBUF_INIT;
	int ready, rc;
	tree_node_path(node, &source);
	rc = tree_parse_bool("ready", val, &ready, err);
	if (rc < 0)
		rc = tree_refuse(cl, sb_str(&source), rc, err);
	else
		rc = cluster_set_node_ready(cl, node->name, ready, sb_str(&source), err);
	sb_release(&source);
	return rc;
}

static int node_zone(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	const char *z = jlabel(object_json(obj), LABEL_ZONE);
	return tree_show_string(z ? z : jlabel(object_json(obj), LABEL_ZONE_BETA), out);
}

/* pods/<pod>.<ns> -> ../../../namespaces/<ns>/pods/<pod>: a namespace is a DNS label (no
 * dot), so the last dot splits the name. Listing O(all pods). */
static void node_pods_list(struct cluster *cl, const struct object *obj, struct tree_links *out)
{
	struct strbuf name = STRBUF_INIT, target = STRBUF_INIT;
	size_t n, i;
	struct object *const *pods =
	    store_list(cluster_store(cl), cluster_kind(cl, "Pod"), NULL, &n);
	for (i = 0; i < n; i++) {
		const char *node = jstr(object_json(pods[i]), "spec.nodeName");
		if (!node || strcmp(node, obj->name) != 0)
			continue;
		sb_reset(&name);
		sb_reset(&target);
		sb_addf(&name, "%s.%s", pods[i]->name, pods[i]->ns);
		sb_addf(&target, "../../../namespaces/%s/pods/%s", pods[i]->ns, pods[i]->name);
		tree_links_add(out, sb_str(&name), sb_str(&target), pods[i]->id);
	}
	sb_release(&name);
	sb_release(&target);
}

static int node_pods_find(struct cluster *cl, const struct object *obj, const char *name,
			  struct strbuf *target, uint64_t *id)
{
	const char *dot = strrchr(name, '.');
	if (!dot || dot == name || !dot[1])
		return -ENOENT;
	char *pod = xstrndup(name, (size_t)(dot - name));
	struct object *p = store_get(cluster_store(cl), cluster_kind(cl, "Pod"), dot + 1, pod);
	const char *node = p ? jstr(object_json(p), "spec.nodeName") : NULL;
	int rc = -ENOENT;
	if (node && strcmp(node, obj->name) == 0) {
		sb_addf(target, "../../../namespaces/%s/pods/%s", dot + 1, pod);
		*id = p->id;
		rc = 0;
	}
	free(pod);
	return rc;
}

static const struct tree_attr node_attrs[] = {
    TREE_COMMON_ATTRS,
    {"ready", TREE_FILE, 0644, TREE_OWN | TREE_STORE, NULL, node_ready, node_ready_store, NULL,
     NULL},
    {"zone", TREE_FILE, 0444, TREE_OWN, NULL, node_zone, NULL, NULL, NULL},
    {"pods", TREE_DIR, 0555, 0, NULL, NULL, NULL, node_pods_list, node_pods_find},
};
const struct tree_table tree_table_node = {"Node", node_attrs,
					   sizeof(node_attrs) / sizeof(node_attrs[0]), 1};

/* ---- Pod ---- */

/* kubectl's STATUS column: the .table's own printer (render_pod.c), so both agree. */
static int pod_status(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	char reason[128], restarts[64];
	int64_t ready, total;
	render_pod_status(object_json(obj), cluster_now_ms(cl), reason, sizeof(reason), &ready,
			  &total, restarts, sizeof(restarts));
	return tree_show_string(reason, out);
}

static int pod_ready(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_bool(pod_is_ready(obj), out);
}

static int pod_node_name(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_path(obj, "spec.nodeName", out);
}

static int pod_ip(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_path(obj, "status.podIP", out);
}

static int pod_hostname(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	const char *h = jstr(object_json(obj), "spec.hostname");
	return tree_show_string(h && *h ? h : obj->name, out);
}

static int pod_fqdn_show(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	struct strbuf sb = STRBUF_INIT;
	if (pod_fqdn(cl, obj, &sb) == 0)
		tree_show_string(sb_str(&sb), out);
	sb_release(&sb);
	return 0;
}

static int pod_ordinal_present(struct cluster *cl, const struct object *obj)
{
	return pod_ordinal(obj) >= 0;
}

static int pod_ordinal_show(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	int64_t ord = pod_ordinal(obj);
	if (ord < 0)
		return -ENOENT;
	sb_addf(out, "%lld\n", (long long)ord);
	return 0;
}

static int show_owner(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	json_t *r = controller_ref(object_json(obj));
	if (r && jstr(r, "kind") && jstr(r, "name"))
		sb_addf(out, "%s/%s\n", jstr(r, "kind"), jstr(r, "name"));
	return 0;
}

/* The claim of a pod volume while it exists (a symlink exists only while what it points
 * at exists), or NULL. */
static struct object *volume_claim(struct cluster *cl, const struct object *pod, const json_t *vol)
{
	char buf[POD_CLAIM_MAX];
	const char *claim = pod_volume_claim(object_json(pod), vol, buf);
	if (!claim)
		return NULL;
	return store_get(cluster_store(cl), cluster_kind(cl, "PersistentVolumeClaim"), pod->ns,
			 claim);
}

static void pod_volumes_list(struct cluster *cl, const struct object *obj, struct tree_links *out)
{
	struct strbuf target = STRBUF_INIT;
	json_t *v;
	size_t i;
	json_array_foreach(jget(object_json(obj), "spec.volumes"), i, v)
	{
		const char *name = jstr(v, "name");
		struct object *pvc = name ? volume_claim(cl, obj, v) : NULL;
		if (!pvc)
			continue;
		sb_reset(&target);
		sb_addf(&target, "../../../persistentvolumeclaims/%s", pvc->name);
		tree_links_add(out, name, sb_str(&target), pvc->id);
	}
	sb_release(&target);
}

static int pod_volumes_find(struct cluster *cl, const struct object *obj, const char *name,
			    struct strbuf *target, uint64_t *id)
{
	json_t *v;
	size_t i;
	json_array_foreach(jget(object_json(obj), "spec.volumes"), i, v)
	{
		const char *vn = jstr(v, "name");
		if (!vn || strcmp(vn, name) != 0)
			continue;
		struct object *pvc = volume_claim(cl, obj, v);
		if (!pvc)
			return -ENOENT;
		*id = pvc->id;
		sb_addf(target, "../../../persistentvolumeclaims/%s", pvc->name);
		return 0;
	}
	return -ENOENT;
}

static int pod_node_present(struct cluster *cl, const struct object *obj)
{
	const char *n = jstr(object_json(obj), "spec.nodeName");
	return n && *n;
}

static int pod_node(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	if (!pod_node_present(cl, obj))
		return -ENOENT;
	sb_addf(out, "../../../../nodes/%s", jstr(object_json(obj), "spec.nodeName"));
	return 0;
}

static const struct tree_attr pod_attrs[] = {
    TREE_COMMON_ATTRS,
    {"phase", TREE_FILE, 0444, TREE_OWN, NULL, show_phase, NULL, NULL, NULL},
    {"status", TREE_FILE, 0444, TREE_OWN, NULL, pod_status, NULL, NULL, NULL},
    {"ready", TREE_FILE, 0444, TREE_OWN, NULL, pod_ready, NULL, NULL, NULL},
    {"nodeName", TREE_FILE, 0444, TREE_OWN, NULL, pod_node_name, NULL, NULL, NULL},
    {"podIP", TREE_FILE, 0444, TREE_OWN, NULL, pod_ip, NULL, NULL, NULL},
    {"hostname", TREE_FILE, 0444, TREE_OWN, NULL, pod_hostname, NULL, NULL, NULL},
    {"fqdn", TREE_FILE, 0444, 0, NULL, pod_fqdn_show, NULL, NULL, NULL},
    {"ordinal", TREE_FILE, 0444, TREE_OWN, pod_ordinal_present, pod_ordinal_show, NULL, NULL, NULL},
    {"owner", TREE_FILE, 0444, TREE_OWN, NULL, show_owner, NULL, NULL, NULL},
    /* not TREE_OWN: a link exists while its claim does */
    {"volumes", TREE_DIR, 0555, 0, NULL, NULL, NULL, pod_volumes_list, pod_volumes_find},
    {"node", TREE_LINK, 0777, TREE_OWN, pod_node_present, pod_node, NULL, NULL, NULL},
    {"containers", TREE_DIR, 0555, TREE_OWN, NULL, NULL, NULL, NULL, NULL}, /* tree_mounts.c */
};
const struct tree_table tree_table_pod = {"Pod", pod_attrs,
					  sizeof(pod_attrs) / sizeof(pod_attrs[0]), 1};

/* ---- StatefulSet ---- */

static int sts_service_name(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_path(obj, "spec.serviceName", out);
}

static int sts_policy(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_string(
	    jstr_or(object_json(obj), "spec.podManagementPolicy", "OrderedReady"), out);
}

/* ordinals/<n> -> ../../../pods/<set>-<n>: the pods the set controls (statefulset_pods). */
static void sts_ordinals_list(struct cluster *cl, const struct object *obj, struct tree_links *out)
{
	int64_t *ords;
	struct object **pods;
	char name[32];
	struct strbuf target = STRBUF_INIT;
	size_t n = statefulset_pods(cl, obj, &ords, &pods), i;
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%lld", (long long)ords[i]);
		sb_reset(&target);
		sb_addf(&target, "../../../pods/%s", pods[i]->name);
		tree_links_add(out, name, sb_str(&target), pods[i]->id);
	}
	sb_release(&target);
	free(ords);
	free(pods);
}

/* O(1): the pod "<set>-<n>" if this set is its controller. */
static int sts_ordinals_find(struct cluster *cl, const struct object *obj, const char *name,
			     struct strbuf *target, uint64_t *id)
{
	char pod_name[300];
	size_t len = strlen(name);
	if (!len || len > 12 || strspn(name, "0123456789") != len || (name[0] == '0' && len > 1))
		return -ENOENT;
	snprintf(pod_name, sizeof(pod_name), "%s-%s", obj->name, name);
	struct object *pod =
	    store_get(cluster_store(cl), cluster_kind(cl, "Pod"), obj->ns, pod_name);
	json_t *ref = pod ? controller_ref(object_json(pod)) : NULL;
	const char *uid = juid(object_json(obj));
	if (!ref || !uid || strcmp(jstr_or(ref, "uid", ""), uid) != 0 || pod_ordinal(pod) < 0)
		return -ENOENT;
	sb_addf(target, "../../../pods/%s", pod_name);
	*id = pod->id;
	return 0;
}

static const struct tree_attr sts_attrs[] = {
    TREE_COMMON_ATTRS,
    {"replicas", TREE_FILE, 0644, TREE_OWN | TREE_STORE, NULL, show_replicas, store_replicas, NULL,
     NULL},
    {"readyReplicas", TREE_FILE, 0444, TREE_OWN, NULL, show_ready_replicas, NULL, NULL, NULL},
    {"currentReplicas", TREE_FILE, 0444, TREE_OWN, NULL, show_current_replicas, NULL, NULL, NULL},
    {"updatedReplicas", TREE_FILE, 0444, TREE_OWN, NULL, show_updated_replicas, NULL, NULL, NULL},
    {"availableReplicas", TREE_FILE, 0444, TREE_OWN, NULL, show_available_replicas, NULL, NULL,
     NULL},
    {"serviceName", TREE_FILE, 0444, TREE_OWN, NULL, sts_service_name, NULL, NULL, NULL},
    {"podManagementPolicy", TREE_FILE, 0444, TREE_OWN, NULL, sts_policy, NULL, NULL, NULL},
    {"ordinals", TREE_DIR, 0555, 0, NULL, NULL, NULL, sts_ordinals_list, sts_ordinals_find},
};
const struct tree_table tree_table_statefulset = {"StatefulSet", sts_attrs,
						  sizeof(sts_attrs) / sizeof(sts_attrs[0]), 1};

/* ---- Deployment, ReplicaSet ---- */

static int deploy_strategy(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_string(jstr_or(object_json(obj), "spec.strategy.type", "RollingUpdate"),
				out);
}

static const struct tree_attr deploy_attrs[] = {
    TREE_COMMON_ATTRS,
    {"replicas", TREE_FILE, 0644, TREE_OWN | TREE_STORE, NULL, show_replicas, store_replicas, NULL,
     NULL},
    {"readyReplicas", TREE_FILE, 0444, TREE_OWN, NULL, show_ready_replicas, NULL, NULL, NULL},
    {"updatedReplicas", TREE_FILE, 0444, TREE_OWN, NULL, show_updated_replicas, NULL, NULL, NULL},
    {"availableReplicas", TREE_FILE, 0444, TREE_OWN, NULL, show_available_replicas, NULL, NULL,
     NULL},
    {"strategy", TREE_FILE, 0444, TREE_OWN, NULL, deploy_strategy, NULL, NULL, NULL},
};
const struct tree_table tree_table_deployment = {"Deployment", deploy_attrs,
						 sizeof(deploy_attrs) / sizeof(deploy_attrs[0]), 1};

static const struct tree_attr rs_attrs[] = {
    TREE_COMMON_ATTRS,
    {"replicas", TREE_FILE, 0644, TREE_OWN | TREE_STORE, NULL, show_replicas, store_replicas, NULL,
     NULL},
    {"readyReplicas", TREE_FILE, 0444, TREE_OWN, NULL, show_ready_replicas, NULL, NULL, NULL},
};
const struct tree_table tree_table_replicaset = {"ReplicaSet", rs_attrs,
						 sizeof(rs_attrs) / sizeof(rs_attrs[0]), 1};

/* ---- Service ---- */

static int svc_cluster_ip(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_path(obj, "spec.clusterIP", out);
}

static int svc_type(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	return tree_show_string(jstr_or(object_json(obj), "spec.type", "ClusterIP"), out);
}

static int svc_endpoints(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	service_endpoints(cl, obj, out);
	return 0;
}

static int svc_dns(struct cluster *cl, const struct object *obj, struct strbuf *out)
{
	dns_render(cl, obj, out);
	return 0;
}

static const struct tree_attr svc_attrs[] = {
    TREE_COMMON_ATTRS,
    {"clusterIP", TREE_FILE, 0444, TREE_OWN, NULL, svc_cluster_ip, NULL, NULL, NULL},
    {"type", TREE_FILE, 0444, TREE_OWN, NULL, svc_type, NULL, NULL, NULL},
    {"endpoints", TREE_FILE, 0444, 0, NULL, svc_endpoints, NULL, NULL, NULL},
    {"dns", TREE_FILE, 0444, 0, NULL, svc_dns, NULL, NULL, NULL},
};
const struct tree_table tree_table_service = {"Service", svc_attrs,
					      sizeof(svc_attrs) / sizeof(svc_attrs[0]), 1};

/* ---- Namespace (its directory also holds its kind directories: tree_kinds.c) ---- */

static const struct tree_attr ns_attrs[] = {
    TREE_COMMON_ATTRS,
    {"phase", TREE_FILE, 0444, TREE_OWN, NULL, show_phase, NULL, NULL, NULL},
};
const struct tree_table tree_table_namespace = {"Namespace", ns_attrs,
						sizeof(ns_attrs) / sizeof(ns_attrs[0]), 0};
