/* pod_kubelet.c - the kubelet of the simulated nodes, with the node lifecycle
 * controller's part in pods: once a pod is bound, attach its volumes (pod_attach.c),
 * give it a stable IP from its node's 10.244.<n>.0/24, "pull", create and start its
 * containers (Pulled/Created/Started events), then Running and Ready. With
 * --pod-start-delay the containers start that long after the volumes are attached
 * (obj->ready_at_ms and a timer). A NotReady node stops everything on it: new pods wait,
 * running pods get Ready False (Warning NodeNotReady) and heal when the node is Ready
 * again. A changed image restarts that container (Killing, then started again). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "workload_internal.h"

/* The address of the h-th pod slot of node idx (h >= 2): 10.244.<idx>.<h> while it fits,
 * then the next /16s, so that addresses stay unique. */
static void slot_ip(int idx, size_t h, char *buf, size_t len)
{
	snprintf(buf, len, "10.%zu.%d.%zu", 244 + (h - 2) / 253, idx, (h - 2) % 253 + 2);
}

/* The lowest free address of the node's pod range, as host-local IPAM hands out: the
 * lowest slot no other pod on the node holds (workload index: O(pods on the node) at
 * worst, one counter each, no JSON read). */
static void assign_ip(struct cluster *cl, struct object *pod, const struct object *node)
{
	char ip[32];
	if (jstr(object_json(pod), "status.podIP"))
		return;
	slot_ip(node_index(node), wl_node_free_ip_slot(cl, node->name, pod), ip, sizeof(ip));
	jset_str(object_json(pod), "status.podIP", ip);
	jset(object_json(pod), "status.podIPs", json_pack("[{s:s}]", "ip", ip));
}

static json_t *status_of(json_t *pod, const char *list, const char *name)
{
	json_t *s;
	size_t i;
	json_array_foreach(jget(pod, list), i, s)
	{
		if (jstr(s, "name") && strcmp(jstr(s, "name"), name) == 0)
			return s;
	}
	return NULL;
}

static void waiting_statuses(json_t *pod, const char *field, const char *list, const char *reason)
{
	json_t *c, *out = json_array();
	size_t i;
	json_array_foreach(jget(pod, field), i, c)
	{
		json_array_append_new(
		    out, json_pack("{s:s,s:s,s:s,s:{},s:b,s:i,s:b,s:{s:{s:s}}}", "name",
				   jstr_or(c, "name", ""), "image", jstr_or(c, "image", ""),
				   "imageID", "", "lastState", "ready", 0, "restartCount", 0,
				   "started", 0, "state", "waiting", "reason", reason));
	}
	if (json_array_size(out))
		jset(pod, list, out);
	else
		json_decref(out);
}

static void pull_events(struct cluster *cl, struct object *pod, const json_t *c)
{
	const char *img = jstr_or(c, "image", "");
	if (strcmp(jstr_or(c, "imagePullPolicy", "IfNotPresent"), "Always") == 0) {
		cluster_event(cl, pod, "Normal", "Pulling", "Pulling image \"%s\"", img);
		cluster_event(cl, pod, "Normal", "Pulled", "Successfully pulled image \"%s\"", img);
	} else {
		cluster_event(cl, pod, "Normal", "Pulled",
			      "Container image \"%s\" already present on machine", img);
	}
}

/* Starts (or restarts, after an image change) the containers that do not run the spec's
 * image. Returns 1 when anything started. */
