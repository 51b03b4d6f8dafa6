#!/usr/bin/env bash
# The inner loop (issue 15): `kiln build` against BuildKit and buildah, measured side by side in
# the same run, on the workloads of bench/workloads:
#
#  * tiny             busybox base: COPY, a quick RUN, metadata
#  * c-multistage     gcc in a debootstrap Debian stage (24 units, -O2, static), the binary
#                     copied onto busybox
#  * python-app       python3 on the Debian base: COPY, compileall, a self-test
#  * many-files       one RUN writing ~20,000 files / ~500 MB on the Debian base
#  * python-wheels    pip install of 36 local wheels (bench/make-wheels.py), then the sources
#  * many-files-copy  the ~500 MB / 20,000-file RUN, then a COPY of one small file
#  * secret-cache     a RUN with a secret and a cache mount, then the sources
#
# Cases, per tool and workload (in this order within one run):
#  * cold         empty storage (Kiln: an empty KILN_ROOT; BuildKit: a new dockerd with an empty
#                 --data-root; buildah: empty --root), bases pulled from the loopback registry
#  * first edit   right after the cold build, one line appended to the source file the last
#                 COPY copies (each Dockerfile names it: `# bench/build.sh edits: FILE`)
#  * steady edit  another such edit on the same machine: an edit after an edit
#  * warm         the same build again, nothing changed
#  * build+push   empty storage again, the cold build pushed to the loopback registry (Kiln
#                 `--push`; BuildKit `docker build` + `docker push`; buildah `bud` + `push`)
# Kiln writes its default output, an OCI layout (gzip), one per workload as the default output
# `kiln-out/<context>` is (the cold build starts it, later cases write into it), except for build+push; BuildKit its own
# image store (docker 20.10, DOCKER_BUILDKIT=1, a private dockerd: own --data-root and socket,
# --bridge=none --iptables=false, the registry as localhost:PORT with --insecure-registry);
# buildah `bud --layers --isolation chroot` its containers-storage. Every RUN has no network
# (Kiln and BuildKit `--network none`; buildah's chroot isolation has no network setup, and
# neither has Kiln's chroot mode, which is run without the flag).
#
# Runs are interleaved: in each run every tool builds every case of a workload, tools in turn
# (the order reversed every other run) so that the machine's load falls on all alike; the median
# of RUNS runs is printed. Every timed build starts after a `sync` (not timed): without it the
# disk was still writing back what the build before wrote, and the 500 MB RUN of many-files took
# 2 s or 15 s by whose build came first in a run. Kiln is measured once per isolation mode (issue 13): `root`,
# `rootless` (the same kiln run as a non-root user, kiln-bench, made here with its own
# /etc/subuid and /etc/subgid range) and `chroot`; a mode this machine cannot build with prints
# n/a and why. The main table's Kiln is the first mode of MODES.
#
# Printed: per workload and case the medians for Kiln, BuildKit and buildah with kiln/buildkit and
# kiln/buildah; the goal lines (first and steady edit at or below BuildKit; Kiln's cold C
# multi-stage build at or below BuildKit's build plus push); each isolation mode against root;
# Kiln's time per case split into rootfs preparation / command / layer writing (/ upload, when the
# metadata has it) from its --metadata-file (medians of the per-run sums over executed steps), and
# per step for the edits; and with CONCURRENT=N (default 4), on one KILN_ROOT that built the
# workload and an edit of it, N edit builds of N copies of the workload (each its own edit) started
# together, RUNS times: their p50 and p95 against Kiln's single steady edit. A cold or build+push
# build that fails is retried once on empty storage (and said so); another failure is "failed".
#
# Bases come from a loopback docker-registry the script starts (and stops) on a free port:
# busybox-static and a `debootstrap --variant=minbase` Debian bookworm with gcc, libc6-dev,
# python3-minimal and python3-pip, made once and kept in $KILN_BENCH_DIR. Every tool pulls them
# from there (BuildKit as localhost:PORT/…: nothing is pulled from Docker Hub).
#
# Usage: bench/build.sh [RUNS]       (runs per measurement, default $RUNS or 5)
#   KILN=path          kiln binary (default: a release build of this checkout)
#   KILN_BENCH_DIR     work folder (default /tmp/kiln-bench); bases and rootfs kept there
#   WORKLOADS="a b"    a subset of the workloads
#   MODES="root rootless chroot"  Kiln's isolation modes (e.g. MODES=root to save time)
#   PEERS="buildkit buildah"      the peers measured (a subset, or none: PEERS=)
#   CONCURRENT=N       concurrent Kiln builds for the concurrency case (default 4; 0: skipped)
#   BUILDAH_DRIVER     buildah storage driver (default overlay, buildah's own default)
#   DOCKERD_STORAGE    the private dockerd's storage driver (default overlay2)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
runs="${1:-${RUNS:-5}}"
work="${KILN_BENCH_DIR:-/tmp/kiln-bench}/build"
driver="${BUILDAH_DRIVER:-overlay}"
workloads=(${WORKLOADS:-tiny c-multistage python-app many-files python-wheels many-files-copy secret-cache})
modes=(${MODES:-root rootless chroot})
peers=(${PEERS-buildkit buildah})
concurrent="${CONCURRENT:-4}"
debian_packages="gcc,libc6-dev,python3-minimal,python3-pip"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive number, not '$runs'" >&2; exit 2; }
[[ "$concurrent" =~ ^[0-9]+$ ]] || { echo "CONCURRENT must be a number, not '$concurrent'" >&2; exit 2; }
[ ${#modes[@]} -ge 1 ] || { echo "MODES names no isolation mode" >&2; exit 2; }
for mode in "${modes[@]}"; do
    case "$mode" in root|rootless|chroot) ;; *) echo "unknown isolation mode '$mode' (root, rootless, chroot)" >&2; exit 2 ;; esac
