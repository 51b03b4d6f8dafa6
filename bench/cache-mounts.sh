#!/usr/bin/env bash
# The Maven workload of issue 14 — a `RUN --mount=type=cache,target=/root/.m2 mvn compile` after
# the COPY of the whole source tree, 217 jars and poms resolved from a loopback stand-in index
# (Debian's packaged Maven repository) — built by Kiln, buildah and BuildKit side by side:
#
#  * cold         a machine that never built: empty storage, empty cache (Kiln: an empty
#                 registry cache repository too)
#  * new machine  a source edit built on a machine that never built. Kiln imports ~/.m2 from
#                 its registry cache (--cache-repo, warmed once before); buildah and BuildKit
#                 keep cache mounts on the machine only, so for them this is a cold build
#  * warm edit    a source edit on the machine of the previous build: the RUN re-runs, every
#                 tool with its local cache mount warm
#
# Each measurement is hyperfine's median over RUNS runs, the storage reset before each run as
# the case needs. Printed: times, and kiln/buildah and kiln/buildkit ratios per case, with the
# artifacts each build downloaded from the index (from the index's log).
#
# The index server, the Maven dependencies and the Debian base are the test fixtures'
# (Tests/KilnTestSupport: TestPackageIndex, DependencyProject, BaseImages+DebianPackageManagers),
# read from their Swift sources so that the bench and the proof cannot drift apart. The base is
# made once with debootstrap and kept in $KILN_BENCH_DIR; all three tools pull it from a loopback
# docker-registry the script starts. BuildKit is a private dockerd (docker.io) with its own
# --data-root and socket, no bridge, no iptables; it is stopped on exit.
#
# Usage: bench/cache-mounts.sh [RUNS]       (hyperfine runs per measurement, default 1)
#   KILN=path          kiln binary (default: a release build of this checkout)
#   KILN_BENCH_DIR     work folder (default /tmp/kiln-bench); the Debian rootfs is cached there
#   KILN_DEBIAN_MIRROR debootstrap's mirror (default http://deb.debian.org/debian)
#   DOCKERD_STORAGE    the private dockerd's storage driver (default overlay2)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
runs="${1:-1}"
work="${KILN_BENCH_DIR:-/tmp/kiln-bench}/cache-mounts"
source scripts/lib/packages.sh
ensure_packages buildah hyperfine jq skopeo docker-registry debootstrap docker.io containerd python3 \
    maven libmaven-compiler-plugin-java libmaven-resources-plugin-java junit5

source bench/lib/kiln.sh
kiln_binary
mkdir -p "$work"

# --- loopback servers (registry, package index, dockerd), stopped on exit by their pids -------------
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    rm -rf "$work/registry" "$work/index" "$work/kiln-root" "$work/buildah" "$work/dockerd" "$work/project" "$work/out"
    return 0
}
trap cleanup EXIT
source bench/lib/loopback.sh # free_port, wait_port, the private dockerd

