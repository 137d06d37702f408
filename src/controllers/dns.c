/* dns.c - the cluster DNS zone (kubernetes/dns specification, as CoreDNS serves it):
 *
 *   ClusterIP: <svc>.<ns>.svc.cluster.local. 30 IN A <clusterIP>
 *              _<port>._<proto>.<svc>.<ns>.svc.cluster.local. 30 IN SRV 0 100 <port> <svc>...
 *   headless:  <svc>.<ns>.svc.cluster.local. 30 IN A <ip>, one per published endpoint
 *              <host>.<svc>.<ns>.svc.cluster.local. 30 IN A <ip>, per endpoint with a
 *              hostname
 *              _<port>._<proto>.<svc>... 30 IN SRV 0 <100/N> <port> <host>.<svc>..., per
 *              named port and endpoint with a hostname
 *   PTR records for the cluster IP and for endpoints with a hostname, CNAME for
 *   ExternalName Services, and dns-version when the whole zone is rendered.
 *
 * Per-endpoint records exist only for endpoints with a hostname: pods whose spec.hostname
 * is set and whose spec.subdomain names the Service (StatefulSet pods); other pods get
 * only the Service-level A record. Unnamed ports get no SRV records. Output is sorted: Services by
 * namespace and name, endpoints by pod name, so the zone is stable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "workload_internal.h"

#define TTL 30

static int cmp_obj(const void *a, const void *b)
{
	const struct object *x = *(struct object *const *)a, *y = *(struct object *const *)b;
	int c = strcmp(x->ns ? x->ns : "", y->ns ? y->ns : "");
	return c ? c : strcmp(x->name, y->name);
}

/* The hostname the endpoint carries (the EndpointSlice controller sets it only when the
 * pod's spec.hostname is set and its spec.subdomain names the Service), or NULL. */
static const char *endpoint_hostname(const struct object *svc, const struct object *pod)
{
	const char *h = jstr(object_json(pod), "spec.hostname"),
		   *sub = jstr(object_json(pod), "spec.subdomain");
	if (h && *h && sub && strcmp(sub, svc->name) == 0)
		return h;
	return NULL;
}

static void reverse_name(const char *ip, struct strbuf *out)
{
	unsigned a, b, c, d;
	if (sscanf(ip, "%u.%u.%u.%u", &a, &b, &c, &d) == 4)
		sb_addf(out, "%u.%u.%u.%u.in-addr.arpa.", d, c, b, a);
}

