# Loopback servers and base images shared by the benches that start them (sourced, not run).
#
#   free_port                      a free 127.0.0.1 port
#   wait_port PORT                 waits (up to 20 s) until something listens on PORT
#   start_registry DIR             a docker-registry on a free port, data in DIR; sets $registry
#                                  (127.0.0.1:PORT) and adds its pid to $loopback_pids
#   make_busybox_rootfs DIR        a busybox-static root filesystem (once; kept if it is there)
#   make_debian_rootfs DIR PKGS    a `debootstrap --variant=minbase` bookworm with the packages PKGS
#                                  (comma-separated) from $KILN_DEBIAN_MIRROR (default
#                                  deb.debian.org), once: kept while it was made with these packages
#   start_dockerd DIR              a private dockerd (Debian's docker.io) with its own data root,
#                                  exec root and socket under DIR, no bridge, no iptables, the
#                                  registry of start_registry insecure (as 127.0.0.1:PORT and as
#                                  localhost:PORT); sets $docker_host (unix://DIR/docker.sock)
#   stop_dockerd DIR               stops the dockerd start_dockerd started in DIR, by its pid
#   restart_dockerd DIR            a new daemon with empty storage: stops the one in DIR, removes
#                                  DIR (its mounts first) and starts another (BuildKit's cold build)
#   docker_in DIR ARGS…            Debian's docker client (/usr/bin/docker, DOCKER_BUILDKIT=1) on
#                                  the dockerd of DIR
#   stop_loopback                  stops every server start_registry started, by its pid
#   unmount_below DIR              detaches the mounts below DIR (a killed tool's), deepest first
#
# Every server is stopped by the pid this file recorded for it, never by name.

loopback_pids=()

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
    python3 - "$1" <<'PY'
import socket, sys, time
for _ in range(400):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close(); sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

start_registry() {
    local dir="$1" port
    port=$(free_port)
    mkdir -p "$dir"
    cat > "$dir/config.yml" <<EOF
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $dir/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
EOF
    docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
    loopback_pids+=($!)
    wait_port "$port" || { echo "the registry did not start, see $dir/log" >&2; return 1; }
    registry="127.0.0.1:$port"
}

stop_loopback() {
    local pid
    for pid in "${loopback_pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    loopback_pids=()
}

make_busybox_rootfs() {
    local root="$1" applet
    [ -x "$root/bin/busybox" ] && return 0
    rm -rf "$root"
    mkdir -p "$root"/{bin,etc,tmp,root}
    chmod 1777 "$root/tmp"
    cp /bin/busybox "$root/bin/"
    for applet in $("$root/bin/busybox" --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
}

make_debian_rootfs() {
    local root="$1" packages="$2" start
    [ -f "$root/.complete-$packages" ] && return 0
    rm -rf "$root"
    echo "making the Debian base with debootstrap ($packages; once, kept in $root)"
    start=$(date +%s)
    debootstrap --variant=minbase --include="$packages" bookworm "$root" "${KILN_DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
        >"$root.debootstrap.log" 2>&1 || { echo "debootstrap failed, see $root.debootstrap.log" >&2; return 1; }
    rm -f "$root"/var/cache/apt/archives/*.deb
    touch "$root/.complete-$packages"
    echo "debootstrap took $(( $(date +%s) - start )) s"
}

start_dockerd() {
    local dir="$1"
    mkdir -p "$dir/config"
    echo '{}' > "$dir/config/config.json"
    dockerd --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/docker.pid" \
        -H "unix://$dir/docker.sock" --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
        --storage-driver "${DOCKERD_STORAGE:-overlay2}" --log-level warn \
        ${registry:+--insecure-registry "$registry" --insecure-registry "localhost:${registry##*:}"} \
        >"$dir/log" 2>&1 &
    echo $! > "$dir/dockerd.bench-pid"
    docker_host="unix://$dir/docker.sock"
    for _ in $(seq 300); do
        docker_in "$dir" version >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "the private dockerd did not start, see $dir/log" >&2
    return 1
}

stop_dockerd() {
    local dir="$1" pid
    pid=$(cat "$dir/dockerd.bench-pid" 2>/dev/null || true)
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$dir/dockerd.bench-pid"
}

restart_dockerd() {
    local dir="$1"
    stop_dockerd "$dir"
    unmount_below "$dir"
    rm -rf "$dir"
    start_dockerd "$dir"
}

docker_in() {
    local dir="$1"
    shift
    DOCKER_BUILDKIT=1 DOCKER_CONFIG="$dir/config" /usr/bin/docker -H "unix://$dir/docker.sock" "$@"
}

# unmount_below DIR: detaches every mount below DIR, deepest first (what a killed buildah or
# dockerd left), so that DIR can be removed.
unmount_below() {
    local dir mount
    dir=$(realpath -m "$1")
    awk -v d="$dir/" 'index($5 "/", d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r mount; do
        umount -l "$mount" 2>/dev/null || true
    done
}
