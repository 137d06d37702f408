#!/usr/bin/env bash
# Mount test of volume data (issue 7): a PV's data/ and a pod container's mount points hold
# real, capacity-limited storage. Checks: data written through a pod survives the pod's
# deletion and recreation, a remount and kill -9 (fsynced); ENOSPC at the capacity with
# dd, df figures, expansion at once; EROFS for readOnly mounts and ReadOnlyMany claims;
# EXDEV between volumes and between views; POSIX operations (mkdir, rename, symlink,
# link, chmod, utimens, truncate, fallocate, xattrs, fsync); owners are the caller's;
# views see each other's changes; Retain keeps, Delete removes, Recycle empties; symlinks
# are never followed by the daemon (subPath through a symlink, and a rename race swapping
# a directory for a symlink while another loop opens files below it without following
# symlinks itself).
# Run at the project's root: bash tests/integration/test_volumes.sh
set -u
. "$(dirname "$0")/lib.sh"

PY=${PYTHON:-python3}
CL=$NS/persistentvolumeclaims

# claim NAME SIZE [MODES] [CLASS]
claim() {
	local modes=${3:-ReadWriteOnce} cls=""
	[ -n "${4+set}" ] && cls="  storageClassName: \"$4\""
	printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: %s\nspec:\n  accessModes: [%s]\n  resources: {requests: {storage: %s}}\n%s\n' \
		"$1" "$modes" "$2" "$cls" >"$CL/$1.yaml"
}
# pv_of CLAIM: the PV its claim is bound to
pv_of() { cat "$CL/$1/volumeName"; }
errno_of() { "$PY" - "$@" <<'P'
import errno, os, sys
op, a = sys.argv[1], sys.argv[2:]
try:
    if op == "write":
        fd = os.open(a[0], os.O_WRONLY | os.O_CREAT, 0o644); os.write(fd, b"x"); os.close(fd)
    elif op == "mkdir": os.mkdir(a[0])
    elif op == "unlink": os.unlink(a[0])
    elif op == "rename": os.rename(a[0], a[1])
    elif op == "link": os.link(a[0], a[1])
    elif op == "symlink": os.symlink(a[0], a[1])
    elif op == "chmod": os.chmod(a[0], 0o600)
    elif op == "truncate": os.truncate(a[0], 0)
    elif op == "setxattr": os.setxattr(a[0], "user.t", b"v")
    elif op == "open": os.close(os.open(a[0], os.O_RDONLY))
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])
P
}

t_mount

# --- a StatefulSet whose pod mounts its claim
claim data 10Mi
PV=$(pv_of data)
check "the claim is bound" test -n "$PV"
check "a PV's directory lists data" sh -c "ls '$MNT/persistentvolumes/$PV' | grep -qx data"
same "$(stat -c %F "$MNT/persistentvolumes/$PV/data")" "directory" "data/ is a directory"
D=$MNT/persistentvolumes/$PV/data
same "$(du -sB1 "$D" | cut -f1)" "$(du -sB1 "$STATE/volumes/$PV" | cut -f1)" "a new volume's usage is its root directory's"

cat >"$MNT/apply" <<'Y'
apiVersion: v1
kind: Service
metadata: {name: web-h}
spec:
  selector: {app: web}
  clusterIP: None
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web-h
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: nginx
        volumeMounts:
        - {name: www, mountPath: /usr/share/nginx/html}
        - {name: www, mountPath: /conf, subPath: conf.d}
        - {name: www, mountPath: /ro, readOnly: true}
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 20Mi}}
Y
W=$NS/pods/web-0/containers/app
check "the pod's containers/ lists its container" sh -c "ls '$NS/pods/web-0/containers' | grep -qx app"
same "$(ls "$W" | tr '\n' ' ')" "conf ro usr " "the container shows the first component of each mount path"
same "$(stat -c %a "$W/usr")" "555" "directories on the way to a mount are synthesised read-only"
H=$W/usr/share/nginx/html
WPV=$(pv_of www-web-0)
check "the mount point is the volume's root" test -d "$H"
echo "<h1>hello</h1>" >"$H/index.html"
same "$(cat "$MNT/persistentvolumes/$WPV/data/index.html")" "<h1>hello</h1>" "what the pod wrote is in the PV's data/"
same "$(cat "$STATE/volumes/$WPV/index.html")" "<h1>hello</h1>" "and on the disk under the state directory"
echo "conf" >"$W/conf/site.conf"
same "$(cat "$MNT/persistentvolumes/$WPV/data/conf.d/site.conf")" "conf" "subPath is a directory inside the volume (made when missing)"
dd if=/dev/urandom of="$H/blob" bs=64k count=16 conv=fsync 2>/dev/null
sum_before=$(md5sum <"$H/blob")
rmdir "$NS/pods/web-0"
for _ in $(seq 1 50); do [ -d "$NS/pods/web-0" ] && break; sleep 0.1; done
same "$(cat "$H/index.html" 2>&1)" "<h1>hello</h1>" "the recreated pod (same ordinal, same claim) sees the data"
same "$(md5sum <"$H/blob")" "$sum_before" "byte for byte"

