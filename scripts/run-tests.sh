#!/bin/sh
# Runs every test family and prints one closing line "N passed, N failed" over all of
# them; exits non-zero when anything failed. Families, in order:
#   unit         the Check binaries in $BUILD/tests (each check counts)
#   integration  tests/integration/test_*.sh, mount tests (each ends with its own
#                "N passed, N failed", which counts)
#   sanitizers   scripts/sanitize-check.sh: ASan+UBSan (unit suites and mount tests
#                against a sanitized daemon), TSan (unit suites and the stress test),
#                valgrind (unit suites); their checks count
#   fuzz         make fuzz-ci: each libFuzzer target for 10 s (one check per target)
# Environment:
#   ONLY=unit|integration|sanitizers|fuzz   one family     QUICK=1   unit and integration
#   TESTS=pattern   only suites whose file name contains pattern (unit and integration)
#   VALGRIND=1      unit suites under valgrind             CLAIMFS=path   the daemon
#   UNIT_TIMEOUT=s  a unit suite running longer is killed and fails (300, valgrind 900)
#   JOBS=n          unit suites run n at a time (default: the number of CPUs)
BUILD=${BUILD:-build}
passed=0
failed=0
log=$(mktemp "${TMPDIR:-/tmp}/claimfs-tests.XXXXXX")
trap 'rm -f "$log"' EXIT

add() { passed=$((passed + $1)); failed=$((failed + $2)); }
want() { # want FAMILY: is this family selected?
	if [ -n "${ONLY:-}" ]; then [ "$ONLY" = "$1" ]; return; fi
	case $1 in unit | integration) return 0 ;; esac
	[ -z "${QUICK:-}" ]
}
# counts FILE: "P F" from the last "N passed, N failed" line of FILE, or "0 1" when none
counts() {
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
	if [ -z "$line" ]; then echo "0 1"; return; fi
	echo "$line" | sed -E 's/^([0-9]+) passed, ([0-9]+) failed.*/\1 \2/'
}

if want unit; then
	# The suites run JOBS at a time (each alone in its own process; valgrind keeps one
	# core busy per suite), then their results are read in order.
	udir=$(mktemp -d "${TMPDIR:-/tmp}/claimfs-unit.XXXXXX")
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		case "$t" in *"${TESTS:-}"*) ;; *) continue ;; esac
		echo "$t"
	done >"$udir/list"
	xargs -P "${JOBS:-$(nproc 2>/dev/null || echo 2)}" -n 1 sh scripts/run-unit-suite.sh "$udir" \
		<"$udir/list"
	while read -r t; do
		name=$(basename "$t")
		rc=$(cat "$udir/$name.rc" 2>/dev/null || echo 1)
		line=$(grep -E '^[0-9]+%: Checks: ' "$udir/$name.log" | tail -1)
		n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
		f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
		e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
		if [ -z "$line" ]; then n=0; f=0; e=0; fi
		bad=$((f + e))
		if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
		add $((n - f - e)) "$bad"
		if [ "$bad" -ne 0 ]; then
			echo "FAIL $name (exit $rc)"; grep -vE '^[0-9]+%:' "$udir/$name.log" | tail -30
		else
			echo "ok   $name: $n checks"
		fi
	done <"$udir/list"
	rm -rf "$udir"
fi

if want integration; then
	for t in tests/integration/test_*.sh; do
		[ -f "$t" ] || continue
		case "$t" in *"${TESTS:-}"*) ;; *) continue ;; esac
		name=$(basename "$t" .sh)
		timeout 600 bash "$t" >"$log" 2>&1
		rc=$?
		set -- $(counts "$log")
		p=$1 f=$2
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
		add "$p" "$f"
		if [ "$f" -ne 0 ]; then
			echo "FAIL $name (exit $rc)"; grep -E '^(FAIL|not ok)|claimfs' "$log" | head -40; tail -5 "$log"
		else
			echo "ok   $name: $p checks"
		fi
	done
fi

if want sanitizers; then
	echo "-- sanitizers and valgrind (scripts/sanitize-check.sh)"
	sh scripts/sanitize-check.sh 2>&1 | tee "$log" | grep -vE '^[0-9]+ passed, [0-9]+ failed'
	set -- $(counts "$log")
	add "$1" "$2"
fi

if want fuzz; then
	echo "-- fuzzers (make fuzz-ci)"
	make --no-print-directory fuzz-ci 2>&1 | tee "$log" | grep -vE '^[0-9]+ passed, [0-9]+ failed'
	set -- $(counts "$log")
	add "$1" "$2"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
