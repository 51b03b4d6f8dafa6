#!/usr/bin/env python3
"""Generates hostile tar layers for the applier's containment tests.

Usage: hostile_tars.py --list
       hostile_tars.py CASE OUT.tar OUTSIDE_DIR

OUTSIDE_DIR is a directory beside the apply target that must stay untouched; cases that aim
at it by absolute path get it here. Each case is written with tarfile in PAX format so that
names longer than 100 bytes survive.
"""
import io
import os
import sys
import tarfile


def entry(name, kind=tarfile.REGTYPE, data=b"", linkname="", mode=0o644, devmajor=0, devminor=0):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.linkname = linkname
    info.devmajor = devmajor
    info.devminor = devminor
    info.mtime = 1_600_000_000
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, (io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def symlink(name, target):
    return entry(name, tarfile.SYMTYPE, linkname=target, mode=0o777)


def hardlink(name, target):
    return entry(name, tarfile.LNKTYPE, linkname=target)


def directory(name):
    return entry(name, tarfile.DIRTYPE, mode=0o755)


def pwned(name):
    return entry(name, data=b"pwned\n")


def cases(outside):
    relative_outside = "../" + os.path.basename(outside)
    deep = "/".join(["d" * 100] * 60)
    return {
        "dotdot": [pwned("../escape.txt")],
        "dotdot-nested": [directory("a"), pwned("a/../../escape.txt")],
        "absolute": [pwned(outside + "/escape.txt")],
        "symlink-absolute-then-file": [symlink("evil", outside), pwned("evil/pwned.txt")],
        "symlink-relative-then-file": [symlink("evil", relative_outside), pwned("evil/pwned.txt")],
        "symlink-dir-chain": [directory("a"), symlink("a/b", "../.."), pwned("a/b/c/pwned.txt")],
        "hardlink-etc-passwd": [hardlink("passwd", "/etc/passwd")],
        "hardlink-dotdot": [hardlink("h", relative_outside + "/secret")],
        "hardlink-via-symlink": [symlink("s", outside), hardlink("h", "s/secret")],
        "device-node": [entry("null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3)],
        "whiteout-dotdot": [directory("a"), entry("a/.wh..."), entry(".wh..")],
        "whiteout-via-symlink": [symlink("s", outside), entry("s/.wh.secret")],
        "opaque-dotdot": [entry("../.wh..wh..opq")],
        "long-component": [pwned("x" * 300)],
        "deep-long-path": [pwned(deep + "/pwned.txt")],
        "symlink-loop": [symlink("a", "b"), symlink("b", "a"), pwned("a/x")],
        "file-over-symlink": [symlink("link", outside + "/secret"), pwned("link")],
        "hardlink-to-symlink-then-file": [symlink("s", outside + "/secret"), hardlink("h", "s"), pwned("h")],
        "preexisting-symlink": [pwned("pre/pwned.txt")],
        "directory-over-symlink": [symlink("d", outside), directory("d"), pwned("d/x")],
    }


def main():
    if sys.argv[1:] == ["--list"]:
        print("\n".join(cases("/nonexistent")))
        return
    name, out, outside = sys.argv[1:4]
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in cases(outside)[name]:
            tar.addfile(info, data)


if __name__ == "__main__":
    main()
