#!/usr/bin/env bash
# `kiln build` against `buildah bud --layers`, in the same run, on the workloads of bench/workloads:
#
#  * tiny          busybox base: COPY, a quick RUN, metadata
#  * c-multistage  gcc in a debootstrap Debian stage (24 units, -O2, static), copied onto busybox
#  * python-app    python3 on the Debian base: COPY, compileall, a self-test
#  * many-files    one RUN writing ~20,000 files / ~500 MB on the Debian base
#
# Each workload is built cold (empty storage / KILN_ROOT) and warm (the same build again,
# nothing changed). buildah is timed with hyperfine (mean). Kiln is timed once per isolation
# mode (issue 13) and run: `--isolation root`, `rootless` (the same kiln run as a non-root user,
# kiln-bench, made here with its own /etc/subuid and /etc/subgid range) and `chroot` (forced),
# interleaved run by run (root, rootless, chroot, then the other way round) so that the machine's
# load falls on every mode alike; the median of RUNS runs is printed. Every mode builds with
# `--network none`: rootless default networking needs /dev/net/tun, which only root may open here,
# and the workloads need no network. A mode that cannot build here prints n/a and why.
# Printed: per-workload times, kiln (root)/buildah ratios (goal: cold <= 1.0, warm <= 0.33),
# per-mode times with mode/root ratios (goal: rootless <= 1.2), and Kiln's per-step overhead
# from its --metadata-file per mode (step time split into rootfs, command and layer).
#
# Bases come from a loopback docker-registry the script starts (and stops): busybox-static and
# a `debootstrap --variant=minbase` Debian bookworm with gcc, libc6-dev and python3-minimal,
# made once and kept in $KILN_BENCH_DIR. Both tools pull them from there.
#
# Usage: bench/build.sh [RUNS]       (runs per measurement, default 5)
#   KILN=path          kiln binary (default: a release build of this checkout)
#   KILN_BENCH_DIR     work folder (default /tmp/kiln-bench); bases and rootfs cached there
#   BUILDAH_DRIVER     buildah storage driver (default overlay, buildah's own default)
#   WORKLOADS="a b"    a subset of the workloads
#   MODES="root rootless chroot"  a subset of Kiln's isolation modes
#   KILN_BENCH_BUILDAH_ONLY=1   only buildah's half (also automatic while `kiln build` is missing)
#   KILN_BENCH_BASE_FROM_LAYOUT=1  Kiln reads the bases from their OCI layouts (--build-context
#                  REF=oci-layout://…) instead of pulling them: for a Kiln that cannot pull yet
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
runs="${1:-5}"
work="${KILN_BENCH_DIR:-/tmp/kiln-bench}/build"
driver="${BUILDAH_DRIVER:-overlay}"
workloads=(${WORKLOADS:-tiny c-multistage python-app many-files})
modes=(${MODES:-root rootless chroot})
source scripts/lib/packages.sh
ensure_packages buildah hyperfine jq skopeo docker-registry debootstrap busybox-static python3

if [ -n "${KILN:-}" ]; then
    kiln="$KILN"
else
    swift build -c release --product kiln >/dev/null
    kiln="$(swift build -c release --show-bin-path)/kiln"
fi
with_kiln=1
if [ -n "${KILN_BENCH_BUILDAH_ONLY:-}" ] || ! "$kiln" build --help 2>/dev/null | grep -q "USAGE: kiln build"; then
    with_kiln=0
    echo "note: only buildah's half runs ($kiln has no 'kiln build' or KILN_BENCH_BUILDAH_ONLY is set)"
fi
mkdir -p "$work"

# --- the loopback registry, stopped on exit (by its pid) -------------------------------------
source bench/lib/loopback.sh
cleanup() {
    stop_loopback
    rm -rf "$work/registry" "$work/contexts" "$work/out" "$work"/kiln-mode-*
    return 0
}
trap cleanup EXIT
start_registry "$work/registry"

