#!/usr/bin/env python3
"""Writes the seed corpus of the layer-application fuzz target into fuzz/corpus/layer-apply/.

Each seed is a layer that tries to leave its root one way or another (see
LayerApplyContainmentCheck for the sandbox it is applied in: the target root holds `up ->
../../../outside` and `abs -> <sandbox>/outside`), plus a few ordinary layers, each also
gzip- and zstd-wrapped or truncated. The files are checked in; rerun this only to change them:
    python3 fuzz/make-layer-apply-corpus.py
"""
import gzip
import io
import os
import subprocess
import tarfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "layer-apply")


def entry(name, kind=tarfile.REGTYPE, data=b"", link="", mode=0o644, size=None, devmajor=0, devminor=0, pax=None):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = 1700000000
    info.linkname = link
    info.devmajor, info.devminor = devmajor, devminor
    if pax:
        info.pax_headers = pax
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data, size


def tar(entries, fmt=tarfile.PAX_FORMAT):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
        for info, data, _ in entries:
            archive.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)
    raw = buffer.getvalue()
    return raw


def huge_header(name, claimed):
    """A ustar header claiming `claimed` bytes (base-256 size field) followed by a few bytes."""
    info = tarfile.TarInfo(name)
    info.size = 0
    info.mtime = 1700000000
    header = bytearray(info.tobuf(format=tarfile.GNU_FORMAT))
    size_field = bytearray(12)
    size_field[0] = 0x80
    size_field[4:12] = claimed.to_bytes(8, "big")
    header[124:136] = size_field
    header[148:156] = b"        "
    checksum = sum(header[:512])
    header[148:156] = b"%06o\0 " % checksum
    return bytes(header) + b"x" * 1024


F, D, L, H = tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE
SEEDS = {
    "plain-files": [entry("etc", D, mode=0o755), entry("etc/hostname", data=b"kiln\n"), entry("bin", D),
                    entry("bin/sh", data=b"#!/bin/true\n", mode=0o755), entry("bin/ln", H, link="bin/sh")],
    "dotdot": [entry("../escaped", data=b"x")],
    "dotdot-nested": [entry("a", D), entry("a/../../escaped", data=b"x")],
    "dotdot-deep": [entry("../../../outside/decoy", data=b"overwritten")],
    "absolute": [entry("/escaped-absolute", data=b"x")],
    "symlink-then-write": [entry("out", L, link="../../../outside"), entry("out/pwned", data=b"x")],
    "symlink-absolute-then-write": [entry("slash", L, link="/"), entry("slash/pwned", data=b"x")],
    "preexisting-symlink-write": [entry("up/pwned", data=b"x"), entry("abs/pwned", data=b"x"),
                                  entry("up/dir/pwned", data=b"x")],
    "preexisting-symlink-overwrite-decoy": [entry("up/decoy", data=b"overwritten"), entry("abs/decoy", data=b"overwritten")],
    "symlink-chain": [entry("s1", L, link="s2"), entry("s2", L, link="../../../outside"), entry("s1/pwned", data=b"x")],
    "symlink-loop": [entry("loop1", L, link="loop2"), entry("loop2", L, link="loop1"), entry("loop1/x", data=b"x")],
    "directory-replaced-by-symlink": [entry("d", D), entry("d", L, link="../../../outside"), entry("d/pwned", data=b"x")],
    "hardlink-outside": [entry("h", H, link="../outside/decoy"), entry("h2", H, link="up/decoy"),
                         entry("h3", H, link="abs/decoy"), entry("h4", H, link="/etc/passwd")],
    "hardlink-then-write-through": [entry("link", L, link="../../../outside/decoy"), entry("hl", H, link="link"),
                                    entry("hl", data=b"overwritten")],
    "hardlink-to-self": [entry("f", data=b"x"), entry("f", H, link="f")],
    "whiteout-dotdot": [entry(".wh..."), entry("a", D), entry("a/.wh..."), entry(".wh..")],
    "whiteout-through-symlink": [entry("up/.wh.decoy"), entry("abs/.wh.dir"), entry("up/.wh..wh..opq")],
    "opaque-whiteout": [entry("keep", D), entry("keep/file", data=b"x"), entry("keep/.wh..wh..opq"),
                        entry(".wh..wh..opq"), entry("again", D), entry("again/.wh..wh..opq")],
    "whiteout-root": [entry(".wh.up"), entry(".wh.abs"), entry("./.wh..wh..opq")],
    "devices": [entry("null", tarfile.CHRTYPE, devmajor=1, devminor=3), entry("sda", tarfile.BLKTYPE, devmajor=8, devminor=0),
                entry("fifo", tarfile.FIFOTYPE), entry("up/null", tarfile.CHRTYPE, devmajor=1, devminor=3)],
    "modes-through-symlink": [entry("up", D, mode=0o777), entry("abs", F, mode=0o4777, data=b"x")],
    "pax-long-names": [entry("d" * 200, D), entry("d" * 200 + "/" + "f" * 200, data=b"x"),
                       entry("x", data=b"x", pax={"path": "../pax-escaped"}),
                       entry("y", L, link="z", pax={"linkpath": "../../../outside"})],
    "xattrs": [entry("attr", data=b"x", pax={"SCHILY.xattr.user.kiln": "1", "SCHILY.xattr.trusted.overlay.opaque": "y"})],
    "dot-entries": [entry(".", D, mode=0o700), entry("./", D), entry("./a/./b", data=b"x")],
}


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as handle:
        handle.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, entries in SEEDS.items():
        raw = tar(entries)
        write(name + ".tar", raw)
    for name in ["symlink-then-write", "hardlink-outside", "whiteout-through-symlink", "plain-files", "dotdot"]:
        raw = tar(SEEDS[name])
        write(name + ".tar.gz", gzip.compress(raw, mtime=0))
        write(name + ".tar.zst", subprocess.run(["zstd", "-q", "-c", "-19"], input=raw, capture_output=True, check=True).stdout)
    write("huge-size.tar", huge_header("huge", 1 << 40))
    write("huge-size.tar.gz", gzip.compress(huge_header("huge", 1 << 40), mtime=0))
    write("huge-negative-size.tar", huge_header("neg", (1 << 63) + 5))
    bomb = tar([entry("zeros", data=b"\0" * (4 << 20))])
    write("zero-bomb-4m.tar.gz", gzip.compress(bomb, mtime=0))
    write("zero-bomb-4m.tar.zst", subprocess.run(["zstd", "-q", "-c", "-19"], input=bomb, capture_output=True, check=True).stdout)
    plain = tar(SEEDS["plain-files"])
    write("truncated.tar", plain[:700])
    write("truncated.tar.gz", gzip.compress(plain, mtime=0)[:60])
    write("truncated.tar.zst", subprocess.run(["zstd", "-q", "-c"], input=plain, capture_output=True, check=True).stdout[:40])
    write("gzip-then-garbage.tar.gz", gzip.compress(plain, mtime=0) + b"garbage after the member")
    write("empty", b"")
    write("garbage", bytes(range(256)) * 4)


if __name__ == "__main__":
    main()
