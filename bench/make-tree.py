#!/usr/bin/env python3
"""Writes a deterministic benchmark tree: FILES files totalling about MEGABYTES MB, in nested
directories, with a mix of text (compressible), binary-ish and random (incompressible) data,
plus some symlinks and hardlinks. Usage: make-tree.py DIR [FILES] [MEGABYTES]"""
import os, random, sys

root = sys.argv[1]
files = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
megabytes = int(sys.argv[3]) if len(sys.argv) > 3 else 500
rng = random.Random(42)
words = [b"kiln", b"layer", b"digest", b"manifest", b"snapshot", b"registry", b"cache", b"build", b"stage", b"\n"]
average = megabytes * 1024 * 1024 // files
random_block = rng.randbytes(1 << 20)

for i in range(files):
    directory = os.path.join(root, f"d{i % 50:02d}", f"e{(i // 50) % 40:02d}")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"f{i:05d}.dat")
    # A long-tailed size distribution: most files small, a few large.
    size = min(int(rng.expovariate(1 / average)), 64 * average)
    kind = i % 4
    with open(path, "wb") as out:
        if kind == 0:  # incompressible
            offset = rng.randrange(len(random_block))
            chunk = (random_block[offset:] + random_block[:offset])
            while size > 0:
                out.write(chunk[:size]); size -= len(chunk[:size])
        else:  # text-like
            line = b" ".join(rng.choice(words) for _ in range(16)) + b"\n"
            block = line * (65536 // len(line) + 1)
            while size > 0:
                out.write(block[:size]); size -= len(block[:size])
    if i % 500 == 1:
        os.symlink(f"f{i:05d}.dat", os.path.join(directory, f"l{i:05d}"))
    if i % 700 == 2:
        os.link(path, os.path.join(directory, f"h{i:05d}.dat"))
