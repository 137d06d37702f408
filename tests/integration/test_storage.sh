#!/usr/bin/env bash
# Mount test of the storage control plane, driven the way a user would with shell tools
# (cp of claim files into persistentvolumeclaims/, cat > apply, cat of attribute files,
# rmdir, echo N > storage; python3 for errnos, object.json fields and .table columns):
#   - the seed's claim (goserver-pvc, 5Gi RWO): provisioned and Bound, pvc-<uid>, links
#     both ways, events, the annotations and finalizers Kubernetes sets; canonical quantities
#   - static binding (FindMatchingVolume): smallest sufficient capacity, fewest access
#     modes first, volumeMode, label selectors, pre-binding both ways, late PVs, class ""
#   - a class's pool: exhaustion (ProvisioningFailed) and recovery without another write
#   - the default class, retroactive assignment
#   - reclaim policies Delete, Retain, Recycle
#   - expansion (growth, shrink refused, beyond the pool, class without expansion)
#   - immutable fields of a bound claim (manifest.yaml and /apply)
#   - protection: a claim in use stays Terminating until its pod is gone
#   - WaitForFirstConsumer
#   - real manifests of kubernetes/examples, applied unchanged
#   - 8 concurrent writers; a claim named like a manifest file (odd.yaml)
#   - state across a remount and a kill -9
# Run at the project's root: bash tests/integration/test_storage.sh
set -u
. "$(dirname "$0")/lib.sh"

EX=tests/data/kubernetes-examples
PVCS=$NS/persistentvolumeclaims
PVS=$MNT/persistentvolumes
SCS=$MNT/storageclasses
Y=$T_TMP/yaml
mkdir -p "$Y"

# put DIR NAME: the manifest on stdin is written to $Y/NAME.yaml, then cp'd into DIR
put() { cat >"$Y/$2.yaml" && cp "$Y/$2.yaml" "$1/"; }
rd() { cat "$1" 2>/dev/null; }
# field FILE PYEXPR: a value of object.json (d is the object), '' when absent
field() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
try:
    v = eval(sys.argv[2])
except (KeyError, IndexError, TypeError):
    v = ""
