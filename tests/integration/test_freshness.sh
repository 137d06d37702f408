#!/usr/bin/env bash
# Mount test of the adapter's caching: the kernel keeps entries, attributes, pages and
# listings, and claimfs invalidates them before answering the syscall that changed
# something. So after every kind of change the very next cat/ls/stat (no sleep) shows
# the new state, with the kernel cache on (the default) and with --no-cache. Also: mtime
# of an attribute follows its own content, st_size is exact for every file, inode numbers
# are stable while an object lives, and changes made by the timer (simulated delays)
# reach repeated reads. Each check first warms the caches with the old state. Last, what
# a warm ls -l costs in FUSE requests (counted in the daemon's -d output), reads of files
# that flap, and what descriptors opened before an object was made again answer.
# Run at the project's root: bash tests/integration/test_freshness.sh
set -u
. "$(dirname "$0")/lib.sh"

P=$NS/pods
C=$NS/persistentvolumeclaims
S=$NS/statefulsets

mtime() { stat -c %.3Y "$1" 2>/dev/null; }
ino() { stat -c %i "$1" 2>/dev/null; }
uid_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["uid"])' "$1" 2>/dev/null; }
listing() { ls "$1" 2>/dev/null | tr '\n' ' '; }
drop_kernel_caches() { sync; echo 2 >/proc/sys/vm/drop_caches 2>/dev/null; }

claim_yaml() {
	printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: %s\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n' "$1"
}
sts_yaml() {
	cat <<Y
apiVersion: v1
kind: Service
metadata:
  name: web-h
spec:
  selector: {app: web}
  clusterIP: None
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: web-h
  replicas: $1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx
        volumeMounts:
        - {name: data, mountPath: /data}
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 1Gi
Y
}

