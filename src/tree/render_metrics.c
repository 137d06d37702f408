/* render_metrics.c - /metrics: the Prometheus text exposition (format 0.0.4) of the
 * cluster with kube-state-metrics' names, HELP texts ("[STABLE] " where KSM marks the
 * family stable), label sets and label order (the object's own labels first, as KSM's
 * wrap*Func prepends them), and phase series in KSM's order; plus the simulated backend
 * under a claimfs_ prefix. Every family has HELP and TYPE even when it has no series;
 * series are sorted by namespace/name, so equal states render equal bytes.
 * Values follow KSM's writer: integers and bytes as Go's strconv 'g' ("5",
 * "1.073741824e+09"), phases and info series as 1/0.
 *
 * Cost: one store_list and one sort per kind, then one pass over that kind's objects per
 * family: O(n log n) overall, O(1) work per series; no object looks at another kind. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/controllers.h"
#include "claimfs/events.h"
#include "claimfs/jsonutil.h"
#include "render_internal.h"

struct mctx {
	struct cluster *cl;
	struct strbuf *out;
};

struct family {
	const char *name;
	const char *type;
	int stable;
	const char *help;
	void (*emit)(struct mctx *m, const char *name, const json_t *obj);
};

static void add_escaped(struct strbuf *out, const char *s)
{
	while (s && *s) {
		size_t n = strcspn(s, "\\\"\n");
		sb_add(out, s, n);
		s += n;
		if (!*s)
			break;
		sb_adds(out, *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : "\\n");
		s++;
	}
}

/* One series: name{k1="v1",...} value. The varargs are key, value pairs ended by NULL. */
static void sample(struct mctx *m, const char *name, const char *value, ...)
{
	struct strbuf *out = m->out;
	const char *k, *v;
	va_list ap;
	int first = 1;

	sb_adds(out, name);
	va_start(ap, value);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		sb_adds(out, first ? "{" : ",");
		sb_adds(out, k);
		sb_adds(out, "=\"");
		add_escaped(out, v);
		sb_addc(out, '"');
		first = 0;
	}
	va_end(ap);
	if (!first)
		sb_addc(out, '}');
	sb_addc(out, ' ');
	sb_adds(out, value);
	sb_addc(out, '\n');
}

static const char *flag(int b)
{
	return b ? "1" : "0";
}

/* A field's integer as KSM writes float64(v) ("0" when missing); buf >= 32. */
static const char *int_value(const json_t *obj, const char *path, char *buf)
{
	int64_t v = 0;
	jint(obj, path, &v);
	render_prom_int(v, buf, 32);
	return buf;
}

/* Unix seconds of an RFC 3339 field, or NULL when unset. buf >= 32. */
static const char *unix_seconds(const json_t *obj, const char *path, char *buf)
{
	const char *s = jstr(obj, path);
	int64_t ms = s ? jtime_parse(s) : -1;
	if (ms == -1)
		return NULL;
	render_prom_int(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000), buf, 32);
	return buf;
}

static void header(struct mctx *m, const struct family *f)
{
	sb_addf(m->out, "# HELP %s %s%s\n# TYPE %s %s\n", f->name, f->stable ? "[STABLE] " : "",
		f->help, f->name, f->type);
}

static void run_families(struct mctx *m, const struct family *fams, size_t nf, struct object **objs,
			 size_t n)
{
	size_t f, i;
	for (f = 0; f < nf; f++) {
		header(m, &fams[f]);
		for (i = 0; i < n; i++)
			fams[f].emit(m, fams[f].name, object_json(objs[i]));
	}
}

/* Has arr[i] (a string) appeared before index i? Keeps series unique on odd input. */
static int seen_before(const json_t *arr, size_t i, const char *field)
{
	const char *s =
	    field ? jstr(json_array_get(arr, i), field) : json_string_value(json_array_get(arr, i));
	size_t j;
	for (j = 0; j < i && s; j++) {
		const char *t = field ? jstr(json_array_get(arr, j), field)
				      : json_string_value(json_array_get(arr, j));
		if (t && strcmp(s, t) == 0)
			return 1;
	}
	return 0;
}

