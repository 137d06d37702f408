/* pod_scheduler.c - kube-scheduler for the simulated nodes: the PreFilter and Filter
 * plugins that matter for storage (VolumeBinding, VolumeRestrictions, VolumeZone) plus
 * NodeName, NodeUnschedulable, TaintToleration, NodeAffinity and NodePorts, in the
 * scheduler's order; a deterministic score (the feasible node with the fewest pods, ties
 * by name); the WaitForFirstConsumer hand-off (pre-binding a static PV or writing
 * volume.kubernetes.io/selected-node for the provisioner) and the binding.
 *
 * Failure messages are FitError's: "0/3 nodes are available: <histogram>. preemption:
 * 0/3 nodes are available: <histogram>.." with the reasons sorted, as upstream prints
 * them. Cost per attempt: O(nodes * (claims + taints + affinity terms)) with the pod
 * counts per node from the workload index; host ports add O(pods on each node), a
 * ReadWriteOncePod claim O(pods using it), a WaitForFirstConsumer claim the PV search. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/quantity.h"
#include "storage_internal.h"

#define REASON_AFFINITY "node(s) didn't match Pod's node affinity/selector"
#define REASON_NODENAME "node(s) didn't match the requested node name"
#define REASON_UNSCHEDULABLE "node(s) were unschedulable"
#define REASON_PORTS "node(s) didn't have free ports for the requested pod ports"
#define REASON_RWOP                                                                                \
	"node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access " \
	"mode"
#define REASON_VOL_AFFINITY "node(s) had volume node affinity conflict"
#define REASON_BIND_CONFLICT "node(s) didn't find available persistent volumes to bind"
#define REASON_ZONE "node(s) had no available volume zone"
#define PREEMPT_UNRESOLVABLE "Preemption is not helpful for scheduling"
#define PREEMPT_NO_VICTIMS "No preemption victims found for incoming pod"

struct claim_info {
	char name[POD_CLAIM_MAX]; /* pod_volume_claim */
	int ephemeral;		  /* a generic ephemeral volume's claim */
	struct object *pvc;
	struct object *pv; /* the bound volume, or NULL */
	struct object *sc; /* class of an unbound WaitForFirstConsumer claim */
	int wffc;	   /* unbound, binding delayed to the first consumer */
};

struct sched {
	struct cluster *cl;
	struct object *pod;
	struct claim_info *claims;
	size_t nclaims;
	struct object **nodes; /* sorted by name */
	size_t nnodes;
	size_t *pods_on; /* bound pods per node */
	int host_ports;	 /* the pod asks for host ports */
};

static int cmp_obj_name(const void *a, const void *b)
{
	return strcmp((*(struct object *const *)a)->name, (*(struct object *const *)b)->name);
}

/* ---- node selector terms (pod node affinity and PV node affinity) ---- */

static int expr_matches(const json_t *e, const char *value)
{
	const char *op = jstr_or(e, "operator", "");
	json_t *vals = json_object_get(e, "values"), *v;
	size_t i;
	int in = 0;
	if (strcmp(op, "Exists") == 0)
		return value != NULL;
	if (strcmp(op, "DoesNotExist") == 0)
		return value == NULL;
	if (strcmp(op, "Gt") == 0 || strcmp(op, "Lt") == 0) {
		if (!value || json_array_size(vals) != 1)
			return 0;
		long long a = atoll(value),
			  b = atoll(json_string_value(json_array_get(vals, 0)) ?: "0");
		return strcmp(op, "Gt") == 0 ? a > b : a < b;
	}
	json_array_foreach(vals, i, v)
	{
		if (value && json_is_string(v) && strcmp(json_string_value(v), value) == 0)
			in = 1;
	}
	if (strcmp(op, "In") == 0)
		return in;
	if (strcmp(op, "NotIn") == 0)
		return !in;
	return 0;
}

static int term_matches(const json_t *term, const struct object *node)
{
	json_t *e, *labels = jget(object_json(node), "metadata.labels");
	size_t i;
	int any = 0;
	json_array_foreach(json_object_get(term, "matchExpressions"), i, e)
	{
		any = 1;
		if (!expr_matches(
			e, json_string_value(json_object_get(labels, jstr_or(e, "key", "")))))
			return 0;
	}
	json_array_foreach(json_object_get(term, "matchFields"), i, e)
	{
		any = 1;
		const char *key = jstr_or(e, "key", "");
		if (!expr_matches(e, strcmp(key, "metadata.name") == 0 ? node->name : NULL))
			return 0;
	}
	return any; /* an empty term matches nothing */
}

