#!/usr/bin/env bash
# Crash consistency: nothing acknowledged is lost, nothing unacknowledged is half there.
# CRASH_CYCLES times (20 by default): mount, start CRASH_WRITERS writers (4) that create,
# update and delete claims and StatefulSets through every write path (kind-directory
# files, /apply streams of three documents, manifest.yaml, the replicas file, rmdir),
# kill -9 the daemon at a random moment, remount, and check
#   - every acknowledged change (the syscall returned success) is visible; a later
#     acknowledged change of the same writer supersedes an earlier one
#   - the one change in flight at the kill is either wholly there or wholly absent (a
#     three-document stream: all three objects or none, each exactly as written)
#   - no writer saw an error other than the crash itself
#   - scripts/check-invariants.py --settled holds (no PV bound twice, every Bound PV's
#     claim exists, pool accounting, one pod per StatefulSet ordinal, ...)
# Then KILL_ROUNDS times (10) kill -9 during directory operations (mkdir/rmdir, creates,
# applies): every time the daemon must end by itself within 2 s (its watchdog aborts the
# connection if a thread is stuck in the kernel) and the writers get ENOTCONN, not a hang.
# Writers log each change before the syscall and its result after it (one O_APPEND
# write per line, so a line is whole or absent). CRASH_SEED makes a run repeatable.
# Run at the project's root: bash tests/integration/test_crash.sh
set -u
. "$(dirname "$0")/lib.sh"

CYCLES=${CRASH_CYCLES:-20}
WRITERS=${CRASH_WRITERS:-4}
SEED=${CRASH_SEED:-$$}
LOGS=$T_TMP/logs
mkdir -p "$LOGS"
echo "# $CYCLES cycles, $WRITERS writers, seed $SEED (CRASH_SEED=$SEED to repeat)"

cat >"$T_TMP/crash.py" <<'PY'
"""Writers and the verifier of test_crash.sh.
  crash.py writer MNT LOGS ID CYCLE SEED   writes until the mount dies
  crash.py verify MNT LOGS NWRITERS CYCLE  checks the remounted tree against the logs
Objects belong to one writer (names w<ID>-...), so each writer's log orders all changes
of its objects. Model files LOGS/model-<ID>.json hold the state every object must be in
after the last verify; '?' means unknown (a claim made by a StatefulSet's template)."""
import errno
import json
import os
import random
import sys
import time

CRASH_ERRNOS = {errno.ENOTCONN, errno.ECONNABORTED, errno.ENODEV}
NS = "namespaces/default"
KIND_DIR = {"pvc": "persistentvolumeclaims", "sts": "statefulsets", "svc": "services",
            "cm": "configmaps"}


def load_model(logs, wid):
    try:
        with open(os.path.join(logs, "model-%d.json" % wid)) as f:
            return json.load(f)
    except FileNotFoundError:
        return {"next": 0, "objects": {}}


def save_model(logs, wid, model):
    tmp = os.path.join(logs, "model-%d.json.tmp" % wid)
    with open(tmp, "w") as f:
        json.dump(model, f, sort_keys=True)
    os.rename(tmp, os.path.join(logs, "model-%d.json" % wid))


def claim_doc(name, v):
    return ("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: %s\n"
            "  annotations: {crash/v: \"%d\"}\nspec:\n  accessModes: [ReadWriteOnce]\n"
            "  resources: {requests: {storage: 1Mi}}\n" % (name, v))


def set_docs(name, v, replicas):
    return ("apiVersion: v1\nkind: Service\nmetadata: {name: %s}\n"
            "spec: {clusterIP: None, selector: {app: %s}}\n---\n"
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: %s\n"
            "  annotations: {crash/v: \"%d\"}\nspec:\n  serviceName: %s\n  replicas: %d\n"
            "  podManagementPolicy: Parallel\n"
            "  selector: {matchLabels: {app: %s}}\n  template:\n"
            "    metadata: {labels: {app: %s}}\n"
            "    spec: {containers: [{name: c, image: nginx}]}\n"
            "  volumeClaimTemplates:\n  - metadata: {name: data}\n"
            "    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Mi}}}\n"
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s-cfg}\n"
            "data: {owner: %s}\n" % (name, name, name, v, name, replicas, name, name, name, name))


def set_update_doc(name, v, replicas):
    return ("apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: %s\n"
            "  annotations: {crash/v: \"%d\"}\nspec:\n  replicas: %d\n" % (name, v, replicas))


