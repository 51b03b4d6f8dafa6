# Debian packages Kiln needs, and a function that installs the missing ones.
# Sourced by scripts/example and scripts/test; safe to source twice.

# To compile Kiln: the C libraries behind the system-library targets.
KILN_BUILD_PACKAGES=(pkg-config libarchive-dev libzstd-dev zlib1g-dev libdeflate-dev)
# To run the example (scripts/example): a base image made from busybox-static, RUN in runc,
# and umoci to unpack the result and run it.
# slirp4netns and iproute2 give RUN steps the default (sandbox) network.
KILN_EXAMPLE_PACKAGES=(busybox-static runc umoci slirp4netns iproute2)
# What scripts/kiln-image stages into Kiln's own image (runc, unshare and nsenter, newuidmap,
# slirp4netns, ip, true, CA certificates) and strip, which it runs on the binary.
KILN_IMAGE_PACKAGES=(runc util-linux uidmap slirp4netns iproute2 coreutils ca-certificates binutils)
# To run the test suite: tools no one here wrote that check Kiln's output, and real parts.
# docker.io and containerd: tests start private dockerd/containerd instances of their own and
# never use a system daemon (ensure_packages forbids service starts while installing; with
# systemd the packages enable docker.service, which the tests do not touch). openssh-server and
# git: the ssh-forwarding tests run their own sshd on 127.0.0.1 serving a git repository.
# The exported-cache-mount proofs: debootstrap makes their Debian base (Maven, a JDK, pip); the
# stand-in package index serves Debian's Maven repository, /usr/share/maven-repo, which maven,
# the compiler and resources plugins and junit5 (a BOM the plugins import) fill.
# ca-certificates and binutils: the stand-in tests make Kiln's image with scripts/kiln-image.
# qemu-user-static: the emulation tests run arm64 RUN steps under its binfmt_misc handlers
# (registered with the F flag; test support mounts binfmt_misc and registers them if needed).
KILN_TEST_PACKAGES=(python3 python3-jsonschema python3-cryptography tar gzip zstd pigz jq skopeo umoci runc crun busybox-static docker-registry apache2-utils podman buildah slirp4netns iproute2 docker.io containerd openssh-server openssh-client git uidmap util-linux debootstrap maven libmaven-compiler-plugin-java libmaven-resources-plugin-java junit5 ca-certificates binutils qemu-user-static)

# ensure_packages PKG...: installs those of PKG that dpkg does not report as installed.
ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "kiln: installing missing Debian packages: ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    if [ -z "${KILN_APT_UPDATED:-}" ]; then
        $sudo apt-get update -qq >&2
        KILN_APT_UPDATED=1
    fi
    # No package may start a service here (openssh-server would start sshd on port 22,
    # docker.io a dockerd): tests start their own instances on loopback ports.
    local policy=/usr/sbin/policy-rc.d added_policy=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod 755 "$policy" && added_policy=1
    fi
    local status=0
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || status=$?
    [ -n "$added_policy" ] && $sudo rm -f "$policy"
    return $status
}

# ensure_swift: fails with a clear message when no Swift toolchain is on PATH.
ensure_swift() {
    if ! command -v swift >/dev/null 2>&1; then
        echo "kiln: a Swift 6 toolchain is required (https://www.swift.org/install/linux/); 'swift' is not on PATH" >&2
        exit 1
    fi
}
