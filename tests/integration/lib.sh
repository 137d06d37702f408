# shellcheck shell=bash
# Helpers for the mount tests (after libfuse's test/cases): each test builds nothing,
# runs ./claimfs in the foreground on a private mount point with a private state
# directory, waits for the mount, always unmounts in a trap, checks the daemon's exit
# status and that its stderr holds nothing suspicious, and ends with "N passed, N failed".
# Source it from a script run at the project's root.
T_PASS=0
T_FAIL=0
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/claimfs-test.XXXXXX") || exit 1
MNT=$T_TMP/mnt
STATE=$T_TMP/state
T_PID=
mkdir -p "$MNT"
CLAIMFS=${CLAIMFS:-./claimfs}

t_cleanup() {
	t_umount
	rm -rf --one-file-system "$T_TMP"
}
trap t_cleanup EXIT

ok() { T_PASS=$((T_PASS + 1)); echo "ok   - $*"; }
bad() { T_FAIL=$((T_FAIL + 1)); echo "FAIL - $*"; }
check() { local d=$1; shift; if "$@" >/dev/null 2>&1; then ok "$d"; else bad "$d"; fi; }
same() { if [ "$1" = "$2" ]; then ok "$3"; else bad "$3 (got '$1', want '$2')"; fi; }

# t_mount [claimfs options...]
t_mount() {
	# shellcheck disable=SC2086 # CLAIMFS_OPTS: options for every mount (words)
	"$CLAIMFS" -f --state "$STATE" ${CLAIMFS_OPTS:-} "$@" "$MNT" >>"$T_TMP/daemon.log" 2>&1 &
	T_PID=$!
	local i
	for i in $(seq 1 100); do
		mountpoint -q "$MNT" && return 0
		kill -0 "$T_PID" 2>/dev/null || break
		sleep 0.1
	done
	bad "claimfs did not mount"; tail -20 "$T_TMP/daemon.log"
	t_report
	exit 1
}

# t_umount: unmount and check the daemon exited 0 with nothing suspicious on stderr
t_umount() {
	[ -n "$T_PID" ] || return 0
	fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null
	local i rc
	for i in $(seq 1 100); do kill -0 "$T_PID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$T_PID" 2>/dev/null; then kill -9 "$T_PID"; bad "daemon did not exit after unmount"; fi
	wait "$T_PID"; rc=$?
	T_PID=
	[ "$rc" -eq 0 ] || bad "daemon exited with status $rc"
	if grep -Eq 'AddressSanitizer|runtime error|Segmentation|Assertion|double free|LeakSanitizer' "$T_TMP/daemon.log"; then
		bad "daemon stderr holds a crash report"; grep -E 'Sanitizer|runtime error' "$T_TMP/daemon.log" | head -5
	fi
}

# t_crash: kill -9 the daemon and clear the dead mount
t_crash() {
	[ -n "$T_PID" ] || return 0
	kill -9 "$T_PID" 2>/dev/null
	wait "$T_PID" 2>/dev/null
	fusermount3 -uz "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
	T_PID=
}

t_report() {
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}

NS=$MNT/namespaces/default

# errno_of PYTHON-BODY ARGS...: runs the python3 statements (indented four spaces, with
# errno, os and sys imported, ARGS in sys.argv[1:]) and prints the errno name of the
# first call that fails, or OK
errno_of() {
	python3 -c "
import errno, os, sys
try:
$1
    print('OK')
except OSError as e:
    print(errno.errorcode[e.errno])
" "${@:2}"
}
