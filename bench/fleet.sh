#!/usr/bin/env bash
# A fleet on one machine (issue 13): N builders, each its own process and its own storage
# ($KILN_ROOT; buildah --root; a private dockerd for BuildKit), run concurrently and replay one
# build history against ONE registry cache on a loopback docker-registry the script starts:
#
#  * history: a monorepo of S services × C commits. Every service's Dockerfile starts with the
#    same dependency-install RUN and the same COPY of a shared library on the same base, then
#    installs its own dependency list, copies and "compiles" its sources (a builder stage), and
#    copies the result and its config onto a second shared base (the runtime stage).
#    Commit k edits different files: each service's src/mod-k.txt (FLEET_HISTORY=every, the
#    default: every build compiles) or only service k % S's (FLEET_HISTORY=one: a commit touches
#    one service, as most monorepo commits do); and in both, every 3rd commit one service's
#    deps.txt, every 4th the shared library, every 5th one service's config.
#  * builds: every service at every commit, in history order; build j (commit j / S, service
#    j % S) goes to builder j % N (round-robin: a commit is built on a machine that did not build
#    its parent, the case a shared cache is for) and starts once its builder is free and the
#    build of its parent commit has finished (a commit is pushed after its parent was built).
#  * tools: kiln (--cache-from/--cache-to one registry cache repository), buildah bud --layers
#    --cache-from/--cache-to (one repository too), and BuildKit in docker 20.10 (a private dockerd
#    per builder, DOCKER_BUILDKIT=1, the inline cache BUILDKIT_INLINE_CACHE=1 in every pushed
#    image, --cache-from each service's latest image). Every build pushes its image.
#
# Printed per tool: hit rate per step kind (FROM, RUN, COPY, WORKDIR; Kiln's from its
# --metadata-file, buildah's and BuildKit's from their build output), total fleet wall time
# (first start to last end), p50/p95 build time, and the ratio of the best peer's total to
# Kiln's. For every tool also the steps that missed although an earlier build (one that had
# finished before this one started, of any service, on any builder) ran the same step — "the
# same" decided by Kiln's cache keys, which hold every input of a step; goal: none for Kiln.
#
# Usage: bench/fleet.sh
#   FLEET_BUILDERS=N   builders (default 4)        FLEET_SERVICES=S  services (default 3)
#   FLEET_COMMITS=C    commits (default 10)        FLEET_TOOLS="kiln buildah buildkit"
#   FLEET_DEPS_MB=M    size of the shared dependency-install step's output (default 24)
#   FLEET_HISTORY=every|one  which services' sources a commit edits (default every)
#   FLEET_EPHEMERAL=1  every build starts on empty storage (a Kubernetes Job with an emptyDir
#                      KILN_ROOT, a fresh dockerd): only the registry remembers; the reset is
#                      not timed, so compare the "sum" column (machine time) there
#   KILN=path          kiln binary (default: a release build of this checkout)
#   KILN_BENCH_DIR     work folder (default /tmp/kiln-bench); this bench uses $KILN_BENCH_DIR/fleet
#   BUILDAH_DRIVER     buildah's storage driver (default overlay)
set -euo pipefail
cd "$(dirname "$0")/.."
builders="${FLEET_BUILDERS:-4}"
services="${FLEET_SERVICES:-3}"
commits="${FLEET_COMMITS:-10}"
deps_mb="${FLEET_DEPS_MB:-24}"
history="${FLEET_HISTORY:-every}"
case "$history" in every|one) ;; *) echo "FLEET_HISTORY is every or one" >&2; exit 2 ;; esac
tools=(${FLEET_TOOLS:-kiln buildah buildkit})
ephemeral="${FLEET_EPHEMERAL:-}"
driver="${BUILDAH_DRIVER:-overlay}"
work="${KILN_BENCH_DIR:-/tmp/kiln-bench}/fleet"
[ "$builders" -ge 1 ] && [ "$services" -ge 1 ] && [ "$commits" -ge 1 ] || { echo "N, S and C must be at least 1" >&2; exit 2; }
source scripts/lib/packages.sh
ensure_packages buildah jq skopeo docker-registry docker.io containerd busybox-static python3
source bench/lib/loopback.sh

