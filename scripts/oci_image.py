#!/usr/bin/env python3
"""Builds and checks Prescale's container image without a container engine or registry
(python3 standard library only); scripts/image.sh drives it.

  oci_image.py rootfs BINARY DIR
      DIR gets /prescale, the shared libraries BINARY links (as ldd resolves them), the CA
      roots of Debian's ca-certificates, and /etc/passwd + /etc/group naming the non-root
      user 65532.
  oci_image.py write DIR LAYOUT --ref NAME:TAG [--label K=V ...] [--fast] [--archive FILE]
      LAYOUT becomes an OCI image layout (oci-layout, index.json, blobs/sha256/: one gzip
      layer of DIR, the config, the manifest) plus a docker-style manifest.json, so the same
      directory (or FILE, a tar of it) loads with `skopeo copy oci:LAYOUT ...` or
      `docker load -i FILE`. The layer is reproducible: sorted entries, owner 0:0, mtime 0.
  oci_image.py check LAYOUT --ref NAME:TAG [--unpack DIR]
      Verifies every digest and size, the config (user 65532, entrypoint /prescale, labels,
      linux/amd64) and the ref name; prints the config as JSON; unpacks the layer into DIR.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time

UID = 65532
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
REQUIRED_LABELS = [
    "org.opencontainers.image.title",
    "org.opencontainers.image.version",
    "org.opencontainers.image.source",
    "org.opencontainers.image.licenses",
    "org.opencontainers.image.created",
]


def fail(msg):
    print(f"oci_image: {msg}", file=sys.stderr)
    sys.exit(1)


def linked_libraries(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True)
    if out.returncode != 0:
        if "not a dynamic executable" in out.stdout + out.stderr:
            return []
        fail(f"ldd {binary}: {out.stderr.strip()}")
    libs = []
    for line in out.stdout.splitlines():
        m = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
        if m:
            libs.append(m.group(1))
        elif "not found" in line:
            fail(f"{binary} links a library that is not installed: {line.strip()}")
    return libs


def copy_into(root, path, mode=None):
    dest = os.path.join(root, path.lstrip("/"))
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    shutil.copyfile(os.path.realpath(path), dest)
    os.chmod(dest, mode if mode is not None else 0o755)


def rootfs(args):
    if os.path.exists(args.dir):
        shutil.rmtree(args.dir)
    os.makedirs(args.dir)
    shutil.copyfile(os.path.realpath(args.binary), os.path.join(args.dir, "prescale"))
    os.chmod(os.path.join(args.dir, "prescale"), 0o755)
    for lib in linked_libraries(args.binary):
        copy_into(args.dir, lib, 0o755)
    if not os.path.exists(CA_BUNDLE):
        fail(f"{CA_BUNDLE} is missing: apt-get install ca-certificates")
    copy_into(args.dir, CA_BUNDLE, 0o644)
    etc = os.path.join(args.dir, "etc")
    with open(os.path.join(etc, "passwd"), "w") as f:
        f.write(f"root:x:0:0:root:/root:/sbin/nologin\nprescale:x:{UID}:{UID}:prescale:/nonexistent:/sbin/nologin\n")
    with open(os.path.join(etc, "group"), "w") as f:
        f.write(f"root:x:0:\nprescale:x:{UID}:\n")
    os.makedirs(os.path.join(args.dir, "tmp"), exist_ok=True)
    os.chmod(os.path.join(args.dir, "tmp"), 0o1777)


def layer_tar(root):
    """The root file system as a reproducible tar (bytes)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        entries = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames + filenames):
                entries.append(os.path.join(dirpath, name))
        for path in sorted(entries):
            info = tar.gettarinfo(path, arcname=os.path.relpath(path, root))
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            if info.isfile():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    return buf.getvalue()


def blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(layout, "blobs", "sha256", digest)
    with open(path, "wb") as f:
        f.write(data)
    return f"sha256:{digest}"


def split_ref(ref):
    name, _, tag = ref.rpartition(":")
    if not name or "/" in tag or not tag:
        fail(f"--ref {ref!r} is not NAME:TAG")
    return name, tag


