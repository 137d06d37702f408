/* render_rows.c - kubectl's column sets and row printers (pkg/printers/internalversion/
 * printers.go) for every kind claimfs knows: claims, volumes, classes, StatefulSets,
 * Deployments, ReplicaSets, Services, Nodes, Namespaces, ConfigMaps, Secrets,
 * PriorityClasses and ServiceAccounts; any other kind gets NAME and AGE, as kubectl shows
 * a kind without printer columns.
 * Headers are the column names in upper case; the -o wide (Priority 1) columns come last.
 * Cost: O(1) per cell except label and selector cells (O(k log k) in their keys). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/error.h"
#include "claimfs/jsonutil.h"
#include "render_internal.h"

#define ANN_BETA_CLASS "volume.beta.kubernetes.io/storage-class"

static int64_t int_or(const json_t *obj, const char *path, int64_t dflt)
{
	int64_t v = dflt;
	jint(obj, path, &v);
	return v;
}

/* A *string field: its value, or "<unset>" when nil. */
static const char *unset_if_nil(const json_t *obj, const char *path)
{
	const char *s = jstr(obj, path);
	return s ? s : "<unset>";
}

/* helper.GetPersistentVolume(Claim)Class: the beta annotation wins. */
static const char *volume_class(const json_t *obj)
{
	json_t *ann = jget(obj, "metadata.annotations");
	if (json_is_string(json_object_get(ann, ANN_BETA_CLASS)))
		return json_string_value(json_object_get(ann, ANN_BETA_CLASS));
	return jstr_or(obj, "spec.storageClassName", "");
}

static const char *phase_or_terminating(const json_t *obj)
{
	return jis_deleting(obj) ? "Terminating" : jstr_or(obj, "status.phase", "");
}

static void row_pvc(struct table *t, const json_t *o)
{
	const char *vol = jstr_or(o, "spec.volumeName", "");
	char cap[QTY_STR_MAX] = "", modes[32] = "";

	if (*vol) {
		render_quantity_cell(jget(o, "status.capacity.storage"), cap, sizeof(cap));
		render_access_modes(jget(o, "status.accessModes"), modes, sizeof(modes));
	}
	render_cell(t, jname(o));
	render_cell(t, phase_or_terminating(o));
	render_cell(t, vol);
	render_cell(t, cap);
	render_cell(t, modes);
	render_cell(t, volume_class(o));
	render_cell(t, unset_if_nil(o, "spec.volumeAttributesClassName"));
	render_cell_age(t, o);
	render_cell(t, unset_if_nil(o, "spec.volumeMode"));
}

static void row_pv(struct table *t, const json_t *o)
{
	char cap[QTY_STR_MAX], modes[32];
	json_t *ref = jget(o, "spec.claimRef");

	render_quantity_cell(jget(o, "spec.capacity.storage"), cap, sizeof(cap));
	render_access_modes(jget(o, "spec.accessModes"), modes, sizeof(modes));
	render_cell(t, jname(o));
	render_cell(t, cap);
	render_cell(t, modes);
	render_cell(t, jstr_or(o, "spec.persistentVolumeReclaimPolicy", ""));
	render_cell(t, phase_or_terminating(o));
	if (json_is_object(ref))
		render_cellf(t, "%s/%s", jstr_or(ref, "namespace", ""), jstr_or(ref, "name", ""));
	else
		render_cell(t, "");
	render_cell(t, volume_class(o));
	render_cell(t, unset_if_nil(o, "spec.volumeAttributesClassName"));
	render_cell(t, jstr_or(o, "status.reason", ""));
	render_cell_age(t, o);
	render_cell(t, unset_if_nil(o, "spec.volumeMode"));
}

/* storageutil.IsDefaultAnnotation: every class so annotated is marked, as kubectl does. */
static int is_default_class(const json_t *o)
{
	return strcmp(jannotation(o, "storageclass.kubernetes.io/is-default-class") ?: "",
		      "true") == 0 ||
	       strcmp(jannotation(o, "storageclass.beta.kubernetes.io/is-default-class") ?: "",
		      "true") == 0;
}

static void row_storageclass(struct table *t, const json_t *o)
{
	render_cellf(t, "%s%s", jname(o), is_default_class(o) ? " (default)" : "");
	render_cell(t, jstr_or(o, "provisioner", ""));
	render_cell(t, jstr_or(o, "reclaimPolicy", "Delete"));
	render_cell(t, jstr_or(o, "volumeBindingMode", "Immediate"));
	render_cell(t, jbool(o, "allowVolumeExpansion", 0) ? "true" : "false");
	render_cell_age(t, o);
}

