#!/usr/bin/env bash
# Mount test of the workloads: Pods (files, volumes/ links, podIP, rmdir), scheduling and
# attach (nodeName, nodeSelector, unbound Immediate claims, WaitForFirstConsumer and
# node affinity, RWO / RWOP / RWX / ROX, Terminating claims in use, node failure),
# StatefulSets (identity, labels, claims, OrderedReady and Parallel, recreation, scaling,
# retention policies, failed nodes, validation, deletion), Deployments (names, scaling,
# RollingUpdate hitting Multi-Attach, Recreate not), Services and /dns, simulated time
# (--pod-start-delay), and the Cassandra and MinIO manifests of kubernetes/examples
# applied unchanged. Everything through a real mount, with shell tools.
# Run at the project's root: bash tests/integration/test_workloads.sh
set -u
. "$(dirname "$0")/lib.sh"
EX=tests/data/kubernetes-examples

# apply: stdin to /apply (one write, applied at close)
apply() { cat >"$MNT/apply"; }
# rd FILE: its content, or nothing when it cannot be read
rd() { cat "$1" 2>/dev/null; }
# jqf FILE FILTER: jq -r on an object.json
jqf() { jq -r "$2" "$1" 2>/dev/null; }
# names DIR [PREFIX]: the entries of DIR that start with PREFIX, in order, one space apart
names() {
	local e out=()
	for e in "$1/${2:-}"*; do
		[ -e "$e" ] || [ -L "$e" ] || continue
		out+=("${e##*/}")
	done
	echo "${out[*]}"
}
# count DIR PREFIX: how many entries of DIR start with PREFIX
count() { local a; read -ra a <<<"$(names "$1" "$2")"; echo "${#a[@]}"; }
# ev LINE-FRAGMENT: number of the first /events line holding the fragment (0 when none)
ev() { local n; n=$(grep -n -F -- "$1" "$MNT/events" | head -1 | cut -d: -f1); echo "${n:-0}"; }
# ev_count FRAGMENT: how many /events lines hold it
ev_count() { grep -c -F -- "$1" "$MNT/events"; }
# in_order N1 N2 ...: every N is non-zero and greater than the one before
in_order() {
	local prev=0 n
	for n in "$@"; do
		[ "$n" -gt "$prev" ] || return 1
		prev=$n
	done
}
# write_errno FILE TEXT: write(2) TEXT to FILE (O_TRUNC), close; errno name or OK
write_errno() {
	errno_of "
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, sys.argv[2].encode())
    finally:
        os.close(fd)" "$1" "$2"
}
# create_errno FILE TEXT: create FILE, write TEXT, close; errno name or OK
create_errno() {
	errno_of "
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, sys.argv[2].encode())
    os.close(fd)" "$1" "$2"
}
# ready_cond FILE: the status of the Ready condition in a manifest.yaml
ready_cond() { grep -B1 -x '    type: Ready' "$1" 2>/dev/null | sed -n 's/^    status: "\(.*\)"$/\1/p' | head -1; }
P=$NS/pods
C=$NS/persistentvolumeclaims
S=$NS/statefulsets

t_mount

# ============================================================== 1. Pods
check "apply a claim and a bare Pod that mounts it" apply <<'Y'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: c1}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: p1, labels: {app: p1}}
spec:
  nodeSelector: {kubernetes.io/hostname: node-1}
  containers:
  - name: c
    image: busybox
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: c1}
  - name: scratch
    emptyDir: {}
Y
for f in phase status ready nodeName podIP hostname fqdn owner events manifest.yaml object.json; do
	check "pod p1 has the file $f" test -f "$P/p1/$f"
done
check "a bare pod has no ordinal file (only StatefulSet pods do)" test ! -e "$P/p1/ordinal"
same "$(rd "$P/p1/phase")" Running "p1 phase"
same "$(rd "$P/p1/status")" Running "p1 status"
same "$(rd "$P/p1/ready")" true "p1 ready"
same "$(rd "$P/p1/nodeName")" node-1 "p1's nodeSelector kubernetes.io/hostname: node-1 is honoured"
same "$(readlink "$P/p1/node")" ../../../../nodes/node-1 "p1/node links to its node"
check "nodes/node-1/pods lists p1.default" test -L "$MNT/nodes/node-1/pods/p1.default"
ip=$(rd "$P/p1/podIP")
check "p1's podIP is in node-1's range 10.244.1.0/24 ($ip)" sh -c "echo '$ip' | grep -Eqx '10\.244\.1\.[0-9]+'"
same "$(rd "$P/p1/podIP")$(rd "$P/p1/podIP")" "$ip$ip" "podIP is stable across reads"
same "$(jqf "$P/p1/object.json" .status.podIP)" "$ip" "object.json has the same podIP"
same "$(jqf "$P/p1/object.json" '.kind + "/" + .metadata.name')" Pod/p1 "object.json is the pod"
check "manifest.yaml is the live pod" sh -c "grep -qx 'kind: Pod' '$P/p1/manifest.yaml' && grep -qx '  phase: Running' '$P/p1/manifest.yaml'"
same "$(rd "$P/p1/hostname")" p1 "hostname defaults to the pod's name"
same "$(rd "$P/p1/fqdn")" "" "fqdn is empty without a subdomain"
same "$(rd "$P/p1/owner")" "" "owner is empty for a bare pod"
check "p1's events: Scheduled to node-1" grep -q 'Normal Scheduled namespaces/default/pods/p1 Successfully assigned default/p1 to node-1' "$P/p1/events"
check "p1's events: container started" grep -q 'Normal Started namespaces/default/pods/p1 Started container c' "$P/p1/events"
same "$(readlink "$P/p1/volumes/data")" ../../../persistentvolumeclaims/c1 "volumes/data is a relative link to the claim"
same "$(rd "$P/p1/volumes/data/phase")" Bound "the link resolves: the claim is Bound"
same "$(names "$P/p1/volumes")" "data" "volumes/ has one link per claim volume (no emptyDir)"
pv_c1=$(rd "$C/c1/volumeName")

# a generic ephemeral volume: the ephemeral volume controller makes claim <pod>-<volume>
check "apply a pod with a generic ephemeral volume" apply <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: eph}
spec:
  containers: [{name: c, image: busybox, volumeMounts: [{name: scratch, mountPath: /s}]}]
  volumes:
  - name: scratch
    ephemeral:
      volumeClaimTemplate:
        spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