source bench/lib/kiln.sh
kiln_binary

cleanup() {
    local b
    for b in $(seq 0 $((builders - 1))); do stop_dockerd "$work/buildkit/b$b" 2>/dev/null || true; done
    stop_loopback
    for b in $(seq 0 $((builders - 1))); do
        buildah --storage-driver "$driver" --root "$work/buildah/b$b/root" --runroot "$work/buildah/b$b/runroot" \
            rmi --all --force >/dev/null 2>&1 || true
    done
    unmount_below "$work"
    rm -rf "$work/kiln" "$work/buildah" "$work/buildkit" "$work/registry" "$work/history" 2>/dev/null || true
    return 0
}
unmount_below "$work"
rm -rf "$work/kiln" "$work/buildah" "$work/buildkit" "$work/registry" "$work/history" "$work/results"
mkdir -p "$work/results"
trap cleanup EXIT
export DOCKER_CONFIG="$work/docker-config" XDG_CONFIG_HOME="$work/xdg"
mkdir -p "$DOCKER_CONFIG" && echo '{}' > "$DOCKER_CONFIG/config.json" # buildah push insists on an auth file
start_registry "$work/registry"

# --- two shared bases: busybox, and a "runtime" (busybox and a file of its own) ------------------
make_busybox_rootfs "$work/busybox-rootfs"
rm -rf "$work/runtime-rootfs" && cp -a "$work/busybox-rootfs" "$work/runtime-rootfs"
mkdir -p "$work/runtime-rootfs/usr/lib/runtime" && echo "runtime 1" > "$work/runtime-rootfs/usr/lib/runtime/VERSION"
for base in busybox runtime; do
    rm -rf "$work/base-$base"
    SOURCE_DATE_EPOCH=0 KILN_ROOT="$work/kiln/import" "$kiln" import "$work/$base-rootfs" --output "type=oci,dest=$work/base-$base" \
        --tag "$base:1" --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" >/dev/null
    skopeo copy -q --dest-tls-verify=false "oci:$work/base-$base:1" "docker://$registry/base/$base:1"
done
build_args=(--build-arg "BASE=$registry/base/busybox:1" --build-arg "RUNTIME=$registry/base/runtime:1")

