/* render_pod.c - kubectl's pod row (printPod in printers.go): READY as ready/total
 * containers (restartable init containers count), STATUS as kubectl computes it from the
 * phase, status.reason, SchedulingGated, the init and app container states
 * ("Init:0/1", "Init:CrashLoopBackOff", "ContainerCreating", "Completed", "NotReady",
 * "Terminating", "Unknown" for a deleted pod on a lost node), RESTARTS with
 * "(<age> ago)" of the last termination, and the wide IP, NODE, NOMINATED NODE and
 * READINESS GATES columns. Cost: O(containers) per pod. */
#include <stdio.h>
#include <string.h>
#include "claimfs/jsonutil.h"
#include "render_internal.h"

/* The init container spec named name: does it have restartPolicy Always (a sidecar)? */
static int restartable_init(const json_t *pod, const char *name)
{
	json_t *c;
	size_t i;
	json_array_foreach(jget(pod, "spec.initContainers"), i, c)
	{
		if (name && strcmp(jstr_or(c, "name", ""), name) == 0)
			return strcmp(jstr_or(c, "restartPolicy", ""), "Always") == 0;
	}
	return 0;
}

static int condition_true(const json_t *pod, const char *type)
{
	json_t *c;
	size_t i;
	json_array_foreach(jget(pod, "status.conditions"), i, c)
	{
		if (strcmp(jstr_or(c, "type", ""), type) == 0 &&
		    strcmp(jstr_or(c, "status", ""), "True") == 0)
			return 1;
	}
	return 0;
}

/* lastState.terminated.finishedAt in ms when later than *last. */
static void note_restart(const json_t *cs, int64_t *last)
{
	const char *at = jstr(cs, "lastState.terminated.finishedAt");
	int64_t ms = at ? jtime_parse(at) : -1;
	if (ms != -1 && (*last == 0 || ms > *last))
		*last = ms;
}

static int64_t int_or0(const json_t *obj, const char *path)
{
	int64_t v = 0;
	jint(obj, path, &v);
	return v;
}

/* "Signal:9" / "ExitCode:1" of a terminated state without a reason. */
static void exit_reason(const json_t *term, const char *prefix, char *reason, size_t rlen)
{
	int64_t sig = int_or0(term, "signal");
	if (sig != 0)
		snprintf(reason, rlen, "%sSignal:%lld", prefix, (long long)sig);
	else
		snprintf(reason, rlen, "%sExitCode:%lld", prefix,
			 (long long)int_or0(term, "exitCode"));
}

