/* service.c - Services: admission (type, ports with names/protocols/targetPorts,
 * headless "None" or a stable cluster IP from 10.96.0.0/16, immutable once set) and the
 * read side the tree shows: which pods a Service publishes (its endpoints), and pod
 * FQDNs under a headless Service. Endpoints are computed when read, as the EndpointSlice
 * controller would keep them: pods of the namespace matching the selector, with an IP,
 * Ready, or any when publishNotReadyAddresses (or the tolerate-unready annotation). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "claimfs/names.h"
#include "claimfs/fnv.h"
#include "workload_internal.h"

static int headless(const json_t *svc)
{
	const char *ip = jstr(svc, "spec.clusterIP");
	return ip && strcmp(ip, "None") == 0;
}

int service_is_headless(const struct object *svc)
{
	return headless(object_json(svc));
}

int service_publishes(const struct object *svc, const struct object *pod)
{
	if (!svc->ns || !pod->ns || strcmp(svc->ns, pod->ns) != 0 || jis_deleting(object_json(pod)))
		return 0;
	if (!jstr(object_json(pod), "status.podIP"))
		return 0;
	if (!jmap_selector_matches(jget(object_json(svc), "spec.selector"),
				   jget(object_json(pod), "metadata.labels")))
		return 0;
	const char *phase = jstr_or(object_json(pod), "status.phase", "");
	if (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0)
		return 0;
	if (pod_is_ready(pod))
		return 1;
	const char *tol = jannotation(object_json(svc), ANN_TOLERATE_UNREADY);
	return jbool(object_json(svc), "spec.publishNotReadyAddresses", 0) ||
	       (tol && strcmp(tol, "true") == 0);
}

static int cmp_obj(const void *a, const void *b)
{
	return strcmp((*(struct object *const *)a)->name, (*(struct object *const *)b)->name);
}

void service_endpoints(struct cluster *cl, const struct object *svc, struct strbuf *out)
{
	size_t n, i, k = 0;
	struct object *const *pods =
	    store_list(cluster_store(cl), cluster_kind(cl, "Pod"), svc->ns, &n);
	struct object **eps = xcalloc(n + 1, sizeof(*eps));
	for (i = 0; i < n; i++)
		if (service_publishes(svc, pods[i]))
			eps[k++] = pods[i];
	qsort(eps, k, sizeof(*eps), cmp_obj);
	for (i = 0; i < k; i++)
		sb_addf(out, "%s %s\n", jstr(object_json(eps[i]), "status.podIP"), eps[i]->name);
	free(eps);
}

int pod_fqdn(struct cluster *cl, const struct object *pod, struct strbuf *out)
{
	const char *sub = jstr(object_json(pod), "spec.subdomain");
	if (!sub || !*sub || !pod->ns)
		return -ENOENT;
	struct object *svc =
	    store_get(cluster_store(cl), cluster_kind(cl, "Service"), pod->ns, sub);
	if (!svc || !service_is_headless(svc))
		return -ENOENT;
	sb_addf(out, "%s.%s.%s.svc.%s", jstr_or(object_json(pod), "spec.hostname", pod->name), sub,
		pod->ns, CLUSTER_DOMAIN);
	return 0;
}

/* ---- admission ---- */

static uint32_t fnv(const char *a, const char *b)
{
	return fnv32_add(fnv32_add(fnv32_add(FNV32_BASIS, a), "/"), b);
}

static int ip_taken(struct cluster *cl, const json_t *self, const char *ip)
{
	size_t n, i;
	struct object *const *svcs =
	    store_list(cluster_store(cl), cluster_kind(cl, "Service"), NULL, &n);
	if (strcmp(ip, "10.96.0.1") == 0 || strcmp(ip, "10.96.0.10") == 0)
		return 1; /* the kubernetes and kube-dns Services of a real cluster */
	for (i = 0; i < n; i++) {
		const char *other = jstr(object_json(svcs[i]), "spec.clusterIP");
		if (other && strcmp(other, ip) == 0 &&
		    !(strcmp(svcs[i]->name, jstr_or(self, "metadata.name", "")) == 0 &&
		      strcmp(svcs[i]->ns, jstr_or(self, "metadata.namespace", "")) == 0))
			return 1;
	}
	return 0;
}

/* A stable address: hashed from namespace/name, probing for a free one. */
static void allocate_ip(struct cluster *cl, json_t *obj, char *ip, size_t len)
{
	uint32_t slot =
	    fnv(jstr_or(obj, "metadata.namespace", ""), jstr_or(obj, "metadata.name", "")) %
	    (256u * 254u);
	uint32_t i;
	for (i = 0; i < 256u * 254u; i++) {
		uint32_t s = (slot + i) % (256u * 254u);
		snprintf(ip, len, "10.96.%u.%u", s / 254u, s % 254u + 1);
		if (!ip_taken(cl, obj, ip))
			return;
	}
}

static int parse_ipv4(const char *s, unsigned o[4])
{
	char tail;
	return sscanf(s, "%u.%u.%u.%u%c", &o[0], &o[1], &o[2], &o[3], &tail) == 4 && o[0] < 256 &&
	       o[1] < 256 && o[2] < 256 && o[3] < 256;
}

