/* examples.h - the manifests that more than one unit suite applies, kept once: ones copied
 * byte for byte from kubernetes/examples, each under the path it comes from, and the seed
 * walkthrough's mysql set. Include after unit.h; a suite uses only some of them. */
#ifndef CLAIMFS_EXAMPLES_H
#define CLAIMFS_EXAMPLES_H

/* Copied byte for byte from kubernetes/examples (commit 279e8e4f). */
/* _archived/storage/minio/minio-standalone-pvc.yaml, unchanged */
static const char minio_pvc_yaml[] =
    "apiVersion: v1\n"
    "kind: PersistentVolumeClaim\n"
    "metadata:\n"
    "  # This name uniquely identifies the PVC. Will be used in deployment below.\n"
    "  name: minio-pv-claim\n"
    "  labels:\n"
    "    app: minio-storage-claim\n"
    "spec:\n"
    "  # Read more about access modes here: "
    "http://kubernetes.io/docs/user-guide/persistent-volumes/#access-modes\n"
    "  accessModes:\n"
    "    - ReadWriteOnce\n"
    "  storageClassName: standard\n"
    "  resources:\n"
    "    # This is the request for storage. Should be available in the cluster.\n"
    "    requests:\n"
    "      storage: 10Gi\n";

/* The seed walkthrough's headless Service and StatefulSet, as it applies them (not from
 * kubernetes/examples). */
static const char seed_mysql_yaml[] = "apiVersion: v1\n"
				      "kind: Service\n"
				      "metadata:\n"
				      "  name: mysql-h\n"
				      "spec:\n"
				      "  selector:\n"
				      "    app: mysql\n"
				      "  ports:\n"
				      "  - port: 3306\n"
				      "  clusterIP: None\n"
				      "---\n"
				      "apiVersion: apps/v1\n"
				      "kind: StatefulSet\n"
				      "metadata:\n"
				      "  name: mysql\n"
				      "spec:\n"
				      "  serviceName: mysql-h\n"
				      "  replicas: 3\n"
				      "  selector:\n"
				      "    matchLabels:\n"
				      "      app: mysql\n"
				      "  template:\n"
				      "    metadata:\n"
				      "      labels:\n"
				      "        app: mysql\n"
				      "    spec:\n"
				      "      containers:\n"
				      "        - name: mysql\n"
				      "          image: mysql\n"
				      "          env:\n"
				      "            - name: MYSQL_ROOT_PASSWORD\n"
				      "              value: root\n"
				      "          volumeMounts:\n"
				      "            - mountPath: /var/lib/mysql\n"
				      "              name: mysql-volume\n"
				      "  volumeClaimTemplates:\n"
				      "  - metadata:\n"
				      "      name: mysql-volume\n"
				      "    spec:\n"
				      "      accessModes:\n"
				      "        - ReadWriteOnce\n"
				      "      resources:\n"
				      "        requests:\n"
				      "          storage: 5Gi\n";

#endif
