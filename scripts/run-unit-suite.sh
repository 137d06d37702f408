#!/bin/sh
# Runs one Check suite for scripts/run-tests.sh, so that several can run at once:
#   sh scripts/run-unit-suite.sh LOGDIR SUITE
# writes its output to LOGDIR/<name>.log and its exit status to LOGDIR/<name>.rc (124
# when it ran past its timeout: a hang fails instead of stalling the run).
# Environment: VALGRIND=1 (under valgrind), UNIT_TIMEOUT=s (300, valgrind 900).
logdir=$1
t=$2
name=$(basename "$t")
if [ -n "${VALGRIND:-}" ]; then
	# --fair-sched: valgrind runs one thread at a time, and its default lock lets a thread
	# in a syscall loop starve the others.
	# CLAIMFS_JSON_MALLOC=system: valgrind sees jansson's blocks only through malloc
	CLAIMFS_JSON_MALLOC=system CK_FORK=no timeout "${UNIT_TIMEOUT:-900}" valgrind -q --fair-sched=yes --error-exitcode=99 \
		--leak-check=full --errors-for-leak-kinds=definite "$t" >"$logdir/$name.log" 2>&1
else
	timeout "${UNIT_TIMEOUT:-300}" "$t" >"$logdir/$name.log" 2>&1
fi
echo $? >"$logdir/$name.rc"