static int start_containers(struct cluster *cl, struct object *pod, const char *when)
{
	json_t *c;
	size_t i;
	int started = 0;

	/* Init containers run to completion first, once. */
	json_array_foreach(jget(object_json(pod), "spec.initContainers"), i, c)
	{
		const char *name = jstr_or(c, "name", "");
		json_t *st = status_of(object_json(pod), "status.initContainerStatuses", name);
		if (st && jget(st, "state.terminated"))
			continue;
		pull_events(cl, pod, c);
		cluster_event(cl, pod, "Normal", "Created", "Created container %s", name);
		cluster_event(cl, pod, "Normal", "Started", "Started container %s", name);
		json_t *ns = json_pack("{s:s,s:s,s:s,s:{},s:b,s:i,s:b,s:{s:{s:i,s:s,s:s,s:s}}}",
				       "name", name, "image", jstr_or(c, "image", ""), "imageID",
				       "", "lastState", "ready", 1, "restartCount", 0, "started", 0,
				       "state", "terminated", "exitCode", 0, "reason", "Completed",
				       "startedAt", when, "finishedAt", when);
		if (st) {
			json_object_update(st, ns);
			json_decref(ns);
		} else {
			json_t *list = jget(object_json(pod), "status.initContainerStatuses");
			if (!json_is_array(list)) {
				list = json_array();
				jset(object_json(pod), "status.initContainerStatuses", list);
			}
			json_array_append_new(list, ns);
		}
		started = 1;
	}
	json_array_foreach(jget(object_json(pod), "spec.containers"), i, c)
	{
		const char *name = jstr_or(c, "name", ""), *img = jstr_or(c, "image", "");
		json_t *st = status_of(object_json(pod), "status.containerStatuses", name);
		int64_t restarts = 0;
		if (st && jget(st, "state.running") && strcmp(jstr_or(st, "image", ""), img) == 0)
			continue;
		if (st && jget(st, "state.running")) {
			cluster_event(cl, pod, "Normal", "Killing",
				      "Container %s definition changed, will be restarted", name);
			jint(st, "restartCount", &restarts);
			restarts++;
		}
		pull_events(cl, pod, c);
		cluster_event(cl, pod, "Normal", "Created", "Created container %s", name);
		cluster_event(cl, pod, "Normal", "Started", "Started container %s", name);
		json_t *ns = json_pack("{s:s,s:s,s:s,s:{},s:b,s:I,s:b,s:{s:{s:s}}}", "name", name,
				       "image", img, "imageID", "", "lastState", "ready", 1,
				       "restartCount", (json_int_t)restarts, "started", 1, "state",
				       "running", "startedAt", when);
		if (st) {
			json_object_clear(st);
			json_object_update(st, ns);
			json_decref(ns);
		} else {
			json_t *list = jget(object_json(pod), "status.containerStatuses");
			if (!json_is_array(list)) {
				list = json_array();
				jset(object_json(pod), "status.containerStatuses", list);
			}
			json_array_append_new(list, ns);
		}
		started = 1;
	}
	return started;
}

static int containers_current(const json_t *pod)
{
	json_t *c;
	size_t i;
	if (strcmp(jstr_or(pod, "status.phase", ""), "Running") != 0)
		return 0;
	json_array_foreach(jget(pod, "spec.containers"), i, c)
	{
		json_t *st =
		    status_of((json_t *)pod, "status.containerStatuses", jstr_or(c, "name", ""));
		if (!st || !jget(st, "state.running") ||
		    strcmp(jstr_or(st, "image", ""), jstr_or(c, "image", "")) != 0)
			return 0;
	}
	return 1;
}

static void not_ready_conditions(struct cluster *cl, json_t *pod)
{
	struct strbuf names = STRBUF_INIT, msg = STRBUF_INIT;
	json_t *c;
	size_t i;
	int64_t now = cluster_now_ms(cl);
	json_array_foreach(jget(pod, "spec.containers"), i, c)
	{
		sb_addf(&names, "%s%s", i ? " " : "", jstr_or(c, "name", ""));
	}
	if (json_array_size(jget(pod, "spec.initContainers"))) {
		sb_adds(&msg, "containers with incomplete status: [");
		json_array_foreach(jget(pod, "spec.initContainers"), i, c)
		{
			sb_addf(&msg, "%s%s", i ? " " : "", jstr_or(c, "name", ""));
		}
		sb_adds(&msg, "]");
		wl_set_condition(pod, "Initialized", "False", "ContainersNotInitialized",
				 sb_str(&msg), now);
		sb_reset(&msg);
	} else {
		wl_set_condition(pod, "Initialized", "True", NULL, NULL, now);
	}
	sb_addf(&msg, "containers with unready status: [%s]", sb_str(&names));
	wl_set_condition(pod, "Ready", "False", "ContainersNotReady", sb_str(&msg), now);
	wl_set_condition(pod, "ContainersReady", "False", "ContainersNotReady", sb_str(&msg), now);
	sb_release(&names);
	sb_release(&msg);
}

