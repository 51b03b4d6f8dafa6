#!/usr/bin/env bash
# Multi-platform builds (issue 16): the c-multistage program (25 C units, -O2, static) built for
# linux/arm64 on this amd64 machine, in the same run:
#
#  * emulated   the arm64 Debian's own gcc compiles, every compiler run under QEMU
#               (bench/workloads/c-platforms/Dockerfile.emulated)
#  * cross      a `FROM --platform=$BUILDPLATFORM` stage compiles with Debian's
#               aarch64-linux-gnu-gcc, no emulated step (Dockerfile.cross)
#  * both       the cross Dockerfile for linux/amd64,linux/arm64: one index
#
# each by `kiln build --platform …` and by `buildah bud --platform …` (the two-platform one with
# `--manifest`), cold (empty KILN_ROOT / buildah storage) every time. The runs are interleaved
# (every tool and workload once, then again) so that the machine's load falls on all alike; the
# median of RUNS runs is printed, with kiln/buildah and emulated/cross ratios.
#
# Bases come from a loopback docker-registry the script starts (and stops): busybox (amd64 and
# arm64, from Debian's busybox-static and busybox-static:arm64) as a two-platform index, an amd64
# Debian bookworm with gcc and the aarch64 cross gcc, and an arm64 Debian with gcc
# (`debootstrap --foreign`, second stage in a chroot under QEMU: several minutes, once). The
# root filesystems are kept in $KILN_BENCH_DIR.
#
# Needs root and a qemu-aarch64 binfmt_misc handler with the F flag (registered here from
# qemu-user-static's /usr/lib/binfmt.d/qemu-aarch64.conf when missing).
#
# Usage: bench/platforms.sh [RUNS]      (runs per measurement, default 3)
#   KILN=path          kiln binary (default: a release build of this checkout)
#   KILN_BENCH_DIR     work folder (default /tmp/kiln-bench); bases cached there
#   BUILDAH_DRIVER     buildah storage driver (default overlay)
#   CASES="a b"        a subset of: emulated cross both
#   KILN_DEBIAN_MIRROR the Debian mirror debootstrap reads (default http://deb.debian.org/debian)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
work="${KILN_BENCH_DIR:-/tmp/kiln-bench}/platforms"
driver="${BUILDAH_DRIVER:-overlay}"
cases=(${CASES:-emulated cross both})
mirror="${KILN_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
source scripts/lib/packages.sh
ensure_packages buildah jq skopeo docker-registry debootstrap busybox-static qemu-user-static python3

source bench/lib/kiln.sh
kiln_binary
mkdir -p "$work"

# --- QEMU for arm64 binaries: binfmt_misc with the F flag -------------------------------------------
binfmt=/proc/sys/fs/binfmt_misc
if ! grep -q '^flags:.*F' "$binfmt/qemu-aarch64" 2>/dev/null; then
    [ -e "$binfmt/register" ] || mount -t binfmt_misc binfmt_misc "$binfmt"
    [ -e "$binfmt/qemu-aarch64" ] && echo -1 > "$binfmt/qemu-aarch64"
    grep '^:' /usr/lib/binfmt.d/qemu-aarch64.conf > "$binfmt/register"
fi

# --- the loopback registry, stopped on exit (by its pid) ------------------------------------------
source bench/lib/loopback.sh
buildah_store="$work/buildah-storage"
cleanup() {
    stop_loopback
    buildah --storage-driver "$driver" --root "$buildah_store/root" --runroot "$buildah_store/runroot" rmi --all --force >/dev/null 2>&1 || true
    unmount_below "$work"
    rm -rf "$work/registry" "$work/context" "$work"/run-* "$buildah_store"
    return 0
}
trap cleanup EXIT
start_registry "$work/registry"

