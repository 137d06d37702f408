#!/usr/bin/env bash
# Mount test of the FUSE adapter and the daemon: command line, one daemon per state
# directory, browsing the tree, writing claims and manifests, errnos at write(2) and
# close(2), limits, rmdir/mkdir, tail -f and poll(2) on /events, clean exit on SIGTERM,
# and detaching without -f. Run at the project's root: bash tests/integration/test_mount_basic.sh
set -u
. "$(dirname "$0")/lib.sh"

# --- command line
out=$("$CLAIMFS" --help 2>&1); rc=$?
same "$rc" 0 "--help exits 0"
check "--help shows the usage line" sh -c "echo \"\$1\" | grep -q 'usage: claimfs \[options\] MOUNTPOINT'" _ "$out"
check "--help documents --pod-start-delay" sh -c "echo \"\$1\" | grep -q -- '--pod-start-delay'" _ "$out"
out=$("$CLAIMFS" --version 2>&1); rc=$?
same "$rc" 0 "--version exits 0"
check "--version names claimfs and libfuse" sh -c "echo \"\$1\" | grep -q '^claimfs ' && echo \"\$1\" | grep -q 'FUSE library version'" _ "$out"

# usage_error DESCRIPTION EXPECTED-MESSAGE ARGS...: exits 2 with that message, mounts nothing
usage_error() {
	local d=$1 want=$2 rc
	shift 2
	"$CLAIMFS" "$@" >"$T_TMP/err.out" 2>&1
	rc=$?
	same "$rc" 2 "$d exits 2"
	check "$d says: $want" grep -q -- "$want" "$T_TMP/err.out"
}
usage_error "an unknown option" "unknown option --bogus" --bogus "$MNT"
usage_error "a bad duration" 'invalid duration "3x" for --pod-start-delay' --pod-start-delay 3x "$MNT"
usage_error "a duration without a unit" 'invalid duration "5"' --provision-delay 5 "$MNT"
usage_error "a bad object count" 'invalid count "many" for --max-objects' --max-objects many "$MNT"
usage_error "a zero replica limit" 'invalid count "0" for --max-replicas' --max-replicas 0 "$MNT"
usage_error "no mount point" "missing mount point" --state "$STATE"
usage_error "two mount points" 'unexpected argument' "$MNT" "$T_TMP/other"
usage_error "an option without its value" "needs a value" "$MNT" --state
usage_error "an unknown -o option" "invalid mount options" -o no_such_option "$MNT"
check "no state directory was created by refused command lines" test ! -e "$STATE"

# --- mount; a second daemon on the same state is refused
t_mount --pod-start-delay 0ms
mkdir -p "$T_TMP/mnt2"
"$CLAIMFS" -f --state "$STATE" "$T_TMP/mnt2" >"$T_TMP/second.out" 2>&1
rc=$?
same "$rc" 1 "a second daemon on the same state exits 1"
check "it says the state directory is in use" grep -q "state directory .* is in use by another claimfs (pid $T_PID)" "$T_TMP/second.out"
check "it did not mount" sh -c "! mountpoint -q '$T_TMP/mnt2'"

# --- browsing
for e in README apply events metrics dns namespaces nodes persistentvolumes storageclasses; do
	check "ls / shows $e" sh -c "ls '$MNT' | grep -qx '$e'"
done
check "cat README" grep -q "claimfs" "$MNT/README"
same "$(stat -c %s "$MNT/README")" "$(wc -c <"$MNT/README")" "README's st_size is what cat reads"
same "$(stat -c %F "$MNT/nodes")" "directory" "nodes is a directory"
same "$(stat -c %a "$MNT/apply")" "200" "apply is write-only, for its owner only"
same "$(stat -c %U "$MNT/README")" "$(id -un)" "files belong to the daemon's user"
n=$(find "$MNT" -type f 2>/dev/null | wc -l)
check "find lists the tree's files ($n)" test "$n" -gt 20
check "find reaches node files" sh -c "find '$MNT/nodes' -name manifest.yaml | grep -q node-1/manifest.yaml"
check "ls -l of a kind directory works" ls -l "$MNT/storageclasses"
check "the namespace default exists" test -d "$NS"

