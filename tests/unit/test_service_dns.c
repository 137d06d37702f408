/* test_service_dns.c - Services and the DNS zone: headless and ClusterIP records,
 * SRV for named ports, endpoints and publishNotReadyAddresses, pod FQDNs, and the
 * Cassandra and MinIO examples from kubernetes/examples applied unchanged, with the
 * pods, claims and DNS names their READMEs describe. */
#include <errno.h>
#include "unit.h"
#include "fixture.h"
#include "examples.h"
#include "claimfs/workloads.h"

/* Copied byte for byte from kubernetes/examples (commit 279e8e4f). */
/* databases/cassandra/cassandra-service.yaml, unchanged */
static const char cassandra_service_yaml[] = "apiVersion: v1\n"
					     "kind: Service\n"
					     "metadata:\n"
					     "  labels:\n"
					     "    app: cassandra\n"
					     "  name: cassandra\n"
					     "spec:\n"
					     "  clusterIP: None\n"
					     "  ports:\n"
					     "    - port: 9042\n"
					     "  selector:\n"
					     "    app: cassandra\n";

/* databases/cassandra/cassandra-statefulset.yaml, unchanged */
static const char cassandra_statefulset_yaml[] =
    "apiVersion: \"apps/v1\" # for k8s versions before 1.9.0 use apps/v1beta2  and before 1.8.0 "
    "use extensions/v1beta1\n"
    "kind: StatefulSet\n"
    "metadata:\n"
    "  name: cassandra\n"
    "  labels:\n"
    "     app: cassandra\n"
    "spec:\n"
    "  serviceName: cassandra\n"
    "  replicas: 3\n"
    "  selector:\n"
    "    matchLabels:\n"
    "      app: cassandra\n"
    "  template:\n"
    "    metadata:\n"
    "      labels:\n"
    "        app: cassandra\n"
    "    spec:\n"
    "      terminationGracePeriodSeconds: 1800\n"
    "      containers:\n"
    "      - name: cassandra\n"
    "        image: gcr.io/google-samples/cassandra:v14\n"
    "        imagePullPolicy: Always\n"
    "        ports:\n"
    "        - containerPort: 7000\n"
    "          name: intra-node\n"
    "        - containerPort: 7001\n"
    "          name: tls-intra-node\n"
    "        - containerPort: 7199\n"
    "          name: jmx\n"
    "        - containerPort: 9042\n"
    "          name: cql\n"
    "        resources:\n"
    "          limits:\n"
    "            cpu: \"500m\"\n"
    "            memory: 1Gi\n"
    "          requests:\n"
    "           cpu: \"500m\"\n"
    "           memory: 1Gi\n"
    "        securityContext:\n"
    "          capabilities:\n"
    "            add:\n"
    "              - IPC_LOCK\n"
    "        lifecycle:\n"
    "          preStop:\n"
    "            exec:\n"
    "              command:\n"
    "              - /bin/sh\n"
    "              - -c\n"
    "              - nodetool drain\n"
    "        env:\n"
    "          - name: MAX_HEAP_SIZE\n"
    "            value: 512M\n"
    "          - name: HEAP_NEWSIZE\n"
    "            value: 100M\n"
    "          - name: CASSANDRA_SEEDS\n"
    "            value: \"cassandra-0.cassandra.default.svc.cluster.local\"\n"
    "          - name: CASSANDRA_CLUSTER_NAME\n"
    "            value: \"K8Demo\"\n"
    "          - name: CASSANDRA_DC\n"
    "            value: \"DC1-K8Demo\"\n"
    "          - name: CASSANDRA_RACK\n"
    "            value: \"Rack1-K8Demo\"\n"
    "          - name: CASSANDRA_SEED_PROVIDER\n"
    "            value: io.k8s.cassandra.KubernetesSeedProvider\n"
    "          - name: POD_IP\n"
    "            valueFrom:\n"
    "              fieldRef:\n"
    "                fieldPath: status.podIP\n"
    "        readinessProbe:\n"
    "          exec:\n"
    "            command:\n"
    "            - /bin/bash\n"
    "            - -c\n"
    "            - /ready-probe.sh\n"
    "          initialDelaySeconds: 15\n"
    "          timeoutSeconds: 5\n"
    "          periodSeconds: 10\n"
    "          failureThreshold: 3\n"
    "        livenessProbe:\n"
    "          exec:\n"
    "            command:\n"
    "            - /bin/bash\n"
    "            - -c\n"
    "            - \"nodetool status\"\n"
    "          initialDelaySeconds: 15\n"
    "          timeoutSeconds: 5\n"
    "          periodSeconds: 10\n"
    "          failureThreshold: 3          \n"
    "        # These volume mounts are persistent. They are like inline claims,\n"
    "        # but not exactly because the names need to match exactly one of\n"
    "        # the stateful pod volumes.\n"
    "        volumeMounts:\n"
    "        - name: cassandra-data\n"
    "          mountPath: /var/lib/cassandra\n"
    "  # These are converted to volume claims by the controller\n"
    "  # and mounted at the paths mentioned above.\n"
    "  # do not use these in production until ssd GCEPersistentDisk or other ssd pd\n"
    "  volumeClaimTemplates:\n"
    "  - metadata:\n"
    "      name: cassandra-data\n"
    "      annotations:\n"
    "        volume.beta.kubernetes.io/storage-class: fast\n"
    "    spec:\n"
    "      accessModes: [ \"ReadWriteOnce\" ]\n"
    "      resources:\n"
    "        requests:\n"
    "          storage: 1Gi\n"
    "---\n"
    "kind: StorageClass\n"
    "apiVersion: storage.k8s.io/v1\n"
    "metadata:\n"
    "  name: fast\n"
    "provisioner: k8s.io/minikube-hostpath\n"
    "parameters:\n"
    "  type: pd-ssd\n";