static int check_cluster_ip(struct cluster *cl, const struct manifest *m, json_t *obj,
			    const struct object *old, struct cfs_err *err)
{
	json_t *jip = jget(obj, "spec.clusterIP");
	const char *ip = json_string_value(jip);
	const char *was = old ? jstr(object_json(old), "spec.clusterIP") : NULL;
	char buf[32];
	unsigned o[4];

	int rc = manifest_check_type(m, obj, "spec.clusterIP", JSON_STRING, err);
	if (rc < 0)
		return rc;
	if (was && (!ip || !*ip)) {
		jset_str(obj, "spec.clusterIP", was);
		ip = was;
	}
	if (was && strcmp(was, ip) != 0)
		return manifest_errorf(
		    m, jip, err, -EINVAL,
		    "spec.clusterIPs[0]: Invalid value: \"%s\": may not change once set",
		    MQUOTE(ip));
	if (!ip || !*ip) {
		allocate_ip(cl, obj, buf, sizeof(buf));
		jset_str(obj, "spec.clusterIP", buf);
		ip = jstr(obj, "spec.clusterIP");
	} else if (strcmp(ip, "None") != 0 && !was) {
		if (!parse_ipv4(ip, o))
			return manifest_errorf(
			    m, jip, err, -EINVAL,
			    "spec.clusterIPs[0]: Invalid value: \"%s\": must be a valid IP "
			    "address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
			    MQUOTE(ip));
		if (o[0] != 10 || (o[1] & 0xf0) != 96)
			return manifest_errorf(
			    m, jip, err, -EINVAL,
			    "spec.clusterIPs: Invalid value: []string{\"%s\"}: failed to "
			    "allocate IP %s: the provided IP (%s) is not in the valid "
			    "range. The range of valid IPs is 10.96.0.0/12",
			    ip, ip, ip);
		if (ip_taken(cl, obj, ip))
			return manifest_errorf(
			    m, jip, err, -EINVAL,
			    "spec.clusterIPs: Invalid value: []string{\"%s\"}: failed to "
			    "allocate IP %s: provided IP is already allocated",
			    ip, ip);
	}
	jset(obj, "spec.clusterIPs", json_pack("[s]", ip));
	return 0;
}

static int check_ports(const struct manifest *m, json_t *obj, int required, struct cfs_err *err)
{
	json_t *ports = jget(obj, "spec.ports"), *p, *seen;
	size_t i, n = json_array_size(ports);
	struct cfs_err e;
	int rc = 0;

	if ((rc = manifest_check_type(m, obj, "spec.ports", JSON_ARRAY, err)) < 0)
		return rc;
	if (required && n == 0)
		return manifest_member_errorf(m, json_object_get(obj, "spec"), "ports", err,
					      -EINVAL, "spec.ports: Required value");
	seen = json_object();
	json_array_foreach(ports, i, p)
	{
		json_t *port = json_object_get(p, "port");
		const char *name = jstr(p, "name"), *proto;
		if (!json_is_object(p)) {
			rc = manifest_errorf(m, p, err, -EINVAL,
					     "spec.ports[%zu]: Invalid value: must be a map", i);
			break;
		}
		if (n > 1 && (!name || !*name)) {
			rc = manifest_errorf(m, p, err, -EINVAL,
					     "spec.ports[%zu].name: Required value", i);
			break;
		}
		if (name && *name && name_check_label(name, &e) < 0) {
			rc = manifest_errorf(m, json_object_get(p, "name"), err, -EINVAL,
					     "spec.ports[%zu].name: Invalid value: \"%s\": %s", i,
					     MQUOTE(name), e.msg);
			break;
		}
		if (name && *name && json_object_get(seen, name)) {
			rc = manifest_errorf(m, json_object_get(p, "name"), err, -EINVAL,
					     "spec.ports[%zu].name: Duplicate value: \"%s\"", i,
					     name);
			break;
		}
		if (name)
			json_object_set_new(seen, name, json_true());
		if (!port) {
			rc = manifest_errorf(m, p, err, -EINVAL,
					     "spec.ports[%zu].port: Required value", i);
			break;
		}
		if (!json_is_integer(port)) {
			rc = manifest_member_errorf(m, p, "port", err, -EINVAL,
						    "spec.ports[%zu].port: Invalid value: must be "
						    "an integer between 1 and 65535",
						    i);
			break;
		}
		if (json_integer_value(port) < 1 || json_integer_value(port) > 65535) {
			rc = manifest_errorf(
			    m, port, err, -EINVAL,
			    "spec.ports[%zu].port: Invalid value: %lld: must be between 1 "
			    "and 65535, inclusive",
			    i, (long long)json_integer_value(port));
			break;
		}
		if (!jget(p, "protocol"))
			jset_str(p, "protocol", "TCP");
		proto = jstr(p, "protocol");
		if (!proto ||
		    (strcmp(proto, "TCP") && strcmp(proto, "UDP") && strcmp(proto, "SCTP"))) {
			rc = manifest_errorf(
			    m, json_object_get(p, "protocol"), err, -EINVAL,
			    "spec.ports[%zu].protocol: Unsupported value: \"%s\": supported "
			    "values: \"SCTP\", \"TCP\", \"UDP\"",
			    i, MQUOTE(proto));
			break;
		}
		if (!jget(p, "targetPort"))
			jset(p, "targetPort", json_integer(json_integer_value(port)));
	}
	json_decref(seen);
	return rc;
}

