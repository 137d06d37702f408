#!/usr/bin/env python3
"""Reads a mounted claimfs tree and checks the invariants of the storage control plane.

usage: check-invariants.py [--settled] [--quiet] MOUNTPOINT

Always (any moment, even while writers run, as far as one object's files agree):
  - no PV is bound twice: no two Bound claims name the same volume, no two Bound PVs
    point at the same claim
  - every Bound PV's claim exists, with the uid of the PV's claimRef
  - every Bound claim's PV exists and its claimRef points back at that claim (uid)
  - pool accounting: each class's `allocated` equals the sum of the capacities of the
    PVs provisioned from its pool (annotation pv.kubernetes.io/provisioned-by), and
    `available` is capacity minus allocated (0 when over-allocated)
  - every StatefulSet ordinal has at most one pod; a set's pods are named <set>-<n>,
    carry the set's uid in their ownerReference and pod-index n
  - ordinals/<n> of a set links to ../../../pods/<set>-<n>
--settled adds what must hold once the controllers are idle (zero delays, no writer):
  - a set that is not being deleted has exactly the pods of ordinals 0..replicas-1
  - no pod is controlled by a StatefulSet that does not exist (garbage collected)
  - each StatefulSet pod's claim volumes exist (volumes/<v> resolves)

Reads only the mount (object.json of each object and a few attribute files). Prints one
line per violation and a summary; exits 1 when anything is violated, 2 on usage or I/O
errors. Objects that vanish while being read are skipped (the tree may be changing).
"""
import json
import os
import re
import sys

ANN_PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
LABEL_POD_INDEX = "apps.kubernetes.io/pod-index"

_SUFFIX = {
    "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60,
    "n": 10**-9, "u": 10**-6, "m": 10**-3, "": 1, "k": 10**3, "M": 10**6, "G": 10**9,
    "T": 10**12, "P": 10**15, "E": 10**18,
}
_QTY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$")


def quantity_bytes(s):
    """A Kubernetes quantity as a number of bytes (rounded up like Kubernetes' Value())."""
    from fractions import Fraction
    m = _QTY.match(s.strip())
    if not m:
        raise ValueError("not a quantity: %r" % s)
    num = Fraction(m.group(1))
    if m.group(2):
        num *= Fraction(10) ** int(m.group(2)[1:])
    else:
        num *= Fraction(_SUFFIX[m.group(3) or ""])
    whole = num.numerator // num.denominator
    return whole + (1 if whole * num.denominator != num.numerator else 0)


