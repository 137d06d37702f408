#!/usr/bin/env python3
"""run.py - runs every figure of the benchmark against built binaries (scripts/bench.sh
builds them and calls this), prints a table of figures and ratios against the targets of
issue 6, and writes it as JSON for comparison across commits.

It is a benchmark, not a test: a slow figure never fails it. A section that cannot run
(a missing tool, a daemon that does not mount) is reported as an error in the table and
the JSON, and the others still run; the exit status is 1 only when nothing could run.

Environment (defaults are the issue's sizes):
  BENCH_CLAIMS=10000    claims per bulk stream, and in the tree that ls/cat/find walk
  BENCH_TOTAL=100000    claims for the memory and mount figures; the second bulk rate is
                        taken at BENCH_TOTAL - BENCH_CLAIMS existing claims (90,000)
  BENCH_REPLICAS=1000   StatefulSet scale-up
  BENCH_WRITES=200      single-claim writes per writer figure (eight writers: the same
                        number per writer)
  BENCH_WARMUP_MS=150   each writer process's untimed warm-up before its timed writes
                        (tests/bench/writer.c: a new writer is slower at first)
  BENCH_RUNS=5          rounds of each warm figure and of the writers, up to 3 of each
                        cold one (medians are reported; claimfs, tmpfs and the floors
                        take turns in a round, so do one writer and eight)
  BENCH_JSON=bench.json where the JSON goes
  BENCH_DIR             work directory (default: a new one under $TMPDIR or /tmp); the
                        state directories live there, so it says which disk is measured
  BENCH_ONLY            comma-separated sections to run: apply (bulk rates, memory,
                        mount), write, tree (ls, cat, find), sts, volume (sequential
                        I/O in a volume, scripts/bench/volume_io.sh); default all
  BENCH_VOLUME_MB=256   MiB per sequential volume I/O figure
  BENCH_KEEP=1          keep the work directory
Binaries: CLAIMFS, FLOOR, WRITER (paths; bench.sh sets them).
"""
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def env_int(name, default):
    try:
        v = int(os.environ.get(name, default))
        return v if v > 0 else default
    except ValueError:
        return default


CLAIMS = env_int("BENCH_CLAIMS", 10000)
TOTAL = max(env_int("BENCH_TOTAL", 100000), 2 * CLAIMS)
REPLICAS = env_int("BENCH_REPLICAS", 1000)
WRITES = env_int("BENCH_WRITES", 200)
WARMUP_MS = env_int("BENCH_WARMUP_MS", 150)
RUNS = env_int("BENCH_RUNS", 5)
JSON_OUT = os.environ.get("BENCH_JSON", "bench.json")
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
CLAIMFS = os.path.abspath(os.environ.get("CLAIMFS", os.path.join(ROOT, "build-bench/claimfs")))
FLOOR = os.path.abspath(os.environ.get("FLOOR", os.path.join(ROOT, "build-bench/floor")))
WRITER = os.path.abspath(os.environ.get("WRITER", os.path.join(ROOT, "build-bench/writer")))
GEN = os.path.join(HERE, "gen.py")
PVC = "namespaces/default/persistentvolumeclaims"
CLUSTER_IDLE_S = 1.0  # CLUSTER_IDLE_MS of include/claimfs/cluster.h

figures = []  # every figure, in the order measured
errors = []   # (section, message)
daemons = []  # live Daemon objects, for cleanup
tmpfs_mounts = []  # tmpfs mounted for the benchmark (unmounted at the end)
shm_dirs = []      # directories made in /dev/shm instead (removed at the end)


