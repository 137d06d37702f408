/* provisioner.c - dynamic provisioning (2) through the simulated StorageClass backend:
 * the claim gets the storage-provisioner annotations, the pool of the class (exact bytes,
 * storage_index.c) must hold the request, then a PV "pvc-<claim uid>" appears (after
 * --provision-delay when set) with Kubernetes' annotations, claimRef, class, reclaim
 * policy, mount options and finalizers, and is bound at once. External provisioners (any
 * name outside kubernetes.io/) show ExternalProvisioning, Provisioning and
 * ProvisioningSucceeded; in-tree names the in-tree texts. A claim that does not fit
 * stays Pending with ProvisioningFailed and is retried, oldest first, when space frees
 * up (provision_drain). Cost: O(log C) per provisioned claim. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/quantity.h"
#include "storage_internal.h"

#define EXTERNAL_WAITING                                                                           \
	"Waiting for a volume to be created either by the external provisioner '%s' or manually "  \
	"by the system administrator. If volume creation is delayed, please verify that the "      \
	"provisioner is running and correctly registered."

struct prov {
	struct cluster *cl;
	struct object *pvc;
	struct pvc_entry *ce;
	struct object *sc;
	const char *scname;
	const char *provisioner;
	int in_tree; /* kubernetes.io/...: the in-tree controller's texts */
};

/* What the external provisioner says when it picks the claim up. */
static void started(const struct prov *p)
{
	if (p->in_tree)
		return;
	cluster_event(p->cl, p->pvc, "Normal", "ExternalProvisioning", EXTERNAL_WAITING,
		      p->provisioner);
	cluster_event(p->cl, p->pvc, "Normal", "Provisioning",
		      "External provisioner is provisioning volume for claim \"%s/%s\"", p->pvc->ns,
		      p->pvc->name);
}

/* ProvisioningFailed, written once per distinct reason. */
static void failed(const struct prov *p, const char *why)
{
	char msg[1500];
	snprintf(msg, sizeof(msg), "Failed to provision volume with StorageClass \"%s\": %s",
		 p->scname, why);
	if (!storage_memo_new(&p->ce->memo, "ProvisioningFailed", msg))
		return;
	started(p);
	cluster_event(p->cl, p->pvc, "Warning", "ProvisioningFailed", "%s", msg);
}

static void no_space(const struct prov *p, struct sclass *cls, int64_t need)
{
	char want[QTY_STR_MAX], free_[QTY_STR_MAX], cap[QTY_STR_MAX], why[600];
	int64_t avail = storage_free(cls);
	if (avail < 0)
		avail = 0;
	storage_qty_text(need, want, sizeof(want));
	storage_qty_text(avail, free_, sizeof(free_));
	storage_qty_text(cls->capacity, cap, sizeof(cap));
	snprintf(why, sizeof(why),
		 "insufficient capacity in the storage pool: requested %s (%lld bytes), %s (%lld "
		 "bytes) free of %s",
		 want, (long long)need, free_, (long long)avail, cap);
	failed(p, why);
}

/* The zone of the selected node, as the PV's nodeAffinity (its hostname without one). */
static json_t *node_affinity(const struct object *node)
{
	const char *zone = jlabel(object_json(node), LABEL_ZONE);
	const char *key = zone ? LABEL_ZONE : LABEL_HOSTNAME;
	const char *val = zone ? zone : node->name;
	return json_pack("{s:{s:[{s:[{s:s,s:s,s:[s]}]}]}}", "required", "nodeSelectorTerms",
			 "matchExpressions", "key", key, "operator", "In", "values", val);
}

/* Member setters without key checks or path walks: this runs once per provisioned claim
 * (bulk applies), where json_pack's format parsing shows in profiles. */
static json_t *obj_put(json_t *o, const char *key, json_t *v)
{
	json_object_set_new_nocheck(o, key, v);
	return v;
}

/* s is a constant or comes from a stored value: valid UTF-8 already. NULL sets nothing
 * (as json_string(NULL) did). */
static void str_put(json_t *o, const char *key, const char *s)
{
	if (s)
		json_object_set_new_nocheck(o, key, json_stringn_nocheck(s, strlen(s)));
}

static struct object *create_pv(const struct prov *p, const char *name, const struct object *node,
				struct cfs_err *err)
{
	const json_t *cj = object_json(p->pvc), *sj = object_json(p->sc);
	const char *policy = jstr_or(sj, "reclaimPolicy", "Delete");
	const char *uid = jstr_or(cj, "metadata.uid", name);
	int block = storage_is_block(cj);
	json_t *mo = jget(sj, "mountOptions");
	char when[40];