# --- capacity: ENOSPC, df, expansion
out=$(dd if=/dev/zero of="$H/fill" bs=1M count=40 2>&1)
check "dd past the capacity fails with ENOSPC" sh -c "echo \"\$1\" | grep -q 'No space left on device'" _ "$out"
used=$(du -sB1 "$H" | cut -f1)
check "du stays within the capacity ($used)" test "$used" -le 20971520
read -r size dused avail <<<"$(df -B1 --output=size,used,avail "$H" | tail -1)"
same "$size" "20971520" "df shows the capacity as the size"
same "$dused" "$used" "df used is what du counts"
same "$avail" "$((20971520 - used))" "df avail is the rest"
check "df of a file inside the volume shows the same" sh -c "df -B1 --output=size '$H/blob' | tail -1 | grep -qx ' *20971520'"
same "$(errno_of write "$H/more")" "ENOSPC" "a new byte in a full volume: ENOSPC"
rm -f "$H/fill"
read -r size dused avail <<<"$(df -B1 --output=size,used,avail "$H" | tail -1)"
check "removing the file gives the space back ($avail free)" test "$avail" -gt 19000000
echo 40Mi >"$CL/www-web-0/storage"
same "$(df -B1 --output=size "$H" | tail -1 | tr -d ' ')" "41943040" "expansion raises df's size at once"
check "a 30 MiB file fits after expansion" dd if=/dev/zero of="$H/fill" bs=1M count=30 status=none
rm -f "$H/fill"

# --- read-only mounts
same "$(errno_of write "$W/ro/x")" "EROFS" "readOnly mount: creating a file is EROFS"
same "$(errno_of write "$W/ro/index.html")" "EROFS" "readOnly mount: writing a file is EROFS"
same "$(errno_of mkdir "$W/ro/d")" "EROFS" "readOnly mount: mkdir is EROFS"
same "$(errno_of unlink "$W/ro/index.html")" "EROFS" "readOnly mount: unlink is EROFS"
same "$(errno_of chmod "$W/ro/index.html")" "EROFS" "readOnly mount: chmod is EROFS"
same "$(errno_of truncate "$W/ro/index.html")" "EROFS" "readOnly mount: truncate is EROFS"
same "$(cat "$W/ro/index.html")" "<h1>hello</h1>" "readOnly mount: reading works"
claim shared 5Mi ReadOnlyMany
cat >"$NS/pods/reader.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  containers:
  - name: c
    image: busybox
    volumeMounts: [{name: s, mountPath: /shared}]
  volumes: [{name: s, persistentVolumeClaim: {claimName: shared}}]
Y
echo "seed" >"$MNT/persistentvolumes/$(pv_of shared)/data/seed"
same "$(cat "$NS/pods/reader/containers/c/shared/seed")" "seed" "a ReadOnlyMany claim's mount reads"
same "$(errno_of write "$NS/pods/reader/containers/c/shared/x")" "EROFS" "a ReadOnlyMany claim's mount refuses writes with EROFS"

# --- EXDEV
same "$(errno_of link "$H/index.html" "$D/h")" "EXDEV" "link across volumes: EXDEV"
same "$(errno_of rename "$H/index.html" "$D/h")" "EXDEV" "rename across volumes: EXDEV"
same "$(errno_of link "$H/index.html" "$MNT/persistentvolumes/$WPV/data/h")" "EXDEV" "link between two views of one volume: EXDEV (two mounts)"
check "mv across volumes copies" mv "$H/blob" "$D/blob"
same "$(md5sum <"$D/blob")" "$sum_before" "the copy is whole"
check "the source went" test ! -e "$H/blob"