/* layoutContainerCells: names and images, comma-joined. */
static void container_cells(struct table *t, const json_t *containers)
{
	struct strbuf names = STRBUF_INIT, images = STRBUF_INIT;
	json_t *c;
	size_t i;
	json_array_foreach(containers, i, c)
	{
		sb_addf(&names, "%s%s", i ? "," : "", jstr_or(c, "name", ""));
		sb_addf(&images, "%s%s", i ? "," : "", jstr_or(c, "image", ""));
	}
	render_cell(t, sb_str(&names));
	render_cell(t, sb_str(&images));
	sb_release(&names);
	sb_release(&images);
}

static void row_statefulset(struct table *t, const json_t *o)
{
	render_cell(t, jname(o));
	render_cellf(t, "%lld/%lld", (long long)int_or(o, "status.readyReplicas", 0),
		     (long long)int_or(o, "spec.replicas", 1));
	render_cell_age(t, o);
	container_cells(t, jget(o, "spec.template.spec.containers"));
}

static void row_deployment(struct table *t, const json_t *o)
{
	struct strbuf sel = STRBUF_INIT;

	render_cell(t, jname(o));
	render_cellf(t, "%lld/%lld", (long long)int_or(o, "status.readyReplicas", 0),
		     (long long)int_or(o, "spec.replicas", 1));
	render_cellf(t, "%lld", (long long)int_or(o, "status.updatedReplicas", 0));
	render_cellf(t, "%lld", (long long)int_or(o, "status.availableReplicas", 0));
	render_cell_age(t, o);
	container_cells(t, jget(o, "spec.template.spec.containers"));
	if (render_format_selector(jget(o, "spec.selector"), &sel) < 0)
		sb_adds(&sel, "<invalid>");
	render_cell(t, sb_str(&sel));
	sb_release(&sel);
}

