/* pvc_binder.c - static binding (PVCTRL syncUnboundClaim, 1.3; FindMatchingVolume and
 * the access-mode index, 1.4) and bind() (1.1). A claim without volumeName gets the
 * smallest fitting Available PV of the first access-mode group (fewest modes first) that
 * yields one, a PV pre-bound to it through claimRef before any other; then the default
 * class retroactively; then waiting for the first consumer, provisioning or
 * FailedBinding. A claim with volumeName binds only to that PV, with VolumeMismatch or
 * FailedBinding when it cannot.
 * Cost: O(15 * log P) per match through the per-class treaps (storage_index.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "storage_internal.h"

/* Non-empty access-mode sets by number of modes, then by value: the index's order. */
static const unsigned group_order[] = {1, 2, 4, 8, 3, 5, 6, 9, 10, 12, 7, 11, 13, 14, 15};

struct match {
	const json_t *selector;
	struct pv_entry *found;
};

static int selector_fits(struct pv_entry *pe, void *ctx)
{
	struct match *m = ctx;
	if (!jselector_matches(m->selector, jget(object_json(pe->obj), "metadata.labels")))
		return 0;
	m->found = pe;
	return 1;
}

struct object *binder_find_volume(struct cluster *cl, const struct object *pvc, int delay)
{
	const json_t *j = object_json(pvc);
	unsigned want = storage_modes(jget(j, "spec.accessModes"));
	struct pvc_entry *ce = storage_pvc(cl, pvc);
	int64_t req = ce ? ce->request : storage_bytes(jstr(j, "spec.resources.requests.storage"));
	int block = storage_is_block(j);
	const char *cname = storage_class_of(j);
	struct sclass *cls = storage_class(cl, cname ? cname : "", 0);
	struct pv_entry *refs = storage_refs(cl, pvc->ns, pvc->name), *pe;
	struct match m = {jget(j, "spec.selector"), NULL};
	size_t g;

	if (!want || req < 0)
		return NULL;
	if (json_is_null(m.selector))
		m.selector = NULL;
	for (g = 0; g < sizeof(group_order) / sizeof(group_order[0]); g++) {
		unsigned modes = group_order[g];
		if ((modes & want) != want)
			continue;
		/* A volume pre-bound to this claim wins within its group. */
		for (pe = refs; pe; pe = pe->ref_next)
			if (pe->modes == modes && pe->bytes >= req && pe->block == block &&
			    !jis_deleting(object_json(pe->obj)) &&
			    storage_pv_bound_to(object_json(pe->obj), pvc))
				return pe->obj;
		if (delay || !cls)
			continue; /* the scheduler binds delayed claims */
		if (storage_avail_walk(cls, block, modes, req, selector_fits, &m))
			return m.found->obj;
	}
	return NULL;
}

void storage_bind(struct cluster *cl, struct object *pv, struct object *pvc)
{
	json_t *pj = object_json(pv), *cj = object_json(pvc);
	const char *uid = jstr_or(cj, "metadata.uid", "");
	int prebound = storage_pv_bound_to(pj, pvc), changed = 0;

	/* 1. the volume's claimRef (+ bound-by-controller unless the user pre-bound it) */
	if (!prebound || strcmp(jstr_or(pj, "spec.claimRef.uid", ""), uid) != 0) {
		jset(pj, "spec.claimRef",
		     json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "apiVersion", "v1", "kind",
			       "PersistentVolumeClaim", "namespace", pvc->ns, "name", pvc->name,
			       "uid", uid, "resourceVersion",
			       jstr_or(cj, "metadata.resourceVersion", "")));
		changed = 1;
	}
	if (!prebound && !jannotation(pj, ANN_BOUND_BY_CONTROLLER)) {
		jset_annotation(pj, ANN_BOUND_BY_CONTROLLER, "yes");
		changed = 1;
	}
	/* 2. the volume's phase */
	changed |= storage_set_phase(cl, pj, "Bound", NULL);
	if (changed)
		cluster_update(cl, pv);

	/* 3. the claim's volumeName (+ bound-by-controller when the claim did not name it)
	 * and bind-completed */
	changed = 0;
	const char *vn = jstr(cj, "spec.volumeName");
	if (!vn || strcmp(vn, pv->name) != 0) {
		jset_str(cj, "spec.volumeName", pv->name);
		if (!jannotation(cj, ANN_BOUND_BY_CONTROLLER))
			jset_annotation(cj, ANN_BOUND_BY_CONTROLLER, "yes");
		changed = 1;
	}
	if (!jannotation(cj, ANN_BIND_COMPLETED)) {
		jset_annotation(cj, ANN_BIND_COMPLETED, "yes");
		changed = 1;
	}
	/* 4. the claim's status: access modes always, capacity only on becoming Bound */
	json_t *modes = jget(pj, "spec.accessModes");
	if (modes && !json_equal(modes, jget(cj, "status.accessModes"))) {
		jset(cj, "status.accessModes", json_deep_copy(modes));
		changed = 1;
	}
	if (strcmp(jstr_or(cj, "status.phase", ""), "Bound") != 0) {
		json_t *cap = jget(pj, "spec.capacity");
		if (cap)
			jset(cj, "status.capacity", json_deep_copy(cap));
		jset_str(cj, "status.phase", "Bound");
		changed = 1;
	}
	struct pvc_entry *ce = storage_pvc(cl, pvc);
	if (changed) {
		if (ce)
			ce->memo = 0;
		cluster_update(cl, pvc);
	}
	/* Both sides are consistent now: their next syncs (which this binding's updates
	 * queued) have nothing to do unless one of them changes again. */
	struct pv_entry *pe = storage_pv(cl, pv);
	if (ce && pe && !ce->deleting && !jis_deleting(pj) && ce->request <= ce->status_bytes) {
		storage_settled(&ce->synced_rv, &ce->synced_peer_id, &ce->synced_peer_rv, pvc, pv);
		storage_settled(&pe->synced_rv, &pe->synced_peer_id, &pe->synced_peer_rv, pv, pvc);
	}
}