# --- POSIX operations in a volume
check "mkdir -p" mkdir -p "$D/a/b/c"
check "rename a directory" mv "$D/a/b" "$D/a/bb"
check "the renamed tree is there" test -d "$D/a/bb/c"
echo data >"$D/a/f"
check "symlink" ln -s ../f "$D/a/bb/l"
same "$(readlink "$D/a/bb/l")" "../f" "readlink"
same "$(cat "$D/a/bb/l")" "data" "a relative symlink resolves inside the volume"
check "hard link" ln "$D/a/f" "$D/a/g"
same "$(stat -c %h "$D/a/f")" "2" "link count 2"
same "$(stat -c %i "$D/a/f")" "$(stat -c %i "$D/a/g")" "both names are one inode"
chmod 640 "$D/a/f"
same "$(stat -c %a "$D/a/f")" "640" "chmod"
same "$(stat -c %a "$STATE/volumes/$PV/a/f")" "640" "chmod reaches the disk"
touch -m -d "2001-02-03 04:05:06 UTC" "$D/a/f"
same "$(stat -c %Y "$D/a/f")" "981173106" "utimens (touch -d)"
truncate -s 100000 "$D/a/f"
same "$(stat -c %s "$D/a/f")" "100000" "truncate up"
truncate -s 2 "$D/a/f"
same "$(cat "$D/a/f")" "da" "truncate down"
if fallocate -l 1M "$D/a/falloc" 2>/dev/null; then
	same "$(stat -c %s "$D/a/falloc")" "1048576" "fallocate"
	check "fallocate is charged" test "$(du -sB1 "$D/a/falloc" | cut -f1)" -ge 1048576
	rm "$D/a/falloc"
fi
xattr=$("$PY" -c 'import os,sys; p=sys.argv[1]; os.setxattr(p,"user.color",b"blue"); print(os.getxattr(p,"user.color").decode(), "user.color" in os.listxattr(p))' "$D/a/g" 2>&1)
if echo "$xattr" | grep -q "Operation not supported"; then
	ok "xattrs: the backing disk has none (skipped)"
else
	same "$xattr" "blue True" "user xattrs: set, get, list"
	same "$(errno_of setxattr "$W/ro/index.html")" "EROFS" "xattrs in a readOnly mount: EROFS"
fi
check "fsync of a file" "$PY" -c 'import os,sys; fd=os.open(sys.argv[1],os.O_RDWR); os.write(fd,b"z"); os.fsync(fd); os.fdatasync(fd); os.close(fd)' "$D/a/g"
check "fsync of a directory" "$PY" -c 'import os,sys; fd=os.open(sys.argv[1],os.O_RDONLY); os.fsync(fd); os.close(fd)' "$D/a"
check "rm -r" rm -r "$D/a/bb"
check "rmdir of a non-empty directory fails" sh -c "! rmdir '$D/a' 2>/dev/null"
same "$(errno_of mkdir "$D/a")" "EEXIST" "mkdir of an existing name: EEXIST"
check "ls -la of the volume" ls -la "$D"
check "find walks the volume" sh -c "find '$D' -name g | grep -q 'a/g'"
same "$(du -sB1 "$D" | cut -f1)" "$(du -sB1 "$STATE/volumes/$PV" | cut -f1)" "du through the mount equals du of the disk"
same "$(df -B1 --output=used "$D" | tail -1 | tr -d ' ')" "$(du -sB1 "$STATE/volumes/$PV" | cut -f1)" "df used is du of the volume"

# --- views: the same file through two views
echo one >"$H/shared.txt"
same "$(cat "$MNT/persistentvolumes/$WPV/data/shared.txt")" "one" "the PV's view reads what the pod wrote"
exec 7<"$MNT/persistentvolumes/$WPV/data/shared.txt"
echo "two, longer" >"$H/shared.txt"
same "$(cat "$MNT/persistentvolumes/$WPV/data/shared.txt")" "two, longer" "a rewrite through the pod is seen through the PV's view"
same "$(cat <&7)" "two, longer" "even by a descriptor opened before"
exec 7<&-
rm "$H/shared.txt"
check "a removal through one view is seen through the other" test ! -e "$MNT/persistentvolumes/$WPV/data/shared.txt"
echo "first version" >"$H/same"
exec 8<"$H/same"
"$PY" -c 'import os; os.pread(8, 100, 0)' # its page is cached now
printf 'SECOND' | dd of="$H/same" conv=notrunc status=none # a write-only open writes around the cache
same "$("$PY" -c 'import os; print(os.pread(8, 100, 0).decode(), end="")')" "SECONDversion" "a reader with cached pages sees a write-only writer's bytes (same view)"
exec 8<&-