class Writer:
    def __init__(self, mnt, logs, wid, cycle, seed):
        self.mnt, self.wid = mnt, wid
        self.logs = logs
        self.rng = random.Random(seed * 1000 + wid * 7919 + cycle)
        self.model = load_model(logs, wid)
        self.log = os.open(os.path.join(logs, "log-%d-%d" % (wid, cycle)),
                           os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.seq = 0

    def p(self, *parts):
        return os.path.join(self.mnt, *parts)

    def write_file(self, path, data, create=False):
        flags = os.O_WRONLY | (os.O_CREAT | os.O_TRUNC if create else os.O_TRUNC)
        fd = os.open(path, flags, 0o644)
        try:
            os.write(fd, data.encode())
        finally:
            os.close(fd)  # a manifest is applied here: close reports its errno

    def do(self, op, changes, action):
        """Logs B, runs action, logs A ok|err; applies changes to the model when ok.
        Returns False when the mount died (the writer stops)."""
        self.seq += 1
        rec = {"seq": self.seq, "op": op, "changes": changes}
        os.write(self.log, ("B " + json.dumps(rec, sort_keys=True) + "\n").encode())
        try:
            action()
        except OSError as e:
            code = errno.errorcode.get(e.errno, str(e.errno))
            os.write(self.log, ("A %d err %s %s\n" % (self.seq, code, op)).encode())
            return e.errno not in CRASH_ERRNOS
        os.write(self.log, ("A %d ok\n" % self.seq).encode())
        for k, v in changes.items():
            if v is None:
                self.model["objects"].pop(k, None)
                self.model["objects"][k] = None
            else:
                self.model["objects"][k] = v
        return True

    def live(self, kind):
        return sorted(k for k, v in self.model["objects"].items()
                      if v is not None and k.startswith(kind + "/") and v != "?")

    def step(self):
        r = self.rng.random()
        claims, sets = self.live("pvc"), self.live("sts")
        mine = [c for c in claims if c.startswith("pvc/w")]
        objs = self.model["objects"]
        if r < 0.25 or not (mine or sets):
            if len(mine) < 8:
                self.model["next"] += 1
                name = "w%d-c%d" % (self.wid, self.model["next"])
                path = self.p(NS, "persistentvolumeclaims", name + ".yaml")
                return self.do("create-claim " + name, {"pvc/" + name: {"v": 0}},
                               lambda: self.write_file(path, claim_doc(name, 0), create=True))
            r = 0.3
        if r < 0.45 and mine:
            key = self.rng.choice(mine)
            name, v = key[4:], objs[key]["v"] + 1
            if self.rng.random() < 0.5:
                path, how = self.p("apply"), "apply"
            else:
                path, how = self.p(NS, "persistentvolumeclaims", name, "manifest.yaml"), "manifest"
            return self.do("update-claim(%s) %s" % (how, name), {key: {"v": v}},
                           lambda: self.write_file(path, claim_doc(name, v)))
        if r < 0.55 and mine:
            key = self.rng.choice(mine)
            path = self.p(NS, "persistentvolumeclaims", key[4:])
            return self.do("delete-claim " + key[4:], {key: None}, lambda: os.rmdir(path))
        if r < 0.65 or not sets:
            if len(sets) < 3:
                self.model["next"] += 1
                name = "w%d-s%d" % (self.wid, self.model["next"])
                n = self.rng.randint(0, 3)
                changes = {"sts/" + name: {"v": 0, "replicas": n}, "svc/" + name: {},
                           "cm/" + name + "-cfg": {}}
                for i in range(n):
                    changes["pvc/data-%s-%d" % (name, i)] = "?"
                return self.do("create-set " + name, changes,
                               lambda: self.write_file(self.p("apply"), set_docs(name, 0, n)))
            if not sets:
                return True
        key = self.rng.choice(sets)
        name, st = key[4:], objs[key]
        if r < 0.78:
            n = self.rng.randint(0, 4)
            changes = {key: {"v": st["v"], "replicas": n}}
            for i in range(n):
                ck = "pvc/data-%s-%d" % (name, i)
                if objs.get(ck) is None:
                    changes[ck] = "?"
            path = self.p(NS, "statefulsets", name, "replicas")
            return self.do("scale-set %s %d" % (name, n), changes,
                           lambda: self.write_file(path, "%d\n" % n))
        if r < 0.9:
            v = st["v"] + 1
            return self.do("update-set " + name, {key: {"v": v, "replicas": st["replicas"]}},
                           lambda: self.write_file(self.p("apply"),
                                                   set_update_doc(name, v, st["replicas"])))
        # Delete the set, then its Service, ConfigMap and template claims, one by one.
        steps = [("delete-set", key, self.p(NS, "statefulsets", name)),
                 ("delete-service", "svc/" + name, self.p(NS, "services", name)),
                 ("delete-configmap", "cm/%s-cfg" % name, self.p(NS, "configmaps", name + "-cfg"))]
        for ck in sorted(k for k, v in objs.items()
                         if v == "?" and k.startswith("pvc/data-%s-" % name)):
            steps.append(("delete-claim", ck, self.p(NS, "persistentvolumeclaims", ck[4:])))
        for op, k, path in steps:
            if not self.do("%s %s" % (op, k[k.index("/") + 1:]), {k: None},
                           lambda path=path: os.rmdir(path)):
                return False
        return True

    def run(self):
        deadline = time.time() + 60
        while time.time() < deadline:
            if not self.step():
                return 0
        return 0


def observe(mnt, key):
    """The state of one object in the mount, in the model's terms, or None."""
    kind, name = key.split("/", 1)
    base = os.path.join(mnt, NS, KIND_DIR[kind], name)
    try:
        with open(os.path.join(base, "object.json")) as f:
            o = json.load(f)
    except FileNotFoundError:
        return None
    ann = (o.get("metadata") or {}).get("annotations") or {}
    spec = o.get("spec") or {}
    if kind == "pvc":
        if "crash/v" not in ann:
            return "?"
        if spec.get("resources", {}).get("requests", {}).get("storage") != "1Mi":
            return {"incomplete": spec}
        return {"v": int(ann["crash/v"])}
    if kind == "sts":
        return {"v": int(ann.get("crash/v", -1)), "replicas": spec.get("replicas")}
    if kind == "cm":
        return {} if (o.get("data") or {}).get("owner") == name[:-4] else {"bad": o.get("data")}
    return {}


def verify(mnt, logs, nwriters, cycle):
    failures, acked, inflight = [], 0, 0
    for wid in range(nwriters):
        model = load_model(logs, wid)
        objs = model["objects"]
        recs, results = {}, {}
        path = os.path.join(logs, "log-%d-%d" % (wid, cycle))
        lines = open(path).read().splitlines() if os.path.exists(path) else []
        for line in lines:
            if line.startswith("B "):
                rec = json.loads(line[2:])
                recs[rec["seq"]] = rec
            elif line.startswith("A "):
                parts = line.split(" ", 4)  # A <seq> ok | A <seq> err <ERRNO> <op>
                results[int(parts[1])] = parts[2:4]
        uncertain = []
        for seq in sorted(recs):
            rec, res = recs[seq], results.get(seq)
            if res and res[0] == "ok":
                acked += 1
                for k, v in rec["changes"].items():
                    objs[k] = v
            elif res and res[1] not in ("ENOTCONN", "ECONNABORTED", "ENODEV"):
                failures.append("writer %d: %s refused with %s (not a crash)"
                                % (wid, rec["op"], res[1]))
            else:
                uncertain.append(rec)
        if len(uncertain) > 1:
            failures.append("writer %d: %d changes in flight at once: %s"
                            % (wid, len(uncertain), [r["op"] for r in uncertain]))
        # Known objects must be exactly as acknowledged ('?': a template claim exists) ...
        pending = {k for r in uncertain for k in r["changes"]}
        for k, want in sorted(objs.items()):
            if k in pending:
                continue
            got = observe(mnt, k)
            if got != want:
                failures.append("writer %d: acknowledged %s is %s, want %s"
                                % (wid, k, json.dumps(got), json.dumps(want)))
        # ... and the change in flight wholly there or wholly absent.
        for rec in uncertain:
            inflight += 1
            got = {k: observe(mnt, k) for k in rec["changes"]}
            old = {k: objs.get(k) for k in rec["changes"]}
            new = rec["changes"]
            if got == new:
                objs.update(new)
            elif got != old:
                failures.append("writer %d: %s in flight is half there: got %s, before %s, "
                                "after %s" % (wid, rec["op"], json.dumps(got), json.dumps(old),
                                              json.dumps(new)))
                objs.update(got)  # go on from what is there
        # Nothing of this writer exists that it did not make.
        for kind, d in KIND_DIR.items():
            try:
                names = os.listdir(os.path.join(mnt, NS, d))
            except FileNotFoundError:
                continue
            for n in names:
                if n.startswith("w%d-" % wid) and objs.get("%s/%s" % (kind, n)) is None:
                    failures.append("writer %d: %s/%s exists but was never acknowledged nor "
                                    "in flight" % (wid, d, n))
        save_model(logs, wid, model)
    for f in failures:
        print("FAIL - cycle %d: %s" % (cycle, f))
    print("cycle %d: %d acknowledged changes checked, %d in flight" % (cycle, acked, inflight))
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1] == "writer":
        sys.exit(Writer(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]),
                        int(sys.argv[6])).run())
    sys.exit(verify(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])))
