#!/usr/bin/env bash
# Mount test of file-based monitoring (issue 4), each acceptance point through a real
# mount: promtool accepts /metrics and its series follow the cluster; every file's
# st_size is what a read returns; mtimes move on a change of what a file shows and stay
# put otherwise (attributes, .table, kind directories, /metrics); tail -f and poll(2)
# follow /events and an object's events file, each handle reading only what is new to
# it; four concurrent readers never see a torn manifest.yaml, object.json or .table
# while a writer scales a StatefulSet and edits claims; .table and .table-wide print
# what kubectl prints; scripts/wait-for-bound waits in poll(2), not in a busy loop;
# scripts/textfile-collector.sh replaces its .prom file atomically; the bounded history
# (10,000 events, the oldest quarter dropped at once) keeps poll(2) followers and tail -f
# going, every event once (fstat of an open log answers its descriptor's stream end).
# Needs python3 and promtool (Debian package prometheus, installed through
# scripts/install-deps.sh when missing); strace is used when present.
# Run at the project's root: bash tests/integration/test_monitoring.sh
set -u
. "$(dirname "$0")/lib.sh"

C=$NS/persistentvolumeclaims
S=$NS/statefulsets
PY=python3
MON=$T_TMP/mon.py

# ---------------------------------------------------------------------------------------
# The Python side of the checks. Each subcommand prints "ok <what>" or "bad <what>" lines
# (turned into checks by pychecks below), other lines as details, and "end" when it ran
# to completion.
cat >"$MON" <<'PYEOF'
import calendar, difflib, hashlib, json, os, random, re, resource, select, subprocess, sys, time

def ok(d): print("ok " + d, flush=True)
def bad(d): print("bad " + d, flush=True)
def check(c, d):
    (ok if c else bad)(d)
    return c
def note(d): print("  " + d, flush=True)

def read_fd(fd, chunk=65536):
    data = b""
    while True:
        b = os.read(fd, chunk)
        if not b:
            return data
        data += b

def read_path(p, chunk=65536):
    fd = os.open(p, os.O_RDONLY)
    try:
        return read_fd(fd, chunk)
    finally:
        os.close(fd)

# ---- kubectl tables ---------------------------------------------------------------------
HEADERS = {
    "persistentvolumeclaims": ("NAME STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS VOLUMEATTRIBUTESCLASS AGE", "VOLUMEMODE"),
    "persistentvolumes": ("NAME CAPACITY ACCESS MODES RECLAIM POLICY STATUS CLAIM STORAGECLASS VOLUMEATTRIBUTESCLASS REASON AGE", "VOLUMEMODE"),
    "storageclasses": ("NAME PROVISIONER RECLAIMPOLICY VOLUMEBINDINGMODE ALLOWVOLUMEEXPANSION AGE", ""),
    "statefulsets": ("NAME READY AGE", "CONTAINERS IMAGES"),
    "deployments": ("NAME READY UP-TO-DATE AVAILABLE AGE", "CONTAINERS IMAGES SELECTOR"),
    "replicasets": ("NAME DESIRED CURRENT READY AGE", "CONTAINERS IMAGES SELECTOR"),
    "pods": ("NAME READY STATUS RESTARTS AGE", "IP NODE NOMINATED NODE READINESS GATES"),
    "services": ("NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE", "SELECTOR"),
    "nodes": ("NAME STATUS ROLES AGE VERSION", "INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME"),
    "namespaces": ("NAME STATUS AGE", ""),
    "configmaps": ("NAME DATA AGE", ""),
    "secrets": ("NAME TYPE DATA AGE", ""),
    "priorityclasses": ("NAME VALUE GLOBAL-DEFAULT AGE PREEMPTIONPOLICY", ""),
    "serviceaccounts": ("NAME SECRETS AGE", ""),
}
AGE_RE = re.compile(r"^(\d+s|\d+m(\d+s)?|\d+h(\d+m)?|\d+d(\d+h)?|\d+y(\d+d)?|<unknown>|<invalid>)$")

def parse_table(text):
    """-> (column names, rows as lists of cells), or raises ValueError when the text is
    not laid out as kubectl's tabwriter lays it out (minwidth 6, padding 3, the last
    column unpadded): the cells are cut at the header's column starts, laid out again,
    and must give the very same text."""
    if not text.endswith("\n"):
        raise ValueError("does not end with a newline")
    lines = text[:-1].split("\n")
    cols = [(m.start(), m.group()) for m in re.finditer(r"\S+(?: \S+)*", lines[0])]
    if not cols or cols[0][0] != 0:
        raise ValueError("no header")
    starts = [s for s, _ in cols] + [None]
    rows = []
    for ln in lines:
        cells = [ln[starts[i]:starts[i + 1]].strip() if starts[i + 1] else ln[starts[i]:].strip()
                 for i in range(len(cols))]
        rows.append(cells)
    widths = [max(6, max(len(r[i]) for r in rows) + 3) for i in range(len(cols) - 1)]
    for ln, r in zip(lines, rows):
        again = "".join(c.ljust(w) for c, w in zip(r, widths)) + r[-1]
        if again != ln:
            raise ValueError("row not laid out as kubectl's tabwriter: %r" % ln)
    return [c for _, c in cols], rows[1:]

def expected_header(plural, wide):
    h, w = HEADERS.get(plural, ("NAME AGE", ""))
    return (h + (" " + w if wide and w else "")).split(" ")

def header_ok(cols, plural, wide):
    return " ".join(cols) == " ".join(expected_header(plural, wide))

def kind_dirs(mnt):
    """Every kind directory of the mount: (path, plural)."""
    out = [(os.path.join(mnt, "namespaces"), "namespaces")]
    for e in sorted(os.listdir(mnt)):
        p = os.path.join(mnt, e)
        if e != "namespaces" and os.path.isdir(p):
            out.append((p, e))
    for ns in sorted(os.listdir(os.path.join(mnt, "namespaces"))):
        nsd = os.path.join(mnt, "namespaces", ns)
        if not os.path.isdir(nsd):
            continue
        for e in sorted(os.listdir(nsd)):
            p = os.path.join(nsd, e)
            if os.path.isdir(p) and not os.path.islink(p):
                out.append((p, e))
    return out

def cell(cols, rows, name, col):
    for r in rows:
        if r[0] == name:
            return r[cols.index(col)]
    return None

def cmd_tables(mnt):
    now = time.time()
    seen = set()
    for d, plural in kind_dirs(mnt):
        names = sorted(e for e in os.listdir(d) if os.path.isdir(os.path.join(d, e)))
        rel = os.path.relpath(d, mnt)
        for wide, fname in ((0, ".table"), (1, ".table-wide")):
            text = read_path(os.path.join(d, fname)).decode()
            if not names:
                check(text == "", f"{rel}/{fname} is empty when there are no objects")
                continue
            try:
                cols, rows = parse_table(text)
            except ValueError as e:
                bad(f"{rel}/{fname}: {e}")
                continue
            check(header_ok(cols, plural, wide), f"{rel}/{fname} has kubectl's header ({' '.join(cols)})")
            listed = [r[0][:-len(" (default)")] if r[0].endswith(" (default)") else r[0] for r in rows]
            check(listed == names, f"{rel}/{fname} lists every object once, sorted by name")
            ages = [r[cols.index("AGE")] for r in rows]
            check(all(AGE_RE.match(a) for a in ages), f"{rel}/{fname}: AGE cells in kubectl's format ({' '.join(sorted(set(ages)))})")
            seen.add(plural)
    for p in ("persistentvolumeclaims", "persistentvolumes", "storageclasses", "statefulsets", "deployments",
              "replicasets", "pods", "services", "nodes", "namespaces", "priorityclasses"):
        check(p in seen, f"a non-empty {p} table was checked")
    print("end")

