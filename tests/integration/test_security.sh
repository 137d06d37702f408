#!/usr/bin/env bash
# Security of the daemon and the tree (README.md, "Threat model", says what is defended):
#   - one daemon per state directory (a lock, through the binary; released by exit and by
#     kill -9); the state directory and its parents are created 0700, files 0600
#   - object names never escape their directory: bad names ('/', '..', '.', NUL, empty,
#     too long, upper case) through /apply, kind-directory files (metadata.name and the
#     file name), manifest.yaml and mkdir are refused and create nothing anywhere; fields
#     that become link targets cannot point outside the mount; '..' in deep paths
#   - modes say what files do: every 0444 file refuses writes (EACCES/EPERM), also for
#     root; chmod/chown/utimes/link/symlink/rename/mknod/xattrs are refused
#   - -o allow_other turns on default_permissions: a second user (nobody) can read, and
#     can write only what the mode bits let others write; without allow_other it cannot
#     even look; -o ro refuses every write with EROFS
# Parts that need root (another user, mount options) are skipped with a note otherwise.
# Run at the project's root: bash tests/integration/test_security.sh
set -u
. "$(dirname "$0")/lib.sh"

NOBODY=65534
# op.py OP ARGS...: runs one syscall, prints OK or the errno name (for root and nobody)
cat >"$T_TMP/op.py" <<'PY'
import errno, os, sys
op, args = sys.argv[1], sys.argv[2:]
try:
    if op == "write":      # open O_WRONLY|O_TRUNC, write, close (a manifest applies at close)
        fd = os.open(args[0], os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, args[1].encode("utf-8", "surrogateescape").decode("unicode_escape").encode("latin-1"))
        finally:
            os.close(fd)
    elif op == "create":   # a new file in a kind directory
        fd = os.open(args[0], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, args[1].encode().decode("unicode_escape").encode("latin-1"))
        finally:
            os.close(fd)
    elif op == "openw":
        os.close(os.open(args[0], os.O_WRONLY))
    elif op == "read":
        with open(args[0], "rb") as f:
            f.read()
    elif op == "mkdir":
        os.mkdir(args[0])
    elif op == "rmdir":
        os.rmdir(args[0])
    elif op == "unlink":
        os.unlink(args[0])
    elif op == "chmod":
        os.chmod(args[0], int(args[1], 8))
    elif op == "chown":
        os.chown(args[0], int(args[1]), -1)
    elif op == "utime":
        os.utime(args[0], (0, 0))
    elif op == "truncate":
        os.truncate(args[0], 0)
    elif op == "symlink":
        os.symlink(args[0], args[1])
    elif op == "link":
        os.link(args[0], args[1])
    elif op == "rename":
        os.rename(args[0], args[1])
    elif op == "mknod":
        os.mknod(args[0])
    elif op == "setxattr":
        os.setxattr(args[0], "user.x", b"1")
    elif op == "stat":
        os.stat(args[0])
    print("OK")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