PY

# The FUSE connection of the mount at $MNT (its device minor), for fusectl's abort.
conn_of_mount() { awk -v m="$MNT" '$5 == m { split($3, d, ":"); print d[2] }' /proc/self/mountinfo | tail -1; }
mountpoint -q /sys/fs/fuse/connections 2>/dev/null ||
	mount -t fusectl none /sys/fs/fuse/connections 2>/dev/null

# kill_daemon: kill -9, then the daemon must be gone within 2 s by itself. A killed
# daemon used to stay stuck in the kernel: a notifier thread in FUSE_NOTIFY_INVAL_ENTRY
# waits (uninterruptibly) for a directory lock that a writer holds while it waits for an
# answer no dead worker will send, so /dev/fuse was never closed and the connection never
# aborted. The daemon's watchdog (src/fs/fs_watchdog.c) now aborts the connection itself.
# A daemon still there after 2 s is a failure (counted in $STUCK); the test then aborts
# the connection through fusectl, as an administrator would, so that it can go on.
STUCK=0
KILLS=0
threads_of() { awk '/^Threads:/ { print $2 }' /proc/"$1"/status 2>/dev/null || echo 0; }
kill_daemon() {
	local i pid=$T_PID
	KILLS=$((KILLS + 1))
	kill -9 "$pid"
	for i in $(seq 1 40); do
		[ "$(threads_of "$pid")" -le 1 ] && break
		sleep 0.05
	done
	if [ "$(threads_of "$pid")" -gt 1 ]; then
		STUCK=$((STUCK + 1))
		bad "kill -9 #$KILLS: the daemon was still there 2 s later (a thread stuck in $(cat /proc/"$pid"/task/*/wchan 2>/dev/null | sort -u | tr '\n' ' '))"
		if [ -n "$CONN" ] && [ -w /sys/fs/fuse/connections/"$CONN"/abort ]; then
			echo 1 >/sys/fs/fuse/connections/"$CONN"/abort
		else
			bad "the killed daemon is stuck in the kernel and fusectl is not available"
			t_report
			exit 1
		fi
	fi
}