/* ---- PersistentVolumeClaims (labels: namespace, persistentvolumeclaim, ...) ---- */

#define PVC_LABELS(o) "namespace", jnamespace(o), "persistentvolumeclaim", jname(o)

static void pvc_info(struct mctx *m, const char *name, const json_t *o)
{
	json_t *ann = jget(o, "metadata.annotations");
	const char *cls =
	    json_string_value(json_object_get(ann, "volume.beta.kubernetes.io/storage-class"));
	if (!cls)
		cls = jstr_or(o, "spec.storageClassName", "");
	sample(m, name, "1", PVC_LABELS(o), "storageclass", cls, "volumename",
	       jstr_or(o, "spec.volumeName", ""), "volumemode", jstr_or(o, "spec.volumeMode", ""),
	       NULL);
}

static void pvc_phase(struct mctx *m, const char *name, const json_t *o)
{
	static const char *const phases[] = {"Lost", "Bound", "Pending"};
	const char *phase = jstr(o, "status.phase");
	size_t i;
	if (!phase || !*phase)
		return;
	for (i = 0; i < 3; i++)
		sample(m, name, flag(strcmp(phase, phases[i]) == 0), PVC_LABELS(o), "phase",
		       phases[i], NULL);
}

static void pvc_request(struct mctx *m, const char *name, const json_t *o)
{
	struct quantity q;
	char buf[64];
	if (render_json_quantity(jget(o, "spec.resources.requests.storage"), &q) < 0)
		return;
	quantity_prom_float(&q, buf, sizeof(buf));
	sample(m, name, buf, PVC_LABELS(o), NULL);
}

static void pvc_access_mode(struct mctx *m, const char *name, const json_t *o)
{
	json_t *modes = jget(o, "spec.accessModes");
	size_t i;
	for (i = 0; i < json_array_size(modes); i++)
		if (json_is_string(json_array_get(modes, i)) && !seen_before(modes, i, NULL))
			sample(m, name, "1", PVC_LABELS(o), "access_mode",
			       json_string_value(json_array_get(modes, i)), NULL);
}

static void pvc_condition(struct mctx *m, const char *name, const json_t *o)
{
	static const char *const st[] = {"True", "False", "Unknown"};
	static const char *const lower[] = {"true", "false", "unknown"};
	json_t *conds = jget(o, "status.conditions");
	size_t i, s;
	for (i = 0; i < json_array_size(conds); i++) {
		json_t *c = json_array_get(conds, i);
		if (!jstr(c, "type") || seen_before(conds, i, "type"))
			continue;
		for (s = 0; s < 3; s++)
			sample(m, name, flag(strcmp(jstr_or(c, "status", ""), st[s]) == 0),
			       PVC_LABELS(o), "condition", jstr(c, "type"), "status", lower[s],
			       NULL);
	}
}

static void pvc_deletion(struct mctx *m, const char *name, const json_t *o)
{
	char buf[32];
	const char *v = unix_seconds(o, "metadata.deletionTimestamp", buf);
	if (v)
		sample(m, name, v, PVC_LABELS(o), NULL);
}

static const struct family pvc_families[] = {
    {"kube_persistentvolumeclaim_info", "gauge", 1, "Information about persistent volume claim.",
     pvc_info},
    {"kube_persistentvolumeclaim_status_phase", "gauge", 1,
     "The phase the persistent volume claim is currently in.", pvc_phase},
    {"kube_persistentvolumeclaim_resource_requests_storage_bytes", "gauge", 1,
     "The capacity of storage requested by the persistent volume claim.", pvc_request},
    {"kube_persistentvolumeclaim_access_mode", "gauge", 1,
     "The access mode(s) specified by the persistent volume claim.", pvc_access_mode},
    {"kube_persistentvolumeclaim_status_condition", "gauge", 0,
     "Information about status of different conditions of persistent volume claim.", pvc_condition},
    {"kube_persistentvolumeclaim_deletion_timestamp", "gauge", 0, "Unix deletion timestamp",
     pvc_deletion},
};

