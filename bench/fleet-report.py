#!/usr/bin/env python3
"""The figures of bench/fleet.sh, from what its builds left in RESULTS:

  TOOL.tsv             one line per build: j, commit, service, builder, start, end, exit status
  kiln-J.json          Kiln's --metadata-file of build J (step identity, status, cache key)
  logs/TOOL-J.log      each build's output (buildah's and BuildKit's steps and cache hits)

Usage: fleet-report.py RESULTS SERVICES TOOL...

A step is identified across tools by its stage (in order) and its position in the stage, FROM
being 1; Kiln's cache key of that step in the same build says which steps are "the same" (a key
holds every input of a step and its parents), so for every tool a miss is counted as one that
should have hit when a build that had finished before this one started ran a step with the key.
"""
import functools
import json
import os
import re
import statistics
import sys

KINDS = ["FROM", "RUN", "COPY", "ADD", "WORKDIR"]


@functools.lru_cache(maxsize=None)
def kiln_steps(results, j):
    """{(stage ordinal, position): (kind, hit, key)} from Kiln's metadata file of build j."""
    path = os.path.join(results, f"kiln-{j}.json")
    if not os.path.exists(path):
        return None
    records = json.load(open(path)).get("kiln.steps", [])
    order = []
    for record in sorted(records, key=lambda r: r["step"]["number"]):
        if record["step"]["stage"] not in order:
            order.append(record["step"]["stage"])
    steps = {}
    for record in records:
        step = record["step"]
        kind = step["text"].split()[0].upper()
        if record.get("status") == "metadata" or kind not in KINDS:
            continue
        steps[(order.index(step["stage"]), step["position"])] = (kind, record.get("status") == "cached", record.get("cacheKey"))
    return steps


def buildah_steps(results, j):
    """From buildah's output: `[1/2] STEP 3/8: COPY …` (or `STEP 3/8:` with one stage), then
    `--> Using cache …` or `--> Cache pulled from remote …` for a hit; a FROM whose image was
    already in the storage (no `Trying to pull`) counts as a hit."""
    path = os.path.join(results, "logs", f"buildah-{j}.log")
    if not os.path.exists(path):
        return None
    steps, current, lines = {}, None, []

    def close():
        if current is None:
            return
        kind = current[2]
        text = "\n".join(lines)
        if kind == "FROM":
            hit = "Trying to pull" not in text
        else:
            hit = "Using cache" in text or "Cache pulled from remote" in text
        steps[(current[0], current[1])] = (kind, hit, None)

    for line in open(path, errors="replace"):
        match = re.match(r"(?:\[(\d+)/\d+\] )?STEP (\d+)/\d+: (\w+)", line)
        if match:
            close()
            kind = match.group(3).upper()
            current = (int(match.group(1) or 1) - 1, int(match.group(2)), kind) if kind in KINDS else None
            lines = []
        elif current is not None:
            lines.append(line)
    close()
    return steps


def buildkit_steps(results, j):
    """From BuildKit's plain progress: `#7 [build 3/8] COPY …`, then `#7 CACHED` for a hit."""
    path = os.path.join(results, "logs", f"buildkit-{j}.log")
    if not os.path.exists(path):
        return None
    vertices, cached, stages = {}, set(), []
    for line in open(path, errors="replace"):
        match = re.match(r"#(\d+) \[([^\]\s]+) (\d+)/\d+\] (\w+)", line)
        if match:
            stage = match.group(2)
            if stage not in stages:
                stages.append(stage)
            vertices[match.group(1)] = (stage, int(match.group(3)), match.group(4).upper())
        elif re.match(r"#(\d+) CACHED", line):
            cached.add(line.split()[0][1:])
    # Stage names in Kiln's order: `build` first (it is named), then the unnamed `stage-1`.
    ordered = sorted(stages, key=lambda name: (name.startswith("stage-"), name))
    steps = {}
    for number, (stage, position, kind) in vertices.items():
        if kind in KINDS:
            steps[(ordered.index(stage), position)] = (kind, number in cached, None)
    return steps


READERS = {"kiln": kiln_steps, "buildah": buildah_steps, "buildkit": buildkit_steps}


