#!/usr/bin/env bash
# `kiln build` against `buildah bud --layers`, in the same run, on the workloads of bench/workloads:
#
#  * tiny          busybox base: COPY, a quick RUN, metadata
#  * c-multistage  gcc in a debootstrap Debian stage (24 units, -O2, static), copied onto busybox
#  * python-app    python3 on the Debian base: COPY, compileall, a self-test
#  * many-files    one RUN writing ~20,000 files / ~500 MB on the Debian base
#
# Each workload is built cold (empty storage / KILN_ROOT) and warm (the same build again,
# nothing changed), timed with hyperfine. Printed: per-workload times, kiln/buildah ratios
# (goal: cold <= 1.0, warm <= 0.33), and Kiln's per-step overhead from its --metadata-file
# (step time minus the RUN command's own time, when the metadata splits it out).
#
# Bases come from a loopback docker-registry the script starts (and stops): busybox-static and
# a `debootstrap --variant=minbase` Debian bookworm with gcc, libc6-dev and python3-minimal,
# made once and kept in $KILN_BENCH_DIR. Both tools pull them from there.
#
# Usage: bench/build.sh [RUNS]       (hyperfine runs per measurement, default 3)
#   KILN=path          kiln binary (default: a release build of this checkout)
#   KILN_BENCH_DIR     work folder (default /tmp/kiln-bench); bases and rootfs cached there
#   BUILDAH_DRIVER     buildah storage driver (default overlay, buildah's own default)
#   WORKLOADS="a b"    a subset of the workloads
#   KILN_BENCH_BUILDAH_ONLY=1   only buildah's half (also automatic while `kiln build` is missing)
#   KILN_BENCH_BASE_FROM_LAYOUT=1  Kiln reads the bases from their OCI layouts (--build-context
#                  REF=oci-layout://…) instead of pulling them: for a Kiln that cannot pull yet
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
runs="${1:-3}"
work="${KILN_BENCH_DIR:-/tmp/kiln-bench}/build"
driver="${BUILDAH_DRIVER:-overlay}"
workloads=(${WORKLOADS:-tiny c-multistage python-app many-files})
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
registry_pid=""
cleanup() {
    if [ -n "$registry_pid" ]; then kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; fi
    rm -rf "$work/registry" "$work/contexts" "$work/out"
    return 0
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/registry"
cat > "$work/registry/config.yml" <<EOF
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
EOF
docker-registry serve "$work/registry/config.yml" >"$work/registry/log" 2>&1 &
registry_pid=$!
python3 - "$port" <<'PY'
import socket, sys, time
for _ in range(200):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close(); break
    except OSError:
        time.sleep(0.05)
PY
registry="127.0.0.1:$port"

# --- base images -------------------------------------------------------------------------------
busybox_root="$work/busybox-rootfs"
if [ ! -x "$busybox_root/bin/busybox" ]; then
    rm -rf "$busybox_root"
    mkdir -p "$busybox_root"/{bin,etc,tmp,root}
    chmod 1777 "$busybox_root/tmp"
    cp /bin/busybox "$busybox_root/bin/"
    for applet in $("$busybox_root/bin/busybox" --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$busybox_root/bin/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$busybox_root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' > "$busybox_root/etc/group"
fi
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
kiln_root="$work/kiln-root"
# kiln_cmd WORKLOAD cold|warm
kiln_cmd() {
    printf 'KILN_ROOT=%q %q build --progress plain --metadata-file %q --output type=oci,dest=%q' \
        "$kiln_root" "$kiln" "$work/metadata-$2-$1.json" "$work/out/$1"
    printf ' %q' "${build_args[@]}" "${kiln_contexts[@]}" "$work/contexts/$1"
    printf ' >%q 2>&1' "$work/kiln-$2-$1.log"
}
kiln_reset="rm -rf $kiln_root $work/out && mkdir -p $work/out"

results="$work/results.tsv"
: > "$results"
echo "$(nproc) cores, hyperfine mean of $runs run(s); buildah $(buildah --version | cut -d' ' -f3) --layers, $driver storage, chroot isolation"
for w in "${workloads[@]}"; do
    bc=$(measure "buildah-cold-$w" "$buildah_reset" "$(buildah_cmd "$w")")
    bw=$(measure "buildah-warm-$w" "true" "$(buildah_cmd "$w")")
    kc="" kw=""
    if [ "$with_kiln" = 1 ]; then
        kc=$(measure "kiln-cold-$w" "$kiln_reset" "$(kiln_cmd "$w" cold)")
        kw=$(measure "kiln-warm-$w" "rm -rf $work/out && mkdir -p $work/out" "$(kiln_cmd "$w" warm)")
    fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$w" "$bc" "$bw" "$kc" "$kw" >> "$results"
    eval "$buildah_reset"
    eval "$kiln_reset"
done

python3 - "$results" "$work" <<'PY'
import json, os, sys
results, work = sys.argv[1], sys.argv[2]
print(f"{'workload':14} {'buildah cold':>12} {'buildah warm':>12} {'kiln cold':>10} {'kiln warm':>10} {'cold k/b':>9} {'warm k/b':>9}")
for line in open(results):
    w, bc, bw, kc, kw = (line.rstrip("\n").split("\t") + [""] * 5)[:5]
    bc, bw = float(bc), float(bw)
    kcs = f"{float(kc):9.2f}s" if kc else f"{'-':>10}"
    kws = f"{float(kw):9.2f}s" if kw else f"{'-':>10}"
    rc = f"{float(kc) / bc:9.2f}" if kc else f"{'-':>9}"
    rw = f"{float(kw) / bw:9.2f}" if kw else f"{'-':>9}"
    print(f"{w:14} {bc:11.2f}s {bw:11.2f}s {kcs} {kws} {rc} {rw}")
print("goal: cold k/b <= 1.00, warm k/b <= 0.33")
print("(kiln's times include writing the image as an OCI layout; buildah's stop at its local storage.")
if os.environ.get("KILN_BENCH_BASE_FROM_LAYOUT"):
    print(" kiln read its bases from OCI layouts (KILN_BENCH_BASE_FROM_LAYOUT); buildah pulled them from the loopback registry.)")
else:
    print(" both pulled their bases from the same loopback registry.)")
# Kiln's own cost per step, from the --metadata-file of the last cold and warm builds: step
# wall time, and what is left once the RUN command's own time is taken out. The command's time
# is the record's `phases.run` when Kiln reports phases, else what the workload's RUN printed
# itself (`bench-run-seconds S`, in the --progress plain log as `#N ELAPSED bench-run-seconds S`).
import re
for line in open(results):
  for kind in ("cold", "warm"):
    w = line.split("\t")[0]
    path = os.path.join(work, f"metadata-{kind}-{w}.json")
    if not os.path.exists(path):
        continue
    steps = json.load(open(path)).get("kiln.steps", [])
    printed = {}
    log = os.path.join(work, f"kiln-{kind}-{w}.log")
    for text in (open(log, errors="replace") if os.path.exists(log) else []):
        match = re.match(r"#(\d+) [\d.]+ bench-run-seconds ([\d.]+)", text)
        if match:
            printed[int(match.group(1))] = float(match.group(2))
    total = sum(r.get("seconds", 0.0) for r in steps)
    print(f"\n{w}, {kind}: Kiln per step ({len(steps)} steps, {total:.2f}s in steps)")
    for record in steps:
        step = record.get("step", {})
        text = step.get("text", "?").replace("read t0 _ < /proc/uptime && ", "")[:48]
        seconds = record.get("seconds", 0.0)
        phases = record.get("phases") or {}
        run = phases.get("run", printed.get(step.get("number")))
        overhead = f"run {run:6.2f}s  kiln overhead {seconds - run:6.2f}s" if run is not None else "overhead n/a"
        detail = " ".join(f"{k}={v:.2f}s" for k, v in sorted(phases.items()))
        print(f"  {record.get('status', '?'):9} {seconds:7.2f}s  {overhead}  {detail}  {text}")
PY