/* Are the nodeSelectorTerms (ORed) satisfied? NULL terms are. */
static int terms_match(const json_t *terms, const struct object *node)
{
	json_t *t;
	size_t i;
	if (!terms)
		return 1;
	json_array_foreach(terms, i, t)
	{
		if (term_matches(t, node))
			return 1;
	}
	return 0;
}

/* ---- the pod's claims (VolumeBinding PreFilter) ---- */

static int has_mode(const json_t *obj, const char *path, const char *mode)
{
	return jarray_has_str(obj, path, mode);
}

/* Returns NULL, or the PreFilter failure (static or into buf). */
static const char *prefilter(struct sched *s, char *buf, size_t len)
{
	struct store *st = cluster_store(s->cl);
	const struct kind *pvck = cluster_kind(s->cl, "PersistentVolumeClaim");
	const struct kind *pvk = cluster_kind(s->cl, "PersistentVolume");
	const struct kind *sck = cluster_kind(s->cl, "StorageClass");
	json_t *vols = jget(object_json(s->pod), "spec.volumes"), *v;
	size_t i;
	int unbound_immediate = 0;

	s->claims = xcalloc(json_array_size(vols) + 1, sizeof(*s->claims));
	json_array_foreach(vols, i, v)
	{
		char cb[POD_CLAIM_MAX];
		const char *name = pod_volume_claim(object_json(s->pod), v, cb);
		if (!name)
			continue;
		struct claim_info *ci = &s->claims[s->nclaims++];
		snprintf(ci->name, sizeof(ci->name), "%s", name);
		name = ci->name;
		ci->ephemeral = jget(v, "ephemeral") != NULL;
		ci->pvc = store_get(st, pvck, s->pod->ns, name);
		if (!ci->pvc && ci->ephemeral) {
			snprintf(buf, len,
				 "waiting for ephemeral volume controller to create the "
				 "persistentvolumeclaim \"%s\"",
				 name);
			return buf;
		}
		if (!ci->pvc) {
			snprintf(buf, len, "persistentvolumeclaim \"%s\" not found", name);
			return buf;
		}
		if (ci->ephemeral &&
		    !wl_has_owner(object_json(ci->pvc), juid(object_json(s->pod)))) {
			snprintf(buf, len,
				 "PVC %s/%s was not created for pod %s/%s (pod is not owner)",
				 s->pod->ns, name, s->pod->ns, s->pod->name);
			return buf;
		}
		if (jis_deleting(object_json(ci->pvc))) {
			snprintf(buf, len, "persistentvolumeclaim \"%s\" is being deleted", name);
			return buf;
		}
		const char *vn = jstr(object_json(ci->pvc), "spec.volumeName");
		if (pvc_is_bound(ci->pvc) ||
		    strcmp(jstr_or(object_json(ci->pvc), "status.phase", ""), "Lost") == 0) {
			ci->pv = vn ? store_get(st, pvk, NULL, vn) : NULL;
			if (!ci->pv) {
				snprintf(buf, len,
					 "persistentvolumeclaim \"%s\" bound to non-existent "
					 "persistentvolume \"%s\"",
					 name, vn ? vn : "");
				return buf;
			}
			continue;
		}
		const char *cls = wl_claim_class(object_json(ci->pvc));
		ci->sc = cls && *cls ? store_get(st, sck, NULL, cls) : NULL;
		if (ci->sc && !vn &&
		    strcmp(jstr_or(object_json(ci->sc), "volumeBindingMode", ""),
			   "WaitForFirstConsumer") == 0)
			ci->wffc = 1;
		else
			unbound_immediate = 1;
	}
	if (unbound_immediate)
		return "pod has unbound immediate PersistentVolumeClaims";
	return NULL;
}

/* ---- per-node filters ---- */

static int tolerates(const json_t *pod, const json_t *taint)
{
	json_t *t;
	size_t i;
	json_array_foreach(jget(pod, "spec.tolerations"), i, t)
	{
		const char *eff = jstr_or(t, "effect", ""), *key = jstr_or(t, "key", "");
		const char *op = jstr_or(t, "operator", "Equal");
		if (*eff && strcmp(eff, jstr_or(taint, "effect", "")) != 0)
			continue;
		if (*key && strcmp(key, jstr_or(taint, "key", "")) != 0)
			continue;
		if (strcmp(op, "Exists") == 0)
			return 1;
		if (strcmp(jstr_or(t, "value", ""), jstr_or(taint, "value", "")) == 0)
			return 1;
	}
	return 0;
}