/* ---- PersistentVolumes (labels: persistentvolume, ...) ---- */

static void pv_claim_ref(struct mctx *m, const char *name, const json_t *o)
{
	json_t *ref = jget(o, "spec.claimRef");
	if (json_is_object(ref))
		sample(m, name, "1", "persistentvolume", jname(o), "name", jstr_or(ref, "name", ""),
		       "claim_namespace", jstr_or(ref, "namespace", ""), NULL);
}

static void pv_phase(struct mctx *m, const char *name, const json_t *o)
{
	static const char *const phases[] = {"Pending", "Available", "Bound", "Released", "Failed"};
	const char *phase = jstr(o, "status.phase");
	size_t i;
	if (!phase || !*phase)
		return;
	for (i = 0; i < 5; i++)
		sample(m, name, flag(strcmp(phase, phases[i]) == 0), "persistentvolume", jname(o),
		       "phase", phases[i], NULL);
}

static void pv_info(struct mctx *m, const char *name, const json_t *o)
{
	const char *gce = "", *ebs = "", *azure = "", *iportal = "", *iqn = "", *iinit = "";
	const char *nfs_server = "", *nfs_path = "", *csi_driver = "", *csi_handle = "";
	const char *local_path = "", *local_fs = "", *host_path = "", *host_type = "";
	char fc_lun[24] = "", iscsi_lun[24] = "";
	struct strbuf wwids = STRBUF_INIT, wwns = STRBUF_INIT;
	json_t *spec = jget(o, "spec"), *src, *v;
	size_t i;
	int64_t n;

	/* The first source present wins, in KSM's order. */
	if ((src = jget(spec, "gcePersistentDisk"))) {
		gce = jstr_or(src, "pdName", "");
	} else if ((src = jget(spec, "awsElasticBlockStore"))) {
		ebs = jstr_or(src, "volumeID", "");
	} else if ((src = jget(spec, "azureDisk"))) {
		azure = jstr_or(src, "diskName", "");
	} else if ((src = jget(spec, "fc"))) {
		if (jint(src, "lun", &n) == 0)
			snprintf(fc_lun, sizeof(fc_lun), "%lld", (long long)n);
		json_array_foreach(jget(src, "targetWWNs"), i, v)
		    sb_addf(&wwns, "%s%s", i ? "," : "", json_string_value(v) ?: "");
		json_array_foreach(jget(src, "wwids"), i, v)
		    sb_addf(&wwids, "%s%s", i ? "," : "", json_string_value(v) ?: "");
	} else if ((src = jget(spec, "iscsi"))) {
		iportal = jstr_or(src, "targetPortal", "");
		iqn = jstr_or(src, "iqn", "");
		n = 0;
		jint(src, "lun", &n);
		snprintf(iscsi_lun, sizeof(iscsi_lun), "%lld", (long long)n);
		iinit = jstr_or(src, "initiatorName", "");
	} else if ((src = jget(spec, "nfs"))) {
		nfs_server = jstr_or(src, "server", "");
		nfs_path = jstr_or(src, "path", "");
	} else if ((src = jget(spec, "csi"))) {
		csi_driver = jstr_or(src, "driver", "");
		csi_handle = jstr_or(src, "volumeHandle", "");
	} else if ((src = jget(spec, "local"))) {
		local_path = jstr_or(src, "path", "");
		local_fs = jstr_or(src, "fsType", "");
	} else if ((src = jget(spec, "hostPath"))) {
		host_path = jstr_or(src, "path", "");
		host_type = jstr_or(src, "type", "");
	}
	sample(m, name, "1", "persistentvolume", jname(o), "storageclass",
	       jstr_or(spec, "storageClassName", ""), "gce_persistent_disk_name", gce,
	       "ebs_volume_id", ebs, "azure_disk_name", azure, "fc_wwids", sb_str(&wwids), "fc_lun",
	       fc_lun, "fc_target_wwns", sb_str(&wwns), "iscsi_target_portal", iportal, "iscsi_iqn",
	       iqn, "iscsi_lun", iscsi_lun, "iscsi_initiator_name", iinit, "nfs_server", nfs_server,
	       "nfs_path", nfs_path, "csi_driver", csi_driver, "csi_volume_handle", csi_handle,
	       "local_path", local_path, "local_fs", local_fs, "host_path", host_path,
	       "host_path_type", host_type, "reclaim_policy",
	       jstr_or(spec, "persistentVolumeReclaimPolicy", ""), NULL);
	sb_release(&wwids);
	sb_release(&wwns);
}