/* _archived/storage/minio/minio-distributed-headless-service.yaml, unchanged */
static const char minio_service_yaml[] = "apiVersion: v1\n"
					 "kind: Service\n"
					 "metadata:\n"
					 "  name: minio\n"
					 "  labels:\n"
					 "    app: minio\n"
					 "spec:\n"
					 "  clusterIP: None\n"
					 "  ports:\n"
					 "    - port: 9000\n"
					 "      name: minio\n"
					 "  selector:\n"
					 "    app: minio\n";

/* _archived/storage/minio/minio-distributed-statefulset.yaml, unchanged */
static const char minio_statefulset_yaml[] =
    "apiVersion: apps/v1 #  for k8s versions before 1.9.0 use apps/v1beta2  and before 1.8.0 use "
    "extensions/v1beta1\n"
    "kind: StatefulSet\n"
    "metadata:\n"
    "  name: minio\n"
    "  labels:\n"
    "     app: minio\n"
    "spec:\n"
    "  selector:\n"
    "    matchLabels:\n"
    "      app: minio\n"
    "  serviceName: minio\n"
    "  replicas: 4\n"
    "  template:\n"
    "    metadata:\n"
    "      labels:\n"
    "        app: minio\n"
    "    spec:\n"
    "      containers:\n"
    "      - name: minio\n"
    "        env:\n"
    "        - name: MINIO_ACCESS_KEY\n"
    "          value: \"minio\"\n"
    "        - name: MINIO_SECRET_KEY\n"
    "          value: \"minio123\"\n"
    "        image: minio/minio:latest\n"
    "        args:\n"
    "        - server\n"
    "        - http://minio-0.minio.default.svc.cluster.local/data\n"
    "        - http://minio-1.minio.default.svc.cluster.local/data\n"
    "        - http://minio-2.minio.default.svc.cluster.local/data\n"
    "        - http://minio-3.minio.default.svc.cluster.local/data\n"
    "        ports:\n"
    "        - containerPort: 9000\n"
    "          hostPort: 9000\n"
    "        # These volume mounts are persistent. Each pod in the StatefulSet\n"
    "        # gets a volume mounted based on this field.\n"
    "        volumeMounts:\n"
    "        - name: data\n"
    "          mountPath: /data\n"
    "  # These are converted to volume claims by the controller\n"
    "  # and mounted at the paths mentioned above.\n"
    "  volumeClaimTemplates:\n"
    "  - metadata:\n"
    "      name: data\n"
    "    spec:\n"
    "      accessModes:\n"
    "        - ReadWriteOnce\n"
    "      storageClassName: standard\n"
    "      resources:\n"
    "        requests:\n"
    "          storage: 10Gi\n";