# --- a claim file copied in, and out again
cat >"$T_TMP/data.yaml" <<'Y'
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
Y
check "cp of a claim file into persistentvolumeclaims/ succeeds" cp "$T_TMP/data.yaml" "$NS/persistentvolumeclaims/data.yaml"
check "the claim's directory appears" test -d "$NS/persistentvolumeclaims/data"
check "the copied file itself is not kept" test ! -e "$NS/persistentvolumeclaims/data.yaml"
check "ls shows the claim" sh -c "ls '$NS/persistentvolumeclaims' | grep -qx data"
check "the claim has a phase" grep -Eqx 'Pending|Bound' "$NS/persistentvolumeclaims/data/phase"
check "cp of a claim's manifest out of the mount" cp "$NS/persistentvolumeclaims/data/manifest.yaml" "$T_TMP/copy.yaml"
check "the copy is the claim" grep -q "name: data" "$T_TMP/copy.yaml"
check "cp of a claim's manifest within the mount (another name)" sh -c "sed 's/name: data\$/name: data2/' '$T_TMP/copy.yaml' | grep -v -e uid: -e resourceVersion: -e creationTimestamp: > '$T_TMP/data2.yaml' && cp '$T_TMP/data2.yaml' '$NS/persistentvolumeclaims/'"
check "the second claim exists" test -d "$NS/persistentvolumeclaims/data2"
check "a file of another extension is refused" sh -c "! cp '$T_TMP/data.yaml' '$NS/persistentvolumeclaims/data.txt'"

# --- cat > apply
cat >"$T_TMP/web.yaml" <<'Y'
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
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx
Y
check "cat > apply succeeds" sh -c "cat '$T_TMP/web.yaml' > '$MNT/apply'"
same "$(ls "$NS/pods" 2>/dev/null | tr '\n' ' ')" "web-0 web-1 " "the StatefulSet's pods exist"
same "$(cat "$NS/statefulsets/web/replicas" 2>/dev/null)" 2 "replicas reads 2"