# --- the history: one monorepo tree per commit (copied with mtimes kept, then edited) -------------
python3 - "$work/history" "$services" "$commits" "$deps_mb" "$history" <<'PY'
import os, random, shutil, sys
root, services, commits, deps_mb, history = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rng = random.Random(13)
def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f: f.write(text)
def blob(tag, kilobytes=48):
    return "".join(f"{tag} {rng.getrandbits(128):032x}\n" for _ in range(kilobytes * 1024 // 40))
dockerfile = """ARG BASE
ARG RUNTIME
FROM ${{BASE}} AS build
# the same first steps in every service: a toolchain/dependency install, the shared library
RUN mkdir -p /opt/toolchain && i=0 && while [ $i -lt {parts} ]; do dd if=/dev/urandom of=/opt/toolchain/part-$i bs=1M count=4 2>/dev/null; i=$((i+1)); done && gzip -1 -c /opt/toolchain/part-* | sha256sum > /opt/toolchain.sum
COPY shared/lib/ /opt/lib/
WORKDIR /src
COPY {svc}/deps.txt ./deps.txt
RUN mkdir -p /opt/pkgs && while read -r name mb; do dd if=/dev/urandom of=/opt/pkgs/$name bs=1M count=$mb 2>/dev/null; done < deps.txt && ls /opt/pkgs > /opt/pkgs.list
COPY {svc}/src/ ./src/
RUN mkdir -p /out && for f in src/*.txt; do sha256sum "$f"; gzip -9 -c "$f" | wc -c; done > /out/app.bin && cat /opt/lib/* | sha256sum >> /out/app.bin

FROM ${{RUNTIME}}
COPY {svc}/config/ /app/config/
COPY --from=build /out/ /app/
ENV SERVICE={svc}
CMD ["/bin/sh", "-c", "cat /app/app.bin"]
"""
names = [f"svc-{s}" for s in range(services)]
first = os.path.join(root, "c0")
write(f"{first}/shared/lib/README", "the shared library\n")
for i in range(max(commits, 4)):
    write(f"{first}/shared/lib/lib-{i:02}.txt", blob(f"lib{i}", 8))
for s, svc in enumerate(names):
    write(f"{first}/{svc}/Dockerfile", dockerfile.format(svc=svc, parts=max(1, deps_mb // 4)))
    write(f"{first}/{svc}/deps.txt", "".join(f"pkg-{s}-{p} 2\n" for p in range(3)))
    write(f"{first}/{svc}/config/app.conf", f"service = {svc}\nrevision = 0\n")
    for i in range(max(commits, 1)):
        write(f"{first}/{svc}/src/mod-{i:02}.txt", blob(f"{svc} mod{i}"))
for k in range(1, commits):
    here = os.path.join(root, f"c{k}")
    shutil.copytree(os.path.join(root, f"c{k - 1}"), here, symlinks=True)
    for svc in (names if history == "every" else [names[k % services]]):
        write(f"{here}/{svc}/src/mod-{k:02}.txt", blob(f"{svc} mod{k} commit{k}"))
    if k % 3 == 0:
        svc = names[(k // 3) % services]
        with open(f"{here}/{svc}/deps.txt", "a") as f: f.write(f"pkg-added-at-{k} 1\n")
    if k % 4 == 2:
        write(f"{here}/shared/lib/lib-{k:02}.txt", blob(f"lib{k} commit{k}", 8))
    if k % 5 == 1:
        svc = names[k % services]
        write(f"{here}/{svc}/config/app.conf", f"service = {svc}\nrevision = {k}\n")
PY

# --- one build of one tool -------------------------------------------------------------------------
# build_kiln|build_buildah|build_buildkit BUILDER J COMMIT SERVICE LOG: exit status is the build's.
build_kiln() {
    local b=$1 j=$2 k=$3 svc=$4 log=$5 context="$work/history/c$3"
    KILN_ROOT="$work/kiln/b$b" "$kiln" build --progress plain --network none \
        --cache-from "$registry/cache/kiln" --cache-to "$registry/cache/kiln" \
        --metadata-file "$work/results/kiln-$j.json" -f "$context/$svc/Dockerfile" "${build_args[@]}" \
        -t "$registry/fleet/kiln-$svc:c$k" --push "$context" >"$log" 2>&1
}
buildah_in() { local b=$1; shift; buildah --storage-driver "$driver" --root "$work/buildah/b$b/root" --runroot "$work/buildah/b$b/runroot" "$@"; }
build_buildah() {
    local b=$1 j=$2 k=$3 svc=$4 log=$5 context="$work/history/c$3"
    buildah_in "$b" bud --isolation chroot --layers --tls-verify=false --format oci \
        --cache-from "$registry/cache/buildah" --cache-to "$registry/cache/buildah" \
        -f "$context/$svc/Dockerfile" "${build_args[@]}" -t "$registry/fleet/buildah-$svc:c$k" "$context" >"$log" 2>&1 &&
        buildah_in "$b" push --tls-verify=false "$registry/fleet/buildah-$svc:c$k" >>"$log" 2>&1
}
build_buildkit() {
    local b=$1 j=$2 k=$3 svc=$4 log=$5 context="$work/history/c$3" s cache_from=()
    for s in $(seq 0 $((services - 1))); do cache_from+=(--cache-from "$registry/fleet/buildkit-svc-$s:latest"); done
    local docker=(docker_in "$work/buildkit/b$b")
    "${docker[@]}" build --progress plain --network host --build-arg BUILDKIT_INLINE_CACHE=1 "${cache_from[@]}" \
        -f "$context/$svc/Dockerfile" "${build_args[@]}" -t "$registry/fleet/buildkit-$svc:c$k" \
        -t "$registry/fleet/buildkit-$svc:latest" "$context" >"$log" 2>&1 &&
        "${docker[@]}" push "$registry/fleet/buildkit-$svc:c$k" >>"$log" 2>&1 &&
        "${docker[@]}" push "$registry/fleet/buildkit-$svc:latest" >>"$log" 2>&1
}

# reset_builder TOOL BUILDER: empty storage for the next build (FLEET_EPHEMERAL).
reset_builder() {
    case "$1" in
        kiln) rm -rf "$work/kiln/b$2" ;;
        buildah) buildah_in "$2" rmi --all --force >/dev/null 2>&1 || true
                 unmount_below "$work/buildah/b$2"; rm -rf "$work/buildah/b$2" ;;
        buildkit) stop_dockerd "$work/buildkit/b$2"; unmount_below "$work/buildkit/b$2"
                  rm -rf "$work/buildkit/b$2"; start_dockerd "$work/buildkit/b$2" ;;
    esac
}

# run_fleet TOOL: every build of the history on the builders; one line per build in
# results/TOOL.tsv (j, commit, service, builder, start, end, exit status).
run_fleet() {
    local tool=$1 b
    local done_dir="$work/results/$tool.done"
    mkdir -p "$done_dir" "$work/results/logs"
    : > "$work/results/$tool.tsv"
    local total=$((services * commits)) pids=()
    for b in $(seq 0 $((builders - 1))); do
        (
            for ((j = b; j < total; j += builders)); do
                k=$((j / services)) s=$((j % services))
                if [ "$j" -ge "$services" ]; then
                    while [ ! -e "$done_dir/$((j - services))" ]; do sleep 0.05; done
                fi
                if [ -n "$ephemeral" ]; then reset_builder "$tool" "$b"; fi
                start=$(date +%s.%N)
                rc=0
                "build_$tool" "$b" "$j" "$k" "svc-$s" "$work/results/logs/$tool-$j.log" || rc=$?
                end=$(date +%s.%N)
                printf '%s\t%s\tsvc-%s\t%s\t%s\t%s\t%s\n' "$j" "$k" "$s" "$b" "$start" "$end" "$rc" >> "$work/results/$tool.tsv"
                touch "$done_dir/$j"
            done
        ) &
        pids+=($!)
    done
    wait "${pids[@]}" # not a bare wait: the registry is a child of this shell too
}

echo "fleet: $builders builders${ephemeral:+ (ephemeral: empty storage for every build)}, $services services x $commits commits ($((services * commits)) builds)," \
     "a commit edits the sources of $([ "$history" = every ] && echo "every service" || echo "one service"), $(nproc) cores;" \
     "$(buildah --version | cut -d' ' -f1-3); $(/usr/bin/docker --version | cut -d, -f1)"
for tool in "${tools[@]}"; do
    case "$tool" in
        kiln) mkdir -p "$work/kiln" ;;
        buildah) mkdir -p "$work/buildah" ;;
        buildkit)
            for b in $(seq 0 $((builders - 1))); do start_dockerd "$work/buildkit/b$b"; done ;;
        *) echo "unknown tool $tool (kiln, buildah, buildkit)" >&2; exit 2 ;;
    esac
    echo "replaying the history with $tool ..."
    run_fleet "$tool"
    if [ "$tool" = buildkit ]; then
        for b in $(seq 0 $((builders - 1))); do stop_dockerd "$work/buildkit/b$b"; done
    fi
    failed=$(awk -F'\t' '$7 != 0 { print $1 }' "$work/results/$tool.tsv" | sort -n | head -3)
    for j in $failed; do echo "$tool build $j failed; the end of its log:" >&2; tail -15 "$work/results/logs/$tool-$j.log" >&2; done
done

python3 bench/fleet-report.py "$work/results" "$services" "${tools[@]}"
if [ "$(/usr/bin/docker --version | grep -o '[0-9]*\.[0-9]*' | head -1)" = "20.10" ] && ! /usr/bin/docker buildx version >/dev/null 2>&1; then
    echo "(docker $(/usr/bin/docker --version | cut -d' ' -f3 | tr -d ,) has no buildx: BuildKit's only registry cache is the inline one," \
         "which holds the final stage's layers only; the builder stage's steps (the shared install, the compile) cannot hit across machines.)"
fi