registry_port=$(free_port)
mkdir -p "$work/registry"
cat > "$work/registry/config.yml" <<EOF
version: 0.1
log: {level: error, formatter: text, accesslog: {disabled: false}}
storage: {filesystem: {rootdirectory: $work/registry/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$registry_port}
EOF
docker-registry serve "$work/registry/config.yml" >"$work/registry/log" 2>&1 &
pids+=($!)
wait_port "$registry_port"
registry="127.0.0.1:$registry_port"

# The test fixtures' index server and Maven dependency list, out of their Swift sources.
python3 - "$repo" "$work" <<'PY'
import re, sys
repo, work = sys.argv[1], sys.argv[2]
index = open(repo + "/Tests/KilnTestSupport/TestPackageIndex.swift").read()
script = re.search(r'pythonSource = #"""\n(.*?)"""#', index, re.S).group(1)
open(work + "/package-index.py", "w").write(script)
project = open(repo + "/Tests/KilnTestSupport/DependencyProject.swift").read()
listed = re.search(r"mavenDependencies = \[(.*?)\]", project, re.S).group(1)
open(work + "/maven-dependencies.txt", "w").write("\n".join(re.findall(r'"([^"]+)"', listed)) + "\n")
PY
index_port=$(free_port)
mkdir -p "$work/index/wheels"
python3 "$work/package-index.py" "$index_port" "$work/index" /usr/share/maven-repo "$work/index/wheels" >"$work/index/log" 2>&1 &
pids+=($!)
wait_port "$index_port"
downloads() { if [ -f "$work/index/downloads.log" ]; then wc -l < "$work/index/downloads.log"; else echo 0; fi; }

# --- the Debian base, made once, pulled by every tool from the registry ------------------------------
packages=$(grep -o 'packageManagerPackages = \[[^]]*\]' Tests/KilnTestSupport/BaseImages+DebianPackageManagers.swift \
    | grep -o '"[^"]*"' | tr -d '"' | paste -sd,)
debian_root="$work/debian-rootfs"
make_debian_rootfs "$debian_root" "$packages"
if [ ! -f "$work/base-layout/index.json" ]; then
    SOURCE_DATE_EPOCH=0 "$kiln" import "$debian_root" --output "type=oci,dest=$work/base-layout" --tag "debian:latest" \
        --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" >/dev/null
fi
skopeo copy -q --dest-tls-verify=false "oci:$work/base-layout:latest" "docker://$registry/base/debian:latest"
base="$registry/base/debian:latest"

# --- the Maven project (the proof's, resolving from this index) ---------------------------------------
project="$work/project"
rm -rf "$project"
mkdir -p "$project/src/main/java/demo"
{
    printf '<project xmlns="http://maven.apache.org/POM/4.0.0">\n  <modelVersion>4.0.0</modelVersion>\n'
    printf '  <groupId>demo</groupId><artifactId>demo</artifactId><version>1.0</version>\n  <properties>\n'
    printf '    <maven.compiler.source>17</maven.compiler.source><maven.compiler.target>17</maven.compiler.target>\n'
    printf '    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>\n  </properties>\n  <dependencies>\n'
    while IFS=: read -r group artifact version; do
        printf '    <dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version></dependency>\n' \
            "$group" "$artifact" "$version"
    done < "$work/maven-dependencies.txt"
    printf '  </dependencies>\n</project>\n'
} > "$project/pom.xml"
cat > "$project/settings.xml" <<EOF
<settings><mirrors><mirror><id>stand-in</id><mirrorOf>*</mirrorOf><url>http://127.0.0.1:$index_port/maven</url></mirror></mirrors></settings>
EOF
cat > "$project/Dockerfile" <<EOF
FROM $base
WORKDIR /src
COPY . .
RUN --mount=type=cache,id=m2,target=/root/.m2 mvn -B -q -s settings.xml compile
EOF
# edit_source: a new Main.java, so the COPY and the resolving RUN re-run.
edit_source() {
    printf 'package demo;\npublic class Main { public static void main(String[] a) { System.out.println("%s"); } }\n' \
        "$(date +%s%N)" > "$project/src/main/java/demo/Main.java"
}
edit_source
export -f edit_source
export project

# --- the tools ----------------------------------------------------------------------------------------
kiln_root="$work/kiln-root"
kiln_build() {  # kiln_build CACHE-REPO
    printf 'KILN_ROOT=%q %q build --progress plain --network host --allow network.host --cache-repo %s %q >>%q 2>&1' \
        "$kiln_root" "$kiln" "$1" "$project" "$work/kiln.log"
}
buildah_store="$work/buildah"
buildah_flags="--root $buildah_store/root --runroot $buildah_store/runroot"
# buildah keeps cache mounts in its own folder under TMPDIR: give it one the reset removes.
buildah_build="mkdir -p $buildah_store/tmp && TMPDIR=$buildah_store/tmp buildah $buildah_flags bud --layers --isolation chroot --network host --tls-verify=false -q -t bench-m2 $project >>$work/buildah.log 2>&1"
buildah_reset="buildah $buildah_flags rmi --all --force >/dev/null 2>&1; rm -rf $buildah_store"

dockerd_dir="$work/dockerd"
export -f start_dockerd stop_dockerd restart_dockerd docker_in unmount_below
export dockerd_dir registry
docker_build="docker_in $dockerd_dir build --network host -q -t bench-m2 $project >>$work/docker.log 2>&1"
# BuildKit's "new machine" and "cold": a new daemon with an empty --data-root.
docker_reset="restart_dockerd $dockerd_dir >/dev/null"
trap 'stop_dockerd "$dockerd_dir"; cleanup' EXIT

# --- measuring ----------------------------------------------------------------------------------------
# measure NAME PREPARE COMMAND: hyperfine's median in seconds, and the artifacts downloaded per run.
measure() {
    local json="$work/hyperfine-$1.json" before after
    before=$(downloads)
    hyperfine --shell bash --style none --runs "$runs" --prepare "$2" --export-json "$json" "$3" >/dev/null 2>"$work/hyperfine-$1.err" \
        || { echo "$1 failed: $3" >&2; tail -5 "$work/hyperfine-$1.err" >&2; tail -30 "$work"/{kiln,buildah,docker}.log 2>/dev/null >&2 || true; exit 1; }
    after=$(downloads)
    printf '%s %s\n' "$(jq -r '.results[0].median' "$json")" "$(( (after - before) / runs ))"
}
results="$work/results.tsv"
: > "$results"
echo "$(nproc) cores, hyperfine median of $runs run(s); $(buildah --version); $(/usr/bin/docker --version)"

# Kiln: cold with a fresh cache repository each run; then one build warms cache/shared; "new
# machine" builds a source edit on an empty root against it; "warm edit" on the root of the last.
kiln_reset="rm -rf $kiln_root; edit_source"
read -r kc kcd <<<"$(measure kiln-cold "$kiln_reset" "$(kiln_build "$registry/cache/cold-\$(date +%s%N)")")"
eval "$kiln_reset"; eval "$(kiln_build "$registry/cache/shared")"
read -r kn knd <<<"$(measure kiln-new "$kiln_reset" "$(kiln_build "$registry/cache/shared")")"
read -r kw kwd <<<"$(measure kiln-warm "edit_source" "$(kiln_build "$registry/cache/shared")")"
printf 'kiln\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kc" "$kcd" "$kn" "$knd" "$kw" "$kwd" >> "$results"
rm -rf "$kiln_root"

read -r bc bcd <<<"$(measure buildah-cold "$buildah_reset; edit_source" "$buildah_build")"
read -r bn bnd <<<"$(measure buildah-new "$buildah_reset; edit_source" "$buildah_build")"
read -r bw bwd <<<"$(measure buildah-warm "edit_source" "$buildah_build")"
printf 'buildah\t%s\t%s\t%s\t%s\t%s\t%s\n' "$bc" "$bcd" "$bn" "$bnd" "$bw" "$bwd" >> "$results"
eval "$buildah_reset"

start_dockerd "$dockerd_dir"
read -r dc dcd <<<"$(measure buildkit-cold "$docker_reset; edit_source" "$docker_build")"
read -r dn dnd <<<"$(measure buildkit-new "$docker_reset; edit_source" "$docker_build")"
read -r dw dwd <<<"$(measure buildkit-warm "edit_source" "$docker_build")"
printf 'buildkit\t%s\t%s\t%s\t%s\t%s\t%s\n' "$dc" "$dcd" "$dn" "$dnd" "$dw" "$dwd" >> "$results"
stop_dockerd "$dockerd_dir"

python3 - "$results" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    tool, *values = line.rstrip("\n").split("\t")
    rows[tool] = [float(values[0]), int(values[1]), float(values[2]), int(values[3]), float(values[4]), int(values[5])]
cases = ["cold", "new machine, source edit", "warm edit"]
print(f"\n{'case':26} " + " ".join(f"{t:>18}" for t in rows) + f" {'kiln/buildah':>13} {'kiln/buildkit':>14}")
for i, case in enumerate(cases):
    cells = " ".join(f"{r[2 * i]:8.1f}s ({r[2 * i + 1]:3d} dl)" for r in rows.values())
    k, b, d = (rows.get(t, [0] * 6)[2 * i] for t in ("kiln", "buildah", "buildkit"))
    print(f"{case:26} {cells} {k / b if b else 0:13.2f} {k / d if d else 0:14.2f}")
print("(dl: artifacts (jars, poms) the build downloaded from the index. buildah and BuildKit keep cache\n"
      " mounts on the machine only: their new machine is a cold build. Kiln's new machine imports ~/.m2\n"
      " from its loopback registry cache.)")
PY
