#!/usr/bin/env bash
# What an OCI-layout export costs: a ~500 MB image (one uncompressed layer of the 500 MB bench
# tree, so the blob is ~500 MB) is built once (its base read from an OCI layout into the
# store), then rebuilt warm, best of RUNS, with and without `--output type=oci,dest=NEW_DIR`.
# The difference is the export: copying (and, since exports verify store blobs, hashing) every
# blob into the new layout, plus fsyncs. Run it with two kiln binaries to compare them.
#
# Usage: bench/export.sh [RUNS]   (best of RUNS, default 3)
#   KILN=path        kiln binary (default: a release build of this checkout)
#   KILN_BENCH_DIR   work folder (default /tmp/kiln-bench); the tree and base layout are kept there
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
work="${KILN_BENCH_DIR:-/tmp/kiln-bench}"
if [ -n "${KILN:-}" ]; then
    kiln="$KILN"
else
    swift build -c release --product kiln >/dev/null
    kiln="$(swift build -c release --show-bin-path)/kiln"
fi
mkdir -p "$work"
tree="$work/tree-500m"
base="$work/export-base"
[ -d "$tree" ] || python3 bench/make-tree.py "$tree" 20000 500
[ -d "$base" ] || "$kiln" import "$tree" --output "type=oci,dest=$base" --tag bench-export:latest --compression none >/dev/null

run="$work/export-run"
rm -rf "$run"
mkdir -p "$run/context"
printf 'FROM bench-base\nLABEL bench=export\n' > "$run/context/Dockerfile"
export KILN_ROOT="$run/root"
build=("$kiln" build --progress plain --build-context "bench-base=oci-layout://$base:latest" "$run/context")
"${build[@]}" --output "type=oci,dest=$run/cold" >/dev/null 2>&1   # the store now holds the blobs
echo "image: $(du -sm "$run/cold/blobs" | cut -f1) MB of blobs; best of $runs runs; $(nproc) cores; kiln: $kiln"

# best CMD...: runs CMD $runs times (the output directory wiped before each), prints the best wall time.
best() {
    local best_time="" start end t
    for _ in $(seq "$runs"); do
        rm -rf "$run/out"; sync
        start=$(date +%s.%N); "$@" >/dev/null 2>&1; end=$(date +%s.%N)
        t=$(python3 -c "print(f'{$end - $start:.3f}')")
        if [ -z "$best_time" ] || python3 -c "import sys; sys.exit(0 if $t < $best_time else 1)"; then best_time=$t; fi
    done
    echo "$best_time"
}
without=$(best "${build[@]}")
with=$(best "${build[@]}" --output "type=oci,dest=$run/out")
links=$(find "$run/cold/blobs" -type f -links +1 | wc -l)
python3 - "$without" "$with" "$links" <<'PY'
import sys
without, with_, links = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
print(f"warm build, no output        {without:7.2f} s")
print(f"warm build, --output oci     {with_:7.2f} s")
print(f"export cost                  {with_ - without:7.2f} s")
print(f"layout blobs hard-linked to the store: {links}")
PY
rm -rf "$run"