Y
same "$(readlink "$P/eph/volumes/scratch")" ../../../persistentvolumeclaims/eph-scratch "the ephemeral volume links to claim eph-scratch"
check "the ephemeral claim eph-scratch exists" test -d "$C/eph-scratch"
same "$(rd "$P/eph/volumes/scratch/phase")" Bound "the ephemeral claim is Bound (the link resolves)"
check "rmdir of the pod with an ephemeral volume" rmdir "$P/eph"
check "the ephemeral claim goes with its pod" test ! -e "$C/eph-scratch"

# a claim that does not exist: Pending, and no link until it exists
check "apply a pod whose claim does not exist" apply <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: noclaim}
spec:
  containers: [{name: c, image: busybox}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: later}}]
Y
same "$(rd "$P/noclaim/phase")" Pending "a pod whose claim does not exist is Pending"
check "FailedScheduling: persistentvolumeclaim \"later\" not found" grep -q 'Warning FailedScheduling .*persistentvolumeclaim "later" not found' "$P/noclaim/events"
check "no volumes/d link while claim 'later' does not exist (links only name existing objects)" test ! -L "$P/noclaim/volumes/d"
check "create the claim 'later'" apply <<'Y'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: later}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
Y
same "$(rd "$P/noclaim/phase")" Running "the pod starts once its claim exists"
same "$(rd "$P/noclaim/volumes/d/phase")" Bound "volumes/d now resolves to the Bound claim"

# rmdir deletes a pod
check "apply a throw-away pod" apply <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: gone}
spec: {containers: [{name: c, image: busybox}]}
Y
gnode=$(rd "$P/gone/nodeName")
check "rmdir pods/gone succeeds" rmdir "$P/gone"
check "the pod is gone" test ! -e "$P/gone"
check "ls pods does not show it" sh -c "! ls '$P' | grep -qx gone"
check "its node no longer lists it" test ! -e "$MNT/nodes/$gnode/pods/gone.default"

# ============================================================== 2. Scheduling and attach
check "apply a pod with spec.nodeName node-3" apply <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: pinned}
spec:
  nodeName: node-3
  containers: [{name: c, image: busybox}]
Y
same "$(rd "$P/pinned/nodeName")" node-3 "spec.nodeName is honoured"
same "$(rd "$P/pinned/phase")" Running "the pinned pod runs"

check "apply a pod whose nodeSelector matches no node" apply <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: lost}
spec:
  nodeSelector: {kubernetes.io/hostname: node-9}
  containers: [{name: c, image: busybox}]
Y
same "$(rd "$P/lost/phase")" Pending "a pod for a node that does not exist is Pending"
same "$(rd "$P/lost/nodeName")" "" "it has no node"
check "FailedScheduling: didn't match Pod's node affinity/selector" grep -q "Warning FailedScheduling namespaces/default/pods/lost 0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector" "$P/lost/events"
check "an unscheduled pod has no node link" test ! -e "$P/lost/node"

# an Immediate claim that cannot bind keeps its pod Pending, until a PV appears
check "apply an unbindable claim (class \"\", no PV) and a pod using it" apply <<'Y'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: nopv}
spec: {storageClassName: "", accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: waiter}
spec:
  containers: [{name: c, image: busybox}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: nopv}}]
Y
same "$(rd "$C/nopv/phase")" Pending "the class-less claim is Pending"
same "$(rd "$P/waiter/phase")" Pending "a pod whose Immediate claim is unbound stays Pending"
check "FailedScheduling: pod has unbound immediate PersistentVolumeClaims" grep -q 'Warning FailedScheduling .*pod has unbound immediate PersistentVolumeClaims' "$P/waiter/events"
check "a fitting PV copied into persistentvolumes/" sh -c "printf 'apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: pv-static}\nspec:\n  capacity: {storage: 2Gi}\n  accessModes: [ReadWriteOnce]\n  hostPath: {path: /tmp/pv-static}\n' > '$MNT/persistentvolumes/pv-static.yaml'"
same "$(rd "$C/nopv/volumeName")" pv-static "the claim binds the new PV"
same "$(rd "$P/waiter/phase")" Running "and its pod runs"

# WaitForFirstConsumer: provisioned once a pod uses it, on the pod's node, in its zone
check "apply a WaitForFirstConsumer class and a claim of it" apply <<'Y'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: wffc}
provisioner: claimfs.io/simulated
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: late}
spec:
  storageClassName: wffc
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
Y
same "$(rd "$C/late/phase")" Pending "a WaitForFirstConsumer claim waits"
same "$(rd "$C/late/volumeName")" "" "it has no volume yet"
check "event WaitForFirstConsumer" grep -q 'Normal WaitForFirstConsumer namespaces/default/persistentvolumeclaims/late waiting for first consumer to be created before binding' "$C/late/events"
check "apply the first consumer, in zone-b" apply <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: consumer}
spec:
  nodeSelector: {topology.kubernetes.io/zone: zone-b}
  containers: [{name: c, image: busybox}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: late}}]
Y
same "$(rd "$P/consumer/nodeName")" node-2 "the consumer is scheduled on node-2 (zone-b)"
same "$(rd "$P/consumer/phase")" Running "the consumer runs"
same "$(rd "$C/late/phase")" Bound "the claim is provisioned once a pod uses it"
same "$(jqf "$C/late/object.json" '.metadata.annotations["volume.kubernetes.io/selected-node"]')" node-2 "the claim carries volume.kubernetes.io/selected-node: node-2"
check "manifest.yaml shows the selected-node annotation" grep -qx '    volume.kubernetes.io/selected-node: node-2' "$C/late/manifest.yaml"
pv_late=$(rd "$C/late/volumeName")
same "$(jqf "$MNT/persistentvolumes/$pv_late/object.json" '.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0] | .key + "=" + (.values | join(","))')" "topology.kubernetes.io/zone=zone-b" "the PV has node affinity for the pod's zone"
check "WaitForFirstConsumer came before ProvisioningSucceeded" in_order "$(ev 'WaitForFirstConsumer namespaces/default/persistentvolumeclaims/late ')" "$(ev 'WaitForPodScheduled namespaces/default/persistentvolumeclaims/late waiting for pod consumer to be scheduled')" "$(ev 'ProvisioningSucceeded namespaces/default/persistentvolumeclaims/late ')"
check "apply a second consumer without constraints and a third pinned to zone-c" apply <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: consumer2}
spec:
  containers: [{name: c, image: busybox}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: late}}]
---
apiVersion: v1
kind: Pod
metadata: {name: zonec}
spec:
  nodeSelector: {topology.kubernetes.io/zone: zone-c}
  containers: [{name: c, image: busybox}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: late}}]
