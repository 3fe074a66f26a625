"""A fake Docker daemon: Engine API v1.41 on real sockets, containers imitated in Python.

Chapter 01 builds the client before there is any daemon (chapter 02 writes
the server, chapter 03 the engine). To test the client, and to run
`make demo`, we need something to talk to that speaks the Engine API
exactly as dockerd does - so faithfully that the real Go `docker` CLI and
docker-py work against it too - yet is small, fast and safe.

That is this package. It is a stand-in, not a lesson: it uses the standard
library freely, keeps everything in memory, and scripts what a real daemon
would do. In particular it **never runs a host process**: a container's
command is looked up in `programs.py`, a tiny Python imitation of busybox
(`echo`, `cat`, `sleep`, `sh -c '...'`, `env`, `stty size` ...) with stdin,
stdout, stderr, a terminal, signals and exit codes. Images, layers and
files are in-memory trees; "pulling" takes images from `state.registry`.

    from minidock.fakedaemon import FakeDaemon

    with FakeDaemon(tmp_path) as daemon:      # unix socket tmp_path/fake.sock + tcp 127.0.0.1:<port>
        run(["docker", "-H", daemon.unix_host, "run", "--rm", "busybox", "echo", "hi"])
        daemon.requests                        # [("HEAD", "/_ping"), ("POST", "/v1.41/containers/create"), ...]

Or in the foreground: `python -m minidock.fakedaemon --host unix:///tmp/fake.sock`.

Map of the package: `daemon.py` (listeners, connections, routing),
`wire.py` (HTTP/1.1, chunked bodies, hijack), `routes.py` (the route
table), `api_*.py` (the endpoints), `lifecycle.py` (container and exec
operations), `state.py` (the model), `streams.py` (attach, logs), `runtime.py`
(fake processes), `programs.py` and `shell.py` (busybox imitation),
`filetree.py` (in-memory files and tars), `seed.py` (the initial images).
"""

from minidock.fakedaemon.daemon import FakeDaemon

__all__ = ["FakeDaemon"]