start=$(date +%s)
total_acked=0
t_mount
CONN=$(conn_of_mount)
for cycle in $(seq 1 "$CYCLES"); do
	pids=()
	for w in $(seq 0 $((WRITERS - 1))); do
		python3 "$T_TMP/crash.py" writer "$MNT" "$LOGS" "$w" "$cycle" "$SEED" \
			>>"$T_TMP/writers.log" 2>&1 &
		pids+=($!)
	done
	# Kill at a random moment: most cycles while writers are busy, some at start-up.
	delay=$(python3 -c "import random; r=random.Random($SEED*100+$cycle); print('%.3f' % r.choice([r.uniform(0.05,0.25), r.uniform(0.25,0.8), r.uniform(0.25,0.8)]))")
	sleep "$delay"
	kill_daemon
	# The writers see the dead mount (ENOTCONN) and stop; then the mount is cleared.
	hung=0
	for p in "${pids[@]}"; do
		for i in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$p" 2>/dev/null; then
			hung=1
			echo "# writer $p hung in $(cat /proc/$p/wchan 2>/dev/null); its log ends:"
			for f in "$LOGS"/log-*-"$cycle"; do tail -n 2 "$f" | cut -c1-200; done
			kill -9 "$p"
		fi
		wait "$p" 2>/dev/null
	done
	[ "$hung" -eq 0 ] || bad "cycle $cycle: a writer still ran 10 s after the daemon died"
	t_crash
	t_mount
	CONN=$(conn_of_mount)
	out=$(python3 "$T_TMP/crash.py" verify "$MNT" "$LOGS" "$WRITERS" "$cycle" 2>&1)
	rc=$?
	echo "$out" | grep -v '^cycle ' | head -20
	n=$(echo "$out" | sed -nE 's/^cycle [0-9]+: ([0-9]+) acknowledged.*/\1/p')
	total_acked=$((total_acked + ${n:-0}))
	if [ "$rc" -eq 0 ]; then
		ok "cycle $cycle: after kill -9 at ${delay}s: $(echo "$out" | tail -1 | sed 's/^cycle [0-9]*: //')"
	else
		bad "cycle $cycle: the remounted state does not match what the writers were told"
	fi
	inv=$(python3 scripts/check-invariants.py --settled "$MNT" 2>&1)
	if [ $? -eq 0 ]; then
		ok "cycle $cycle: invariants hold ($(echo "$inv" | tail -1))"
	else
		bad "cycle $cycle: invariants"
		echo "$inv" | head -10
	fi