Y
same "$(rd "$P/consumer2/nodeName")" node-2 "a later pod of the claim stays in the volume's zone"
same "$(rd "$P/zonec/phase")" Pending "a pod pinned to another zone is Pending"
check "FailedScheduling: volume node affinity conflict" grep -q "Warning FailedScheduling .*1 node(s) had volume node affinity conflict, 2 node(s) didn't match Pod's node affinity/selector" "$P/zonec/events"

# a local PV with node affinity: the scheduler follows the volume
check "apply a no-provisioner WFFC class, a local PV on node-3 and a claim" apply <<'Y'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: local-pv}
spec:
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: local
  local: {path: /mnt/disks/vol1}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - {key: kubernetes.io/hostname, operator: In, values: [node-3]}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: lc}
spec:
  storageClassName: local
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
Y
same "$(rd "$C/lc/phase")" Pending "the local claim waits for its consumer"
check "apply a pod of the local claim, without constraints" apply <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: localpod}
spec:
  containers: [{name: c, image: busybox}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: lc}}]
Y
same "$(rd "$P/localpod/nodeName")" node-3 "the pod lands on the local PV's node"
same "$(rd "$C/lc/volumeName")" local-pv "the claim binds the local PV"

# ReadWriteOnce: shared on one node, Multi-Attach on another
check "apply a pod pinned to node-3 using p1's RWO claim" apply <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: elsewhere}
spec:
  nodeName: node-3
  containers: [{name: c, image: busybox}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: c1}}]
Y
same "$(rd "$P/elsewhere/phase")" Pending "the pod on another node waits"
same "$(rd "$P/elsewhere/status")" ContainerCreating "its status is ContainerCreating"
check "FailedAttachVolume Multi-Attach error naming the PV and p1" grep -qF "Warning FailedAttachVolume namespaces/default/pods/elsewhere Multi-Attach error for volume \"$pv_c1\" Volume is already used by pod(s) p1" "$P/elsewhere/events"
check "apply a second pod of the RWO claim on node-1" apply <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: sharer}
spec:
  nodeSelector: {kubernetes.io/hostname: node-1}
  containers: [{name: c, image: busybox}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: c1}}]
Y
same "$(rd "$P/sharer/phase"):$(rd "$P/sharer/nodeName")" Running:node-1 "two pods on the same node share an RWO claim"

# a claim in use is Terminating until its last pod is gone
check "rmdir of the claim in use succeeds" rmdir "$C/c1"
same "$(rd "$C/c1/status")" Terminating "the claim in use is Terminating"
same "$(rd "$C/c1/phase")" Bound "and still Bound"
check "apply a new pod of the Terminating claim" apply <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: latecomer}
spec:
  containers: [{name: c, image: busybox}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: c1}}]
Y
same "$(rd "$P/latecomer/phase"):$(rd "$P/latecomer/nodeName")" Pending: "a new pod of a Terminating claim is not scheduled"
check "FailedScheduling: persistentvolumeclaim \"c1\" is being deleted" grep -q 'Warning FailedScheduling .*persistentvolumeclaim "c1" is being deleted' "$P/latecomer/events"
check "rmdir latecomer" rmdir "$P/latecomer"
check "rmdir p1" rmdir "$P/p1"
same "$(rd "$C/c1/status")" Terminating "still Terminating while other pods use it"
same "$(rd "$P/elsewhere/phase")" Pending "the node-3 pod still waits (sharer holds node-1)"
check "rmdir sharer" rmdir "$P/sharer"
same "$(rd "$P/elsewhere/phase")" Running "the node-3 pod attaches once node-1 has no user"
same "$(rd "$C/c1/status")" Terminating "the claim is still Terminating while that pod runs"
check "rmdir the last pod of the claim" rmdir "$P/elsewhere"
check "the claim is gone with its last pod" test ! -e "$C/c1"
check "its Delete-policy PV is gone too" test ! -e "$MNT/persistentvolumes/$pv_c1"

# ReadWriteOncePod
check "apply an RWOP claim and its first pod" apply <<'Y'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: once}
spec: {accessModes: [ReadWriteOncePod], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: op1}
spec:
  containers: [{name: c, image: busybox}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: once}}]
Y
check "apply a second pod of the RWOP claim" apply <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: op2}
spec:
  containers: [{name: c, image: busybox}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: once}}]
Y
same "$(rd "$P/op1/phase")" Running "the first RWOP pod runs"
same "$(rd "$P/op2/phase"):$(rd "$P/op2/nodeName")" Pending: "the second RWOP pod is Pending, unscheduled"
check "FailedScheduling: node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode" grep -q 'Warning FailedScheduling namespaces/default/pods/op2 0/3 nodes are available: 3 node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode' "$P/op2/events"
check "no attach error for RWOP (it is refused by the scheduler)" sh -c "! grep -q FailedAttachVolume '$P/op2/events'"
check "rmdir the first RWOP pod" rmdir "$P/op1"
same "$(rd "$P/op2/phase")" Running "the second RWOP pod runs once the first is gone"

# ReadWriteMany and ReadOnlyMany
check "apply an RWX and an ROX claim" apply <<'Y'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: many}
spec: {accessModes: [ReadWriteMany], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: rox}
spec: {accessModes: [ReadOnlyMany], resources: {requests: {storage: 1Gi}}}
Y
for n in 1 2 3; do
	check "apply pod mp$n on node-$n using both" apply <<Y
apiVersion: v1
kind: Pod
metadata: {name: mp$n}
spec:
  nodeName: node-$n
  containers: [{name: c, image: busybox}]
  volumes:
  - {name: rw, persistentVolumeClaim: {claimName: many}}
  - {name: ro, persistentVolumeClaim: {claimName: rox}}
Y
done
for n in 1 2 3; do
	same "$(rd "$P/mp$n/phase")" Running "RWX and ROX attach on node-$n too (mp$n Running)"
done
check "no Multi-Attach for RWX/ROX" sh -c "! grep -q 'pods/mp[123] Multi-Attach' '$MNT/events'"

# node failure
n2pods="consumer consumer2 mp2"
check "echo false > nodes/node-2/ready" sh -c "echo false > '$MNT/nodes/node-2/ready'"
same "$(rd "$MNT/nodes/node-2/ready")" false "node-2 reads not ready"
check "node-2's Ready condition is no longer True" sh -c "[ \"\$(jq -r '.status.conditions[] | select(.type==\"Ready\") | .status' '$MNT/nodes/node-2/object.json')\" != True ]"
for p in $n2pods; do
	same "$(rd "$P/$p/ready")" false "$p on the failed node is not ready"
	same "$(ready_cond "$P/$p/manifest.yaml")" False "$p's Ready condition is False in manifest.yaml"
