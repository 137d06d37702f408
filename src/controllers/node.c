/* node.c - the simulated Nodes: admission gives a new node a Ready condition (its
 * kubelet posts status at once); the sync plays the node IPAM and node lifecycle
 * controllers: a pod range 10.244.<n>.0/24 and an InternalIP 192.168.49.<n+1>, in
 * creation order, and the node.kubernetes.io/unreachable (Ready Unknown) or not-ready
 * (Ready False) taints, NoSchedule and NoExecute, while the node is not Ready. The watch
 * wakes the node's pods and every pod still waiting for a node. */
#include <stdio.h>
#include <string.h>
#include "workload_internal.h"

int node_is_ready(const struct object *node)
{
	return wl_condition_is(object_json(node), "Ready", "True");
}

int node_index(const struct object *node)
{
	int a, b, idx;
	const char *cidr = jstr(object_json(node), "spec.podCIDR");
	if (cidr && sscanf(cidr, "%d.%d.%d.", &a, &b, &idx) == 3 && idx >= 0 && idx < 256)
		return idx;
	return 0;
}

const char *node_internal_ip(const struct object *node)
{
	json_t *a;
	size_t i;
	json_array_foreach(jget(object_json(node), "status.addresses"), i, a)
	{
		if (strcmp(jstr_or(a, "type", ""), "InternalIP") == 0)
			return jstr(a, "address");
	}
	return NULL;
}

static int node_admit(struct cluster *cl, const struct manifest *m, json_t *doc, json_t *obj,
		      const struct object *old, struct cfs_err *err)
{
	char when[40];
	if (old)
		return 0;
	wl_now(cl, when, sizeof(when));
	jset(obj, "status.conditions",
	     json_pack("[{s:s,s:s,s:s,s:s,s:s,s:s}]", "type", "Ready", "status", "True", "reason",
		       "KubeletReady", "message", "kubelet is posting ready status",
		       "lastHeartbeatTime", when, "lastTransitionTime", when));
	return 0;
}

/* The lowest pod range index no other node has (1-based: node 1 gets 10.244.1.0/24). */
static int free_index(struct cluster *cl, const struct object *self)
{
	size_t n, i;
	struct object *const *nodes = store_list(cluster_store(cl), self->kind, NULL, &n);
	int idx;
	for (idx = 1; idx < 255; idx++) {
		int used = 0;
		for (i = 0; i < n && !used; i++)
			if (nodes[i] != self && jstr(object_json(nodes[i]), "spec.podCIDR") &&
			    node_index(nodes[i]) == idx)
				used = 1;
		if (!used)
			return idx;
	}
	return 255;
}

static int is_readiness_taint(const json_t *t)
{
	const char *k = jstr_or(t, "key", "");
	return strcmp(k, TAINT_UNREACHABLE) == 0 || strcmp(k, TAINT_NOT_READY) == 0;
}

static void sync_taints(struct cluster *cl, json_t *node)
{
	json_t *taints = jget(node, "spec.taints"), *t;
	json_t *ready = wl_condition(node, "Ready");
	const char *status = ready ? jstr_or(ready, "status", "Unknown") : "Unknown";
	const char *want = strcmp(status, "True") == 0	  ? NULL
			   : strcmp(status, "False") == 0 ? TAINT_NOT_READY
							  : TAINT_UNREACHABLE;
	static const char *const effects[] = {"NoSchedule", "NoExecute"};
	size_t i, e;
	char when[40];

	for (i = 0; i < json_array_size(taints);) {
		t = json_array_get(taints, i);
		if (is_readiness_taint(t) && (!want || strcmp(jstr_or(t, "key", ""), want) != 0)) {
			json_array_remove(taints, i);
			continue;
		}
		i++;
	}
	if (want) {
		wl_now(cl, when, sizeof(when));
		for (e = 0; e < 2; e++) {
			int found = 0;
			json_array_foreach(taints, i, t)
			{
				if (strcmp(jstr_or(t, "key", ""), want) == 0 &&
				    strcmp(jstr_or(t, "effect", ""), effects[e]) == 0)
					found = 1;
			}
			if (found)
				continue;
			if (!json_is_array(taints)) {
				taints = json_array();
				jset(node, "spec.taints", taints);
			}
			json_array_append_new(taints,
					      json_pack("{s:s,s:s,s:s}", "key", want, "effect",
							effects[e], "timeAdded", when));
		}
	}
	if (json_is_array(taints) && json_array_size(taints) == 0)
		jdel(node, "spec.taints");
}

static void node_sync(struct cluster *cl, struct object *node)
{
	json_t *before = json_deep_copy(object_json(node));
	char buf[64];
	if (!jstr(object_json(node), "spec.podCIDR")) {
		int idx = free_index(cl, node);
		snprintf(buf, sizeof(buf), "10.244.%d.0/24", idx);
		jset_str(object_json(node), "spec.podCIDR", buf);
		jset(object_json(node), "spec.podCIDRs", json_pack("[s]", buf));
	}
	if (!jget(object_json(node), "status.addresses")) {
		snprintf(buf, sizeof(buf), "192.168.49.%d", node_index(node) + 1);
		jset(object_json(node), "status.addresses",
		     json_pack("[{s:s,s:s},{s:s,s:s}]", "type", "InternalIP", "address", buf,
			       "type", "Hostname", "address", node->name));
	}
	if (!jget(object_json(node), "status.nodeInfo"))
		jset(object_json(node), "status.nodeInfo",
		     json_pack("{s:s,s:s,s:s,s:s}", "architecture", "amd64", "operatingSystem",
			       "linux", "kubeletVersion", "v1.30.0-claimfs",
			       "containerRuntimeVersion", "claimfs://simulated"));
	sync_taints(cl, object_json(node));
	wl_commit(cl, node, before);
}

static int cmp_list_pos(const void *a, const void *b)
{
	size_t x = store_list_pos(*(struct object *const *)a, 1),
	       y = store_list_pos(*(struct object *const *)b, 1);
	return x < y ? -1 : x > y;
}

/* Wakes the node's pods and every pod not bound yet (a node that appears or becomes
 * schedulable may take them), in the list order of all pods: O((pods on the node +
 * unbound pods) log of them) through the workload index. */
static void node_watch(struct cluster *cl, struct object *node, int removed)
{
	size_t n, u, i, k = 0;
	struct wl_pod *const *on = wl_node_pods(cl, node->name, &n);
	struct wl_pod *const *unbound = wl_unbound_pods(cl, &u);
	/* The node's own sync (pod range, addresses) goes before its pods'. */
	if (!removed)
		cluster_enqueue(cl, node);
	if (n + u == 0)
		return;
	struct object **wake = xmalloc((n + u) * sizeof(*wake));
	for (i = 0; i < n; i++)
		wake[k++] = on[i]->obj;
	for (i = 0; i < u; i++)
		wake[k++] = unbound[i]->obj;
	qsort(wake, k, sizeof(*wake), cmp_list_pos);
	for (i = 0; i < k; i++)
		if (!i || wake[i] != wake[i - 1]) /* on the node but not bound: once */
			cluster_enqueue(cl, wake[i]);
	free(wake);
}

const struct kind_ops node_ops = {
    .admit = node_admit,
    .sync = node_sync,
    .watch = node_watch,
};