static void set_host(struct cluster *cl, json_t *pod, const struct object *node)
{
	const char *ip = node_internal_ip(node);
	char when[40];
	if (ip && !jstr(pod, "status.hostIP")) {
		jset_str(pod, "status.hostIP", ip);
		jset(pod, "status.hostIPs", json_pack("[{s:s}]", "ip", ip));
	}
	if (!jstr(pod, "status.startTime")) {
		wl_now(cl, when, sizeof(when));
		jset_str(pod, "status.startTime", when);
	}
}

void kubelet_sync(struct cluster *cl, struct object *pod, struct object *node)
{
	json_t *before = json_deep_copy(object_json(pod));
	int64_t now = cluster_now_ms(cl);
	int node_ready = node_is_ready(node);
	char when[40];

	if (!node_ready && !pod_is_attached(object_json(pod)))
		goto out; /* the node's kubelet is down: nothing starts there */
	if (!jstr(object_json(node), "spec.podCIDR"))
		goto out; /* not initialised yet: its sync wakes the pod */
	set_host(cl, object_json(pod), node);
	if (!pod_is_attached(object_json(pod))) {
		if (!attach_pod(cl, pod, node)) {
			not_ready_conditions(cl, object_json(pod));
			if (!jget(object_json(pod), "status.containerStatuses")) {
				waiting_statuses(object_json(pod), "spec.initContainers",
						 "status.initContainerStatuses", "PodInitializing");
				waiting_statuses(object_json(pod), "spec.containers",
						 "status.containerStatuses", "ContainerCreating");
			}
			goto out;
		}
		wl_set_condition(object_json(pod), "PodReadyToStartContainers", "True", NULL, NULL,
				 now);
		assign_ip(cl, pod, node);
	}
	if (!containers_current(object_json(pod))) {
		int64_t delay = cluster_options(cl)->pod_start_delay_ms;
		if (!node_ready)
			goto readiness;
		if (delay > 0 &&
		    strcmp(jstr_or(object_json(pod), "status.phase", ""), "Running") != 0) {
			if (pod->ready_at_ms == 0) {
				pod->ready_at_ms = now + delay;
				cluster_enqueue_after(cl, pod, delay);
			}
			if (now < pod->ready_at_ms) {
				not_ready_conditions(cl, object_json(pod));
				if (!jget(object_json(pod), "status.containerStatuses")) {
					waiting_statuses(object_json(pod), "spec.initContainers",
							 "status.initContainerStatuses",
							 "PodInitializing");
					waiting_statuses(object_json(pod), "spec.containers",
							 "status.containerStatuses",
							 "ContainerCreating");
				}
				goto out;
			}
		}
		pod->ready_at_ms = 0;
		wl_now(cl, when, sizeof(when));
		start_containers(cl, pod, when);
		jset_str(object_json(pod), "status.phase", "Running");
		if (json_array_size(jget(object_json(pod), "spec.initContainers")))
			wl_set_condition(object_json(pod), "Initialized", "True", NULL, NULL, now);
	}
readiness:
	if (strcmp(jstr_or(object_json(pod), "status.phase", ""), "Running") == 0) {
		if (node_ready) {
			wl_set_condition(object_json(pod), "Initialized", "True", NULL, NULL, now);
			wl_set_condition(object_json(pod), "Ready", "True", NULL, NULL, now);
			wl_set_condition(object_json(pod), "ContainersReady", "True", NULL, NULL,
					 now);
		} else if (wl_condition_is(object_json(pod), "Ready", "True")) {
			/* The node lifecycle controller's MarkPodsNotReady. */
			wl_set_condition(object_json(pod), "Ready", "False", NULL, NULL, now);
			cluster_event(cl, pod, "Warning", "NodeNotReady", "Node is not ready");
		}
	}
out:
	wl_commit(cl, pod, before);
}