def cmd_table_cells(mnt):
    """Cells of known objects, as kubectl prints them."""
    ns = os.path.join(mnt, "namespaces/default")
    def tab(path, wide=False):
        return parse_table(read_path(os.path.join(path, ".table-wide" if wide else ".table")).decode())
    cols, rows = tab(os.path.join(ns, "persistentvolumeclaims"))
    vol = read_path(os.path.join(ns, "persistentvolumeclaims/shared/volumeName")).decode().strip()
    check(cell(cols, rows, "shared", "STATUS") == "Bound", "pvc table: shared is Bound")
    check(cell(cols, rows, "shared", "VOLUME") == vol, "pvc table: VOLUME is the claim's volumeName")
    check(cell(cols, rows, "shared", "CAPACITY") == "2Gi", "pvc table: CAPACITY 2Gi")
    check(cell(cols, rows, "shared", "ACCESS MODES") == "RWO,ROX", "pvc table: ACCESS MODES RWO,ROX")
    check(cell(cols, rows, "shared", "STORAGECLASS") == "standard", "pvc table: STORAGECLASS standard")
    check(cell(cols, rows, "shared", "VOLUMEATTRIBUTESCLASS") == "<unset>", "pvc table: VOLUMEATTRIBUTESCLASS <unset>")
    check(cell(cols, rows, "stuck", "STATUS") == "Pending" and cell(cols, rows, "stuck", "VOLUME") == ""
          and cell(cols, rows, "stuck", "CAPACITY") == "" and cell(cols, rows, "stuck", "ACCESS MODES") == "",
          "pvc table: a Pending claim has empty VOLUME, CAPACITY and ACCESS MODES")
    created = json.loads(read_path(os.path.join(ns, "persistentvolumeclaims/shared/object.json")))["metadata"]["creationTimestamp"]
    age = time.time() - calendar.timegm(time.strptime(created, "%Y-%m-%dT%H:%M:%SZ"))
    a = cell(cols, rows, "shared", "AGE")
    check(re.fullmatch(r"\d+s", a) is not None and abs(int(a[:-1]) - age) <= 2,
          f"pvc table: AGE {a} is the claim's age in seconds ({age:.1f} s)")
    cols, rows = tab(os.path.join(ns, "persistentvolumeclaims"), True)
    check(cell(cols, rows, "shared", "VOLUMEMODE") == "Filesystem", "pvc .table-wide: VOLUMEMODE Filesystem")
    cols, rows = tab(os.path.join(mnt, "persistentvolumes"))
    check(cell(cols, rows, vol, "CLAIM") == "default/shared", "pv table: CLAIM default/shared")
    check(cell(cols, rows, vol, "ACCESS MODES") == "RWO,ROX", "pv table: ACCESS MODES RWO,ROX")
    check(cell(cols, rows, vol, "RECLAIM POLICY") == "Delete" and cell(cols, rows, vol, "STATUS") == "Bound",
          "pv table: RECLAIM POLICY Delete, STATUS Bound")
    check(cell(cols, rows, vol, "REASON") == "", "pv table: REASON empty")
    cols, rows = tab(os.path.join(mnt, "storageclasses"))
    check(cell(cols, rows, "standard (default)", "PROVISIONER") is not None, "storageclass table: 'standard (default)'")
    check(cell(cols, rows, "standard (default)", "ALLOWVOLUMEEXPANSION") in ("true", "false"), "storageclass table: ALLOWVOLUMEEXPANSION true/false")
    cols, rows = tab(os.path.join(ns, "statefulsets"))
    check(cell(cols, rows, "web", "READY") == "2/2", "statefulset table: READY 2/2 (ready/replicas)")
    cols, rows = tab(os.path.join(ns, "statefulsets"), True)
    check(cell(cols, rows, "web", "CONTAINERS") == "web" and cell(cols, rows, "web", "IMAGES") == "nginx",
          "statefulset .table-wide: CONTAINERS web, IMAGES nginx")
    cols, rows = tab(os.path.join(ns, "deployments"), True)
    check(cell(cols, rows, "api", "READY") == "1/1" and cell(cols, rows, "api", "SELECTOR") == "app=api",
          "deployment .table-wide: READY 1/1, SELECTOR app=api")
    cols, rows = tab(os.path.join(ns, "pods"))
    check(cell(cols, rows, "web-0", "READY") == "1/1" and cell(cols, rows, "web-0", "STATUS") == "Running"
          and cell(cols, rows, "web-0", "RESTARTS") == "0", "pod table: web-0 1/1 Running 0")
    cols, rows = tab(os.path.join(ns, "pods"), True)
    node = read_path(os.path.join(ns, "pods/web-0/nodeName")).decode().strip()
    ip = read_path(os.path.join(ns, "pods/web-0/podIP")).decode().strip()
    check(cell(cols, rows, "web-0", "NODE") == node and cell(cols, rows, "web-0", "IP") == ip
          and cell(cols, rows, "web-0", "NOMINATED NODE") == "<none>", "pod .table-wide: IP, NODE, NOMINATED NODE <none>")
    cols, rows = tab(os.path.join(ns, "services"))
    check(cell(cols, rows, "web-h", "CLUSTER-IP") == "None" and cell(cols, rows, "web-h", "PORT(S)") == "80/TCP"
          and cell(cols, rows, "web-h", "EXTERNAL-IP") == "<none>", "service table: headless web-h None <none> 80/TCP")
    cols, rows = tab(os.path.join(ns, "services"))
    check(cell(cols, rows, "api-svc", "TYPE") == "ClusterIP" and re.fullmatch(r"\d+\.\d+\.\d+\.\d+", cell(cols, rows, "api-svc", "CLUSTER-IP") or "")
          and cell(cols, rows, "api-svc", "PORT(S)") == "8080/TCP", "service table: api-svc ClusterIP <ip> 8080/TCP")
    cols, rows = tab(os.path.join(mnt, "nodes"))
    check(cell(cols, rows, "node-1", "STATUS") == "Ready" and cell(cols, rows, "node-1", "ROLES") == "<none>",
          "node table: node-1 Ready <none>")
    cols, rows = tab(os.path.join(mnt, "priorityclasses"))
    check(cell(cols, rows, "high", "VALUE") == "1000" and cell(cols, rows, "high", "GLOBAL-DEFAULT") == "false"
          and cell(cols, rows, "high", "PREEMPTIONPOLICY") == "PreemptLowerPriority",
          "priorityclass table: high 1000 false PreemptLowerPriority")
    cols, rows = tab(os.path.join(ns, "configmaps"))
    check(cell(cols, rows, "settings", "DATA") == "2", "configmap table: DATA 2")
    cols, rows = tab(os.path.join(mnt, "namespaces"))
    check(cell(cols, rows, "default", "STATUS") == "Active", "namespace table: default Active")
    print("end")

# ---- sizes --------------------------------------------------------------------------------
def cmd_sizes(mnt, minimum):
    n = links = mism = 0
    for root, dirs, files in os.walk(mnt):
        for name in sorted(files + dirs):
            p = os.path.join(root, name)
            st = os.lstat(p)
            if os.path.islink(p):
                links += 1
                if st.st_size != len(os.fsencode(os.readlink(p))):
                    mism += 1
                    note(f"symlink size differs: {p}")
                continue
            if not os.path.isfile(p):
                continue
            n += 1
            for attempt in range(3):  # an AGE column may tick between stat and read
                size = os.stat(p).st_size
                got = len(read_path(p, 4096))
                if size == got:
                    break
            else:
                mism += 1
                note(f"st_size {size} but {got} bytes read: {p}")
    check(mism == 0 and n >= int(minimum),
          f"st_size equals the bytes read for all {n} files and the target length for all {links} symlinks")
    print("end")