# Changes made by syscalls: each one is visible to the very next syscall.
suite_syscalls() {
	local L=$1 u1 u2 i1 i2 pv m1 m2
	# --- a claim file applied: listing, entry, content
	listing "$C" >/dev/null
	test -e "$C/fresh"
	claim_yaml fresh >"$T_TMP/fresh.yaml"
	check "$L: cp of a claim file succeeds" cp "$T_TMP/fresh.yaml" "$C/fresh.yaml"
	check "$L: ls shows the new claim at once" sh -c "ls '$C' | grep -qx fresh"
	check "$L: the new claim's directory exists at once" test -d "$C/fresh"
	same "$(cat "$C/fresh/phase" 2>/dev/null)" Bound "$L: the new claim reads Bound at once"
	same "$(stat -c %s "$C/fresh/phase" 2>/dev/null)" 6 "$L: its phase has st_size 6"
	pv=$(cat "$C/fresh/volumeName" 2>/dev/null)
	check "$L: its volume exists at once" test -d "$MNT/persistentvolumes/$pv"

	# --- a StatefulSet applied through /apply
	listing "$P" >/dev/null
	check "$L: applying a StatefulSet succeeds" sh -c "cat '$T_TMP/sts2.yaml' > '$MNT/apply'"
	same "$(listing "$P")" "web-0 web-1 " "$L: ls pods shows both pods at once"
	same "$(cat "$S/web/readyReplicas" 2>/dev/null)" 2 "$L: readyReplicas reads 2 at once"

	# --- st_size is what a read returns, for every file of the tree
	local bad=0 n=0 f
	while IFS= read -r f; do
		n=$((n + 1))
		[ "$(stat -c %s "$f")" = "$(wc -c <"$f")" ] || { bad=$((bad + 1)); echo "  size differs: $f"; }
	done < <(find "$MNT" -type f ! -name apply 2>/dev/null)
	check "$L: st_size equals the bytes read for all $n files" test "$bad" -eq 0 -a "$n" -gt 100

	# --- replicas written: the set, its pods, its ordinals, its manifest
	cat "$S/web/replicas" "$S/web/readyReplicas" "$S/web/manifest.yaml" >/dev/null
	listing "$S/web/ordinals" >/dev/null
	test -e "$P/web-2"
	i1=$(ino "$C/fresh/phase")
	check "$L: echo 3 > replicas succeeds" sh -c "echo 3 > '$S/web/replicas'"
	same "$(cat "$S/web/replicas" 2>/dev/null)" 3 "$L: replicas reads 3 at once"
	same "$(cat "$S/web/readyReplicas" 2>/dev/null)" 3 "$L: readyReplicas reads 3 at once"
	check "$L: manifest.yaml shows replicas: 3 at once" grep -q '^  replicas: 3$' "$S/web/manifest.yaml"
	same "$(listing "$P")" "web-0 web-1 web-2 " "$L: ls pods shows web-2 at once"
	same "$(listing "$S/web/ordinals")" "0 1 2 " "$L: ls ordinals shows 2 at once"
	same "$(cat "$P/web-2/phase" 2>/dev/null)" Running "$L: web-2 reads Running at once"
	same "$(ino "$C/fresh/phase")" "$i1" "$L: an unrelated file keeps its inode across changes"

	# --- scale down: gone at once, even what was just read
	cat "$P/web-2/phase" "$P/web-1/phase" >/dev/null
	stat "$P/web-2" >/dev/null
	check "$L: echo 1 > replicas succeeds" sh -c "echo 1 > '$S/web/replicas'"
	check "$L: stat of the removed pod fails at once" sh -c "! stat '$P/web-2' >/dev/null 2>&1"
	check "$L: cat of a removed pod's file fails at once" sh -c "! cat '$P/web-1/phase' 2>/dev/null"
	same "$(listing "$P")" "web-0 " "$L: ls pods shows only web-0 at once"
	same "$(listing "$S/web/ordinals")" "0 " "$L: ls ordinals shows only 0 at once"
	check "$L: the removed ordinal's link is gone at once" test ! -L "$S/web/ordinals/1"

	# --- rmdir of a pod: the StatefulSet recreates it (a new object, new inodes)
	u1=$(uid_of "$P/web-0/object.json")
	i1=$(ino "$P/web-0/phase")
	cat "$P/web-0/phase" "$P/web-0/manifest.yaml" >/dev/null
	check "$L: rmdir of web-0 succeeds" rmdir "$P/web-0"
	u2=$(uid_of "$P/web-0/object.json")
	check "$L: the very next read shows the new web-0 (new uid)" test -n "$u1" -a -n "$u2" -a "$u1" != "$u2"
	check "$L: manifest.yaml shows the new uid at once" grep -q "uid: $u2" "$P/web-0/manifest.yaml"
	same "$(cat "$P/web-0/phase" 2>/dev/null)" Running "$L: the new web-0 reads Running"
	i2=$(ino "$P/web-0/phase")
	check "$L: the new pod's files have new inodes" test -n "$i2" -a "$i1" != "$i2"
	same "$(cat "$P/web-0/volumes/data/volumeName" 2>/dev/null)" "$(cat "$C/data-web-0/volumeName" 2>/dev/null)" "$L: the new web-0 uses the same claim"

	# --- claim deleted (rmdir) and deleted through rm manifest.yaml
	cat "$C/fresh/phase" "$MNT/persistentvolumes/$pv/phase" >/dev/null
	listing "$MNT/persistentvolumes" >/dev/null
	check "$L: rmdir of a claim succeeds" rmdir "$C/fresh"
	check "$L: the claim is gone at once" test ! -e "$C/fresh"
	check "$L: its phase file is gone at once" sh -c "! cat '$C/fresh/phase' 2>/dev/null"
	check "$L: ls no longer shows it" sh -c "! ls '$C' | grep -qx fresh"
	check "$L: its volume (reclaim Delete) is gone at once" test ! -e "$MNT/persistentvolumes/$pv"
	check "$L: ls persistentvolumes no longer shows it" sh -c "! ls '$MNT/persistentvolumes' | grep -qx '$pv'"
	claim_yaml second >"$C/second.yaml"
	cat "$C/second/phase" >/dev/null
	check "$L: rm of a claim's manifest.yaml succeeds" rm "$C/second/manifest.yaml"
	check "$L: that claim is gone at once" test ! -e "$C/second"

	# --- a node made NotReady and Ready again; mtime of ready follows its content only
	cat "$MNT/nodes/node-2/ready" "$MNT/nodes/node-2/manifest.yaml" >/dev/null
	m1=$(mtime "$MNT/nodes/node-2/ready")
	sleep 0.05
	check "$L: echo false > nodes/node-2/ready succeeds" sh -c "echo false > '$MNT/nodes/node-2/ready'"
	same "$(cat "$MNT/nodes/node-2/ready" 2>/dev/null)" false "$L: ready reads false at once"
	check "$L: the node's manifest no longer shows Ready True at once" python3 -c "
import json, sys
conds = json.load(open(sys.argv[1]))['status']['conditions']
sys.exit(not any(c['type'] == 'Ready' and c['status'] != 'True' for c in conds))" "$MNT/nodes/node-2/object.json"
	m2=$(mtime "$MNT/nodes/node-2/ready")
	check "$L: ready's mtime moved ($m1 -> $m2)" python3 -c "import sys; sys.exit(not float(sys.argv[2]) > float(sys.argv[1]))" "$m1" "$m2"
	check "$L: echo true > ready succeeds" sh -c "echo true > '$MNT/nodes/node-2/ready'"
	same "$(cat "$MNT/nodes/node-2/ready" 2>/dev/null)" true "$L: ready reads true at once"
	m1=$(mtime "$MNT/nodes/node-2/ready")
	i1=$(ino "$MNT/nodes/node-2/ready")
	m2=$(mtime "$MNT/nodes/node-2/manifest.yaml")
	sleep 0.05
	check "$L: labelling the node succeeds" sh -c "printf 'apiVersion: v1\nkind: Node\nmetadata:\n  name: node-2\n  labels:\n    fresh: \"yes\"\n' > '$MNT/apply'"
	check "$L: the label shows at once" grep -q 'fresh: "yes"' "$MNT/nodes/node-2/manifest.yaml"
	same "$(mtime "$MNT/nodes/node-2/ready")" "$m1" "$L: a label change keeps ready's mtime"
	check "$L: a label change moves manifest.yaml's mtime" sh -c "[ '$(mtime "$MNT/nodes/node-2/manifest.yaml")' != '$m2' ]"
	drop_kernel_caches
	same "$(ino "$MNT/nodes/node-2/ready")" "$i1" "$L: inode of ready stable after the kernel forgot it"
	same "$(mtime "$MNT/nodes/node-2/ready")" "$m1" "$L: ready's mtime survives the kernel forgetting it"
}

