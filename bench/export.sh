#!/usr/bin/env bash
# What an OCI-layout export costs: a ~500 MB image (one uncompressed layer of the 500 MB bench
# tree, so the blob is ~500 MB) is built once (its base read from an OCI layout into the
# store), then rebuilt warm, best of RUNS, exporting with `--output type=oci,dest=DIR`:
#   * to a new directory each time: every blob copied (and, as store blobs are verified while
#     they are read, hashed) into the new layout, fsynced;
#   * to the same directory again (the default ./kiln-out case): blobs already there are
#     checked, not copied.
# Every `kiln build` exports (no output means ./kiln-out), so there is no export-free baseline;
# the same steps done by coreutils are printed instead: `cp` + `sync` of the blobs, and
# `sha256sum` of them. Run it with two kiln binaries (KILN=…) to compare them.
#
# Usage: bench/export.sh [RUNS]   (best of RUNS, default 3)
#   KILN=path        kiln binary (default: a release build of this checkout)
#   KILN_BENCH_DIR   work folder (default /tmp/kiln-bench); the tree and base layout are kept there
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
work="${KILN_BENCH_DIR:-/tmp/kiln-bench}"
source bench/lib/kiln.sh
kiln_binary
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

# best CMD...: runs CMD $runs times ($run/out wiped before each), prints the best wall time.
best() {
    local best_time="" start end t
    for _ in $(seq "$runs"); do
        [ -n "${keep:-}" ] || rm -rf "$run/out"
        sync
        start=$(date +%s.%N); "$@" >/dev/null 2>&1; end=$(date +%s.%N)
        t=$(python3 -c "print(f'{$end - $start:.3f}')")
        if [ -z "$best_time" ] || python3 -c "import sys; sys.exit(0 if $t < $best_time else 1)"; then best_time=$t; fi
    done
    echo "$best_time"
}
best_keep() { keep=1 best "$@"; }
fresh=$(best "${build[@]}" --output "type=oci,dest=$run/out")
"${build[@]}" --output "type=oci,dest=$run/same" >/dev/null 2>&1
same=$(best_keep "${build[@]}" --output "type=oci,dest=$run/same")
links=$( (find "$run/same" -type f -links +1 || true) | wc -l)
copy=$(best bash -c "mkdir -p '$run/out' && cp -r '$run/cold/blobs' '$run/out/' && sync -f '$run/out'")
hash=$(best bash -c "sha256sum '$run'/cold/blobs/sha256/* >/dev/null")
python3 - "$fresh" "$same" "$copy" "$hash" "$links" <<'PY'
import sys
fresh, same, copy, hash_ = map(float, sys.argv[1:5]); links = int(sys.argv[5])
print(f"kiln build (warm), --output oci to a new directory     {fresh:7.2f} s")
print(f"kiln build (warm), --output oci to the same directory  {same:7.2f} s")
print(f"baseline: cp -r blobs + sync                            {copy:7.2f} s")
print(f"baseline: sha256sum blobs                               {hash_:7.2f} s")
print(f"layout blobs hard-linked to the store: {links}")
PY
rm -rf "$run"