# ---- poll --------------------------------------------------------------------------------
def trigger_later(cmd, delay):
    """Runs cmd in the shell after delay; returns (pid, read end of a pipe that gets the
    monotonic time at which cmd started)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        time.sleep(delay)
        t = time.monotonic()
        rc = subprocess.call(cmd, shell=True)
        os.write(w, f"{t} {rc}".encode())
        os._exit(0)
    os.close(w)
    return pid, r

def trigger_result(pid, r):
    os.waitpid(pid, 0)
    t, rc = read_fd(r).decode().split()
    os.close(r)
    return float(t), int(rc)

def cmd_pollwake(path, must_contain, cmd):
    """poll(2) on an open log wakes within a second of cmd, and a read then returns only
    the lines added since this handle last read, all about must_contain."""
    label = os.path.basename(os.path.dirname(path)) + "/" + os.path.basename(path) if "namespaces" in path else "/events"
    fd = os.open(path, os.O_RDONLY)
    before = read_fd(fd)
    p = select.poll()
    p.register(fd, select.POLLIN)
    check(p.poll(0) == [], f"{label}: poll does not report data before anything new happens")
    pid, r = trigger_later(cmd, 0.3)
    woke = p.poll(3000)
    t_wake = time.monotonic()
    t_cmd, rc = trigger_result(pid, r)
    new = read_fd(fd)
    os.close(fd)
    check(rc == 0, f"{label}: the trigger command succeeded")
    check(bool(woke) and woke[0][1] & select.POLLIN, f"{label}: poll woke with POLLIN")
    check(bool(woke) and t_wake - t_cmd < 1.0, f"{label}: poll woke {t_wake - t_cmd:.3f} s after the change began (< 1 s)")
    lines = new.decode().splitlines()
    check(len(lines) > 0 and all(must_contain in l for l in lines),
          f"{label}: the read after the wake returns {len(lines)} new lines, all about {must_contain}")
    check(not set(lines) & set(before.decode().splitlines()), f"{label}: none of them had been read before on this handle")
    whole = read_path(path)
    check(whole == before + new, f"{label}: what the handle read is the whole file, in order, without repeats")
    print("end")

def cmd_pollfor(path, substr, timeout):
    """Blocks in poll(2) on an open log until a line holding substr arrives (made by the
    timer thread, not by a syscall of ours); prints how long that took and how often
    poll returned."""
    fd = os.open(path, os.O_RDONLY)
    read_fd(fd)
    p = select.poll()
    p.register(fd, select.POLLIN)
    t0 = time.monotonic()
    end = t0 + float(timeout)
    wakes, seen = 0, b""
    while substr.encode() not in seen and time.monotonic() < end:
        if p.poll(max(1, int((end - time.monotonic()) * 1000))):
            wakes += 1
            seen += read_fd(fd)
    os.close(fd)
    check(substr.encode() in seen, f"poll on {os.path.basename(path)} saw '{substr}' after {time.monotonic() - t0:.3f} s, in {wakes} wake-ups")
    print("end")

def cmd_pollquiet(path, cmd):
    """An object's events file does not wake for another object's events."""
    fd = os.open(path, os.O_RDONLY)
    read_fd(fd)
    p = select.poll()
    p.register(fd, select.POLLIN)
    pid, r = trigger_later(cmd, 0.1)
    woke = p.poll(800)
    _, rc = trigger_result(pid, r)
    extra = read_fd(fd)
    os.close(fd)
    check(rc == 0 and woke == [] and extra == b"",
          f"{os.path.basename(os.path.dirname(path))}/events: no wake-up and nothing new for another object's events")
    print("end")

def cmd_twohandles(path, cmd):
    """Two handles on /events each get the new lines once (cursors are per handle)."""
    a = os.open(path, os.O_RDONLY)
    b = os.open(path, os.O_RDONLY)
    read_fd(a)
    read_fd(b)
    rc = subprocess.call(cmd, shell=True)
    na = read_fd(a)
    nb = read_fd(b)
    again = read_fd(a)
    os.close(a)
    os.close(b)
    check(rc == 0 and na and na == nb, "/events: two handles each read the same new lines")
    check(again == b"", "/events: a handle that read them gets nothing more")
    print("end")

# ---- mtimes ------------------------------------------------------------------------------
def mtimes(paths):
    return {p: os.stat(p).st_mtime_ns for p in paths}

def contents(paths):
    return {p: read_path(p) if os.path.isfile(p) else sorted(os.listdir(p)) for p in paths}

def cmd_mtime(mode, cmd, *paths):
    """mode 'moves': cmd changes what every path shows: each mtime must move forward.
    mode 'stays': cmd changes something none of them shows: each mtime must stay (a
    .table's AGE cells tick with the clock, which is not a change of what it lists)."""
    names = {p: p.split("/mnt/", 1)[-1] or "/" for p in paths}
    contents(paths)  # rendered (and their mtimes refined) before the change
    m0 = mtimes(paths)
    time.sleep(0.02)
    rc = subprocess.call(cmd, shell=True)
    check(rc == 0, f"the change succeeded: {cmd[:60]}")
    contents(paths)
    m1 = mtimes(paths)
    for p in paths:
        if mode == "moves":
            check(m1[p] > m0[p], f"{names[p]}: mtime moved ({m0[p] / 1e9:.3f} -> {m1[p] / 1e9:.3f})")
        else:
            check(m1[p] == m0[p], f"{names[p]}: mtime stayed ({m0[p] / 1e9:.3f} -> {m1[p] / 1e9:.3f})")
    print("end")

def cmd_age_ticks(table, name, wait):
    """A .table's AGE is computed when it is read: after an idle wait it is older."""
    cols, rows = parse_table(read_path(table).decode())
    a0 = cell(cols, rows, name, "AGE")
    time.sleep(float(wait))
    cols, rows = parse_table(read_path(table).decode())
    a1 = cell(cols, rows, name, "AGE")
    ok_ = bool(re.fullmatch(r"\d+s", a0 or "") and re.fullmatch(r"\d+s", a1 or "")) and int(a1[:-1]) - int(a0[:-1]) >= int(float(wait))
    check(ok_, f"{table.split('/mnt/', 1)[-1]}: AGE of {name} went from {a0} to {a1} in {wait} s without a change")
    print("end")

# ---- metrics -----------------------------------------------------------------------------
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

def parse_metrics(text):
    samples, help_, type_ = {}, {}, {}
    for ln in text.splitlines():
        if ln.startswith("# HELP "):
            n = ln.split(" ")[2]
            help_[n] = help_.get(n, 0) + 1
        elif ln.startswith("# TYPE "):
            n, t = ln.split(" ")[2:4]
            type_[n] = t
        elif ln and not ln.startswith("#"):
            m = SAMPLE.match(ln)
            if not m:
                raise ValueError("bad sample line %r" % ln)
            labels = frozenset(LABEL.findall(m.group(2) or ""))
            samples[(m.group(1), labels)] = m.group(3)
    return samples, help_, type_

def parse_selector(sel):
    m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?', sel)
    return m.group(1), frozenset(LABEL.findall(m.group(2) or ""))

def cmd_mval(path, sel):
    samples, _, _ = parse_metrics(read_path(path).decode())
    print(samples.get(parse_selector(sel), "absent"))

FAMILIES = """kube_persistentvolumeclaim_status_phase kube_persistentvolumeclaim_info
kube_persistentvolumeclaim_resource_requests_storage_bytes kube_persistentvolumeclaim_access_mode
kube_persistentvolume_status_phase kube_persistentvolume_capacity_bytes kube_persistentvolume_claim_ref
kube_persistentvolume_info kube_storageclass_info kube_statefulset_replicas kube_statefulset_status_replicas
kube_statefulset_status_replicas_ready kube_statefulset_status_replicas_available
kube_statefulset_status_replicas_current kube_statefulset_status_replicas_updated
kube_statefulset_persistentvolumeclaim_retention_policy kube_pod_spec_volumes_persistentvolumeclaims_info
claimfs_storageclass_pool_capacity_bytes claimfs_storageclass_pool_allocated_bytes""".split()

def cmd_families(path):
    samples, help_, type_ = parse_metrics(read_path(path).decode())
    names = {n for n, _ in samples}
    for f in FAMILIES:
        check(f in names and help_.get(f) == 1 and type_.get(f) == "gauge",
              f"/metrics has {f}: one HELP, TYPE gauge, samples")
    phases = {dict(l)["phase"] for (n, l) in samples if n == "kube_persistentvolumeclaim_status_phase"}
    check(phases == {"Bound", "Lost", "Pending"}, "claim phase series: one per phase (Bound, Lost, Pending)")
    phases = {dict(l)["phase"] for (n, l) in samples if n == "kube_persistentvolume_status_phase"}
    check(phases == {"Available", "Bound", "Failed", "Pending", "Released"}, "volume phase series: one per phase")
    by_claim = {}
    for (n, l), v in samples.items():
        if n == "kube_persistentvolumeclaim_status_phase":
            d = dict(l)
            by_claim.setdefault((d["namespace"], d["persistentvolumeclaim"]), []).append(v)
    check(all(sorted(v) == ["0", "0", "1"] for v in by_claim.values()),
          f"each of {len(by_claim)} claims has exactly one phase series at 1")
    print("end")

# ---- concurrent readers ------------------------------------------------------------------
TOP = ["apiVersion", "kind", "metadata", "spec", "status"]

def check_yaml(text, kind):
    if not text.endswith("\n"):
        return "does not end with a newline", None
    if re.findall(r"^([A-Za-z]+):", text, re.M) != TOP:
        return "top-level keys %s" % re.findall(r"^([A-Za-z]+):", text, re.M), None
    if re.findall(r"^kind: (.*)$", text, re.M) != [kind]:
        return "kind lines %s" % re.findall(r"^kind: (.*)$", text, re.M), None
    rv = re.findall(r'^  resourceVersion: "(\d+)"$', text, re.M)
    if len(rv) != 1:
        return "resourceVersion lines %s" % rv, None
    spec = text[text.index("\nspec:\n"):text.index("\nstatus:")]
    if kind == "StatefulSet" and len(re.findall(r"^  replicas: [1-4]$", spec, re.M)) != 1:
        return "spec.replicas not one of 1..4", None
    if kind == "PersistentVolumeClaim" and len(re.findall(r'^    gen: "\d+"$', text, re.M)) > 1:
        return "two gen labels", None
    return None, rv[0]

def check_json(text, kind):
    try:
        o = json.loads(text)
    except ValueError as e:
        return "unparsable JSON: %s" % e, None
    if o.get("kind") != kind or sorted(o) != sorted(TOP):
        return "kind %s keys %s" % (o.get("kind"), sorted(o)), None
    return None, o["metadata"]["resourceVersion"]

def check_table(text, plural, wide, allowed):
    try:
        cols, rows = parse_table(text)
    except ValueError as e:
        return str(e), None
    if not header_ok(cols, plural, wide):
        return "header %s" % cols, None
    names = [r[0] for r in rows]
    if names != sorted(set(names)) or not set(names) <= allowed:
        return "rows %s" % names, None
    return None, None

def reader(mnt, seconds, seed, out_path):
    ns = os.path.join(mnt, "namespaces/stress")
    claims = {"edit-a", "edit-b"} | {"data-load-%d" % i for i in range(4)}
    pods = {"load-%d" % i for i in range(4)}
    targets = [
        ("yaml", "persistentvolumeclaims/edit-a/manifest.yaml", "PersistentVolumeClaim"),
        ("yaml", "persistentvolumeclaims/edit-b/manifest.yaml", "PersistentVolumeClaim"),
        ("yaml", "statefulsets/load/manifest.yaml", "StatefulSet"),
        ("json", "persistentvolumeclaims/edit-a/object.json", "PersistentVolumeClaim"),
        ("json", "statefulsets/load/object.json", "StatefulSet"),
        ("table", "persistentvolumeclaims/.table", claims),
        ("table", "persistentvolumeclaims/.table-wide", claims),
        ("table", "pods/.table", pods),
        ("table", "pods/.table-wide", pods),
        ("table", "statefulsets/.table", {"load"}),
    ]
    rnd = random.Random(seed)
    res = {"reads": 0, "errors": [], "versions": {}, "gens": []}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        what, rel, arg = rnd.choice(targets)
        chunk = rnd.choice([97, 512, 1024, 4096])  # several read(2)s per file
        try:
            text = read_path(os.path.join(ns, rel), chunk).decode()
        except OSError as e:
            res["errors"].append("%s: %s" % (rel, e))
            continue
        res["reads"] += 1
        if what == "yaml":
            err, rv = check_yaml(text, arg)
            g = re.findall(r'^    gen: "(\d+)"$', text, re.M)
            if g:
                res["gens"].append(int(g[0]))
        elif what == "json":
            err, rv = check_json(text, arg)
        else:
            plural = rel.split("/")[0]
            err, rv = check_table(text, plural, rel.endswith("-wide"), arg)
        if err:
            res["errors"].append("%s (%d-byte reads): %s" % (rel, chunk, err))
        elif rv is not None:
            # one resourceVersion, one content: a read mixing two versions would differ
            h = hashlib.sha1(text.encode()).hexdigest()
            res["versions"].setdefault(rel, {}).setdefault(rv, []).append(h)
            res.setdefault("texts", {}).setdefault(h, text)
    res["versions"] = {k: {rv: sorted(set(hs)) for rv, hs in v.items()} for k, v in res["versions"].items()}
    with open(out_path, "w") as f:
        json.dump(res, f)

def writer(mnt, seconds, out_path):
    ns = os.path.join(mnt, "namespaces/stress")
    n = 0
    errors = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        n += 1
        try:
            with open(os.path.join(ns, "statefulsets/load/replicas"), "w") as f:
                f.write("%d\n" % (1 + n % 4))
            docs = "".join(
                "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: %s\n  namespace: stress\n"
                "  labels:\n    gen: \"%d\"\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n"
                "    requests:\n      storage: 1Gi\n" % (c, n) for c in ("edit-a", "edit-b"))
            with open(os.path.join(mnt, "apply"), "w") as f:
                f.write(docs)
        except OSError as e:
            errors.append(str(e))
    with open(out_path, "w") as f:
        json.dump({"writes": n, "errors": errors}, f)

def cmd_readers(mnt, seconds, tmp):
    seconds = float(seconds)
    pids = []
    for i in range(5):
        pid = os.fork()
        if pid == 0:
            try:
                if i == 4:
                    writer(mnt, seconds, os.path.join(tmp, "writer.json"))
                else:
                    reader(mnt, seconds, i, os.path.join(tmp, "reader%d.json" % i))
            finally:
                os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    w = json.load(open(os.path.join(tmp, "writer.json")))
    rs = [json.load(open(os.path.join(tmp, "reader%d.json" % i))) for i in range(4)]
    check(not w["errors"] and w["writes"] >= 20,
          f"the writer scaled the StatefulSet and edited two claims {w['writes']} times without an error")
    reads = sum(r["reads"] for r in rs)
    errors = [e for r in rs for e in r["errors"]]
    for e in errors[:8]:
        note(e)
    check(not errors and reads >= 200, f"4 readers: {reads} reads of manifest.yaml, object.json and .table, none torn or unparsable")
    merged = {}
    for r in rs:
        for rel, v in r["versions"].items():
            for rv, hs in v.items():
                merged.setdefault(rel, {}).setdefault(rv, set()).update(hs)
    mixed = [(rel, rv) for rel, v in merged.items() for rv, hs in v.items() if len(hs) > 1]
    texts = {}
    for r in rs:
        texts.update(r.get("texts", {}))
    for rel, rv in mixed[:1]:
        a, b = sorted(merged[rel][rv])[:2]
        for ln in list(difflib.unified_diff(texts[a].splitlines(), texts[b].splitlines(), lineterm=""))[:30]:
            note(ln)
    check(not mixed, "every read of one resourceVersion has the same bytes (no read mixes two versions)%s" %
          (": " + str(mixed[:3]) if mixed else ""))
    sts = merged.get("statefulsets/load/manifest.yaml", {})
    claim = merged.get("persistentvolumeclaims/edit-a/manifest.yaml", {})
    check(len(sts) >= 3 and len(claim) >= 3,
          f"the readers saw the files change under them ({len(sts)} versions of the set, {len(claim)} of a claim)")
    gens = [g for r in rs for g in r["gens"]]
    check(gens and max(gens) <= w["writes"], "every claim version read is one the writer wrote")
    print("end")

def cmd_follow(path, until, seconds, out_path):
    """Follows a log through one handle (poll, then read what is new) until a line holds
    `until`; writes every line it read to out_path."""
    fd = os.open(path, os.O_RDONLY)
    read_fd(fd)
    p = select.poll()
    p.register(fd, select.POLLIN)
    got = b""
    end = time.monotonic() + float(seconds)
    open(out_path + ".ready", "w").close()
    while until.encode() not in got and time.monotonic() < end:
        if p.poll(200):
            got += read_fd(fd)
    os.close(fd)
    with open(out_path, "wb") as f:
        f.write(got)

def cmd_stream_size(path, apply_cmd, marker, count):
    """fstat(2) of an open log answers the end of that descriptor's stream, also once the
    log dropped part of its history under it (what tail -f compares with its offset), and
    a read from there returns exactly what is new; stat(2) by path (another process) and a
    fresh open keep answering the kept history's size."""
    fd = os.open(path, os.O_RDONLY)
    pos = len(read_fd(fd))
    check(os.fstat(fd).st_size == pos, f"fstat of an open /events after reading it whole: its size ({pos})")
    subprocess.run(["sh", "-c", apply_cmd], check=True)
    size = os.fstat(fd).st_size
    new = read_fd(fd)
    kept = int(subprocess.run(["stat", "-c", "%s", path], capture_output=True, text=True).stdout)
    whole = read_path(path)
    note(f"read {pos} bytes; after the apply fstat {size}, new {len(new)}, kept history {kept}")
    check(size == pos + len(new) and new.endswith(b"\n"),
          "after a drop, fstat of the open descriptor is its offset plus exactly what a read returns")
    check(new.count(marker.encode()) == int(count), f"... and that read holds all {count} new events")
    check(kept < size, "... which passed the kept history's size (the log dropped its oldest quarter)")
    check(len(whole) == kept, "stat(2) by path from another process and a fresh read agree on the kept history")
    os.close(fd)
    print("end")

def cmd_cpu(*argv):
    """Runs argv; prints 'rc wall cpu' (cpu: user + system seconds of it and its children)."""
    t0 = time.monotonic()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wall = time.monotonic() - t0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    sys.stdout.write(p.stdout.decode())
    print("RESULT %d %.3f %.3f" % (p.returncode, wall, ru.ru_utime + ru.ru_stime))

def cmd_prom_reader(path, seconds):
    """Reads a .prom file over and over while a collector replaces it: every read must be
    a complete exposition (ends with a newline, last family present); prints the number
    of reads and of distinct inodes seen."""
    end = time.monotonic() + float(seconds)
    reads = torn = 0
    inodes = set()
    while time.monotonic() < end:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        inodes.add(os.fstat(fd).st_ino)
        data = read_fd(fd, 512)
        os.close(fd)
        reads += 1
        if not data.endswith(b"\n") or b"claimfs_storageclass_pool_allocated_bytes" not in data:
            torn += 1
        time.sleep(0.005)
    check(reads > 20 and torn == 0, f"{reads} reads of the .prom file while it was replaced: none incomplete")
    check(len(inodes) >= 3, f"the .prom file was replaced by rename, not rewritten in place ({len(inodes)} inodes seen)")
    print("end")

if __name__ == "__main__":
    cmd = sys.argv[1].replace("-", "_")
    globals()["cmd_" + cmd](*sys.argv[2:])
PYEOF

# pychecks ARGS...: runs mon.py ARGS and turns its "ok"/"bad" lines into checks.
pychecks() {
	local line ended=0
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "${line#ok }" ;;
		"bad "*) bad "${line#bad }" ;;
		end) ended=1 ;;
		*) echo "$line" ;;
		esac
	done < <($PY "$MON" "$@" 2>&1)
	[ "$ended" -eq 1 ] || bad "mon.py $1 did not run to its end"
}
now() { date +%s.%N; }
elapsed() { $PY -c 'import sys; print("%.3f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$2"; }
lt() { $PY -c 'import sys; sys.exit(not float(sys.argv[1]) < float(sys.argv[2]))' "$1" "$2"; }
mval() { $PY "$MON" mval "$1" "$2"; }

claim_yaml() { # name [storageClassName]
	printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n' "$1" "${NSNAME:-default}"
	[ $# -ge 2 ] && printf '  storageClassName: "%s"\n' "$2"
	printf '  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n'
}
workload_yaml() { # namespace sts-name replicas
	cat <<Y
apiVersion: v1
kind: Service
metadata:
  name: $2-h
  namespace: $1
spec:
  selector: {app: $2}
  clusterIP: None
  ports:
  - {name: http, port: 80}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: $2
  namespace: $1
spec:
  serviceName: $2-h
  replicas: $3
  selector:
    matchLabels: {app: $2}
  template:
    metadata:
      labels: {app: $2}
    spec:
      containers:
      - name: $2
        image: nginx
        volumeMounts:
        - {name: data, mountPath: /data}
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 1Gi
Y
}
others_yaml() {
	cat <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 1
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: busybox
        volumeMounts:
        - {name: shared, mountPath: /s}
      volumes:
      - name: shared
        persistentVolumeClaim: {claimName: shared}
---
apiVersion: v1
kind: Service
metadata:
  name: api-svc
spec:
  selector: {app: api}
  ports:
  - {port: 8080}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: shared
spec:
  accessModes: [ReadWriteOnce, ReadOnlyMany]
  resources:
    requests:
      storage: 2Gi
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: stuck
spec:
  storageClassName: no-such-class
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data: {a: "1", b: "2"}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: high
value: 1000
Y
}
pv_yaml() { # name
	printf 'apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: %s\nspec:\n  storageClassName: ""\n  capacity: {storage: 1Gi}\n  accessModes: [ReadWriteOnce]\n  hostPath: {path: /srv/%s}\n' "$1" "$1"
}

# --- tools
if ! command -v promtool >/dev/null 2>&1; then
	sh scripts/install-deps.sh >/dev/null 2>&1 || :
fi
check "promtool is installed (Debian package prometheus)" command -v promtool
check "scripts/wait-for-bound is executable" test -x scripts/wait-for-bound
check "scripts/textfile-collector.sh is executable" test -x scripts/textfile-collector.sh
check "wait-for-bound --help documents its usage" sh -c "scripts/wait-for-bound --help | grep -q 'usage: wait-for-bound'"
check "textfile-collector.sh --help documents its usage" sh -c "scripts/textfile-collector.sh --help | grep -q 'textfile-collector.sh \[--once\]'"

promtool_ok() { # description file
	local out rc
	out=$(promtool check metrics <"$2" 2>&1); rc=$?
	if [ "$rc" -eq 0 ] && [ -z "$out" ]; then ok "$1"; else bad "$1 (exit $rc: $(echo "$out" | head -3))"; fi
}

# =======================================================================================
t_mount

# --- /metrics on the bare cluster, then with claims, volumes, a StatefulSet, pods
cat "$MNT/metrics" >"$T_TMP/m0"
promtool_ok "promtool check metrics accepts /metrics of the bare cluster (prints nothing, exits 0)" "$T_TMP/m0"
workload_yaml default web 2 >"$T_TMP/web.yaml"
others_yaml >"$T_TMP/others.yaml"
check "applying a StatefulSet with its headless Service succeeds" sh -c "cat '$T_TMP/web.yaml' > '$MNT/apply'"
check "applying a Deployment, a Service, claims, a ConfigMap, a PriorityClass succeeds" sh -c "cat '$T_TMP/others.yaml' > '$MNT/apply'"
claim_yaml static1 "" >"$T_TMP/static1.yaml"
check "applying a claim without a class (stays Pending) succeeds" cp "$T_TMP/static1.yaml" "$C/static1.yaml"
same "$(cat "$C/static1/phase" 2>/dev/null)" Pending "static1 is Pending"
same "$(cat "$S/web/readyReplicas" 2>/dev/null)" 2 "the StatefulSet has 2 ready pods"
cat "$MNT/metrics" >"$T_TMP/m1"
promtool_ok "promtool accepts /metrics with claims, volumes, a StatefulSet and pods" "$T_TMP/m1"
pychecks families "$T_TMP/m1"
same "$(mval "$T_TMP/m1" 'kube_persistentvolumeclaim_resource_requests_storage_bytes{namespace="default",persistentvolumeclaim="shared"}')" 2.147483648e+09 "bytes are Prometheus floats (2Gi = 2.147483648e+09)"
pv=$(cat "$C/shared/volumeName" 2>/dev/null)
same "$(mval "$T_TMP/m1" "kube_persistentvolume_claim_ref{persistentvolume=\"$pv\",claim_namespace=\"default\",name=\"shared\"}")" 1 "kube_persistentvolume_claim_ref names the claim of shared's volume"
same "$(mval "$T_TMP/m1" 'kube_pod_spec_volumes_persistentvolumeclaims_info{namespace="default",pod="web-0",uid="'"$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["uid"])' "$NS/pods/web-0/object.json")"'",volume="data",persistentvolumeclaim="data-web-0",ephemeral="false"}')" 1 "kube_pod_spec_volumes_persistentvolumeclaims_info links web-0 to data-web-0"
same "$(mval "$T_TMP/m1" 'kube_persistentvolumeclaim_status_phase{namespace="default",persistentvolumeclaim="static1",phase="Pending"}')" 1 "static1's Pending series is 1"
same "$(mval "$T_TMP/m1" 'kube_persistentvolumeclaim_status_phase{namespace="default",persistentvolumeclaim="static1",phase="Bound"}')" 0 "static1's Bound series is 0"
same "$(mval "$T_TMP/m1" 'kube_statefulset_replicas{namespace="default",statefulset="web"}')" 2 "kube_statefulset_replicas is 2"
alloc1=$(mval "$T_TMP/m1" 'claimfs_storageclass_pool_allocated_bytes{storageclass="standard"}')