# --- errors reach the user: close(2), write(2), open(2)
bad_pvc='apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: broken\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: banana\n'
got=$(errno_of "
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.write(fd, sys.argv[2].encode().decode('unicode_escape').encode())
    os.close(fd)" "$NS/persistentvolumeclaims/broken.yaml" "$bad_pvc")
same "$got" EINVAL "a bad claim file is refused at close(2) with EINVAL"
check "the refused claim does not exist" test ! -e "$NS/persistentvolumeclaims/broken"
check "the reason is a FailedApply line in /events" sh -c "grep FailedApply '$MNT/events' | grep broken.yaml | grep -q banana"
got=$(errno_of "
    fd = os.open(sys.argv[1], os.O_WRONLY)
    os.write(fd, b'kind: [unclosed\n')
    os.close(fd)" "$MNT/apply")
same "$got" EINVAL "a syntax error written to /apply fails at close(2)"
check "its reason names apply with a line and column" sh -c "grep FailedApply '$MNT/events' | grep -Eq ' apply:[0-9]+:[0-9]+: '"
got=$(errno_of "
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b'banana\n')" "$NS/statefulsets/web/replicas")
same "$got" EINVAL "echo banana > replicas fails at write(2) with EINVAL"
check "the shell sees it too" sh -c "! echo banana > '$NS/statefulsets/web/replicas'"
same "$(cat "$NS/statefulsets/web/replicas")" 2 "replicas unchanged after the bad write"
got=$(errno_of "
    fd = os.open(sys.argv[1], os.O_WRONLY)
    chunk = b'#' * (1 << 20)
    for i in range(17):
        os.write(fd, chunk)" "$MNT/apply")
same "$got" EFBIG "writing more than 16 MiB to /apply fails with EFBIG"
got=$(errno_of "
    os.open(sys.argv[1], os.O_WRONLY)" "$NS/statefulsets/web/readyReplicas")
same "$got" EACCES "opening a read-only file for writing fails with EACCES"
check "echo > a read-only file fails" sh -c "! echo 1 > '$NS/persistentvolumeclaims/data/phase'"
got=$(errno_of "
    os.chmod(sys.argv[1], 0o777)" "$NS/persistentvolumeclaims/data/phase")
same "$got" EPERM "chmod of a tree file fails with EPERM"
got=$(errno_of "
    os.rename(sys.argv[1], sys.argv[2])" "$NS/persistentvolumeclaims/data" "$NS/persistentvolumeclaims/moved")
same "$got" EXDEV "rename fails with EXDEV"
got=$(errno_of "
    os.symlink('x', sys.argv[1])" "$NS/persistentvolumeclaims/link")
same "$got" EPERM "symlink fails with EPERM"

# --- rmdir, mkdir
check "rmdir of a claim succeeds" rmdir "$NS/persistentvolumeclaims/data2"
check "the claim is gone" test ! -e "$NS/persistentvolumeclaims/data2"
check "mkdir namespaces/team-a succeeds" mkdir "$MNT/namespaces/team-a"
check "the namespace is there" test -d "$MNT/namespaces/team-a/persistentvolumeclaims"
check "ls namespaces shows it" sh -c "ls '$MNT/namespaces' | grep -qx team-a"
check "mkdir elsewhere is refused" sh -c "! mkdir '$MNT/nodes/node-9'"

# --- tail -f and poll(2) on /events
tail -n0 -s 0.1 -f "$MNT/events" >"$T_TMP/tail.out" 2>/dev/null &
tail_pid=$!
sleep 0.3
echo 3 >"$NS/statefulsets/web/replicas"
for i in $(seq 1 10); do grep -q "web-2" "$T_TMP/tail.out" && break; sleep 0.1; done
kill "$tail_pid" 2>/dev/null; wait "$tail_pid" 2>/dev/null
check "tail -f /events shows the new pod's events within a second" grep -q "create Pod web-2 in StatefulSet web successful" "$T_TMP/tail.out"
check "statfs works (df)" df "$MNT"
got=$(python3 - "$MNT" <<'PY'
import os, select, sys, threading, time
mnt = sys.argv[1]
fd = os.open(mnt + "/events", os.O_RDONLY)
while os.read(fd, 1 << 16):
    pass
p = select.poll()
p.register(fd, select.POLLIN)
idle = p.poll(0)
def apply():
    time.sleep(0.3)
    with open(mnt + "/apply", "w") as f:
        f.write("apiVersion: v1\nkind: Pod\nmetadata:\n  name: poller\nspec:\n  containers:\n  - name: c\n    image: busybox\n")
threading.Thread(target=apply).start()
t = time.time()
ready = p.poll(3000)
waited = time.time() - t
line = os.read(fd, 1 << 16).decode()
print("idle=%s ready=%s fast=%s new=%s" % (bool(idle), bool(ready), waited < 1.0, "pods/poller" in line))
PY
)
same "$got" "idle=False ready=True fast=True new=True" "poll(2) on /events sleeps, then wakes within a second of an apply"

# --- SIGTERM unmounts and exits 0, even with files still open (the kernel releases none
# of them then: the daemon frees their handles itself; a sanitizer build reports a leak
# otherwise): a snapshot, a log, a directory and a manifest being written.
exec 6>"$NS/configmaps/never-closed.yaml" 7<"$MNT/events" 8<"$NS/statefulsets/web/manifest.yaml" 9<"$MNT/namespaces"
echo "apiVersion: v1" >&6
kill -TERM "$T_PID"
rc=0
for i in $(seq 1 50); do kill -0 "$T_PID" 2>/dev/null || break; sleep 0.1; done
wait "$T_PID"; rc=$?
T_PID=
exec 6>&- 7<&- 8<&- 9<&- 2>/dev/null
same "$rc" 0 "SIGTERM: the daemon exits 0"
check "SIGTERM: the mount is gone" sh -c "! mountpoint -q '$MNT'"
check "SIGTERM with open files: no sanitizer report" sh -c "! grep -Eq 'Sanitizer|runtime error' '$T_TMP/daemon.log'"

# --- without -f: detaches once mounted; state kept across the remount
"$CLAIMFS" --state "$STATE" "$MNT" >"$T_TMP/bg.out" 2>&1
rc=$?
same "$rc" 0 "without -f the command returns 0"
check "without -f the mount is there when it returns" mountpoint -q "$MNT"
check "the state survived the remount" test -d "$NS/statefulsets/web"
bgpid=$(head -1 "$STATE/lock" 2>/dev/null) # the daemon's pid, kept by the state lock
check "the state lock names a live background daemon" kill -0 "${bgpid:-0}"
fusermount3 -u "$MNT"
for i in $(seq 1 50); do [ -n "$bgpid" ] && kill -0 "$bgpid" 2>/dev/null || break; sleep 0.1; done
check "the background daemon exits after fusermount -u" sh -c "[ -n '$bgpid' ] && ! kill -0 '$bgpid' 2>/dev/null"
check "the background daemon printed nothing" test ! -s "$T_TMP/bg.out"
check "the foreground daemon printed only FailedApply reasons" sh -c "! grep -v -e '^claimfs: .*' '$T_TMP/daemon.log' | grep -q ."

# --- a snapshot with 1,200 objects, as claimfs writes it (objects last): a mount reads it
# in parts of 512 (persist.h) and shows all of it; a damaged one is refused with its
# position, and the refused mount changes nothing
SNAPSTATE=$T_TMP/state-snap
mkdir -m 700 "$SNAPSTATE"
python3 - "$SNAPSTATE" <<'PY'
import json, os, sys
d = sys.argv[1]
meta = lambda name, rv, ns=None: dict({"name": name, "uid": "uid-" + name,
    "creationTimestamp": "2026-12-07T00:00:00Z", "resourceVersion": str(rv)},
    **({"namespace": ns} if ns else {}))
objs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": meta("default", 1),
         "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}]
objs += [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("cm-%d" % i, i + 2, "default"),
          "data": {"i": str(i)}} for i in range(1200)]
state = {"rv": 1202, "seed": 1, "uids": 1300, "objects": objs}
for name, text in (("snapshot.json", json.dumps({"claimfs": 1, "gen": 1, "state": state},
                                                separators=(",", ":")) + "\n"), ("journal.1", "")):
    fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, text.encode())
    os.close(fd)
PY
MAINSTATE=$STATE
STATE=$SNAPSTATE
t_mount
same "$(ls "$NS/configmaps" | wc -l)" 1200 "a mount of a 1,200-object snapshot shows every ConfigMap"
same "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"]["i"])' "$NS/configmaps/cm-1199/object.json")" 1199 \
	"the last part's objects are whole (cm-1199)"
same "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["resourceVersion"])' "$NS/configmaps/cm-600/object.json")" 602 \
	"an object of the second part keeps its resourceVersion (cm-600)"
t_umount
sed -i 's/"name":"cm-1000",/"name":cm-1000",/' "$SNAPSTATE/snapshot.json"
sums=$(cd "$SNAPSTATE" && md5sum snapshot.json journal.*)
"$CLAIMFS" -f --state "$SNAPSTATE" "$MNT" >"$T_TMP/damaged.out" 2>&1
same "$?" 1 "a damaged snapshot (inside its second part) stops the mount: exit 1"
check "and says where: snapshot.json:1:COLUMN: corrupt snapshot" grep -Eq 'snapshot.json:1:[0-9]+: corrupt snapshot' "$T_TMP/damaged.out"
check "it did not mount" sh -c "! mountpoint -q '$MNT'"
same "$(cd "$SNAPSTATE" && md5sum snapshot.json journal.*)" "$sums" "the refused mount changed no state file"
STATE=$MAINSTATE

t_report