# Changes made by the timer thread (a simulated container start time).
suite_timer() {
	local L=$1 seq m0 m1 m2
	sts_yaml 2 >"$T_TMP/sts-delay.yaml"
	check "$L: applying a StatefulSet with delayed starts succeeds" sh -c "cat '$T_TMP/sts-delay.yaml' > '$MNT/apply'"
	same "$(cat "$P/web-0/phase" 2>/dev/null)" Pending "$L: web-0 starts Pending"
	check "$L: web-1 waits for web-0 (OrderedReady)" test ! -e "$P/web-1"
	m0=$(mtime "$P/web-0/phase")
	seq=$(for i in $(seq 1 100); do
		cat "$P/web-0/phase" 2>/dev/null
		[ "$(cat "$P/web-1/phase" 2>/dev/null)" = Running ] && break
		sleep 0.03
	done | uniq | tr '\n' ' ')
	same "$seq" "Pending Running " "$L: repeated cat sees web-0 go Pending -> Running"
	same "$(cat "$P/web-1/phase" 2>/dev/null)" Running "$L: web-1 started after web-0, seen by repeated cat"
	check "$L: manifest.yaml agrees with phase" grep -q 'phase: Running' "$P/web-0/manifest.yaml"
	same "$(cat "$S/web/readyReplicas" 2>/dev/null)" 2 "$L: readyReplicas reads 2"
	m1=$(mtime "$P/web-0/phase")
	check "$L: phase's mtime moved on the phase change ($m0 -> $m1)" python3 -c "import sys; sys.exit(not float(sys.argv[2]) > float(sys.argv[1]))" "$m0" "$m1"
	m2=$(mtime "$P/web-0/manifest.yaml")
	sleep 0.05
	check "$L: labelling web-0 succeeds" sh -c "printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-0\n  labels:\n    extra: \"1\"\n' > '$MNT/apply'"
	same "$(mtime "$P/web-0/phase")" "$m1" "$L: phase's mtime stays on a label change"
	check "$L: manifest.yaml's mtime moves on a label change" sh -c "[ '$(mtime "$P/web-0/manifest.yaml")' != '$m2' ]"
}

