#!/usr/bin/env bash
# Dockerfiles per second through Kiln's frontend (parse, and parse + typed instructions) over
# every Dockerfile of the conformance corpus, against Python's dockerfile-parse on the same
# files in the same run. Usage: bench/parse.sh [ITERATIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
iterations="${1:-20}"
corpus="${KILN_CONFORMANCE_DIR:-../shared/conformance}/dockerfile-corpus"

source bench/lib/kiln.sh
kiln_binary # KILN=path: that binary instead of a release build of this checkout
python3 -c 'import dockerfile_parse' 2>/dev/null || pip install -q dockerfile-parse >/dev/null

mapfile -t files < <(python3 -c '
import json, sys
for e in json.load(open(sys.argv[1] + "/manifest.json"))["entries"]:
    if e.get("category") == "dockerfile":
        print(sys.argv[1] + "/" + e["file"])
' "$corpus")
echo "corpus: ${#files[@]} Dockerfiles, $iterations iterations"

parse=$("$kiln" debug frontend-bench --parse-only --iterations "$iterations" "${files[@]}")
typed=$("$kiln" debug frontend-bench --iterations "$iterations" "${files[@]}")
baseline=$(python3 - "$iterations" "${files[@]}" <<'PY'
import io, sys, time
from dockerfile_parse import DockerfileParser
iterations, files = int(sys.argv[1]), sys.argv[2:]
data = [open(f, "rb").read() for f in files]
start = time.perf_counter()
for _ in range(iterations):
    for d in data:
        DockerfileParser(fileobj=io.BytesIO(d)).structure
seconds = time.perf_counter() - start
print(f"files={len(files)} iterations={iterations} seconds={seconds:.4f} per_second={int(len(files) * iterations / seconds)}")
PY
)
rate() { sed -n 's/.*per_second=\([0-9]*\).*/\1/p' <<<"$1"; }
echo "kiln parse:          $parse"
echo "kiln parse + typed:  $typed"
echo "dockerfile-parse:    $baseline"
python3 - "$(rate "$parse")" "$(rate "$typed")" "$(rate "$baseline")" "${#files[@]}" <<'PY'
import sys
parse, typed, base, count = map(int, sys.argv[1:])
print(f"ratio vs dockerfile-parse: parse {parse / base:.1f}x, parse+typed {typed / base:.1f}x")
print(f"whole corpus, parse+typed: {1000 * count / typed:.1f} ms")
PY