# --- mtimes: a phase change moves what shows it, and only that
pv_yaml pv-static >"$T_TMP/pv-static.yaml"
cat "$C/static1/phase" "$C/.table" "$MNT/metrics" >/dev/null
pychecks mtime moves "cat '$T_TMP/pv-static.yaml' > '$MNT/apply'" \
	"$C/static1/phase" "$C/static1/manifest.yaml" "$C/.table" "$C/.table-wide" "$MNT/metrics" \
	"$MNT/persistentvolumes" "$MNT/persistentvolumes/.table" "$C"
same "$(cat "$C/static1/phase" 2>/dev/null)" Bound "static1 bound to the new volume"
cat "$MNT/metrics" >"$T_TMP/m2"
same "$(mval "$T_TMP/m2" 'kube_persistentvolumeclaim_status_phase{namespace="default",persistentvolumeclaim="static1",phase="Bound"}')" 1 "after binding, static1's Bound series flipped to 1"
same "$(mval "$T_TMP/m2" 'kube_persistentvolumeclaim_status_phase{namespace="default",persistentvolumeclaim="static1",phase="Pending"}')" 0 "after binding, static1's Pending series is 0"
same "$(mval "$T_TMP/m2" 'kube_persistentvolume_status_phase{persistentvolume="pv-static",phase="Bound"}')" 1 "pv-static's Bound series is 1"
label_node='printf "apiVersion: v1\nkind: Node\nmetadata:\n  name: node-1\n  labels:\n    tick: \"$(date +%N)\"\n" > '"'$MNT/apply'"
pychecks mtime stays "$label_node" \
	"$C/static1/phase" "$C/static1/manifest.yaml" "$C/shared/phase" "$C/.table" "$C/.table-wide" "$C" \
	"$MNT/metrics" "$MNT/persistentvolumes" "$MNT/persistentvolumes/.table" "$S/.table" "$S" \
	"$MNT/storageclasses/.table" "$C/static1/events" "$MNT/events"
