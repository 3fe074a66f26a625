"""Chapter 01's demo: the client, against a daemon it can find or the fake one.

The client is all chapter 01 builds, so the demo shows its conversations:
version negotiation, a table, a pull with progress, a run with output and an
exit status, a container in the background, its logs with the two streams
apart. With no daemon around (minidockd arrives in chapter 02) it starts the
fake daemon, which imitates the Engine API without running anything.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from minidock.client.api import APIClient
from minidock.client.errors import ClientError
from minidock.client.hosts import host_from_environment
from minidock.demo import step


def daemon_answers(address: str | None) -> bool:
    client = APIClient(host_from_environment(address), timeout=2)
    try:
        client.ping()
        return True
    except ClientError:
        return False
    finally:
        client.close()


def tour(host: str) -> None:
    step("Which daemon is this? (HEAD /_ping, then GET /version)", ["version"], host=host)
    step("Its images (GET /images/json)", ["images"], host=host)
    step("A pull: the JSON progress stream rendered per layer", ["pull", "alpine"], host=host)
    step("run: create, attach (101 UPGRADED), wait, start - then the output", ["run", "--rm", "busybox", "echo", "hello from a container"], host=host)
    result = step("The container's exit status is ours", ["run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"], host=host, check=False)
    print(f"(exit status {result.returncode})")
    step("A container in the background", ["run", "-d", "--name", "demo-web", "busybox", "sh", "-c", "echo started; sleep 30"], host=host)
    step("ps", ["ps"], host=host)
    step("logs: stdout and stderr apart (8-byte frames)", ["logs", "demo-web"], host=host)
    step("exec: a second process, over a hijacked connection", ["exec", "demo-web", "echo", "hi from exec"], host=host)
    step("rm -f", ["rm", "-f", "demo-web"], host=host)
    step("An error has the daemon's words and exit status 1", ["rm", "nosuchthing"], host=host, check=False)


def main() -> int:
    found = os.environ.get("DOCKER_HOST")
    if daemon_answers(found):
        where = found or "unix:///var/run/minidock.sock"
        print(f"A daemon answers at {where}: the client talks to it.")
        step("version", ["version"], host=where)
        step("images", ["images"], host=where)
        step("ps -a", ["ps", "-a"], host=where)
        return 0
    print("No daemon answers at unix:///var/run/minidock.sock (minidockd is built in chapter 02),\n"
          "so this demo starts the fake daemon (minidock.fakedaemon) and talks to it instead.")
    from minidock.fakedaemon import FakeDaemon

    with tempfile.TemporaryDirectory(prefix="minidock-demo-") as tmp, FakeDaemon(Path(tmp)) as daemon:
        tour(daemon.unix_host)
        print(f"\nThe same client over TCP ({daemon.tcp_host}):")
        step("ps over tcp://", ["ps", "-a"], host=daemon.tcp_host)
    print("\nChapter 01 demo done. Next: chapter 02 builds the daemon's server.")
    return 0