static void row_replicaset(struct table *t, const json_t *o)
{
	struct strbuf sel = STRBUF_INIT;

	render_cell(t, jname(o));
	render_cellf(t, "%lld", (long long)int_or(o, "spec.replicas", 1));
	render_cellf(t, "%lld", (long long)int_or(o, "status.replicas", 0));
	render_cellf(t, "%lld", (long long)int_or(o, "status.readyReplicas", 0));
	render_cell_age(t, o);
	container_cells(t, jget(o, "spec.template.spec.containers"));
	/* metav1.FormatLabelSelector */
	if (render_format_selector(jget(o, "spec.selector"), &sel) < 0)
		sb_adds(&sel, "<error>");
	else if (sel.len == 0)
		sb_adds(&sel, "<none>");
	render_cell(t, sb_str(&sel));
	sb_release(&sel);
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Appends the sorted, de-duplicated strings (a sets.String's List()) joined by ",". */
static void join_set(const char **v, size_t n, struct strbuf *out)
{
	size_t i, w = 0;
	qsort(v, n, sizeof(*v), cmp_cstr);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
			continue;
		sb_addf(out, "%s%s", w++ ? "," : "", v[i]);
	}
}

/* getServiceExternalIP */
static void external_ip(const json_t *svc, int wide, struct strbuf *out)
{
	const char *type = jstr_or(svc, "spec.type", "");
	json_t *ext = jget(svc, "spec.externalIPs"), *v;
	size_t i, n = 0;

	if (strcmp(type, "ClusterIP") == 0 || strcmp(type, "NodePort") == 0) {
		json_array_foreach(ext, i, v)
		    sb_addf(out, "%s%s", i ? "," : "", json_string_value(v) ?: "");
		if (out->len == 0)
			sb_adds(out, "<none>");
	} else if (strcmp(type, "LoadBalancer") == 0) {
		json_t *ing = jget(svc, "status.loadBalancer.ingress");
		const char **lb = xcalloc(json_array_size(ing) + 1, sizeof(*lb));
		struct strbuf ips = STRBUF_INIT;
		json_array_foreach(ing, i, v)
		{
			if (*jstr_or(v, "ip", ""))
				lb[n++] = jstr(v, "ip");
			else if (*jstr_or(v, "hostname", ""))
				lb[n++] = jstr(v, "hostname");
		}
		join_set(lb, n, &ips);
		free(lb);
		if (!wide && ips.len > 16) { /* loadBalancerWidth */
			ips.len = 13;
			ips.buf[13] = '\0';
			sb_adds(&ips, "...");
		}
		sb_adds(out, sb_str(&ips));
		json_array_foreach(ext, i, v)
		    sb_addf(out, "%s%s", out->len ? "," : "", json_string_value(v) ?: "");
		if (out->len == 0)
			sb_adds(out, "<pending>");
		sb_release(&ips);
	} else if (strcmp(type, "ExternalName") == 0) {
		sb_adds(out, jstr_or(svc, "spec.externalName", ""));
	} else {
		sb_adds(out, "<unknown>");
	}
}

static void row_service(struct table *t, const json_t *o)
{
	struct strbuf ext = STRBUF_INIT, ports = STRBUF_INIT, sel = STRBUF_INIT;
	json_t *p;
	size_t i;

	external_ip(o, t->wide, &ext);
	json_array_foreach(jget(o, "spec.ports"), i, p)
	{
		int64_t np = int_or(p, "nodePort", 0);
		sb_addf(&ports, "%s%lld", i ? "," : "", (long long)int_or(p, "port", 0));
		if (np > 0)
			sb_addf(&ports, ":%lld", (long long)np);
		sb_addf(&ports, "/%s", jstr_or(p, "protocol", "TCP"));
	}
	render_cell(t, jname(o));
	render_cell(t, jstr_or(o, "spec.type", ""));
	render_cell(t,
		    json_string_value(json_array_get(jget(o, "spec.clusterIPs"), 0)) ?: "<none>");
	render_cell(t, sb_str(&ext));
	render_cell(t, ports.len ? sb_str(&ports) : "<none>");
	render_cell_age(t, o);
	render_format_labels(jget(o, "spec.selector"), &sel);
	render_cell(t, sb_str(&sel));
	sb_release(&ext);
	sb_release(&ports);
	sb_release(&sel);
}

static const char *node_address(const json_t *node, const char *type)
{
	json_t *a;
	size_t i;
	json_array_foreach(jget(node, "status.addresses"), i, a)
	{
		if (strcmp(jstr_or(a, "type", ""), type) == 0)
			return jstr_or(a, "address", "");
	}
	return "<none>";
}

static const char *unknown_if_empty(const char *s)
{
	return s && *s ? s : "<unknown>";
}

static void row_node(struct table *t, const json_t *o)
{
	struct strbuf status = STRBUF_INIT, roles = STRBUF_INIT;
	json_t *labels = jget(o, "metadata.labels"), *c, *v;
	const char **r = xcalloc(json_object_size(labels) + 1, sizeof(*r));
	const char *k, *pfx = "node-role.kubernetes.io/";
	size_t i, n = 0;

	json_array_foreach(jget(o, "status.conditions"), i, c)
	{
		if (strcmp(jstr_or(c, "type", ""), "Ready") == 0) {
			sb_adds(&status, strcmp(jstr_or(c, "status", ""), "True") == 0
					     ? "Ready"
					     : "NotReady");
			break;
		}
	}
	if (status.len == 0)
		sb_adds(&status, "Unknown");
	if (jbool(o, "spec.unschedulable", 0))
		sb_adds(&status, ",SchedulingDisabled");
	json_object_foreach(labels, k, v)
	{
		if (strncmp(k, pfx, strlen(pfx)) == 0 && k[strlen(pfx)])
			r[n++] = k + strlen(pfx);
		else if (strcmp(k, "kubernetes.io/role") == 0 && *(json_string_value(v) ?: ""))
			r[n++] = json_string_value(v);
	}
	join_set(r, n, &roles);
	free(r);
	render_cell(t, jname(o));
	render_cell(t, sb_str(&status));
	render_cell(t, roles.len ? sb_str(&roles) : "<none>");
	render_cell_age(t, o);
	render_cell(t, jstr_or(o, "status.nodeInfo.kubeletVersion", ""));
	render_cell(t, node_address(o, "InternalIP"));
	render_cell(t, node_address(o, "ExternalIP"));
	render_cell(t, unknown_if_empty(jstr(o, "status.nodeInfo.osImage")));
	render_cell(t, unknown_if_empty(jstr(o, "status.nodeInfo.kernelVersion")));
	render_cell(t, unknown_if_empty(jstr(o, "status.nodeInfo.containerRuntimeVersion")));
	sb_release(&status);
	sb_release(&roles);
}

static void row_namespace(struct table *t, const json_t *o)
{
	render_cell(t, jname(o));
	render_cell(t, jstr_or(o, "status.phase", ""));
	render_cell_age(t, o);
}

static void row_configmap(struct table *t, const json_t *o)
{
	render_cell(t, jname(o));
	render_cellf(t, "%zu",
		     json_object_size(jget(o, "data")) + json_object_size(jget(o, "binaryData")));
	render_cell_age(t, o);
}

/* The API server folds stringData into data; count a key once. */
static void row_secret(struct table *t, const json_t *o)
{
	json_t *data = jget(o, "data"), *v;
	size_t n = json_object_size(data);
	const char *k;

	json_object_foreach(jget(o, "stringData"), k, v)
	{
		if (!json_object_get(data, k))
			n++;
	}
	render_cell(t, jname(o));
	render_cell(t, jstr_or(o, "type", "Opaque"));
	render_cellf(t, "%zu", n);
	render_cell_age(t, o);
}

/* The API server defaults preemptionPolicy; kubectl prints what it stored. */
static void row_priorityclass(struct table *t, const json_t *o)
{
	render_cell(t, jname(o));
	render_cellf(t, "%lld", (long long)int_or(o, "value", 0));
	render_cell(t, json_is_true(jget(o, "globalDefault")) ? "true" : "false");
	render_cell_age(t, o);
	render_cell(t, jstr_or(o, "preemptionPolicy", "PreemptLowerPriority"));
}

static void row_serviceaccount(struct table *t, const json_t *o)
{
	render_cell(t, jname(o));
	render_cellf(t, "%zu", json_array_size(jget(o, "secrets")));
	render_cell_age(t, o);
}

static void row_default(struct table *t, const json_t *o)
{
	render_cell(t, jname(o));
	render_cell_age(t, o);
}

static const char *const pvc_cols[] = {"NAME",
				       "STATUS",
				       "VOLUME",
				       "CAPACITY",
				       "ACCESS MODES",
				       "STORAGECLASS",
				       "VOLUMEATTRIBUTESCLASS",
				       "AGE",
				       "VOLUMEMODE"};
static const char *const pv_cols[] = {"NAME",	"CAPACITY", "ACCESS MODES", "RECLAIM POLICY",
				      "STATUS", "CLAIM",    "STORAGECLASS", "VOLUMEATTRIBUTESCLASS",
				      "REASON", "AGE",	    "VOLUMEMODE"};
static const char *const sc_cols[] = {
    "NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"};
static const char *const sts_cols[] = {"NAME", "READY", "AGE", "CONTAINERS", "IMAGES"};
static const char *const deploy_cols[] = {"NAME", "READY",	"UP-TO-DATE", "AVAILABLE",
					  "AGE",  "CONTAINERS", "IMAGES",     "SELECTOR"};
static const char *const rs_cols[] = {"NAME", "DESIRED",    "CURRENT", "READY",
				      "AGE",  "CONTAINERS", "IMAGES",  "SELECTOR"};
static const char *const pod_cols[] = {"NAME", "READY", "STATUS",	  "RESTARTS",	    "AGE",
				       "IP",   "NODE",	"NOMINATED NODE", "READINESS GATES"};
static const char *const svc_cols[] = {"NAME",	  "TYPE", "CLUSTER-IP", "EXTERNAL-IP",
				       "PORT(S)", "AGE",  "SELECTOR"};
static const char *const node_cols[] = {
    "NAME",	      "STATUS",		  "ROLES",	 "AGE",
    "VERSION",	      "INTERNAL-IP",	  "EXTERNAL-IP", "OS-IMAGE",
    "KERNEL-VERSION", "CONTAINER-RUNTIME"};
static const char *const ns_cols[] = {"NAME", "STATUS", "AGE"};
static const char *const cm_cols[] = {"NAME", "DATA", "AGE"};
static const char *const secret_cols[] = {"NAME", "TYPE", "DATA", "AGE"};
static const char *const pc_cols[] = {"NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"};
static const char *const sa_cols[] = {"NAME", "SECRETS", "AGE"};
static const char *const default_cols[] = {"NAME", "AGE"};

static const struct table_kind kinds[] = {
    {"PersistentVolumeClaim", pvc_cols, 8, 9, row_pvc},
    {"PersistentVolume", pv_cols, 10, 11, row_pv},
    {"StorageClass", sc_cols, 6, 6, row_storageclass},
    {"StatefulSet", sts_cols, 3, 5, row_statefulset},
    {"Deployment", deploy_cols, 5, 8, row_deployment},
    {"ReplicaSet", rs_cols, 5, 8, row_replicaset},
    {"Pod", pod_cols, 5, 9, render_row_pod},
    {"Service", svc_cols, 6, 7, row_service},
    {"Node", node_cols, 5, 10, row_node},
    {"Namespace", ns_cols, 3, 3, row_namespace},
    {"ConfigMap", cm_cols, 3, 3, row_configmap},
    {"Secret", secret_cols, 4, 4, row_secret},
    {"PriorityClass", pc_cols, 5, 5, row_priorityclass},
    {"ServiceAccount", sa_cols, 3, 3, row_serviceaccount},
};
static const struct table_kind default_kind = {NULL, default_cols, 2, 2, row_default};

const struct table_kind *render_table_kind(const char *kind)
{
	size_t i;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			return &kinds[i];
	return &default_kind;
}