done
t_umount
check "the writers reported no Python errors" sh -c "! grep -q Traceback '$T_TMP/writers.log'"
grep -A5 Traceback "$T_TMP/writers.log" | head -20
check "the writers got changes acknowledged ($total_acked)" test "$total_acked" -ge $((CYCLES * 5))

# --- kill -9 in the middle of directory operations, KILL_ROUNDS times (10): writers make
# and remove namespaces, create files in kind directories, apply streams and rmdir objects,
# so that kernel directory locks are held while the daemon dies. Every time the daemon
# must be gone within 2 s and every writer must end with ENOTCONN (or ECONNABORTED,
# ENODEV) instead of hanging.
cat >"$T_TMP/dirops.py" <<'PY'
import errno, os, sys
mnt, wid = sys.argv[1], int(sys.argv[2])
CRASH = {errno.ENOTCONN, errno.ECONNABORTED, errno.ENODEV}
def claim(name, ns):
    return ("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: %s, namespace: %s}\n"
            "spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Mi}}}\n" % (name, ns))
def write(path, data, flags):
    fd = os.open(path, os.O_WRONLY | flags, 0o644)
    try:
        os.write(fd, data.encode())
    finally:
        os.close(fd)
i = 0
while True:
    i += 1
    ns = "k%d-%d" % (wid, i % 3)
    kd = os.path.join(mnt, "namespaces", ns, "persistentvolumeclaims")
    steps = [lambda: os.mkdir(os.path.join(mnt, "namespaces", ns)),
             lambda: write(os.path.join(kd, "c%d.yaml" % i), claim("c%d" % i, ns), os.O_CREAT | os.O_TRUNC),
             lambda: write(os.path.join(mnt, "apply"), claim("a%d" % i, ns) + "---\n" + claim("b%d" % i, ns), os.O_TRUNC),
             lambda: os.rmdir(os.path.join(kd, "c%d" % i)),
             lambda: os.listdir(kd),
             lambda: os.rmdir(os.path.join(mnt, "namespaces", ns))]
    for step in steps:
        try:
            step()
        except OSError as e:
            if e.errno in CRASH:
                print("end %s" % errno.errorcode[e.errno])
                sys.exit(0)
PY
KILL_ROUNDS=${KILL_ROUNDS:-10}
for round in $(seq 1 "$KILL_ROUNDS"); do
	t_mount
	CONN=$(conn_of_mount)
	pids=()
	for w in 0 1 2 3 4 5; do
		python3 "$T_TMP/dirops.py" "$MNT" "$w" >"$T_TMP/dirops-$w.out" 2>&1 &
		pids+=($!)
	done
	sleep "$(python3 -c "import random; print('%.3f' % random.Random($SEED * 7 + $round).uniform(0.2, 0.9))")"
	stuck0=$STUCK
	kill_daemon
	hung=0
	ends=
	for p in "${pids[@]}"; do
		for i in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$p" 2>/dev/null; then
			hung=1
			kill -9 "$p"
		fi
		wait "$p" 2>/dev/null
	done
	for w in 0 1 2 3 4 5; do ends="$ends $(sed -n 's/^end //p' "$T_TMP/dirops-$w.out")"; done
	if [ "$STUCK" -eq "$stuck0" ]; then ok "directory ops, kill -9 #$round: the daemon was gone within 2 s"; fi
	same "$hung" 0 "directory ops, kill -9 #$round: no writer hung"
	check "directory ops, kill -9 #$round: every writer ended with a dead-mount errno ($(echo $ends))" \
		sh -c "[ \"\$(echo $ends | wc -w)\" -eq 6 ]"
	check "directory ops, kill -9 #$round: no Python error" sh -c "! grep -q Traceback '$T_TMP'/dirops-*.out"
	t_crash
done
n=$(grep -c "watchdog: the killed daemon did not end" "$T_TMP/daemon.log")
echo "# $((($(date +%s) - start))) s; $STUCK of $KILLS killed daemons were still there 2 s later; the watchdog aborted $n connections"
same "$STUCK" 0 "every killed daemon ended on its own"
t_report
