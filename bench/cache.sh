#!/usr/bin/env bash
# The shared layer cache against `buildah bud --layers --cache-from/--cache-to` (same registry
# cache repository mechanism), in the same run, against one loopback docker-registry:
#
#  * workload: FROM a busybox image in the registry; RUN writes 48 MB of "dependencies"
#    (incompressible); COPY a 2,000-file ~20 MB source tree; RUN "compiles" it (hashes every
#    file); every image is pushed to the registry (the usual CI shape)
#  * cold:         empty machine, empty cache (both tools fill their registry cache)
#  * warm:         the same machine again, nothing changed
#  * new machine:  an empty machine (fresh KILN_ROOT / fresh buildah storage), the registry
#                  cache from the cold build
#  * code change:  one source file changed, on the new machine's storage
#
# Usage: bench/cache.sh   (one run of each; work in $KILN_BENCH_DIR, default /tmp/kiln-bench-cache)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${KILN_BENCH_DIR:-/tmp/kiln-bench-cache}"
source scripts/lib/packages.sh
ensure_packages skopeo docker-registry buildah busybox-static python3 curl

source bench/lib/kiln.sh
kiln_binary # KILN=path: a kiln binary built elsewhere (another --scratch-path, an earlier commit)
rm -rf "$work"
mkdir -p "$work"
export DOCKER_CONFIG="$work/docker-config" XDG_CONFIG_HOME="$work/xdg"
mkdir -p "$DOCKER_CONFIG" && echo '{}' >"$DOCKER_CONFIG/config.json" # buildah push insists on an auth file

# --- registry ---
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    # buildah's vfs storage may hold read-only files; everything is under $work.
    rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/registry/storage"
cat >"$work/registry/config.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry/storage}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port, secret: bench}
YML
docker-registry serve "$work/registry/config.yml" >"$work/registry/log" 2>&1 &
pids+=("$!")
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
reg="127.0.0.1:$port"

# --- base image and context ---
rootfs="$work/busybox-rootfs"
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/busybox"
for applet in sh cat dd find sort xargs sha256sum mkdir echo head wc cp ls rm; do ln -s busybox "$rootfs/bin/$applet"; done
echo "root:x:0:0:root:/root:/bin/sh" >"$rootfs/etc/passwd"
SOURCE_DATE_EPOCH=0 KILN_ROOT="$work/import-root" "$kiln" import "$rootfs" --output "type=oci,dest=$work/base" --tag busybox:1 >/dev/null
skopeo copy -q --dest-tls-verify=false "oci:$work/base:1" "docker://$reg/base/busybox:1"
context="$work/context"
mkdir -p "$context"
python3 bench/make-tree.py "$context/src" 2000 20 >/dev/null
cat >"$context/Dockerfile" <<DOCKERFILE
FROM $reg/base/busybox:1
RUN mkdir -p /opt/deps && dd if=/dev/urandom of=/opt/deps/vendor.bin bs=1M count=48 2>/dev/null
RUN find /opt/deps -type f | sort | xargs sha256sum > /opt/deps.sum
COPY src/ /app/src/
RUN find /app/src -type f | sort | xargs cat | sha256sum > /app/build.out
CMD ["cat", "/app/build.out"]
DOCKERFILE
echo "workload: 48 MB RUN layer, $(find "$context/src" -type f | wc -l) source files ($(du -sm "$context/src" | cut -f1) MB); $(nproc) cores"

# time_of CMD...: wall seconds of one run of CMD (its output kept in $work/last.log).
time_of() {
    local start end
    start=$(date +%s.%N)
    if ! "$@" >"$work/last.log" 2>&1; then cat "$work/last.log" >&2; echo "failed: $*" >&2; exit 1; fi
    end=$(date +%s.%N)
    python3 -c "print(f'{$end - $start:.2f}')"
}
kiln_build() { # ROOT TAG
    KILN_ROOT="$1" "$kiln" build --progress plain --cache-repo "$reg/cache/kiln" -t "$reg/app/kiln:$2" --push \
        --metadata-file "$work/kiln-$2.json" "$context"
}
buildah_build() { # STORAGE TAG
    local b=(buildah --root "$1/root" --runroot "$1/run" --storage-driver vfs)
    "${b[@]}" bud --isolation chroot --layers --tls-verify=false --cache-from "$reg/cache/buildah" --cache-to "$reg/cache/buildah" \
        -t "$reg/app/buildah:$2" "$context" &&
        "${b[@]}" push --tls-verify=false "$reg/app/buildah:$2"
}
change_code() { echo "// change $1" >>"$(find "$context/src" -type f | sort | head -1)"; }

declare -A kiln_t buildah_t
kiln_t[cold]=$(time_of kiln_build "$work/kiln-a" cold)
kiln_t[warm]=$(time_of kiln_build "$work/kiln-a" warm)
kiln_t[new]=$(time_of kiln_build "$work/kiln-b" new)
change_code kiln
kiln_t[change]=$(time_of kiln_build "$work/kiln-b" change)

# The same source tree state for buildah: undo the change, then change it the same way.
restore_sources() { python3 bench/make-tree.py "$context/src.fresh" 2000 20 >/dev/null; rm -rf "$context/src"; mv "$context/src.fresh" "$context/src"; }
restore_sources
if [ -n "${KILN_ONLY:-}" ]; then for s in cold warm new change; do buildah_t[$s]=1; done; else
buildah_t[cold]=$(time_of buildah_build "$work/buildah-a" cold)
buildah_t[warm]=$(time_of buildah_build "$work/buildah-a" warm)
buildah_t[new]=$(time_of buildah_build "$work/buildah-b" new)
change_code buildah
buildah_t[change]=$(time_of buildah_build "$work/buildah-b" change)
fi

printf "%-14s %10s %10s %8s\n" scenario "kiln s" "buildah s" "ratio"
for s in cold warm new change; do
    ratio=$(python3 -c "print(f'{${buildah_t[$s]} / max(${kiln_t[$s]}, 0.001):.1f}x')")
    printf "%-14s %10s %10s %8s\n" "$s" "${kiln_t[$s]}" "${buildah_t[$s]}" "$ratio"
done
statuses() { python3 -c 'import json,sys; print(" ".join(s["status"] for s in json.load(open(sys.argv[1]))["kiln.steps"]))' "$1"; }
echo "(every image pushed to $reg; ratio = buildah / kiln)"
echo "kiln steps: warm [$(statuses "$work/kiln-warm.json")] new machine [$(statuses "$work/kiln-new.json")] change [$(statuses "$work/kiln-change.json")]"
python3 - "$work/kiln-change.json" <<'PY'
import json, sys
for s in json.load(open(sys.argv[1]))["kiln.steps"]:
    t = s.get("timing")
    if t: print(f'kiln change, {s["step"]["text"][:40]:40s} rootfs {t["rootfsSeconds"]:.2f}s command {t["commandSeconds"]:.2f}s layer {t["layerSeconds"]:.2f}s')
PY
