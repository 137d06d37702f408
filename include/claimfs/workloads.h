/* workloads.h - read-side helpers of the workload controllers that the tree shows:
 * pod DNS names, Service endpoints, the /dns zone, StatefulSet ordinals.
 * All LOCKED (the caller holds the cluster lock); results go into caller buffers. */
#ifndef CLAIMFS_WORKLOADS_H
#define CLAIMFS_WORKLOADS_H

#include <stdint.h>
#include "claimfs/cluster.h"
#include "claimfs/strbuf.h"

#define CLUSTER_DOMAIN "cluster.local"

/* "<hostname>.<subdomain>.<ns>.svc.cluster.local" when the pod has a subdomain naming an
 * existing headless Service in its namespace; returns 0 and appends it, else -ENOENT. */
int pod_fqdn(struct cluster *cl, const struct object *pod, struct strbuf *out);
/* The claim a pod volume uses: persistentVolumeClaim.claimName, or the claim Kubernetes
 * makes for a generic ephemeral volume, "<pod>-<volume>" (written into buf, which holds
 * POD_CLAIM_MAX bytes); NULL for any other volume. The result is borrowed from the
 * volume or is buf. */
#define POD_CLAIM_MAX 320
const char *pod_volume_claim(const json_t *pod, const json_t *volume, char *buf);
/* Is the pod Running with condition Ready true? */
int pod_is_ready(const struct object *pod);
/* The StatefulSet ordinal of a pod its StatefulSet controls ("web-2" -> 2), or -1. */
int64_t pod_ordinal(const struct object *pod);
/* Is the node's condition Ready "True"? */
int node_is_ready(const struct object *node);
/* Is the Service headless (clusterIP None)? */
int service_is_headless(const struct object *svc);
/* Appends "<ip> <pod>\n" per endpoint of the Service (ready pods matching its selector,
 * or all matching pods with an IP when publishNotReadyAddresses), sorted by pod name. */
void service_endpoints(struct cluster *cl, const struct object *svc, struct strbuf *out);
/* Appends zone-file lines for one Service (svc != NULL) or every Service (svc == NULL):
 * A records for the Service and for each published pod with a hostname, SRV records for
 * named ports. Format: "<name>. 30 IN A <ip>". */
void dns_render(struct cluster *cl, const struct object *svc, struct strbuf *out);
/* The pods a StatefulSet owns, by ordinal: fills ordinals[i]/pods[i] (new arrays, caller
 * frees both), sorted by ordinal; returns the count. */
size_t statefulset_pods(struct cluster *cl, const struct object *sts, int64_t **ordinals,
			struct object ***pods);

#endif