done
same "$(rd "$P/mp2/phase")" Running "the phase stays Running"
same "$(rd "$P/mp1/ready")" true "pods on other nodes stay ready"
check "NodeNotReady event on the pod" grep -q 'Warning NodeNotReady namespaces/default/pods/mp2 Node is not ready' "$P/mp2/events"
check "apply a pod for zone-b while node-2 is down" apply <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: avoid}
spec:
  nodeSelector: {topology.kubernetes.io/zone: zone-b}
  containers: [{name: c, image: busybox}]
Y
same "$(rd "$P/avoid/phase")" Pending "taints keep new pods off the failed node"
check "FailedScheduling names the taint" grep -q 'untolerated taint' "$P/avoid/events"
same "$(write_errno "$MNT/nodes/node-2/ready" banana)" EINVAL "echo banana > ready fails with EINVAL"
same "$(rd "$MNT/nodes/node-2/ready")" false "and changes nothing"
check "echo true > nodes/node-2/ready" sh -c "echo true > '$MNT/nodes/node-2/ready'"
same "$(rd "$MNT/nodes/node-2/ready")" true "node-2 healed"
for p in $n2pods; do
	same "$(rd "$P/$p/ready")" true "$p is ready again"
	same "$(ready_cond "$P/$p/manifest.yaml")" True "$p's Ready condition is True again"
done
same "$(rd "$P/avoid/phase"):$(rd "$P/avoid/nodeName")" Running:node-2 "the waiting pod is scheduled on the healed node"

# ============================================================== 3. StatefulSets
check "apply a headless Service and a 3-replica StatefulSet with a claim template" apply <<'Y'
apiVersion: v1
kind: Service
metadata: {name: nginx}
spec:
  clusterIP: None
  selector: {app: nginx}
  ports: [{port: 80, name: web}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: 3
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx, tier: fe}}
    spec:
      containers:
      - name: nginx
        image: nginx
        ports: [{containerPort: 80, name: web}]
        volumeMounts: [{name: www, mountPath: /usr/share/nginx/html}]
  volumeClaimTemplates:
  - metadata: {name: www, labels: {kind: www}}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
Y
same "$(names "$P" web-)" "web-0 web-1 web-2" "pods web-0..2"
same "$(names "$C" www-)" "www-web-0 www-web-1 www-web-2" "claims www-web-0..2 (<template>-<set>-<ordinal>)"
for i in 0 1 2; do
	same "$(rd "$P/web-$i/phase"):$(rd "$C/www-web-$i/phase")" Running:Bound "web-$i Running, www-web-$i Bound"
done
j=$P/web-1/object.json
same "$(jqf "$j" '.metadata.labels["statefulset.kubernetes.io/pod-name"]')" web-1 "label statefulset.kubernetes.io/pod-name"
same "$(jqf "$j" '.metadata.labels["apps.kubernetes.io/pod-index"]')" 1 "label apps.kubernetes.io/pod-index"
check "label controller-revision-hash is web-<10 chars>" sh -c "jq -r '.metadata.labels[\"controller-revision-hash\"]' '$j' | grep -Eqx 'web-[a-z0-9]{10}'"
same "$(jqf "$j" '.metadata.labels.app + "," + .metadata.labels.tier')" nginx,fe "the template's labels"
same "$(jqf "$j" '.spec.hostname + "." + .spec.subdomain')" web-1.nginx "spec.hostname and spec.subdomain"
same "$(jqf "$j" '.metadata.ownerReferences[0] | .kind + "/" + .name + "/" + (.controller|tostring)')" StatefulSet/web/true "controller ownerReference to the set"
same "$(jqf "$C/www-web-1/object.json" '.metadata.labels.app + "," + .metadata.labels.kind')" nginx,www "the claim carries the selector's and the template's labels"
same "$(rd "$P/web-1/ordinal")" 1 "ordinal"
same "$(rd "$P/web-1/owner")" StatefulSet/web "owner"
same "$(rd "$P/web-1/hostname")" web-1 "hostname"
same "$(rd "$P/web-1/fqdn")" web-1.nginx.default.svc.cluster.local "fqdn"
same "$(readlink "$P/web-1/volumes/www")" ../../../persistentvolumeclaims/www-web-1 "web-1's volume www is its claim"
same "$(names "$S/web/ordinals")" "0 1 2" "ordinals/ lists 0 1 2"
same "$(readlink "$S/web/ordinals/2")" ../../../pods/web-2 "ordinals/2 links to web-2"
same "$(rd "$S/web/ordinals/2/phase")" Running "and resolves"
for f in replicas readyReplicas currentReplicas availableReplicas updatedReplicas; do
	same "$(rd "$S/web/$f")" 3 "$f"
done
same "$(rd "$S/web/serviceName")" nginx "serviceName"
same "$(rd "$S/web/podManagementPolicy")" OrderedReady "podManagementPolicy defaults to OrderedReady"
check "OrderedReady: claim, pod, start of each ordinal before the next, in /events" in_order \
	"$(ev 'create Claim www-web-0 Pod web-0 in StatefulSet web success')" \
	"$(ev 'create Pod web-0 in StatefulSet web successful')" \
	"$(ev 'Started namespaces/default/pods/web-0 ')" \
	"$(ev 'create Claim www-web-1 Pod web-1 in StatefulSet web success')" \
	"$(ev 'create Pod web-1 in StatefulSet web successful')" \
	"$(ev 'Started namespaces/default/pods/web-1 ')" \
	"$(ev 'create Claim www-web-2 Pod web-2 in StatefulSet web success')" \
	"$(ev 'create Pod web-2 in StatefulSet web successful')"
check "the set's own events file has them" grep -q 'Normal SuccessfulCreate namespaces/default/statefulsets/web create Pod web-2 in StatefulSet web successful' "$S/web/events"