static struct fixture fx;

static void setup(void)
{
	fx_open(&fx);
}

static void teardown(void)
{
	fx_close(&fx);
}

/* The zone of one Service (or the whole zone for NULL), as /dns shows it. */
static char *zone(const char *svc)
{
	struct strbuf sb = STRBUF_INIT;
	cluster_lock(fx.cl);
	struct object *o =
	    svc ? store_get(cluster_store(fx.cl), cluster_kind(fx.cl, "Service"), "default", svc)
		: NULL;
	if (!svc || o)
		dns_render(fx.cl, o, &sb);
	cluster_unlock(fx.cl);
	return sb_detach(&sb, NULL);
}

static char *endpoints(const char *svc)
{
	struct strbuf sb = STRBUF_INIT;
	cluster_lock(fx.cl);
	struct object *o =
	    store_get(cluster_store(fx.cl), cluster_kind(fx.cl, "Service"), "default", svc);
	if (o)
		service_endpoints(fx.cl, o, &sb);
	cluster_unlock(fx.cl);
	return sb_detach(&sb, NULL);
}

static char *fqdn(const char *pod)
{
	struct strbuf sb = STRBUF_INIT;
	cluster_lock(fx.cl);
	struct object *o =
	    store_get(cluster_store(fx.cl), cluster_kind(fx.cl, "Pod"), "default", pod);
	int rc = o ? pod_fqdn(fx.cl, o, &sb) : -ENOENT;
	cluster_unlock(fx.cl);
	if (rc < 0) {
		sb_release(&sb);
		return NULL;
	}
	return sb_detach(&sb, NULL);
}

static const char *phase(const char *pod)
{
	return fx_str(&fx, "Pod", "default", pod, "status.phase");
}

START_TEST(test_headless_mysql)
{
	fx_apply_ok(&fx, seed_mysql_yaml);
	char *z = zone("mysql-h");
	ck_assert_str_eq(
	    z, "mysql-h.default.svc.cluster.local. 30 IN A 10.244.1.2\n"
	       "mysql-h.default.svc.cluster.local. 30 IN A 10.244.2.2\n"
	       "mysql-h.default.svc.cluster.local. 30 IN A 10.244.3.2\n"
	       "mysql-0.mysql-h.default.svc.cluster.local. 30 IN A 10.244.1.2\n"
	       "mysql-1.mysql-h.default.svc.cluster.local. 30 IN A 10.244.2.2\n"
	       "mysql-2.mysql-h.default.svc.cluster.local. 30 IN A 10.244.3.2\n"
	       "2.1.244.10.in-addr.arpa. 30 IN PTR mysql-0.mysql-h.default.svc.cluster.local.\n"
	       "2.2.244.10.in-addr.arpa. 30 IN PTR mysql-1.mysql-h.default.svc.cluster.local.\n"
	       "2.3.244.10.in-addr.arpa. 30 IN PTR mysql-2.mysql-h.default.svc.cluster.local.\n");
	free(z);
	char *e = endpoints("mysql-h");
	ck_assert_str_eq(e, "10.244.1.2 mysql-0\n10.244.2.2 mysql-1\n10.244.3.2 mysql-2\n");
	free(e);
	char *f = fqdn("mysql-2");
	ck_assert_str_eq(f, "mysql-2.mysql-h.default.svc.cluster.local");
	free(f);
	z = zone(NULL);
	ck_assert_int_eq(strncmp(z, "dns-version.cluster.local. 30 IN TXT \"1.0.1\"\n", 44), 0);
	ck_assert_ptr_nonnull(
	    strstr(z, "mysql-1.mysql-h.default.svc.cluster.local. 30 IN A 10.244.2.2\n"));
	free(z);
	struct object *svc = fx_get(&fx, "Service", "default", "mysql-h");
	json_t *port = json_array_get(jget(object_json(svc), "spec.ports"), 0);
	ck_assert_str_eq(jstr(port, "protocol"), "TCP");
	ck_assert_int_eq(json_integer_value(json_object_get(port, "targetPort")), 3306);
	/* a pod that is not ready leaves the records */
	ck_assert_int_eq(cluster_set_node_ready(fx.cl, "node-2", 0, "t", &fx.err), 0);
	e = endpoints("mysql-h");
	ck_assert_str_eq(e, "10.244.1.2 mysql-0\n10.244.3.2 mysql-2\n");
	free(e);
	z = zone("mysql-h");
	ck_assert_ptr_null(strstr(z, "mysql-1"));
	free(z);
	/* the pod keeps its name though: the FQDN is the pod's, not the record's */
	f = fqdn("mysql-1");
	ck_assert_str_eq(f, "mysql-1.mysql-h.default.svc.cluster.local");
	free(f);
}
END_TEST