static void lower(const char *s, char *buf, size_t len)
{
	size_t i;
	for (i = 0; s[i] && i + 1 < len; i++)
		buf[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	buf[i] = '\0';
}

/* The port a headless SRV record names: the endpoint's (target) port. */
static json_int_t target_port(const json_t *port, const struct object *pod)
{
	json_t *tp = json_object_get(port, "targetPort"), *c, *p;
	size_t i, j;
	if (json_is_integer(tp))
		return json_integer_value(tp);
	if (json_is_string(tp)) {
		json_array_foreach(jget(object_json(pod), "spec.containers"), i, c)
		{
			json_array_foreach(json_object_get(c, "ports"), j, p)
			{
				if (strcmp(jstr_or(p, "name", ""), json_string_value(tp)) == 0)
					return json_integer_value(
					    json_object_get(p, "containerPort"));
			}
		}
	}
	return json_integer_value(json_object_get(port, "port"));
}

static void render_headless(struct cluster *cl, const struct object *svc, const char *base,
			    struct strbuf *out)
{
	size_t n, i, k = 0, named = 0, j;
	struct object *const *pods =
	    store_list(cluster_store(cl), cluster_kind(cl, "Pod"), svc->ns, &n);
	struct object **eps = xcalloc(n + 1, sizeof(*eps));
	char proto[16];
	json_t *port;

	for (i = 0; i < n; i++)
		if (service_publishes(svc, pods[i]))
			eps[k++] = pods[i];
	qsort(eps, k, sizeof(*eps), cmp_obj);
	for (i = 0; i < k; i++) {
		sb_addf(out, "%s %d IN A %s\n", base, TTL,
			jstr(object_json(eps[i]), "status.podIP"));
		if (endpoint_hostname(svc, eps[i]))
			named++;
	}
	for (i = 0; i < k; i++) {
		const char *h = endpoint_hostname(svc, eps[i]);
		if (h)
			sb_addf(out, "%s.%s %d IN A %s\n", h, base, TTL,
				jstr(object_json(eps[i]), "status.podIP"));
	}
	json_array_foreach(jget(object_json(svc), "spec.ports"), j, port)
	{
		const char *pn = jstr(port, "name");
		if (!pn || !*pn)
			continue;
		lower(jstr_or(port, "protocol", "TCP"), proto, sizeof(proto));
		for (i = 0; i < k; i++) {
			const char *h = endpoint_hostname(svc, eps[i]);
			if (!h)
				continue;
			sb_addf(out, "_%s._%s.%s %d IN SRV 0 %zu %lld %s.%s\n", pn, proto, base,
				TTL, 100 / named, (long long)target_port(port, eps[i]), h, base);
		}
	}
	for (i = 0; i < k; i++) {
		const char *h = endpoint_hostname(svc, eps[i]);
		if (!h)
			continue;
		reverse_name(jstr(object_json(eps[i]), "status.podIP"), out);
		sb_addf(out, " %d IN PTR %s.%s\n", TTL, h, base);
	}
	free(eps);
}

static void render_cluster_ip(const struct object *svc, const char *base, struct strbuf *out)
{
	const char *ip = jstr(object_json(svc), "spec.clusterIP");
	char proto[16];
	json_t *port;
	size_t j;
	if (!ip || !*ip)
		return;
	sb_addf(out, "%s %d IN A %s\n", base, TTL, ip);
	json_array_foreach(jget(object_json(svc), "spec.ports"), j, port)
	{
		const char *pn = jstr(port, "name");
		if (!pn || !*pn)
			continue;
		lower(jstr_or(port, "protocol", "TCP"), proto, sizeof(proto));
		sb_addf(out, "_%s._%s.%s %d IN SRV 0 100 %lld %s\n", pn, proto, base, TTL,
			(long long)json_integer_value(json_object_get(port, "port")), base);
	}
	reverse_name(ip, out);
	sb_addf(out, " %d IN PTR %s\n", TTL, base);
}

static void render_service(struct cluster *cl, const struct object *svc, struct strbuf *out)
{
	char base[512];
	snprintf(base, sizeof(base), "%s.%s.svc.%s.", svc->name, svc->ns ? svc->ns : "",
		 CLUSTER_DOMAIN);
	if (strcmp(jstr_or(object_json(svc), "spec.type", "ClusterIP"), "ExternalName") == 0) {
		const char *ext = jstr_or(object_json(svc), "spec.externalName", "");
		size_t l = strlen(ext);
		sb_addf(out, "%s %d IN CNAME %s%s\n", base, TTL, ext,
			l && ext[l - 1] == '.' ? "" : ".");
		return;
	}
	if (service_is_headless(svc))
		render_headless(cl, svc, base, out);
	else
		render_cluster_ip(svc, base, out);
}

void dns_render(struct cluster *cl, const struct object *svc, struct strbuf *out)
{
	size_t n, i;
	if (svc) {
		render_service(cl, svc, out);
		return;
	}
	sb_addf(out, "dns-version.%s. %d IN TXT \"1.0.1\"\n", CLUSTER_DOMAIN, TTL);
	const struct kind *k = cluster_kind(cl, "Service");
	if (!k)
		return;
	struct object *const *list = store_list(cluster_store(cl), k, NULL, &n);
	struct object **svcs = xcalloc(n + 1, sizeof(*svcs));
	if (n) { /* store_list gives NULL for none: memcpy/qsort must not see it */
		memcpy(svcs, list, n * sizeof(*svcs));
		qsort(svcs, n, sizeof(*svcs), cmp_obj);
	}
	for (i = 0; i < n; i++)
		render_service(cl, svcs[i], out);
	free(svcs);
}