# a deleted pod comes back: same name, claim and PV, new uid
uid_before=$(jqf "$P/web-1/object.json" .metadata.uid)
claim_uid=$(jqf "$C/www-web-1/object.json" .metadata.uid)
pv_w1=$(rd "$P/web-1/volumes/www/volumeName")
check "rmdir pods/web-1" rmdir "$P/web-1"
same "$(rd "$P/web-1/phase")" Running "web-1 is back and Running"
check "with a new uid" test "$(jqf "$P/web-1/object.json" .metadata.uid)" != "$uid_before"
same "$(jqf "$C/www-web-1/object.json" .metadata.uid)" "$claim_uid" "the same claim"
same "$(rd "$P/web-1/volumes/www/volumeName")" "$pv_w1" "the same PV"
same "$(ev_count 'create Claim www-web-1 ')" 1 "the claim was not created again"
same "$(ev_count 'create Pod web-1 in StatefulSet web successful')" 2 "the pod was created again"
# its claim deleted while in use: Terminating until the pod goes, then made again
check "rmdir persistentvolumeclaims/www-web-1 (in use by web-1)" rmdir "$C/www-web-1"
same "$(rd "$C/www-web-1/status")" Terminating "www-web-1 is Terminating while web-1 runs"
same "$(rd "$P/web-1/phase")" Running "web-1 keeps running"
check "rmdir pods/web-1" rmdir "$P/web-1"
same "$(rd "$P/web-1/phase")" Running "web-1 is back"
check "with a new claim www-web-1" test "$(jqf "$C/www-web-1/object.json" .metadata.uid)" != "$claim_uid"
same "$(rd "$C/www-web-1/status")" Bound "the new claim is Bound"
check "with a new PV" test "$(rd "$P/web-1/volumes/www/volumeName")" != "$pv_w1"
check "the old PV (reclaim Delete) is gone" test ! -e "$MNT/persistentvolumes/$pv_w1"

# scaling
n0=$(wc -l <"$MNT/events")
check "echo 5 > replicas" sh -c "echo 5 > '$S/web/replicas'"
same "$(names "$S/web/ordinals")" "0 1 2 3 4" "scaled up to 5"
same "$(rd "$S/web/readyReplicas")" 5 "readyReplicas 5"
check "web-3 before web-4" in_order "$(ev 'create Pod web-3 in StatefulSet web successful')" "$(ev 'create Pod web-4 in StatefulSet web successful')"
check "echo 2 > replicas" sh -c "echo 2 > '$S/web/replicas'"
same "$(names "$P" web-)" "web-0 web-1" "scaled down to 2"
same "$(tail -n +$((n0 + 1)) "$MNT/events" | grep -o 'delete Pod web-[0-9]* in StatefulSet web successful' | cut -d' ' -f3 | tr '\n' ' ')" "web-4 web-3 web-2 " "scale-down deletes N-1..0"
same "$(names "$C" www-)" "www-web-0 www-web-1 www-web-2 www-web-3 www-web-4" "claims are kept on scale-down (Retain)"
for f in replicas readyReplicas currentReplicas availableReplicas; do
	same "$(rd "$S/web/$f")" 2 "$f after scale-down"
done
same "$(write_errno "$S/web/replicas" "banana
")" EINVAL "echo banana > replicas fails at write(2) with EINVAL"
for v in -1 0x5 5.0 99999999999; do
	same "$(write_errno "$S/web/replicas" "$v")" EINVAL "replicas $v is refused with EINVAL"
done
same "$(rd "$S/web/replicas")" 2 "replicas unchanged after refused writes"
same "$(count "$P" web-)" 2 "no pod changed"
check "FailedApply line for the refused replicas" sh -c "grep 'Warning FailedApply namespaces/default/statefulsets/web/replicas' '$MNT/events' | grep -q banana"

# a selector that does not match the template labels
badsel='apiVersion: apps/v1
kind: StatefulSet
metadata: {name: badsel}
spec:
  serviceName: badsel
  replicas: 1
  selector: {matchLabels: {app: one}}
  template:
    metadata: {labels: {app: two}}
    spec:
      containers: [{name: c, image: busybox}]
'
same "$(create_errno "$S/badsel.yaml" "$badsel")" EINVAL "a selector that does not match the template is refused at close(2) with EINVAL"
check "the set does not exist" test ! -e "$S/badsel"
check "FailedApply: \`selector\` does not match template \`labels\`" sh -c "grep 'Warning FailedApply namespaces/default/statefulsets/badsel.yaml' '$MNT/events' | grep -qF 'spec.template.metadata.labels: Invalid value' && grep 'FailedApply namespaces/default/statefulsets/badsel.yaml' '$MNT/events' | grep -qF '\`selector\` does not match template \`labels\`'"
same "$(create_errno "$MNT/apply" "$badsel")" EINVAL "the same through /apply"

# Parallel, ordinals.start, retention Delete/Delete
check "apply a Parallel set starting at ordinal 5 with whenScaled/whenDeleted Delete" apply <<'Y'
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: par}
spec:
  serviceName: par
  replicas: 3
  podManagementPolicy: Parallel
  ordinals: {start: 5}
  persistentVolumeClaimRetentionPolicy: {whenScaled: Delete, whenDeleted: Delete}
  selector: {matchLabels: {app: par}}
  template:
    metadata: {labels: {app: par}}
    spec:
      containers: [{name: c, image: busybox, volumeMounts: [{name: d, mountPath: /d}]}]
  volumeClaimTemplates:
  - metadata: {name: d}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
Y
same "$(names "$P" par-)" "par-5 par-6 par-7" "spec.ordinals.start: pods par-5..7"
same "$(names "$S/par/ordinals")" "5 6 7" "ordinals/ 5 6 7"
same "$(rd "$P/par-6/ordinal")" 6 "par-6's ordinal"
same "$(jqf "$P/par-6/object.json" '.metadata.labels["apps.kubernetes.io/pod-index"]')" 6 "pod-index label 6"
same "$(rd "$S/par/podManagementPolicy")" Parallel "podManagementPolicy Parallel"
same "$(names "$C" d-par-)" "d-par-5 d-par-6 d-par-7" "claims d-par-5..7"
check "echo 1 > par/replicas" sh -c "echo 1 > '$S/par/replicas'"
same "$(names "$P" par-)" "par-5" "scaled to 1"
same "$(names "$C" d-par-)" "d-par-5" "whenScaled: Delete removed the claims of scaled-down ordinals"
check "rmdir statefulsets/par" rmdir "$S/par"
check "its pods are gone" sh -c "! ls '$P' | grep -q '^par-'"
check "whenDeleted: Delete removed its claims" sh -c "! ls '$C' | grep -q '^d-par-'"

# a pod on a failed node is not replaced while it exists; OrderedReady waits for it
check "apply a 3-replica set kv" apply <<'Y'
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: kv}
spec:
  serviceName: kv
  replicas: 3
  selector: {matchLabels: {app: kv}}
  template:
    metadata: {labels: {app: kv}}
    spec:
      containers: [{name: c, image: busybox}]