sts_yaml 2 >"$T_TMP/sts2.yaml"
for mode in cache no-cache; do
	extra=
	[ "$mode" = no-cache ] && extra=--no-cache
	rm -rf "$STATE"
	t_mount $extra
	suite_syscalls "$mode"
	t_umount
	rm -rf "$STATE"
	t_mount $extra --pod-start-delay 300ms
	suite_timer "$mode"
	t_umount
done

# --- what ls -l costs: warm, a few requests whatever the number of entries. Tree files
# have no xattrs and say so (EOPNOTSUPP: ls asks once per run, not three times per file),
# and objects' directories keep their attributes until their object changes.
rm -rf "$STATE"
t_mount -d
python3 -c '
import sys
with open(sys.argv[1], "w") as f:
    for i in range(500):
        f.write("---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: ls%03d\n"
                "spec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Mi\n" % i)
' "$T_TMP/ls500.yaml"
check "applying 500 claims succeeds" sh -c "cat '$T_TMP/ls500.yaml' > '$MNT/apply'"
requests() { grep -c '^unique:' "$T_TMP/daemon.log"; }
ls -l "$C" >/dev/null
ls -l "$C" >/dev/null
n0=$(requests)
lines=$(ls -l "$C" | wc -l)
n1=$(requests)
same "$lines" 501 "ls -l lists the 500 claims (and its total line)"
check "a warm ls -l of 500 claims costs a few requests, not some per claim ($((n1 - n0)))" test $((n1 - n0)) -le 20
check "labelling ls007 succeeds" sh -c "printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: ls007\n  labels: {x: y}\n' > '$MNT/apply'"
n0=$(requests)
ls -l "$C" >/dev/null
n1=$(requests)
check "after one claim changed, ls -l still costs a few requests ($((n1 - n0)))" test $((n1 - n0)) -le 20
got=$(python3 -c 'import os, sys
try:
    os.getxattr(sys.argv[1], "user.x"); print("value")
except OSError as e:
    print(os.strerror(e.errno))' "$C/ls001/phase")
same "$got" "$(python3 -c 'import errno, os; print(os.strerror(errno.EOPNOTSUPP))')" "getxattr on a tree file: EOPNOTSUPP (no xattrs there)"
t_umount

# --- files that change under their readers are never read cut or padded: two writers
# flap node-1's readiness (a writable file, and the read-only ready of a pod on node-1)
# while ls -lR and cat run and two walkers stat, read and stat each file again. The
# kernel keeps one i_size per inode: a read through the page cache with another
# version's size is cut to it or padded with NULs (fs_nodes.c, page cache versions).
t_mount
printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: flap}\nspec:\n  nodeName: node-1\n  containers: [{name: c, image: busybox}]\n' >"$MNT/apply"
got=$(python3 - "$MNT" "${FLAP_SECONDS:-4}" <<'PY'
import multiprocessing as mp, os, random, subprocess, sys, time
mnt, secs = sys.argv[1], float(sys.argv[2])
node = os.path.join(mnt, "nodes/node-1/ready")
pod = os.path.join(mnt, "namespaces/default/pods/flap/ready")
def flapper(stop, seed):
    rng, v = random.Random(seed), seed
    while time.time() < stop:
        with open(node, "w") as f:
            f.write("true\n" if v % 2 else "false\n")
        v += 1
        time.sleep(rng.random() * 0.003)
def browser(stop):
    while time.time() < stop:
        subprocess.run(["ls", "-lR", os.path.join(mnt, "nodes")], stdout=subprocess.DEVNULL)
        subprocess.run(["cat", node, pod], stdout=subprocess.DEVNULL)
def walker(stop, q):
    reads = torn = 0
    while time.time() < stop:
        for f in (node, pod):
            os.lstat(f)
            with open(f, "rb") as r:
                data = r.read()
            reads += 1
            torn += data not in (b"true\n", b"false\n")
    q.put((reads, torn))
if __name__ == "__main__":
    stop, q = time.time() + secs, mp.Queue()
    ps = [mp.Process(target=flapper, args=(stop, s)) for s in (0, 1)]
    ps += [mp.Process(target=browser, args=(stop,))]
    ps += [mp.Process(target=walker, args=(stop, q)) for _ in range(2)]
    for p in ps:
        p.start()
    res = [q.get() for _ in range(2)]
    for p in ps:
        p.join()
    print("%d %d" % (sum(r for r, _ in res), sum(t for _, t in res)))
PY
)
reads=${got% *}
same "${got#* }" 0 "reads of flapping files ($reads) are never cut or padded to another version's size"
check "the walkers read many times (${reads:-0})" test "${reads:-0}" -gt 1000
# --- an object removed and made again under an open descriptor (its path names a new
# object now): fstat(2) of the descriptor answers what it still reads (cat and opendir
# call it; it has no retry, so ESTALE would reach them), and a lookup relative to a
# descriptor of a directory whose namespace was made again answers ENOENT, as a local
# file system does in a removed directory (the VFS's retry of ESTALE starts at the same
# descriptor, so it could never help). The path itself names the new object.
got=$(python3 - "$MNT" <<'PY'
import errno, os, stat, sys, time
mnt = sys.argv[1]
pvcs = os.path.join(mnt, "namespaces/default/persistentvolumeclaims")
def claim(d, name):
    with open(os.path.join(d, name + ".yaml"), "w") as f:
        f.write("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: %s\n"
                "spec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n"
                "      storage: 1Mi\n" % name)
def err(fn):
    try:
        fn()
        return "OK"
    except OSError as e:
        return errno.errorcode[e.errno]
out = []
claim(pvcs, "again")
fd = os.open(os.path.join(pvcs, "again/phase"), os.O_RDONLY)
data = os.read(fd, 4096)
dfd = os.open(os.path.join(pvcs, "again"), os.O_RDONLY | os.O_DIRECTORY)
os.rmdir(os.path.join(pvcs, "again"))
claim(pvcs, "again")
time.sleep(0.3)
out.append(err(lambda: os.fstat(fd)))
st = os.fstat(fd) if out[-1] == "OK" else None
out.append("reg %d size %d" % (stat.S_ISREG(st.st_mode), st.st_size == len(data)) if st else "-")
out.append(err(lambda: os.fstat(dfd)))
st = os.fstat(dfd) if out[-1] == "OK" else None
out.append("dir %d" % stat.S_ISDIR(st.st_mode) if st else "-")
os.close(fd); os.close(dfd)
ns = os.path.join(mnt, "namespaces/again-ns")
os.mkdir(ns)
claim(os.path.join(ns, "persistentvolumeclaims"), "c1")
kfd = os.open(os.path.join(ns, "persistentvolumeclaims"), os.O_RDONLY | os.O_DIRECTORY)
os.rmdir(ns)
os.mkdir(ns)
claim(os.path.join(ns, "persistentvolumeclaims"), "c1")
time.sleep(0.3)
out.append(err(lambda: os.stat("c1", dir_fd=kfd)))
out.append(err(lambda: os.close(os.open("c1/phase", os.O_RDONLY, dir_fd=kfd))))
out.append(err(lambda: os.stat(os.path.join(ns, "persistentvolumeclaims/c1/phase"))))
os.close(kfd)
print(" | ".join(out))
PY
)
same "$got" "OK | reg 1 size 1 | OK | dir 1 | ENOENT | ENOENT | OK" "made again under open descriptors: fstat of a file and a directory, lookups under an old directory descriptor, the path itself"

t_umount
t_report
