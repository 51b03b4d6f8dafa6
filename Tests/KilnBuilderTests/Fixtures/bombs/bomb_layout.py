#!/usr/bin/env python3
"""Writes an OCI layout holding one image whose only layer is a decompression bomb.

    bomb_layout.py OUT bytes MEBIBYTES   one file of MEBIBYTES MiB of zeros (gzip: ~1 KiB per MiB)
    bomb_layout.py OUT files COUNT       COUNT empty files (an inode bomb)
    bomb_layout.py OUT random MEBIBYTES  one file of MEBIBYTES MiB of random bytes (no bomb: a big blob)

The image is tagged `bomb` (org.opencontainers.image.ref.name), linux/amd64; no uncompressed
copy of the layer is ever on disk.
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


class Hashing(io.RawIOBase):
    """A write-only stream that hashes what passes through and forwards it."""

    def __init__(self, downstream):
        self.downstream, self.hash, self.size = downstream, hashlib.sha256(), 0

    def writable(self):
        return True

    def write(self, data):
        self.hash.update(data)
        self.size += len(data)
        if self.downstream is not None:
            self.downstream.write(data)
        return len(data)


class Zeros(io.RawIOBase):
    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def main():
    out, kind, amount = sys.argv[1], sys.argv[2], int(sys.argv[3])
    blobs = os.path.join(out, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    temp = os.path.join(blobs, "layer.tmp")
    with open(temp, "wb") as raw:
        compressed = Hashing(raw)
        uncompressed = Hashing(None)
        if kind == "bytes":
            # One gzip member per MiB of zeros, all the same bytes: cheap to write however big
            # the bomb, and a valid multi-member gzip stream of one tar.
            info = tarfile.TarInfo("zeros")
            info.size = amount << 20
            info.mtime = 0
            header = info.tobuf(format=tarfile.PAX_FORMAT)
            zeros = bytes(1 << 20)
            zeros_member = gzip.compress(zeros, compresslevel=9, mtime=0)
            trailer = bytes(1024)  # the data ends on a block boundary; two zero blocks end the tar
            for data, member in [(header, gzip.compress(header, mtime=0))] + [(zeros, zeros_member)] * amount \
                    + [(trailer, gzip.compress(trailer, mtime=0))]:
                uncompressed.write(data)
                compressed.write(member)
        elif kind == "random":
            with gzip.GzipFile(fileobj=compressed, mode="wb", compresslevel=1, mtime=0) as gz:
                uncompressed.downstream = gz
                with tarfile.open(fileobj=uncompressed, mode="w|", format=tarfile.PAX_FORMAT) as archive:
                    info = tarfile.TarInfo("random")
                    info.size = amount << 20
                    archive.addfile(info, io.BytesIO(os.urandom(info.size)))
        else:
            with gzip.GzipFile(fileobj=compressed, mode="wb", compresslevel=1, mtime=0) as gz:
                uncompressed.downstream = gz
                with tarfile.open(fileobj=uncompressed, mode="w|", format=tarfile.PAX_FORMAT) as archive:
                    directory = tarfile.TarInfo("many")
                    directory.type = tarfile.DIRTYPE
                    directory.mode = 0o755
                    archive.addfile(directory)
                    for index in range(amount):
                        archive.addfile(tarfile.TarInfo("many/%07d" % index))
    layer_digest = compressed.hash.hexdigest()
    os.rename(temp, os.path.join(blobs, layer_digest))

    def blob(document):
        data = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, digest), "wb") as handle:
            handle.write(data)
        return {"digest": "sha256:" + digest, "size": len(data)}

    config = blob({"architecture": "amd64", "os": "linux", "config": {},
                   "rootfs": {"type": "layers", "diff_ids": ["sha256:" + uncompressed.hash.hexdigest()]}})
    manifest = blob({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                     "config": dict(mediaType="application/vnd.oci.image.config.v1+json", **config),
                     "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                 "digest": "sha256:" + layer_digest, "size": compressed.size}]})
    with open(os.path.join(out, "oci-layout"), "w") as handle:
        json.dump({"imageLayoutVersion": "1.0.0"}, handle)
    with open(os.path.join(out, "index.json"), "w") as handle:
        json.dump({"schemaVersion": 2, "manifests": [dict(
            mediaType="application/vnd.oci.image.manifest.v1+json",
            annotations={"org.opencontainers.image.ref.name": "bomb"}, **manifest)]}, handle)
    print(json.dumps({"layer": "sha256:" + layer_digest, "size": compressed.size, "uncompressed": uncompressed.size}))


if __name__ == "__main__":
    main()
