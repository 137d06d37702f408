#!/usr/bin/env bash
# The request loop (src/fs/fs_loop.c) through a real mount, in both of its modes: one
# reader answering a client that reads the tree (cat of every claim's phase), every
# thread reading once requests may wait (claim files written, eight writers in
# parallel), and back. With -d
# the daemon prints each mode change, which the checks read. Checks that every answer is
# right in each mode, that a writer waiting for its invalidations while others read the
# same files through the page cache finishes (no request left unanswered), that the
# change is visible on the next read, and that SIGTERM ends the daemon cleanly in either
# mode (exit status 0, mount gone).
# Run at the project's root: bash tests/integration/test_loop.sh
set -u
. "$(dirname "$0")/lib.sh"

PVC=$NS/persistentvolumeclaims
LOG=$T_TMP/daemon.log

# claim NAME [SIZE]: a claim manifest on stdout
claim() {
	printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: %s\n' "$1"
	printf 'spec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n'
	printf '      storage: %s\n' "${2:-1Mi}"
}

# writer ID COUNT: cp of COUNT claim files, one at a time (as a script would)
writer() {
	local i
	for i in $(seq 1 "$2"); do
		claim "w$1-$i" >"$T_TMP/w$1.yaml"
		cp "$T_TMP/w$1.yaml" "$PVC/w$1-$i.yaml" || echo "cp w$1-$i failed"
	done
}

# bound_count PREFIX: how many claims named PREFIX* read Bound
bound_count() { (cd "$PVC" && cat "$1"*/phase 2>/dev/null) | grep -c '^Bound$'; }

# mode_lines: the mode changes printed so far, oldest first
mode_lines() { grep 'claimfs: request loop:' "$LOG"; }

t_mount -d

# -- one client: the reader answers alone ---------------------------------------------
writer s 20 >"$T_TMP/s.out"
same "$(cat "$T_TMP/s.out")" "" "one writer: every cp succeeds"
same "$(bound_count ws-)" 20 "one writer: 20 claims Bound"
for _ in $(seq 1 10); do (cd "$PVC" && cat ws-*/phase) >/dev/null; done
# (a close still in service when the next is handed on turns every thread on, rarely;
# the reads after it bring one reader back)
same "$(mode_lines | tail -1 | grep -vc 'one reader')" 0 "one client: one reader"

# -- eight clients at once: every thread reads ------------------------------------------
pids=
for w in 1 2 3 4 5 6 7 8; do writer "$w" 40 >"$T_TMP/w$w.out" & pids="$pids $!"; done
wait $pids # (not a bare wait: the daemon is a child too)
same "$(cat "$T_TMP"/w[1-8].out)" "" "eight writers: every cp succeeds"
n=0
for w in 1 2 3 4 5 6 7 8; do n=$((n + $(bound_count "w$w-"))); done
same "$n" 320 "eight writers: 320 claims Bound"
check "eight writers: the loop lets every thread read" \
	grep -q 'request loop: every thread reads' "$LOG"

# -- one client again: back to one reader ------------------------------------------------
for _ in 1 2 3; do (cd "$PVC" && cat w*/phase) | grep -c Bound >"$T_TMP/cat.out"; done
same "$(cat "$T_TMP/cat.out")" 340 "after them, cat of every phase reads 340 Bound"
same "$(mode_lines | tail -1 | grep -c 'one reader')" 1 "one client again: back to one reader"
# With one reader, no other thread may stay waiting on the device (it would take
# requests the reader spins for, and be no free thread for the ones handed on).
on_device() { cat /proc/"$T_PID"/task/*/wchan 2>/dev/null | grep -c epoll; }
for _ in $(seq 1 50); do [ "$(on_device)" = 0 ] && break; sleep 0.1; done
same "$(on_device)" 0 "one reader: no other thread waits on the device"
claim after >"$T_TMP/after.yaml"
check "one reader: a close (the loop turns every thread on for it) is answered" \
	timeout 10 cp "$T_TMP/after.yaml" "$PVC/after.yaml"

# -- invalidations while others read the same files ------------------------------------
# Writers replace the labels of claims that readers keep reading through the page cache:
# each apply invalidates pages a reader may be filling (the READ must be answered while
# the writer waits for its invalidation), in whichever mode the loop is.
reader() {
	local end=$((SECONDS + 4))
	while [ $SECONDS -lt $end ]; do
		cat "$PVC"/ws-1/manifest.yaml "$PVC"/ws-2/manifest.yaml "$PVC"/ws-1/phase >/dev/null
	done
}
relabel() {
	local i
	for i in $(seq 1 60); do
		{ claim "ws-$1"; printf '  # %s\n' "$i"; } >"$T_TMP/r$1.yaml"
		sed -i "s/^  name: ws-$1\$/  name: ws-$1\n  labels: {round: \"r$i\"}/" "$T_TMP/r$1.yaml"
		cp "$T_TMP/r$1.yaml" "$PVC/ws-$1.yaml" || echo "relabel ws-$1 failed"
	done
}
reader & r1=$!
reader & r2=$!
timeout 60 bash -c "$(declare -f claim relabel); PVC=$PVC T_TMP=$T_TMP; relabel 1 & relabel 2 & wait" \
	>"$T_TMP/relabel.out"
rc=$?
wait $r1 $r2
same "$rc" 0 "writers waiting for invalidations finish while readers fill the page cache"
same "$(cat "$T_TMP/relabel.out")" "" "every relabel succeeds"
same "$(grep -c 'round: r60' "$PVC/ws-1/manifest.yaml")" 1 "the last change is visible on the next read"

# -- SIGTERM, in each mode -------------------------------------------------------------
# one reader: after a cat of every phase
(cd "$PVC" && cat */phase) >/dev/null
same "$(mode_lines | tail -1 | grep -c 'one reader')" 1 "a cat of every phase: one reader"
kill -TERM "$T_PID"
for _ in $(seq 1 100); do kill -0 "$T_PID" 2>/dev/null || break; sleep 0.1; done
wait "$T_PID"
same "$?" 0 "SIGTERM with one reader: exit status 0"
check "SIGTERM with one reader: the mount is gone" bash -c "! mountpoint -q '$MNT'"
T_PID=
# every thread reading (eight writers in flight)
t_mount -d
pids=
for w in 1 2 3 4 5 6 7 8; do writer "t$w" 400 >/dev/null 2>&1 & pids="$pids $!"; done
for _ in $(seq 1 100); do
	[ "$(mode_lines | tail -1 | grep -c 'every thread')" = 1 ] && break
	sleep 0.05
done
kill -TERM "$T_PID"
for _ in $(seq 1 100); do kill -0 "$T_PID" 2>/dev/null || break; sleep 0.1; done
wait "$T_PID"
same "$?" 0 "SIGTERM with every thread reading: exit status 0"
T_PID=
wait $pids # the writers fail once the mount is gone
fusermount3 -u "$MNT" 2>/dev/null
check "SIGTERM with every thread reading: the mount is gone" bash -c "! mountpoint -q '$MNT'"

t_report