pychecks mtime moves "$label_node" "$MNT/nodes/node-1/manifest.yaml" "$MNT/nodes"
check "scaling web to 3 succeeds" sh -c "echo 3 > '$S/web/replicas'"
cat "$MNT/metrics" >"$T_TMP/m3"
promtool_ok "promtool accepts /metrics after scaling" "$T_TMP/m3"
same "$(mval "$T_TMP/m3" 'kube_statefulset_replicas{namespace="default",statefulset="web"}')" 3 "kube_statefulset_replicas follows the scale to 3"
same "$(mval "$T_TMP/m3" 'kube_statefulset_status_replicas_ready{namespace="default",statefulset="web"}')" 3 "kube_statefulset_status_replicas_ready is 3"
same "$(mval "$T_TMP/m3" 'kube_persistentvolumeclaim_status_phase{namespace="default",persistentvolumeclaim="data-web-2",phase="Bound"}')" 1 "the new ordinal's claim has its Bound series at 1"
check "the pool's allocated bytes grew with the new claim ($alloc1 -> $(mval "$T_TMP/m3" 'claimfs_storageclass_pool_allocated_bytes{storageclass="standard"}'))" \
	lt "$alloc1" "$(mval "$T_TMP/m3" 'claimfs_storageclass_pool_allocated_bytes{storageclass="standard"}')"
