"""`minidockd`: the daemon process of chapter 02.

Chapter 02 turns minidock from a client into a client *and* a daemon. This
package is the process around the Docker Server box (`minidock.server`): it
reads dockerd's flags (`config.py`), makes sure it is the only daemon on its
pidfile (`pidfile.py`), logs like dockerd (`log.py`), opens the `-H`
listeners, serves, and shuts down cleanly on SIGTERM or SIGINT (`main.py`).
Later chapters add their components through `installers.py`, without
editing this package.

See it work:

    MINIDOCK_CHAPTER=2 minidockd -H unix:///tmp/m.sock --data-root /tmp/m-data \\
        --exec-root /tmp/m-exec -p /tmp/m.pid
    docker -H unix:///tmp/m.sock version
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Run the daemon until SIGTERM/SIGINT; the exit status (0 after a clean shutdown)."""
    from minidock.daemon.main import main as run  # the server's modules load only when a daemon runs

    return run(argv)