	json_t *pv = json_object();
	str_put(pv, "apiVersion", "v1");
	str_put(pv, "kind", "PersistentVolume");
	json_t *meta = obj_put(pv, "metadata", json_object());
	str_put(meta, "name", name);
	json_t *ann = obj_put(meta, "annotations", json_object());
	str_put(ann, ANN_BOUND_BY_CONTROLLER, "yes");
	str_put(ann, ANN_PROVISIONED_BY, p->provisioner);
	json_t *fin = obj_put(meta, "finalizers", json_array());
	json_array_append_new(fin, json_string(FIN_PV_PROTECTION));
	if (strcmp(policy, "Delete") == 0)
		json_array_append_new(
		    fin, json_string(p->in_tree ? FIN_PV_CONTROLLER : FIN_EXTERNAL_PROVISIONER));

	json_t *spec = obj_put(pv, "spec", json_object());
	obj_put(spec, "accessModes", json_deep_copy(jget(cj, "spec.accessModes")));
	str_put(obj_put(spec, "capacity", json_object()), "storage",
		jstr(cj, "spec.resources.requests.storage"));
	json_t *ref = obj_put(spec, "claimRef", json_object());
	str_put(ref, "apiVersion", "v1");
	str_put(ref, "kind", "PersistentVolumeClaim");
	str_put(ref, "namespace", p->pvc->ns);
	str_put(ref, "name", p->pvc->name);
	str_put(ref, "uid", uid);
	str_put(ref, "resourceVersion", jstr_or(cj, "metadata.resourceVersion", ""));
	json_t *csi = obj_put(spec, "csi", json_object());
	str_put(csi, "driver", p->provisioner);
	if (!block)
		str_put(csi, "fsType", "ext4");
	str_put(csi, "volumeHandle", uid);
	if (json_array_size(mo))
		obj_put(spec, "mountOptions", json_deep_copy(mo));
	if (node)
		obj_put(spec, "nodeAffinity", node_affinity(node));
	str_put(spec, "persistentVolumeReclaimPolicy", policy);
	str_put(spec, "storageClassName", p->scname);
	str_put(spec, "volumeMode", block ? "Block" : "Filesystem");

	json_t *status = obj_put(pv, "status", json_object());
	jtime_format(cluster_now_ms(p->cl), when, sizeof(when));
	str_put(status, "lastPhaseTransitionTime", when);
	str_put(status, "phase", "Bound");
	return cluster_create(p->cl, cluster_kind(p->cl, "PersistentVolume"), pv, err);
}

static int set_provisioner(json_t *j, const char *prov)
{
	const char *a = jannotation(j, ANN_STORAGE_PROVISIONER);
	const char *b = jannotation(j, ANN_BETA_STORAGE_PROVISIONER);
	if (a && b && strcmp(a, prov) == 0 && strcmp(b, prov) == 0)
		return 0;
	jset_annotation(j, ANN_STORAGE_PROVISIONER, prov);
	jset_annotation(j, ANN_BETA_STORAGE_PROVISIONER, prov);
	return 1;
}

static int has_selector(const json_t *j)
{
	return json_object_size(jget(j, "spec.selector.matchLabels")) > 0 ||
	       json_array_size(jget(j, "spec.selector.matchExpressions")) > 0;
}