done
for peer in "${peers[@]}"; do
    case "$peer" in buildkit|buildah) ;; *) echo "unknown peer '$peer' (buildkit, buildah)" >&2; exit 2 ;; esac
done
# edit_target WORKLOAD: the file a code change edits, as the workload's Dockerfile names it.
edit_target() { sed -n 's/^# bench\/build.sh edits: *\([^ ]*\).*/\1/p' "bench/workloads/$1/Dockerfile" | head -1; }
for w in "${workloads[@]}"; do
    [ -f "bench/workloads/$w/Dockerfile" ] || { echo "no workload '$w' in bench/workloads" >&2; exit 2; }
    [ -n "$(edit_target "$w")" ] || { echo "bench/workloads/$w/Dockerfile names no file to edit (# bench/build.sh edits: FILE)" >&2; exit 2; }
done
source scripts/lib/packages.sh
ensure_packages buildah jq skopeo docker-registry debootstrap busybox-static python3 docker.io containerd util-linux
source bench/lib/kiln.sh
source bench/lib/loopback.sh
kiln_binary

buildah_in() {
    TMPDIR="$work/buildah/tmp" buildah --storage-driver "$driver" --root "$work/buildah/root" --runroot "$work/buildah/runroot" "$@"
}
# --- servers and storage, stopped and removed on exit ------------------------------------------------
cleanup() {
    stop_dockerd "$work/buildkit" 2>/dev/null || true
    stop_loopback
    [ -d "$work/buildah" ] && { buildah_in rmi --all --force >/dev/null 2>&1 || true; }
    unmount_below "$work"
    rm -rf "$work/registry" "$work/contexts" "$work/buildkit" "$work/buildah" "$work"/kiln-* "$work/concurrent" \
        "$work/import-root" 2>/dev/null || true
    return 0
}
mkdir -p "$work"
unmount_below "$work"
rm -rf "$work/registry" "$work/contexts" "$work/buildkit" "$work/buildah" "$work"/kiln-* "$work/concurrent" "$work/results"
trap cleanup EXIT
# buildah push insists on an auth file; none of the tools has credentials here.
export DOCKER_CONFIG="$work/docker-config" XDG_CONFIG_HOME="$work/xdg"
mkdir -p "$DOCKER_CONFIG" "$XDG_CONFIG_HOME" && echo '{}' > "$DOCKER_CONFIG/config.json"
start_registry "$work/registry"
docker_registry="localhost:${registry##*:}" # the same registry, by the name dockerd trusts

# --- base images ---------------------------------------------------------------------------------------
make_busybox_rootfs "$work/busybox-rootfs"
make_debian_rootfs "$work/debian-rootfs" "$debian_packages"
# import_base NAME ROOTFS: the base in the registry as base/NAME:latest (its layout kept while newer than ROOTFS).
import_base() {
    local layout="$work/base-$1"
    if [ ! -f "$layout/index.json" ] || [ "$2" -nt "$layout/index.json" ]; then
        rm -rf "$layout"
        SOURCE_DATE_EPOCH=0 KILN_ROOT="$work/import-root" "$kiln" import "$2" --output "type=oci,dest=$layout" \
            --tag "$1:latest" --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
            --change 'CMD ["sh"]' >/dev/null
        rm -rf "$work/import-root"
    fi
    skopeo copy -q --dest-tls-verify=false "oci:$layout:latest" "docker://$registry/base/$1:latest"
}
import_base busybox "$work/busybox-rootfs"
import_base debian "$work/debian-rootfs"
# build_args HOST: the bases' build arguments, named through HOST.
build_args() { printf '%s\n' --build-arg "BASE=$1/base/busybox:latest" --build-arg "DEBIAN=$1/base/debian:latest"; }
mapfile -t kiln_build_args < <(build_args "$registry")
mapfile -t docker_build_args < <(build_args "$docker_registry")
secret="$work/secret-token"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$secret"
chmod 644 "$secret" # the rootless mode's user reads it too

