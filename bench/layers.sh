#!/usr/bin/env bash
# Layer writing and snapshotting on this machine, with the baselines measured in the same run.
#
#  * one layer from a ~500 MB tree of ~20,000 mixed files (a quarter incompressible):
#    `kiln import` (walk + tar + compress + both digests + store, all in one pass) with gzip
#    (parallel, all cores), zstd and none, against `tar -c | gzip`, `tar -c | pigz`, `tar -c | zstd`
#  * snapshot + diff of the same tree, unchanged (what Kiln does after every RUN)
#  * Kiln's peak memory while writing a 2 GB layer
#
# Usage: bench/layers.sh [RUNS]   (best of RUNS, default 3; trees are kept in $KILN_BENCH_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
work="${KILN_BENCH_DIR:-/tmp/kiln-bench}"
source scripts/lib/packages.sh
ensure_packages pigz zstd time python3

source bench/lib/kiln.sh
kiln_binary # KILN=path: that binary instead of a release build of this checkout
mkdir -p "$work"
tree="$work/tree-500m"
big="$work/tree-2g"
[ -d "$tree" ] || python3 bench/make-tree.py "$tree" 20000 500
[ -d "$big" ] || python3 bench/make-tree.py "$big" 400 2048
tar -C "$tree" -cf /dev/null . # page cache warm for every contender alike
echo "tree: $(du -sm "$tree" | cut -f1) MB, $(find "$tree" -type f | wc -l) files; best of $runs runs; $(nproc) cores"

# best CMD...: runs CMD $runs times (output dir wiped before each) and prints the best wall time.
best() {
    local best_time="" start end t
    for _ in $(seq "$runs"); do
        rm -rf "$work/out"
        start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N)
        t=$(python3 -c "print(f'{$end - $start:.3f}')")
        if [ -z "$best_time" ] || python3 -c "import sys; sys.exit(0 if $t < $best_time else 1)"; then best_time=$t; fi
    done
    echo "$best_time"
}
# Kiln fsyncs every blob it stores (temp file + fsync + rename), so each baseline syncs its
# output file too: the same durability on both sides.
gzip_base=$(best bash -c "tar -C '$tree' -cf - . | gzip -6 > '$work/base.tgz' && sync '$work/base.tgz'")
pigz_base=$(best bash -c "tar -C '$tree' -cf - . | pigz -6 > '$work/base.tgz' && sync '$work/base.tgz'")
zstd_base=$(best bash -c "tar -C '$tree' -cf - . | zstd -3 -T0 -q > '$work/base.tzst' && sync '$work/base.tzst'")
kiln_gzip=$(best "$kiln" import "$tree" --output "type=oci,dest=$work/out" --compression gzip)
kiln_zstd=$(best "$kiln" import "$tree" --output "type=oci,dest=$work/out" --compression zstd)
kiln_none=$(best "$kiln" import "$tree" --output "type=oci,dest=$work/out" --compression none)
rm -f "$work/base.tgz" "$work/base.tzst"
snapshot=$("$kiln" debug snapshot-diff "$tree")
rm -rf "$work/out"
peak_kb=$( { /usr/bin/time -f "%M" "$kiln" import "$big" --output "type=oci,dest=$work/out" --compression gzip >/dev/null; } 2>&1 | tail -1)
rm -rf "$work/out"

python3 - "$gzip_base" "$pigz_base" "$zstd_base" "$kiln_gzip" "$kiln_zstd" "$kiln_none" "$peak_kb" "$snapshot" <<'PY'
import sys
g, p, z, kg, kz, kn = map(float, sys.argv[1:7]); peak = int(sys.argv[7]) / 1024; snap = sys.argv[8]
print("(each baseline ends with `sync FILE`: Kiln's blobs are fsynced too)")
print(f"tar | gzip -6          {g:7.2f} s   (baseline)")
print(f"tar | pigz -6          {p:7.2f} s   {g / p:4.2f}x gzip")
print(f"tar | zstd -3 -T0      {z:7.2f} s   {g / z:4.2f}x gzip")
print(f"kiln import, gzip      {kg:7.2f} s   {g / kg:4.2f}x gzip, {p / kg:4.2f}x pigz   (goal: >= 1.7x gzip)")
print(f"kiln import, zstd      {kz:7.2f} s   {g / kz:4.2f}x gzip, {z / kz:4.2f}x tar|zstd   (goal: faster than kiln gzip)")
print(f"kiln import, none      {kn:7.2f} s")
print(f"snapshot + diff, unchanged tree: {snap}   (goal: snapshot_plus_diff < 0.3 s)")
print(f"peak memory writing a 2 GB gzip layer: {peak:.0f} MB   (goal: < 200 MB)")
PY
