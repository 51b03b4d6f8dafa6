#!/usr/bin/env python3
"""The tables bench/build.sh prints, from what it recorded in RESULTS:

  times.tsv         workload, column (kiln-MODE, buildkit, buildah), run, then the seconds of
                    cold, warm, first edit, steady edit, build+push ("fail" for a failed build)
  unavailable.tsv   Kiln isolation modes that cannot build here, and why
  concurrent.tsv    workload, run, build number, seconds: the concurrent Kiln edit builds
  retried.tsv       workload, column, run, case: builds on empty storage retried once after a failure
  metadata/         Kiln's --metadata-file of every build: kiln-MODE-WORKLOAD-CASE-RUN.json

Usage: build-report.py RESULTS CONCURRENT COLUMN…   (the first kiln-* column is "kiln")"""
import json, math, os, statistics, sys

results, concurrent, columns = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
CASES = ["cold", "warm", "edit1", "edit2", "push"]
CASE_NAMES = {"cold": "cold", "warm": "warm", "edit1": "first edit", "edit2": "steady edit", "push": "build+push"}

times = {}  # (workload, column, case) -> [seconds of each run that succeeded]
failures = {}  # (workload, column, case) -> failed runs
workloads = []
for line in open(os.path.join(results, "times.tsv")):
    w, column, run, *values = line.rstrip("\n").split("\t")
    if w not in workloads:
        workloads.append(w)
    for case, value in zip(CASES, values):
        if value == "fail":
            failures[(w, column, case)] = failures.get((w, column, case), 0) + 1
        else:
            times.setdefault((w, column, case), []).append(float(value))
unavailable = dict(line.rstrip("\n").split("\t", 1) for line in open(os.path.join(results, "unavailable.tsv")))
kiln_columns = [c for c in columns if c.startswith("kiln-")]
kiln = kiln_columns[0] if kiln_columns else None


def median(w, column, case):
    values = times.get((w, column, case))
    return statistics.median(values) if values else None


def cell(value, width=9):
    return f"{value:{width - 1}.2f}s" if value is not None else f"{'-':>{width}}"


def ratio(a, b, width=8):
    return f"{a / b:{width}.2f}" if a is not None and b else f"{'-':>{width}}"


# --- Kiln against BuildKit and buildah ------------------------------------------------------------------
peers = [c for c in ("buildkit", "buildah") if c in columns]
title = f"kiln ({kiln[5:]})" if kiln else "kiln"
header = f"{'workload':16} {'case':12} {title:>11}" + "".join(f" {p:>9}" for p in peers)
header += "".join(f" {'k/' + ('bk' if p == 'buildkit' else 'bah'):>8}" for p in peers)
print("\n" + header)
for w in workloads:
    for i, case in enumerate(CASES):
        k = median(w, kiln, case) if kiln else None
        row = f"{w if i == 0 else '':16} {CASE_NAMES[case]:12} {cell(k, 11)}"
        row += "".join(f" {cell(median(w, p, case))}" for p in peers)
        row += "".join(f" {ratio(k, median(w, p, case))}" for p in peers)
        failed = [c for c in [kiln] + peers if c and failures.get((w, c, case))]
        if failed:
            row += "  failed: " + ", ".join(f"{c} ({failures[(w, c, case)]}x)" for c in failed)
        print(row)
retried = [line.rstrip("\n").split("\t") for line in open(os.path.join(results, "retried.tsv"))] \
    if os.path.exists(os.path.join(results, "retried.tsv")) else []
if retried:
    print("retried once on empty storage after a failure: "
          + ", ".join(f"{column} {w} {CASE_NAMES[case]} (run {run})" for w, column, run, case in retried))
print("(medians; k/bk = kiln/buildkit, k/bah = kiln/buildah. Kiln's output is an OCI layout (gzip), BuildKit's its\n"
      " image store, buildah's its storage; build+push is a cold build pushed to the loopback registry.)")

