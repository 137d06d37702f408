#!/usr/bin/env bash
# Mount test: bad input never hurts. The corpus of tests/data/bad (its EXPECT file says
# what each input must get) is written through a real mount, with open/write/close from
# Python, into /apply or into the kind directory or manifest.yaml its scope names. Each
# write must fail with the listed errno (at close, or at write for what is too big; a
# refused write must also refuse the close), leave a "Warning FailedApply <path>
# <path>:<line>:<column>: <reason>" line in /events, change nothing in the tree (the
# listing and every manifest.yaml), and the daemon must keep answering. The inputs too
# big to commit are generated here as test_bad_input.c generates them. Then bad values
# echoed into attribute files (replicas, storage) fail at write(2), the object limit
# (--max-objects) and the replica limit (--max-replicas) are refused naming the limit,
# and the daemon exits 0.
# Run at the project's root: bash tests/integration/test_bad_input.sh
set -u
. "$(dirname "$0")/lib.sh"
BAD=${CLAIMFS_BAD_DIR:-tests/data/bad}

# run_corpus PHASE: the Python driver prints "ok   - ..." / "FAIL - ..." lines and a
# closing "counts P F" line, added to this script's totals.
run_corpus() {
	python3 - "$MNT" "$BAD" "$1" >"$T_TMP/phase.out" 2>&1 <<'PY'
import errno, os, subprocess, sys, time

mnt, bad, phase = sys.argv[1], sys.argv[2], sys.argv[3]
passed = failed = 0
SETUPS = ["sc-fast.yaml", "pvc.yaml", "sts.yaml"]   # the prior state of phase "setup"
PLURAL = {"PersistentVolumeClaim": "persistentvolumeclaims", "StatefulSet": "statefulsets",
          "Pod": "pods", "Service": "services", "Deployment": "deployments"}


def ok(msg):
    global passed
    passed += 1
    print("ok   - " + msg)


def bad_(msg):
    global failed
    failed += 1
    print("FAIL - " + msg)


def expect_entries():
    out = []
    for n, line in enumerate(open(os.path.join(bad, "EXPECT"), encoding="utf-8"), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        head, *subs = [x.strip() for x in line.split(" :: ")]
        name, err, where, *opts = head.split()
        e = {"name": name, "errno": getattr(errno, err), "errname": err, "where": where,
             "subs": subs, "setups": [], "scope": None, "delete": None, "limits": False}
        for o in opts:
            if o.startswith("scope="):
                e["scope"] = o[6:]
            elif o.startswith("setup="):
                e["setups"].append(o[6:])
            elif o.startswith("delete="):
                e["delete"] = o[7:]
            elif o.startswith("max-objects="):
                e["limits"] = True
            elif o.startswith("max-replicas="):
                e["max_replicas"] = int(o[13:])
        out.append(e)
    return out


def gen(name):
    M = 1 << 20
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
    if name == "@deep-flow-100000":
        return "x: " + "[" * 100000 + "]" * 100000 + "\n"
    if name == "@deep-flow-map-100000":
        return "x: " + "{a: " * 100000 + "1" + "}" * 100000 + "\n"
    if name == "@deep-block-seq-100000":
        return "x:\n" + "- " * 100000 + "1\n"
    if name == "@big-name-4MiB":
        return cm + "  name: " + "a" * (4 * M) + "\n"
    if name == "@big-label-value-2MiB":
        return cm + "  name: big\n  labels:\n    app: " + "v" * (2 * M) + "\n"
    if name == "@big-annotation-3MiB":
        return cm + "  name: big\n  annotations:\n    note: " + "x" * (3 * M) + "\n"
    if name == "@big-key-1MiB":
        return cm + "  name: big\n  labels:\n    ? " + "k" * M + "\n    : v\n"
    if name == "@big-implicit-key-1MiB":
        return cm + "  name: big\n  labels:\n    " + "k" * M + ": v\n"
    if name == "@oversize-17MiB":
        return cm + "  name: big\ndata:\n  blob: " + "z" * (17 * M) + "\n"
    if name == "@oversize-boundary":
        s = "".join("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c%d\n" % i for i in range(3))
        s += "# " + "p" * ((16 << 20) - len(s) - 3) + "\n"
        return s + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: beyond\n"
    if name == "@many-docs-bad-last":
        s = "".join("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg-%d\n" % i
                    for i in range(4999))
        return s + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad\n"
    raise KeyError(name)


def data_of(e):
    if e["name"].startswith("@"):
        return gen(e["name"]).encode()
    with open(os.path.join(bad, e["name"]), "rb") as f:
        return f.read()


def target_of(e):
    """(path to write, source the daemon names in its reason)"""
    if not e["scope"]:
        return os.path.join(mnt, "apply"), "apply"
    kind, ns, *rest = e["scope"].split("/")
    base = "namespaces/%s/%s" % (ns, PLURAL[kind])
    if rest:
        rel = "%s/%s/manifest.yaml" % (base, rest[0])
    else:
        stem = e["name"].rsplit(".", 1)[0]
        rel = "%s/%s.yaml" % (base, stem)
    return os.path.join(mnt, rel), rel


def write_file(path, data, create=True):
    """open/write (in 128 KiB pieces, like cp)/close: (where it failed, errno) or (None, 0)"""
    flags = os.O_WRONLY | os.O_TRUNC | (os.O_CREAT if create else 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as x:
        return "open", x.errno
    first = (None, 0)
    off = 0
    while off < len(data):
        try:
            n = os.write(fd, data[off:off + (128 << 10)])
        except OSError as x:
            first = ("write", x.errno)
            break
        if n <= 0:
            first = ("write", errno.EIO)
            break
        off += n
    try:
        os.close(fd)
    except OSError as x:
        if first[0] is None:
            first = ("close", x.errno)
        elif x.errno != first[1]:
            first = ("close-after-write", x.errno)
    else:
        if first[0] == "write":
            first = ("close-accepted-after-write", first[1])
    return first


def snapshot():
    """The tree's listing and every manifest.yaml, as one text."""
    out = []
    for root, dirs, files in os.walk(mnt):
        dirs.sort()
        rel = os.path.relpath(root, mnt)
        for f in sorted(files):
            p = os.path.join(rel, f)
            out.append(p)
            if f == "manifest.yaml":
                try:
                    with open(os.path.join(root, f), "rb") as fh:
                        out.append(fh.read().decode("utf-8", "replace"))
                except OSError as x:
                    out.append("unreadable %s" % errno.errorcode.get(x.errno, x.errno))
        for d in dirs:
            out.append(os.path.join(rel, d) + "/")
    return "\n".join(out)


def events():
    with open(os.path.join(mnt, "events"), "rb") as f:
        return f.read().decode("utf-8", "replace")


def first_diff(a, b):
    la, lb = a.splitlines(), b.splitlines()
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else "<none>"
        y = lb[i] if i < len(lb) else "<none>"
        if x != y:
            return "before: %.200s | after: %.200s" % (x, y)
    return "?"


def try_entry(e):
    path, source = target_of(e)
    data = data_of(e)
    label = e["name"]
    before, ev_before = snapshot(), events()
    where, err = write_file(path, data)
    if where in ("write", "close") and err == e["errno"]:
        ok("%s: %s at %s" % (label, e["errname"], where))
    else:
        bad_("%s: want %s, got %s at %s" % (label, e["errname"],
                                            errno.errorcode.get(err, err) if err else "success",
                                            where))
    ev_after = events()
    new = ev_after[len(ev_before):] if ev_after.startswith(ev_before) else ev_after
    lines = [l for l in new.splitlines() if " Warning FailedApply " in l]
    if e["where"] == "-":
        want = " Warning FailedApply %s %s: " % (source, source)
    elif ":" in e["where"]:
        want = " Warning FailedApply %s %s:%s: " % (source, source, e["where"])
    else:
        want = " Warning FailedApply %s %s:%s:" % (source, source, e["where"])
    line = next((l for l in lines if want in l), None)
    if line and all(s in line for s in e["subs"]):
        ok("%s: /events has the FailedApply line with %s" % (label, e["where"]))
    else:
        bad_("%s: no FailedApply line with \"%s\" and %s in: %.400s" %
             (label, want.strip(), e["subs"], " / ".join(lines) or new))
    after = snapshot()
    if after == before:
        ok("%s: the tree is unchanged" % label)
    else:
        bad_("%s: the tree changed: %s" % (label, first_diff(before, after)))
    try:
        with open(os.path.join(mnt, "README"), "rb") as f:
            answered = len(f.read()) > 0
    except OSError:
        answered = False
    if not answered:
        bad_("%s: the daemon no longer answers" % label)
        print("counts %d %d" % (passed, failed))
        sys.exit(0)


entries = expect_entries()
if phase == "clean":
    # Everything that needs no prior state, in a cluster with only the built-ins.
    todo = [e for e in entries if not e["setups"] and not e["delete"] and not e["limits"]]
elif phase == "setup":
    for s in SETUPS:
        with open(os.path.join(bad, "setup", s), "rb") as f:
            where, err = write_file(os.path.join(mnt, "apply"), f.read())
        if where is None:
            ok("setup %s applied" % s)
        else:
            bad_("setup %s: %s at %s" % (s, errno.errorcode.get(err, err), where))
    todo = [e for e in entries if e["setups"] and set(e["setups"]) <= set(SETUPS)
            and not e["delete"] and not e["limits"]]
elif phase == "limit":
    todo = [e for e in entries if e["limits"]]
else:
    sys.exit("unknown phase " + phase)
classes = set()
for e in todo:
    classes.add(e["name"].lstrip("@").split("-")[0])
    try_entry(e)
print("# phase %s: %d inputs, classes: %s" % (phase, len(todo), " ".join(sorted(classes))))
print("counts %d %d" % (passed, failed))
PY
	grep -v '^counts ' "$T_TMP/phase.out"
	local c
	c=$(grep '^counts ' "$T_TMP/phase.out" | tail -1)
	if [ -z "$c" ]; then
		bad "phase $1: the Python driver did not finish"
		return
	fi
	read -r _ p f <<<"$c"
	T_PASS=$((T_PASS + p))
	T_FAIL=$((T_FAIL + f))
}

# attr_write FILE VALUE WANT: echo VALUE > FILE must fail at write(2) with errno WANT
# (a list like "EINVAL|ERANGE"), the value must stay, and /events must say why.
attr_write() {
	local f=$1 v=$2 want=$3 before after got rel
	rel=${f#"$MNT"/}
	before=$(cat "$f")
	got=$(python3 - "$f" "$v" <<'PY'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
try:
    os.write(fd, (sys.argv[2] + "\n").encode())
    where = None
except OSError as x:
    where = "write " + errno.errorcode[x.errno]
try:
    os.close(fd)
except OSError as x:
    where = where or "close " + errno.errorcode[x.errno]
print(where or "accepted")
PY
)
	after=$(cat "$f")
	if echo "$got" | grep -Eqx "write ($want)"; then
		ok "echo $v > $rel fails at write ($got)"
	else
		bad "echo $v > $rel: want write $want, got $got"
	fi
	same "$after" "$before" "$rel keeps $before after '$v'"
	check "/events names $rel and '$v'" sh -c "tail -3 '$MNT/events' | grep 'FailedApply $rel ' | grep -q -- '$v'"
}

# --- phase 1: a clean cluster (the replica limit of the corpus is 5)
t_mount --max-replicas 5
run_corpus clean

# --- phase 2: with a claim, a class and a StatefulSet in place (immutable fields,
# manifest.yaml of an existing object)
run_corpus setup

# --- bad values into attribute files fail at write(2)
S=$NS/statefulsets/web
C=$NS/persistentvolumeclaims/data
check "the StatefulSet web exists" test -f "$S/replicas"
check "the claim data exists" test -f "$C/storage"
for v in banana -1 1.5 ""; do attr_write "$S/replicas" "$v" "EINVAL"; done
attr_write "$S/replicas" 99999999999999999999 "EINVAL|ERANGE|ENOSPC"
attr_write "$S/replicas" 6 "ENOSPC"
attr_write "$C/storage" 1Xi "EINVAL"
attr_write "$C/storage" -5Gi "EINVAL"
attr_write "$C/storage" 100Ei "EINVAL|ERANGE|ENOSPC"
check "a good value still works: echo 3 > replicas" sh -c "echo 3 > '$S/replicas'"
same "$(cat "$S/replicas")" "3" "replicas is 3"

# --- the daemon still takes good input after all that
cat >"$T_TMP/good.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata:
  name: still-alive
data:
  ok: "yes"
Y
check "a good manifest is still applied" cp "$T_TMP/good.yaml" "$MNT/apply"
check "its object appears" test -d "$NS/configmaps/still-alive"
# every object has a directory with a manifest.yaml
n=$(find "$MNT" -name manifest.yaml | wc -l)
t_umount

# --- phase 3: the object limit, a few objects above what the cluster holds now
t_mount --max-objects $((n + 3))
run_corpus limit
check "/events names the limit $((n + 3))" sh -c "grep FailedApply '$MNT/events' | tail -1 | grep -q 'limit of $((n + 3))'"
t_umount
t_report