def main():
    results, services, tools = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    # Kiln's keys name the steps for every tool.
    keys = {}
    if os.path.exists(os.path.join(results, "kiln.tsv")):
        for line in open(os.path.join(results, "kiln.tsv")):
            j = int(line.split("\t")[0])
            for identity, (_, _, key) in (kiln_steps(results, j) or {}).items():
                if key:
                    keys[(j, identity)] = key
    totals = {}
    print()
    header = f"{'tool':9} {'builds':>7} {'failed':>6} {'total':>8} {'sum':>8} {'p50':>7} {'p95':>7}  " + "  ".join(f"{k:>14}" for k in KINDS)
    print(header)
    misses_report = []
    for tool in tools:
        path = os.path.join(results, f"{tool}.tsv")
        if not os.path.exists(path):
            continue
        builds = []
        for line in open(path):
            j, commit, service, builder, start, end, rc = line.rstrip("\n").split("\t")
            builds.append({"j": int(j), "commit": int(commit), "service": service, "builder": int(builder),
                           "start": float(start), "end": float(end), "rc": int(rc)})
        if not builds:
            continue
        builds.sort(key=lambda b: b["j"])
        durations = sorted(b["end"] - b["start"] for b in builds)
        total = max(b["end"] for b in builds) - min(b["start"] for b in builds)
        failed = sum(1 for b in builds if b["rc"] != 0)
        totals[tool] = (total, failed, sum(durations))
        counts = {k: [0, 0] for k in KINDS}
        should, missed = 0, []
        for build in builds:
            steps = READERS[tool](results, build["j"]) or {}
            earlier = [b for b in builds if b["end"] < build["start"] and b["rc"] == 0]
            known = {keys.get((b["j"], identity)) for b in earlier for identity in (READERS["kiln"](results, b["j"]) or {})} \
                if keys else set()
            for identity, (kind, hit, _) in sorted(steps.items()):
                counts[kind][0] += hit
                counts[kind][1] += 1
                key = keys.get((build["j"], identity))
                if kind != "FROM" and key and key in known:
                    should += 1
                    if not hit:
                        missed.append(f"build {build['j']} ({build['service']} commit {build['commit']}, builder {build['builder']})"
                                      f" stage {identity[0]} step {identity[1]} {kind}")
        cells = "  ".join(f"{c[0]:>4}/{c[1]:<3} {100 * c[0] / c[1]:4.0f}%" if c[1] else f"{'-':>14}" for c in counts.values())
        print(f"{tool:9} {len(builds):7d} {failed:6d} {total:7.1f}s {sum(durations):7.1f}s {statistics.median(durations):6.1f}s "
              f"{durations[min(len(durations) - 1, int(round(0.95 * (len(durations) - 1))))]:6.1f}s  {cells}")
        misses_report.append((tool, should, missed))
    print("(total: first start to last end; sum: the builds' own times added up; hits/steps per step kind; FROM: Kiln's record status, buildah: the base was already in its storage,"
          " BuildKit: CACHED)")
    if keys:
        print("\nsteps another build had already run (same Kiln cache key, that build finished before this one started):")
        for tool, should, missed in misses_report:
            print(f"  {tool:9} {should - len(missed)}/{should} hit" + (":" if missed else ""))
            for text in missed[:12]:
                print(f"    missed: {text}")
            if len(missed) > 12:
                print(f"    … and {len(missed) - 12} more")
    if "kiln" in totals and len(totals) > 1:
        peers = {t: v for t, v in totals.items() if t != "kiln" and v[1] == 0}
        if peers:
            best = min(peers, key=lambda t: peers[t][0])
            print(f"\ntotal fleet time: kiln {totals['kiln'][0]:.1f}s, best peer {best} {peers[best][0]:.1f}s:"
                  f" best peer / kiln = {peers[best][0] / totals['kiln'][0]:.2f}x (goal: >= 5x)")
            best_sum = min(peers, key=lambda t: peers[t][2])
            print(f"sum of build times: kiln {totals['kiln'][2]:.1f}s, best peer {best_sum} {peers[best_sum][2]:.1f}s:"
                  f" {peers[best_sum][2] / totals['kiln'][2]:.2f}x")


if __name__ == "__main__":
    main()
