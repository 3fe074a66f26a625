"""Chapter 02's demo: our own daemon answers, as far as chapter 02 goes.

It starts `minidockd` on a temporary socket (never the machine's), shows the
client and the real docker CLI talking to it, and shows what "absent is
explicit" means: every route whose job a later chapter brings answers 501
and names that chapter.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from minidock.demo import step


def start_daemon(tmp: Path) -> tuple[subprocess.Popen, str]:
    sock = tmp / "minidockd.sock"
    daemon = subprocess.Popen(
        [sys.executable, "-m", "minidock.daemon", "-H", f"unix://{sock}", "--data-root", str(tmp / "data"),
         "--exec-root", str(tmp / "exec"), "--pidfile", str(tmp / "minidockd.pid")],
        stdout=subprocess.DEVNULL, stderr=open(tmp / "minidockd.log", "wb"))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise SystemExit(f"minidockd exited ({daemon.returncode}):\n{(tmp / 'minidockd.log').read_text()}")
        try:
            with socket.socket(socket.AF_UNIX) as probe:
                probe.connect(str(sock))
            return daemon, f"unix://{sock}"
        except OSError:
            time.sleep(0.05)
    daemon.kill()
    raise SystemExit("minidockd did not start listening in 15 s")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="minidock-demo-") as name:
        tmp = Path(name)
        daemon, host = start_daemon(tmp)
        try:
            print(f"minidockd (pid {daemon.pid}) listens on {host}")
            step("Our client, our daemon: HEAD /_ping, then GET /v1.41/version", ["version"], host=host)
            step("GET /info: true facts about this machine", ["info"], host=host)
            docker = shutil.which("docker")
            if docker:
                print(f"\n# The real docker CLI against our daemon\n$ docker -H {host} version")
                subprocess.run([docker, "-H", host, "version"],
                               env={**os.environ, "DOCKER_CONFIG": str(tmp / "docker-config")})
            result = step("Containers come with chapter 03: the route exists, its job does not",
                          ["ps"], host=host, check=False)
            print(f"(exit status {result.returncode})")
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=15)
        print("\n--- the daemon's log ---")
        print((tmp / "minidockd.log").read_text().rstrip())
    print("\nChapter 02 demo done. Next: chapter 03 builds the engine and its jobs.")
    return 0
