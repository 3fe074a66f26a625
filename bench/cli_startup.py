"""Start-up cost of the client: `minidock ps` against `docker ps`, same daemon.

Every container start begins with a CLI process, so the client's start-up is
on the hot path. This prints the median wall time of N runs of each command
and their ratio (the aim: minidock no more than 2x the Go docker CLI).

    .venv/bin/python bench/cli_startup.py [--runs 20] [--host unix:///path.sock]

Without --host it starts the fake daemon (minidock.fakedaemon) on a temporary
socket, so both CLIs talk to the very same server.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path


def timed(argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - start)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {result.stderr.decode().strip()}")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--host", help="daemon address (default: a fake daemon started here)")
    parser.add_argument("--docker", default=shutil.which("docker") or "/usr/local/bin/docker")
    args = parser.parse_args()
    minidock = str(Path(sys.executable).with_name("minidock"))
    if not Path(args.docker).exists():
        raise SystemExit(f"no docker CLI at {args.docker}; pass --docker PATH")

    with tempfile.TemporaryDirectory(prefix="minidock-bench-") as tmp:
        if args.host:
            context, host = nullcontext(), args.host
        else:
            from minidock.fakedaemon import FakeDaemon

            context = FakeDaemon(Path(tmp))
        with context as daemon:
            host = args.host or daemon.unix_host
            timed([minidock, "-H", host, "ps"], 2)  # warm the page cache for both
            timed([args.docker, "-H", host, "ps"], 2)
            ours = timed([minidock, "-H", host, "ps"], args.runs)
            theirs = timed([args.docker, "-H", host, "ps"], args.runs)
    ours_ms, theirs_ms = statistics.median(ours) * 1000, statistics.median(theirs) * 1000
    print(f"daemon:        {host}")
    print(f"runs:          {args.runs} each")
    print(f"minidock ps:   median {ours_ms:7.1f} ms   (min {min(ours) * 1000:.1f}, max {max(ours) * 1000:.1f})")
    print(f"docker ps:     median {theirs_ms:7.1f} ms   (min {min(theirs) * 1000:.1f}, max {max(theirs) * 1000:.1f})")
    print(f"ratio:         {ours_ms / theirs_ms:.2f}x   (aim: <= 2x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