Y
fnode=$(rd "$P/kv-1/nodeName")
kv1_uid=$(jqf "$P/kv-1/object.json" .metadata.uid)
up=0
for i in 0 1 2; do [ "$(rd "$P/kv-$i/nodeName")" = "$fnode" ] || up=$((up + 1)); done
check "echo false > nodes/$fnode/ready (kv-1's node)" sh -c "echo false > '$MNT/nodes/$fnode/ready'"
same "$(rd "$P/kv-1/ready"):$(rd "$P/kv-1/phase")" false:Running "kv-1 is not ready, still Running"
same "$(jqf "$P/kv-1/object.json" .metadata.uid)" "$kv1_uid" "kv-1 is not replaced while it exists"
same "$(count "$P" kv-)" 3 "no extra pod"
same "$(rd "$S/kv/readyReplicas")" "$up" "readyReplicas counts the pods on healthy nodes"
same "$(rd "$S/kv/availableReplicas")" "$up" "availableReplicas too"
same "$(rd "$S/kv/currentReplicas")" 3 "currentReplicas still 3"
check "echo 4 > kv/replicas" sh -c "echo 4 > '$S/kv/replicas'"
check "OrderedReady: kv-3 is not created while kv-1 is not ready" test ! -e "$P/kv-3"
check "echo true > nodes/$fnode/ready" sh -c "echo true > '$MNT/nodes/$fnode/ready'"
same "$(rd "$P/kv-3/phase")" Running "kv-3 is created once kv-1 recovers"
same "$(rd "$S/kv/readyReplicas")" 4 "readyReplicas 4"
same "$(jqf "$P/kv-1/object.json" .metadata.uid)" "$kv1_uid" "kv-1 was never replaced"

# deploy_yaml NAME NODE [STRATEGY]: a Deployment of one pod pinned to NODE and mounting
# the RWO claim NAME-data, with that claim first (NAME=... CLAIM=0 leaves it out);
# STRATEGY is the spec.strategy flow map, if any.
deploy_yaml() {
	local name=$1 node=$2 strategy=${3:-}
	if [ "${CLAIM:-1}" = 1 ]; then
		printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: %s-data}\n' "$name"
		printf 'spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n---\n'
	fi
	cat <<Y
apiVersion: apps/v1
kind: Deployment
metadata: {name: $name}
spec:
  replicas: 1
${strategy:+  strategy: $strategy
}  selector: {matchLabels: {app: $name}}
  template:
    metadata: {labels: {app: $name}}
    spec:
      nodeSelector: {kubernetes.io/hostname: $node}
      containers: [{name: c, image: busybox, volumeMounts: [{name: d, mountPath: /d}]}]
      volumes: [{name: d, persistentVolumeClaim: {claimName: $name-data}}]
Y
}

# ============================================================== 4. Deployments
deploy_yaml app node-1 >"$T_TMP/app.yaml"
check "apply an RWO claim and a RollingUpdate Deployment on node-1 mounting it" sh -c "cat '$T_TMP/app.yaml' > '$MNT/apply'"
old=$(names "$P" app-)
check "the pod is named app-<pod-template-hash>-<5 chars> ($old)" sh -c "echo '$old' | grep -Eqx 'app-[a-z0-9]{1,10}-[a-z0-9]{5}'"
hash=$(jqf "$P/$old/object.json" '.metadata.labels["pod-template-hash"]')
same "${old%-*}" "app-$hash" "the middle part is the pod-template-hash label"
check "its ReplicaSet app-$hash exists" test -d "$NS/replicasets/app-$hash"
same "$(rd "$P/$old/owner")" "ReplicaSet/app-$hash" "owner is the ReplicaSet"
same "$(rd "$P/$old/phase"):$(rd "$P/$old/nodeName")" Running:node-1 "the pod runs on node-1"
same "$(rd "$NS/deployments/app/strategy")" RollingUpdate "strategy defaults to RollingUpdate"
for f in replicas readyReplicas updatedReplicas availableReplicas; do
	same "$(rd "$NS/deployments/app/$f")" 1 "deployment $f"
done
pv_app=$(rd "$C/app-data/volumeName")
CLAIM=0 deploy_yaml app node-2 >"$T_TMP/app.yaml"
check "re-apply with the template on node-2 (RollingUpdate)" sh -c "cat '$T_TMP/app.yaml' > '$MNT/apply'"
new=$(names "$P" app- | tr ' ' '\n' | grep -vx "$old")
same "$(echo "$new" | wc -w)" 1 "RollingUpdate starts one new pod"
same "$(rd "$P/$old/phase")" Running "the old pod keeps running"
same "$(rd "$P/$new/nodeName"):$(rd "$P/$new/status")" node-2:ContainerCreating "the new pod is on node-2, stuck in ContainerCreating"
check "the new pod hits Multi-Attach naming the old pod" grep -qF "Warning FailedAttachVolume namespaces/default/pods/$new Multi-Attach error for volume \"$pv_app\" Volume is already used by pod(s) $old" "$P/$new/events"
same "$(count "$NS/replicasets" app-)" 2 "two ReplicaSets"
same "$(rd "$NS/deployments/app/readyReplicas")" 1 "readyReplicas stays 1 (the old pod)"

for n in 1 2; do
	deploy_yaml ms node-$n "{type: RollingUpdate, rollingUpdate: {maxSurge: 0, maxUnavailable: 1}}" >"$T_TMP/ms.yaml"
	check "apply a RollingUpdate Deployment with maxSurge 0, maxUnavailable 1, on node-$n" sh -c "cat '$T_TMP/ms.yaml' > '$MNT/apply'"
done
mpod=$(names "$P" ms-)
same "$(echo "$mpod" | wc -w)" 1 "maxSurge 0: one pod"
same "$(rd "$P/$mpod/phase"):$(rd "$P/$mpod/nodeName")" Running:node-2 "maxSurge 0: the new pod runs on node-2"
check "maxSurge 0: no Multi-Attach" sh -c "! grep -q 'FailedAttachVolume namespaces/default/pods/ms-' '$MNT/events'"

deploy_yaml rec node-1 "{type: Recreate}" >"$T_TMP/rec.yaml"
check "apply a Recreate Deployment on node-1" sh -c "cat '$T_TMP/rec.yaml' > '$MNT/apply'"
rold=$(names "$P" rec-)
same "$(rd "$NS/deployments/rec/strategy")" Recreate "strategy Recreate"
CLAIM=0 deploy_yaml rec node-2 "{type: Recreate}" >"$T_TMP/rec.yaml"
check "re-apply the Recreate Deployment on node-2" sh -c "cat '$T_TMP/rec.yaml' > '$MNT/apply'"
rnew=$(names "$P" rec-)
check "the old pod is gone" test ! -e "$P/$rold"
same "$(echo "$rnew" | wc -w)" 1 "one pod"
same "$(rd "$P/$rnew/phase"):$(rd "$P/$rnew/nodeName")" Running:node-2 "Recreate: the new pod runs on node-2"
check "no Multi-Attach for the Recreate Deployment" sh -c "! grep -q 'FailedAttachVolume namespaces/default/pods/rec-' '$MNT/events'"
check "scaled down the old ReplicaSet before scaling up the new" in_order "$(ev "Scaled down replica set ${rold%-*} from 1 to 0")" "$(ev "Scaled up replica set ${rnew%-*} from 0 to 1")"
check "echo 3 > deployments/rec/replicas" sh -c "echo 3 > '$NS/deployments/rec/replicas'"
same "$(count "$P" rec-)" 3 "the Deployment scaled to 3 pods"
same "$(rd "$NS/deployments/rec/readyReplicas")" 3 "readyReplicas 3 (RWO shared on node-2)"
same "$(write_errno "$NS/deployments/rec/replicas" banana)" EINVAL "deployment replicas: banana is EINVAL"
check "echo 1 > deployments/rec/replicas" sh -c "echo 1 > '$NS/deployments/rec/replicas'"
same "$(count "$P" rec-)" 1 "scaled back to 1"

