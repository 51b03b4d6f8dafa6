#!/usr/bin/env bash
# A big build context, unchanged, built again: what it costs Kiln to decide that a
# `COPY . /ctx` of ~20,000 files / ~500 MB is unchanged (the COPY's content digest, every file
# hash answered by the memo in $KILN_ROOT/cache/context-digests), against reading every byte
# of the context once — what a builder without the memo must do to key the step
# (`tar -c | sha256sum`, run in the same session on the same tree).
#
# Usage: [KILN=…] bench/context.sh [RUNS]   (hyperfine runs, default 3; the tree is kept in $KILN_BENCH_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
work="${KILN_BENCH_DIR:-/tmp/kiln-bench}/context"
command -v hyperfine >/dev/null || { echo "bench/context.sh needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }

source bench/lib/kiln.sh
kiln_binary # KILN=path: a kiln binary built elsewhere (another --scratch-path, an earlier commit)

mkdir -p "$work"
if [ ! -d "$work/tree/d00" ]; then
    echo "making a ~500 MB / 20,000-file context in $work/tree" >&2
    rm -rf "$work/tree"
    python3 bench/make-tree.py "$work/tree" 20000 500
fi
printf 'FROM scratch\nCOPY . /ctx\n' >"$work/Dockerfile"
export KILN_ROOT="$work/root"
rm -rf "$KILN_ROOT" "$work/out"

build() { "$kiln" build --progress plain --compression zstd -f "$work/Dockerfile" --output "type=oci,dest=$work/out" "$work/tree"; }
echo "cold build (hashes every file, writes the layer):" >&2
/usr/bin/time -f "  %e s, peak RSS %M KB" bash -c "$(declare -f build); kiln='$kiln' work='$work' build" >/dev/null 2>"$work/cold.txt" || { cat "$work/cold.txt"; exit 1; }
tail -1 "$work/cold.txt"

hyperfine --runs "$runs" --warmup 1 --export-json "$work/hyperfine.json" \
    -n "kiln build, unchanged context" "rm -rf '$work/out'; '$kiln' build --progress plain --compression zstd -f '$work/Dockerfile' --output 'type=oci,dest=$work/out' '$work/tree' 2>/dev/null" \
    -n "tar -c | sha256sum (read every byte)" "tar -C '$work/tree' -cf - . | sha256sum >/dev/null"

python3 - "$work/hyperfine.json" <<'PY'
import json, sys
results = {r["command"]: r["mean"] for r in json.load(open(sys.argv[1]))["results"]}
kiln = results["kiln build, unchanged context"]
base = results["tar -c | sha256sum (read every byte)"]
print(f"unchanged-context rebuild: kiln {kiln:.3f} s, reading the context {base:.3f} s, ratio kiln/baseline {kiln / base:.2f}")
PY
