#!/bin/sh
# bench.sh - `make bench`: builds claimfs with optimisation (into build-bench/, so the
# ./claimfs of the checkout is left alone), the FUSE floor (tests/bench/floor.c) and the
# durable-write driver (tests/bench/writer.c), then runs every figure of issue 6 in one
# run (scripts/bench/run.py), prints the table of figures and ratios against the targets
# and writes it as JSON (BENCH_JSON, default bench.json).
#
# A benchmark, not a test: slow figures never fail it; it exits non-zero only when it
# cannot run at all (no compiler, no python3, no /dev/fuse, a build error).
# Sizes: BENCH_CLAIMS=10000 BENCH_TOTAL=100000 BENCH_REPLICAS=1000 BENCH_WRITES=200
# BENCH_RUNS=5; BENCH_ONLY=apply,write,tree,sts,volume runs some sections; BENCH_BUILD_ONLY=1
# only builds. A quick run:
#   BENCH_CLAIMS=1000 BENCH_TOTAL=5000 BENCH_REPLICAS=100 BENCH_RUNS=3 make bench
# See scripts/bench/run.py for every variable, docs/performance.md for the figures.
set -eu
cd "$(dirname "$0")/.."

BUILD=${BENCH_BUILD:-build-bench}
OPT=${BENCH_OPT:--O2 -g -DNDEBUG}
MAKE=${MAKE:-make}
CC=${CC:-cc}
WARN="-Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wwrite-strings -fno-common -Wno-unused-parameter"

for tool in python3 pkg-config fusermount3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "bench: $tool is missing (scripts/install-deps.sh installs it)" >&2
		exit 1
	fi
done

# The daemon: the Makefile's objects, built with OPT into $BUILD, linked here.
fs_objs=$(for f in src/fs/*.c; do printf '%s/%s ' "$BUILD" "${f%.c}.o"; done)
# shellcheck disable=SC2086
$MAKE --no-print-directory -s BUILD="$BUILD" OPT="$OPT" "$BUILD/libclaimfs-core.a" $fs_objs
# shellcheck disable=SC2086
$CC -o "$BUILD/claimfs" $fs_objs "$BUILD/libclaimfs-core.a" \
	$(pkg-config --libs fuse3 yaml-0.1 jansson) -pthread

# shellcheck disable=SC2086
$CC -std=gnu11 $OPT $WARN -D_GNU_SOURCE $(pkg-config --cflags fuse3) \
	-o "$BUILD/floor" tests/bench/floor.c $(pkg-config --libs fuse3) -pthread
# shellcheck disable=SC2086
$CC -std=gnu11 $OPT $WARN -D_GNU_SOURCE -o "$BUILD/writer" tests/bench/writer.c -pthread
# The control plane without FUSE, for profilers: core_apply (bulk apply, load) and
# core_sts (StatefulSet and Deployment scale-up); see docs/performance.md.
for prog in core_apply core_sts; do
	# shellcheck disable=SC2086
	$CC -std=gnu11 $OPT $WARN -Iinclude -D_GNU_SOURCE -o "$BUILD/$prog" "tests/bench/$prog.c" \
		"$BUILD/libclaimfs-core.a" $(pkg-config --cflags --libs yaml-0.1 jansson) -pthread
done

[ -z "${BENCH_BUILD_ONLY:-}" ] || exit 0
CLAIMFS="$BUILD/claimfs" FLOOR="$BUILD/floor" WRITER="$BUILD/writer" \
	exec python3 scripts/bench/run.py