# ============================================================== 5. Services and DNS
check "apply a ClusterIP Service for rec" apply <<'Y'
apiVersion: v1
kind: Service
metadata: {name: front}
spec:
  selector: {app: rec}
  ports: [{port: 80, name: http, protocol: TCP}]
Y
cip=$(rd "$NS/services/front/clusterIP")
check "a ClusterIP Service gets an IP in 10.96.0.0/16 ($cip)" sh -c "echo '$cip' | grep -Eqx '10\.96\.[0-9]+\.[0-9]+'"
same "$(rd "$NS/services/front/type")" ClusterIP "type ClusterIP"
rpod=$(names "$P" rec-)
same "$(rd "$NS/services/front/endpoints")" "$(rd "$P/$rpod/podIP") $rpod" "endpoints: the ready pod"
check "/dns: A record of the ClusterIP Service" grep -qx "front.default.svc.cluster.local. 30 IN A $cip" "$MNT/dns"
check "/dns: SRV of a ClusterIP Service targets the Service" grep -qx "_http._tcp.front.default.svc.cluster.local. 30 IN SRV [0-9]* [0-9]* 80 front.default.svc.cluster.local." "$MNT/dns"

same "$(rd "$NS/services/nginx/clusterIP")" None "a headless Service's clusterIP is None"
ep_want=$(for i in 0 1; do echo "$(rd "$P/web-$i/podIP") web-$i"; done)
same "$(rd "$NS/services/nginx/endpoints")" "$ep_want" "endpoints: <ip> <pod> of the ready pods"
dns=$(rd "$MNT/dns")
for i in 0 1; do
	wip=$(rd "$P/web-$i/podIP")
	check "/dns: A nginx.default.svc.cluster.local -> web-$i's IP" sh -c "echo \"\$1\" | grep -qx 'nginx.default.svc.cluster.local. 30 IN A $wip'" _ "$dns"
	check "/dns: A web-$i.nginx.default.svc.cluster.local" sh -c "echo \"\$1\" | grep -qx 'web-$i.nginx.default.svc.cluster.local. 30 IN A $wip'" _ "$dns"
	check "/dns: SRV _web._tcp.nginx... -> web-$i" sh -c "echo \"\$1\" | grep -qx '_web._tcp.nginx.default.svc.cluster.local. 30 IN SRV [0-9]* [0-9]* 80 web-$i.nginx.default.svc.cluster.local.'" _ "$dns"
done
same "$(echo "$dns" | grep -c '^nginx.default.svc.cluster.local. 30 IN A ')" 2 "one service A record per ready pod"
sdns=$(rd "$NS/services/nginx/dns")
same "$(echo "$sdns" | grep -cvxF -e "$dns")" 0 "every line of services/nginx/dns is in /dns"
same "$(echo "$dns" | grep -c 'nginx\.default\.svc')" "$(echo "$sdns" | grep -c 'nginx\.default\.svc')" "services/nginx/dns holds all of nginx's lines of /dns"
check "/dns: dns-version record" grep -qx 'dns-version.cluster.local. 30 IN TXT "1.0.1"' "$MNT/dns"