# --- base images -------------------------------------------------------------------------------
busybox_root="$work/busybox-rootfs"
make_busybox_rootfs "$busybox_root"
debian_root="$work/debian-rootfs"
if [ ! -x "$debian_root/usr/bin/gcc" ]; then
    rm -rf "$debian_root"
    echo "making the Debian base with debootstrap (once; kept in $debian_root)"
    debootstrap --variant=minbase --include=gcc,libc6-dev,python3-minimal bookworm "$debian_root" \
        http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
        || { echo "debootstrap failed, see $work/debootstrap.log" >&2; exit 1; }
    rm -rf "$debian_root"/var/cache/apt/archives/*.deb
fi
# import NAME ROOTFS: a base image in the registry as $registry/base/NAME:latest.
import_base() {
    local layout="$work/base-$1"
    if [ ! -f "$layout/index.json" ]; then
        SOURCE_DATE_EPOCH=0 "$kiln" import "$2" --output "type=oci,dest=$layout" --tag "$1:latest" \
            --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
            --change 'CMD ["sh"]' >/dev/null
    fi
    skopeo copy -q --dest-tls-verify=false "oci:$layout:latest" "docker://$registry/base/$1:latest"
}
import_base busybox "$busybox_root"
import_base debian "$debian_root"
build_args=(--build-arg "BASE=$registry/base/busybox:latest" --build-arg "DEBIAN=$registry/base/debian:latest")
kiln_contexts=()
if [ -n "${KILN_BENCH_BASE_FROM_LAYOUT:-}" ]; then
    kiln_contexts=(--build-context "$registry/base/busybox:latest=oci-layout://$work/base-busybox:latest"
                   --build-context "$registry/base/debian:latest=oci-layout://$work/base-debian:latest")
fi

# Contexts are copied (links resolved) so that a workload can include shared files.
rm -rf "$work/contexts"
mkdir -p "$work/contexts"
for w in "${workloads[@]}"; do cp -rL "bench/workloads/$w" "$work/contexts/$w"; done
[ -d "$work/contexts/many-files" ] && cp bench/make-tree.py "$work/contexts/many-files/"

# --- measuring -----------------------------------------------------------------------------------
# measure NAME PREPARE COMMAND: hyperfine's mean wall time in seconds for COMMAND, PREPARE before each run.
measure() {
    local json="$work/hyperfine-$1.json"
    hyperfine --style none --runs "$runs" --prepare "$2" --export-json "$json" "$3" >/dev/null 2>"$work/hyperfine-$1.err" \
        || { echo "$1 failed: $3" >&2; tail -5 "$work/hyperfine-$1.err" >&2; tail -20 "$work"/kiln-*.log 2>/dev/null >&2 || true; exit 1; }
    jq -r '.results[0].mean' "$json"
}
buildah_store="$work/buildah-storage"
buildah_cmd() {
    printf 'buildah --storage-driver %s --root %q --runroot %q bud --isolation chroot --format docker --layers --tls-verify=false' \
        "$driver" "$buildah_store/root" "$buildah_store/runroot"
    printf ' %q' "${build_args[@]}" -t "bench-$1" -q "$work/contexts/$1"
    printf ' >/dev/null'
}
buildah_reset="buildah --storage-driver $driver --root $buildah_store/root --runroot $buildah_store/runroot rmi --all --force >/dev/null 2>&1; rm -rf $buildah_store"
# --- Kiln, one column per isolation mode ------------------------------------------------------------
# Each mode has its own root, output and metadata under $work/kiln-mode-MODE (the rootless user's).
bench_user=kiln-bench
if [[ " ${modes[*]} " == *" rootless "* ]] && ! id -u "$bench_user" >/dev/null 2>&1; then
    # As the tests' TestUser does: no automatic ranges, then one range of its own.
    useradd --create-home --shell /bin/sh -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$bench_user"
    usermod --add-subuids 400000-465535 --add-subgids 400000-465535 "$bench_user"
fi
# kiln_cmd MODE WORKLOAD cold|warm|probe [CONTEXT]: the command line of one build.
kiln_cmd() {
    local dir="$work/kiln-mode-$1" context="${4:-$work/contexts/$2}"
    if [ "$1" = rootless ]; then
        printf 'setpriv --reuid=%s --regid=%s --init-groups -- env -i HOME=/home/%s PATH=%q ' \
            "$(id -u "$bench_user")" "$(id -g "$bench_user")" "$bench_user" "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    fi
    printf 'KILN_ROOT=%q %q build --isolation %s --network none --progress plain --metadata-file %q --output type=oci,dest=%q' \
        "$dir/root" "$kiln" "$1" "$dir/metadata-$3-$2.json" "$dir/out/$2"
    printf ' %q' "${build_args[@]}" "${kiln_contexts[@]}" "$context"
    printf ' >%q 2>&1' "$work/kiln-$1-$3-$2.log"
}
# kiln_reset MODE [keep-root]: an empty root (unless kept) and output folder, the mode's user's.
kiln_reset() {
    local dir="$work/kiln-mode-$1"
    [ "${2:-}" = keep-root ] || rm -rf "$dir/root"
    rm -rf "$dir/out"
    mkdir -p "$dir/out"
    if [ "$1" = rootless ]; then chown "$bench_user:" "$dir" "$dir/out"; fi
}
# seconds COMMAND: wall time of one run of COMMAND (nonzero status: prints nothing, fails).
seconds() {
    local start end
    start=$(date +%s.%N)
    bash -c "$1" || return 1
    end=$(date +%s.%N)
    python3 -c "print(f'{$end - $start:.3f}')"
}
# A mode this machine (or this kiln) cannot build with is n/a, with the reason: a probe with a RUN.
declare -A mode_unavailable
if [ "$with_kiln" = 1 ]; then
    mkdir -p "$work/contexts/probe"
    printf 'ARG BASE\nFROM ${BASE}\nRUN true\n' > "$work/contexts/probe/Dockerfile"
    for mode in "${modes[@]}"; do
        kiln_reset "$mode"
        if ! bash -c "$(kiln_cmd "$mode" probe probe)"; then
            log="$work/kiln-$mode-probe-probe.log"
            if grep -q "chroot isolation is not available yet" "$log"; then
                mode_unavailable[$mode]="n/a (chroot RUN not in this build)"
            else
                mode_unavailable[$mode]="n/a ($(grep -m1 -i 'error' "$log" | cut -c1-150))"
            fi
            echo "kiln --isolation $mode: ${mode_unavailable[$mode]}"
        fi
    done
fi

results="$work/results.tsv"
modes_tsv="$work/modes.tsv"
: > "$results"
: > "$modes_tsv"
echo "$(nproc) cores; buildah: hyperfine mean of $runs run(s), $(buildah --version | cut -d' ' -f3) --layers, $driver storage, chroot isolation;"
echo "kiln: median of $runs interleaved run(s) per mode (${modes[*]}), --network none"
for w in "${workloads[@]}"; do
    bc=$(measure "buildah-cold-$w" "$buildah_reset" "$(buildah_cmd "$w")")
    bw=$(measure "buildah-warm-$w" "true" "$(buildah_cmd "$w")")
    eval "$buildah_reset"
    printf '%s\t%s\t%s\n' "$w" "$bc" "$bw" >> "$results"
    [ "$with_kiln" = 1 ] || continue
    order=("${modes[@]}")
    for run in $(seq "$runs"); do
        for mode in "${order[@]}"; do
            if [ -n "${mode_unavailable[$mode]:-}" ]; then
                printf '%s\t%s\t%s\tn/a\t%s\n' "$w" "$mode" "$run" "${mode_unavailable[$mode]}" >> "$modes_tsv"
                continue
            fi
            kiln_reset "$mode"
            kc=$(seconds "$(kiln_cmd "$mode" "$w" cold)") \
                || { echo "kiln --isolation $mode, $w cold failed:" >&2; tail -20 "$work/kiln-$mode-cold-$w.log" >&2; exit 1; }
            kiln_reset "$mode" keep-root
            kw=$(seconds "$(kiln_cmd "$mode" "$w" warm)") \
                || { echo "kiln --isolation $mode, $w warm failed:" >&2; tail -20 "$work/kiln-$mode-warm-$w.log" >&2; exit 1; }
            printf '%s\t%s\t%s\t%s\t%s\n' "$w" "$mode" "$run" "$kc" "$kw" >> "$modes_tsv"
        done
        # The other way round next time, so that no mode always follows the same one.
        for ((i = 0; i < ${#order[@]} / 2; i++)); do
            t=${order[i]}; order[i]=${order[${#order[@]} - 1 - i]}; order[${#order[@]} - 1 - i]=$t
        done
    done
    for mode in "${modes[@]}"; do kiln_reset "$mode"; done
done

python3 - "$results" "$modes_tsv" "$work" "${modes[@]}" <<'PY'
import json, os, re, statistics, sys
results, modes_tsv, work, modes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
runs = {}
unavailable = {}
for line in open(modes_tsv):
    w, mode, run, cold, warm = line.rstrip("\n").split("\t")
    if cold == "n/a":
        unavailable[mode] = warm
        continue
    runs.setdefault((w, mode), []).append((float(cold), float(warm)))
def median(w, mode, index):
    values = [r[index] for r in runs.get((w, mode), [])]
    return statistics.median(values) if values else None
print(f"\n{'workload':14} {'buildah cold':>12} {'buildah warm':>12} {'kiln cold':>10} {'kiln warm':>10} {'cold k/b':>9} {'warm k/b':>9}")
for line in open(results):
    w, bc, bw = line.rstrip("\n").split("\t")
    bc, bw = float(bc), float(bw)
    kc, kw = median(w, "root", 0), median(w, "root", 1)
    kcs = f"{kc:9.2f}s" if kc else f"{'-':>10}"
    kws = f"{kw:9.2f}s" if kw else f"{'-':>10}"
    rc = f"{kc / bc:9.2f}" if kc else f"{'-':>9}"
    rw = f"{kw / bw:9.2f}" if kw else f"{'-':>9}"
    print(f"{w:14} {bc:11.2f}s {bw:11.2f}s {kcs} {kws} {rc} {rw}")
print("goal: cold k/b <= 1.00, warm k/b <= 0.33 (kiln: --isolation root)")
print("(kiln's times include writing the image as an OCI layout; buildah's stop at its local storage.")
if os.environ.get("KILN_BENCH_BASE_FROM_LAYOUT"):
    print(" kiln read its bases from OCI layouts (KILN_BENCH_BASE_FROM_LAYOUT); buildah pulled them from the loopback registry.)")
else:
    print(" both pulled their bases from the same loopback registry.)")

# One column per isolation mode: medians, and each mode against root.
if runs or unavailable:
    workloads = [line.split("\t")[0] for line in open(results)]
    print(f"\n{'workload':14} {'mode':9} {'cold':>8} {'warm':>8} {'cold/root':>10} {'warm/root':>10}  runs (cold s)")
    for w in workloads:
        for mode in modes:
            if mode in unavailable:
                print(f"{w:14} {mode:9} {unavailable[mode]}")
                continue
            kc, kw = median(w, mode, 0), median(w, mode, 1)
            if kc is None:
                continue
            rc, rw = median(w, "root", 0), median(w, "root", 1)
            ratios = f"{kc / rc:10.2f} {kw / rw:10.2f}" if rc else f"{'-':>10} {'-':>10}"
            each = " ".join(f"{c:.2f}" for c, _ in runs[(w, mode)])
            print(f"{w:14} {mode:9} {kc:7.2f}s {kw:7.2f}s {ratios}  {each}")
    print("goal: rootless/root <= 1.20 on every workload")

# Kiln's own cost per step, from each mode's --metadata-file of the last cold and warm builds:
# step wall time split into getting the rootfs ready, the command (or file operation) itself,
# and writing the layer (the metadata's `timing`).
for line in open(results):
  w = line.split("\t")[0]
  for mode in modes:
    for kind in ("cold", "warm"):
      path = os.path.join(work, f"kiln-mode-{mode}", f"metadata-{kind}-{w}.json")
      if not os.path.exists(path):
          continue
      steps = json.load(open(path)).get("kiln.steps", [])
      total = sum(r.get("seconds", 0.0) for r in steps)
      print(f"\n{w}, {mode}, {kind}: Kiln per step ({len(steps)} steps, {total:.2f}s in steps)")
      for record in steps:
          step = record.get("step", {})
          text = step.get("text", "?").replace("read t0 _ < /proc/uptime && ", "")[:48]
          seconds = record.get("seconds", 0.0)
          timing = record.get("timing")
          detail = (f"rootfs {timing['rootfsSeconds']:6.2f}s  command {timing['commandSeconds']:6.2f}s  layer {timing['layerSeconds']:6.2f}s"
                    if timing else "")
          print(f"  {record.get('status', '?'):9} {seconds:7.2f}s  {detail:52}  {text}")
PY
