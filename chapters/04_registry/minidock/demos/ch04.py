"""Chapter 04's demo: a real pull, offline.

It builds the busybox image from the machine's `busybox-static` as an OCI
image layout (registry/oci_layout.py), starts our private registry
(`minidock-registry`) and uploads the image into it blob by blob - the push
conversation in miniature, with plain `urllib` - then starts `minidockd` in
the chapter-4 world and pulls the image through it with our client. The
pulled blobs land in the daemon's content store, which it lists. Everything
listens on temporary sockets and ports; nothing reaches the internet.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from minidock.demo import step
from minidock.registry.oci_layout import BusyboxLayout, build_busybox_layout

CHAPTER_ENV = {"MINIDOCK_CHAPTER": "4"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(ready, what: str, proc: subprocess.Popen, log: Path, timeout: float = 15) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"{what} did not start:\n{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.05)


def start_registry(tmp: Path) -> tuple[subprocess.Popen, str]:
    host = f"127.0.0.1:{free_port()}"
    log = tmp / "registry.log"
    proc = subprocess.Popen([sys.executable, "-m", "minidock.registry.server.main", "--listen", host,
                             "--root", str(tmp / "registry")], stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                            env={**os.environ, **CHAPTER_ENV}, start_new_session=True)
    wait_until(lambda: "listening on" in log.read_text(errors="replace"), "minidock-registry", proc, log)
    return proc, host


def start_daemon(tmp: Path) -> tuple[subprocess.Popen, str]:
    sock = tmp / "minidockd.sock"
    log = tmp / "minidockd.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "minidock.daemon", "-H", f"unix://{sock}", "--data-root", str(tmp / "data"),
         "--exec-root", str(tmp / "exec"), "--pidfile", str(tmp / "minidockd.pid")],
        stdout=subprocess.DEVNULL, stderr=open(log, "wb"), env={**os.environ, **CHAPTER_ENV}, start_new_session=True)
    wait_until(lambda: "API listen on" in log.read_text(errors="replace"), "minidockd", proc, log)
    return proc, f"unix://{sock}"


# --8<-- [start:upload]
def upload(layout: BusyboxLayout, registry: str, repository: str, tag: str) -> None:
    """Put the layout's image into a registry: each blob with one monolithic
    `POST /v2/<name>/blobs/uploads/?digest=` (201), then the manifest with `PUT` under its tag."""
    blobs = layout.path / "blobs" / "sha256"
    for descriptor in (layout.layer, layout.config):
        data = (blobs / descriptor.digest.removeprefix("sha256:")).read_bytes()
        url = f"http://{registry}/v2/{repository}/blobs/uploads/?digest={descriptor.digest}"
        with urllib.request.urlopen(urllib.request.Request(url, data=data, method="POST")) as answer:
            print(f"POST {url.split(registry)[1][:60]}… -> {answer.status}")
    manifest = (blobs / layout.manifest.digest.removeprefix("sha256:")).read_bytes()
    url = f"http://{registry}/v2/{repository}/manifests/{tag}"
    request = urllib.request.Request(url, data=manifest, method="PUT",
                                     headers={"Content-Type": layout.manifest.media_type})
    with urllib.request.urlopen(request) as answer:
        print(f"PUT /v2/{repository}/manifests/{tag} -> {answer.status} "
              f"(Docker-Content-Digest: {answer.headers['Docker-Content-Digest']})")
# --8<-- [end:upload]


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> int:
    os.environ.update(CHAPTER_ENV)
    with tempfile.TemporaryDirectory(prefix="minidock-demo-") as name:
        tmp = Path(name)
        print("# The offline busybox image, as an OCI image layout made by our own code")
        layout = build_busybox_layout(tmp / "busybox")
        print(f"{layout.reference}\n  manifest {layout.manifest.digest}\n  config   {layout.config.digest}\n"
              f"  layer    {layout.layer.digest} ({layout.layer.size} bytes)")
        registry, registry_host = start_registry(tmp)
        daemon = None
        try:
            print(f"\n# minidock-registry (pid {registry.pid}) on {registry_host}: upload the image")
            upload(layout, registry_host, "busybox", "latest")
            daemon, host = start_daemon(tmp)
            print(f"\nminidockd (pid {daemon.pid}) listens on {host}")
            image = f"{registry_host}/busybox"
            step("Pull it through the daemon: dockerd's progress lines", ["pull", image], host=host)
            step("Again: every blob is already verified in the content store", ["pull", image], host=host)
            step("Search the private registry (its catalog, filtered)", ["search", f"{registry_host}/busy"],
                 host=host)
            result = step("An image the registry does not have: a 404 with dockerd's words",
                          ["pull", f"{registry_host}/nope"], host=host, check=False)
            print(f"(exit status {result.returncode})")
            print("\n# The daemon's content store: verified blobs, and the tag's ref")
            content = tmp / "data" / "content"
            for path in sorted(p for p in content.rglob("*") if p.is_file()):
                print(f"  {path.relative_to(content)}  ({path.stat().st_size} bytes)")
            manifest = json.loads((content / "blobs" / "sha256" /
                                   layout.manifest.digest.removeprefix("sha256:")).read_text())
            print(f"  the manifest's layers: {[layer['digest'][:19] + '…' for layer in manifest['layers']]}")
        finally:
            if daemon is not None:
                stop(daemon)
            stop(registry)
    print("\nChapter 04 demo done. Next: chapter 05 makes images of what was pulled.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
