#!/bin/sh
# Runs the test suites under the sanitizers and valgrind, CI-sized (a few minutes on two
# cores), and ends with "N passed, N failed" over the checks of every suite it ran (a
# failed build or a sanitizer report counts as one more failure):
#   asan      AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer): the unit
#             suites, then mount tests against a daemon from the same build
#             (build-address-undefined/claimfs) with short crash and stress runs
#   tsan      ThreadSanitizer: the unit suites and the concurrency tests (test_stress.sh,
#             test_loop.sh) against a TSan daemon (build-thread/claimfs)
#   valgrind  the unit suites under valgrind (make valgrind)
# Usage: sh scripts/sanitize-check.sh [asan] [tsan] [valgrind]   (default: all three)
#   SAN_MOUNT_TESTS="mount_basic security ..."  mount tests of the asan variant
#   SAN_STRESS_SECONDS=8                         length of the stress runs
# Sanitizer reports go to build-*/san-logs/ as well as failing the run: UBSan halts on
# its first error, and every report makes the process exit non-zero. The daemons are
# linked next to their objects, so ./claimfs is never replaced by a sanitized binary.
set -u
cd "$(dirname "$0")/.." || exit 2
VARIANTS=${*:-asan tsan valgrind}
MOUNT_TESTS=${SAN_MOUNT_TESTS:-mount_basic freshness security crash stress storage workloads loop}
STRESS=${SAN_STRESS_SECONDS:-8}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
passed=0
failed=0
pass() { echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
# addc FILE: adds the counts of the last "N passed, N failed" line of FILE (none: 1 failed)
addc() {
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
	if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
	passed=$((passed + $(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')))
	failed=$((failed + $(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')))
}

# build SANITIZE DIR: the core, the unit suites and a daemon in DIR (make's own rules
# for the objects; the daemon is linked here as the Makefile links ./claimfs).
build() {
	san=$1 dir=$2
	fs_objs=$(for f in src/fs/*.c; do printf '%s ' "$dir/${f%.c}.o"; done)
	make --no-print-directory -j"$JOBS" SANITIZE="$san" unit $fs_objs "$dir/libclaimfs-core.a" \
		>"$dir.build.log" 2>&1 || { tail -20 "$dir.build.log"; return 1; }
	# shellcheck disable=SC2086
	${CC:-cc} -fsanitize="$san" -o "$dir/claimfs" $fs_objs "$dir/libclaimfs-core.a" \
		$(pkg-config --libs fuse3 yaml-0.1 jansson) -pthread >>"$dir.build.log" 2>&1 ||
		{ tail -20 "$dir.build.log"; return 1; }
}

# reports DIR: fails when a sanitizer wrote a report into DIR/san-logs
reports() {
	if ls "$1/san-logs"/* >/dev/null 2>&1; then
		echo "  sanitizer reports in $1/san-logs:"
		grep -h -E 'ERROR|WARNING|SUMMARY|runtime error' "$1/san-logs"/* | sort | uniq -c | head -10
		return 1
	fi
	return 0
}

run_unit() { # run_unit DIR [VALGRIND=1]: the Check suites of DIR through run-tests.sh
	BUILD=$1 ONLY=unit sh scripts/run-tests.sh >"$1/unit.log" 2>&1
	rc=$?
	addc "$1/unit.log"
	grep -E '^(FAIL|ok)' "$1/unit.log" | grep -v '^ok' | head -20
	tail -1 "$1/unit.log"
	return $rc
}

run_mount() { # run_mount DIR NAME: one mount test against DIR/claimfs; with objects made
	# cold at every unlock (the daemon's JSON freed and decoded again all the time, where
	# AddressSanitizer sees any pointer kept across)
	CLAIMFS=$1/claimfs CLAIMFS_OPTS="${SAN_CLAIMFS_OPTS:---hot-objects 4 --evict-eagerly}" \
		CRASH_CYCLES=${SAN_CRASH_CYCLES:-5} STRESS_SECONDS=$STRESS \
		timeout 600 bash "tests/integration/test_$2.sh" >"$1/mount-$2.log" 2>&1
	rc=$?
	addc "$1/mount-$2.log"
	grep -E '^FAIL' "$1/mount-$2.log" | head -10
	echo "  $2: $(tail -1 "$1/mount-$2.log")"
	return $rc
}

for v in $VARIANTS; do
	start=$(date +%s)
	case $v in
	asan)
		dir=build-address-undefined
		mkdir -p "$dir"
		rm -rf "$dir/san-logs" && mkdir -p "$dir/san-logs"
		if ! build address,undefined "$dir"; then fail "asan: build"; continue; fi
		export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:log_path=$PWD/$dir/san-logs/asan"
		export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$PWD/$dir/san-logs/ubsan"
		export LSAN_OPTIONS="log_path=$PWD/$dir/san-logs/lsan"
		ok=1
		run_unit "$dir" || ok=0
		for t in $MOUNT_TESTS; do run_mount "$dir" "$t" || ok=0; done
		reports "$dir" || ok=0
		unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
		if [ $ok = 1 ]; then pass "asan: unit suites and mount tests ($MOUNT_TESTS), $(($(date +%s) - start)) s"
		else fail "asan (logs: $dir/unit.log, $dir/mount-*.log)"; fi
		;;
	tsan)
		dir=build-thread
		mkdir -p "$dir"
		rm -rf "$dir/san-logs" && mkdir -p "$dir/san-logs"
		if ! build thread "$dir"; then fail "tsan: build"; continue; fi
		# TSan needs a fixed address layout on kernels with many random mmap bits.
		export TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:log_path=$PWD/$dir/san-logs/tsan"
		ok=1
		sr=""
		setarch "$(uname -m)" -R true 2>/dev/null && sr="setarch $(uname -m) -R"
		$sr env BUILD=$dir ONLY=unit sh scripts/run-tests.sh >"$dir/unit.log" 2>&1 || ok=0
		addc "$dir/unit.log"
		grep -E '^FAIL' "$dir/unit.log" | head -10
		echo "  unit: $(tail -1 "$dir/unit.log")"
		for t in stress loop; do
			CLAIMFS=$dir/claimfs STRESS_SECONDS=$STRESS $sr timeout 600 bash "tests/integration/test_$t.sh" \
				>"$dir/mount-$t.log" 2>&1 || ok=0
			addc "$dir/mount-$t.log"
			grep -E '^FAIL' "$dir/mount-$t.log" | head -10
			echo "  $t: $(tail -1 "$dir/mount-$t.log")"
		done
		reports "$dir" || ok=0
		unset TSAN_OPTIONS
		if [ $ok = 1 ]; then pass "tsan: unit suites, test_stress and test_loop, $(($(date +%s) - start)) s"
		else fail "tsan (logs: $dir/unit.log, $dir/mount-*.log)"; fi
		;;
	valgrind)
		if ! command -v valgrind >/dev/null; then fail "valgrind: not installed (scripts/install-deps.sh)"; continue; fi
		make --no-print-directory -j"$JOBS" unit >build/valgrind-build.log 2>&1 ||
			{ fail "valgrind: build"; continue; }
		BUILD=build ONLY=unit VALGRIND=1 CK_TIMEOUT_MULTIPLIER=20 sh scripts/run-tests.sh \
			>build/valgrind.log 2>&1
		rc=$?
		addc build/valgrind.log
		grep -E '^FAIL' build/valgrind.log | head -10
		if [ $rc = 0 ]; then pass "valgrind: $(tail -1 build/valgrind.log), $(($(date +%s) - start)) s"
		else fail "valgrind (log: build/valgrind.log)"; fi
		;;
	*)
		fail "unknown variant $v (asan, tsan, valgrind)"
		;;
	esac
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