static void pv_capacity(struct mctx *m, const char *name, const json_t *o)
{
	struct quantity q;
	char buf[64] = "0";
	if (render_json_quantity(jget(o, "spec.capacity.storage"), &q) == 0)
		quantity_prom_float(&q, buf, sizeof(buf));
	sample(m, name, buf, "persistentvolume", jname(o), NULL);
}

static void pv_access_mode(struct mctx *m, const char *name, const json_t *o)
{
	json_t *modes = jget(o, "spec.accessModes");
	size_t i;
	for (i = 0; i < json_array_size(modes); i++)
		if (json_is_string(json_array_get(modes, i)) && !seen_before(modes, i, NULL))
			sample(m, name, "1", "persistentvolume", jname(o), "access_mode",
			       json_string_value(json_array_get(modes, i)), NULL);
}

static const struct family pv_families[] = {
    {"kube_persistentvolume_claim_ref", "gauge", 1,
     "Information about the Persistent Volume Claim Reference.", pv_claim_ref},
    {"kube_persistentvolume_status_phase", "gauge", 1,
     "The phase indicates if a volume is available, bound to a claim, or released by a "
     "claim.",
     pv_phase},
    {"kube_persistentvolume_info", "gauge", 1, "Information about persistentvolume.", pv_info},
    {"kube_persistentvolume_capacity_bytes", "gauge", 1, "Persistentvolume capacity in bytes.",
     pv_capacity},
    {"kube_persistentvolume_access_mode", "gauge", 0, "Access modes of the PersistentVolume.",
     pv_access_mode},
};

/* ---- StorageClasses ---- */

static void sc_info(struct mctx *m, const char *name, const json_t *o)
{
	sample(m, name, "1", "storageclass", jname(o), "provisioner", jstr_or(o, "provisioner", ""),
	       "reclaim_policy", jstr_or(o, "reclaimPolicy", "Delete"), "volume_binding_mode",
	       jstr_or(o, "volumeBindingMode", "Immediate"), NULL);
}

static const struct family sc_families[] = {
    {"kube_storageclass_info", "gauge", 1, "Information about storageclass.", sc_info},
};

/* The simulated backend's pool of each class (storageclass_pool, controllers.h). */
static void pool_families(struct mctx *m, struct object **scs, size_t n)
{
	static const struct family cap = {
	    "claimfs_storageclass_pool_capacity_bytes", "gauge", 0,
	    "Capacity of the simulated storage backend pool of a StorageClass "
	    "(parameters.capacity).",
	    NULL};
	static const struct family alloc = {
	    "claimfs_storageclass_pool_allocated_bytes", "gauge", 0,
	    "Bytes of a StorageClass pool held by the volumes provisioned from it, Released "
	    "ones included.",
	    NULL};
	struct quantity *c = xcalloc(n ? n : 1, sizeof(*c));
	struct quantity *a = xcalloc(n ? n : 1, sizeof(*a));
	char buf[64];
	size_t i;

	for (i = 0; i < n; i++)
		storageclass_pool(m->cl, scs[i], &c[i], &a[i]);
	header(m, &cap);
	for (i = 0; i < n; i++) {
		quantity_prom_float(&c[i], buf, sizeof(buf));
		sample(m, cap.name, buf, "storageclass", scs[i]->name, NULL);
	}
	header(m, &alloc);
	for (i = 0; i < n; i++) {
		quantity_prom_float(&a[i], buf, sizeof(buf));
		sample(m, alloc.name, buf, "storageclass", scs[i]->name, NULL);
	}
	free(c);
	free(a);
}

