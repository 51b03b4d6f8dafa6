#!/usr/bin/env bash
# Registry transfers against `skopeo copy`, in the same run, against the same loopback
# docker-registry, on the same images:
#
#  * "debian": a debootstrap --variant=minbase bookworm tree from the Debian mirror (imported
#    once with `kiln import`); when debootstrap cannot fetch, a synthetic ~150 MB tree instead
#    (the script says which)
#  * "debian+500M": the same with an extra ~500 MB layer (bench/make-tree.py, a quarter
#    incompressible), added as a second layer by bench/add-layer.py
#
# For each: pull to an OCI layout, push from an OCI layout (each push to a fresh registry, so
# neither tool can skip or mount blobs it saw before), copy to another repository of the same
# registry (mounts: should cost about its manifests), and copy to a second, fresh registry.
#
# Usage: bench/registry.sh [RUNS]   (best of RUNS, default 3; images kept in $KILN_BENCH_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
work="${KILN_BENCH_DIR:-/tmp/kiln-bench-registry}"
source scripts/lib/packages.sh
ensure_packages skopeo docker-registry debootstrap python3 pigz

source bench/lib/kiln.sh
kiln_binary # KILN=path: that binary instead of a release build of this checkout
mkdir -p "$work"
export KILN_ROOT="$work/kiln-root" DOCKER_CONFIG="$work/docker-config" XDG_CONFIG_HOME="$work/xdg"

# --- images (made once) ---
layout="$work/layout"
if [ ! -f "$layout/index.json" ]; then
    rootfs="$work/debian-rootfs"
    if [ ! -d "$rootfs" ]; then
        if debootstrap --variant=minbase bookworm "$rootfs.tmp" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1; then
            mv "$rootfs.tmp" "$rootfs"
        else
            echo "debootstrap could not fetch (see $work/debootstrap.log): using a synthetic 150 MB tree" >&2
            rm -rf "$rootfs.tmp"
            python3 bench/make-tree.py "$rootfs" 8000 150
        fi
    fi
    SOURCE_DATE_EPOCH=0 "$kiln" import "$rootfs" --output "type=oci,dest=$layout" --tag debian:base >/dev/null
    [ -d "$work/big-tree" ] || python3 bench/make-tree.py "$work/big-tree" 400 500
    # The extra layer: GNU tar + pigz under /data, appended to the base image's manifest and
    # config by bench/add-layer.py (umoci insert wrote a truncated tar for this tree).
    tar -C "$work/big-tree" --sort=name --transform 's,^\.,data,' -cf - . | pigz -6 > "$work/big-layer.tar.gz"
    python3 bench/add-layer.py "$layout" base big "$work/big-layer.tar.gz"
    rm -f "$work/big-layer.tar.gz"
fi
echo "images: debian $(du -sm "$work/debian-rootfs" 2>/dev/null | cut -f1) MB unpacked; layout $(du -sm "$layout" | cut -f1) MB; best of $runs runs; $(nproc) cores"

# --- registries ---
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"/registry-*; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# start_registry: starts a fresh registry; sets $port and $registry_pid.
start_registry() {
    port=$(free_port)
    local dir="$work/registry-$port"
    mkdir -p "$dir/storage"
    cat >"$dir/config.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $dir/storage}, delete: {enabled: true}, maintenance: {uploadpurging: {enabled: false}}}
http: {addr: 127.0.0.1:$port, secret: bench}
YML
    docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
    registry_pid=$!
    pids+=("$registry_pid")
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && return 0; sleep 0.1; done
    echo "registry did not start" >&2; exit 1
}
stop_registry() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; rm -rf "$work/registry-$2"; }

start_registry; main=$port
for tag in base big; do
    skopeo copy -q --dest-tls-verify=false "oci:$layout:$tag" "docker://127.0.0.1:$main/src/debian:$tag"
done