# --- the goals -----------------------------------------------------------------------------------------------
if kiln and "buildkit" in peers:
    met, missed = 0, []
    for w in workloads:
        for case in ("edit1", "edit2"):
            k, b = median(w, kiln, case), median(w, "buildkit", case)
            if k is None or b is None:
                missed.append(f"{w} {CASE_NAMES[case]} (no figure)")
            elif k <= b:
                met += 1
            else:
                missed.append(f"{w} {CASE_NAMES[case]} {k / b:.2f}")
    total = 2 * len(workloads)
    print(f"goal: edit <= BuildKit (first and steady edit, kiln/buildkit <= 1.00): met {met} of {total}"
          + (f"; not met: {', '.join(missed)}" if missed else ""))
    if "c-multistage" in workloads:
        kc, bc, bp = (median("c-multistage", kiln, "cold"), median("c-multistage", "buildkit", "cold"),
                      median("c-multistage", "buildkit", "push"))
        kp = median("c-multistage", kiln, "push")
        if kc is not None and bp is not None:
            print(f"goal: cold C multi-stage <= BuildKit's build plus push: kiln cold {kc:.2f}s, kiln build+push "
                  + (f"{kp:.2f}s" if kp is not None else "-")
                  + f" against BuildKit build+push {bp:.2f}s (cold {bc:.2f}s): "
                  + ("met" if kc <= bp and (kp is None or kp <= bp) else "not met"))

# --- each tool's own time: the edit less what its RUN reports it spent -------------------------------------------
# A workload whose RUN times itself (`bench-run-seconds S` in the build log) shows how long each tool
# took beyond running that command. On this disk the command itself swings (the 500 MB RUN took 1.9 s
# or 12 s depending on where in the run it fell, for every tool alike), and that swing, not the tool,
# decides the raw medians; the difference is the tool's own work (snapshots, layers, export).
def run_seconds(column, w, case, run):
    log = os.path.join(results, "logs", f"{column}-{w}-{case}-{run}.log")
    if not os.path.exists(log):
        return None
    found = [float(line.rsplit("bench-run-seconds", 1)[1].split()[0]) for line in open(log, errors="replace")
             if "bench-run-seconds" in line and line.rsplit("bench-run-seconds", 1)[1].split()[:1]
             and line.rsplit("bench-run-seconds", 1)[1].split()[0].replace(".", "", 1).isdigit()]
    return sum(found) if found else None

runs_of = {}  # (workload, column) -> run numbers in order
for line in open(os.path.join(results, "times.tsv")):
    w, column, run, *values = line.rstrip("\n").split("\t")
    runs_of.setdefault((w, column), []).append((run, dict(zip(CASES, values))))
own_rows = []
for w in workloads:
    for case in ("edit1", "edit2"):
        per_column = {}
        for column in [kiln] + peers if kiln else peers:
            own = {}
            for run, values in runs_of.get((w, column), []):
                spent = run_seconds(column, w, case, run)
                if spent is not None and values.get(case) not in (None, "fail"):
                    own[run] = float(values[case]) - spent
            per_column[column] = own
        if kiln and per_column.get(kiln):
            own_rows.append((w, case, per_column))
if own_rows:
    print(f"\n{'workload':16} {'case':12} {'kiln own':>9}" + "".join(f" {p + ' own':>13}" for p in peers)
          + "   (edit less the RUN's own time, medians; runs where kiln's <= buildkit's)")
    for w, case, per_column in own_rows:
        k = per_column[kiln]
        row = f"{w:16} {CASE_NAMES[case]:12} {cell(statistics.median(k.values()))}"
        for p in peers:
            row += f" {cell(statistics.median(per_column[p].values()) if per_column.get(p) else None, 13)}"
        if per_column.get("buildkit"):
            paired = [r for r in k if r in per_column["buildkit"]]
            row += f"   {sum(k[r] <= per_column['buildkit'][r] for r in paired)} of {len(paired)}"
        print(row)

# --- Kiln's isolation modes -------------------------------------------------------------------------------
modes = [c[5:] for c in kiln_columns] + list(unavailable)
if len(modes) > 1:
    print(f"\n{'workload':16} {'mode':9}" + "".join(f" {CASE_NAMES[c]:>11}" for c in CASES) + "   mode/root per case")
    for w in workloads:
        for mode in modes:
            if mode in unavailable:
                print(f"{w:16} {mode:9} n/a ({unavailable[mode]})")
                continue
            values = [median(w, "kiln-" + mode, c) for c in CASES]
            roots = [median(w, "kiln-root", c) for c in CASES]
            ratios = " ".join(ratio(v, r, 5) for v, r in zip(values, roots)) if mode != "root" else ""
            print(f"{w:16} {mode:9}" + "".join(f" {cell(v, 11)}" for v in values) + f"   {ratios}")
    if "root" in modes and "rootless" in modes and "rootless" not in unavailable:
        print("goal: rootless/root <= 1.20 on every workload")

# --- where Kiln's time went: its --metadata-file --------------------------------------------------------------
SPLIT = [("rootfsSeconds", "rootfs"), ("commandSeconds", "command"), ("layerSeconds", "layer")]


