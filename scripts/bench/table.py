#!/usr/bin/env python3
"""table.py - the figures of a benchmark run (bench.json) as a Markdown table, for
docs/performance.md and the README; with two files, the second run beside the first
(a comparison across commits).

  table.py bench.json [other.json]
"""
import json
import sys


def fmt(v):
    if isinstance(v, int):
        return "{:,}".format(v)
    if abs(v) >= 1000:
        return "{:,.0f}".format(v)
    if abs(v) >= 100:
        return "%.1f" % v
    if abs(v) >= 10:
        return "%.2f" % v
    return "%.3f" % v


def main(argv):
    if len(argv) not in (2, 3):
        sys.stderr.write(__doc__)
        return 2
    runs = [json.load(open(p)) for p in argv[1:]]
    base = runs[0]
    other = {f["key"]: f for f in runs[1]["figures"]} if len(runs) > 1 else None
    head = "| figure | value | target | |"
    rule = "|---|---:|---:|---|"
    if other is not None:
        head = "| figure | %s | %s | target | |" % (base["commit"][:8], runs[1]["commit"][:8])
        rule = "|---|---:|---:|---:|---|"
    print(head)
    print(rule)
    for f in base["figures"]:
        unit = (" " + f["unit"]) if f["unit"] and f["unit"] != "x" else ("x" if f["unit"] else "")
        val = fmt(f["value"]) + unit
        tgt = ("%s %s%s" % ("≥" if f["op"] == ">=" else "≤", fmt(f["target"]), unit)
               if f.get("target") is not None and f.get("op") else "")
        mark = ("met" if f["met"] else "**missed**") if "met" in f else ""
        cells = [f["label"], val]
        if other is not None:
            o = other.get(f["key"])
            cells.append(fmt(o["value"]) + unit if o else "")
        cells += [tgt, mark]
        print("| " + " | ".join(cells) + " |")
    for e in base.get("errors", []):
        print("\nError in %s: %s" % (e["section"], e["message"]))
    m = base["machine"]
    print("\n%s, %s CPUs, %s MiB RAM, Linux %s; state on %s; load average %s at the start, %s "
          "at the end; commit %s%s; %s." % (
              m.get("cpu", "?"), m["cpus"], m.get("memory_mib", "?"), m["kernel"],
              " ".join(base.get("work_dir_fs", "").split()), base["loadavg"]["start"],
              base["loadavg"]["end"], base["commit"][:12], " (with local changes)"
              if base.get("dirty") else "", base["date"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