def write(args):
    name, tag = split_ref(args.ref)
    if os.path.exists(args.layout):
        shutil.rmtree(args.layout)
    os.makedirs(os.path.join(args.layout, "blobs", "sha256"))
    raw = layer_tar(args.dir)
    gz = gzip.compress(raw, compresslevel=1 if args.fast else 9, mtime=0)
    layer_digest = blob(args.layout, gz)
    labels = dict(kv.split("=", 1) for kv in args.label)
    created = labels.get("org.opencontainers.image.created") or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(0))
    config = {
        "created": created,
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "User": f"{UID}:{UID}",
            "Entrypoint": ["/prescale"],
            "Cmd": ["run"],
            "Env": [f"SSL_CERT_FILE={CA_BUNDLE}"],
            "WorkingDir": "/",
            "Labels": labels,
        },
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(raw).hexdigest()}"]},
        "history": [{"created": created, "created_by": "scripts/image.sh: the release binary, its libraries and CA roots"}],
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_digest = blob(args.layout, config_bytes)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, "digest": config_digest, "size": len(config_bytes)},
        "layers": [{"mediaType": MEDIA_LAYER, "digest": layer_digest, "size": len(gz)}],
        "annotations": {k: v for k, v in labels.items() if k.startswith("org.opencontainers.image.")},
    }
    manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
    manifest_digest = blob(args.layout, manifest_bytes)
    index = {
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": [{
            "mediaType": MEDIA_MANIFEST, "digest": manifest_digest, "size": len(manifest_bytes),
            "platform": {"architecture": "amd64", "os": "linux"},
            "annotations": {"org.opencontainers.image.ref.name": tag, "io.containerd.image.name": args.ref},
        }],
    }
    with open(os.path.join(args.layout, "index.json"), "w") as f:
        json.dump(index, f, sort_keys=True)
    with open(os.path.join(args.layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    # what `docker load` of a tar reads when it does not read index.json
    docker = [{"Config": f"blobs/sha256/{config_digest[7:]}", "RepoTags": [args.ref],
               "Layers": [f"blobs/sha256/{layer_digest[7:]}"]}]
    with open(os.path.join(args.layout, "manifest.json"), "w") as f:
        json.dump(docker, f)
    if args.archive:
        with tarfile.open(args.archive, "w") as tar:
            for entry in sorted(os.listdir(args.layout)):
                tar.add(os.path.join(args.layout, entry), arcname=entry)
    print(json.dumps({"ref": args.ref, "manifest": manifest_digest, "layer_bytes": len(gz)}))


def read_blob(layout, desc, media):
    if desc.get("mediaType") != media:
        fail(f"{desc.get('digest')}: media type {desc.get('mediaType')!r}, want {media!r}")
    algo, _, hexd = desc["digest"].partition(":")
    if algo != "sha256":
        fail(f"{desc['digest']}: not sha256")
    with open(os.path.join(layout, "blobs", "sha256", hexd), "rb") as f:
        data = f.read()
    if hashlib.sha256(data).hexdigest() != hexd:
        fail(f"blob {hexd}: content does not match its digest")
    if len(data) != desc["size"]:
        fail(f"blob {hexd}: {len(data)} bytes, descriptor says {desc['size']}")
    return data


def check(args):
    name, tag = split_ref(args.ref)
    with open(os.path.join(args.layout, "oci-layout")) as f:
        if json.load(f).get("imageLayoutVersion") != "1.0.0":
            fail("oci-layout: imageLayoutVersion is not 1.0.0")
    with open(os.path.join(args.layout, "index.json")) as f:
        index = json.load(f)
    found = [m for m in index["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
    if len(found) != 1:
        fail(f"index.json: no single manifest tagged {tag!r}")
    if found[0]["annotations"].get("io.containerd.image.name") != args.ref:
        fail(f"index.json: image name is not {args.ref!r}")
    manifest = json.loads(read_blob(args.layout, found[0], MEDIA_MANIFEST))
    config = json.loads(read_blob(args.layout, manifest["config"], MEDIA_CONFIG))
    c = config["config"]
    problems = []
    if (config.get("os"), config.get("architecture")) != ("linux", "amd64"):
        problems.append("platform is not linux/amd64")
    user = c.get("User", "")
    if not re.fullmatch(r"[1-9][0-9]*(:[0-9]+)?", user):
        problems.append(f"User {user!r} is not a numeric non-root user")
    if c.get("Entrypoint") != ["/prescale"]:
        problems.append(f"Entrypoint {c.get('Entrypoint')!r} is not ['/prescale']")
    labels = c.get("Labels") or {}
    for label in REQUIRED_LABELS:
        if not labels.get(label):
            problems.append(f"label {label} is missing")
    if labels.get("org.opencontainers.image.version") != tag:
        problems.append(f"label org.opencontainers.image.version is not the tag {tag!r}")
    if len(manifest["layers"]) != len(config["rootfs"]["diff_ids"]):
        problems.append("layers and diff_ids differ in number")
    for layer, diff_id in zip(manifest["layers"], config["rootfs"]["diff_ids"]):
        raw = gzip.decompress(read_blob(args.layout, layer, MEDIA_LAYER))
        if f"sha256:{hashlib.sha256(raw).hexdigest()}" != diff_id:
            problems.append(f"layer {layer['digest']}: uncompressed digest is not its diff_id")
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            names = set(tar.getnames())
            for want in ["prescale", CA_BUNDLE.lstrip("/"), "etc/passwd"]:
                if want not in names:
                    problems.append(f"layer lacks /{want}")
            if any(n in names for n in ["bin/sh", "usr/bin/sh", "bin/bash"]):
                problems.append("layer holds a shell")
            if args.unpack:
                if os.path.exists(args.unpack):
                    shutil.rmtree(args.unpack)
                os.makedirs(args.unpack)
                tar.extractall(args.unpack, filter="tar")
    if problems:
        fail("; ".join(problems))
    print(json.dumps({"ref": args.ref, "config": c}, sort_keys=True))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("rootfs")
    r.add_argument("binary")
    r.add_argument("dir")
    w = sub.add_parser("write")
    w.add_argument("dir")
    w.add_argument("layout")
    w.add_argument("--ref", required=True)
    w.add_argument("--label", action="append", default=[])
    w.add_argument("--fast", action="store_true", help="gzip level 1 (checks), not 9")
    w.add_argument("--archive")
    c = sub.add_parser("check")
    c.add_argument("layout")
    c.add_argument("--ref", required=True)
    c.add_argument("--unpack")
    args = p.parse_args()
    {"rootfs": rootfs, "write": write, "check": check}[args.cmd](args)


if __name__ == "__main__":
    main()