START_TEST(test_publish_not_ready)
{
	fx_apply_ok(&fx, seed_mysql_yaml);
	fx_apply_ok(
	    &fx, "apiVersion: v1\nkind: Service\nmetadata:\n  name: mysql-all\nspec:\n"
		 "  clusterIP: None\n  publishNotReadyAddresses: true\n  selector: {app: mysql}\n"
		 "  ports:\n  - {name: sql, port: 3306}\n---\n"
		 "apiVersion: v1\nkind: Service\nmetadata:\n  name: mysql-tol\n  annotations:\n"
		 "    service.alpha.kubernetes.io/tolerate-unready-endpoints: \"true\"\n"
		 "spec:\n  clusterIP: None\n  selector: {app: mysql}\n  ports:\n  - port: 3306\n");
	ck_assert_int_eq(cluster_set_node_ready(fx.cl, "node-2", 0, "t", &fx.err), 0);
	char *e = endpoints("mysql-all");
	ck_assert_str_eq(e, "10.244.1.2 mysql-0\n10.244.2.2 mysql-1\n10.244.3.2 mysql-2\n");
	free(e);
	e = endpoints("mysql-tol");
	ck_assert_str_eq(e, "10.244.1.2 mysql-0\n10.244.2.2 mysql-1\n10.244.3.2 mysql-2\n");
	free(e);
	char *z = zone("mysql-all");
	/* the pods' subdomain is mysql-h: here they only get the Service-level records */
	ck_assert_str_eq(z, "mysql-all.default.svc.cluster.local. 30 IN A 10.244.1.2\n"
			    "mysql-all.default.svc.cluster.local. 30 IN A 10.244.2.2\n"
			    "mysql-all.default.svc.cluster.local. 30 IN A 10.244.3.2\n");
	free(z);
	/* a pod's FQDN needs its subdomain to name a headless Service */
	char *f = fqdn("mysql-0");
	ck_assert_str_eq(f, "mysql-0.mysql-h.default.svc.cluster.local");
	free(f);
}
END_TEST