static const char *filter_taints(struct sched *s, const struct object *node, char *buf, size_t len)
{
	json_t *t;
	size_t i;
	json_array_foreach(jget(object_json(node), "spec.taints"), i, t)
	{
		const char *eff = jstr_or(t, "effect", "");
		if (strcmp(eff, "NoSchedule") != 0 && strcmp(eff, "NoExecute") != 0)
			continue;
		if (tolerates(object_json(s->pod), t))
			continue;
		snprintf(buf, len, "node(s) had untolerated taint {%s: %s}", jstr_or(t, "key", ""),
			 jstr_or(t, "value", ""));
		return buf;
	}
	return NULL;
}

static int affinity_matches(struct sched *s, const struct object *node)
{
	json_t *sel = jget(object_json(s->pod), "spec.nodeSelector"), *v;
	json_t *labels = jget(object_json(node), "metadata.labels");
	const char *k;
	json_object_foreach(sel, k, v)
	{
		const char *have = json_string_value(json_object_get(labels, k));
		if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)) != 0)
			return 0;
	}
	json_t *req =
	    jget(object_json(s->pod),
		 "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution");
	if (req && !terms_match(json_object_get(req, "nodeSelectorTerms"), node))
		return 0;
	return 1;
}

static int ports_conflict(const json_t *a, const json_t *b)
{
	json_t *c1, *c2, *p1, *p2;
	size_t i, j, k, l;
	json_array_foreach(jget(a, "spec.containers"), i, c1)
	{
		json_array_foreach(json_object_get(c1, "ports"), j, p1)
		{
			json_int_t hp = json_integer_value(json_object_get(p1, "hostPort"));
			if (hp <= 0)
				continue;
			json_array_foreach(jget(b, "spec.containers"), k, c2)
			{
				json_array_foreach(json_object_get(c2, "ports"), l, p2)
				{
					const char *ip1 = jstr_or(p1, "hostIP", "0.0.0.0");
					const char *ip2 = jstr_or(p2, "hostIP", "0.0.0.0");
					if (json_integer_value(json_object_get(p2, "hostPort")) !=
						hp ||
					    strcmp(jstr_or(p1, "protocol", "TCP"),
						   jstr_or(p2, "protocol", "TCP")) != 0)
						continue;
					if (strcmp(ip1, "0.0.0.0") == 0 ||
					    strcmp(ip2, "0.0.0.0") == 0 || strcmp(ip1, ip2) == 0)
						return 1;
				}
			}
		}
	}
	return 0;
}

/* NodePorts: the pods on the node (workload index), O(pods on the node). */
static int filter_ports(struct sched *s, const struct object *node)
{
	size_t i, n;
	if (!s->host_ports)
		return 1;
	struct wl_pod *const *on = wl_node_pods(s->cl, node->name, &n);
	for (i = 0; i < n; i++) {
		const struct object *p = on[i]->obj;
		if (p == s->pod || jis_deleting(object_json(p)))
			continue;
		if (ports_conflict(object_json(s->pod), object_json(p)))
			return 0;
	}
	return 1;
}

/* ReadWriteOncePod: no other scheduled pod may use the claim (VolumeRestrictions).
 * O(pods using the claim) through the storage index. */
static int rwop_conflict(struct sched *s)
{
	size_t c, i, n;
	int found = 0;
	for (c = 0; c < s->nclaims && !found; c++) {
		struct object **users;
		if (!has_mode(object_json(s->claims[c].pvc), "spec.accessModes",
			      "ReadWriteOncePod"))
			continue;
		n = storage_claim_pods(s->cl, s->pod->ns, s->claims[c].name, &users);
		for (i = 0; i < n && !found; i++)
			if (users[i] != s->pod && jstr(object_json(users[i]), "spec.nodeName"))
				found = 1;
		free(users);
	}
	return found;
}

static int64_t quantity_bytes(const char *s)
{
	struct quantity q;
	if (!s || quantity_parse(s, &q, NULL) < 0)
		return -1;
	return quantity_value(&q);
}

/* Is the PV a static volume for the claim on this node (FindMatchingVolume, scheduler
 * path)? Returns its capacity, or -1. */