class Checker:
    def __init__(self, mnt, settled):
        self.mnt = mnt
        self.settled = settled
        self.violations = []
        self.checked = 0
        self.vanished = 0

    def bad(self, msg):
        self.violations.append(msg)

    def ok(self, cond, msg):
        self.checked += 1
        if not cond:
            self.bad(msg)
        return cond

    # ---- reading ----
    def path(self, *parts):
        return os.path.join(self.mnt, *parts)

    def listdir(self, *parts):
        try:
            return sorted(e for e in os.listdir(self.path(*parts)) if not e.startswith("."))
        except FileNotFoundError:
            return []

    def read(self, *parts):
        """A file's text, or None when it (or its object) is gone."""
        try:
            with open(self.path(*parts), "r", encoding="utf-8") as f:
                return f.read()
        except FileNotFoundError:
            self.vanished += 1
            return None

    def objects(self, *kind_dir):
        """{name: object} of a kind directory, from each object's object.json."""
        out = {}
        for name in self.listdir(*kind_dir):
            text = self.read(*kind_dir, name, "object.json")
            if text is None:
                continue
            try:
                out[name] = json.loads(text)
            except ValueError as e:
                self.bad("%s/%s/object.json is not JSON: %s" % ("/".join(kind_dir), name, e))
        return out

    def load(self):
        self.pvs = self.objects("persistentvolumes")
        self.classes = self.objects("storageclasses")
        self.claims, self.pods, self.sets = {}, {}, {}
        for ns in self.listdir("namespaces"):
            base = ("namespaces", ns)
            for name, o in self.objects(*base, "persistentvolumeclaims").items():
                self.claims[(ns, name)] = o
            for name, o in self.objects(*base, "pods").items():
                self.pods[(ns, name)] = o
            for name, o in self.objects(*base, "statefulsets").items():
                self.sets[(ns, name)] = o

    # ---- invariants ----
    def check_binding(self):
        bound_to = {}  # PV name -> claim key
        for (ns, name), c in self.claims.items():
            status = c.get("status") or {}
            if status.get("phase") != "Bound":
                continue
            vol = (c.get("spec") or {}).get("volumeName")
            where = "claim %s/%s" % (ns, name)
            if not self.ok(vol, "%s is Bound without spec.volumeName" % where):
                continue
            other = bound_to.get(vol)
            self.ok(other is None, "PV %s is bound twice: by %s and by %s/%s"
                    % (vol, where, *(other or ("", ""))))
            bound_to[vol] = (ns, name)
            pv = self.pvs.get(vol)
            if not self.ok(pv is not None, "%s is Bound to PV %s, which does not exist"
                           % (where, vol)):
                continue
            ref = (pv.get("spec") or {}).get("claimRef") or {}
            self.ok(ref.get("namespace") == ns and ref.get("name") == name and
                    ref.get("uid") == c["metadata"].get("uid"),
                    "%s is Bound to PV %s whose claimRef is %s/%s uid %s"
                    % (where, vol, ref.get("namespace"), ref.get("name"), ref.get("uid")))
        by_claim = {}
        for name, pv in self.pvs.items():
            if (pv.get("status") or {}).get("phase") != "Bound":
                continue
            ref = (pv.get("spec") or {}).get("claimRef") or {}
            key = (ref.get("namespace"), ref.get("name"))
            c = self.claims.get(key)
            if not self.ok(c is not None, "PV %s is Bound but its claim %s/%s does not exist"
                           % (name, key[0], key[1])):
                continue
            self.ok(ref.get("uid") == c["metadata"].get("uid"),
                    "PV %s is Bound to claim %s/%s uid %s, but that claim's uid is %s"
                    % (name, key[0], key[1], ref.get("uid"), c["metadata"].get("uid")))
            uid = ref.get("uid")
            self.ok(uid not in by_claim, "claim %s/%s has two Bound PVs: %s and %s"
                    % (key[0], key[1], by_claim.get(uid), name))
            by_claim[uid] = name

    def check_pools(self):
        sums = {}
        for name, pv in self.pvs.items():
            ann = (pv.get("metadata") or {}).get("annotations") or {}
            spec = pv.get("spec") or {}
            if ANN_PROVISIONED_BY not in ann:
                continue
            cap = (spec.get("capacity") or {}).get("storage")
            cls = spec.get("storageClassName") or ""
            try:
                sums[cls] = sums.get(cls, 0) + quantity_bytes(cap)
            except (ValueError, AttributeError):
                self.bad("PV %s has a bad capacity %r" % (name, cap))
        for cls in self.classes:
            texts = [self.read("storageclasses", cls, f) for f in
                     ("capacity", "allocated", "available")]
            if None in texts:
                continue
            try:
                cap, alloc, avail = (quantity_bytes(t.strip()) for t in texts)
            except ValueError as e:
                self.bad("storageclasses/%s: %s" % (cls, e))
                continue
            want = sums.get(cls, 0)
            self.ok(alloc == want, "storageclasses/%s/allocated is %d bytes but its "
                    "provisioned PVs add up to %d" % (cls, alloc, want))
            self.ok(avail == max(0, cap - alloc), "storageclasses/%s: available %d is not "
                    "capacity %d minus allocated %d" % (cls, avail, cap, alloc))

    def check_statefulsets(self):
        ordinals = {}  # (ns, set) -> set of ordinals seen
        for (ns, name), pod in self.pods.items():
            meta = pod.get("metadata") or {}
            for ref in meta.get("ownerReferences") or []:
                if not ref.get("controller") or ref.get("kind") != "StatefulSet":
                    continue
                sname = ref.get("name", "")
                where = "pod %s/%s" % (ns, name)
                m = re.match(re.escape(sname) + r"-(0|[1-9][0-9]*)$", name)
                if not self.ok(m, "%s of StatefulSet %s is not named %s-<ordinal>"
                               % (where, sname, sname)):
                    continue
                n = int(m.group(1))
                idx = (meta.get("labels") or {}).get(LABEL_POD_INDEX)
                if idx is not None:
                    self.ok(idx == str(n), "%s has %s=%s" % (where, LABEL_POD_INDEX, idx))
                seen = ordinals.setdefault((ns, sname), set())
                self.ok(n not in seen, "ordinal %d of StatefulSet %s/%s has two pods"
                        % (n, ns, sname))
                seen.add(n)
                sts = self.sets.get((ns, sname))
                if sts is None:
                    if self.settled:
                        self.bad("%s is controlled by StatefulSet %s, which does not exist"
                                 % (where, sname))
                    continue
                self.ok(ref.get("uid") == sts["metadata"].get("uid"),
                        "%s is controlled by another StatefulSet %s (uid %s, not %s)"
                        % (where, sname, ref.get("uid"), sts["metadata"].get("uid")))
                if self.settled:
                    self.check_pod_volumes(ns, name, pod)
        for (ns, sname), sts in self.sets.items():
            have = ordinals.get((ns, sname), set())
            for entry in self.listdir("namespaces", ns, "statefulsets", sname, "ordinals"):
                try:
                    target = os.readlink(self.path("namespaces", ns, "statefulsets", sname,
                                                   "ordinals", entry))
                except FileNotFoundError:
                    continue
                self.ok(target == "../../../pods/%s-%s" % (sname, entry),
                        "statefulsets/%s/ordinals/%s -> %s" % (sname, entry, target))
            if not self.settled or (sts.get("metadata") or {}).get("deletionTimestamp"):
                continue
            replicas = (sts.get("spec") or {}).get("replicas", 1)
            want = set(range(replicas))
            self.ok(have == want, "StatefulSet %s/%s with %d replicas has the pods of "
                    "ordinals %s" % (ns, sname, replicas, sorted(have)))

    def check_pod_volumes(self, ns, name, pod):
        for vol in (pod.get("spec") or {}).get("volumes") or []:
            pvc = vol.get("persistentVolumeClaim")
            if not pvc:
                continue
            claim = pvc.get("claimName")
            self.ok((ns, claim) in self.claims, "pod %s/%s uses claim %s, which does not "
                    "exist" % (ns, name, claim))

    def run(self):
        self.load()
        self.check_binding()
        self.check_pools()
        self.check_statefulsets()
        return self.violations


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    flags = {a for a in argv[1:] if a.startswith("--")}
    if len(args) != 1 or flags - {"--settled", "--quiet"}:
        print("usage: check-invariants.py [--settled] [--quiet] MOUNTPOINT", file=sys.stderr)
        return 2
    mnt = args[0]
    if not os.path.isdir(os.path.join(mnt, "persistentvolumes")):
        print("check-invariants: %s is not a claimfs mount" % mnt, file=sys.stderr)
        return 2
    c = Checker(mnt, "--settled" in flags)
    try:
        violations = c.run()
    except OSError as e:
        print("check-invariants: cannot read %s: %s" % (mnt, e), file=sys.stderr)
        return 2
    for v in violations:
        print("violation: " + v)
    if "--quiet" not in flags or violations:
        print("%d claims, %d PVs, %d classes, %d StatefulSets, %d pods: %d checks, "
              "%d violations%s" % (len(c.claims), len(c.pvs), len(c.classes), len(c.sets),
                                   len(c.pods), c.checked, len(violations),
                                   ", %d vanished while read" % c.vanished if c.vanished
                                   else ""))
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