check "scaling web back to 2 succeeds" sh -c "echo 2 > '$S/web/replicas'"

# --- tables
pychecks tables "$MNT"
pychecks age_ticks "$C/.table" shared 2.2
pychecks table_cells "$MNT"

# --- st_size of every file of the tree
pychecks sizes "$MNT" 150

# --- tail -f and poll(2)
tail -f "$MNT/events" >"$T_TMP/tail.out" 2>/dev/null &
tpid=$!
sleep 1.3 # tail has read the file and sleeps: GNU tail re-checks a FUSE file once a second
claim_yaml tailme >"$T_TMP/tailme.yaml"
t0=$(now)
cp "$T_TMP/tailme.yaml" "$C/tailme.yaml"
for _ in $(seq 1 40); do grep -q 'claims/tailme\|persistentvolumeclaims/tailme' "$T_TMP/tail.out" && break; sleep 0.025; done
t1=$(now)
kill "$tpid" 2>/dev/null; wait "$tpid" 2>/dev/null
check "tail -f /events shows the new claim's event within a second ($(elapsed "$t0" "$t1") s; tail's own interval on FUSE is 1 s)" \
	sh -c "grep -q 'persistentvolumeclaims/tailme' '$T_TMP/tail.out' && $PY -c 'import sys; sys.exit(not float(sys.argv[1]) < 1.15)' $(elapsed "$t0" "$t1")"