mm=$("$PY" - "$H/mm" "$MNT/persistentvolumes/$WPV/data/mm" <<'P'
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, 4096)
m = mmap.mmap(fd, 4096, mmap.MAP_SHARED)
m[0:5] = b"mmap!"
m.flush()
m.close()
os.close(fd)
print(open(sys.argv[2], "rb").read(5).decode())
P
)
same "$mm" "mmap!" "a shared mapping's writes reach the file (seen through the other view)"

# --- owners are the caller's (a mount other users may enter)
t_umount
t_mount -o allow_other
chmod 755 "$T_TMP" # mktemp made it 0700: the other user must reach the mount point
mkdir -p "$D/open" && chmod 1777 "$D/open"
check "another user creates a file" setpriv --reuid=4321 --regid=4321 --clear-groups sh -c "echo mine > '$D/open/f' && mkdir '$D/open/d' && ln -s f '$D/open/l'"
same "$(stat -c %u:%g "$D/open/f")" "4321:4321" "a file is owned by its creator"
same "$(stat -c %u:%g "$D/open/d")" "4321:4321" "a directory is owned by its creator"
same "$(stat -c %u:%g "$STATE/volumes/$PV/open/l")" "4321:4321" "a symlink is owned by its creator (on the disk too)"
same "$(stat -c %u:%g "$STATE/volumes/$PV/open/f")" "4321:4321" "on the disk too"
check "that user may not chmod root's files" sh -c "! setpriv --reuid=4321 --regid=4321 --clear-groups chmod 777 '$D/open' 2>/dev/null"

# --- remount and kill -9
echo "before remount" >"$D/persist"
t_umount
t_mount
same "$(cat "$D/persist")" "before remount" "data survives a remount"
same "$(df -B1 --output=used "$D" | tail -1 | tr -d ' ')" "$(du -sB1 "$STATE/volumes/$PV" | cut -f1)" "usage is counted again at the first use after a remount"
"$PY" -c 'import os,sys; fd=os.open(sys.argv[1],os.O_WRONLY|os.O_CREAT,0o644); os.write(fd,b"fsynced\n"); os.fsync(fd); os.close(fd)' "$D/crash"
dd if=/dev/urandom of="$H/big" bs=1M count=4 conv=fsync status=none
sum=$(md5sum <"$H/big")
t_crash
t_mount
same "$(cat "$D/crash")" "fsynced" "fsynced data survives kill -9"
same "$(md5sum <"$H/big")" "$sum" "a fsynced 4 MiB file survives kill -9 byte for byte"

# --- reclaim: Delete removes, Retain keeps, Recycle empties
claim gone 5Mi
GPV=$(pv_of gone)
echo bye >"$MNT/persistentvolumes/$GPV/data/f"
check "the volume's directory exists" test -d "$STATE/volumes/$GPV"
rmdir "$CL/gone"
check "Delete: the PV went" test ! -e "$MNT/persistentvolumes/$GPV"
check "Delete: its data went" test ! -e "$STATE/volumes/$GPV"
for _ in $(seq 1 50); do [ -z "$(ls -A "$STATE/volumes/.trash")" ] && break; sleep 0.1; done
same "$(ls -A "$STATE/volumes/.trash")" "" "Delete: the trash is emptied in the background"