# --- base images ------------------------------------------------------------------------------------
# push_layout LAYOUT REF NAME: a kiln-imported layout to $registry/base/NAME.
push_layout() { skopeo copy -q --dest-tls-verify=false "oci:$1:$2" "docker://$registry/base/$3"; }
# import_base NAME ROOTFS PLATFORM: kiln import ROOTFS once (kept), pushed as base/NAME:latest.
import_base() {
    local layout="$work/base-$1"
    if [ ! -f "$layout/index.json" ]; then
        SOURCE_DATE_EPOCH=0 "$kiln" import "$2" --platform "$3" --output "type=oci,dest=$layout" --tag "$1:latest" \
            --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" --change 'CMD ["sh"]' >/dev/null
    fi
    push_layout "$layout" latest "$1:latest"
}
# debootstrap_base ROOTFS ARGS…: debootstrap once (kept when it finished before).
debootstrap_base() {
    local root="$1"; shift
    [ -f "$root/.bench-complete" ] && return 0
    rm -rf "$root"
    echo "making $(basename "$root") with debootstrap (once; kept in $work)"
    debootstrap --variant=minbase "$@" bookworm "$root" "$mirror" >"$root.log" 2>&1 \
        || { echo "debootstrap failed, see $root.log" >&2; exit 1; }
    if [ -f "$root/debootstrap/debootstrap" ]; then
        # --foreign: the second stage runs the arm64 maintainer scripts under QEMU. Inside a
        # container the first stage makes /proc a symlink; chroot needs a directory there.
        [ -L "$root/proc" ] && rm "$root/proc" && mkdir "$root/proc"
        chroot "$root" /debootstrap/debootstrap --second-stage >>"$root.log" 2>&1 \
            || { echo "the second stage failed, see $root.log" >&2; exit 1; }
    fi
    rm -rf "$root"/var/cache/apt/archives/*.deb
    touch "$root/.bench-complete"
}
make_busybox_rootfs "$work/busybox-amd64-rootfs"
if [ ! -x "$work/busybox-arm64-rootfs/bin/busybox" ]; then
    rm -rf "$work/busybox-arm64-deb" && mkdir -p "$work/busybox-arm64-deb"
    (cd "$work/busybox-arm64-deb" && apt-get download -qq busybox-static:arm64)
    dpkg-deb -x "$work"/busybox-arm64-deb/*.deb "$work/busybox-arm64-deb/tree"
    cp -a "$work/busybox-amd64-rootfs" "$work/busybox-arm64-rootfs"
    cp "$work/busybox-arm64-deb/tree/bin/busybox" "$work/busybox-arm64-rootfs/bin/busybox"
fi
debootstrap_base "$work/debian-cross-rootfs" --include=gcc,libc6-dev,gcc-aarch64-linux-gnu,libc6-dev-arm64-cross
import_base busybox-amd64 "$work/busybox-amd64-rootfs" linux/amd64
import_base busybox-arm64 "$work/busybox-arm64-rootfs" linux/arm64
import_base debian-cross "$work/debian-cross-rootfs" linux/amd64
if [[ " ${cases[*]} " == *" emulated "* ]]; then
    debootstrap_base "$work/debian-arm64-gcc-rootfs" --foreign --arch=arm64 --include=gcc,libc6-dev
    import_base debian-arm64-gcc "$work/debian-arm64-gcc-rootfs" linux/arm64
fi
# The busybox pair as one index, joined by buildah (not by the Kiln under test).
buildah_args=(--storage-driver "$driver" --root "$buildah_store/root" --runroot "$buildah_store/runroot")
buildah "${buildah_args[@]}" manifest create bench-busybox >/dev/null
for arch in amd64 arm64; do
    buildah "${buildah_args[@]}" manifest add --tls-verify=false bench-busybox "docker://$registry/base/busybox-$arch:latest" >/dev/null
done
buildah "${buildah_args[@]}" manifest push -q --all --tls-verify=false bench-busybox "docker://$registry/base/busybox:latest"
buildah "${buildah_args[@]}" rmi --all --force >/dev/null 2>&1 || true
build_args=(--build-arg "BASE=$registry/base/busybox:latest" --build-arg "CROSS=$registry/base/debian-cross:latest"
            --build-arg "NATIVE=$registry/base/debian-arm64-gcc:latest")
rm -rf "$work/context" && cp -rL bench/workloads/c-platforms "$work/context"

# --- the cases: CASE → Dockerfile and platforms -------------------------------------------------------
dockerfile_of() { case "$1" in emulated) echo Dockerfile.emulated ;; *) echo Dockerfile.cross ;; esac; }
platforms_of() { case "$1" in both) echo linux/amd64,linux/arm64 ;; *) echo linux/arm64 ;; esac; }
# kiln_cmd CASE RUN: one cold Kiln build (its own root and output).
kiln_cmd() {
    local dir="$work/run-kiln-$1-$2"
    printf 'rm -rf %q && KILN_ROOT=%q %q build --progress plain --platform %s -f %q --metadata-file %q --output type=oci,dest=%q,name=bench:latest' \
        "$dir" "$dir/root" "$kiln" "$(platforms_of "$1")" "$work/context/$(dockerfile_of "$1")" "$dir.metadata.json" "$dir/out"
    printf ' %q' "${build_args[@]}" "$work/context"
    printf ' >%q 2>&1' "$dir.log"
}
# buildah_cmd CASE RUN: one cold buildah build (empty storage; --manifest for two platforms).
buildah_cmd() {
    local dir="$work/run-buildah-$1-$2" store="$buildah_store"
    printf 'buildah --storage-driver %s --root %q --runroot %q rmi --all --force >/dev/null 2>&1; rm -rf %q; ' \
        "$driver" "$store/root" "$store/runroot" "$store"
    printf 'buildah --storage-driver %s --root %q --runroot %q bud --isolation chroot --tls-verify=false --platform %s -f %q' \
        "$driver" "$store/root" "$store/runroot" "$(platforms_of "$1")" "$work/context/$(dockerfile_of "$1")"
    if [ "$1" = both ]; then printf ' --manifest bench-%s' "$2"; else printf ' -t bench-%s' "$2"; fi
    printf ' %q' "${build_args[@]}" "$work/context"
    printf ' >%q 2>&1' "$dir.log"
}
# seconds COMMAND: wall time of one run (nonzero status: prints nothing, fails).
seconds() {
    local start end
    start=$(date +%s.%N)
    bash -c "$1" || return 1
    end=$(date +%s.%N)
    python3 -c "print(f'{$end - $start:.2f}')"
}

results="$work/results.tsv"
: > "$results"
echo "$(nproc) cores; cold builds, median of $runs interleaved run(s); kiln $("$kiln" --version 2>/dev/null || echo '?'), buildah $(buildah --version | cut -d' ' -f3) (chroot isolation, $driver storage)"
for run in $(seq "$runs"); do
    for c in "${cases[@]}"; do
        for tool in kiln buildah; do
            if ! t=$(seconds "$(${tool}_cmd "$c" "$run")"); then
                echo "$tool $c (run $run) failed:" >&2; tail -20 "$work/run-$tool-$c-$run.log" >&2; exit 1
            fi
            printf '%s\t%s\t%s\t%s\n' "$c" "$tool" "$run" "$t" >> "$results"
            # Kiln's own count of emulated steps (from --metadata-file), a check on the case.
            if [ "$tool" = kiln ] && [ -f "$work/run-kiln-$c-$run.metadata.json" ]; then
                emulated=$(jq '[."kiln.steps"[]? | select(.emulated == true)] | length' "$work/run-kiln-$c-$run.metadata.json")
                printf '%s\tkiln-emulated-steps\t%s\t%s\n' "$c" "$run" "$emulated" >> "$results"
            fi
            rm -rf "$work/run-kiln-$c-$run"
        done
    done
done

python3 - "$results" <<'PY'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
def values(case, tool):
    return [float(r[3]) for r in rows if r[0] == case and r[1] == tool]
def median(case, tool):
    v = values(case, tool)
    return statistics.median(v) if v else None
def show(x): return "n/a" if x is None else f"{x:7.2f}"
def ratio(a, b): return "n/a" if a is None or b is None or b == 0 else f"{a / b:5.2f}"
labels = {"emulated": "arm64, gcc under QEMU", "cross": "arm64, cross gcc", "both": "amd64+arm64, cross gcc"}
print(f"{'case':32} {'kiln s':>8} {'buildah s':>10} {'kiln/buildah':>13} {'kiln emulated steps':>20}")
for case in labels:
    if not values(case, "kiln"): continue
    k, b = median(case, "kiln"), median(case, "buildah")
    e = sorted({int(float(r[3])) for r in rows if r[0] == case and r[1] == "kiln-emulated-steps"})
    print(f"{labels[case]:32} {show(k):>8} {show(b):>10} {ratio(k, b):>13} {','.join(map(str, e)) or 'n/a':>20}")
for tool in ("kiln", "buildah"):
    e, c = median("emulated", tool), median("cross", tool)
    if e is not None and c is not None:
        print(f"{tool}: emulated/cross = {ratio(e, c)} (arm64 only)")
PY