tail -f -s 0.1 "$S/web/events" >"$T_TMP/tail2.out" 2>/dev/null &
tpid=$!
sleep 0.5
before=$(wc -l <"$T_TMP/tail2.out")
t0=$(now)
echo 3 >"$S/web/replicas"
for _ in $(seq 1 40); do [ "$(wc -l <"$T_TMP/tail2.out")" -gt "$before" ] && break; sleep 0.025; done
t1=$(now)
kill "$tpid" 2>/dev/null; wait "$tpid" 2>/dev/null
check "tail -f -s 0.1 on a StatefulSet's events file shows its new event at once ($(elapsed "$t0" "$t1") s)" \
	sh -c "tail -n +$((before + 1)) '$T_TMP/tail2.out' | grep -q 'statefulsets/web .*web-2' && $PY -c 'import sys; sys.exit(not float(sys.argv[1]) < 0.5)' $(elapsed "$t0" "$t1")"
check "a StatefulSet's events file only holds its own events" sh -c "! grep -v ' namespaces/default/statefulsets/web ' '$S/web/events'"
claim_yaml polled >"$T_TMP/polled.yaml"
pychecks pollwake "$MNT/events" "" "cat '$T_TMP/polled.yaml' > '$MNT/apply'"
pychecks pollwake "$S/web/events" " namespaces/default/statefulsets/web " "echo 4 > '$S/web/replicas'"
claim_yaml quiet >"$T_TMP/quiet.yaml"
pychecks pollquiet "$S/web/events" "cat '$T_TMP/quiet.yaml' > '$MNT/apply'"
claim_yaml twice >"$T_TMP/twice.yaml"
pychecks twohandles "$MNT/events" "cat '$T_TMP/twice.yaml' > '$MNT/apply'"
check "scaling web back to 2 succeeds" sh -c "echo 2 > '$S/web/replicas'"

# --- four readers and a writer
check "mkdir namespaces/stress succeeds" mkdir "$MNT/namespaces/stress"
workload_yaml stress load 2 >"$T_TMP/load.yaml"
printf -- '---\n' >"$T_TMP/edits.yaml"
NSNAME=stress claim_yaml edit-a >>"$T_TMP/edits.yaml"
printf -- '---\n' >>"$T_TMP/edits.yaml"
NSNAME=stress claim_yaml edit-b >>"$T_TMP/edits.yaml"
check "applying the stress workload succeeds" sh -c "cat '$T_TMP/load.yaml' '$T_TMP/edits.yaml' > '$MNT/apply'"
mkdir -p "$T_TMP/rw"
pychecks readers "$MNT" 4 "$T_TMP/rw"

# --- the textfile collector
mkdir -p "$T_TMP/textfile"
scripts/textfile-collector.sh --interval 0.1 "$MNT" "$T_TMP/textfile" 2>"$T_TMP/collector.err" &
cpid=$!
sleep 0.3
pychecks prom_reader "$T_TMP/textfile/claimfs.prom" 2
kill "$cpid"; wait "$cpid"; rc=$?
same "$rc" 0 "the collector stops cleanly on SIGTERM"
check "the collector reported no error" test ! -s "$T_TMP/collector.err"
same "$(ls -A "$T_TMP/textfile" | tr '\n' ' ')" "claimfs.prom " "only claimfs.prom is left (no temporary file)"
promtool_ok "promtool accepts the collected claimfs.prom" "$T_TMP/textfile/claimfs.prom"
check "claimfs.prom is what /metrics shows" cmp -s "$T_TMP/textfile/claimfs.prom" "$MNT/metrics"
check "--once copies once and exits 0" scripts/textfile-collector.sh --once --check "$MNT" "$T_TMP/textfile"

# --- the bounded history: 18,000 more events overflow the 10,000 kept; followers go on.
# Four applies of 1,500 claims (4,500 events each, fewer than the 7,500 a drop keeps), so
# a follower that keeps up between them loses nothing.
$PY -c '
import sys
for p in "abcd":
    with open(sys.argv[1] + "/bulk-" + p + ".yaml", "w") as f:
        for i in range(1500):
            f.write("---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: bulk-%s%04d\n"
                    "spec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Mi\n" % (p, i))
' "$T_TMP"
claim_yaml zz-last >"$T_TMP/zz-last.yaml"
total0=$(mval "$MNT/metrics" claimfs_events_total)
tail -f "$MNT/events" >"$T_TMP/tailbig.out" 2>"$T_TMP/tailbig.err" &
tpid=$!
$PY "$MON" follow "$MNT/events" "persistentvolumeclaims/zz-last " 20 "$T_TMP/follow.out" &
fpid=$!
for _ in $(seq 1 100); do [ -e "$T_TMP/follow.out.ready" ] && break; sleep 0.05; done
sleep 1.1
for p in a b c d; do
	check "applying 1,500 claims (bulk-$p) succeeds" sh -c "cat '$T_TMP/bulk-$p.yaml' > '$MNT/apply'"
	sleep 1.1 # tail looks once a second
done
check "applying one more claim succeeds" cp "$T_TMP/zz-last.yaml" "$C/zz-last.yaml"
for _ in $(seq 1 60); do grep -q 'persistentvolumeclaims/zz-last ' "$T_TMP/tailbig.out" && break; sleep 0.05; done
wait "$fpid"
kill "$tpid" 2>/dev/null; wait "$tpid" 2>/dev/null
total1=$(mval "$MNT/metrics" claimfs_events_total)
kept=$(wc -l <"$MNT/events")
check "/events keeps at most 10,000 events and at least 7,500 after dropping a quarter ($kept kept of $total1)" \
	sh -c "[ '$kept' -le 10000 ] && [ '$kept' -ge 7500 ] && [ '$total1' -gt 10000 ]"
