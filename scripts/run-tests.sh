#!/bin/sh
# Runs every test suite and prints one closing line "N passed, N failed" over all of
# them; exits non-zero when anything failed. Unit suites are Check binaries in
# $BUILD/tests (each check counts); mount tests are tests/integration/test_*.sh (each prints
# its own "N passed, N failed" as its last line).
#   ONLY=unit|integration   run one family     VALGRIND=1   unit suites under valgrind
#   TESTS=pattern           only suites whose file name contains pattern
BUILD=${BUILD:-build}
passed=0
failed=0
log=$(mktemp "${TMPDIR:-/tmp}/claimfs-tests.XXXXXX")
trap 'rm -f "$log"' EXIT

add() { passed=$((passed + $1)); failed=$((failed + $2)); }

if [ "${ONLY:-unit}" = unit ] || [ -z "${ONLY:-}" ]; then
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		case "$t" in *"${TESTS:-}"*) ;; *) continue ;; esac
		name=$(basename "$t")
		if [ -n "${VALGRIND:-}" ]; then
			CK_FORK=no valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite "$t" >"$log" 2>&1
		else
			"$t" >"$log" 2>&1
		fi
		rc=$?
		line=$(grep -E '^[0-9]+%: Checks: ' "$log" | tail -1)
		n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
		f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
		e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
		if [ -z "$line" ]; then n=0; f=0; e=0; fi
		bad=$((f + e))
		if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
		add $((n - f - e)) "$bad"
		if [ "$bad" -ne 0 ]; then
			echo "FAIL $name (exit $rc)"; grep -vE '^[0-9]+%:' "$log" | tail -30
		else
			echo "ok   $name: $n checks"
		fi
	done
fi

if [ "${ONLY:-integration}" = integration ] || [ -z "${ONLY:-}" ]; then
	for t in tests/integration/test_*.sh; do
		[ -f "$t" ] || continue
		case "$t" in *"${TESTS:-}"*) ;; *) continue ;; esac
		name=$(basename "$t" .sh)
		timeout 600 bash "$t" >"$log" 2>&1
		rc=$?
		line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
		p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
		f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
		if [ -z "$line" ]; then p=0; f=1; fi
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
		add "$p" "$f"
		if [ "$f" -ne 0 ]; then
			echo "FAIL $name (exit $rc)"; grep -E '^(FAIL|not ok)|claimfs' "$log" | head -40; tail -5 "$log"
		else
			echo "ok   $name: $p checks"
		fi
	done
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