# --- contexts: a pristine copy of each workload (links resolved), and one working copy per tool ---------
mkdir -p "$work/contexts/pristine"
for w in "${workloads[@]}"; do
    cp -rL "bench/workloads/$w" "$work/contexts/pristine/$w"
    [ "$w" = python-wheels ] && python3 bench/make-wheels.py "$repo" "$work/contexts/pristine/$w"
    [ -f "$work/contexts/pristine/$w/$(edit_target "$w")" ] || { echo "$w: $(edit_target "$w") is not in its context" >&2; exit 2; }
done
# fresh_context WORKLOAD COPY: a pristine working copy of the workload in $work/contexts/COPY/WORKLOAD.
fresh_context() {
    rm -rf "$work/contexts/$2/$1"
    mkdir -p "$work/contexts/$2"
    cp -a "$work/contexts/pristine/$1" "$work/contexts/$2/$1"
}
# edit_source CONTEXT WORKLOAD: a code change, one new line appended to the workload's edit file
# (for C a new function, so the compiled binary changes too).
edit_source() {
    local file="$1/$(edit_target "$2")" n
    n=$(date +%s%N)
    case "$file" in
        *.c) printf '\nlong bench_edit_%s(void) { return %sL; }\n' "$n" "$n" ;;
        *) printf '\n# bench edit %s\n' "$n" ;;
    esac >> "$file"
}

# --- the tools: one build each ------------------------------------------------------------------------
results="$work/results"
mkdir -p "$results/logs" "$results/metadata"
bench_user=kiln-bench
if [[ " ${modes[*]} " == *" rootless "* ]]; then
    if ! id -u "$bench_user" >/dev/null 2>&1; then
        # As the tests' TestUser does: no automatic ranges, then one range of its own.
        useradd --create-home --shell /bin/sh -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$bench_user"
        usermod --add-subuids 400000-465535 --add-subgids 400000-465535 "$bench_user"
    fi
    chown "$bench_user:" "$results/metadata" # the rootless kiln writes its metadata there
