"""`python -m minidock.fakedaemon --host unix:///tmp/x.sock [--host tcp://127.0.0.1:2375]`

Runs the fake daemon in the foreground until SIGINT or SIGTERM - for
`make demo`, and for students who want a daemon to point their client at.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minidock.fakedaemon",
                                     description="A fake Docker daemon (Engine API) for minidock's chapter 01.")
    parser.add_argument("-H", "--host", action="append", dest="hosts", metavar="HOST",
                        help="unix:///path or tcp://host:port to listen on (repeatable); "
                             "default: unix://<workdir>/fake.sock and a free tcp port on 127.0.0.1")
    parser.add_argument("--api-version", default="1.41", help="the API version to advertise (default 1.41)")
    parser.add_argument("--workdir", type=Path, help="where the default socket goes (default: a temp dir)")
    args = parser.parse_args(argv)

    from minidock.fakedaemon import FakeDaemon

    done = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        done.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        daemon = FakeDaemon(args.workdir, api_version=args.api_version, hosts=args.hosts)
        daemon.start()
    except (OSError, ValueError) as exc:
        print(f"fakedaemon: cannot listen: {exc}", file=sys.stderr)
        return 1
    try:
        for address in daemon.listening:
            print(f"fake daemon (API {daemon.api_version}) listening on {address}", flush=True)
        print("no host processes are run; stop with Ctrl-C", flush=True)
        while not done.wait(0.5):
            pass
    finally:
        daemon.stop()
        print("fake daemon stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
