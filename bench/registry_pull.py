"""Pull of a 100 MB-layer image from a local registry: our daemon against `skopeo copy`.

Both read the same image from the same `minidock-registry` on 127.0.0.1:

* ours:   `minidock pull 127.0.0.1:PORT/big:latest` through a chapter-4
  `minidockd` (the blobs stream into its content store, sha256 and size
  checked on the way);
* theirs: `skopeo copy docker://127.0.0.1:PORT/big:latest oci:DIR:big`
  (the same bytes into an OCI layout, digests checked too).

Each run gets a fresh destination (a new daemon data root, a new OCI
directory), so nothing is "already present". The layer is random bytes from
a fixed seed: gzip cannot shrink it, and every run of the benchmark pulls the
same image. It prints the median of the runs of each and their ratio (the
aim: no more than 1.2x skopeo).

    .venv/bin/python bench/registry_pull.py [--runs 3] [--size-mb 100]

Everything (registry root, daemon roots, OCI directories) lives in one
temporary directory; the registry and the daemons are started here and
stopped by PID.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SKOPEO = "/usr/bin/skopeo"
SEED = 20260101
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_layout(dest: Path, size: int) -> str:
    """An OCI layout of a linux/amd64 image with one layer: a tar of `size` random bytes.
    Returns the layer's digest."""
    payload = random.Random(SEED).randbytes(size)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("random.bin")
        info.size, info.mtime, info.mode = size, 0, 0o644
        tar.addfile(info, io.BytesIO(payload))
    layer = gzip.compress(raw.getvalue(), compresslevel=1, mtime=0)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                         "rootfs": {"type": "layers", "diff_ids": [sha256(raw.getvalue())]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha256(layer),
                    "size": len(layer)}]}).encode()
    blobs = dest / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    for data in (layer, config, manifest):
        (blobs / sha256(data).removeprefix("sha256:")).write_bytes(data)
    (dest / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (dest / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": sha256(manifest), "size": len(manifest),
         "annotations": {"org.opencontainers.image.ref.name": "big"}}]}))
    return sha256(layer)


@contextmanager
def process(argv: list[str], log_path: Path, ready: str, env: dict[str, str]) -> Iterator[None]:
    """Run a server until `ready` appears in its log; SIGTERM it by PID at the end."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while ready not in log_path.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{argv[0]} did not start:\n{log_path.read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)
        yield
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def run(argv: list[str], env: dict[str, str]) -> float:
    """Wall time of one command, which must succeed."""
    start = time.perf_counter()
    result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {result.stderr.decode().strip()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size-mb", type=int, default=100)
    args = parser.parse_args()
    if not os.access(SKOPEO, os.X_OK):
        raise SystemExit(f"no skopeo at {SKOPEO} (Debian package skopeo)")
    python = sys.executable
    minidock = str(Path(python).with_name("minidock"))
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "MINIDOCK_API_VERSION")}
    env["MINIDOCK_CHAPTER"] = "4"

    with tempfile.TemporaryDirectory(prefix="minidock-bench-") as tmp_name:
        tmp = Path(tmp_name)
        started = time.perf_counter()
        layer = build_layout(tmp / "layout", args.size_mb << 20)
        size = (tmp / "layout/blobs/sha256" / layer.removeprefix("sha256:")).stat().st_size
        print(f"image:         one layer, {size / 1e6:.1f} MB gzipped ({layer[:19]}…), "
              f"built in {time.perf_counter() - started:.1f} s")
        host = f"127.0.0.1:{free_port()}"
        registry = [python, "-m", "minidock.registry.server.main", "--listen", host, "--root", str(tmp / "reg")]
        with process(registry, tmp / "registry.log", "listening on", env):
            subprocess.run([SKOPEO, "--insecure-policy", "copy", "--dest-tls-verify=false",
                            f"oci:{tmp / 'layout'}:big", f"docker://{host}/big:latest"],
                           check=True, capture_output=True)
            ours: list[float] = []
            theirs: list[float] = []
            for n in range(args.runs):
                base = tmp / f"d{n}"
                base.mkdir()
                daemon = [python, "-m", "minidock.daemon", "-H", f"unix://{base / 'd.sock'}",
                          "--data-root", str(base / "data"), "--exec-root", str(base / "exec"),
                          "-p", str(base / "pid")]
                with process(daemon, base / "minidockd.log", "API listen on", env):
                    ours.append(run([minidock, "-H", f"unix://{base / 'd.sock'}", "pull", f"{host}/big:latest"],
                                    env))
                blob = base / "data/content/blobs/sha256" / layer.removeprefix("sha256:")
                if not blob.is_file() or blob.stat().st_size != size:
                    raise SystemExit(f"the pull did not leave the layer at {blob}")
                theirs.append(run([SKOPEO, "--insecure-policy", "copy", "--src-tls-verify=false",
                                   f"docker://{host}/big:latest", f"oci:{tmp / f'oci{n}'}:big"], env))
    ours_s, theirs_s = statistics.median(ours), statistics.median(theirs)
    print(f"registry:      minidock-registry on {host}")
    print(f"runs:          {args.runs} each, fresh destination every time")
    print(f"minidock pull: median {ours_s:6.2f} s  ({size / 1e6 / ours_s:6.1f} MB/s)   "
          f"runs: {', '.join(f'{t:.2f}' for t in ours)}")
    print(f"skopeo copy:   median {theirs_s:6.2f} s  ({size / 1e6 / theirs_s:6.1f} MB/s)   "
          f"runs: {', '.join(f'{t:.2f}' for t in theirs)}")
    print(f"ratio:         {ours_s / theirs_s:.2f}x   (aim: <= 1.2x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