/* checkVolumeSatisfyClaim: NULL, or why the named volume does not fit. */
static const char *unsatisfied(const struct object *pv, const struct object *pvc, char *buf,
			       size_t len)
{
	const json_t *v = object_json(pv), *c = object_json(pvc);
	const char *pc = storage_class_of(v), *cc = storage_class_of(c);
	unsigned want = storage_modes(jget(c, "spec.accessModes"));
	if (jis_deleting(v)) {
		snprintf(buf, len, "the volume is marked for deletion \"%s\"", pv->name);
		return buf;
	}
	if (storage_bytes(jstr(v, "spec.capacity.storage")) <
	    storage_bytes(jstr(c, "spec.resources.requests.storage")))
		return "requested PV is too small";
	if (strcmp(pc ? pc : "", cc ? cc : "") != 0)
		return "storageClassName does not match";
	if (storage_is_block(v) != storage_is_block(c))
		return "incompatible volumeMode";
	if ((storage_modes(jget(v, "spec.accessModes")) & want) != want)
		return "incompatible accessMode";
	return NULL;
}

/* Case B: the user named the volume. */
static void sync_named(struct cluster *cl, struct object *pvc, struct pvc_entry *ce, const char *vn)
{
	char buf[600];
	struct object *pv =
	    store_get(cluster_store(cl), cluster_kind(cl, "PersistentVolume"), NULL, vn);
	if (!pv)
		return; /* stays Pending; the PV's creation wakes it */
	json_t *ref = jget(object_json(pv), "spec.claimRef");
	if (!ref || json_is_null(ref)) {
		const char *why = unsatisfied(pv, pvc, buf, sizeof(buf));
		if (why)
			storage_event_once(cl, pvc, &ce->memo, "Warning", "VolumeMismatch",
					   "Cannot bind to requested volume \"%s\": %s", vn, why);
		else
			storage_bind(cl, pv, pvc);
	} else if (storage_pv_bound_to(object_json(pv), pvc)) {
		storage_bind(cl, pv, pvc);
	} else {
		storage_event_once(cl, pvc, &ce->memo, "Warning", "FailedBinding",
				   "volume \"%s\" already bound to a different claim.", vn);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* WaitForFirstConsumer, or WaitForPodScheduled when unscheduled pods use the claim. */
static void wait_for_consumer(struct cluster *cl, struct object *pvc, struct pvc_entry *ce)
{
	struct object **pods;
	size_t n = storage_claim_pods(cl, pvc->ns, pvc->name, &pods), i, k = 0;
	const char **names = xcalloc(n + 1, sizeof(*names));
	struct strbuf sb = STRBUF_INIT;
	for (i = 0; i < n; i++) {
		const char *phase = jstr_or(object_json(pods[i]), "status.phase", "");
		if (jstr(object_json(pods[i]), "spec.nodeName") ||
		    strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0)
			continue;
		names[k++] = pods[i]->name;
	}
	qsort(names, k, sizeof(*names), cmp_str);
	for (i = 0; i < k; i++)
		sb_addf(&sb, "%s%s", i ? "," : "", names[i]);
	if (k)
		storage_event_once(cl, pvc, &ce->memo, "Normal", "WaitForPodScheduled",
				   "waiting for %s %s to be scheduled", k > 1 ? "pods" : "pod",
				   sb_str(&sb));
	else
		storage_event_once(cl, pvc, &ce->memo, "Normal", "WaitForFirstConsumer",
				   "waiting for first consumer to be created before binding");
	sb_release(&sb);
	free(names);
	free(pods);
}

void binder_sync_unbound(struct cluster *cl, struct object *pvc)
{
	json_t *j = object_json(pvc);
	struct pvc_entry *ce = storage_pvc(cl, pvc);
	const char *vn = jstr(j, "spec.volumeName");

	if (!ce || jis_deleting(j))
		return; /* a Terminating claim is not bound or provisioned any more */
	if (vn && *vn) {
		sync_named(cl, pvc, ce, vn);
		return;
	}
	const char *cname = storage_class_of(j);
	struct object *sc =
	    cname && *cname
		? store_get(cluster_store(cl), cluster_kind(cl, "StorageClass"), NULL, cname)
		: NULL;
	int delay = sc && strcmp(jstr_or(object_json(sc), "volumeBindingMode", ""),
				 "WaitForFirstConsumer") == 0;
	struct object *pv = binder_find_volume(cl, pvc, delay);
	if (pv) {
		storage_bind(cl, pv, pvc);
		return;
	}
	if (!cname) {
		/* Retroactive default class (1.6); the update syncs the claim again. */
		struct object *def = storage_default_class(cl);
		if (def) {
			jset_str(j, "spec.storageClassName", def->name);
			cluster_update(cl, pvc);
			return;
		}
	}
	if (delay && !jannotation(j, ANN_SELECTED_NODE)) {
		wait_for_consumer(cl, pvc, ce);
		return;
	}
	if (cname && *cname) {
		provision_claim(cl, pvc, cname);
		return;
	}
	storage_event_once(cl, pvc, &ce->memo, "Normal", "FailedBinding",
			   "no persistent volumes available for this claim and no storage class "
			   "is set");
}