static int64_t static_pv_fits(const struct claim_info *ci, const json_t *pv,
			      const struct object *node, int64_t want, const char *cls)
{
	const json_t *claim = object_json(ci->pvc);
	const char *ref_ns = jstr(pv, "spec.claimRef.namespace");
	const char *ref_name = jstr(pv, "spec.claimRef.name");
	json_t *mode;
	size_t m;
	if (jis_deleting(pv) || strcmp(jstr_or(pv, "status.phase", ""), "Available") != 0)
		return -1;
	if (ref_name &&
	    (!ref_ns || strcmp(ref_ns, ci->pvc->ns) != 0 || strcmp(ref_name, ci->pvc->name) != 0))
		return -1;
	int64_t have = quantity_bytes(jstr(pv, "spec.capacity.storage"));
	if (have < 0 || have < want)
		return -1;
	if (strcmp(jstr_or(pv, "spec.volumeMode", "Filesystem"),
		   jstr_or(claim, "spec.volumeMode", "Filesystem")) != 0)
		return -1;
	const char *pcls = jannotation(pv, ANN_BETA_CLASS);
	if (!pcls)
		pcls = jstr_or(pv, "spec.storageClassName", "");
	if (strcmp(pcls, cls ? cls : "") != 0)
		return -1;
	if (!jselector_matches(jget(claim, "spec.selector"), jget(pv, "metadata.labels")))
		return -1;
	json_array_foreach(jget(claim, "spec.accessModes"), m, mode)
	{
		if (!has_mode(pv, "spec.accessModes", json_string_value(mode)))
			return -1;
	}
	if (!terms_match(jget(pv, "spec.nodeAffinity.required.nodeSelectorTerms"), node))
		return -1;
	return have;
}

/* The best static PV so far: the smallest, then fewer access modes, then the first in
 * the list of PVs (the order a scan of every PV would meet them in). */
struct pv_search {
	const struct claim_info *ci;
	const struct object *node;
	int64_t want;
	const char *cls;
	struct object *best;
	int64_t best_size;
	size_t best_modes, best_pos;
	int64_t group_size; /* capacity of the first fit in the group being walked, or -1 */
};

static void pv_consider(struct pv_search *ps, struct object *pv, int64_t have)
{
	size_t nm = json_array_size(jget(object_json(pv), "spec.accessModes"));
	size_t pos = store_list_pos(pv, 1);
	if (!ps->best || have < ps->best_size ||
	    (have == ps->best_size &&
	     (nm < ps->best_modes || (nm == ps->best_modes && pos < ps->best_pos)))) {
		ps->best = pv;
		ps->best_size = have;
		ps->best_modes = nm;
		ps->best_pos = pos;
	}
}

/* Available PVs of one access-mode group come smallest first: after the first that fits,
 * only those of the same size can still win. */
static int pv_walk_fn(struct pv_entry *pe, void *ctx)
{
	struct pv_search *ps = ctx;
	if (ps->group_size >= 0 && pe->bytes > ps->group_size)
		return 1;
	int64_t have = static_pv_fits(ps->ci, object_json(pe->obj), ps->node, ps->want, ps->cls);
	if (have < 0)
		return 0;
	if (ps->group_size < 0)
		ps->group_size = have;
	pv_consider(ps, pe->obj, have);
	return 0;
}

/* A static PV that could take the claim on this node (FindMatchingVolume, scheduler
 * path): the smallest fitting one, fewer access modes first, then the first in the list
 * of PVs. Through the storage index: the PVs pre-bound to the claim, then per access-mode
 * group holding the claim's modes, the class's Available PVs from the requested size up
 * (O(15 log P) plus the PVs the node or the selector rejects on the way). */
static struct object *find_static_pv(struct sched *s, const struct claim_info *ci,
				     const struct object *node)
{
	const json_t *claim = object_json(ci->pvc);
	struct pv_search ps = {ci,
			       node,
			       quantity_bytes(jstr(claim, "spec.resources.requests.storage")),
			       wl_claim_class(claim),
			       NULL,
			       0,
			       0,
			       0,
			       -1};
	unsigned want = storage_modes(jget(claim, "spec.accessModes")), g;
	struct sclass *cls = storage_class(s->cl, ps.cls ? ps.cls : "", 0);
	struct pv_entry *pe;

	for (pe = storage_refs(s->cl, ci->pvc->ns, ci->pvc->name); pe; pe = pe->ref_next) {
		int64_t have = static_pv_fits(ci, object_json(pe->obj), node, ps.want, ps.cls);
		if (have >= 0)
			pv_consider(&ps, pe->obj, have);
	}
	for (g = 1; cls && g < AM_SETS; g++) {
		if ((g & want) != want)
			continue;
		ps.group_size = -1;
		storage_avail_walk(cls, storage_is_block(claim), g, ps.want, pv_walk_fn, &ps);
	}
	return ps.best;
}