print(v if v is not None else "")' "$1" "$2" 2>/dev/null
}
# bytes_of QUANTITY: the quantity in bytes
bytes_of() {
	python3 -c '
import importlib.util, sys
spec = importlib.util.spec_from_file_location("inv", "scripts/check-invariants.py")
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
print(m.quantity_bytes(sys.argv[1]))' "$1" 2>/dev/null || echo 0
}
uid_of() { field "$1/object.json" 'd["metadata"]["uid"]'; }
# link_is LINK DIR: LINK resolves to the directory DIR
link_is() { [ -L "$1" ] && [ "$(cd "$1" 2>/dev/null && pwd -P)" = "$(cd "$2" 2>/dev/null && pwd -P)" ]; }
# ev FILE [TYPE ]REASON OBJPATH [MESSAGE-FRAGMENT]: an event line of FILE has that reason
# (and type: Normal or Warning) for that object (and that fixed-string message fragment)
ev() {
	local f=$1 r=$2 o=$3
	case $r in Normal\ * | Warning\ *) ;; *) r="(Normal|Warning) $r" ;; esac
	if [ $# -ge 4 ]; then
		grep -E "^[^ ]+ $r $o " "$f" 2>/dev/null | grep -qF -- "$4"
	else
		grep -Eq "^[^ ]+ $r $o " "$f" 2>/dev/null
	fi
}
nev() { ev "$@" && return 1 || return 0; }
# write_errno FILE VALUE: write(2) of VALUE to FILE (O_TRUNC): OK or the errno's name
write_errno() {
	python3 -c '
import errno, os, sys
try:
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, sys.argv[2].encode())
    finally:
        os.close(fd)
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])' "$1" "$2"
}
# close_errno TARGET SOURCE [create]: SOURCE's bytes written to TARGET, the result of the
# whole open/write/close (manifests are applied at close): OK or the errno's name
close_errno() {
	python3 -c '
import errno, os, sys
flags = os.O_WRONLY | os.O_TRUNC | (os.O_CREAT if len(sys.argv) > 3 else 0)
try:
    fd = os.open(sys.argv[1], flags, 0o644)
    try:
        os.write(fd, open(sys.argv[2], "rb").read())
    except OSError:
        os.close(fd)
        raise
    os.close(fd)
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])' "$@"
}
# claim NAME SIZE [CLASS-LINE] [MODES] [EXTRA-SPEC-LINES]: a claim manifest on stdout
claim() {
	printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: %s\nspec:\n  accessModes: [%s]\n  resources:\n    requests:\n      storage: %s\n' \
		"$1" "${4:-ReadWriteOnce}" "$2"
	[ -n "${3:-}" ] && printf '  %s\n' "$3"
	[ -n "${5:-}" ] && printf '%s\n' "$5"
	return 0
}
# pv NAME SIZE CLASS [MODES] [EXTRA-SPEC-LINES] [LABELS]: a hostPath PV manifest on stdout
pv() {
	printf 'apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: %s\n' "$1"
	[ -n "${6:-}" ] && printf '  labels: {%s}\n' "$6"
	printf 'spec:\n  capacity:\n    storage: %s\n  accessModes: [%s]\n  storageClassName: "%s"\n  hostPath: {path: /srv/%s}\n' \
		"$2" "${4:-ReadWriteOnce}" "$3" "$1"
	[ -n "${5:-}" ] && printf '%s\n' "$5"
	return 0
}
# static_class NAME: a StorageClass without dynamic provisioning
static_class() {
	printf 'apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: %s\nprovisioner: kubernetes.io/no-provisioner\nvolumeBindingMode: Immediate\n' "$1"
}
# pool_class NAME CAPACITY RECLAIM EXPANSION [BINDING-MODE]: a class of the simulated backend
pool_class() {
	printf 'apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: %s\nprovisioner: claimfs.io/simulated\nparameters:\n  capacity: %s\nreclaimPolicy: %s\nallowVolumeExpansion: %s\nvolumeBindingMode: %s\n' \
		"$1" "$2" "$3" "$4" "${5:-Immediate}"
}
# pod NAME CLAIM...: a pod mounting those claims
pod() {
	local n=$1 c i=0
	shift
	printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n  containers:\n  - name: app\n    image: busybox\n    volumeMounts:\n' "$n"
	for c in "$@"; do printf '    - {name: v%d, mountPath: /data%d}\n' $i $i; i=$((i + 1)); done
	printf '  volumes:\n'
	i=0
	for c in "$@"; do printf '  - name: v%d\n    persistentVolumeClaim: {claimName: %s}\n' $i "$c"; i=$((i + 1)); done
}
# bound_volumes: the volumeName of every Bound claim, one a line
bound_volumes() {
	local c
	for c in "$PVCS"/*/; do [ "$(rd "$c/phase")" = Bound ] && rd "$c/volumeName"; done
	return 0
}
# table_col FILE NAME COLUMN-HEADER: the cell of row NAME in that column of a .table
table_col() {
	python3 -c '
import re, sys
lines = open(sys.argv[1]).read().splitlines()
if not lines:
    sys.exit(0)
head = lines[0]
starts = [m.start() for m in re.finditer(r"\S+(?: \S+)*", head)]
names = [head[s:].split("  ")[0].strip() for s in starts]
col = names.index(sys.argv[3])
for row in lines[1:]:
    if row.split()[0] == sys.argv[2]:
        end = starts[col + 1] if col + 1 < len(starts) else len(row)
        print(row[starts[col]:end].strip())' "$1" "$2" "$3" 2>/dev/null
}

t_mount --pod-start-delay 0ms --provision-delay 0ms
T0=$(date +%s.%N)

# ============================================================================ 1. the seed
cat >"$Y/goserver-pvc.yaml" <<'E'
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: goserver-pvc
spec:
  accessModes:
    - ReadWriteOnce
  resources:
    requests:
      storage: 5Gi
E
check "seed: cp goserver-pvc.yaml into persistentvolumeclaims/ succeeds" cp "$Y/goserver-pvc.yaml" "$PVCS/"
check "seed: the claim's directory appears" test -d "$PVCS/goserver-pvc"
check "seed: the copied file itself is not kept" test ! -e "$PVCS/goserver-pvc.yaml"
C=$PVCS/goserver-pvc
GUID=$(uid_of "$C")
GPV=$(rd "$C/volumeName")
same "$(rd "$C/phase")" Bound "seed: goserver-pvc is Bound"
check "seed: the claim has a uid ($GUID)" sh -c "echo '$GUID' | grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'"
same "$GPV" "pvc-$GUID" "seed: volumeName is pvc-<the claim's uid>"
same "$(rd "$C/storageClassName")" standard "seed: no class given, the default class standard is filled in"
same "$(rd "$C/storage")" 5Gi "seed: storage reads 5Gi"
same "$(rd "$C/capacity")" 5Gi "seed: the claim's capacity is 5Gi"
same "$(rd "$C/accessModes")" ReadWriteOnce "seed: accessModes reads ReadWriteOnce"
same "$(rd "$C/volumeMode")" Filesystem "seed: volumeMode defaults to Filesystem"
same "$(rd "$PVS/$GPV/phase")" Bound "seed: the PV is Bound"
same "$(rd "$PVS/$GPV/capacity")" 5Gi "seed: the PV's capacity is 5Gi"
same "$(rd "$PVS/$GPV/claimRef")" default/goserver-pvc "seed: the PV's claimRef is default/goserver-pvc"
same "$(field "$PVS/$GPV/object.json" 'd["spec"]["claimRef"]["uid"]')" "$GUID" "seed: the PV's claimRef carries the claim's uid"
same "$(rd "$PVS/$GPV/reclaimPolicy")" Delete "seed: the PV takes the class's reclaim policy (Delete)"
same "$(rd "$PVS/$GPV/storageClassName")" standard "seed: the PV's class is standard"
same "$(readlink "$C/volume")" "../../../../persistentvolumes/$GPV" "seed: volume -> ../../../../persistentvolumes/<pv>"
check "seed: the claim's volume link resolves to the PV" link_is "$C/volume" "$PVS/$GPV"
same "$(readlink "$PVS/$GPV/claim")" ../../namespaces/default/persistentvolumeclaims/goserver-pvc "seed: claim -> ../../namespaces/default/persistentvolumeclaims/goserver-pvc"
check "seed: the PV's claim link resolves to the claim" link_is "$PVS/$GPV/claim" "$C"
check "seed: ProvisioningSucceeded in the claim's events" ev "$C/events" "Normal ProvisioningSucceeded" namespaces/default/persistentvolumeclaims/goserver-pvc "$GPV"
check "seed: ProvisioningSucceeded in /events" ev "$MNT/events" "Normal ProvisioningSucceeded" namespaces/default/persistentvolumeclaims/goserver-pvc "Successfully provisioned volume $GPV"
check "seed: ExternalProvisioning and Provisioning come first in /events" sh -c "grep -E ' (ExternalProvisioning|Provisioning|ProvisioningSucceeded) namespaces/default/persistentvolumeclaims/goserver-pvc ' '$MNT/events' | awk '{print \$3}' | tr '\n' ' ' | grep -qx 'ExternalProvisioning Provisioning ProvisioningSucceeded '"
check "seed: manifest.yaml has pv.kubernetes.io/bind-completed" grep -Eq "^    pv.kubernetes.io/bind-completed: \"?yes\"?$" "$C/manifest.yaml"
check "seed: manifest.yaml has pv.kubernetes.io/bound-by-controller" grep -Eq "^    pv.kubernetes.io/bound-by-controller: \"?yes\"?$" "$C/manifest.yaml"
check "seed: manifest.yaml has volume.kubernetes.io/storage-provisioner" grep -Eq "^    volume.kubernetes.io/storage-provisioner: claimfs.io/simulated$" "$C/manifest.yaml"
check "seed: manifest.yaml has the finalizer kubernetes.io/pvc-protection" grep -Eq "^  - kubernetes.io/pvc-protection$" "$C/manifest.yaml"
check "seed: manifest.yaml shows phase Bound" grep -Eq "^  phase: Bound$" "$C/manifest.yaml"
check "seed: the PV has pv.kubernetes.io/provisioned-by" grep -Eq "^    pv.kubernetes.io/provisioned-by: claimfs.io/simulated$" "$PVS/$GPV/manifest.yaml"
check "seed: the PV has the finalizer kubernetes.io/pv-protection" grep -Eq "^  - kubernetes.io/pv-protection$" "$PVS/$GPV/manifest.yaml"
same "$(field "$C/object.json" 'd["metadata"]["finalizers"]')" "['kubernetes.io/pvc-protection']" "seed: object.json agrees on the claim's finalizers"
same "$(table_col "$PVCS/.table" goserver-pvc STATUS)" Bound "seed: .table STATUS Bound"
same "$(table_col "$PVCS/.table" goserver-pvc VOLUME)" "$GPV" "seed: .table VOLUME"
same "$(table_col "$PVCS/.table" goserver-pvc CAPACITY)" 5Gi "seed: .table CAPACITY"
same "$(table_col "$PVCS/.table" goserver-pvc "ACCESS MODES")" RWO "seed: .table ACCESS MODES"
same "$(table_col "$PVS/.table" "$GPV" CLAIM)" default/goserver-pvc "seed: the PV table's CLAIM"
check "seed: /metrics has kube_persistentvolumeclaim_status_phase Bound 1" grep -qx 'kube_persistentvolumeclaim_status_phase{namespace="default",persistentvolumeclaim="goserver-pvc",phase="Bound"} 1' "$MNT/metrics"

# canonical quantities (the API server stores the canonical form)
for q in "1.5Gi 1536Mi" "2048Mi 2Gi" "0.5Gi 512Mi" "1.5G 1500M" "1000Mi 1000Mi"; do
	read -r asked canon <<<"$q"
	n=q-$(echo "$asked" | tr 'A-Z.' 'a-z-')
	claim "$n" "$asked" | put "$PVCS" "$n"
	same "$(rd "$PVCS/$n/storage")" "$canon" "quantity: a claim of $asked shows storage $canon"
	same "$(rd "$PVCS/$n/capacity")" "$canon" "quantity: its capacity is $canon"
	same "$(rd "$PVS/$(rd "$PVCS/$n/volumeName")/capacity")" "$canon" "quantity: its PV's capacity is $canon"
done
check "quantity: manifest.yaml of the 1.5Gi claim says 1536Mi" grep -Eq '^      storage: 1536Mi$' "$PVCS/q-1-5gi/manifest.yaml"
for q in 1-5gi 2048mi 0-5gi 1-5g 1000mi; do rmdir "$PVCS/q-$q"; done
check "quantity: the claims are gone with their Delete PVs" sh -c "! ls '$PVCS' | grep -q '^q-' && [ \"\$(cat '$SCS/standard/allocated')\" = 5Gi ]"

# ============================================================================ 2. static binding
# class "": the smallest sufficient capacity wins
for p in "st-10g 10Gi" "st-2g 2Gi" "st-3g 3Gi" "st-1g 1Gi"; do
	read -r name size <<<"$p"
	pv "$name" "$size" "" | put "$PVS" "$name"
done
same "$(rd "$PVS/st-2g/phase")" Available "static: a new PV without claimRef is Available"
same "$(rd "$PVS/st-2g/reclaimPolicy")" Retain "static: a PV created directly defaults to Retain"
claim st-c1 1500Mi 'storageClassName: ""' | put "$PVCS" st-c1
same "$(rd "$PVCS/st-c1/phase")" Bound "static: a 1500Mi claim of class \"\" is Bound"
same "$(rd "$PVCS/st-c1/volumeName")" st-2g "static: the smallest sufficient PV (2Gi, not 1Gi, 3Gi or 10Gi) wins"
same "$(rd "$PVCS/st-c1/capacity")" 2Gi "static: the claim's capacity is the PV's (2Gi)"
same "$(rd "$PVS/st-2g/claimRef")" default/st-c1 "static: the PV's claimRef names the claim"
check "static: the PV carries bound-by-controller" grep -Eq 'pv.kubernetes.io/bound-by-controller: "?yes"?' "$PVS/st-2g/manifest.yaml"
check "static: no provisioning for class \"\"" nev "$MNT/events" '[A-Za-z]*Provision[a-z]*' namespaces/default/persistentvolumeclaims/st-c1
claim st-c2 2Gi 'storageClassName: ""' | put "$PVCS" st-c2
same "$(rd "$PVCS/st-c2/volumeName")" st-3g "static: the next 2Gi claim takes 3Gi (2Gi is taken)"
claim st-c3 1Gi 'storageClassName: ""' | put "$PVCS" st-c3
same "$(rd "$PVCS/st-c3/volumeName")" st-1g "static: a 1Gi claim takes the 1Gi PV (equal size fits)"
# class "", no fitting PV: Pending, FailedBinding; a fitting PV appearing later binds it
claim st-big 50Gi 'storageClassName: ""' | put "$PVCS" st-big
same "$(rd "$PVCS/st-big/phase")" Pending "static: a 50Gi claim of class \"\" with no fitting PV stays Pending"
same "$(rd "$PVCS/st-big/storageClassName")" "" "static: its class stays \"\" (no default filled in)"
same "$(rd "$PVCS/st-big/volumeName")" "" "static: its volumeName is empty"
same "$(rd "$PVCS/st-big/capacity")" "" "static: a Pending claim shows no capacity"
check "static: FailedBinding 'no persistent volumes available for this claim and no storage class is set'" \
	ev "$MNT/events" "Normal FailedBinding" namespaces/default/persistentvolumeclaims/st-big "no persistent volumes available for this claim and no storage class is set"
check "static: ... in the claim's own events too" ev "$PVCS/st-big/events" FailedBinding namespaces/default/persistentvolumeclaims/st-big "no persistent volumes available"
check "static: st-10g (too small) was not taken" test "$(rd "$PVS/st-10g/phase")" = Available
same "$(table_col "$PVCS/.table" st-big STATUS)" Pending "static: .table STATUS Pending"
same "$(table_col "$PVCS/.table" st-big CAPACITY)" "" "static: .table CAPACITY empty while Pending"
pv st-60g 60Gi "" | put "$PVS" st-60g
same "$(rd "$PVCS/st-big/phase")" Bound "static: a fitting PV created later binds the Pending claim (no write to the claim)"
same "$(rd "$PVCS/st-big/volumeName")" st-60g "static: ... to that PV"
same "$(rd "$PVS/st-10g/phase")" Available "static: the 10Gi PV is still Available"

# capacities compare as numbers: 1Gi (1073741824) > 1G (1000000000)
static_class static-qty | put "$SCS" static-qty
pv qty-1g 1G static-qty | put "$PVS" qty-1g
pv qty-1gi 1Gi static-qty | put "$PVS" qty-1gi
claim qty-c1 1000Mi 'storageClassName: static-qty' | put "$PVCS" qty-c1
same "$(rd "$PVCS/qty-c1/volumeName")" qty-1gi "static: 1000Mi does not fit in 1G: it binds the 1Gi PV"
claim qty-c2 1000M 'storageClassName: static-qty' | put "$PVCS" qty-c2
same "$(rd "$PVCS/qty-c2/volumeName")" qty-1g "static: 1000M fits in 1G exactly"
claim qty-c3 1.1G 'storageClassName: static-qty' | put "$PVCS" qty-c3
same "$(rd "$PVCS/qty-c3/storage")" 1100M "static: 1.1G is stored as 1100M"
pv qty-1100m 1100M static-qty | put "$PVS" qty-1100m
same "$(rd "$PVCS/qty-c3/volumeName")" qty-1100m "static: 1.1G binds a 1100M PV that appears later"
# the beta class annotation comes first, and keeps the default class away
pv beta-pv 1Gi static-beta | put "$PVS" beta-pv
put "$PVCS" beta-c <<'E'
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: beta-c
  annotations:
    volume.beta.kubernetes.io/storage-class: static-beta
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
E
same "$(rd "$PVCS/beta-c/storageClassName")" static-beta "static: storageClassName shows the beta annotation's class"
same "$(field "$PVCS/beta-c/object.json" 'd["spec"].get("storageClassName", "<absent>")')" "<absent>" "static: the default class is not filled in for a claim with the beta annotation"
same "$(rd "$PVCS/beta-c/volumeName")" beta-pv "static: ... and it binds a PV of that class"

# fewest access modes first: an RWO request binds an RWO PV before an RWO,ROX one, even a bigger one
static_class static-modes | put "$SCS" static-modes
same "$(rd "$SCS/static-modes/provisioner")" kubernetes.io/no-provisioner "modes: the static class exists"
pv am-rwo-rox 1Gi static-modes "ReadWriteOnce, ReadOnlyMany" | put "$PVS" am-rwo-rox
pv am-rwo 5Gi static-modes ReadWriteOnce | put "$PVS" am-rwo
pv am-all 1Gi static-modes "ReadWriteOnce, ReadOnlyMany, ReadWriteMany" | put "$PVS" am-all
claim am-c1 1Gi 'storageClassName: static-modes' | put "$PVCS" am-c1
same "$(rd "$PVCS/am-c1/volumeName")" am-rwo "modes: an RWO claim binds the RWO PV (5Gi) before the RWO,ROX one (1Gi)"
claim am-c2 1Gi 'storageClassName: static-modes' | put "$PVCS" am-c2
same "$(rd "$PVCS/am-c2/volumeName")" am-rwo-rox "modes: the next RWO claim binds the two-mode PV before the three-mode one"
same "$(rd "$PVCS/am-c2/accessModes")" ReadWriteOnce "modes: the claim keeps the modes it asked for"
same "$(field "$PVCS/am-c2/object.json" 'd["status"]["accessModes"]')" "['ReadWriteOnce', 'ReadOnlyMany']" "modes: status.accessModes are the PV's"
same "$(table_col "$PVCS/.table" am-c2 "ACCESS MODES")" RWO,ROX "modes: .table ACCESS MODES shows the PV's modes"
claim am-c3 1Gi 'storageClassName: static-modes' ReadWriteOncePod | put "$PVCS" am-c3
same "$(rd "$PVCS/am-c3/phase")" Pending "modes: an RWOP claim finds no PV offering RWOP"
claim am-c4 1Gi 'storageClassName: static-modes' ReadWriteMany | put "$PVCS" am-c4
same "$(rd "$PVCS/am-c4/volumeName")" am-all "modes: an RWX claim binds the PV that offers RWX"

# volumeMode: Block binds only Block, Filesystem only Filesystem
static_class static-block | put "$SCS" static-block
pv vm-fs 1Gi static-block | put "$PVS" vm-fs
pv vm-blk 2Gi static-block ReadWriteOnce "  volumeMode: Block" | put "$PVS" vm-blk
same "$(rd "$PVS/vm-blk/volumeMode")" Block "volumeMode: the PV's volumeMode reads Block"
check "volumeMode: a Block PV has no data/" test ! -e "$PVS/vm-blk/data"
claim vm-c1 1Gi 'storageClassName: static-block' ReadWriteOnce "  volumeMode: Block" | put "$PVCS" vm-c1
same "$(rd "$PVCS/vm-c1/volumeName")" vm-blk "volumeMode: a Block claim binds the Block PV, not the smaller Filesystem one"
same "$(rd "$PVCS/vm-c1/volumeMode")" Block "volumeMode: the claim's volumeMode reads Block"
claim vm-c2 1Gi 'storageClassName: static-block' ReadWriteOnce "  volumeMode: Block" | put "$PVCS" vm-c2
same "$(rd "$PVCS/vm-c2/phase")" Pending "volumeMode: a second Block claim does not bind the Filesystem PV"
claim vm-c3 1Gi 'storageClassName: static-block' | put "$PVCS" vm-c3
same "$(rd "$PVCS/vm-c3/volumeName")" vm-fs "volumeMode: a claim without volumeMode binds the Filesystem PV"
same "$(rd "$PVCS/vm-c2/phase")" Pending "volumeMode: the Block claim is still Pending"
pv vm-fs2 1Gi static-block ReadWriteOnce "  volumeMode: Filesystem" | put "$PVS" vm-fs2
same "$(rd "$PVCS/vm-c2/phase")" Pending "volumeMode: a late Filesystem PV does not bind the Block claim"
same "$(rd "$PVS/vm-fs2/phase")" Available "volumeMode: ... and stays Available"

# label selectors: matchLabels and matchExpressions, ANDed
static_class static-sel | put "$SCS" static-sel
pv sel-gold 1Gi static-sel ReadWriteOnce "" "tier: gold" | put "$PVS" sel-gold
pv sel-silver 1Gi static-sel ReadWriteOnce "" "tier: silver" | put "$PVS" sel-silver
pv sel-gold-x 2Gi static-sel ReadWriteOnce "" "tier: gold, zone: x" | put "$PVS" sel-gold-x
pv sel-bronze 1Gi static-sel ReadWriteOnce "" "tier: bronze, zone: east" | put "$PVS" sel-bronze
claim sel-c1 1Gi 'storageClassName: static-sel' ReadWriteOnce "  selector: {matchLabels: {tier: silver}}" | put "$PVCS" sel-c1
same "$(rd "$PVCS/sel-c1/volumeName")" sel-silver "selector: matchLabels tier=silver binds the silver PV"
claim sel-c2 1Gi 'storageClassName: static-sel' ReadWriteOnce "  selector:
    matchExpressions:
    - {key: tier, operator: In, values: [gold]}
    - {key: zone, operator: Exists}" | put "$PVCS" sel-c2
same "$(rd "$PVCS/sel-c2/volumeName")" sel-gold-x "selector: tier In (gold) AND zone Exists binds the 2Gi gold PV with a zone, not the smaller one"
claim sel-c3 1Gi 'storageClassName: static-sel' ReadWriteOnce "  selector:
    matchLabels: {tier: gold}
    matchExpressions:
    - {key: zone, operator: DoesNotExist}" | put "$PVCS" sel-c3
same "$(rd "$PVCS/sel-c3/volumeName")" sel-gold "selector: matchLabels AND DoesNotExist binds the gold PV without a zone"
claim sel-c4 1Gi 'storageClassName: static-sel' ReadWriteOnce "  selector:
    matchExpressions:
    - {key: tier, operator: NotIn, values: [gold, silver]}" | put "$PVCS" sel-c4
same "$(rd "$PVCS/sel-c4/volumeName")" sel-bronze "selector: NotIn (gold, silver) binds the bronze PV"
claim sel-c5 1Gi 'storageClassName: static-sel' ReadWriteOnce "  selector: {matchLabels: {tier: platinum}}" | put "$PVCS" sel-c5
same "$(rd "$PVCS/sel-c5/phase")" Pending "selector: no PV with tier=platinum: Pending"
claim sel-dyn 1Gi 'storageClassName: standard' ReadWriteOnce "  selector: {matchLabels: {tier: platinum}}" | put "$PVCS" sel-dyn
same "$(rd "$PVCS/sel-dyn/phase")" Pending "selector: a claim with a selector is never provisioned (class standard)"
check "selector: ... no ProvisioningSucceeded for it" nev "$MNT/events" ProvisioningSucceeded namespaces/default/persistentvolumeclaims/sel-dyn
pv sel-plat 1Gi static-sel ReadWriteOnce "" "tier: platinum" | put "$PVS" sel-plat
same "$(rd "$PVCS/sel-c5/volumeName")" sel-plat "selector: a late PV with tier=platinum binds the Pending claim"

# pre-binding: by the claim's spec.volumeName and by the PV's claimRef
static_class static-pre | put "$SCS" static-pre
pv pre-small 1Gi static-pre | put "$PVS" pre-small
pv pre-big 10Gi static-pre | put "$PVS" pre-big
claim pre-c1 1Gi 'storageClassName: static-pre' ReadWriteOnce "  volumeName: pre-big" | put "$PVCS" pre-c1
same "$(rd "$PVCS/pre-c1/phase")" Bound "prebind: a claim naming its volume is Bound"
same "$(rd "$PVCS/pre-c1/volumeName")" pre-big "prebind: ... to the 10Gi PV it names, not the smaller one"
same "$(rd "$PVS/pre-big/claimRef")" default/pre-c1 "prebind: the PV's claimRef is filled in"
same "$(field "$PVS/pre-big/object.json" 'd["spec"]["claimRef"]["uid"]')" "$(uid_of "$PVCS/pre-c1")" "prebind: ... with the claim's uid"
check "prebind: the claim is not marked bound-by-controller (the user named the volume)" sh -c "! grep -q 'pv.kubernetes.io/bound-by-controller' '$PVCS/pre-c1/manifest.yaml'"
check "prebind: the claim is marked bind-completed" grep -q 'pv.kubernetes.io/bind-completed' "$PVCS/pre-c1/manifest.yaml"
pv pre-ref 10Gi static-pre ReadWriteOnce "  claimRef: {namespace: default, name: pre-want}" | put "$PVS" pre-ref
same "$(rd "$PVS/pre-ref/phase")" Available "prebind: a PV reserved by claimRef (no uid) is Available"
same "$(rd "$PVS/pre-ref/claimRef")" default/pre-want "prebind: its claimRef reads default/pre-want"
check "prebind: its claim link resolves to nothing while the claim does not exist" sh -c "! test -e '$PVS/pre-ref/claim'"
claim pre-other 1Gi 'storageClassName: static-pre' | put "$PVCS" pre-other
same "$(rd "$PVCS/pre-other/volumeName")" pre-small "prebind: another claim does not take the reserved PV"
claim pre-want 1Gi 'storageClassName: static-pre' | put "$PVCS" pre-want
same "$(rd "$PVCS/pre-want/volumeName")" pre-ref "prebind: the claim named by the PV's claimRef binds it"
same "$(field "$PVS/pre-ref/object.json" 'd["spec"]["claimRef"]["uid"]')" "$(uid_of "$PVCS/pre-want")" "prebind: the claimRef's uid is filled in"
check "prebind: the reserved PV's claim link resolves" link_is "$PVS/pre-ref/claim" "$PVCS/pre-want"
pv pre-tiny 1Gi static-pre | put "$PVS" pre-tiny
claim pre-mis 5Gi 'storageClassName: static-pre' ReadWriteOnce "  volumeName: pre-tiny" | put "$PVCS" pre-mis
same "$(rd "$PVCS/pre-mis/phase")" Pending "prebind: a claim naming a too small PV stays Pending"
check "prebind: VolumeMismatch 'Cannot bind to requested volume \"pre-tiny\": requested PV is too small'" \
	ev "$MNT/events" "Warning VolumeMismatch" namespaces/default/persistentvolumeclaims/pre-mis 'Cannot bind to requested volume "pre-tiny": requested PV is too small'
claim pre-taken 1Gi 'storageClassName: static-pre' ReadWriteOnce "  volumeName: pre-big" | put "$PVCS" pre-taken
same "$(rd "$PVCS/pre-taken/phase")" Pending "prebind: a claim naming a PV bound to another claim stays Pending"
check "prebind: FailedBinding 'volume \"pre-big\" already bound to a different claim.'" \
	ev "$MNT/events" "Warning FailedBinding" namespaces/default/persistentvolumeclaims/pre-taken 'volume "pre-big" already bound to a different claim.'
# pre-bound claims whose volume does not fit: VolumeMismatch with the first failing check
pv pre-vx 1Gi static-vx | put "$PVS" pre-vx
claim pre-m1 1Gi 'storageClassName: static-pre' ReadWriteOnce "  volumeName: pre-vx" | put "$PVCS" pre-m1
check "prebind: VolumeMismatch 'storageClassName does not match'" ev "$MNT/events" "Warning VolumeMismatch" namespaces/default/persistentvolumeclaims/pre-m1 'Cannot bind to requested volume "pre-vx": storageClassName does not match'
claim pre-m2 1Gi 'storageClassName: static-vx' ReadWriteOnce "  volumeName: pre-vx
  volumeMode: Block" | put "$PVCS" pre-m2
check "prebind: VolumeMismatch 'incompatible volumeMode'" ev "$MNT/events" "Warning VolumeMismatch" namespaces/default/persistentvolumeclaims/pre-m2 'Cannot bind to requested volume "pre-vx": incompatible volumeMode'
claim pre-m3 1Gi 'storageClassName: static-vx' ReadWriteMany "  volumeName: pre-vx" | put "$PVCS" pre-m3
check "prebind: VolumeMismatch 'incompatible accessMode'" ev "$MNT/events" "Warning VolumeMismatch" namespaces/default/persistentvolumeclaims/pre-m3 'Cannot bind to requested volume "pre-vx": incompatible accessMode'
same "$(rd "$PVS/pre-vx/phase")" Available "prebind: ... and the PV stays Available"
claim pre-later 1Gi 'storageClassName: static-pre' ReadWriteOnce "  volumeName: pre-future" | put "$PVCS" pre-later
same "$(rd "$PVCS/pre-later/phase")" Pending "prebind: a claim naming a PV that does not exist yet stays Pending"
pv pre-future 1Gi static-pre | put "$PVS" pre-future
same "$(rd "$PVCS/pre-later/phase")" Bound "prebind: ... and binds when that PV appears"
same "$(bound_volumes | sort | uniq -d | tr '\n' ' ')" "" "prebind: no PV is named by two Bound claims so far"

# ============================================================================ 3. a class's pool
pool_class tiny 3Gi Delete true | put "$SCS" tiny
same "$(rd "$SCS/tiny/capacity")" 3Gi "pool: the class's capacity is parameters.capacity (3Gi)"
same "$(rd "$SCS/tiny/allocated")" 0 "pool: nothing allocated yet"
same "$(rd "$SCS/tiny/available")" 3Gi "pool: 3Gi available"
for n in 1 2 3; do claim "tiny-$n" 1Gi 'storageClassName: tiny' | put "$PVCS" "tiny-$n"; done
same "$(cat "$PVCS"/tiny-[123]/phase 2>/dev/null | tr '\n' ' ')" "Bound Bound Bound " "pool: three 1Gi claims fill the 3Gi pool"
same "$(rd "$SCS/tiny/allocated")" 3Gi "pool: allocated 3Gi"
same "$(rd "$SCS/tiny/available")" 0 "pool: available 0"
claim tiny-4 1Gi 'storageClassName: tiny' | put "$PVCS" tiny-4
claim tiny-5 512Mi 'storageClassName: tiny' | put "$PVCS" tiny-5
same "$(rd "$PVCS/tiny-4/phase")" Pending "pool: the fourth claim stays Pending"
same "$(rd "$PVCS/tiny-5/phase")" Pending "pool: a fifth (512Mi) claim stays Pending too"
check "pool: ProvisioningFailed for the fourth claim" ev "$MNT/events" "Warning ProvisioningFailed" namespaces/default/persistentvolumeclaims/tiny-4
check "pool: the ProvisioningFailed message names the class and what was asked" sh -c "grep -E ' Warning ProvisioningFailed namespaces/default/persistentvolumeclaims/tiny-4 ' '$MNT/events' | grep -F 'StorageClass \"tiny\"' | grep -q '1Gi'"
same "$(find "$SCS/tiny/persistentvolumes" -mindepth 1 | wc -l)" 3 "pool: the class lists three PVs"
check "pool: allocated + available = capacity" sh -c "[ \"\$(cat '$SCS/tiny/allocated')\" = 3Gi ] && [ \"\$(cat '$SCS/tiny/available')\" = 0 ]"
T1PV=$(rd "$PVCS/tiny-1/volumeName")
check "pool: deleting a Bound claim (rmdir) succeeds" rmdir "$PVCS/tiny-1"
check "pool: its Delete PV is gone" test ! -e "$PVS/$T1PV"
same "$(rd "$PVCS/tiny-4/phase")" Bound "pool: the Pending claim is Bound once space frees, without another write"
same "$(rd "$PVCS/tiny-5/phase")" Pending "pool: the later 512Mi claim still waits (in creation order, no space left)"
same "$(rd "$SCS/tiny/allocated")" 3Gi "pool: allocated 3Gi again"
same "$(rd "$SCS/tiny/available")" 0 "pool: available 0 again"
rmdir "$PVCS/tiny-2"
same "$(rd "$PVCS/tiny-5/phase")" Bound "pool: freeing another 1Gi binds the 512Mi claim"
same "$(rd "$SCS/tiny/allocated")" 2560Mi "pool: allocated 2560Mi (1Gi + 1Gi + 512Mi)"
same "$(rd "$SCS/tiny/available")" 512Mi "pool: available 512Mi"
check "pool: ProvisioningSucceeded for the claim that waited" ev "$PVCS/tiny-4/events" "Normal ProvisioningSucceeded" namespaces/default/persistentvolumeclaims/tiny-4
check "pool: claimfs_storageclass_pool_allocated_bytes in /metrics" grep -Eq '^claimfs_storageclass_pool_allocated_bytes\{storageclass="tiny"\} (2684354560|2\.68435456e\+0?9)$' "$MNT/metrics"
same "$(grep -c ' Warning ProvisioningFailed namespaces/default/persistentvolumeclaims/tiny-4 ' "$MNT/events")" 1 "pool: the same ProvisioningFailed message is written once (claimfs does better)"
same "$(grep -c ' FailedBinding namespaces/default/persistentvolumeclaims/st-big ' "$MNT/events")" 1 "static: the same FailedBinding message was written once (claimfs does better)"

# ============================================================================ 4. the default class
check "default: storageclasses/.table marks standard (default)" grep -Eq '^standard \(default\) +claimfs.io/simulated ' "$SCS/.table"
same "$(rd "$SCS/standard/default")" true "default: storageclasses/standard/default reads true"
same "$(rd "$SCS/tiny/default")" false "default: another class is not the default"
check "default: the claim without class got standard (seed)" test "$(rd "$PVCS/goserver-pvc/storageClassName")" = standard
# retroactive assignment: a claim made while no class is default gets the default later
sed 's/storageclass.kubernetes.io\/is-default-class: "true"/storageclass.kubernetes.io\/is-default-class: "false"/' "$SCS/standard/manifest.yaml" >"$Y/std-off.yaml"
check "default: the default annotation is on standard's manifest" grep -q 'is-default-class: "false"' "$Y/std-off.yaml"
cp "$Y/std-off.yaml" "$SCS/standard/manifest.yaml"
same "$(rd "$SCS/standard/default")" false "default: standard is no longer the default"
check "default: .table shows no (default)" sh -c "! grep -q '(default)' '$SCS/.table'"
claim nil-static 10Gi | put "$PVCS" nil-static
same "$(rd "$PVCS/nil-static/volumeName")" st-10g "default: while no default exists, a claim without class binds a class-less PV (class nil counts as \"\")"
claim late-class 11Gi | put "$PVCS" late-class
same "$(rd "$PVCS/late-class/phase")" Pending "default: a claim without class while no default exists (and no class-less PV fits) is Pending"
same "$(rd "$PVCS/late-class/storageClassName")" "" "default: ... with no class"
check "default: ... and nothing was provisioned for it" nev "$MNT/events" ProvisioningSucceeded namespaces/default/persistentvolumeclaims/late-class
sed 's/storageclass.kubernetes.io\/is-default-class: "false"/storageclass.kubernetes.io\/is-default-class: "true"/' "$SCS/standard/manifest.yaml" >"$Y/std-on.yaml"
cp "$Y/std-on.yaml" "$SCS/standard/manifest.yaml"
same "$(rd "$SCS/standard/default")" true "default: standard is the default again"
same "$(rd "$PVCS/late-class/storageClassName")" standard "default: the claim got the default class retroactively"
same "$(rd "$PVCS/late-class/phase")" Bound "default: ... and is Bound"
same "$(rd "$PVCS/st-big/storageClassName")" "" "default: a claim of class \"\" is never changed"
claim nodef 1Gi 'storageClassName: ""' | put "$PVCS" nodef
same "$(rd "$PVCS/nodef/storageClassName")" "" "default: a new claim of class \"\" keeps \"\" while a default exists"
# two defaults: the newest wins (ties by name: newdef < standard)
put "$SCS" newdef <<'E'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: newdef
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: claimfs.io/simulated
parameters: {capacity: 2Gi}
E
same "$(grep -c ' (default) ' "$SCS/.table")" 2 "default: .table marks both default classes (default)"
claim two-def 1Gi | put "$PVCS" two-def
same "$(rd "$PVCS/two-def/storageClassName")" newdef "default: with two defaults the newest is filled in"
same "$(rd "$SCS/newdef/allocated")" 1Gi "default: ... and provisions"
rmdir "$PVCS/two-def"
check "default: rmdir of a StorageClass" rmdir "$SCS/newdef"
same "$(grep -c ' (default) ' "$SCS/.table")" 1 "default: one default class again"

# ============================================================================ 5. reclaim
# Delete: tested with the pool (the PV and its space go); Retain:
pool_class keep 4Gi Retain true | put "$SCS" keep
claim keep-1 1Gi 'storageClassName: keep' | put "$PVCS" keep-1
KPV=$(rd "$PVCS/keep-1/volumeName")
same "$(rd "$PVS/$KPV/reclaimPolicy")" Retain "reclaim: a PV of a Retain class is Retain"
same "$(rd "$SCS/keep/allocated")" 1Gi "reclaim: the Retain pool has 1Gi allocated"
echo kept >"$PVS/$KPV/data/file" 2>/dev/null
check "reclaim: deleting the Retain claim succeeds" rmdir "$PVCS/keep-1"
check "reclaim: the claim is gone" test ! -e "$PVCS/keep-1"
same "$(rd "$PVS/$KPV/phase")" Released "reclaim: Retain leaves the PV Released"
same "$(rd "$PVS/$KPV/claimRef")" default/keep-1 "reclaim: ... with its claimRef"
check "reclaim: a Released PV has no claim link" test ! -L "$PVS/$KPV/claim"
same "$(rd "$SCS/keep/allocated")" 1Gi "reclaim: a Released PV's capacity is still allocated"
same "$(rd "$SCS/keep/available")" 3Gi "reclaim: available 3Gi"
same "$(rd "$PVS/$KPV/data/file")" kept "reclaim: the Released PV keeps its data"
same "$(table_col "$PVS/.table" "$KPV" STATUS)" Released "reclaim: the PV table's STATUS Released"
claim keep-1 1Gi 'storageClassName: keep' | put "$PVCS" keep-1b
check "reclaim: a new claim of the same name does not get the Released PV" sh -c "[ \"\$(cat '$PVCS/keep-1/volumeName')\" != '$KPV' ]"
same "$(rd "$PVS/$KPV/phase")" Released "reclaim: the Released PV stays Released"
check "reclaim: ... without a claim link (the claim of that name has another uid)" test ! -L "$PVS/$KPV/claim"
same "$(rd "$SCS/keep/allocated")" 2Gi "reclaim: the pool counts both"
same "$(close_errno "$MNT/apply" <(printf 'apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: %s\nspec:\n  claimRef: null\n' "$KPV"))" OK "reclaim: removing the Released PV's claimRef (claimRef: null through /apply) succeeds"
same "$(rd "$PVS/$KPV/phase")" Available "reclaim: without claimRef the Retain PV is Available"
claim keep-2 1Gi 'storageClassName: keep' ReadWriteOnce "  volumeName: $KPV" | put "$PVCS" keep-2
same "$(rd "$PVCS/keep-2/phase")" Bound "reclaim: a new claim binds the retained PV"
same "$(rd "$PVCS/keep-2/volume/data/file")" kept "reclaim: ... and sees its data"
same "$(rd "$SCS/keep/allocated")" 2Gi "reclaim: rebinding allocates nothing new"
# PV protection: a Bound PV being deleted stays Terminating until it is no longer Bound
check "reclaim: rmdir of a Bound PV returns success" rmdir "$PVS/st-3g"
same "$(rd "$PVS/st-3g/status")" Terminating "reclaim: the Bound PV is Terminating"
same "$(rd "$PVS/st-3g/phase")" Bound "reclaim: ... still Bound"
same "$(rd "$PVCS/st-c2/phase")" Bound "reclaim: ... and its claim still Bound"
same "$(table_col "$PVS/.table" st-3g STATUS)" Terminating "reclaim: the PV table says Terminating"
rmdir "$PVCS/st-c2"
check "reclaim: once its claim is gone the PV goes" test ! -e "$PVS/st-3g"
# Delete
claim del-1 1Gi | put "$PVCS" del-1
DPV=$(rd "$PVCS/del-1/volumeName")
check "reclaim: the Delete claim's PV exists" test -d "$PVS/$DPV"
rmdir "$PVCS/del-1"
check "reclaim: Delete removes the PV with the claim" test ! -e "$PVS/$DPV"
check "reclaim: ... and no PV of standard still names del-1" sh -c "! grep -qx default/del-1 '$PVS'/*/claimRef"
# Recycle (nfs and hostPath)
static_class static-rc | put "$SCS" static-rc
pv rc-pv 1Gi static-rc ReadWriteOnce "  persistentVolumeReclaimPolicy: Recycle" | put "$PVS" rc-pv
claim rc-c 1Gi 'storageClassName: static-rc' | put "$PVCS" rc-c
same "$(rd "$PVCS/rc-c/phase")" Bound "reclaim: a claim binds the Recycle PV"
echo scrub-me >"$PVS/rc-pv/data/old" 2>/dev/null
same "$(rd "$PVS/rc-pv/data/old")" scrub-me "reclaim: data written to the Recycle PV"
rmdir "$PVCS/rc-c"
same "$(rd "$PVS/rc-pv/phase")" Available "reclaim: Recycle makes the PV Available again"
same "$(rd "$PVS/rc-pv/claimRef")" "" "reclaim: ... without claimRef"
check "reclaim: VolumeRecycled 'Volume recycled'" ev "$MNT/events" "Normal VolumeRecycled" persistentvolumes/rc-pv "Volume recycled"
check "reclaim: the recycled volume is empty" sh -c "[ -d '$PVS/rc-pv/data' ] && [ -z \"\$(ls -A '$PVS/rc-pv/data')\" ]"

# ============================================================================ 6. expansion
ALLOC0=$(bytes_of "$(rd "$SCS/standard/allocated")")
same "$(write_errno "$C/storage" $'8Gi\n')" OK "expand: echo 8Gi > goserver-pvc/storage succeeds"
same "$(rd "$C/storage")" 8Gi "expand: storage reads 8Gi"
same "$(rd "$C/capacity")" 8Gi "expand: capacity follows (8Gi)"
same "$(rd "$PVS/$GPV/capacity")" 8Gi "expand: the PV is resized (8Gi)"
same "$(rd "$C/volumeName")" "$GPV" "expand: the same PV (no new one)"
check "expand: Resizing event" ev "$C/events" "Normal Resizing" namespaces/default/persistentvolumeclaims/goserver-pvc "$GPV"
check "expand: VolumeResizeSuccessful event" ev "$MNT/events" "Normal VolumeResizeSuccessful" namespaces/default/persistentvolumeclaims/goserver-pvc
same "$(($(bytes_of "$(rd "$SCS/standard/allocated")") - ALLOC0))" $((3 << 30)) "expand: the pool of standard counts the 3Gi more"
same "$(write_errno "$C/storage" $'6Gi\n')" EPERM "expand: shrinking (echo 6Gi) fails at write(2) with EPERM"
same "$(rd "$C/storage")" 8Gi "expand: ... storage unchanged"
same "$(rd "$PVS/$GPV/capacity")" 8Gi "expand: ... PV unchanged"
check "expand: the shrink's reason in a FailedApply line" sh -c "grep ' Warning FailedApply ' '$MNT/events' | grep goserver-pvc | grep -q 'field can not be less than previous value'"
same "$(write_errno "$C/storage" $'banana\n')" EINVAL "expand: a bad quantity fails with EINVAL"
same "$(write_errno "$PVCS/tiny-3/storage" $'10Gi\n')" ENOSPC "expand: growing beyond the class's free pool fails with ENOSPC"
same "$(rd "$PVCS/tiny-3/storage")" 1Gi "expand: ... the claim is unchanged"
same "$(rd "$SCS/tiny/allocated")" 2560Mi "expand: ... the pool is unchanged"
check "expand: ... the reason is in a FailedApply line" sh -c "grep ' Warning FailedApply ' '$MNT/events' | grep -q 'persistentvolumeclaims/tiny-3/storage'"
same "$(write_errno "$PVCS/tiny-3/storage" $'1536Mi\n')" OK "expand: growing within the free pool succeeds (1536Mi)"
same "$(rd "$SCS/tiny/allocated")" 3Gi "expand: the pool counts the growth"
pool_class fixed 10Gi Delete false | put "$SCS" fixed
same "$(rd "$SCS/fixed/allowVolumeExpansion")" false "expand: class fixed does not allow expansion"
claim fix-1 1Gi 'storageClassName: fixed' | put "$PVCS" fix-1
same "$(write_errno "$PVCS/fix-1/storage" $'2Gi\n')" EPERM "expand: a class with allowVolumeExpansion false refuses it (EPERM)"
same "$(rd "$PVCS/fix-1/storage")" 1Gi "expand: ... unchanged"
check "expand: ... the reason is Kubernetes' ('only dynamically provisioned pvc can be resized ...')" sh -c "grep ' Warning FailedApply ' '$MNT/events' | grep fix-1 | grep -q 'only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize'"
same "$(write_errno "$PVCS/tiny-5/storage" $'512Mi\n')" OK "expand: writing the same size is not a change"
claim keep-1 2Gi 'storageClassName: keep' >"$Y/keep-1-2g.yaml"
same "$(close_errno "$MNT/apply" "$Y/keep-1-2g.yaml")" OK "expand: raising spec.resources.requests.storage through /apply succeeds"
same "$(rd "$PVCS/keep-1/capacity")" 2Gi "expand: ... capacity follows (2Gi)"
same "$(rd "$SCS/keep/allocated")" 3Gi "expand: ... the pool counts it"
same "$(write_errno "$PVCS/st-c1/storage" $'3Gi\n')" EPERM "expand: a claim of class \"\" (static PV) cannot be expanded (EPERM)"
same "$(rd "$PVCS/st-c1/storage")" 1500Mi "expand: ... unchanged"
same "$(write_errno "$PVCS/sel-dyn/storage" $'2Gi\n')" EPERM "expand: a Pending claim cannot be expanded (EPERM)"
check "expand: ... 'Only bound persistent volume claims can be expanded'" sh -c "grep ' Warning FailedApply ' '$MNT/events' | grep sel-dyn | grep -q 'Only bound persistent volume claims can be expanded'"

# ============================================================================ 7. immutable fields
# Kubernetes answers Forbidden ("spec: Forbidden: spec is immutable after creation ..."),
# which the README's error summary maps to EPERM ("changing immutable fields").
RV=$(field "$C/object.json" 'd["metadata"]["resourceVersion"]')
sed 's/^  - ReadWriteOnce$/  - ReadWriteMany/' "$C/manifest.yaml" | sed '/^status:/,$d' >"$Y/gs-rwx.yaml"
check "immutable: the edited manifest asks for ReadWriteMany" grep -q '^  - ReadWriteMany$' "$Y/gs-rwx.yaml"
same "$(close_errno "$C/manifest.yaml" "$Y/gs-rwx.yaml")" EPERM "immutable: changing a bound claim's accessModes through manifest.yaml fails at close(2) with EPERM (Forbidden)"
check "immutable: FailedApply 'spec is immutable after creation ...' for manifest.yaml" sh -c "grep ' Warning FailedApply ' '$MNT/events' | grep 'goserver-pvc/manifest.yaml' | grep -q 'spec is immutable after creation except resources.requests'"
same "$(rd "$C/accessModes")" ReadWriteOnce "immutable: accessModes unchanged"
same "$(field "$C/object.json" 'd["metadata"]["resourceVersion"]')" "$RV" "immutable: resourceVersion unchanged"
claim goserver-pvc 8Gi "" ReadWriteMany >"$Y/gs-apply.yaml"
same "$(close_errno "$MNT/apply" "$Y/gs-apply.yaml")" EPERM "immutable: the same change through /apply fails at close(2) with EPERM"
check "immutable: FailedApply 'spec is immutable after creation ...' for apply" sh -c "grep ' Warning FailedApply apply' '$MNT/events' | grep -q 'spec is immutable after creation except resources.requests'"
same "$(rd "$C/accessModes")" ReadWriteOnce "immutable: accessModes still unchanged"
same "$(field "$C/object.json" 'd["metadata"]["resourceVersion"]')" "$RV" "immutable: resourceVersion still unchanged"
claim goserver-pvc 8Gi "storageClassName: tiny" >"$Y/gs-class.yaml"
same "$(close_errno "$MNT/apply" "$Y/gs-class.yaml")" EPERM "immutable: changing a bound claim's class through /apply fails with EPERM"
same "$(rd "$C/storageClassName")" standard "immutable: the class is unchanged"
same "$(rd "$C/phase")" Bound "immutable: the claim is still Bound"

# ============================================================================ 8. protection
claim prot 1Gi | put "$PVCS" prot
PPV=$(rd "$PVCS/prot/volumeName")
pod prot-user prot | put "$NS/pods" prot-user
same "$(rd "$NS/pods/prot-user/phase")" Running "protect: the pod using the claim is Running"
check "protect: rmdir of a claim in use returns success" rmdir "$PVCS/prot"
check "protect: the claim still exists" test -d "$PVCS/prot"
same "$(rd "$PVCS/prot/status")" Terminating "protect: its status file reads Terminating"
same "$(rd "$PVCS/prot/phase")" Bound "protect: its phase stays Bound"
same "$(table_col "$PVCS/.table" prot STATUS)" Terminating "protect: .table STATUS Terminating"
check "protect: manifest.yaml has a deletionTimestamp" grep -q '^  deletionTimestamp: ' "$PVCS/prot/manifest.yaml"
check "protect: the finalizer is still there" grep -q 'kubernetes.io/pvc-protection' "$PVCS/prot/manifest.yaml"
same "$(rd "$PVS/$PPV/phase")" Bound "protect: its PV stays Bound"
check "protect: writing a manifest for the Terminating claim fails (EEXIST)" test "$(claim prot 1Gi >"$Y/prot2.yaml"; close_errno "$PVCS/prot2.yaml" "$Y/prot2.yaml" create)" = EEXIST
pod prot-late prot | put "$NS/pods" prot-late
same "$(rd "$NS/pods/prot-late/phase")" Pending "protect: a new pod using the Terminating claim stays Pending"
check "protect: ... FailedScheduling 'persistentvolumeclaim \"prot\" is being deleted'" ev "$MNT/events" "Warning FailedScheduling" namespaces/default/pods/prot-late 'persistentvolumeclaim "prot" is being deleted'
check "protect: deleting the pod succeeds" rmdir "$NS/pods/prot-user"
check "protect: the pod is gone" test ! -e "$NS/pods/prot-user"
check "protect: the claim is gone once its pod is gone" test ! -e "$PVCS/prot"
check "protect: its Delete PV followed" test ! -e "$PVS/$PPV"
check "protect: (the unscheduled pod did not hold it)" rmdir "$NS/pods/prot-late"
# the same with Retain
claim prot-r 1Gi 'storageClassName: keep' | put "$PVCS" prot-r
PRV=$(rd "$PVCS/prot-r/volumeName")
pod prot-user2 prot-r | put "$NS/pods" prot-user2
rmdir "$PVCS/prot-r"
same "$(rd "$PVCS/prot-r/status")" Terminating "protect: a Retain claim in use is Terminating"
rmdir "$NS/pods/prot-user2"
check "protect: ... gone after its pod" test ! -e "$PVCS/prot-r"
same "$(rd "$PVS/$PRV/phase")" Released "protect: ... its Retain PV is Released"

# ============================================================================ 9. WaitForFirstConsumer
pool_class late 10Gi Delete true WaitForFirstConsumer | put "$SCS" late
same "$(rd "$SCS/late/volumeBindingMode")" WaitForFirstConsumer "wffc: the class waits for the first consumer"
claim wffc-1 1Gi 'storageClassName: late' | put "$PVCS" wffc-1
same "$(rd "$PVCS/wffc-1/phase")" Pending "wffc: the claim is Pending"
check "wffc: event WaitForFirstConsumer 'waiting for first consumer to be created before binding'" \
	ev "$MNT/events" "Normal WaitForFirstConsumer" namespaces/default/persistentvolumeclaims/wffc-1 "waiting for first consumer to be created before binding"
check "wffc: nothing provisioned yet" nev "$MNT/events" ProvisioningSucceeded namespaces/default/persistentvolumeclaims/wffc-1
same "$(rd "$SCS/late/allocated")" 0 "wffc: nothing allocated"
pod wffc-user wffc-1 | put "$NS/pods" wffc-user
same "$(rd "$PVCS/wffc-1/phase")" Bound "wffc: a pod using the claim gets it provisioned and Bound"
NODE=$(rd "$NS/pods/wffc-user/nodeName")
same "$(field "$PVCS/wffc-1/object.json" 'd["metadata"]["annotations"]["volume.kubernetes.io/selected-node"]')" "$NODE" "wffc: the claim carries selected-node = the pod's node"
WPV=$(rd "$PVCS/wffc-1/volumeName")
same "$(field "$PVS/$WPV/object.json" 'd["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"][0]')" "$(rd "$MNT/nodes/$NODE/zone")" "wffc: the PV has node affinity for the node's zone"
same "$(rd "$NS/pods/wffc-user/phase")" Running "wffc: the pod runs"
same "$(write_errno "$PVCS/wffc-1/storage" $'2Gi\n')" OK "wffc/expand: growing a claim in use succeeds"
same "$(rd "$PVCS/wffc-1/capacity")" 2Gi "wffc/expand: capacity follows"
check "wffc/expand: FileSystemResizeRequired (a pod uses the claim)" ev "$PVCS/wffc-1/events" "Normal FileSystemResizeRequired" namespaces/default/persistentvolumeclaims/wffc-1
check "wffc/expand: FileSystemResizeSuccessful" ev "$PVCS/wffc-1/events" "Normal FileSystemResizeSuccessful" namespaces/default/persistentvolumeclaims/wffc-1 "MountVolume.NodeExpandVolume succeeded for volume \"$WPV\""
claim wffc-2 1Gi 'storageClassName: late' | put "$PVCS" wffc-2
pod wffc-stuck wffc-2 | sed 's/^spec:$/spec:\n  nodeSelector: {disk: none}/' | put "$NS/pods" wffc-stuck
same "$(rd "$NS/pods/wffc-stuck/nodeName")" "" "wffc: a pod that fits no node is not scheduled"
check "wffc: the claim says WaitForPodScheduled 'waiting for pod wffc-stuck to be scheduled'" \
	ev "$MNT/events" "Normal WaitForPodScheduled" namespaces/default/persistentvolumeclaims/wffc-2 "waiting for pod wffc-stuck to be scheduled"
same "$(rd "$PVCS/wffc-2/phase")" Pending "wffc: ... and stays Pending"
rmdir "$NS/pods/wffc-stuck"
rmdir "$NS/pods/wffc-user"

# ============================================================================ 10. kubernetes/examples
check "examples: cp AI/model-serving-tensorflow/pv.yaml into persistentvolumes/" cp "$EX/AI/model-serving-tensorflow/pv.yaml" "$PVS/"
check "examples: cp pvc.yaml into persistentvolumeclaims/" cp "$EX/AI/model-serving-tensorflow/pvc.yaml" "$PVCS/"
same "$(rd "$PVCS/my-model-pvc/phase")" Bound "examples: my-model-pvc is Bound"
same "$(rd "$PVCS/my-model-pvc/volumeName")" my-model-pv "examples: ... to my-model-pv (pre-bound by volumeName)"
same "$(rd "$PVCS/my-model-pvc/storageClassName")" "" "examples: the claim naming a class-less PV keeps its class (none), not the default (claimfs does better)"
same "$(rd "$PVS/my-model-pv/phase")" Bound "examples: my-model-pv is Bound"
same "$(rd "$PVS/my-model-pv/accessModes")" ReadOnlyMany "examples: my-model-pv is ReadOnlyMany"
same "$(rd "$PVS/my-model-pv/reclaimPolicy")" Retain "examples: my-model-pv is Retain"
same "$(rd "$PVCS/my-model-pvc/capacity")" 1Gi "examples: my-model-pvc has 1Gi"
check "examples: my-model-pv links back to my-model-pvc" link_is "$PVS/my-model-pv/claim" "$PVCS/my-model-pvc"
same "$(table_col "$PVCS/.table" my-model-pvc "ACCESS MODES")" ROX "examples: .table shows ROX"
check "examples: nfs-pv.yaml with cat > apply" sh -c "cat '$EX/_archived/volumes/nfs/nfs-pv.yaml' > '$MNT/apply'"
check "examples: nfs-pvc.yaml with cat > apply" sh -c "cat '$EX/_archived/volumes/nfs/nfs-pvc.yaml' > '$MNT/apply'"
same "$(rd "$PVCS/nfs/phase")" Bound "examples: the nfs claim is Bound"
same "$(rd "$PVCS/nfs/volumeName")" nfs "examples: ... to the nfs PV"
same "$(rd "$PVCS/nfs/accessModes")" ReadWriteMany "examples: ... ReadWriteMany"
same "$(rd "$PVCS/nfs/storageClassName")" "" "examples: ... class \"\""
same "$(rd "$PVCS/nfs/capacity")" 1Mi "examples: ... 1Mi"
same "$(rd "$PVS/nfs/claimRef")" default/nfs "examples: the nfs PV's claimRef"
check "examples: the nfs PV keeps its mountOptions" grep -q 'nfsvers=4.2' "$PVS/nfs/manifest.yaml"
pod nfs-a nfs | put "$NS/pods" nfs-a
pod nfs-b nfs | put "$NS/pods" nfs-b
same "$(rd "$NS/pods/nfs-a/phase") $(rd "$NS/pods/nfs-b/phase")" "Running Running" "examples: two pods share the nfs claim (as the README's two deployments do)"
check "examples: ... on different nodes (RWX attaches anywhere)" sh -c "[ -n \"\$(cat '$NS/pods/nfs-a/nodeName')\" ] && [ \"\$(cat '$NS/pods/nfs-a/nodeName')\" != \"\$(cat '$NS/pods/nfs-b/nodeName')\" ]"
rmdir "$NS/pods/nfs-a" "$NS/pods/nfs-b"
check "examples: cp minio-standalone-pvc.yaml into persistentvolumeclaims/" cp "$EX/_archived/storage/minio/minio-standalone-pvc.yaml" "$PVCS/"
same "$(rd "$PVCS/minio-pv-claim/phase")" Bound "examples: minio-pv-claim is Bound"
same "$(rd "$PVCS/minio-pv-claim/volumeName")" "pvc-$(uid_of "$PVCS/minio-pv-claim")" "examples: ... to a provisioned pvc-<uid>"
same "$(rd "$PVCS/minio-pv-claim/capacity")" 10Gi "examples: ... 10Gi"
same "$(rd "$PVCS/minio-pv-claim/storageClassName")" standard "examples: ... from class standard"
same "$(field "$PVCS/minio-pv-claim/object.json" 'd["metadata"]["labels"]["app"]')" minio-storage-claim "examples: ... with its label"

# ============================================================================ 11. concurrent writers
W=8 PER=25 pids=
for w in $(seq 1 $W); do
	mkdir -p "$Y/w$w"
	for i in $(seq 1 $PER); do claim "cw-$w-$i" 10Mi >"$Y/w$w/cw-$w-$i.yaml"; done
done
for w in $(seq 1 $W); do
	(for i in $(seq 1 $PER); do cp "$Y/w$w/cw-$w-$i.yaml" "$PVCS/" || echo "cw-$w-$i" >>"$T_TMP/cw-fail"; done) &
	pids="$pids $!"
done
for p in $pids; do wait "$p"; done
check "concurrent: no writer saw an error" test ! -s "$T_TMP/cw-fail"
same "$(find "$PVCS" -mindepth 1 -maxdepth 1 -name 'cw-*' | wc -l)" $((W * PER)) "concurrent: all $((W * PER)) claims exist"
same "$(cat "$PVCS"/cw-*/phase 2>/dev/null | grep -c '^Bound$')" $((W * PER)) "concurrent: all are Bound"
same "$(bound_volumes | sort | uniq -d | tr '\n' ' ')" "" "concurrent: no PV is named by two Bound claims"
same "$(cat "$PVCS"/cw-*/volumeName 2>/dev/null | grep -c '^pvc-')" $((W * PER)) "concurrent: each has its own provisioned PV"
inv=$(python3 - "$MNT" <<'PY'
import json, os, sys
mnt = sys.argv[1]
pvd = os.path.join(mnt, "persistentvolumes")
ns = os.path.join(mnt, "namespaces/default/persistentvolumeclaims")
claims = {}
for c in os.listdir(ns):
    if c.startswith("."):
        continue
    claims[c] = json.load(open(os.path.join(ns, c, "object.json")))
bad, seen = [], {}
for p in os.listdir(pvd):
    if p.startswith("."):
        continue
    o = json.load(open(os.path.join(pvd, p, "object.json")))
    if o.get("status", {}).get("phase") != "Bound":
        continue
    ref = o["spec"].get("claimRef") or {}
    key = (ref.get("namespace"), ref.get("name"))
    if key in seen:
        bad.append("%s and %s both bound to %s" % (p, seen[key], key))
    seen[key] = p
    c = claims.get(ref.get("name")) if ref.get("namespace") == "default" else None
    if c is None:
        bad.append("%s: Bound to missing claim %s" % (p, key))
    elif c["metadata"]["uid"] != ref.get("uid"):
        bad.append("%s: claimRef uid differs from the claim's" % p)
    elif c["spec"].get("volumeName") != p:
        bad.append("%s: its claim names %s" % (p, c["spec"].get("volumeName")))
print(len(seen), len(bad))
for b in bad[:5]:
    print(b)
PY
)
check "concurrent: every Bound PV's claim exists and names it back ($(echo "$inv" | head -1 | cut -d' ' -f1) Bound PVs)" test "$(echo "$inv" | head -1 | cut -d' ' -f2)" = 0
[ "$(echo "$inv" | head -1 | cut -d' ' -f2)" = 0 ] || echo "$inv" | tail -n +2
check "concurrent: scripts/check-invariants.py --settled holds" python3 scripts/check-invariants.py --settled --quiet "$MNT"

# A claim named like a manifest file (a valid name: dots are allowed): cp's lookup and
# create of such a name cannot take the lock-free answer then (store_manifest_named).
# Through /apply, so that the kernel has not looked the name up before the open.
claim odd.yaml 10Mi >"$MNT/apply"
same "$(errno_of "    open(sys.argv[1], 'w').write('x')" "$PVCS/odd.yaml")" EISDIR "manifest-like name: a claim called odd.yaml: writing a file of its name fails with EISDIR"
check "manifest-like name: ... it is a directory" test -d "$PVCS/odd.yaml"
same "$(rd "$PVCS/odd.yaml/phase")" Bound "manifest-like name: ... Bound"
claim after-odd 10Mi >"$Y/after-odd.yaml"
cp "$Y/after-odd.yaml" "$PVCS/"
same "$(rd "$PVCS/after-odd/phase")" Bound "manifest-like name: other files still apply meanwhile"
rmdir "$PVCS/odd.yaml"
check "manifest-like name: gone after rmdir" test ! -e "$PVCS/odd.yaml"
claim odd 10Mi >"$Y/odd-file.yaml"
cp "$Y/odd-file.yaml" "$PVCS/odd.yaml"
same "$(rd "$PVCS/odd/phase")" Bound "manifest-like name: then odd.yaml is a file name again (claim odd applied)"
check "manifest-like name: ... which leaves no file behind" test ! -e "$PVCS/odd.yaml"

# ============================================================================ 12. state
snap() { # a line per claim (name phase volumeName uid storage), per PV (phase), per pool
	python3 - "$MNT" <<'PY'
import json, os, sys
mnt = sys.argv[1]
def rd(p):
    with open(p) as f:
        return f.read().strip()
def ls(d):
    return sorted(e for e in os.listdir(d) if not e.startswith("."))
d = os.path.join(mnt, "namespaces/default/persistentvolumeclaims")
for c in ls(d):
    o = json.load(open(os.path.join(d, c, "object.json")))
    print(c, rd(os.path.join(d, c, "phase")), rd(os.path.join(d, c, "volumeName")),
          o["metadata"]["uid"], rd(os.path.join(d, c, "storage")))
d = os.path.join(mnt, "persistentvolumes")
for p in ls(d):
    print("pv", p, rd(os.path.join(d, p, "phase")), rd(os.path.join(d, p, "claimRef")))
d = os.path.join(mnt, "storageclasses")
for s in ls(d):
    print("sc", s, rd(os.path.join(d, s, "allocated")))
PY
}
claim tiny-6 1Gi 'storageClassName: tiny' | put "$PVCS" tiny-6
same "$(rd "$PVCS/tiny-6/phase")" Pending "state: a claim waits for the full pool before the remount"
before=$(snap)
check "state: the snapshot holds the claims ($(echo "$before" | grep -c ' Bound '))" sh -c "echo \"\$1\" | grep -q '^goserver-pvc Bound $GPV $GUID 8Gi$'" _ "$before"
t_umount
t_mount --pod-start-delay 0ms --provision-delay 0ms
after=$(snap)
same "$(diff <(echo "$before") <(echo "$after") | head -5 | tr '\n' '|')" "" "state: the same claims, volumeNames, uids and pools after a remount"
same "$(rd "$PVS/$PRV/phase")" Released "state: the Released PV is still Released"
same "$(rd "$PVCS/prot-r/phase" 2>/dev/null)" "" "state: deleted claims stay deleted"
pv vm-blk2 1Gi static-block ReadWriteOnce "  volumeMode: Block" | put "$PVS" vm-blk2
same "$(rd "$PVCS/vm-c2/volumeName")" vm-blk2 "state: after the remount a Pending claim still binds a PV that appears (vm-c2)"
# changes acknowledged before a kill -9
claim crash-new 1Gi | put "$PVCS" crash-new
CNU=$(uid_of "$PVCS/crash-new")
echo 9Gi >"$C/storage"
rmdir "$PVCS/tiny-4"
same "$(rd "$PVCS/tiny-6/phase")" Bound "state: after the remount freed pool space goes to the waiting claim"
claim tiny-7 512Mi 'storageClassName: tiny' | put "$PVCS" tiny-7
same "$(rd "$PVCS/tiny-7/phase")" Pending "state: another claim waits for the full pool before the crash"
rmdir "$PVCS/cw-1-1"
pv crash-pv 1Gi archive | put "$PVS" crash-pv
t_crash
check "state: the daemon is gone after kill -9" sh -c "! mountpoint -q '$MNT'"
t_mount --pod-start-delay 0ms --provision-delay 0ms
same "$(rd "$PVCS/crash-new/phase")" Bound "crash: a claim acknowledged before the kill is there and Bound"
same "$(uid_of "$PVCS/crash-new")" "$CNU" "crash: ... with its uid"
same "$(rd "$PVCS/crash-new/volumeName")" "pvc-$CNU" "crash: ... and its volume"
same "$(rd "$C/storage")" 9Gi "crash: the acknowledged expansion is there"
same "$(rd "$C/capacity")" 9Gi "crash: ... and completed"
check "crash: the acknowledged deletions are there" sh -c "! test -e '$PVCS/tiny-4' && ! test -e '$PVCS/cw-1-1'"
same "$(rd "$PVS/crash-pv/phase")" Available "crash: the acknowledged PV is there"
same "$(rd "$SCS/tiny/allocated")" 3Gi "crash: the pool counts what is there (1536Mi + 512Mi + 1Gi)"
same "$(rd "$PVCS/tiny-6/phase")" Bound "crash: the claim provisioned before the crash is Bound"
same "$(rd "$PVCS/tiny-7/phase")" Pending "crash: the waiting claim still waits"
rmdir "$PVCS/tiny-5"
same "$(rd "$PVCS/tiny-7/phase")" Bound "crash: after recovery freed pool space goes to the waiting claim"
same "$(rd "$SCS/tiny/allocated")" 3Gi "crash: the pool is full again"
same "$(rd "$PVCS/goserver-pvc/volumeName")" "$GPV" "crash: the seed claim keeps its volume"
check "crash: invariants hold after recovery" python3 scripts/check-invariants.py --settled --quiet "$MNT"

t_umount
echo "# $(python3 -c "import time; print('%.1f' % (time.time() - $T0))") s"
t_report
