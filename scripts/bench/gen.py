#!/usr/bin/env python3
"""gen.py - the manifests of the benchmark (scripts/bench.sh), written to stdout.

  gen.py cluster                      three nodes and a default StorageClass whose pool
                                      (100Ti) holds every claim of the benchmark
  gen.py claims PREFIX START COUNT    a stream of COUNT claims PREFIX-<n>, n from START
                                      (namespace default, 1Mi, ReadWriteOnce)
  gen.py statefulset NAME [POLICY]    a headless Service and a StatefulSet of 0 replicas
                                      with one claim template; POLICY is the
                                      podManagementPolicy (default OrderedReady)
"""
import sys

CLUSTER = """\
apiVersion: v1
kind: Node
metadata:
  name: node-1
  labels: {kubernetes.io/hostname: node-1, topology.kubernetes.io/zone: zone-a}
---
apiVersion: v1
kind: Node
metadata:
  name: node-2
  labels: {kubernetes.io/hostname: node-2, topology.kubernetes.io/zone: zone-b}
---
apiVersion: v1
kind: Node
metadata:
  name: node-3
  labels: {kubernetes.io/hostname: node-3, topology.kubernetes.io/zone: zone-c}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: claimfs.io/simulated
reclaimPolicy: Delete
volumeBindingMode: Immediate
allowVolumeExpansion: true
parameters:
  capacity: 100Ti
"""

CLAIM = """\
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {name}
  namespace: default
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Mi
"""

STATEFULSET = """\
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: default
spec:
  clusterIP: None
  selector: {{app: {name}}}
  ports:
  - {{name: web, port: 80}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {name}
  namespace: default
spec:
  serviceName: {name}
  replicas: 0
  podManagementPolicy: {policy}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: web
        image: nginx
        volumeMounts:
        - {{name: data, mountPath: /data}}
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 1Mi
"""


def main(argv):
    out = sys.stdout
    if len(argv) == 2 and argv[1] == "cluster":
        out.write(CLUSTER)
    elif len(argv) == 5 and argv[1] == "claims":
        prefix, start, count = argv[2], int(argv[3]), int(argv[4])
        out.write("".join(CLAIM.format(name="%s-%06d" % (prefix, n))
                          for n in range(start, start + count)))
    elif len(argv) in (3, 4) and argv[1] == "statefulset":
        policy = argv[3] if len(argv) == 4 else "OrderedReady"
        out.write(STATEFULSET.format(name=argv[2], policy=policy))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