fi
# build_kiln MODE DIR WORKLOAD CASE RUN CONTEXT: one `kiln build` with KILN_ROOT=DIR/root; the
# image goes to an OCI layout in DIR/out, or (CASE push) to the registry.
build_kiln() {
    local mode=$1 dir=$2 w=$3 case=$4 run=$5 context=$6 output=()
    # Every mode starts through the same setpriv and env (root's to uid 0), so the ratios between
    # modes hold Kiln's own costs, not the 1.5 ms of the wrapper the rootless user needs.
    local user=root home=/root
    if [ "$mode" = rootless ]; then user=$bench_user home="/home/$bench_user"; fi
    local as=(setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --init-groups --
              env -i HOME="$home" PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
    if [ "$case" = push ]; then
        output=(-t "$registry/bench/kiln-$mode-$w:r$run" --push)
    else
        # One layout per workload, as the default output (kiln-out/<context>) is one per context:
        # a cold build starts it (column_reset empties $dir), the later cases write into it.
        output=(--output "type=oci,dest=$dir/out/$w")
    fi
    # chroot isolation has no network namespace to take away (Kiln refuses --network none
    # there, as buildah's chroot isolation shares the host's network too).
    local network=(--network none)
    [ "$mode" = chroot ] && network=()
    "${as[@]}" env KILN_ROOT="$dir/root" "$kiln" build --isolation "$mode" "${network[@]}" --progress plain \
        --metadata-file "$results/metadata/kiln-$mode-$w-$case-$run.json" --secret "id=token,src=$secret" \
        "${kiln_build_args[@]}" "${output[@]}" "$context" >"$results/logs/kiln-$mode-$w-$case-$run.log" 2>&1
}
build_buildkit() {
    local w=$1 case=$2 run=$3 context=$4 log="$results/logs/buildkit-$1-$2-$3.log" tag="bench-$1"
    [ "$case" = push ] && tag="$docker_registry/bench/buildkit-$w:r$run"
    docker_in "$work/buildkit" build --network none --progress plain --secret "id=token,src=$secret" \
        "${docker_build_args[@]}" -t "$tag" "$context" >"$log" 2>&1 || return 1
    [ "$case" != push ] || docker_in "$work/buildkit" push "$tag" >>"$log" 2>&1
}
build_buildah() {
    local w=$1 case=$2 run=$3 context=$4 log="$results/logs/buildah-$1-$2-$3.log" tag="bench-$1"
    [ "$case" = push ] && tag="$registry/bench/buildah-$w:r$run"
    mkdir -p "$work/buildah/tmp"
    buildah_in bud --isolation chroot --format docker --layers --tls-verify=false --secret "id=token,src=$secret" \
        "${kiln_build_args[@]}" -t "$tag" -q "$context" >"$log" 2>&1 || return 1
    [ "$case" != push ] || buildah_in push --tls-verify=false "$tag" >>"$log" 2>&1
}
# column_build COLUMN WORKLOAD CASE RUN: one build of a column (kiln-MODE, buildkit, buildah) on its own context copy.
column_build() {
    local context="$work/contexts/$1/$2"
    case "$1" in
        kiln-*) build_kiln "${1#kiln-}" "$work/$1" "$2" "$3" "$4" "$context" ;;
        buildkit) build_buildkit "$2" "$3" "$4" "$context" ;;
        buildah) build_buildah "$2" "$3" "$4" "$context" ;;
    esac
}
# column_reset COLUMN: empty storage for a cold build (not timed).
column_reset() {
    case "$1" in
        kiln-*)
            rm -rf "$work/$1"
            mkdir -p "$work/$1/out"
            if [ "$1" = kiln-rootless ]; then chown -R "$bench_user:" "$work/$1"; fi ;;
        buildkit) restart_dockerd "$work/buildkit" >/dev/null ;;
        buildah)
            if [ -d "$work/buildah" ]; then buildah_in rmi --all --force >/dev/null 2>&1 || true; fi
            unmount_below "$work/buildah"
            rm -rf "$work/buildah" ;;
    esac
}
# column_log COLUMN WORKLOAD CASE RUN: that build's log.
column_log() {
    case "$1" in
        kiln-*) echo "$results/logs/kiln-${1#kiln-}-$2-$3-$4.log" ;;
        *) echo "$results/logs/$1-$2-$3-$4.log" ;;
    esac
}
# seconds COMMAND…: wall time of COMMAND (its status nonzero: prints nothing and fails).
seconds() {
    local start end
    start=$(date +%s.%N)
    "$@" || return 1
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
}

# --- Kiln's isolation modes: one that cannot build here is n/a, with the reason (a probe with a RUN) ----
columns=()
mkdir -p "$work/contexts/probe/probe"
printf 'ARG BASE\nFROM ${BASE}\nRUN true\n' > "$work/contexts/probe/probe/Dockerfile"
: > "$results/unavailable.tsv"
for mode in "${modes[@]}"; do
    column_reset "kiln-$mode"
    if build_kiln "$mode" "$work/kiln-$mode" probe probe 0 "$work/contexts/probe/probe"; then
        columns+=("kiln-$mode")
    else
        log="$results/logs/kiln-$mode-probe-probe-0.log"
        reason="$(grep -m1 -i 'error' "$log" | cut -c1-150)"
        printf '%s\t%s\n' "$mode" "${reason:-the probe build failed, see $log}" >> "$results/unavailable.tsv"
        echo "kiln --isolation $mode: n/a (${reason:-see $log})"
    fi
done
columns+=("${peers[@]}")
if [[ " ${peers[*]} " == *" buildkit "* ]]; then start_dockerd "$work/buildkit"; fi

