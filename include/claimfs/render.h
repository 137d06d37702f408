/* render.h - whole-file views computed from the cluster: /metrics (Prometheus text with
 * kube-state-metrics names) and the kubectl-style tables (.table, .table-wide).
 * All LOCKED; output is appended to the caller's buffer. */
#ifndef CLAIMFS_RENDER_H
#define CLAIMFS_RENDER_H

#include <stdint.h>
#include "claimfs/cluster.h"
#include <jansson.h>
#include "claimfs/strbuf.h"

void render_metrics(struct cluster *cl, struct strbuf *out);
/* `kubectl get <plural>` for kind k in ns (NULL for cluster-scoped kinds; NULL for a
 * namespaced kind lists every namespace with kubectl's -A NAMESPACE column); wide adds the
 * -o wide columns. now_ms is used for AGE. No objects: nothing is appended (kubectl
 * prints its "No resources found" on stderr only). */
void render_table(struct cluster *cl, const struct kind *k, const char *ns, int wide,
		  int64_t now_ms, struct strbuf *out);
/* kubectl's HumanDuration of an age in ms ("17s", "2m5s", "4h30m", "3d4h", ...). */
void render_age(int64_t age_ms, char *buf, size_t len);

/* kubectl's pod STATUS (printPod): into reason (len >= 64); fills the READY counts and
 * the RESTARTS cell text (len >= 64). */
void render_pod_status(const json_t *pod, int64_t now_ms, char *reason, size_t rlen, int64_t *ready,
		       int64_t *total, char *restarts, size_t restarts_len);

#endif