cat >"$MNT/persistentvolumes/keep.yaml" <<'Y'
apiVersion: v1
kind: PersistentVolume
metadata: {name: keep}
spec:
  capacity: {storage: 5Mi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  hostPath: {path: /keep}
Y
claim k1 5Mi ReadWriteOnce ""
same "$(pv_of k1)" "keep" "a claim binds the Retain PV"
echo precious >"$MNT/persistentvolumes/keep/data/f"
rmdir "$CL/k1"
same "$(cat "$MNT/persistentvolumes/keep/phase")" "Released" "Retain: the PV is Released"
same "$(cat "$MNT/persistentvolumes/keep/data/f")" "precious" "Retain: the data is kept"
printf 'apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: keep}\nspec: {claimRef: null}\n' >"$MNT/apply"
claim k2 5Mi ReadWriteOnce ""
same "$(pv_of k2)" "keep" "a new claim binds the freed PV"
cat >"$NS/pods/k.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: k}
spec:
  containers: [{name: c, image: busybox, volumeMounts: [{name: v, mountPath: /v}]}]
  volumes: [{name: v, persistentVolumeClaim: {claimName: k2}}]
Y
same "$(cat "$NS/pods/k/containers/c/v/f")" "precious" "and its pod sees the kept data"

cat >"$MNT/persistentvolumes/rec.yaml" <<'Y'
apiVersion: v1
kind: PersistentVolume
metadata: {name: rec}
spec:
  capacity: {storage: 5Mi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Recycle
  storageClassName: ""
  nfs: {server: nas, path: /rec}
Y
claim r1 5Mi ReadWriteOnce ""
same "$(pv_of r1)" "rec" "a claim binds the Recycle PV"
mkdir "$MNT/persistentvolumes/rec/data/dir" && echo old >"$MNT/persistentvolumes/rec/data/dir/f"
rmdir "$CL/r1"
same "$(cat "$MNT/persistentvolumes/rec/phase")" "Available" "Recycle: the PV is Available again"
same "$(ls -A "$MNT/persistentvolumes/rec/data")" "" "Recycle: its data is empty"
same "$(df -B1 --output=used "$MNT/persistentvolumes/rec/data" | tail -1 | tr -d ' ')" "4096" "Recycle: its usage is one directory block"

# --- symlinks are never followed by the daemon
ln -s /etc "$D/esc"
ln -s ../../../../../../../etc "$D/up"
same "$(readlink "$D/esc")" "/etc" "a symlink to /etc can be made and read"
same "$(stat -c %F "$STATE/volumes/$PV/esc")" "symbolic link" "it is a symlink on the disk"
cat >"$NS/pods/sub.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: sub}
spec:
  containers:
  - name: c
    image: busybox
    volumeMounts:
    - {name: v, mountPath: /a, subPath: esc}
    - {name: v, mountPath: /b, subPath: up/passwd}
  volumes: [{name: v, persistentVolumeClaim: {claimName: data}}]
Y
same "$(errno_of open "$NS/pods/sub/containers/c/a/passwd")" "ELOOP" "a subPath through a symlink is refused (ELOOP), never followed"
check "nothing of /etc shows there" sh -c "! ls '$NS/pods/sub/containers/c/b' 2>/dev/null | grep -q passwd"
check "nothing was made outside the volume" test ! -e "$STATE/volumes/etc"

# The race: a loop swaps "d" between a directory and a symlink to a host directory (through
# the mount, RENAME_EXCHANGE), another opens d/secret through the mount without following
# symlinks itself (openat2 RESOLVE_NO_SYMLINKS): whatever it opens is the volume's file.
OUT=$T_TMP/outside
mkdir -p "$OUT" && echo "host secret" >"$OUT/secret"
mkdir "$D/d" "$D/d.real" && echo "volume" >"$D/d/secret" && echo "volume" >"$D/d.real/secret"
ln -s "$OUT" "$D/d.link"
race=$("$PY" - "$D" <<'P'
import ctypes, os, sys, threading, time
libc = ctypes.CDLL(None, use_errno=True)
SYS_renameat2, SYS_openat2, RENAME_EXCHANGE = 316, 437, 2
class how(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]
RESOLVE_NO_SYMLINKS, RESOLVE_BENEATH = 0x04, 0x08
d = sys.argv[1]
dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
stop = False
def swapper():
    a, b, c = b"d", b"d.link", b"d.real"
    while not stop:
        libc.syscall(SYS_renameat2, dfd, a, dfd, b, RENAME_EXCHANGE)
        libc.syscall(SYS_renameat2, dfd, a, dfd, c, RENAME_EXCHANGE)
t = threading.Thread(target=swapper); t.start()
seen, escaped, end = 0, 0, time.time() + 3
h = how(os.O_RDONLY, 0, RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH)
while time.time() < end:
    fd = libc.syscall(SYS_openat2, dfd, b"d/secret", ctypes.byref(h), ctypes.sizeof(h))
    if fd < 0:
        continue
    data = os.read(fd, 100); os.close(fd); seen += 1
    if b"host" in data:
        escaped += 1
stop = True; t.join()
print(seen, escaped)
P
)
read -r seen escaped <<<"$race"
check "the race opened files ($seen)" test "${seen:-0}" -gt 0
same "${escaped:-x}" "0" "no open under the swapped name reached outside the volume"
same "$(cat "$OUT/secret")" "host secret" "the host file is untouched"

t_umount
t_report