# run_column COLUMN WORKLOAD RUN: every case of one run, one line in results/times.tsv
# (workload, column, run, then cold, warm, edit1, edit2, push: seconds, or "fail").
cases=(cold edit1 edit2 warm push)
run_column() {
    local column=$1 w=$2 run=$3 case t broken="" log
    declare -A took=()
    fresh_context "$w" "$column"
    column_reset "$column"
    for case in "${cases[@]}"; do
        case "$case" in
            edit1|edit2) edit_source "$work/contexts/$column/$w" "$w" ;;
            push) column_reset "$column"; broken="" ;;
        esac
        if [ -n "$broken" ]; then took[$case]=fail; continue; fi
        sync # not timed: the writeback of what the case before wrote (another tool's) falls on no one
        if t=$(seconds column_build "$column" "$w" "$case" "$run"); then
            took[$case]=$t
        elif [ "$case" = cold ] || [ "$case" = push ] && log=$(column_log "$column" "$w" "$case" "$run") &&
                mv "$log" "$log.failed" && column_reset "$column" && t=$(seconds column_build "$column" "$w" "$case" "$run"); then
            # A build on empty storage is retried once, on empty storage again (BuildKit 0.8 has
            # been seen to fail a RUN on a fresh daemon under load: `stat /bin/sh: no such file`).
            took[$case]=$t
            printf '%s\t%s\t%s\t%s\n' "$w" "$column" "$run" "$case" >> "$results/retried.tsv"
            echo "$column: $w $case (run $run) failed and was retried on empty storage; the failure: $log.failed" >&2
        else
            took[$case]=fail
            broken=1 # the cases after it on this storage would not be what they say
            log=$(column_log "$column" "$w" "$case" "$run")
            echo "$column: $w $case (run $run) failed; the end of $log:" >&2
            tail -15 "$log" >&2 || true
        fi
    done
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$column" "$run" \
        "${took[cold]}" "${took[warm]}" "${took[edit1]}" "${took[edit2]}" "${took[push]}" >> "$results/times.tsv"
}

# run_concurrent WORKLOAD COLUMN: on one KILN_ROOT that built the workload and then an edit of it,
# CONCURRENT edit builds of as many copies of it (each with its own edit) started together, RUNS
# times; one line per build in results/concurrent.tsv.
run_concurrent() {
    local w=$1 column=$2 mode=${2#kiln-} run i pids=() dir="$work/concurrent"
    rm -rf "$dir"
    mkdir -p "$dir/out"
    if [ "$mode" = rootless ]; then chown -R "$bench_user:" "$dir"; fi
    for i in $(seq "$concurrent"); do fresh_context "$w" "concurrent-$i"; done
    # A machine that built the workload and an edit of it, as for the single steady edit.
    for run in cold edit; do
        [ "$run" = edit ] && edit_source "$work/contexts/concurrent-1/$w" "$w"
        build_kiln "$mode" "$dir" "$w" "concurrent-$run" 0 "$work/contexts/concurrent-1/$w" || {
            echo "$column: $w, the $run build before the concurrent ones failed; see $(column_log "$column" "$w" "concurrent-$run" 0)" >&2
            return 0
        }
    done
    for run in $(seq "$runs"); do
        pids=()
        for i in $(seq "$concurrent"); do edit_source "$work/contexts/concurrent-$i/$w" "$w"; done
        sync
        for i in $(seq "$concurrent"); do
            (
                if t=$(seconds build_kiln "$mode" "$dir" "$w" "concurrent-$i" "$run" "$work/contexts/concurrent-$i/$w"); then
                    printf '%s\t%s\t%s\t%s\n' "$w" "$run" "$i" "$t" >> "$results/concurrent.tsv"
                else
                    printf '%s\t%s\t%s\tfail\n' "$w" "$run" "$i" >> "$results/concurrent.tsv"
                    echo "$column: $w concurrent build $i (run $run) failed; see $(column_log "$column" "$w" "concurrent-$i" "$run")" >&2
                fi
            ) &
            pids+=($!)
        done
        wait "${pids[@]}" # not a bare wait: the registry and dockerd are children of this shell too
    done
    rm -rf "$dir" "$work"/contexts/concurrent-*
}

: > "$results/times.tsv"
: > "$results/concurrent.tsv"
: > "$results/retried.tsv"
echo "$(nproc) cores; $runs interleaved run(s), medians; kiln ${KILN:-of $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')} (${columns[*]});" \
     "$(/usr/bin/docker --version | cut -d, -f1) with BuildKit; buildah $(buildah --version | cut -d' ' -f3), $driver storage"
for w in "${workloads[@]}"; do
    echo "$w ..."
    order=("${columns[@]}")
    for run in $(seq "$runs"); do
        for column in "${order[@]}"; do run_column "$column" "$w" "$run"; done
        # The other way round next time, so that no tool always follows the same one.
        for ((i = 0; i < ${#order[@]} / 2; i++)); do
            t=${order[i]}; order[i]=${order[${#order[@]} - 1 - i]}; order[${#order[@]} - 1 - i]=$t
        done
    done
    for column in "${columns[@]}"; do column_reset "$column"; done
    if [ "$concurrent" -gt 0 ] && [[ "${columns[0]}" == kiln-* ]]; then run_concurrent "$w" "${columns[0]}"; fi
done
stop_dockerd "$work/buildkit" 2>/dev/null || true

python3 bench/build-report.py "$results" "$concurrent" "${columns[@]}"