# best CMD...: runs CMD $runs times (with $run set, $work/out wiped first) and prints the best wall time.
best() {
    local best_time="" start end t
    for run in $(seq "$runs"); do
        export run
        rm -rf "$work/out"
        start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N)
        t=$(python3 -c "print(f'{$end - $start:.3f}')")
        if [ -z "$best_time" ] || python3 -c "import sys; sys.exit(0 if $t < $best_time else 1)"; then best_time=$t; fi
    done
    rm -rf "$work/out"
    echo "$best_time"
}
# A push (from the layout) or a copy (from the main registry) to a registry that has never
# seen the blobs, started fresh for every run: skopeo's blob-info cache cannot turn the
# transfer into a mount of an earlier run's copy, nor Kiln skip blobs an earlier run left.
to_fresh() {
    local kind=$1 tool=$2 tag=$3 pid p start end
    start_registry; pid=$registry_pid; p=$port
    local target="127.0.0.1:$p/fresh/debian:$tag" src="127.0.0.1:$main/src/debian:$tag"
    start=$(date +%s.%N)
    case "$kind-$tool" in
        push-kiln) "$kiln" push "oci:$layout:$tag" "$target" >/dev/null ;;
        push-skopeo) skopeo copy -q --dest-tls-verify=false "oci:$layout:$tag" "docker://$target" >/dev/null ;;
        copy-kiln) "$kiln" copy "$src" "$target" >/dev/null ;;
        copy-skopeo) skopeo copy -q --src-tls-verify=false --dest-tls-verify=false "docker://$src" "docker://$target" >/dev/null ;;
    esac
    end=$(date +%s.%N)
    stop_registry "$pid" "$p"
    python3 -c "print(f'{$end - $start:.3f}')"
}
best_fresh() {
    local best_time="" t
    for _ in $(seq "$runs"); do
        t=$(to_fresh "$@")
        if [ -z "$best_time" ] || python3 -c "import sys; sys.exit(0 if $t < $best_time else 1)"; then best_time=$t; fi
    done
    echo "$best_time"
}

results=()
for tag in base big; do
    src="127.0.0.1:$main/src/debian:$tag"
    sk_pull=$(best skopeo copy -q --src-tls-verify=false "docker://$src" "oci:$work/out:$tag")
    kn_pull=$(best "$kiln" pull "$src" --output "type=oci,dest=$work/out")
    # Unpacked: skopeo + umoci (download, then unpack) against Kiln's overlapped pull, blob cache emptied.
    sk_root=$(best bash -c "skopeo copy -q --src-tls-verify=false docker://$src oci:$work/out-layout:$tag && umoci raw unpack --image $work/out-layout:$tag $work/out; rm -rf $work/out-layout")
    kn_root=$(best bash -c "rm -rf '$KILN_ROOT'; '$kiln' pull $src --output type=rootfs,dest=$work/out")
    sk_push=$(best_fresh push skopeo "$tag")
    kn_push=$(best_fresh push kiln "$tag")
    sk_copy=$(best bash -c "skopeo copy -q --src-tls-verify=false --dest-tls-verify=false docker://$src docker://127.0.0.1:$main/skopeo-copy-\$run/debian:$tag")
    kn_copy=$(best bash -c "'$kiln' copy $src 127.0.0.1:$main/kiln-copy-\$run/debian:$tag")
    sk_far=$(best_fresh copy skopeo "$tag")
    kn_far=$(best_fresh copy kiln "$tag")
    size=$(skopeo inspect --raw --tls-verify=false "docker://$src" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(l["size"] for l in d["layers"]) // 1048576)')
    results+=("$tag $size $sk_pull $kn_pull $sk_root $kn_root $sk_push $kn_push $sk_copy $kn_copy $sk_far $kn_far")
done

python3 - "${results[@]}" <<'PY'
import sys
names = {"base": "debian", "big": "debian+500M"}
print(f"{'image':<12} {'MB gz':>5}  {'operation':<28} {'skopeo':>8} {'kiln':>8}  skopeo/kiln")
for row in sys.argv[1:]:
    tag, size, *t = row.split()
    t = list(map(float, t))
    for i, op in enumerate(["pull to OCI layout", "pull to rootfs (+umoci)", "push from OCI layout", "copy, same registry (mount)", "copy to another registry"]):
        s, k = t[2 * i], t[2 * i + 1]
        print(f"{names[tag]:<12} {size:>5}  {op:<28} {s:7.2f}s {k:7.2f}s  {s / k:5.2f}x")
print("(>1x: Kiln faster. Goal: >= 1x on each; same-registry copy about the cost of its manifests.)")
PY
