"""Chapter 03's demo: the engine runs jobs, and containers run - as plain host processes.

It starts `minidockd --debug` in the chapter-3 world on a temporary socket
(never the machine's), runs containers with our client and with the real
docker CLI, shows ps, logs (stdout and stderr apart), exec, stop and rm,
prints the tree of jobs one `docker run` caused (from the daemon's debug
log), and stops the daemon.
"""

from __future__ import annotations

import os
import re
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
    env = {**os.environ, "MINIDOCK_CHAPTER": "3"}
    daemon = subprocess.Popen(
        [sys.executable, "-m", "minidock.daemon", "--debug", "-H", f"unix://{sock}",
         "--data-root", str(tmp / "data"), "--exec-root", str(tmp / "exec"), "--pidfile", str(tmp / "minidockd.pid")],
        stdout=subprocess.DEVNULL, stderr=open(tmp / "minidockd.log", "wb"), env=env, start_new_session=True)
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


def job_tree(log: str, name: str, container_id: str) -> str:
    """The requests and jobs of one `run --name NAME` in the debug log: from its create
    (named by the container's name, with the jobs nested in it) to its last job (by ID)."""
    lines, inside_create = [], False
    for line in log.splitlines():
        match = re.search(r'msg="(.*?)"', line)
        if not match:
            continue
        text = match.group(1)
        if text == f"+job create({name})":
            inside_create = True
        mine = inside_create or container_id in text or f"name={name}" in text
        if mine and ("job " in text or text.startswith("Calling ")):
            lines.append(text.replace(container_id, container_id[:12]))
        if text.startswith(f"-job create({name})"):
            inside_create = False
    return "\n".join(lines)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="minidock-demo-") as name:
        tmp = Path(name)
        os.chmod(tmp, 0o755)  # the container runs as nobody: it must be able to reach its scratch dir
        daemon, host = start_daemon(tmp)
        env = {**os.environ, "MINIDOCK_CHAPTER": "3", "DOCKER_CONFIG": str(tmp / "docker-config")}
        os.environ.update({"MINIDOCK_CHAPTER": "3"})
        try:
            print(f"minidockd --debug (pid {daemon.pid}) listens on {host}")
            result = step("A container is a host process in this chapter: the command runs as nobody",
                          ["run", "--rm", "busybox", "sh", "-c", "echo hello from a container; id -u; exit 3"],
                          host=host, check=False)
            print(f"(exit status {result.returncode}: the container's)")
            step("A detached one, with a name", ["run", "-d", "--name", "ticker", "busybox", "sh", "-c",
                                                 "for i in 1 2 3; do echo tick $i; echo tock $i >&2; "
                                                 "sleep 0.2; done; sleep 60"], host=host)
            time.sleep(1)
            step("ps", ["ps"], host=host)
            print(f"\n# logs: the container's stdout and stderr come back apart\n$ minidock -H {host} logs ticker")
            logs = subprocess.run([sys.executable, "-m", "minidock", "-H", host, "logs", "ticker"],
                                  capture_output=True, text=True)
            print("stdout:", " | ".join(logs.stdout.splitlines()))
            print("stderr:", " | ".join(logs.stderr.splitlines()))
            step("exec: a second process in the same container", ["exec", "ticker", "sh", "-c", "echo in exec; pwd"],
                 host=host)
            docker = shutil.which("docker") or "/usr/local/bin/docker"
            if os.access(docker, os.X_OK):
                print(f"\n# The real docker CLI against our daemon\n$ docker -H {host} run --rm busybox echo hi")
                subprocess.run([docker, "-H", host, "run", "--rm", "busybox", "echo", "hi"], env=env)
                print(f"$ docker -H {host} inspect -f '{{{{.State.Status}}}}' ticker")
                subprocess.run([docker, "-H", host, "inspect", "-f", "{{.State.Status}}", "ticker"], env=env)
            step("stop (SIGTERM, then SIGKILL after 1 s)", ["stop", "-t", "1", "ticker"], host=host)
            step("ps -a", ["ps", "-a"], host=host)
            step("rm", ["rm", "ticker"], host=host)
            result = step("An unknown container: a 404 with Docker's words", ["logs", "nosuchthing"],
                          host=host, check=False)
            print(f"(exit status {result.returncode})")
            print("\n# The jobs of one run, from the daemon's --debug log")
            step("(the run whose jobs we trace)", ["run", "--name", "traced", "busybox", "echo", "traced"], host=host)
            ids = subprocess.run([sys.executable, "-m", "minidock", "-H", host, "inspect", "-f", "{{.Id}}",
                                  "traced"], capture_output=True, text=True).stdout.strip()
            time.sleep(0.3)
            print(job_tree((tmp / "minidockd.log").read_text(), "traced", ids) or "(no job lines found)")
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
        print("\n--- the end of the daemon's log ---")
        print("\n".join((tmp / "minidockd.log").read_text().rstrip().splitlines()[-8:]))
    print("\nChapter 03 demo done. Next: chapter 04 brings the registry.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