START_TEST(test_cluster_ip_service)
{
	fx_apply_ok(
	    &fx, "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n"
		 "  selector: {app: web}\n  ports:\n  - {name: http, port: 80, targetPort: 8080}\n"
		 "  - {name: dns, port: 53, protocol: UDP}\n");
	const char *ip = fx_str(&fx, "Service", "default", "web", "spec.clusterIP");
	ck_assert_ptr_nonnull(ip);
	ck_assert_int_eq(strncmp(ip, "10.96.", 6), 0);
	char *ip1 = xstrdup(ip), expect[1024];
	snprintf(expect, sizeof(expect),
		 "web.default.svc.cluster.local. 30 IN A %s\n"
		 "_http._tcp.web.default.svc.cluster.local. 30 IN SRV 0 100 80 "
		 "web.default.svc.cluster.local.\n"
		 "_dns._udp.web.default.svc.cluster.local. 30 IN SRV 0 100 53 "
		 "web.default.svc.cluster.local.\n",
		 ip1);
	char *z = zone("web");
	ck_assert_int_eq(strncmp(z, expect, strlen(expect)), 0);
	ck_assert_ptr_nonnull(
	    strstr(z, "in-addr.arpa. 30 IN PTR web.default.svc.cluster.local.\n"));
	free(z);
	/* stable across re-applies, immutable */
	fx_apply_ok(
	    &fx,
	    "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels: {x: y2}\nspec:\n"
	    "  selector: {app: web}\n  ports:\n  - {name: http, port: 80, targetPort: 8080}\n");
	ck_assert_str_eq(fx_str(&fx, "Service", "default", "web", "spec.clusterIP"), ip1);
	ck_assert_int_eq(fx_apply(&fx,
				  "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n"
				  "  clusterIP: None\n  ports:\n  - {port: 80}\n"),
			 -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "may not change once set"), "%s", fx.err.msg);
	/* another Service gets another address; asking for a taken one fails */
	fx_apply_ok(&fx, "apiVersion: v1\nkind: Service\nmetadata:\n  name: api\nspec:\n  ports:\n"
			 "  - {port: 443}\n");
	ck_assert_str_ne(fx_str(&fx, "Service", "default", "api", "spec.clusterIP"), ip1);
	snprintf(expect, sizeof(expect),
		 "apiVersion: v1\nkind: Service\nmetadata:\n  name: copy\nspec:\n  clusterIP: %s\n"
		 "  ports:\n  - {port: 1}\n",
		 ip1);
	ck_assert_int_eq(fx_apply(&fx, expect), -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "provided IP is already allocated"), "%s", fx.err.msg);
	/* port rules */
	ck_assert_int_eq(fx_apply(&fx,
				  "apiVersion: v1\nkind: Service\nmetadata:\n  name: bad\nspec:\n"
				  "  ports:\n  - {port: 1}\n  - {port: 2}\n"),
			 -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "spec.ports[0].name: Required value"), "%s", fx.err.msg);
	ck_assert_int_eq(fx_apply(&fx,
				  "apiVersion: v1\nkind: Service\nmetadata:\n  name: bad\nspec:\n"
				  "  selector: {a: b}\n"),
			 -EINVAL);
	ck_assert_msg(strstr(fx.err.msg, "spec.ports: Required value"), "%s", fx.err.msg);
	free(ip1);
}
END_TEST

START_TEST(test_pod_hostname_subdomain)
{
	fx_apply_ok(
	    &fx,
	    "apiVersion: v1\nkind: Service\nmetadata:\n  name: headless\nspec:\n"
	    "  clusterIP: None\n  selector: {app: pet}\n  ports:\n  - {name: https, port: 443}\n"
	    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: pet\n  labels: {app: pet}\n"
	    "spec:\n  hostname: my-pet\n  subdomain: headless\n"
	    "  containers:\n  - {name: c, image: busybox}\n"
	    "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: lonely\n"
	    "spec:\n  subdomain: nothing-here\n  containers:\n  - {name: c, image: busybox}\n");
	char *f = fqdn("pet");
	ck_assert_str_eq(f, "my-pet.headless.default.svc.cluster.local");
	free(f);
	ck_assert_ptr_null(fqdn("lonely"));
	char *z = zone("headless");
	ck_assert_ptr_nonnull(
	    strstr(z, "my-pet.headless.default.svc.cluster.local. 30 IN A 10.244.1.2\n"));
	ck_assert_ptr_nonnull(
	    strstr(z, "_https._tcp.headless.default.svc.cluster.local. 30 IN SRV 0 100 443 "
		      "my-pet.headless.default.svc.cluster.local.\n"));
	free(z);
}
END_TEST

