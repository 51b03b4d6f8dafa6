#!/usr/bin/env python3
"""Adds a gzip tar layer on top of an image in an OCI layout, as a new image under another name:
add-layer.py LAYOUT FROM_REF TO_REF LAYER.tar.gz (the layer's blob is copied into the layout)."""
import gzip, hashlib, json, os, shutil, sys

layout, source_ref, target_ref, layer_path = sys.argv[1:5]

def sha256_file(path, opener=open):
    digest = hashlib.sha256()
    with opener(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()

def blob(digest):
    return os.path.join(layout, "blobs", "sha256", digest.split(":", 1)[1])

def store(data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(blob(digest), "wb") as f:
        f.write(data)
    return digest

index_path = os.path.join(layout, "index.json")
index = json.load(open(index_path))
entry = next(m for m in index["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == source_ref)
manifest = json.load(open(blob(entry["digest"])))
config = json.load(open(blob(manifest["config"]["digest"])))

layer_digest = sha256_file(layer_path)
shutil.copyfile(layer_path, blob(layer_digest))
config["rootfs"]["diff_ids"].append(sha256_file(layer_path, gzip.open))
config.setdefault("history", []).append({"created_by": "bench/add-layer.py " + os.path.basename(layer_path)})
config_bytes = json.dumps(config, separators=(",", ":"), sort_keys=True).encode()
manifest["config"] = dict(manifest["config"], digest=store(config_bytes), size=len(config_bytes))
manifest["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest,
                           "size": os.path.getsize(layer_path)})
manifest_bytes = json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode()
new_entry = {"mediaType": entry["mediaType"], "digest": store(manifest_bytes), "size": len(manifest_bytes),
             "annotations": {"org.opencontainers.image.ref.name": target_ref}}
index["manifests"] = [m for m in index["manifests"]
                      if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != target_ref] + [new_entry]
with open(index_path + ".tmp", "w") as f:
    json.dump(index, f)
os.replace(index_path + ".tmp", index_path)