static int can_provision(const struct claim_info *ci, const struct object *node)
{
	const char *prov = jstr(object_json(ci->sc), "provisioner");
	json_t *topo = jget(object_json(ci->sc), "allowedTopologies"), *t, *e;
	size_t i, j;
	if (!prov || !*prov || strcmp(prov, "kubernetes.io/no-provisioner") == 0)
		return 0;
	if (json_array_size(topo) == 0)
		return 1;
	/* TopologySelectorTerms: ORed terms of ANDed label requirements. */
	json_array_foreach(topo, i, t)
	{
		int ok = 1;
		json_array_foreach(json_object_get(t, "matchLabelExpressions"), j, e)
		{
			const char *have = jlabel(object_json(node), jstr_or(e, "key", ""));
			if (!have || !jarray_has_str(e, "values", have))
				ok = 0;
		}
		if (ok)
			return 1;
	}
	return 0;
}

static const char *filter_volumes(struct sched *s, const struct object *node)
{
	size_t c;
	for (c = 0; c < s->nclaims; c++) {
		struct claim_info *ci = &s->claims[c];
		if (ci->pv) {
			if (!terms_match(jget(object_json(ci->pv),
					      "spec.nodeAffinity.required.nodeSelectorTerms"),
					 node))
				return REASON_VOL_AFFINITY;
			continue;
		}
		if (!ci->wffc)
			continue;
		const char *sel = jannotation(object_json(ci->pvc), ANN_SELECTED_NODE);
		if (sel) {
			if (strcmp(sel, node->name) != 0)
				return REASON_BIND_CONFLICT;
			continue;
		}
		if (!find_static_pv(s, ci, node) && !can_provision(ci, node))
			return REASON_BIND_CONFLICT;
	}
	return NULL;
}

/* VolumeZone: a bound PV labelled with zones (a__b for several) needs a node in one. */
static int filter_zone(struct sched *s, const struct object *node)
{
	static const char *const keys[] = {LABEL_ZONE, LABEL_ZONE_BETA,
					   "topology.kubernetes.io/region",
					   "failure-domain.beta.kubernetes.io/region"};
	size_t c, k;
	for (c = 0; c < s->nclaims; c++) {
		if (!s->claims[c].pv)
			continue;
		for (k = 0; k < 4; k++) {
			const char *want = jlabel(object_json(s->claims[c].pv), keys[k]);
			const char *have = jlabel(object_json(node), keys[k]);
			if (!want)
				continue;
			if (!have)
				return 0;
			/* "zone-a__zone-b": any of them */
			const char *p = want;
			int found = 0;
			size_t hl = strlen(have);
			while (p && *p) {
				const char *sep = strstr(p, "__");
				size_t l = sep ? (size_t)(sep - p) : strlen(p);
				if (l == hl && strncmp(p, have, l) == 0)
					found = 1;
				p = sep ? sep + 2 : NULL;
			}
			if (!found)
				return 0;
		}
	}
	return 1;
}

/* Runs the Filter plugins on one node. Returns NULL when it fits, else the reason;
 * *unresolvable tells preemption whether evicting pods could help. */
static const char *filter_node(struct sched *s, const struct object *node, int rwop, char *buf,
			       size_t len, int *unresolvable)
{
	const char *want = jstr(object_json(s->pod), "spec.nodeName");
	const char *r;
	*unresolvable = 1;
	if (jbool(object_json(node), "spec.unschedulable", 0)) {
		json_t *taint =
		    json_pack("{s:s,s:s}", "key", TAINT_UNSCHEDULABLE, "effect", "NoSchedule");
		int ok = tolerates(object_json(s->pod), taint);
		json_decref(taint);
		if (!ok)
			return REASON_UNSCHEDULABLE;
	}
	if (want && strcmp(want, node->name) != 0)
		return REASON_NODENAME;
	if ((r = filter_taints(s, node, buf, len)) != NULL)
		return r;
	if (!affinity_matches(s, node))
		return REASON_AFFINITY;
	*unresolvable = 0;
	if (!filter_ports(s, node))
		return REASON_PORTS;
	if (rwop)
		return REASON_RWOP;
	*unresolvable = 1;
	if ((r = filter_volumes(s, node)) != NULL)
		return r;
	if (!filter_zone(s, node))
		return REASON_ZONE;
	return NULL;
}