START_TEST(test_cassandra_example)
{
	fx_apply_ok(&fx, cassandra_service_yaml);
	fx_apply_ok(&fx, cassandra_statefulset_yaml);
	ck_assert_ptr_nonnull(fx_get(&fx, "StorageClass", NULL, "fast"));
	struct object *pvc =
	    fx_get(&fx, "PersistentVolumeClaim", "default", "cassandra-data-cassandra-0");
	ck_assert_ptr_nonnull(pvc);
	ck_assert_str_eq(jannotation(object_json(pvc), "volume.beta.kubernetes.io/storage-class"),
			 "fast");
	ck_assert_str_eq(jlabel(object_json(pvc), "app"), "cassandra");
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "cassandra-0", "status.qosClass"),
			 "Guaranteed");
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "cassandra-0", "spec.subdomain"),
			 "cassandra");
	char *f = fqdn("cassandra-0");
	/* the seed address the manifest's CASSANDRA_SEEDS names */
	ck_assert_str_eq(f, "cassandra-0.cassandra.default.svc.cluster.local");
	free(f);
	ck_assert_str_eq(phase("cassandra-2"), "Running");
	char *z = zone("cassandra");
	ck_assert_ptr_nonnull(
	    strstr(z, "cassandra-0.cassandra.default.svc.cluster.local. 30 IN A 10.244.1.2\n"));
	ck_assert_ptr_nonnull(
	    strstr(z, "cassandra-2.cassandra.default.svc.cluster.local. 30 IN A 10.244.3.2\n"));
	ck_assert_ptr_null(strstr(z, "SRV")); /* port 9042 has no name */
	free(z);
	ck_assert_str_eq(fx_str(&fx, "PersistentVolumeClaim", "default",
				"cassandra-data-cassandra-2", "status.phase"),
			 "Bound");
}
END_TEST

START_TEST(test_minio_example)
{
	int i;
	char name[64];
	fx_apply_ok(&fx, minio_service_yaml);
	fx_apply_ok(&fx, minio_statefulset_yaml);
	fx_apply_ok(&fx, minio_pvc_yaml);
	ck_assert_str_eq(
	    fx_str(&fx, "PersistentVolumeClaim", "default", "minio-pv-claim", "status.phase"),
	    "Bound");
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "minio-%d", i);
		ck_assert_str_eq(phase(name), "Running");
		snprintf(name, sizeof(name), "data-minio-%d", i);
		ck_assert_str_eq(
		    fx_str(&fx, "PersistentVolumeClaim", "default", name, "spec.storageClassName"),
		    "standard");
		ck_assert_str_eq(
		    fx_str(&fx, "PersistentVolumeClaim", "default", name, "status.phase"), "Bound");
	}
	/* hostPort 9000 on three nodes: the fourth pod does not fit, as on a real 3-node cluster */
	ck_assert_str_eq(phase("minio-3"), "Pending");
	ck_assert(fx_has_event(&fx, "FailedScheduling",
			       "0/3 nodes are available: 3 node(s) didn't have free ports for the "
			       "requested pod ports."));
	ck_assert_int_eq(
	    strcmp(fx_str(&fx, "StatefulSet", "default", "minio", "metadata.name"), "minio"), 0);
	/* a fourth node, as the README's cluster has */
	fx_apply_ok(
	    &fx, "apiVersion: v1\nkind: Node\nmetadata:\n  name: node-4\n  labels:\n"
		 "    kubernetes.io/hostname: node-4\n    topology.kubernetes.io/zone: zone-a\n");
	ck_assert_str_eq(phase("minio-3"), "Running");
	ck_assert_str_eq(fx_str(&fx, "Pod", "default", "minio-3", "spec.nodeName"), "node-4");
	char *z = zone("minio");
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "minio-%d.minio.default.svc.cluster.local. 30 IN A ",
			 i);
		ck_assert_msg(strstr(z, name), "no %s in\n%s", name, z);
		snprintf(name, sizeof(name),
			 "SRV 0 25 9000 minio-%d.minio.default.svc.cluster.local.\n", i);
		ck_assert_msg(strstr(z, name), "no %s", name);
	}
	ck_assert_ptr_nonnull(strstr(z, "_minio._tcp.minio.default.svc.cluster.local. 30 IN SRV"));
	free(z);
	char *f = fqdn("minio-3");
	ck_assert_str_eq(f, "minio-3.minio.default.svc.cluster.local");
	free(f);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("service_dns");
	TCase *tc = tcase_create("dns");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_headless_mysql);
	tcase_add_test(tc, test_publish_not_ready);
	tcase_add_test(tc, test_cluster_ip_service);
	tcase_add_test(tc, test_pod_hostname_subdomain);
	tcase_add_test(tc, test_cassandra_example);
	tcase_add_test(tc, test_minio_example);
	suite_add_tcase(s, tc);
	return s;
}