def log(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


def figure(key, label, value, unit, target=None, op=None, note="", base=None):
    """Records a figure. target/op: the issue's target ('>=' or '<='); base: for ratios,
    the figures they are taken against (for the JSON)."""
    f = {"key": key, "label": label, "value": value, "unit": unit}
    if target is not None:
        f["target"] = target
        f["op"] = op
        f["met"] = bool(value >= target) if op == ">=" else bool(value <= target)
        # x of target: > 1 is better than the target for >=, < 1 better for <=
        f["of_target"] = value / target if target else None
    if note:
        f["note"] = note
    if base:
        f["base"] = base
    figures.append(f)
    log("%-44s %s %s" % (label, fmt(value), unit))
    return f


def fmt(v):
    if isinstance(v, int):
        return "{:,}".format(v)
    if v >= 1000:
        return "{:,.0f}".format(v)
    if v >= 100:
        return "%.1f" % v
    if v >= 10:
        return "%.2f" % v
    return "%.3f" % v


# ---------------------------------------------------------------- processes and mounts

def is_mounted(path):
    try:
        return os.stat(path).st_dev != os.stat(os.path.dirname(path.rstrip("/"))).st_dev
    except OSError:
        return False


def unmount(path):
    for args in (["fusermount3", "-u", path], ["fusermount3", "-uz", path]):
        if subprocess.call(args, stderr=subprocess.DEVNULL) == 0:
            return True
    return False


class Daemon:
    """A FUSE server in the foreground (claimfs or the floor), mounted at mnt."""

    def __init__(self, argv, mnt, logpath):
        self.argv, self.mnt, self.logpath = argv, mnt, logpath
        self.proc = None
        self.mount_s = None

    def start(self, timeout=120):
        os.makedirs(self.mnt, exist_ok=True)
        logf = open(self.logpath, "ab")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(self.argv, stdout=logf, stderr=logf,
                                     stdin=subprocess.DEVNULL)
        logf.close()
        daemons.append(self)
        while time.perf_counter() - t0 < timeout:
            if is_mounted(self.mnt):
                self.mount_s = time.perf_counter() - t0
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.001)
        tail = open(self.logpath, errors="replace").read()[-600:]
        raise RuntimeError("%s did not mount %s: %s" % (os.path.basename(self.argv[0]),
                                                         self.mnt, tail.strip()))

    def rss_bytes(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def cpu_s(self):
        """The daemon's CPU time so far (user + system), seconds."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self, timeout=60):
        if not self.proc:
            return
        unmount(self.mnt)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # our own child, by its pid
            self.proc.wait()
            unmount(self.mnt)
        if self in daemons:
            daemons.remove(self)
        self.proc = None


def claimfs(state, mnt, logpath, cluster_file):
    return Daemon([CLAIMFS, "-f", "--state", state, "--cluster", cluster_file, mnt],
                  mnt, logpath)


def raise_nofile():
    """The daemon keeps descriptors per volume data/ directory the kernel knows of (two per
    PV in this version): a walk of 10,000 PVs needs more than the usual 1,024 or 20,000.
    Raise the limit the daemons inherit as far as we may; returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for want in (1 << 20, hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want) if want > hard else (want, hard))
            return want
        except (ValueError, OSError):
            continue
    return soft


def loadavg():
    try:
        return float(open("/proc/loadavg").read().split()[0])
    except (OSError, ValueError):
        return None


def can_drop_caches():
    return os.access("/proc/sys/vm/drop_caches", os.W_OK)


def drop_caches():
    """Cold caches: the page, dentry and inode caches of every filesystem."""
    os.sync()
    if can_drop_caches():
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")


failures = {}  # command -> messages of its failed runs (a figure taken anyway)


def shell_time(cmd, cwd):
    """Seconds that cmd takes in bash, measured inside the shell (no fork/exec of the
    timing shell itself). A failing command is timed all the same; its first error
    lines are kept in failures (the figure then notes it)."""
    script = ('s=$EPOCHREALTIME; { %s ; } >/dev/null 2>"$BENCH_ERR"; rc=$?; e=$EPOCHREALTIME; '
              'echo "$s $e $rc"') % cmd
    errf = tempfile.NamedTemporaryFile(prefix="claimfs-bench-err.")
    env = dict(os.environ, BENCH_ERR=errf.name)
    out = subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True,
                         check=True, env=env).stdout.split()
    if out[2] != "0":
        lines = open(errf.name, errors="replace").read().splitlines()
        failures.setdefault(cmd, []).append("exit %s, %d error lines, first: %s"
                                            % (out[2], len(lines), lines[0] if lines else ""))
    errf.close()
    return float(out[1]) - float(out[0])


def median_time(cmd, cwd, runs=RUNS):
    shell_time(cmd, cwd)  # warm-up
    return statistics.median(shell_time(cmd, cwd) for _ in range(runs))