PY
op() { python3 "$T_TMP/op.py" "$@"; }
as_nobody() { setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$@"; }
op_nobody() { as_nobody /usr/bin/python3 "$T_TMP/op.py" "$@"; }
in_set() { local v=$1; shift; for w in "$@"; do [ "$v" = "$w" ] && return 0; done; return 1; }
expect() { # expect DESCRIPTION GOT ALLOWED...
	local d=$1 got=$2
	shift 2
	if in_set "$got" "$@"; then ok "$d ($got)"; else bad "$d (got $got, want $*)"; fi
}
IS_ROOT=0
[ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && [ -x /usr/bin/python3 ] && IS_ROOT=1

# ---- the state directory -------------------------------------------------------------
umask 000
S2=$T_TMP/deep/er/state
"$CLAIMFS" -f --state "$S2" "$MNT" >"$T_TMP/s2.log" 2>&1 &
pid=$!
for i in $(seq 1 100); do mountpoint -q "$MNT" && break; sleep 0.1; done
same "$(stat -c %a "$T_TMP/deep" 2>/dev/null)/$(stat -c %a "$T_TMP/deep/er" 2>/dev/null)/$(stat -c %a "$S2" 2>/dev/null)" \
	"700/700/700" "with umask 000, a new state directory and its new parents are 0700"
bad_files=$(find "$S2" -type f ! -perm 600 2>/dev/null)
same "$bad_files" "" "every file in the state directory is 0600"
fusermount3 -u "$MNT"
wait "$pid"
same "$?" 0 "that daemon exits 0 after unmount"
umask 022

t_mount
mkdir -p "$T_TMP/mnt2"
"$CLAIMFS" -f --state "$STATE" "$T_TMP/mnt2" >"$T_TMP/second.out" 2>&1
same "$?" 1 "a second daemon on the same state directory exits 1"
check "it names the owner: in use by another claimfs (pid $T_PID)" \
	grep -q "state directory .* is in use by another claimfs (pid $T_PID)" "$T_TMP/second.out"
check "it did not mount" sh -c "! mountpoint -q '$T_TMP/mnt2'"
"$CLAIMFS" --state "$STATE" "$T_TMP/mnt2" >"$T_TMP/second-bg.out" 2>&1
same "$?" 1 "a second daemon without -f (daemonizing) is refused too"
check "and did not mount" sh -c "! mountpoint -q '$T_TMP/mnt2'"
"$CLAIMFS" -f --state "$STATE/" "$T_TMP/mnt2" >/dev/null 2>&1
same "$?" 1 "the same directory spelled with a trailing slash is refused"
ln -s "$STATE" "$T_TMP/state-link"
"$CLAIMFS" -f --state "$T_TMP/state-link" "$T_TMP/mnt2" >/dev/null 2>&1
same "$?" 1 "the same directory through a symlink is refused"
t_crash
t_mount
ok "after kill -9 the lock is free again: a new daemon mounts"
t_umount

# ---- names never escape ----------------------------------------------------------------
t_mount
before=$(cd "$T_TMP" && find . -path ./mnt -prune -o -print | sort)
cm() { printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata: {k: v}\n' "$1"; }
long=$(printf 'a%.0s' $(seq 1 300))
for name in '"../escape"' '"a/escape"' '"."' '".."' '""' '"escape\0x"' '"Escape"' \
	'"escape '"'"'x"' "\"$long\"" '"/etc/escape"' '"esc\\\\ape"'; do
	got=$(op write "$MNT/apply" "$(cm "$name")")
	expect "/apply refuses ConfigMap name ${name:0:24}" "$got" EINVAL
	got=$(op create "$NS/configmaps/x.yaml" "$(cm "$name")")
	expect "configmaps/x.yaml refuses name ${name:0:24}" "$got" EINVAL
done
for f in '...yaml' '..yaml' '.yaml' 'Escape.yaml' "$(printf 'e%.0s' $(seq 1 254)).yaml" 'a\escape.yaml'; do
	got=$(op create "$NS/configmaps/$f" 'apiVersion: v1\nkind: ConfigMap\ndata: {k: v}\n')
	expect "a file named ${f:0:24} without metadata.name is refused" "$got" EINVAL ENAMETOOLONG
done
got=$(op create "$NS/configmaps/escape2.yaml" 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: escape2, namespace: ../..}\n')
expect "a namespace of ../.. in a kind directory is refused" "$got" EINVAL ENOENT
got=$(op write "$MNT/apply" 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: escape3, namespace: ../..}\n')
expect "a namespace of ../.. in /apply is refused" "$got" EINVAL ENOENT
got=$(op write "$MNT/apply" 'apiVersion: v1\nkind: ../Escape\nmetadata: {name: escape4}\n')
expect "a kind of ../Escape is refused" "$got" EINVAL
got=$(op write "$MNT/apply" 'apiVersion: v1\nkind: Escape/Thing\nmetadata: {name: escape5}\n')
expect "a kind with a slash is refused" "$got" EINVAL
op write "$MNT/apply" "$(cm keep)" >/dev/null
got=$(op write "$NS/configmaps/keep/manifest.yaml" "$(cm '"../escape"')")
expect "manifest.yaml refuses a document renaming the object to ../escape" "$got" EINVAL
for d in 'a.b' 'Escape' "$(printf 'n%.0s' $(seq 1 64))" '-x' 'x_y'; do
	got=$(op mkdir "$MNT/namespaces/$d")
	expect "mkdir namespaces/${d:0:20} is refused" "$got" EINVAL
done
expect "mkdir namespaces/.. is refused" "$(op mkdir "$MNT/namespaces/..")" EEXIST
expect "mkdir namespaces/<256 chars> is refused" "$(op mkdir "$MNT/namespaces/$(printf 'n%.0s' $(seq 1 256))")" ENAMETOOLONG EINVAL
expect "mkdir nodes/x is refused" "$(op mkdir "$MNT/nodes/x")" EACCES
expect "mkdir in an object directory is refused" "$(op mkdir "$NS/configmaps/keep/x")" EACCES
# Fields that name other objects become link targets: they must not lead outside. Each
# document alone: refused, or stored without a link that follows the name.
links_pod='apiVersion: v1\nkind: Pod\nmetadata: {name: linky}\nspec:\n  nodeName: ../../../../../../etc\n  containers: [{name: c, image: x}]\n  volumes:\n  - name: v\n    persistentVolumeClaim: {claimName: ../../../../../../../etc}\n'
links_pod2='apiVersion: v1\nkind: Pod\nmetadata: {name: linky2}\nspec:\n  containers: [{name: c, image: x}]\n  volumes:\n  - name: ../../v\n    persistentVolumeClaim: {claimName: ../../../../../../../etc}\n'
links_pvc='apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: linky}\nspec:\n  volumeName: ../../../../../etc\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n'
links_pv='apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: linky}\nspec:\n  capacity: {storage: 1Gi}\n  accessModes: [ReadWriteOnce]\n  claimRef: {namespace: ../../.., name: ../../../etc}\n  hostPath: {path: /tmp}\n'
links_sts='apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: linky}\nspec:\n  serviceName: ../../../etc\n  replicas: 1\n  selector: {matchLabels: {app: linky}}\n  template:\n    metadata: {labels: {app: linky}}\n    spec: {containers: [{name: c, image: x}]}\n'
for d in pod pod2 pvc pv sts; do
	v=links_$d
	got=$(op write "$MNT/apply" "${!v}")
	expect "a $d whose references hold .. is refused or stored (never followed)" "$got" OK EINVAL
done
outside=$(cd "$MNT" && find . -type l 2>/dev/null | while read -r l; do
	t=$(readlink "$l")
	case $t in /*) echo "$l -> $t (absolute)" ;; esac
	r=$(realpath -m "$MNT/$(dirname "$l")/$t")
	case $r in "$MNT"/*) ;; *) echo "$l -> $t" ;; esac
done)
same "$outside" "" "every symlink in the tree is relative and stays inside the mount"
same "$(find "$MNT" -name '*escape*' 2>/dev/null)" "" "no entry named *escape* exists anywhere in the tree"
after=$(cd "$T_TMP" && find . -path ./mnt -prune -o -print | sort)
same "$(diff <(echo "$before") <(echo "$after") | grep '^>' | grep -v -e '^> ./state/' -e 'daemon.log')" "" \
	"no file appeared next to the mount or the state directory"
same "$(ls "$STATE" | grep -v -e '^lock$' -e '^journal\.[0-9]*$' -e '^snapshot\.json$' -e '^volumes$')" "" \
	"the state directory holds only lock, journal, snapshot and volumes/"
same "$(find "$STATE" -maxdepth 1 -type d -perm /077)" "" "the state directory and volumes/ are private (no group or other bits)"
same "$(ls "$NS/persistentvolumeclaims/../..")" "$(ls "$MNT/namespaces")" ".. of a kind directory's parent is namespaces/"
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {clusterIP: None, selector: {app: web}}\n---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: web}\nspec:\n  serviceName: web\n  replicas: 1\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: nginx}]}\n  volumeClaimTemplates:\n  - metadata: {name: www}\n    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n' >"$MNT/apply"
deep=$NS/pods/web-0/volumes
same "$(ls "$deep/../../../../..")" "$(ls "$MNT")" "five .. from pods/web-0/volumes is the mount's root"
same "$(cd "$deep/www" 2>/dev/null && pwd -P)" "$NS/persistentvolumeclaims/www-web-0" "cd through volumes/www lands on the claim"
same "$(realpath "$deep/www/volume/claim" 2>/dev/null)" "$NS/persistentvolumeclaims/www-web-0" \
	"claim -> volume -> claim round trip stays in the mount"
expect "a lookup of a 255-byte name is ENOENT" "$(op stat "$NS/pods/$(printf 'p%.0s' $(seq 1 255))")" ENOENT
expect "a lookup of a 256-byte name fails" "$(op stat "$NS/pods/$(printf 'p%.0s' $(seq 1 256))")" ENAMETOOLONG ENOENT
expect "a lookup of a 2000-byte name fails" "$(op stat "$NS/pods/$(printf 'p%.0s' $(seq 1 2000))")" ENAMETOOLONG ENOENT

# ---- modes say what files do -----------------------------------------------------------
ro=$(find "$MNT" -type f -perm 0444 2>/dev/null | grep -v -e '/\.table' | head -400)
n=0; wrong=""
for f in $ro; do
	n=$((n + 1))
	got=$(op openw "$f")
	in_set "$got" EACCES EPERM || wrong="$wrong $f:$got"
done
same "$wrong" "" "all $n read-only (0444) files refuse open for writing, even for root"
expect ".table refuses writes" "$(op openw "$NS/pods/.table")" EACCES EPERM
expect "truncate of a read-only file" "$(op truncate "$NS/pods/web-0/phase")" EACCES EPERM
expect "chmod of a file" "$(op chmod "$NS/pods/web-0/phase" 666)" EPERM EACCES
expect "chmod of an object directory" "$(op chmod "$NS/pods/web-0" 777)" EPERM EACCES
expect "chown of a file" "$(op chown "$NS/pods/web-0/phase" $NOBODY)" EPERM EACCES
expect "utimes of a file" "$(op utime "$NS/pods/web-0/phase")" EPERM EACCES
expect "symlink in a kind directory" "$(op symlink /etc "$NS/configmaps/evil")" EPERM EACCES ENOSYS
expect "hard link of a file" "$(op link "$NS/pods/web-0/phase" "$NS/configmaps/evil")" EPERM EACCES ENOSYS
expect "rename of an object directory" "$(op rename "$NS/configmaps/keep" "$NS/configmaps/evil")" EPERM EACCES ENOSYS EXDEV
expect "rename out of the mount" "$(op rename "$NS/configmaps/keep" "$T_TMP/evil")" EXDEV
expect "mknod in a kind directory" "$(op mknod "$NS/configmaps/evil.yaml")" EPERM EACCES ENOSYS EINVAL
expect "setxattr" "$(op setxattr "$NS/pods/web-0/phase")" ENOTSUP EPERM EACCES ENOSYS
expect "creating a file in an object directory" "$(op create "$NS/pods/web-0/evil" x)" EACCES EPERM
expect "rm of an attribute file" "$(op unlink "$NS/pods/web-0/phase")" EACCES EPERM
same "$(stat -c %a "$NS/pods/web-0/phase")" 444 "an attribute file is 0444"
same "$(stat -c %a "$NS/statefulsets/web/replicas")" 644 "a writable attribute is 0644"
same "$(stat -c %a "$NS/pods")" 755 "a kind directory is 0755"
same "$(stat -c %a "$NS/pods/web-0")" 555 "an object directory is 0555"
same "$(stat -c %U "$NS/pods/web-0/phase")" "$(id -un)" "files belong to the mounting user"
t_umount

# ---- other users: allow_other brings default_permissions -------------------------------
if [ "$IS_ROOT" = 1 ]; then
	chmod 0711 "$T_TMP" # let nobody reach the mount point (the state stays 0700)
	t_mount
	expect "without allow_other another user cannot even stat the mount" \
		"$(op_nobody stat "$MNT/README")" EACCES
	t_umount
	t_mount -o allow_other
	opts=$(awk -v m="$MNT" '$2 == m { print $4 }' /proc/mounts)
	check "the mount has allow_other ($opts)" sh -c "echo '$opts' | grep -q allow_other"
	check "the mount has default_permissions" sh -c "echo '$opts' | grep -q default_permissions"
	expect "another user reads README" "$(op_nobody read "$MNT/README")" OK
	expect "another user reads an attribute" "$(op_nobody read "$NS/pods/web-0/phase")" OK
	expect "another user cannot write replicas (0644)" "$(op_nobody write "$NS/statefulsets/web/replicas" '3\n')" EACCES
	same "$(cat "$NS/statefulsets/web/replicas")" 1 "replicas is unchanged"
	expect "another user cannot write a read-only attribute" "$(op_nobody openw "$NS/pods/web-0/phase")" EACCES
	expect "another user cannot create in a kind directory (0755)" \
		"$(op_nobody create "$NS/configmaps/other.yaml" "$(cm other)")" EACCES
	expect "another user cannot rmdir an object" "$(op_nobody rmdir "$NS/pods/web-0")" EACCES
	expect "another user cannot rm a manifest.yaml" "$(op_nobody unlink "$NS/configmaps/keep/manifest.yaml")" EACCES
	expect "another user cannot mkdir a namespace" "$(op_nobody mkdir "$MNT/namespaces/other")" EACCES
	expect "another user cannot write a node's ready" "$(op_nobody write "$MNT/nodes/node-1/ready" 'false\n')" EACCES
	check "nothing of theirs exists" sh -c "! ls '$NS/configmaps' | grep -q other && test -d '$NS/pods/web-0'"
	# /apply is 0200: the owner's only, like every other way to change the cluster.
	same "$(stat -c %a "$MNT/apply")" 200 "/apply is 0200"
	expect "another user cannot write /apply" "$(op_nobody write "$MNT/apply" "$(cm from-nobody)")" EACCES
	check "nothing was applied from another user" sh -c "! test -e '$NS/configmaps/from-nobody'"
	t_umount
	chmod 0700 "$T_TMP"
else
	echo "# skipped: other users and allow_other need root, setpriv and /usr/bin/python3"
fi

# ---- -o ro ------------------------------------------------------------------------------
t_mount -o ro
expect "-o ro: /apply refuses writes" "$(op write "$MNT/apply" "$(cm ro)")" EROFS
expect "-o ro: mkdir refuses" "$(op mkdir "$MNT/namespaces/ro")" EROFS
expect "-o ro: rmdir refuses" "$(op rmdir "$NS/configmaps/keep")" EROFS
expect "-o ro: reading works" "$(op read "$NS/configmaps/keep/manifest.yaml")" OK
t_umount

# ---- a non-root user's own mount (needs /dev/fuse open to that user) ---------------------
if [ "$IS_ROOT" = 1 ] && as_nobody test -r /dev/fuse -a -w /dev/fuse; then
	chmod 0711 "$T_TMP"
	mkdir -p "$T_TMP/umnt"
	chown $NOBODY "$T_TMP/umnt"
	as_nobody "$CLAIMFS" -f --state "$T_TMP/ustate" "$T_TMP/umnt" >"$T_TMP/user.log" 2>&1 &
	upid=$!
	for i in $(seq 1 100); do mountpoint -q "$T_TMP/umnt" && break; sleep 0.1; done
	expect "a user's own mount: a read-only attribute refuses writes" \
		"$(op_nobody openw "$T_TMP/umnt/nodes/node-1/zone")" EACCES EPERM
	expect "a user's own mount: chmod refuses" "$(op_nobody chmod "$T_TMP/umnt/README" 666)" EPERM EACCES
	as_nobody fusermount3 -u "$T_TMP/umnt"
	wait "$upid"
	same "$?" 0 "the user's daemon exits 0"
	chmod 0700 "$T_TMP"
else
	echo "# skipped: a non-root mount (/dev/fuse is not open to other users here)"
fi
t_report