void render_pod_status(const json_t *pod, int64_t now_ms, char *reason, size_t rlen, int64_t *ready,
		       int64_t *total, char *restarts, size_t restarts_len)
{
	const char *phase = jstr_or(pod, "status.phase", "");
	json_t *ics = jget(pod, "status.initContainerStatuses");
	json_t *cs = jget(pod, "status.containerStatuses"), *c;
	int64_t nrestarts = 0, sidecar_restarts = 0, last = 0, sidecar_last = 0;
	size_t i, ninit = json_array_size(jget(pod, "spec.initContainers"));
	int initializing = 0;

	*ready = 0;
	*total = (int64_t)json_array_size(jget(pod, "spec.containers"));
	snprintf(reason, rlen, "%s",
		 jstr(pod, "status.reason") && *jstr(pod, "status.reason")
		     ? jstr(pod, "status.reason")
		     : phase);
	json_array_foreach(jget(pod, "status.conditions"), i, c)
	{
		if (strcmp(jstr_or(c, "type", ""), "PodScheduled") == 0 &&
		    strcmp(jstr_or(c, "reason", ""), "SchedulingGated") == 0)
			snprintf(reason, rlen, "SchedulingGated");
	}
	json_array_foreach(jget(pod, "spec.initContainers"), i, c)
	{
		if (strcmp(jstr_or(c, "restartPolicy", ""), "Always") == 0)
			(*total)++;
	}

	for (i = 0; i < json_array_size(ics); i++) {
		json_t *st = json_array_get(ics, i);
		json_t *term = jget(st, "state.terminated"), *wait = jget(st, "state.waiting");
		int sidecar = restartable_init(pod, jstr(st, "name"));
		int64_t rc = int_or0(st, "restartCount");

		nrestarts += rc;
		note_restart(st, &last);
		if (sidecar) {
			sidecar_restarts += rc;
			note_restart(st, &sidecar_last);
		}
		if (json_is_object(term) && int_or0(term, "exitCode") == 0)
			continue;
		if (sidecar && jbool(st, "started", 0)) {
			if (jbool(st, "ready", 0))
				(*ready)++;
			continue;
		}
		if (json_is_object(term)) {
			const char *r = jstr_or(term, "reason", "");
			if (*r)
				snprintf(reason, rlen, "Init:%s", r);
			else
				exit_reason(term, "Init:", reason, rlen);
		} else if (json_is_object(wait) && *jstr_or(wait, "reason", "") &&
			   strcmp(jstr_or(wait, "reason", ""), "PodInitializing") != 0) {
			snprintf(reason, rlen, "Init:%s", jstr(wait, "reason"));
		} else {
			snprintf(reason, rlen, "Init:%zu/%zu", i, ninit);
		}
		initializing = 1;
		break;
	}

	if (!initializing || condition_true(pod, "Initialized")) {
		int has_running = 0;
		nrestarts = sidecar_restarts;
		last = sidecar_last;
		for (i = json_array_size(cs); i-- > 0;) {
			json_t *st = json_array_get(cs, i);
			json_t *term = jget(st, "state.terminated"),
			       *wait = jget(st, "state.waiting");
			nrestarts += int_or0(st, "restartCount");
			note_restart(st, &last);
			if (json_is_object(wait) && *jstr_or(wait, "reason", ""))
				snprintf(reason, rlen, "%s", jstr(wait, "reason"));
			else if (json_is_object(term) && *jstr_or(term, "reason", ""))
				snprintf(reason, rlen, "%s", jstr(term, "reason"));
			else if (json_is_object(term))
				exit_reason(term, "", reason, rlen);
			else if (jbool(st, "ready", 0) &&
				 json_is_object(jget(st, "state.running"))) {
				has_running = 1;
				(*ready)++;
			}
		}
		if (strcmp(reason, "Completed") == 0 && has_running)
			snprintf(reason, rlen, "%s",
				 condition_true(pod, "Ready") ? "Running" : "NotReady");
	}

	if (jis_deleting(pod) && strcmp(jstr_or(pod, "status.reason", ""), "NodeLost") == 0)
		snprintf(reason, rlen, "Unknown");
	else if (jis_deleting(pod) && strcmp(phase, "Succeeded") != 0 &&
		 strcmp(phase, "Failed") != 0)
		snprintf(reason, rlen, "Terminating");

	if (nrestarts != 0 && last != 0) {
		char age[32];
		render_age(now_ms - last, age, sizeof(age));
		snprintf(restarts, restarts_len, "%lld (%s ago)", (long long)nrestarts, age);
	} else {
		snprintf(restarts, restarts_len, "%lld", (long long)nrestarts);
	}
}

static const char *none_if_empty(const char *s)
{
	return s && *s ? s : "<none>";
}

void render_row_pod(struct table *t, const json_t *pod)
{
	char reason[256], restarts[64];
	int64_t ready, total;
	json_t *g, *c;
	size_t i, j;

	render_pod_status(pod, t->now_ms, reason, sizeof(reason), &ready, &total, restarts,
			  sizeof(restarts));
	render_cell(t, jname(pod));
	render_cellf(t, "%lld/%lld", (long long)ready, (long long)total);
	render_cell(t, reason);
	render_cell(t, restarts);
	render_cell_age(t, pod);
	if (!t->wide)
		return;
	render_cell(t, none_if_empty(jstr(json_array_get(jget(pod, "status.podIPs"), 0), "ip")));
	render_cell(t, none_if_empty(jstr(pod, "spec.nodeName")));
	render_cell(t, none_if_empty(jstr(pod, "status.nominatedNodeName")));
	if (json_array_size(jget(pod, "spec.readinessGates")) == 0) {
		render_cell(t, "<none>");
		return;
	}
	size_t ok = 0;
	json_array_foreach(jget(pod, "spec.readinessGates"), i, g)
	{
		const char *type = jstr_or(g, "conditionType", "");
		json_array_foreach(jget(pod, "status.conditions"), j, c)
		{
			if (strcmp(jstr_or(c, "type", ""), type) == 0) {
				if (strcmp(jstr_or(c, "status", ""), "True") == 0)
					ok++;
				break;
			}
		}
	}
	render_cellf(t, "%zu/%zu", ok, json_array_size(jget(pod, "spec.readinessGates")));
}
