#!/bin/sh
# volume_io.sh - sequential 1 MiB I/O through a pod's mount of a volume against the same
# disk used directly (issue 7: the pod path should reach >= 70% of the disk). Mounts
# claimfs on a private directory, makes a claim and a pod that mounts it, then for the pod
# path and for a plain directory next to the state directory (the same file system):
#   write       VOLUME_MB MiB in 1 MiB write(2)s, then fsync: what reaches the disk
#   write_cached the same without the fsync: the page cache path
#   read        the file read back cold (its pages dropped with posix_fadvise DONTNEED,
#               the backing file's too), 1 MiB read(2)s
#   read_warm   read again with the pages cached
# Each figure is the median of VOLUME_RUNS runs, the two paths taking turns, every figure
# starting after a sync(2). Prints "name value" lines, e.g.
#   volume_seq_write_MBps 812.4
#   volume_seq_write_direct_MBps 903.1
#   volume_seq_write_ratio 0.90
# and the same as one JSON object on the last line (also written to VOLUME_JSON when set).
# A benchmark, not a test: it exits non-zero only when it cannot run (no mount).
# Environment: CLAIMFS (binary, default ./claimfs; bench.sh passes build-bench/claimfs), VOLUME_MB=256,
# VOLUME_RUNS=3, BENCH_DIR (work directory: which disk is measured; default under
# $TMPDIR or /tmp), VOLUME_JSON, BENCH_KEEP=1 keeps the work directory.
set -eu
cd "$(dirname "$0")/../.."

CLAIMFS=${CLAIMFS:-./claimfs}
MB=${VOLUME_MB:-256}
RUNS=${VOLUME_RUNS:-3}
DIR=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/claimfs-volio.XXXXXX")}
MNT=$DIR/mnt
PID=

cleanup() {
	if [ -n "$PID" ]; then
		fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

mkdir -p "$MNT" "$DIR/direct"
"$CLAIMFS" -f --state "$DIR/state" "$MNT" >"$DIR/daemon.log" 2>&1 &
PID=$!
i=0
while ! mountpoint -q "$MNT"; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$PID" 2>/dev/null; then
		echo "volume_io: claimfs did not mount" >&2
		cat "$DIR/daemon.log" >&2
		exit 1
	fi
	sleep 0.1
done

NS=$MNT/namespaces/default
cap=$((MB * 2 + 64))
printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: bench}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: %sMi}}\n' \
	"$cap" >"$NS/persistentvolumeclaims/bench.yaml"
cat >"$NS/pods/bench.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: bench}
spec:
  containers:
  - name: io
    image: busybox
    volumeMounts: [{name: v, mountPath: /data}]
  volumes: [{name: v, persistentVolumeClaim: {claimName: bench}}]
Y
PV=$(cat "$NS/persistentvolumeclaims/bench/volumeName")

python3 - "$NS/pods/bench/containers/io/data" "$DIR/state/volumes/$PV" "$DIR/direct" \
	"$MB" "$RUNS" "${VOLUME_JSON:-}" <<'P'
import json, os, statistics, sys, time

pod, backing, direct, mb, runs, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
CHUNK = 1 << 20
buf = b"\xa5" * CHUNK

def drop(path):
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)

def write(path, sync):
    t = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    for _ in range(mb):
        if os.write(fd, buf) != CHUNK:
            raise OSError("short write")
    if sync:
        os.fsync(fd)
    os.close(fd)
    return mb / (time.perf_counter() - t)

def read(path):
    t = time.perf_counter()
    fd = os.open(path, os.O_RDONLY)
    n = 0
    while True:
        b = os.read(fd, CHUNK)
        if not b:
            break
        n += len(b)
    os.close(fd)
    if n != mb * CHUNK:
        raise OSError("short read")
    return mb / (time.perf_counter() - t)

def one(where, backing_file, r):
    f = os.path.join(where, "seq")
    os.sync()  # every figure starts with no dirty pages anywhere
    r["write"].append(write(f, True))
    os.sync()
    r["write_cached"].append(write(f, False))
    drop(f)
    if backing_file:
        drop(backing_file)
    r["read"].append(read(f))
    r["read_warm"].append(read(f))
    os.unlink(f)

# The two paths take turns, so that both see the same state of the machine.
keys = ("write", "write_cached", "read", "read_warm")
rd = {k: [] for k in keys}
rp = {k: [] for k in keys}
for _ in range(runs):
    one(direct, None, rd)
    one(pod, os.path.join(backing, "seq"), rp)
d = {k: statistics.median(v) for k, v in rd.items()}
p = {k: statistics.median(v) for k, v in rp.items()}
res = {}
for k in keys:
    res["volume_seq_%s_MBps" % k] = round(p[k], 1)
    res["volume_seq_%s_direct_MBps" % k] = round(d[k], 1)
    res["volume_seq_%s_ratio" % k] = round(p[k] / d[k], 3)
for k, v in res.items():
    print(k, v)
doc = {"volume_io": dict(res, mib=mb, runs=runs)}
print(json.dumps(doc))
if out:
    with open(out, "w") as fh:
        json.dump(doc, fh, indent=1)
P