check "the oldest events are gone from /events" sh -c "! grep -q 'persistentvolumeclaims/bulk-a0000 ' '$MNT/events'"
check "the newest are there" grep -q 'persistentvolumeclaims/zz-last ' "$MNT/events"
same "$(wc -l <"$C/bulk-d1499/events")" 3 "an object's events file shows its kept events (bulk-d1499: 3)"
same "$(cat "$C/bulk-a0000/events")" "" "an object whose events were dropped has an empty events file"
n=$(wc -l <"$T_TMP/follow.out")
same "$n" "$((total1 - total0))" "a poll(2) follower read every event across the drops ($n lines; claimfs_events_total went $total0 -> $total1)"
same "$(sort "$T_TMP/follow.out" | uniq -d | wc -l)" 0 "... none of them twice"
check "tail -f /events still shows new events after the log dropped its oldest quarter" grep -q 'persistentvolumeclaims/zz-last ' "$T_TMP/tailbig.out"
# fstat of tail's descriptor answers the end of its own stream, not the kept history's
# size: tail sees no truncation at a drop and lags behind nothing (it used to say "file
# truncated" and read the history again, or stop short by what was dropped).
for p in a b c d; do
	same "$(grep -c " namespaces/default/persistentvolumeclaims/bulk-$p" "$T_TMP/tailbig.out")" 4500 "tail -f showed each of the 4,500 events of bulk-$p once across the drops"
done
same "$(sort "$T_TMP/tailbig.out" | uniq -d | wc -l)" 0 "... and no line twice"
check "tail never took a drop for a truncation" sh -c "! grep -q truncated '$T_TMP/tailbig.err'"
sed 's/bulk-a/bulk-e/' "$T_TMP/bulk-a.yaml" >"$T_TMP/bulk-e.yaml"
pychecks stream_size "$MNT/events" "cat '$T_TMP/bulk-e.yaml' > '$MNT/apply'" ' namespaces/default/persistentvolumeclaims/bulk-e' 4500
t_umount

# =======================================================================================
# Simulated provisioning time: wait-for-bound must sleep in poll(2) until the claim binds.
rm -rf "$STATE"
t_mount --provision-delay 1s
claim_yaml wfb1 >"$T_TMP/wfb1.yaml"
t0=$(now)
cp "$T_TMP/wfb1.yaml" "$C/wfb1.yaml"
same "$(cat "$C/wfb1/phase" 2>/dev/null)" Pending "with --provision-delay 1s the claim starts Pending"
$PY "$MON" cpu scripts/wait-for-bound --mount "$MNT" --timeout 10 wfb1 >"$T_TMP/wfb.out" 2>&1
t1=$(now)
read -r _ rc wall cpu < <(grep '^RESULT' "$T_TMP/wfb.out")
same "${rc:-}" 0 "wait-for-bound exits 0 once the claim is Bound"
check "it prints the claim and its volume" grep -q "^default/wfb1 Bound pvc-" "$T_TMP/wfb.out"
same "$(cat "$C/wfb1/phase" 2>/dev/null)" Bound "the claim is Bound when it returns"
dt=$(elapsed "$t0" "$t1")
check "it returned $dt s after the claim was written (within 1.5 s, and not before the 1 s provisioning)" \
	$PY -c 'import sys; sys.exit(not 0.9 <= float(sys.argv[1]) <= 1.5)' "$dt"
check "it used ${cpu:-?} s of CPU in ${wall:-?} s: it slept in poll(2) (a busy loop burns the whole wait)" \
	$PY -c 'import sys; c, w = map(float, sys.argv[1:]); sys.exit(not (c < 0.5 and c < w / 2))' "${cpu:-9}" "${wall:-1}"

# waiting for a claim that does not exist yet
claim_yaml wfb2 >"$T_TMP/wfb2.yaml"
scripts/wait-for-bound -m "$MNT" -t 10 -q wfb2 >"$T_TMP/wfb2.out" 2>&1 &
wpid=$!
sleep 0.5
t0=$(now)
cp "$T_TMP/wfb2.yaml" "$C/wfb2.yaml"
wait "$wpid"; rc=$?
t1=$(now)
same "$rc" 0 "wait-for-bound started before the claim existed exits 0"
check "-q prints nothing" test ! -s "$T_TMP/wfb2.out"
check "it returned $(elapsed "$t0" "$t1") s after the claim was written (within 1.5 s)" lt "$(elapsed "$t0" "$t1")" 1.5

# its poll(2) calls, seen by strace: a few blocking waits, not a spin
if command -v strace >/dev/null 2>&1 && strace -f -o /dev/null true 2>/dev/null; then
	claim_yaml wfb3 >"$T_TMP/wfb3.yaml"
	strace -f -e trace=poll,ppoll -o "$T_TMP/strace.out" scripts/wait-for-bound -m "$MNT" -t 20 -q wfb3 &
	wpid=$!
	# wait until it blocks in poll on /events (the claim does not exist yet), then create it
	for _ in $(seq 1 600); do grep -qE 'p?poll\(' "$T_TMP/strace.out" 2>/dev/null && break; sleep 0.05; done
	cp "$T_TMP/wfb3.yaml" "$C/wfb3.yaml"
	wait "$wpid"
	rc=$?
	n=$(grep -cE '(^|[0-9] +)p?poll\(' "$T_TMP/strace.out")
	same "$rc" 0 "under strace, wait-for-bound exits 0"
	why=
	[ "$n" -ge 1 ] || why=" [strace.out ends: $(grep -v -e SIGCHLD -e '+++ exited' "$T_TMP/strace.out" | tail -3 | tr '\n' '|')]"
	check "strace shows $n poll calls, each a blocking wait (on /events, then on the claim's files: <= 5, none with timeout 0)$why" \
		sh -c "[ '$n' -ge 1 ] && [ '$n' -le 5 ] && ! grep -E 'p?poll\(.*, 0\) ' '$T_TMP/strace.out' | grep -q ."
else
	echo "  (strace not usable here: the poll(2) count check is skipped; the CPU check stands)"
fi

# a claim that never binds: timeout, exit 1, a message
printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: never\nspec:\n  storageClassName: nope\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n' >"$C/never.yaml"
t0=$(now)
scripts/wait-for-bound -m "$MNT" -t 1s never >"$T_TMP/never.out" 2>&1
rc=$?
t1=$(now)
same "$rc" 1 "wait-for-bound on a claim that never binds exits 1"
check "it says it timed out and the claim is Pending" grep -q "wait-for-bound: timed out after 1s: claim default/never is Pending" "$T_TMP/never.out"
check "after its timeout ($(elapsed "$t0" "$t1") s)" $PY -c 'import sys; sys.exit(not 1.0 <= float(sys.argv[1]) < 2.0)' "$(elapsed "$t0" "$t1")"
scripts/wait-for-bound -m "$T_TMP" nothing >"$T_TMP/notmnt.out" 2>&1
same "$?" 2 "wait-for-bound on a directory that is not a mount exits 2"

# poll(2) wakes for events made by the timer thread too (the delayed provisioning)
claim_yaml timed >"$T_TMP/timed.yaml"
t0=$(now)
cp "$T_TMP/timed.yaml" "$C/timed.yaml"
pychecks pollfor "$MNT/events" "ProvisioningSucceeded namespaces/default/persistentvolumeclaims/timed" 3
t1=$(now)
check "the timer's event woke the poller $(elapsed "$t0" "$t1") s after the claim was written (1 s provisioning, < 1.5 s)" lt "$(elapsed "$t0" "$t1")" 1.5
claim_yaml timed2 >"$T_TMP/timed2.yaml"
t0=$(now)
cp "$T_TMP/timed2.yaml" "$C/timed2.yaml"
pychecks pollfor "$C/timed2/events" "ProvisioningSucceeded namespaces/default/persistentvolumeclaims/timed2" 3
t1=$(now)
check "on the claim's own events file too ($(elapsed "$t0" "$t1") s after it was written)" lt "$(elapsed "$t0" "$t1")" 1.5
t_umount
t_report