def apply_stream(mnt, data):
    """Writes a manifest stream to /apply as cp would (open, write, close); the close
    returns once the stream is applied, settled and durable. Seconds."""
    t0 = time.perf_counter()
    fd = os.open(os.path.join(mnt, "apply"), os.O_WRONLY | os.O_TRUNC)
    view = memoryview(data)
    while view:
        n = os.write(fd, view[:1 << 20])
        view = view[n:]
    os.close(fd)
    return time.perf_counter() - t0


def machine_cpu():
    """/proc/stat's cpu line: (busy, idle + iowait, steal) in clock ticks."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6], v[3] + v[4], v[7] if len(v) > 7 else 0


def gen(*args):
    return subprocess.run([sys.executable, GEN] + [str(a) for a in args], check=True,
                          capture_output=True).stdout


def read(path):
    with open(path) as f:
        return f.read().strip()


def dir_bytes(path):
    total = 0
    for name in os.listdir(path):
        p = os.path.join(path, name)
        if os.path.isfile(p):
            total += os.path.getsize(p)
    return total


def rss_at_rest(d, limit=30.0):
    """The daemon's VmRSS once it stops falling: the timer thread makes objects cold
    once nothing has used the cluster for CLUSTER_IDLE_MS (cluster.h: 1 s), so the watch
    starts after that. Returns (bytes, seconds)."""
    t0 = time.perf_counter()
    time.sleep(CLUSTER_IDLE_S + 0.3)
    last, still = d.rss_bytes(), 0
    while time.perf_counter() - t0 < limit and still < 5:
        time.sleep(0.2)
        r = d.rss_bytes()
        still = still + 1 if r >= last - (1 << 20) else 0
        last = min(last, r)
    return d.rss_bytes(), time.perf_counter() - t0


# ---------------------------------------------------------------- sections

def section_apply(work, cluster_file):
    """Bulk apply at 0 and at TOTAL-CLAIMS claims, memory per claim at TOTAL, mount."""
    state, mnt, logp = (os.path.join(work, "big-state"), os.path.join(work, "big-mnt"),
                        os.path.join(work, "big.log"))
    d = claimfs(state, mnt, logp, cluster_file).start()
    time.sleep(0.2)
    rss0 = d.rss_bytes()
    # each stream: its size, its time, and what the time went to (the daemon's CPU, the
    # machine's share busy, stolen ticks)
    streams = []
    t_start = time.perf_counter()
    n = 0
    while n < TOTAL:
        count = min(CLAIMS, TOTAL - n)
        data = gen("claims", "c", n, count)
        c0, m0, at = d.cpu_s(), machine_cpu(), time.perf_counter() - t_start
        s = apply_stream(mnt, data)
        c1, m1 = d.cpu_s(), machine_cpu()
        ticks = [b - a for a, b in zip(m0, m1)]
        streams.append({"existing": n, "claims": count, "seconds": s, "at_s": round(at, 3),
                        "daemon_cpu_s": round(c1 - c0, 3),
                        "machine_busy": round(ticks[0] / max(1, ticks[0] + ticks[1]), 3),
                        "steal_ticks": ticks[2]})
        n += count
    held = sum(1 for name in os.listdir(os.path.join(mnt, PVC)) if not name.startswith("."))
    if held != TOTAL:
        raise RuntimeError("the cluster holds %d claims, not %d" % (held, TOTAL))
    for name in ("c-%06d" % 0, "c-%06d" % (TOTAL - 1)):
        if read(os.path.join(mnt, PVC, name, "phase")) != "Bound":
            raise RuntimeError("claim %s is not Bound" % name)
    c0, s0 = streams[0]["claims"], streams[0]["seconds"]
    nb, cb, sb = streams[-1]["existing"], streams[-1]["claims"], streams[-1]["seconds"]
    r0, rb = c0 / s0, cb / sb
    figure("apply_rate_0", "bulk apply, cluster of 0 (claims/s)", r0, "claims/s", 20000,
           ">=", "one stream of %d claims to /apply, durable" % c0)
    figure("apply_rate_base", "bulk apply, cluster of %s (claims/s)" % fmt(nb), rb,
           "claims/s", 20000, ">=", "the stream that brings the cluster to %s" % fmt(TOTAL))
    figure("apply_cost_ratio", "cost per claim at %s / at 0" % fmt(nb), (sb / cb) / (s0 / c0),
           "x", 1.25, "<=")
    rss_burst = d.rss_bytes()
    rss1, rest_s = rss_at_rest(d)
    figure("rss_per_claim", "memory per claim+PV at %s (bytes)" % fmt(TOTAL),
           (rss1 - rss0) / TOTAL, "B", 4096, "<=",
           "daemon VmRSS %.0f MiB before, %.0f MiB at rest (%.1f s after the last stream: "
           "objects made cold once idle)" % (rss0 / 2**20, rss1 / 2**20, rest_s))
    figure("rss_per_claim_burst", "memory per claim+PV right after the last stream (bytes)",
           (rss_burst - rss0) / TOTAL, "B",
           note="daemon VmRSS %.0f MiB: every object of the burst still decoded" %
           (rss_burst / 2**20))
    d.stop()
    disk = dir_bytes(state)
    figure("state_bytes_per_claim", "state on disk per claim+PV (bytes)", disk / TOTAL, "B",
           note="snapshot + journal, %.0f MiB" % (disk / 2**20))

    # mount time: exec until the mount point answers; cold (caches dropped) and warm
    drop_caches()
    d = claimfs(state, mnt, logp, cluster_file).start()
    cold = d.mount_s
    d.stop()
    d = claimfs(state, mnt, logp, cluster_file).start()
    warm = d.mount_s
    os.stat(os.path.join(mnt, "README"))
    rss_loaded, _ = rss_at_rest(d)
    d.stop()
    figure("mount_s", "mount of %s claims (s)" % fmt(TOTAL), warm, "s", 2.0, "<=",
           "exec to mount point answering, state files in the page cache")
    figure("mount_cold_s", "mount of %s claims, caches dropped (s)" % fmt(TOTAL), cold, "s",
           note="" if can_drop_caches() else "drop_caches not writable: same as warm")
    figure("rss_per_claim_loaded", "memory per claim+PV after a mount (bytes)",
           (rss_loaded - rss0) / TOTAL, "B",
           note="daemon VmRSS %.0f MiB after loading the state, at rest" % (rss_loaded / 2**20))
    return {"streams": streams}


def section_write(work, cluster_file):
    """Durable single-claim writes: one writer, eight writers; fdatasync on the same disk."""
    state, mnt, logp = (os.path.join(work, "write-state"), os.path.join(work, "write-mnt"),
                        os.path.join(work, "write.log"))
    d = claimfs(state, mnt, logp, cluster_file).start()
    target = os.path.join(mnt, PVC)

    def writer(mode, where, prefix, count, threads, warm_ms=WARMUP_MS):
        out = subprocess.run([WRITER, mode, where, prefix, str(count), str(threads),
                              str(warm_ms)], capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(out.stderr.strip() or "writer failed")
        return json.loads(out.stdout)

    # the disk floor is taken before and after the claims (the better of the two: the
    # disk of a shared machine is noisy)
    fdir = os.path.join(work, "fsync")
    os.makedirs(fdir, exist_ok=True)
    f1a = writer("fsync", fdir, "f", WRITES, 1)
    f8a = writer("fsync", fdir, "f", WRITES * 8, 8)
    writer("claim", target, "warm", 20, 1, 0)
    # a new writer's first claims, as a cp (a new process) writes them: no warm-up
    cold = writer("claim", target, "cold", WRITES, 1, 0)
    # one writer and eight take turns, RUNS rounds: the disk's latency drifts over a run,
    # and the ratio should compare the two at the same moments (medians of the rounds);
    # each writer process warms up for WARMUP_MS first (writer.c), so that both rates
    # are steady ones
    ones, eights = [], []
    for r in range(RUNS):
        ones.append(writer("claim", target, "one%d" % r, WRITES, 1))
        eights.append(writer("claim", target, "eight%d" % r, WRITES * 8, 8))
    one = sorted(ones, key=lambda x: x["ops_per_s"])[len(ones) // 2]
    eight = sorted(eights, key=lambda x: x["ops_per_s"])[len(eights) // 2]
    d.stop()
    f1b = writer("fsync", fdir, "f", WRITES, 1)
    f8b = writer("fsync", fdir, "f", WRITES * 8, 8)
    f1 = min(f1a, f1b, key=lambda r: r["lat_ms"]["median"])
    f8 = max(f8a, f8b, key=lambda r: r["ops_per_s"])
    figure("write_latency_ms", "durable claim write, one writer (ms)", one["lat_ms"]["median"],
           "ms", 2.0, "<=", "median of %d (the median round of %d); mean %.3f, p99 %.3f ms"
           % (one["ops"], RUNS, one["lat_ms"]["mean"], one["lat_ms"]["p99"]))
    figure("write_latency_cold_ms", "durable claim write, a new writer (ms, mean)",
           cold["lat_ms"]["mean"], "ms", 2.0, "<=",
           "the first %d claims of a writer process, no warm-up; median %.3f, p99 %.3f ms, "
           "%.0f claims/s" % (cold["ops"], cold["lat_ms"]["median"], cold["lat_ms"]["p99"],
                              cold["ops_per_s"]))
    rates = lambda runs: ", ".join("%.0f" % x["ops_per_s"] for x in runs)
    figure("write_rate_1", "claim writes/s, one writer", one["ops_per_s"], "/s",
           note="median of %d rounds, each after %d ms of warm-up: %s"
           % (RUNS, WARMUP_MS, rates(ones)))
    figure("write_rate_8", "claim writes/s, eight writers", eight["ops_per_s"], "/s",
           note="median of %d rounds: %s; median latency %.3f ms"
           % (RUNS, rates(eights), eight["lat_ms"]["median"]))
    figure("write_speedup_8", "eight writers / one writer (x)",
           eight["ops_per_s"] / one["ops_per_s"], "x", 3.0, ">=",
           "rounds: %s" % ", ".join("%.2f" % (e["ops_per_s"] / o["ops_per_s"])
                                    for o, e in zip(ones, eights)))
    figure("fsync_latency_ms", "disk floor: append+fdatasync, one writer (ms)",
           f1["lat_ms"]["median"], "ms", note="mean %.3f ms" % f1["lat_ms"]["mean"])
    figure("fsync_rate_8", "disk floor: append+fdatasync/s, eight writers", f8["ops_per_s"],
           "/s", note="one writer: %.0f/s" % f1["ops_per_s"])
    return {"claim_1": one, "claim_8": eight, "claim_1_rounds": ones, "claim_8_rounds": eights,
            "claim_1_cold": cold, "warmup_ms": WARMUP_MS, "fsync_1": f1, "fsync_8": f8}


def section_tree(work, cluster_file):
    """ls -l, cat */phase and find, cold and warm: claimfs, tmpfs, the FUSE floor."""
    state, mnt, logp = (os.path.join(work, "tree-state"), os.path.join(work, "tree-mnt"),
                        os.path.join(work, "tree.log"))
    d = claimfs(state, mnt, logp, cluster_file).start()
    apply_stream(mnt, gen("claims", "c", 0, CLAIMS))
    # tmpfs holding the same tree: a private tmpfs when we may mount one
    tdir = os.path.join(work, "tmpfs")
    os.makedirs(tdir, exist_ok=True)
    if os.geteuid() == 0 and subprocess.call(["mount", "-t", "tmpfs", "-o", "size=4g",
                                              "bench", tdir]) == 0:
        tmpfs_mounts.append(tdir)
        troot = os.path.join(tdir, "tree")
    else:
        troot = tempfile.mkdtemp(prefix="claimfs-bench-", dir="/dev/shm")
        shm_dirs.append(troot)
    t0 = time.perf_counter()
    cp = subprocess.run(["cp", "-a", mnt + "/.", troot], capture_output=True, text=True)
    log("copied the tree to tmpfs in %.1f s" % (time.perf_counter() - t0))
    d.stop()
    copy_note = ""
    if cp.returncode != 0:
        # A PV's data/ is its (empty) volume; the daemon may fail to open some (EMFILE):
        # the copy gets them as empty 0755 directories, the tree the ABI promises.
        made = 0
        pvdir = os.path.join(troot, "persistentvolumes")
        for pv in os.listdir(pvdir):
            data = os.path.join(pvdir, pv, "data")
            if os.path.isdir(os.path.join(pvdir, pv)) and not os.path.lexists(data):
                os.mkdir(data, 0o755)
                made += 1
        errs = cp.stderr.splitlines()
        copy_note = ("cp -a of the mount failed on %d entries (first: %s); %d PV data/ "
                     "directories made empty in the copy" % (len(errs), errs[0] if errs else "",
                                                             made))
        log(copy_note)
    flog = os.path.join(work, "floor.log")
    # The floor runs twice: with libfuse's multi-threaded loop (as claimfs) and with one
    # thread (cheaper per request on few CPUs: no hand-over between workers). "The floor"
    # is the faster of the two for each figure.
    fmnts = {"floor-mt": os.path.join(work, "floor-mt"), "floor-1": os.path.join(work, "floor-1")}
    servers = {"claimfs": claimfs(state, mnt, logp, cluster_file),
               "floor-mt": Daemon([FLOOR, troot, fmnts["floor-mt"]], fmnts["floor-mt"], flog),
               "floor-1": Daemon([FLOOR, "-s", troot, fmnts["floor-1"]], fmnts["floor-1"], flog)}
    roots = {"claimfs": mnt, "tmpfs": troot}
    roots.update(fmnts)
    order = ("claimfs", "tmpfs", "floor-mt", "floor-1")
    cmds = {"ls": "ls -l %s" % PVC, "cat": "cat %s/*/phase" % PVC, "find": "find ."}
    cold_runs = max(1, min(RUNS, 3))
    # The file systems take turns within each round, so that whatever else the machine
    # does hits them alike; each figure is the median of its rounds.
    times = {}
    for what, cmd in cmds.items():
        # cold: every run on a fresh mount with dropped caches
        for _ in range(cold_runs):
            for fs in order:
                d = servers.get(fs)
                if d:
                    d.stop()
                drop_caches()
                if d:
                    d.start()
                times.setdefault((fs, what, 0), []).append(shell_time(cmd, roots[fs]))
        # warm: one run to fill the caches, then RUNS rounds
        for fs in order:
            shell_time(cmd, roots[fs])
        for _ in range(RUNS):
            for fs in order:
                times.setdefault((fs, what, 1), []).append(shell_time(cmd, roots[fs]))
    for d in servers.values():
        d.stop()
    res = {}
    for fs in order:
        for what in cmds:
            res[(fs, what)] = (statistics.median(times[(fs, what, 0)]),
                               statistics.median(times[(fs, what, 1)]))
            log("%-8s %-4s cold %.4f s warm %.4f s" % (fs, what, *res[(fs, what)]))
    for what in cmds:
        mt, st = res[("floor-mt", what)], res[("floor-1", what)]
        res[("floor", what)] = (min(mt[0], st[0]), min(mt[1], st[1]))

    n = CLAIMS
    for what, label, wt in (("ls", "ls -l", 2.0), ("cat", "cat */phase", 4.0),
                            ("find", "find", None)):
        c, t, f = res[("claimfs", what)], res[("tmpfs", what)], res[("floor", what)]
        mt, st = res[("floor-mt", what)], res[("floor-1", what)]
        scope = "the whole tree" if what == "find" else "%s claims" % fmt(n)
        for i, kind in ((1, "warm"), (0, "cold")):
            figure("%s_%s_claimfs_s" % (what, kind),
                   "%s %s, %s: claimfs (s)" % (label, kind, scope), c[i], "s")
            figure("%s_%s_tmpfs_s" % (what, kind), "%s %s: tmpfs (s)" % (label, kind), t[i], "s")
            figure("%s_%s_floor_s" % (what, kind), "%s %s: FUSE floor (s)" % (label, kind), f[i],
                   "s", note="multi-threaded %.4f s, one thread %.4f s" % (mt[i], st[i]))
        figure("%s_warm_vs_tmpfs" % what, "%s warm: claimfs / tmpfs (x)" % label,
               c[1] / t[1], "x", wt, "<=" if wt else None)
        figure("%s_warm_vs_floor" % what, "%s warm: claimfs / floor (x)" % label, c[1] / f[1], "x")
        figure("%s_cold_vs_floor" % what, "%s cold: claimfs / floor (x)" % label, c[0] / f[0], "x",
               1.5 if what != "find" else None, "<=" if what != "find" else None)
        if failures.get(cmds[what]):
            errors.append(("tree", "%s failed in %d of its runs (figures above include them): %s"
                           % (label, len(failures[cmds[what]]), failures[cmds[what]][0])))
    entries = int(subprocess.run("find . | wc -l", shell=True, cwd=troot, capture_output=True,
                                 text=True).stdout)
    figure("tree_entries", "entries in the tree that find walks", entries, "", note=copy_note)
    return {"entries": entries, "copy": copy_note, "failures": failures, "cold_runs": cold_runs,
            "times": {"%s %s %s" % (fs, what, "warm" if warm else "cold"): v
                      for (fs, what, warm), v in times.items()}}


def section_sts(work, cluster_file):
    """StatefulSet 0 -> REPLICAS with a claim template: the write to replicas. Three runs,
    each on a new state; the fastest is the figure (the least disturbed by the machine)."""
    runs = []
    for run in range(3):
        state, mnt, logp = (os.path.join(work, "sts-state%d" % run),
                            os.path.join(work, "sts-mnt"), os.path.join(work, "sts.log"))
        d = Daemon([CLAIMFS, "-f", "--state", state, "--cluster", cluster_file,
                    "--max-replicas", str(max(REPLICAS, 10000)), mnt], mnt, logp).start()
        apply_stream(mnt, gen("statefulset", "web"))
        sts = os.path.join(mnt, "namespaces/default/statefulsets/web")
        t0 = time.perf_counter()
        fd = os.open(os.path.join(sts, "replicas"), os.O_WRONLY | os.O_TRUNC)
        os.write(fd, b"%d\n" % REPLICAS)
        os.close(fd)
        secs = time.perf_counter() - t0
        ready = int(read(os.path.join(sts, "readyReplicas")) or 0)
        pods = os.path.join(mnt, "namespaces/default/pods")
        last = "web-%d" % (REPLICAS - 1)
        claim = read(os.path.join(pods, last, "volumes/data/phase"))
        d.stop()
        subprocess.call(["rm", "-rf", "--one-file-system", state])
        if ready != REPLICAS or claim != "Bound":
            raise RuntimeError("after the write: readyReplicas %d, claim of %s %s"
                               % (ready, last, claim))
        runs.append(secs)
    figure("sts_scale_s", "StatefulSet 0 -> %s replicas with claims (s)" % fmt(REPLICAS),
           min(runs), "s", 1.0, "<=", "write(2) of replicas; settled: every pod Ready, every "
           "claim Bound; fastest of %s" % ", ".join("%.3f" % r for r in runs))
    return {"runs": runs}


def section_volume(work, cluster_file):
    """Issue 7: sequential 1 MiB I/O through a pod's mount point against the same disk
    used directly (scripts/bench/volume_io.sh, in the work directory: the same disk)."""
    vdir = os.path.join(work, "volume")
    env = dict(os.environ, CLAIMFS=CLAIMFS, BENCH_DIR=vdir,
               VOLUME_MB=str(env_int("BENCH_VOLUME_MB", 256)),
               VOLUME_RUNS=str(min(RUNS, 3)))
    env.pop("BENCH_KEEP", None)
    out = subprocess.run(["sh", os.path.join(HERE, "volume_io.sh")], env=env,
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0 or not out.stdout.strip():
        raise RuntimeError("volume_io.sh: %s" % (out.stderr.strip()[-300:] or out.returncode))
    res = json.loads(out.stdout.strip().splitlines()[-1])["volume_io"]
    labels = (("write", "write 1 MiB blocks + fsync", 0.7),
              ("write_cached", "write 1 MiB blocks, no fsync", 0.7),
              ("read", "read 1 MiB blocks, cold", 0.7),
              ("read_warm", "read 1 MiB blocks, warm", None))
    for k, label, target in labels:
        figure("volume_seq_%s_MBps" % k, "volume data, %s: pod path (MB/s)" % label,
               res["volume_seq_%s_MBps" % k], "MB/s")
        figure("volume_seq_%s_direct_MBps" % k, "volume data, %s: disk (MB/s)" % label,
               res["volume_seq_%s_direct_MBps" % k], "MB/s")
        figure("volume_seq_%s_ratio" % k, "volume data, %s: pod / disk (x)" % label,
               res["volume_seq_%s_ratio" % k], "x", target, ">=" if target else None,
               note="" if target else "a copy out of FUSE's page cache against the disk "
               "file system's: no disk in either")
    return res


# ---------------------------------------------------------------- report

def machine():
    m = {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                m["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                m["memory_mib"] = int(line.split()[1]) // 1024
    except OSError:
        pass
    return m


def git(*args):
    try:
        return subprocess.run(["git"] + list(args), cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def table():
    lines = ["%-50s %12s %-9s %10s %9s  %s" % ("figure", "value", "unit", "target", "x target",
                                              "")]
    lines.append("-" * 100)
    for f in figures:
        tgt = ("%s %s" % (f["op"], fmt(f["target"]))) if "target" in f else ""
        of = "%.2f" % f["of_target"] if f.get("of_target") is not None else ""
        mark = ("ok" if f["met"] else "MISS") if "met" in f else ""
        lines.append("%-50s %12s %-9s %10s %9s  %s" % (f["label"][:50], fmt(f["value"]),
                                                      f["unit"], tgt, of, mark))
    for sec, msg in errors:
        lines.append("%-50s %s" % ("ERROR in " + sec, msg[:200]))
    return "\n".join(lines)


def cleanup(work):
    for d in list(daemons):
        try:
            d.stop(timeout=20)
        except Exception as e:  # keep cleaning
            log("cleanup: %s" % e)
    for t in tmpfs_mounts:
        subprocess.call(["umount", t], stderr=subprocess.DEVNULL)
    for t in shm_dirs:
        shutil.rmtree(t, ignore_errors=True)
    if work and not os.environ.get("BENCH_KEEP"):
        subprocess.call(["rm", "-rf", "--one-file-system", work])


def main():
    for b in (CLAIMFS, FLOOR, WRITER):
        if not os.access(b, os.X_OK):
            log("missing binary %s (run scripts/bench.sh)" % b)
            return 1
    if not os.path.exists("/dev/fuse"):
        log("no /dev/fuse: cannot mount")
        return 1
    work = os.path.abspath(os.environ.get("BENCH_DIR") or tempfile.mkdtemp(
        prefix="claimfs-bench.", dir=os.environ.get("TMPDIR", "/tmp")))
    os.makedirs(work, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    details = {}
    started = time.time()
    nofile = raise_nofile()
    load0 = loadavg()
    try:
        cluster_file = os.path.join(work, "cluster.yaml")
        with open(cluster_file, "wb") as f:
            f.write(gen("cluster"))
        sections = (("apply", section_apply), ("write", section_write),
                    ("tree", section_tree), ("sts", section_sts),
                    ("volume", section_volume))
        for name, fn in sections:
            if ONLY and name not in ONLY:
                continue
            log("section %s" % name)
            try:
                details[name] = fn(work, cluster_file)
            except Exception as e:
                errors.append((name, str(e)))
                log("section %s failed: %s" % (name, e))
                for d in list(daemons):
                    d.stop(timeout=20)
    finally:
        cleanup(work)
    report = {
        "claimfs_bench": 1,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": round(time.time() - started, 1),
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "machine": machine(),
        "work_dir_fs": subprocess.run(["findmnt", "-no", "FSTYPE,SOURCE", "-T",
                                       os.path.dirname(work)], capture_output=True,
                                      text=True).stdout.strip(),
        "config": {"claims": CLAIMS, "total": TOTAL, "replicas": REPLICAS, "writes": WRITES,
                   "runs": RUNS, "drop_caches": can_drop_caches(), "nofile": nofile},
        "loadavg": {"start": load0, "end": loadavg()},
        "figures": figures,
        "errors": [{"section": s, "message": m} for s, m in errors],
        "details": details,
    }
    with open(JSON_OUT, "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    print(table())
    m = report["machine"]
    print("\n%s, %s CPUs, %s MiB, Linux %s; work dir on %s; %s; load average %s at the "
          "start, %s at the end; JSON: %s" % (
              m.get("cpu", "?"), m["cpus"], m.get("memory_mib", "?"), m["kernel"],
              " ".join(report["work_dir_fs"].split()), "caches dropped for cold runs"
              if can_drop_caches() else "cold = fresh mount only", load0,
              report["loadavg"]["end"], JSON_OUT))
    return 0 if figures else 1


if __name__ == "__main__":
    sys.exit(main())