/* ---- StatefulSets (labels: namespace, statefulset, ...) ---- */

#define STS_LABELS(o) "namespace", jnamespace(o), "statefulset", jname(o)

static void sts_replicas(struct mctx *m, const char *name, const json_t *o)
{
	char buf[32];
	if (jget(o, "spec.replicas"))
		sample(m, name, int_value(o, "spec.replicas", buf), STS_LABELS(o), NULL);
}

/* The status count named by the family's suffix. */
static void sts_status(struct mctx *m, const char *name, const json_t *o)
{
	static const struct {
		const char *suffix, *field;
	} map[] = {{"_status_replicas", "status.replicas"},
		   {"_status_replicas_available", "status.availableReplicas"},
		   {"_status_replicas_current", "status.currentReplicas"},
		   {"_status_replicas_ready", "status.readyReplicas"},
		   {"_status_replicas_updated", "status.updatedReplicas"}};
	const char *suffix = name + strlen("kube_statefulset");
	char buf[32];
	size_t i;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(suffix, map[i].suffix) == 0)
			sample(m, name, int_value(o, map[i].field, buf), STS_LABELS(o), NULL);
}

static void sts_retention(struct mctx *m, const char *name, const json_t *o)
{
	const char *del = jstr_or(o, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted", "");
	const char *scaled = jstr_or(o, "spec.persistentVolumeClaimRetentionPolicy.whenScaled", "");
	if (*del || *scaled)
		sample(m, name, "1", STS_LABELS(o), "when_deleted", del, "when_scaled", scaled,
		       NULL);
}

static void sts_ordinals(struct mctx *m, const char *name, const json_t *o)
{
	char buf[32];
	if (json_is_object(jget(o, "spec.ordinals")))
		sample(m, name, int_value(o, "spec.ordinals.start", buf), STS_LABELS(o), NULL);
}

static const struct family sts_families[] = {
    {"kube_statefulset_replicas", "gauge", 1, "Number of desired pods for a StatefulSet.",
     sts_replicas},
    {"kube_statefulset_status_replicas", "gauge", 1, "The number of replicas per StatefulSet.",
     sts_status},
    {"kube_statefulset_status_replicas_available", "gauge", 1,
     "The number of available replicas per StatefulSet.", sts_status},
    {"kube_statefulset_status_replicas_current", "gauge", 1,
     "The number of current replicas per StatefulSet.", sts_status},
    {"kube_statefulset_status_replicas_ready", "gauge", 1,
     "The number of ready replicas per StatefulSet.", sts_status},
    {"kube_statefulset_status_replicas_updated", "gauge", 1,
     "The number of updated replicas per StatefulSet.", sts_status},
    {"kube_statefulset_persistentvolumeclaim_retention_policy", "gauge", 1,
     "Count of retention policy for StatefulSet template PVCs", sts_retention},
    {"kube_statefulset_ordinals_start", "gauge", 1, "Start ordinal of the StatefulSet.",
     sts_ordinals},
};

/* ---- Pods (labels: namespace, pod, uid, ...) ---- */

#define POD_LABELS(o)                                                                              \
	"namespace", jnamespace(o), "pod", jname(o), "uid", jstr_or(o, "metadata.uid", "")

static void pod_phase(struct mctx *m, const char *name, const json_t *o)
{
	static const char *const phases[] = {"Pending", "Succeeded", "Failed", "Unknown",
					     "Running"};
	const char *phase = jstr(o, "status.phase");
	size_t i;
	if (!phase || !*phase)
		return;
	for (i = 0; i < 5; i++)
		sample(m, name, flag(strcmp(phase, phases[i]) == 0), POD_LABELS(o), "phase",
		       phases[i], NULL);
}

/* Both claim families: info (1) or readonly (the mount's readOnly). A generic ephemeral
 * volume's claim is named <pod>-<volume>. */
static void pod_claims(struct mctx *m, const char *name, const json_t *o)
{
	int readonly = strstr(name, "_readonly") != NULL;
	json_t *v;
	size_t i;
	json_array_foreach(jget(o, "spec.volumes"), i, v)
	{
		const char *vol = jstr_or(v, "name", "");
		if (json_is_object(jget(v, "persistentVolumeClaim"))) {
			sample(m, name,
			       readonly ? flag(jbool(v, "persistentVolumeClaim.readOnly", 0)) : "1",
			       POD_LABELS(o), "volume", vol, "persistentvolumeclaim",
			       jstr_or(v, "persistentVolumeClaim.claimName", ""), "ephemeral",
			       "false", NULL);
		} else if (json_is_object(jget(v, "ephemeral"))) {
			char claim[512];
			snprintf(claim, sizeof(claim), "%s-%s", jname(o), vol);
			sample(m, name, readonly ? "0" : "1", POD_LABELS(o), "volume", vol,
			       "persistentvolumeclaim", claim, "ephemeral", "true", NULL);
		}
	}
}

static const struct family pod_families[] = {
    {"kube_pod_status_phase", "gauge", 1, "The pods current phase.", pod_phase},
    {"kube_pod_spec_volumes_persistentvolumeclaims_info", "gauge", 1,
     "Information about persistentvolumeclaim volumes in a pod.", pod_claims},
    {"kube_pod_spec_volumes_persistentvolumeclaims_readonly", "gauge", 1,
     "Describes whether a persistentvolumeclaim is mounted read only.", pod_claims},
};

/* Sorted objects of a built-in kind (*n = 0 when the kind is unknown). */
static struct object **objects_of(struct cluster *cl, const char *kind, size_t *n)
{
	const struct kind *k = cluster_kind(cl, kind);
	struct object *const *objs = k ? store_list(cluster_store(cl), k, NULL, n) : NULL;
	if (!k)
		*n = 0;
	return render_sorted_objects(objs, *n);
}

#define NFAM(a) (sizeof(a) / sizeof((a)[0]))

void render_metrics(struct cluster *cl, struct strbuf *out)
{
	struct mctx m = {cl, out};
	struct object **v;
	char buf[32];
	size_t n;

	v = objects_of(cl, "PersistentVolumeClaim", &n);
	run_families(&m, pvc_families, NFAM(pvc_families), v, n);
	free(v);
	v = objects_of(cl, "PersistentVolume", &n);
	run_families(&m, pv_families, NFAM(pv_families), v, n);
	free(v);
	v = objects_of(cl, "StorageClass", &n);
	run_families(&m, sc_families, NFAM(sc_families), v, n);
	pool_families(&m, v, n);
	free(v);
	v = objects_of(cl, "StatefulSet", &n);
	run_families(&m, sts_families, NFAM(sts_families), v, n);
	free(v);
	v = objects_of(cl, "Pod", &n);
	run_families(&m, pod_families, NFAM(pod_families), v, n);
	free(v);

	static const struct family events = {"claimfs_events_total", "counter", 0,
					     "Events recorded since the daemon started.", NULL};
	header(&m, &events);
	render_prom_int((int64_t)eventlog_last_seq(cluster_events(cl)), buf, sizeof(buf));
	sample(&m, events.name, buf, NULL);
}