/* NodePort and LoadBalancer Services get a node port from 30000-32767. */
static void allocate_node_ports(struct cluster *cl, json_t *obj)
{
	size_t n, i, j, k;
	struct object *const *svcs =
	    store_list(cluster_store(cl), cluster_kind(cl, "Service"), NULL, &n);
	json_t *p;
	json_array_foreach(jget(obj, "spec.ports"), i, p)
	{
		if (jget(p, "nodePort"))
			continue;
		uint32_t start =
		    fnv(jstr_or(obj, "metadata.name", ""), jstr_or(p, "name", "")) % 2768u;
		for (k = 0; k < 2768; k++) {
			int port = 30000 + (int)((start + k) % 2768u), used = 0;
			json_t *q;
			for (j = 0; j < n && !used; j++) {
				size_t l;
				json_array_foreach(jget(object_json(svcs[j]), "spec.ports"), l, q)
				{
					if (json_integer_value(json_object_get(q, "nodePort")) ==
					    port)
						used = 1;
				}
			}
			if (!used) {
				jset(p, "nodePort", json_integer(port));
				break;
			}
		}
	}
}

static int service_admit(struct cluster *cl, const struct manifest *m, json_t *doc, json_t *obj,
			 const struct object *old, struct cfs_err *err)
{
	json_t *spec, *jt;
	const char *type;
	int rc;

	/* jobj would replace a wrong-typed spec by an empty one: the type first. */
	if ((rc = manifest_check_type(m, obj, "spec", JSON_OBJECT, err)) < 0 ||
	    (rc = manifest_check_type(m, obj, "spec.type", JSON_STRING, err)) < 0 ||
	    (rc = manifest_check_type(m, obj, "spec.publishNotReadyAddresses", JSON_TRUE, err)) < 0)
		return rc;
	spec = jobj(obj, "spec");
	jt = json_object_get(spec, "type");
	if (!jt || json_is_null(jt))
		jset_str(spec, "type", "ClusterIP");
	type = jstr(spec, "type");
	if (!type || (strcmp(type, "ClusterIP") && strcmp(type, "NodePort") &&
		      strcmp(type, "LoadBalancer") && strcmp(type, "ExternalName")))
		return manifest_errorf(
		    m, jt, err, -EINVAL,
		    "spec.type: Unsupported value: \"%s\": supported values: "
		    "\"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
		    MQUOTE(type));
	json_t *sel = json_object_get(spec, "selector"), *v;
	const char *k;
	if (sel && !json_is_null(sel)) {
		if (!json_is_object(sel))
			return manifest_member_errorf(
			    m, spec, "selector", err, -EINVAL,
			    "spec.selector: Invalid value: must be a map of strings");
		json_object_foreach(sel, k, v)
		{
			if (!json_is_string(v))
				return manifest_member_errorf(
				    m, sel, k, err, -EINVAL,
				    "spec.selector[%s]: Invalid value: must be a string "
				    "(quote it)",
				    MQUOTE(k));
		}
	}
	if (strcmp(type, "ExternalName") == 0) {
		if (!jstr(spec, "externalName") || !*jstr(spec, "externalName"))
			return manifest_errorf(m, spec, err, -EINVAL,
					       "spec.externalName: Required value");
		return check_ports(m, obj, 0, err);
	}
	if (!jget(spec, "sessionAffinity"))
		jset_str(spec, "sessionAffinity", "None");
	if (!jget(spec, "internalTrafficPolicy"))
		jset_str(spec, "internalTrafficPolicy", "Cluster");
	if (!jget(spec, "ipFamilies"))
		jset(spec, "ipFamilies", json_pack("[s]", "IPv4"));
	if (!jget(spec, "ipFamilyPolicy"))
		jset_str(spec, "ipFamilyPolicy", "SingleStack");
	rc = check_cluster_ip(cl, m, obj, old, err);
	if (rc == 0)
		rc = check_ports(m, obj, !headless(obj), err);
	if (rc < 0)
		return rc;
	if (headless(obj) && strcmp(type, "ClusterIP") != 0)
		return manifest_errorf(
		    m, jget(obj, "spec.clusterIP"), err, -EINVAL,
		    "spec.clusterIPs[0]: Invalid value: \"None\": may only be set to "
		    "\"None\" for ClusterIP services");
	if (strcmp(type, "NodePort") == 0 || strcmp(type, "LoadBalancer") == 0)
		allocate_node_ports(cl, obj);
	if (!old && !jget(obj, "status.loadBalancer"))
		jset(obj, "status.loadBalancer", json_object());
	return 0;
}

const struct kind_ops service_ops = {
    .admit = service_admit,
};
