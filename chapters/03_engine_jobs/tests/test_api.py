"""The container routes on the wire: raw HTTP against a real chapter-3 daemon.

These tests speak HTTP by hand, byte by byte, where the clients would hide
what matters: the status codes, the 101 head of a hijack, the 8-byte frames,
a `/wait` head that comes before the container exits, a client that leaves.
"""

from __future__ import annotations

import json
import socket
import struct
import time

import pytest

from minidock.client.stdcopy import FrameDecoder

API = "/v1.41"


def create(daemon, cmd: list[str], **config) -> str:
    """POST /containers/create; the new container's ID."""
    name = config.pop("name", None)
    body = {"Image": "busybox", "Cmd": cmd, **config}
    reply = daemon.post_json(f"{API}/containers/create" + (f"?name={name}" if name else ""), body)
    assert reply.status == 201, reply.body
    return reply.json()["Id"]


def start(daemon, cid: str) -> None:
    reply = daemon.request("POST", f"{API}/containers/{cid}/start")
    assert reply.status == 204, reply.body


def inspect(daemon, ref: str) -> dict:
    reply = daemon.request("GET", f"{API}/containers/{ref}/json")
    assert reply.status == 200, reply.body
    return reply.json()


def wait_until(predicate, timeout: float = 10, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """Read up to the end of a response head: (head, bytes after it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed inside the head: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def read_all(sock: socket.socket, rest: bytes = b"") -> bytes:
    data = rest
    while chunk := sock.recv(65536):
        data += chunk
    return data


def hijack(daemon, path: str, body: bytes | None = None) -> tuple[socket.socket, bytes]:
    """Send an upgrade request; assert the 101 head; the socket and any bytes after the head."""
    sock = daemon.connect(timeout=15)
    headers = ["Connection: Upgrade", "Upgrade: tcp"]
    if body is not None:
        headers += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    sock.sendall((f"POST {path} HTTP/1.1\r\nHost: api\r\n" + "\r\n".join(headers) + "\r\n\r\n").encode()
                 + (body or b""))
    head, rest = read_head(sock)
    assert head.startswith(b"HTTP/1.1 101 UPGRADED"), head
    assert b"Content-Type: application/vnd.docker.raw-stream" in head
    return sock, rest


def demux(data: bytes) -> dict[int, bytes]:
    streams: dict[int, bytes] = {1: b"", 2: b""}
    decoder = FrameDecoder()
    for kind, payload in decoder.feed(data):
        streams[kind] = streams.get(kind, b"") + payload
    assert decoder.pending == 0, "the stream ended inside a frame"
    return streams


# -- every route chapter 03 brings has a handler ------------------------------------------------
def test_every_chapter_3_job_has_a_job_handler_and_an_http_handler():
    from minidock.containers import api, jobs
    from minidock.server.routes import JOB_CHAPTERS, ROUTES

    chapter3 = {job for job, chapter in JOB_CHAPTERS.items() if chapter == 3}
    routed = {route.job for route in ROUTES}
    assert chapter3 <= routed, f"jobs with no route: {chapter3 - routed}"
    assert set(jobs.JOBS) == chapter3, f"missing: {chapter3 - set(jobs.JOBS)}, extra: {set(jobs.JOBS) - chapter3}"
    assert set(api.HANDLERS) == chapter3, f"missing: {chapter3 - set(api.HANDLERS)}"


def test_no_chapter_3_route_answers_501_in_the_chapter_3_world(daemon):
    from minidock.server.routes import JOB_CHAPTERS, ROUTES

    for route in ROUTES:
        if JOB_CHAPTERS.get(route.job) != 3:
            continue
        path = route.template.expand(**{var: "nosuchthing" for var in route.template.names})
        if route.job == "events":
            path += "?since=1&until=2"  # the past only: a live stream would not end
        reply = daemon.request(route.method, API + path, timeout=10)
        assert reply.status != 501, f"{route}: {reply.status} {reply.body!r}"
    # ... while a later chapter's job still names its chapter.
    reply = daemon.request("GET", f"{API}/images/json")
    assert reply.status == 501 and b"chapter 05" in reply.body


# -- hostile input -------------------------------------------------------------------------------
def test_malformed_json_is_a_400_and_the_daemon_serves_on(daemon):
    reply = daemon.request("POST", f"{API}/containers/create", b'{"Image": "busybox", "Cmd": [',
                           {"Content-Type": "application/json"})
    assert reply.status == 400
    assert reply.headers["content-type"] == "application/json"
    assert "invalid JSON" in reply.json()["message"]
    for body in (b"[1, 2]", b'"text"', b"null", b"\xff\xfe"):
        reply = daemon.request("POST", f"{API}/containers/create", body, {"Content-Type": "application/json"})
        assert reply.status == 400, (body, reply.body)
    reply = daemon.request("POST", f"{API}/containers/create", b'{"Image": "busybox"}',
                           {"Content-Type": "text/plain"})
    assert reply.status == 400 and b"must be 'application/json'" in reply.body
    # Nothing was half-created, and the daemon answers the next request.
    assert daemon.request("GET", f"{API}/containers/json?all=1").json() == []
    assert daemon.request("GET", "/_ping").body == b"OK"


@pytest.mark.parametrize("method, path", [
    ("GET", "/containers/nosuchthing/json"),
    ("POST", "/containers/nosuchthing/start"),
    ("POST", "/containers/nosuchthing/stop"),
    ("POST", "/containers/nosuchthing/kill"),
    ("DELETE", "/containers/nosuchthing"),
    ("GET", "/containers/nosuchthing/logs?stdout=1"),
    ("POST", "/containers/nosuchthing/wait"),
    ("POST", "/containers/nosuchthing/attach?stream=1&stdout=1"),
    ("POST", "/containers/nosuchthing/rename?name=x"),
    ("GET", "/containers/nosuchthing/top"),
])
def test_an_unknown_container_is_a_404_with_dockers_message(daemon, method, path):
    reply = daemon.request(method, API + path)
    assert reply.status == 404, reply.body
    assert reply.json() == {"message": "No such container: nosuchthing"}


def test_bad_query_parameters_are_400s(daemon):
    cid = create(daemon, ["true"])
    for path in (f"/containers/json?all=maybe", f"/containers/json?limit=ten",
                 f"/containers/json?filters=%7Bnot-json", f"/containers/json?filters=%5B%5D",
                 f"/containers/{cid}/stop?t=soon", f"/containers/{cid}/kill?signal=NOSUCHSIG",
                 f"/containers/{cid}/logs", f"/containers/{cid}/logs?stdout=1&tail=some",
                 f"/containers/{cid}/resize?h=x&w=80", f"/containers/{cid}/wait?condition=later",
                 f"/containers/{cid}/attach?stream=1&detachKeys=ctrl-%3F%3F"):
        method = "GET" if "/json" in path or "/logs" in path else "POST"
        reply = daemon.request(method, API + path)
        assert reply.status == 400, (path, reply.status, reply.body)
        assert reply.json()["message"]


def test_create_gives_the_id_and_the_chapter_warning(daemon):
    reply = daemon.post_json(f"{API}/containers/create?name=web", {"Image": "busybox", "Cmd": ["true"]})
    assert reply.status == 201
    body = reply.json()
    assert len(body["Id"]) == 64 and all(c in "0123456789abcdef" for c in body["Id"])
    assert any("chapter 05" in warning for warning in body["Warnings"]), body
    assert inspect(daemon, "web")["Id"] == body["Id"]
    # The name is taken now: Docker's words, and a 409.
    reply = daemon.post_json(f"{API}/containers/create?name=web", {"Image": "busybox", "Cmd": ["true"]})
    assert reply.status == 409
    assert f'The container name "/web" is already in use by container "{body["Id"]}"' in reply.json()["message"]
    reply = daemon.post_json(f"{API}/containers/create?name=bad%20name", {"Image": "busybox", "Cmd": ["true"]})
    assert reply.status == 400


# -- /wait ------------------------------------------------------------------------------------------
def test_wait_sends_its_head_before_the_container_even_starts(daemon):
    cid = create(daemon, ["sh", "-c", "exit 7"])
    with daemon.connect() as sock:
        sock.sendall(f"POST {API}/containers/{cid}/wait?condition=next-exit HTTP/1.1\r\nHost: api\r\n\r\n".encode())
        sock.settimeout(3)
        head, rest = read_head(sock)  # before /start: docker run deadlocks otherwise
        assert head.startswith(b"HTTP/1.1 200 OK")
        assert b"Transfer-Encoding: chunked" in head
        start(daemon, cid)
        sock.settimeout(10)
        data = rest
        while b"0\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            assert chunk, data
            data += chunk
    reply = parse_body(head, data)
    assert json.loads(reply) == {"StatusCode": 7, "Error": None}


def parse_body(head: bytes, data: bytes) -> bytes:
    """The de-chunked body of a response whose head was read separately."""
    body = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        body, data = body + data[:size], data[size + 2:]
    return body


def test_a_wait_whose_client_hangs_up_is_dropped(daemon):
    cid = create(daemon, ["sleep", "30"], name="sleeper")
    start(daemon, cid)
    sock = daemon.connect()
    sock.sendall(f"POST {API}/containers/{cid}/wait HTTP/1.1\r\nHost: api\r\n\r\n".encode())
    read_head(sock)
    sock.close()  # as `docker run -d` does with its wait
    daemon.wait_for_log(f"-job wait({cid}) = OK", timeout=5)
    assert inspect(daemon, cid)["State"]["Running"]
    daemon.request("POST", f"{API}/containers/{cid}/kill")


# -- attach and exec: hijacked streams ---------------------------------------------------------------
def test_attach_frames_stdout_and_stderr_apart(daemon):
    cid = create(daemon, ["sh", "-c", "echo out; echo err >&2; exit 3"], AttachStdout=True, AttachStderr=True)
    sock, rest = hijack(daemon, f"{API}/containers/{cid}/attach?stream=1&stdout=1&stderr=1")
    with sock:
        start(daemon, cid)
        streams = demux(read_all(sock, rest))
    assert streams[1] == b"out\n"
    assert streams[2] == b"err\n"
    assert inspect(daemon, cid)["State"]["ExitCode"] == 3


def test_attach_stdin_and_the_half_close_that_ends_it(daemon):
    cid = create(daemon, ["cat"], OpenStdin=True, StdinOnce=True, AttachStdin=True, AttachStdout=True)
    sock, rest = hijack(daemon, f"{API}/containers/{cid}/attach?stream=1&stdin=1&stdout=1&stderr=1")
    with sock:
        start(daemon, cid)
        sock.sendall(b"hello\nworld\n")
        sock.shutdown(socket.SHUT_WR)  # the client's end of input: cat sees EOF and exits
        streams = demux(read_all(sock, rest))
    assert streams[1] == b"hello\nworld\n"
    wait_until(lambda: not inspect(daemon, cid)["State"]["Running"], what="cat to exit")
    assert inspect(daemon, cid)["State"]["ExitCode"] == 0


def test_the_detach_keys_end_the_attachment_and_leave_the_container_running(daemon):
    cid = create(daemon, ["cat"], OpenStdin=True, AttachStdin=True, AttachStdout=True)
    start(daemon, cid)
    sock, rest = hijack(daemon, f"{API}/containers/{cid}/attach?stream=1&stdin=1&stdout=1&detachKeys=ctrl-x,x")
    with sock:
        sock.sendall(b"one\n")
        time.sleep(0.3)
        sock.sendall(b"\x18x")  # ctrl-x, then x
        sock.settimeout(5)
        streams = demux(read_all(sock, rest))
    assert streams[1] == b"one\n"
    assert inspect(daemon, cid)["State"]["Running"]
    daemon.request("POST", f"{API}/containers/{cid}/kill")


def test_a_tty_container_streams_raw_bytes(daemon):
    cid = create(daemon, ["sh", "-c", "echo raw"], Tty=True, AttachStdout=True)
    sock, rest = hijack(daemon, f"{API}/containers/{cid}/attach?stream=1&stdout=1&stderr=1")
    with sock:
        start(daemon, cid)
        data = read_all(sock, rest)
    assert data == b"raw\r\n"  # a terminal's line ending, and no frame header


def test_exec_records_its_exit_code_before_its_stream_ends(daemon):
    cid = create(daemon, ["sleep", "30"])
    start(daemon, cid)
    reply = daemon.post_json(f"{API}/containers/{cid}/exec",
                             {"Cmd": ["sh", "-c", "echo x; echo y >&2; exit 4"], "AttachStdout": True,
                              "AttachStderr": True})
    assert reply.status == 201
    exec_id = reply.json()["Id"]
    sock, rest = hijack(daemon, f"{API}/exec/{exec_id}/start", json.dumps({"Detach": False, "Tty": False}).encode())
    with sock:
        streams = demux(read_all(sock, rest))
        document = daemon.request("GET", f"{API}/exec/{exec_id}/json").json()  # at once, as the CLI does
    assert streams == {1: b"x\n", 2: b"y\n"}
    assert document["ExitCode"] == 4 and document["Running"] is False
    assert document["ContainerID"] == cid
    # Detached: a 200 with an empty body, and no upgrade.
    exec_id = daemon.post_json(f"{API}/containers/{cid}/exec", {"Cmd": ["true"]}).json()["Id"]
    reply = daemon.post_json(f"{API}/exec/{exec_id}/start", {"Detach": True, "Tty": False})
    assert reply.status == 200 and reply.body == b""
    assert daemon.request("GET", f"{API}/exec/nosuchexec/json").status == 404
    daemon.request("POST", f"{API}/containers/{cid}/kill")
    # An exec in a container that is not running is a conflict.
    wait_until(lambda: not inspect(daemon, cid)["State"]["Running"])
    reply = daemon.post_json(f"{API}/containers/{cid}/exec", {"Cmd": ["true"]})
    assert reply.status == 409, reply.body


# -- logs and events -------------------------------------------------------------------------------------
def test_logs_frames_tail_and_timestamps(daemon):
    # (stdout and stderr are two pipes: the pauses keep the log's order certain)
    cid = create(daemon, ["sh", "-c", "echo 1; sleep 0.1; echo 2 >&2; sleep 0.1; echo 3"])
    start(daemon, cid)
    daemon.request("POST", f"{API}/containers/{cid}/wait")
    reply = daemon.request("GET", f"{API}/containers/{cid}/logs?stdout=1&stderr=1")
    assert reply.status == 200 and "content-type" not in reply.headers  # as dockerd: the client knows
    assert demux(reply.body) == {1: b"1\n3\n", 2: b"2\n"}
    assert demux(daemon.request("GET", f"{API}/containers/{cid}/logs?stdout=1").body) == {1: b"1\n3\n", 2: b""}
    assert demux(daemon.request("GET", f"{API}/containers/{cid}/logs?stdout=1&stderr=1&tail=1").body)[1] == b"3\n"
    stamped = demux(daemon.request("GET", f"{API}/containers/{cid}/logs?stdout=1&timestamps=1").body)[1]
    lines = stamped.decode().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["1", "3"]
    assert all(line[:30].endswith("Z") and line[4] == "-" for line in lines), lines
    future = time.time() + 3600
    assert daemon.request("GET", f"{API}/containers/{cid}/logs?stdout=1&since={future}").body == b""


def test_logs_follow_ends_when_the_container_stops(daemon):
    cid = create(daemon, ["sh", "-c", "echo first; sleep 1; echo second"])
    start(daemon, cid)
    began = time.monotonic()
    reply = daemon.request("GET", f"{API}/containers/{cid}/logs?stdout=1&follow=1", timeout=15)
    assert demux(reply.body)[1] == b"first\nsecond\n"
    assert time.monotonic() - began < 10


def test_events_since_until_show_the_life_of_a_container(daemon):
    since = time.time()
    cid = create(daemon, ["true"], name="ev")
    start(daemon, cid)
    daemon.request("POST", f"{API}/containers/{cid}/wait")
    assert daemon.request("DELETE", f"{API}/containers/{cid}").status == 204
    until = time.time()
    reply = daemon.request("GET", f"{API}/events?since={since}&until={until}", timeout=10)
    events = [json.loads(line) for line in reply.body.decode().splitlines()]
    actions = [e["Action"] for e in events if e["Actor"]["ID"] == cid]
    for expected in ("create", "start", "die", "destroy"):
        assert expected in actions, actions
    assert actions.index("create") < actions.index("start") < actions.index("die") < actions.index("destroy")
    die = next(e for e in events if e["Action"] == "die")
    assert die["Actor"]["Attributes"]["exitCode"] == "0" and die["Actor"]["Attributes"]["name"] == "ev"
    filtered = daemon.request("GET", f"{API}/events?since={since}&until={until}"
                                     "&filters=%7B%22event%22%3A%7B%22die%22%3Atrue%7D%7D").body
    assert [json.loads(line)["Action"] for line in filtered.decode().splitlines()] == ["die"]


def test_live_events_are_flushed_one_by_one(daemon):
    with daemon.connect() as sock:
        sock.sendall(f"GET {API}/events HTTP/1.1\r\nHost: api\r\n\r\n".encode())
        head, rest = read_head(sock)
        assert head.startswith(b"HTTP/1.1 200 OK")
        cid = create(daemon, ["true"])
        data = rest
        deadline = time.monotonic() + 5
        while cid.encode() not in data and time.monotonic() < deadline:
            data += sock.recv(4096)
        assert b'"Action":"create"' in data


# -- the rest of the lifecycle ----------------------------------------------------------------------------
def test_start_twice_is_a_304_without_a_body_and_stop_twice_too(daemon):
    cid = create(daemon, ["sleep", "30"])
    start(daemon, cid)
    reply = daemon.request("POST", f"{API}/containers/{cid}/start")
    assert reply.status == 304 and reply.body == b""
    assert daemon.request("POST", f"{API}/containers/{cid}/stop?t=1").status == 204
    reply = daemon.request("POST", f"{API}/containers/{cid}/stop")
    assert reply.status == 304 and reply.body == b""


@pytest.mark.parametrize("signal_spec", ["TERM", "SIGTERM", "15", "sigterm"])
def test_kill_takes_signal_names_with_or_without_sig_and_numbers(daemon, signal_spec):
    cid = create(daemon, ["sleep", "30"])
    start(daemon, cid)
    assert daemon.request("POST", f"{API}/containers/{cid}/kill?signal={signal_spec}").status == 204
    wait_until(lambda: not inspect(daemon, cid)["State"]["Running"])
    assert inspect(daemon, cid)["State"]["ExitCode"] == 143  # 128 + SIGTERM, as a shell reports it
    reply = daemon.request("POST", f"{API}/containers/{cid}/kill")
    assert reply.status == 409 and "is not running" in reply.json()["message"]


def test_rm_of_a_running_container_needs_force(daemon):
    cid = create(daemon, ["sleep", "30"], name="busy")
    start(daemon, cid)
    reply = daemon.request("DELETE", f"{API}/containers/busy")
    assert reply.status == 409 and "You cannot remove a running container" in reply.json()["message"]
    assert daemon.request("DELETE", f"{API}/containers/busy?force=1&v=1").status == 204
    assert daemon.request("GET", f"{API}/containers/busy/json").status == 404


def test_ps_filters(daemon):
    up = create(daemon, ["sleep", "30"], name="up", Labels={"tier": "web"})
    start(daemon, up)
    done = create(daemon, ["sh", "-c", "exit 2"], name="done")
    start(daemon, done)
    daemon.request("POST", f"{API}/containers/{done}/wait")
    fresh = create(daemon, ["true"], name="fresh")

    def names(query: str) -> list[str]:
        reply = daemon.request("GET", f"{API}/containers/json?{query}")
        assert reply.status == 200, reply.body
        return sorted(item["Names"][0] for item in reply.json())

    def filters(obj: dict) -> str:
        from urllib.parse import quote
        return "filters=" + quote(json.dumps(obj))

    assert names("") == ["/up"]
    assert names("all=1") == ["/done", "/fresh", "/up"]
    assert names("all=1&limit=1") == ["/fresh"]  # the newest
    assert names(filters({"status": {"exited": True}})) == ["/done"]
    assert names(filters({"status": ["created"]})) == ["/fresh"]
    assert names("all=1&" + filters({"name": {"fre": True}})) == ["/fresh"]
    assert names(filters({"name": {"fre": True}})) == []  # a name filter does not imply all
    assert names("all=1&" + filters({"id": {fresh[:10]: True}})) == ["/fresh"]
    assert names("all=1&" + filters({"label": {"tier=web": True}})) == ["/up"]
    assert names("all=1&" + filters({"exited": {"2": True}})) == ["/done"]
    item = daemon.request("GET", f"{API}/containers/json").json()[0]
    assert item["State"] == "running" and item["Status"].startswith("Up ") and isinstance(item["Created"], int)
    daemon.request("POST", f"{API}/containers/{up}/kill")


def test_rename_pause_top_resize(daemon):
    cid = create(daemon, ["sleep", "30"], name="old", Tty=True)
    start(daemon, cid)
    assert daemon.request("POST", f"{API}/containers/old/rename?name=new").status == 204
    assert inspect(daemon, cid)["Name"] == "/new"
    assert daemon.request("POST", f"{API}/containers/new/rename").status == 400
    top = daemon.request("GET", f"{API}/containers/new/top").json()
    assert "PID" in top["Titles"] and any("sleep" in " ".join(p) for p in top["Processes"]), top
    assert daemon.request("POST", f"{API}/containers/new/pause").status == 204
    assert inspect(daemon, cid)["State"]["Paused"] is True
    assert inspect(daemon, cid)["State"]["Status"] == "paused"
    assert daemon.request("POST", f"{API}/containers/new/unpause").status == 204
    assert inspect(daemon, cid)["State"]["Paused"] is False
    reply = daemon.request("POST", f"{API}/containers/new/resize?h=30&w=100")
    assert reply.status == 200 and reply.body == b""
    daemon.request("POST", f"{API}/containers/new/kill")


def test_stats_of_a_host_process(daemon):
    cid = create(daemon, ["sleep", "30"])
    start(daemon, cid)
    reply = daemon.request("GET", f"{API}/containers/{cid}/stats?stream=0")
    assert reply.status == 200, reply.body
    stats = reply.json()
    assert stats["id"] == cid
    assert stats["memory_stats"]["usage"] > 0 and stats["memory_stats"]["limit"] > 0
    assert stats["pids_stats"]["current"] >= 1
    assert stats["cpu_stats"]["online_cpus"] >= 1
    daemon.request("POST", f"{API}/containers/{cid}/kill")


def test_the_job_tree_of_a_request_is_in_the_debug_log(daemon):
    cid = create(daemon, ["true"], name="traced")
    log = daemon.log()
    assert "+job create(traced)" in log
    assert "+job image_inspect(busybox)" in log, "create asks the (absent) graph about the image"
    assert f"-job create(traced) = OK (0)" in log
    assert cid


# -- hostile input, generated ------------------------------------------------------------------------
def test_no_create_body_makes_the_daemon_fail_with_a_500(daemon):
    """Whatever JSON object a client sends to create, the answer is a 201 or a 4xx with a
    message - never a 500 (a bug), and never a container left half-made after an error."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    scalars = st.none() | st.booleans() | st.integers(-2**63, 2**63) | st.text(max_size=8)
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=6)
    keys = st.sampled_from(["Image", "Cmd", "Entrypoint", "Env", "Tty", "OpenStdin", "Labels", "User",
                            "WorkingDir", "StopSignal", "StopTimeout", "HostConfig", "Hostname", "x"])
    host_config = st.fixed_dictionaries({}, optional={
        "RestartPolicy": st.fixed_dictionaries({}, optional={"Name": st.text(max_size=12) | values,
                                                             "MaximumRetryCount": values}),
        "AutoRemove": values, "ConsoleSize": values, "NetworkMode": values})

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=st.dictionaries(keys, values, max_size=5), hc=host_config, name=st.none() | st.text(max_size=10))
    def check(body, hc, name):
        from urllib.parse import quote

        if hc:
            body = {**body, "HostConfig": hc}
        path = f"{API}/containers/create" + (f"?name={quote(name)}" if name is not None else "")
        reply = daemon.post_json(path, body)
        assert reply.status in (201, 400, 404, 409), (body, reply.status, reply.body)
        assert reply.headers["content-type"] == "application/json"
        if reply.status == 201:
            assert daemon.request("DELETE", f"{API}/containers/{reply.json()['Id']}?force=1").status == 204

    check()
    assert daemon.request("GET", f"{API}/containers/json?all=1").json() == []
    assert "Traceback" not in daemon.log()
