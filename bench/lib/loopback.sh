# Loopback servers and base images shared by the benches that start them (sourced, not run).
#
#   free_port                      a free 127.0.0.1 port
#   wait_port PORT                 waits (up to 20 s) until something listens on PORT
#   start_registry DIR             a docker-registry on a free port, data in DIR; sets $registry
#                                  (127.0.0.1:PORT) and adds its pid to $loopback_pids
#   make_busybox_rootfs DIR        a busybox-static root filesystem (once; kept if it is there)
#   start_dockerd DIR              a private dockerd (Debian's docker.io) with its own data root,
#                                  exec root and socket under DIR, no bridge, no iptables; sets
#                                  $docker_host (unix://DIR/docker.sock)
#   stop_dockerd DIR               stops the dockerd start_dockerd started in DIR, by its pid
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

start_dockerd() {
    local dir="$1"
    mkdir -p "$dir/config"
    echo '{}' > "$dir/config/config.json"
    dockerd --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/docker.pid" \
        -H "unix://$dir/docker.sock" --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
        --storage-driver "${DOCKERD_STORAGE:-overlay2}" ${registry:+--insecure-registry "$registry"} --log-level warn \
        >"$dir/log" 2>&1 &
    echo $! > "$dir/dockerd.bench-pid"
    docker_host="unix://$dir/docker.sock"
    for _ in $(seq 300); do
        DOCKER_CONFIG="$dir/config" /usr/bin/docker -H "$docker_host" version >/dev/null 2>&1 && return 0
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

# unmount_below DIR: detaches every mount below DIR, deepest first (what a killed buildah or
# dockerd left), so that DIR can be removed.
unmount_below() {
    local dir mount
    dir=$(realpath -m "$1")
    awk -v d="$dir/" 'index($5 "/", d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r mount; do
        umount -l "$mount" 2>/dev/null || true
    done
}