/* ---- messages ---- */

struct histogram {
	char **reason;
	size_t *count;
	size_t n;
};

static void hist_add(struct histogram *h, const char *reason)
{
	size_t i;
	for (i = 0; i < h->n; i++)
		if (strcmp(h->reason[i], reason) == 0) {
			h->count[i]++;
			return;
		}
	h->reason = xrealloc(h->reason, (h->n + 1) * sizeof(*h->reason));
	h->count = xrealloc(h->count, (h->n + 1) * sizeof(*h->count));
	h->reason[h->n] = xstrdup(reason);
	h->count[h->n++] = 1;
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void hist_free(struct histogram *h)
{
	size_t i;
	for (i = 0; i < h->n; i++)
		free(h->reason[i]);
	free(h->reason);
	free(h->count);
	memset(h, 0, sizeof(*h));
}

/* "2 reason-a, 1 reason-b", sorted as strings like upstream's sortReasonsHistogram. */
static void hist_render(struct histogram *h, struct strbuf *out)
{
	char **lines = xcalloc(h->n + 1, sizeof(*lines));
	size_t i;
	for (i = 0; i < h->n; i++) {
		struct strbuf sb = STRBUF_INIT;
		sb_addf(&sb, "%zu %s", h->count[i], h->reason[i]);
		lines[i] = sb_detach(&sb, NULL);
	}
	qsort(lines, h->n, sizeof(*lines), cmp_cstr);
	for (i = 0; i < h->n; i++) {
		sb_adds(out, i ? ", " : "");
		sb_adds(out, lines[i]);
		free(lines[i]);
	}
	free(lines);
	hist_free(h);
}

/* ---- the scheduling cycle ---- */

static void report_unschedulable(struct sched *s, const char *msg)
{
	json_t *before = json_deep_copy(object_json(s->pod));
	json_t *c = wl_condition(object_json(s->pod), "PodScheduled");
	int same = c && jstr(c, "message") && strcmp(jstr(c, "message"), msg) == 0 &&
		   wl_condition_is(object_json(s->pod), "PodScheduled", "False");
	wl_set_condition(object_json(s->pod), "PodScheduled", "False", "Unschedulable", msg,
			 cluster_now_ms(s->cl));
	jset_str(object_json(s->pod), "status.phase", "Pending");
	if (!same)
		cluster_event(s->cl, s->pod, "Warning", "FailedScheduling", "%s", msg);
	wl_commit(s->cl, s->pod, before);
}

/* Pods bound to each node and not being deleted, the pod itself excluded: O(nodes)
 * through the workload index. */
static void count_pods(struct sched *s)
{
	size_t j;
	s->pods_on = xcalloc(s->nnodes + 1, sizeof(*s->pods_on));
	for (j = 0; j < s->nnodes; j++)
		s->pods_on[j] = wl_node_live_pods(s->cl, s->nodes[j]->name, s->pod);
}

/* WaitForFirstConsumer: give each delayed claim a volume on the chosen node, either a
 * static PV (pre-bound through claimRef for the PV controller to finish) or dynamic
 * provisioning (selected-node). Returns 1 when any object changed. */
static int prebind_claims(struct sched *s, const struct object *node)
{
	size_t c;
	int changed = 0;
	for (c = 0; c < s->nclaims; c++) {
		struct claim_info *ci = &s->claims[c];
		if (!ci->wffc || jannotation(object_json(ci->pvc), ANN_SELECTED_NODE))
			continue;
		struct object *pv = find_static_pv(s, ci, node);
		if (pv) {
			if (jstr(object_json(pv), "spec.claimRef.name"))
				continue; /* already reserved for this claim */
			jset(object_json(pv), "spec.claimRef",
			     json_pack("{s:s,s:s,s:s,s:s,s:s}", "apiVersion", "v1", "kind",
				       "PersistentVolumeClaim", "namespace", ci->pvc->ns, "name",
				       ci->pvc->name, "uid",
				       jstr_or(object_json(ci->pvc), "metadata.uid", "")));
			jset_annotation(object_json(pv), "pv.kubernetes.io/bound-by-controller",
					"yes");
			cluster_update(s->cl, pv);
		} else {
			jset_annotation(object_json(ci->pvc), ANN_SELECTED_NODE, node->name);
			cluster_update(s->cl, ci->pvc);
		}
		changed = 1;
	}
	return changed;
}

static int all_claims_bound(struct sched *s)
{
	size_t c;
	for (c = 0; c < s->nclaims; c++)
		if (!pvc_is_bound(s->claims[c].pvc))
			return 0;
	return 1;
}

static void bind_pod(struct sched *s, const struct object *node)
{
	json_t *before = json_deep_copy(object_json(s->pod));
	char when[40];
	jset_str(object_json(s->pod), "spec.nodeName", node->name);
	wl_set_condition(object_json(s->pod), "PodScheduled", "True", NULL, NULL,
			 cluster_now_ms(s->cl));
	if (!jstr(object_json(s->pod), "status.startTime")) {
		wl_now(s->cl, when, sizeof(when));
		jset_str(object_json(s->pod), "status.startTime", when);
	}
	cluster_event(s->cl, s->pod, "Normal", "Scheduled", "Successfully assigned %s/%s to %s",
		      s->pod->ns, s->pod->name, node->name);
	wl_commit(s->cl, s->pod, before);
}

static void sched_free(struct sched *s)
{
	free(s->claims);
	free(s->nodes);
	free(s->pods_on);
}

int sched_pod(struct cluster *cl, struct object *pod)
{
	struct sched s = {.cl = cl, .pod = pod};
	const struct kind *nk = cluster_kind(cl, "Node");
	struct object *const *nodes = store_list(cluster_store(cl), nk, NULL, &s.nnodes);
	char buf[512], msg[2048];
	const char *pre;
	size_t i;
	int bound = 0;

	s.nodes = xcalloc(s.nnodes + 1, sizeof(*s.nodes));
	memcpy(s.nodes, nodes, s.nnodes * sizeof(*s.nodes));
	qsort(s.nodes, s.nnodes, sizeof(*s.nodes), cmp_obj_name);
	if (s.nnodes == 0) {
		report_unschedulable(&s, "no nodes available to schedule pods");
		goto out;
	}
	pre = prefilter(&s, buf, sizeof(buf));
	if (pre) {
		snprintf(
		    msg, sizeof(msg),
		    "0/%zu nodes are available: %s. preemption: 0/%zu nodes are available: %zu "
		    "%s..",
		    s.nnodes, pre, s.nnodes, s.nnodes, PREEMPT_UNRESOLVABLE);
		report_unschedulable(&s, msg);
		goto out;
	}
	count_pods(&s);
	s.host_ports = ports_conflict(object_json(pod), object_json(pod));
	int rwop = rwop_conflict(&s);
	struct histogram fail = {0}, preempt = {0};
	struct object *best = NULL;
	size_t best_count = 0;
	for (i = 0; i < s.nnodes; i++) {
		int unresolvable;
		const char *r = filter_node(&s, s.nodes[i], rwop, buf, sizeof(buf), &unresolvable);
		if (r) {
			hist_add(&fail, r);
			hist_add(&preempt,
				 unresolvable ? PREEMPT_UNRESOLVABLE : PREEMPT_NO_VICTIMS);
			continue;
		}
		if (!best || s.pods_on[i] < best_count) {
			best = s.nodes[i];
			best_count = s.pods_on[i];
		}
	}
	if (!best) {
		struct strbuf sb = STRBUF_INIT;
		sb_addf(&sb, "0/%zu nodes are available: ", s.nnodes);
		hist_render(&fail, &sb);
		sb_addf(&sb, ". preemption: 0/%zu nodes are available: ", s.nnodes);
		hist_render(&preempt, &sb);
		sb_adds(&sb, "..");
		report_unschedulable(&s, sb_str(&sb));
		sb_release(&sb);
		goto out;
	}
	hist_free(&fail);
	hist_free(&preempt);
	if (prebind_claims(&s, best)) {
		/* The PV controller acts on the claims first; then try again. */
		cluster_enqueue(cl, pod);
		goto out;
	}
	if (!all_claims_bound(&s))
		goto out; /* waiting for provisioning: the claim's change wakes the pod */
	bind_pod(&s, best);
	bound = 1;
out:
	sched_free(&s);
	return bound;
}