void provision_claim(struct cluster *cl, struct object *pvc, const char *scname)
{
	struct prov p = {cl, pvc, storage_pvc(cl, pvc), NULL, scname, "", 0};
	json_t *j = object_json(pvc);
	struct object *node = NULL;
	struct cfs_err e;
	char name[128];
	int changed = 0;

	if (!p.ce)
		return;
	p.sc = store_get(cluster_store(cl), cluster_kind(cl, "StorageClass"), NULL, scname);
	if (!p.sc) {
		storage_event_once(cl, pvc, &p.ce->memo, "Warning", "ProvisioningFailed",
				   "storageclass.storage.k8s.io \"%s\" not found", scname);
		return;
	}
	p.provisioner = jstr_or(object_json(p.sc), "provisioner", "");
	p.in_tree = strncmp(p.provisioner, "kubernetes.io/", 14) == 0;
	if (strcmp(p.provisioner, NO_PROVISIONER) == 0) {
		storage_event_once(cl, pvc, &p.ce->memo, "Warning", "ProvisioningFailed",
				   "no volume plugin matched name: %s", p.provisioner);
		return;
	}
	struct sclass *cls = storage_class(cl, scname, 1);
	if (cls->dirty && !*storage_draining(cl)) {
		/* Space was freed: older waiting claims go first. */
		provision_drain(cl, cls);
		if (jstr(j, "spec.volumeName"))
			return;
	}
	snprintf(name, sizeof(name), "pvc-%s", jstr_or(j, "metadata.uid", ""));
	if (store_get(cluster_store(cl), cluster_kind(cl, "PersistentVolume"), NULL, name))
		return; /* provisioned already; the volume's sync binds it */
	if (has_selector(j)) {
		failed(&p, "claim Selector is not supported");
		return;
	}
	changed = set_provisioner(j, p.provisioner);
	if (strcmp(jstr_or(object_json(p.sc), "volumeBindingMode", ""), "WaitForFirstConsumer") ==
	    0) {
		const char *sel = jannotation(j, ANN_SELECTED_NODE);
		node =
		    sel ? store_get(cluster_store(cl), cluster_kind(cl, "Node"), NULL, sel) : NULL;
		if (!node) {
			char why[400];
			snprintf(why, sizeof(why),
				 "failed to get target node: nodes \"%s\" not found",
				 sel ? sel : "");
			failed(&p, why);
			/* The scheduler picks a node again. */
			jset_annotation(j, ANN_SELECTED_NODE, NULL);
			cluster_update(cl, pvc);
			return;
		}
	}
	int64_t need = p.ce->request, now = cluster_now_ms(cl);
	int64_t delay = cluster_options(cl)->provision_delay_ms;
	int was_delayed = p.ce->prov_due != 0;
	if (!was_delayed) {
		if (need > storage_free(cls)) {
			no_space(&p, cls, need);
			if (changed)
				cluster_update(cl, pvc);
			return;
		}
		if (delay > 0) {
			/* The backend works for a while: the space is held meanwhile. */
			started(&p);
			p.ce->prov_due = now + delay;
			storage_reserve(p.ce, need);
			if (changed)
				cluster_update(cl, pvc);
			cluster_enqueue_after(cl, pvc, delay);
			return;
		}
	} else if (now < p.ce->prov_due) {
		if (changed)
			cluster_update(cl, pvc);
		return;
	}
	storage_reserve(p.ce, 0);
	p.ce->prov_due = 0;
	if (need > storage_free(cls)) {
		no_space(&p, cls, need);
		if (changed)
			cluster_update(cl, pvc);
		return;
	}
	if (!was_delayed)
		started(&p);
	struct object *pv = create_pv(&p, name, node, &e);
	if (!pv) {
		failed(&p, e.msg);
		if (changed)
			cluster_update(cl, pvc);
		return;
	}
	if (p.in_tree)
		cluster_event(cl, pvc, "Normal", "ProvisioningSucceeded",
			      "Successfully provisioned volume %s using %s", name, p.provisioner);
	else
		cluster_event(cl, pvc, "Normal", "ProvisioningSucceeded",
			      "Successfully provisioned volume %s", name);
	storage_bind(cl, pv, pvc); /* records the claim's annotations too */
}

void provision_drain(struct cluster *cl, struct sclass *cls)
{
	int *draining = storage_draining(cl);
	uint64_t *ids;
	size_t n, i;
	cls->dirty = 0;
	if (*draining || !cls->exists)
		return;
	struct object *sc =
	    store_get(cluster_store(cl), cluster_kind(cl, "StorageClass"), NULL, cls->name);
	int wffc = sc && strcmp(jstr_or(object_json(sc), "volumeBindingMode", ""),
				"WaitForFirstConsumer") == 0;
	*draining = 1;
	n = storage_pending_ids(cls, &ids);
	for (i = 0; i < n; i++) {
		struct pvc_entry *ce = storage_pvc_by_id(cl, ids[i]);
		if (!ce || !ce->in_pending)
			continue;
		const json_t *j = object_json(ce->obj);
		int64_t need = ce->request;
		if (strcmp(jstr_or(j, "status.phase", ""), "Bound") == 0) {
			struct object *pv =
			    store_get(cluster_store(cl), cluster_kind(cl, "PersistentVolume"), NULL,
				      jstr_or(j, "spec.volumeName", ""));
			struct pv_entry *pe = pv ? storage_pv(cl, pv) : NULL;
			need = pe && pe->counted ? ce->request - pe->bytes : 0;
		} else if (jstr(j, "spec.volumeName") || has_selector(j) ||
			   (wffc && !jannotation(j, ANN_SELECTED_NODE))) {
			continue; /* these are not provisioned */
		}
		if (need <= storage_free(cls))
			pvc_sync(cl, ce->obj);
	}
	*draining = 0;
	free(ids);
}