def metadata(mode, w, case, run):
    path = os.path.join(results, "metadata", f"kiln-{mode}-{w}-{case}-{run}.json")
    try:
        return json.load(open(path))
    except (OSError, ValueError):
        return None


def split(document):
    """Seconds in steps and per timing component (and any component beyond the three, e.g. upload)."""
    steps = document.get("kiln.steps", [])
    parts = {"steps": sum(r.get("seconds", 0.0) for r in steps), "executed": 0}
    for record in steps:
        timing = record.get("timing")
        if not timing:
            continue
        parts["executed"] += 1
        for key, value in timing.items():
            if isinstance(value, (int, float)):
                name = dict(SPLIT).get(key, key[:-len("Seconds")] if key.endswith("Seconds") else key)
                parts[name] = parts.get(name, 0.0) + value
    return parts


if kiln:
    mode = kiln[5:]
    runs = sorted({int(line.split("\t")[2]) for line in open(os.path.join(results, "times.tsv"))})
    extra = []
    rows = []
    for w in workloads:
        for case in CASES:
            per_run = [split(d) for d in (metadata(mode, w, case, r) for r in runs) if d]
            if not per_run:
                continue
            names = {k for p in per_run for k in p} - {"steps", "executed"}
            extra += [n for n in sorted(names) if n not in dict(SPLIT).values() and n not in extra]
            rows.append((w, case, per_run))
    if rows:
        components = [name for _, name in SPLIT] + extra
        print(f"\nKiln ({mode}) per case, from --metadata-file: medians of the per-run sums over executed steps")
        print(f"{'workload':16} {'case':12} {'wall':>8} {'in steps':>9} {'executed':>8}" + "".join(f" {c:>9}" for c in components))
        for w, case, per_run in rows:
            def med(key):
                return statistics.median(p.get(key, 0.0) for p in per_run)
            wall = median(w, kiln, case)
            print(f"{w:16} {CASE_NAMES[case]:12} {cell(wall, 8)} {med('steps'):8.2f}s {med('executed'):8.0f}"
                  + "".join(f" {med(c):8.2f}s" for c in components))
        if "upload" not in components:
            print("(no upload time in the metadata: this kiln does not record one)")
        # The edits step by step, from the last run: where an edit's time goes.
        last = runs[-1]
        for w in workloads:
            for case in ("edit1", "edit2"):
                document = metadata(mode, w, case, last)
                if not document:
                    continue
                steps = document.get("kiln.steps", [])
                print(f"\n{w}, {CASE_NAMES[case]} (run {last}): Kiln per step")
                for record in steps:
                    step = record.get("step", {})
                    text = step.get("text", "?").replace("read t0 _ < /proc/uptime && ", "")[:56]
                    timing = record.get("timing") or {}
                    detail = "  ".join(f"{name} {timing[key]:6.2f}s" for key, name in SPLIT if key in timing)
                    detail += "".join(f"  {k[:-7] if k.endswith('Seconds') else k} {v:6.2f}s" for k, v in timing.items()
                                      if k not in dict(SPLIT) and isinstance(v, (int, float)))
                    print(f"  {record.get('status', '?'):9} {record.get('seconds', 0.0):7.2f}s  {detail:58}  {text}")

# --- concurrency -----------------------------------------------------------------------------------------------
path = os.path.join(results, "concurrent.tsv")
samples, failed = {}, {}
if os.path.exists(path):
    for line in open(path):
        w, run, i, value = line.rstrip("\n").split("\t")
        if value == "fail":
            failed[w] = failed.get(w, 0) + 1
        else:
            samples.setdefault(w, []).append(float(value))


def quantile(values, q):
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


if samples or failed:
    print(f"\nKiln ({kiln[5:]}), {concurrent} concurrent edit builds on one KILN_ROOT (each a copy of the workload with its own edit)")
    print(f"{'workload':16} {'builds':>6} {'p50':>9} {'p95':>9} {'max':>9} {'single':>9} {'p95/single':>10}")
    for w in workloads:
        values = samples.get(w, [])
        if not values:
            if w in failed:
                print(f"{w:16} all {failed[w]} failed")
            continue
        single = median(w, kiln, "edit2")
        p95 = quantile(values, 0.95)
        print(f"{w:16} {len(values):6d} {cell(quantile(values, 0.5))} {cell(p95)} {cell(max(values))} {cell(single)} {ratio(p95, single, 10)}"
              + (f"  ({failed[w]} failed)" if w in failed else ""))
    print("(single: Kiln's steady edit alone, from the table above)")