# publishNotReadyAddresses, and a not-ready pod leaving DNS otherwise
fnode=$(rd "$P/web-0/nodeName")
check "apply a headless Service with publishNotReadyAddresses and a set on $fnode" apply <<Y
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector: {app: db}
  ports: [{port: 5432, name: pg}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      nodeSelector: {kubernetes.io/hostname: $fnode}
      containers: [{name: c, image: postgres}]
Y
dbip=$(rd "$P/db-0/podIP")
check "echo false > nodes/$fnode/ready (web-0's and db-0's node)" sh -c "echo false > '$MNT/nodes/$fnode/ready'"
same "$(rd "$P/web-0/ready"):$(rd "$P/db-0/ready")" false:false "web-0 and db-0 are not ready"
check "web-0 leaves /dns" sh -c "! grep -q '^web-0.nginx.default' '$MNT/dns'"
check "web-0 leaves nginx's endpoints" sh -c "! grep -q ' web-0\$' '$NS/services/nginx/endpoints'"
check "web-0's IP leaves the service A records" sh -c "! grep -qx 'nginx.default.svc.cluster.local. 30 IN A $(rd "$P/web-0/podIP")' '$MNT/dns'"
check "web-0 leaves the SRV targets" sh -c "! grep -q 'IN SRV .* web-0.nginx' '$MNT/dns'"
check "publishNotReadyAddresses keeps db-0 in /dns" grep -qx "db-0.db.default.svc.cluster.local. 30 IN A $dbip" "$MNT/dns"
check "and in db's endpoints" grep -qx "$dbip db-0" "$NS/services/db/endpoints"
check "echo true > nodes/$fnode/ready" sh -c "echo true > '$MNT/nodes/$fnode/ready'"
check "web-0 is back in /dns" grep -q '^web-0.nginx.default.svc.cluster.local. 30 IN A ' "$MNT/dns"

# deleting the StatefulSet leaves its claims and its Service
check "rmdir statefulsets/web" rmdir "$S/web"
check "its pods are gone" sh -c "! ls '$P' | grep -q '^web-'"
same "$(names "$C" www-)" "www-web-0 www-web-1 www-web-2 www-web-3 www-web-4" "its claims stay (default Retain)"
same "$(rd "$C/www-web-0/phase")" Bound "and stay Bound"
check "its Service stays" test -d "$NS/services/nginx"
check "no web pod left in /dns" sh -c "! grep -q '^web-' '$MNT/dns'"

# ============================================================== 6. Real manifests
check "Cassandra: cat cassandra-service.yaml > apply" sh -c "cat '$EX/databases/cassandra/cassandra-service.yaml' > '$MNT/apply'"
check "Cassandra: cat cassandra-statefulset.yaml > apply" sh -c "cat '$EX/databases/cassandra/cassandra-statefulset.yaml' > '$MNT/apply'"
check "StorageClass fast, defined after the set, exists" test -d "$MNT/storageclasses/fast"
for i in 0 1 2; do
	same "$(rd "$C/cassandra-data-cassandra-$i/phase"):$(rd "$C/cassandra-data-cassandra-$i/storageClassName")" Bound:fast "cassandra-data-cassandra-$i Bound with class fast"
	same "$(rd "$P/cassandra-$i/phase")" Running "cassandra-$i Running"
done
same "$(rd "$P/cassandra-0/fqdn")" cassandra-0.cassandra.default.svc.cluster.local "cassandra-0's fqdn (the seed in CASSANDRA_SEEDS)"
check "/dns: cassandra-0.cassandra.default.svc.cluster.local" grep -qx "cassandra-0.cassandra.default.svc.cluster.local. 30 IN A $(rd "$P/cassandra-0/podIP")" "$MNT/dns"
same "$(grep -c '^cassandra.default.svc.cluster.local. 30 IN A ' "$MNT/dns")" 3 "three A records for the cassandra Service"
check "no SRV for cassandra's unnamed port" sh -c "! grep -q '^_[^ ]*cassandra.default.svc' '$MNT/dns'"

check "MinIO: cat minio-distributed-headless-service.yaml > apply" sh -c "cat '$EX/_archived/storage/minio/minio-distributed-headless-service.yaml' > '$MNT/apply'"
check "MinIO: cat minio-distributed-statefulset.yaml > apply" sh -c "cat '$EX/_archived/storage/minio/minio-distributed-statefulset.yaml' > '$MNT/apply'"
for i in 0 1 2 3; do
	same "$(rd "$C/data-minio-$i/phase")" Bound "data-minio-$i Bound"
done
for i in 0 1 2; do
	same "$(rd "$P/minio-$i/phase")" Running "minio-$i Running"
done
same "$(for i in 0 1 2; do rd "$P/minio-$i/nodeName"; done | sort -u | wc -l)" 3 "hostPort 9000: one minio pod per node"
same "$(rd "$P/minio-3/phase"):$(rd "$P/minio-3/nodeName")" Pending: "minio-3 Pending: a fourth hostPort 9000 has no node"
check "FailedScheduling: didn't have free ports" grep -q "Warning FailedScheduling namespaces/default/pods/minio-3 0/3 nodes are available: 3 node(s) didn't have free ports for the requested pod ports" "$P/minio-3/events"
same "$(rd "$S/minio/readyReplicas")" 3 "minio readyReplicas 3"
for i in 0 1 2; do
	check "/dns: SRV _minio._tcp.minio -> minio-$i" grep -qx "_minio._tcp.minio.default.svc.cluster.local. 30 IN SRV [0-9]* [0-9]* 9000 minio-$i.minio.default.svc.cluster.local." "$MNT/dns"
done
check "no SRV or A record for the Pending minio-3" sh -c "! grep -q 'minio-3.minio' '$MNT/dns'"

t_umount

# ============================================================== 7. Time (a second mount, its own state)
# shellcheck disable=SC2034 # lib.sh's t_mount uses it: a second, separate state
STATE=$T_TMP/state2
t_mount --pod-start-delay 400ms
t0=$(date +%s%N)
check "apply a 3-replica OrderedReady set with --pod-start-delay 400ms" apply <<'Y'
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: nginx}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
Y
ms=$((($(date +%s%N) - t0) / 1000000))
p0=$(rd "$P/web-0/phase")
same "$p0" Pending "the write returned before web-0 started (${ms} ms)"
same "$(rd "$P/web-0/status")" ContainerCreating "web-0 is ContainerCreating meanwhile"
# Poll: web-<i+1> must never exist while web-<i> is not Running (existence is read
# first, then the phase: a pod seen created implies its predecessor was Running by then).
viol=""
seen=""
deadline=$(($(date +%s) + 10))
while [ "$(date +%s)" -lt "$deadline" ]; do
	for i in 0 1; do
		if [ -d "$P/web-$((i + 1))" ]; then
			ph=$(rd "$P/web-$i/phase")
			[ "$ph" = Running ] || viol="$viol web-$((i + 1)) exists while web-$i is ${ph:-gone};"
		fi
	done
	st=$(for i in 0 1 2; do
		[ -d "$P/web-$i" ] && printf 'web-%s=%s ' $i "$(rd "$P/web-$i/phase")"
	done)
	[ "$st" = "$(echo "$seen" | tail -1)" ] || seen="$seen
$st"
	[ "$(rd "$P/web-2/phase")" = Running ] && break
	sleep 0.02
done
same "$viol" "" "OrderedReady: no pod exists before its predecessor is Running"
for i in 0 1 2; do
	same "$(rd "$P/web-$i/phase")" Running "web-$i Running in the end"
done
check "pods appeared one at a time (web-0 alone, then web-0 and web-1 Pending, ...)" sh -c "echo \"\$1\" | grep -qx 'web-0=Pending ' && echo \"\$1\" | grep -qx 'web-0=Running web-1=Pending ' && echo \"\$1\" | grep -qx 'web-0=Running web-1=Running web-2=Pending '" _ "$seen"
check "started in order web-0, web-1, web-2" in_order "$(ev 'Started namespaces/default/pods/web-0 ')" "$(ev 'create Pod web-1 in StatefulSet web successful')" "$(ev 'Started namespaces/default/pods/web-1 ')" "$(ev 'create Pod web-2 in StatefulSet web successful')" "$(ev 'Started namespaces/default/pods/web-2 ')"
check "apply a 3-replica Parallel set" apply <<'Y'
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: par}
spec:
  serviceName: par
  replicas: 3
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: par}}
  template:
    metadata: {labels: {app: par}}
    spec:
      containers: [{name: c, image: nginx}]
Y
same "$(for i in 0 1 2; do rd "$P/par-$i/phase"; done | tr '\n' ' ')" "Pending Pending Pending " "Parallel: all three pods exist at once, none started yet"
deadline=$(($(date +%s) + 10))
while [ "$(date +%s)" -lt "$deadline" ]; do
	[ "$(for i in 0 1 2; do rd "$P/par-$i/phase"; done | tr '\n' ' ')" = "Running Running Running " ] && break
	sleep 0.02
done
same "$(for i in 0 1 2; do rd "$P/par-$i/phase"; done | tr '\n' ' ')" "Running Running Running " "Parallel: all three Running"
t_umount

t_report
