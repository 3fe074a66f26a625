"""The image, registry and archive commands, end to end: `minidock` in a subprocess against the fake daemon.

Each test runs the CLI as a user would and checks both sides: what it
printed, and what the daemon received or now holds.
"""

from __future__ import annotations

import base64
import io
import json
import os
import stat
import sys
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from minidock.client.api import APIClient
from minidock.client.errors import NotFound
from minidock.client.hosts import parse_host
from minidock.testing import cli_env, run_cli


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A private config directory, so logins never touch the user's own."""
    return cli_env(MINIDOCK_CONFIG=str(tmp_path / "config"))


def mdock(daemon, *args: str, env: dict[str, str], input: bytes | None = None):  # noqa: ANN201
    return run_cli("-H", daemon.unix_host, *args, env=env, input=input)


def api(daemon) -> APIClient:  # noqa: ANN001
    return APIClient(parse_host(daemon.unix_host))


def image_exists(daemon, name: str) -> bool:  # noqa: ANN001
    try:
        api(daemon).get_json(f"/images/{name}/json")
    except NotFound:
        return False
    return True


def requests_to(daemon, method: str, prefix: str) -> list[str]:  # noqa: ANN001
    """The request targets (version prefix removed) the daemon received for `method` under `prefix`."""
    targets = [path.split("/", 2)[2] if path.startswith("/v1.") else path.lstrip("/")
               for m, path in daemon.requests if m == method]
    return ["/" + t for t in targets if ("/" + t).startswith(prefix)]


def make_container(daemon, *cmd: str) -> str:  # noqa: ANN001
    client = api(daemon)
    created = client.post_json("/containers/create", json={"Image": "busybox", "Cmd": list(cmd) or ["sleep", "1000"]})
    client.request("POST", f"/containers/{created['Id']}/start").read()
    return created["Id"]


def text(result) -> str:  # noqa: ANN001
    return result.stdout.decode()


def err(result) -> str:  # noqa: ANN001
    return result.stderr.decode()


# -- pull / push / search / login ----------------------------------------------------------

def test_pull_renders_one_line_per_layer_message_and_prints_the_full_name(fake_daemon, env) -> None:
    result = mdock(fake_daemon, "pull", "alpine", env=env)
    assert result.returncode == 0, err(result)
    lines = text(result).splitlines()
    assert lines[0] == "Using default tag: latest"
    assert lines[1] == "latest: Pulling from library/alpine"
    assert any(line.endswith(": Pull complete") for line in lines)
    assert "Status: Downloaded newer image for alpine:latest" in lines
    assert lines[-1] == "docker.io/library/alpine:latest"
    assert not any("[=" in line or "\r" in line for line in lines)  # no bars off a terminal
    assert "/images/create?fromImage=docker.io%2Flibrary%2Falpine&tag=latest" in \
        requests_to(fake_daemon, "POST", "/images/create")
    assert image_exists(fake_daemon, "alpine:latest")


def test_pull_of_a_missing_image_prints_the_daemons_message_and_fails(fake_daemon, env) -> None:
    result = mdock(fake_daemon, "pull", "localhost:5000/nope:latest", env=env)
    assert result.returncode == 1
    assert err(result).startswith("Error response from daemon: ")
    assert "nope" in err(result)


def test_pull_refuses_a_bad_reference_before_asking(fake_daemon, env) -> None:
    result = mdock(fake_daemon, "pull", "not valid", env=env)
    assert (result.returncode, err(result)) == (1, "invalid reference format\n")
    assert requests_to(fake_daemon, "POST", "/images/create") == []


def test_login_stores_credentials_and_push_sends_them(fake_daemon, env, tmp_path: Path) -> None:
    # The fake daemon, like Docker Hub, denies an anonymous push to docker.io - inside the stream.
    assert mdock(fake_daemon, "tag", "busybox", "someone/app:v1", env=env).returncode == 0
    denied = mdock(fake_daemon, "push", "someone/app:v1", env=env)
    assert denied.returncode == 1
    assert err(denied) == "denied: requested access to the resource is denied\n"
    assert "Preparing" in text(denied)  # what came before the error was shown

    result = mdock(fake_daemon, "login", "-u", "someone", "--password-stdin", env=env, input=b"secret\n")
    assert result.returncode == 0, err(result)
    assert text(result) == "Login Succeeded\n"
    config = tmp_path / "config" / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700
    assert json.loads(config.read_text()) == \
        {"auths": {"https://index.docker.io/v1/": {"auth": base64.b64encode(b"someone:secret").decode()}}}
    pushed = mdock(fake_daemon, "push", "someone/app:v1", env=env)
    assert pushed.returncode == 0, err(pushed)
    assert "v1: digest: sha256:" in text(pushed)


def test_the_auth_header_is_dockers_bytes() -> None:
    from minidock.client.auth import AuthConfig, encode_header

    # docker-api-wire-captures.txt, section push-auth: what CLI 28 sent after `login -u user -p pass localhost:5001`
    assert encode_header(AuthConfig("user", "pass", "localhost:5001")) == \
        "eyJ1c2VybmFtZSI6InVzZXIiLCJwYXNzd29yZCI6InBhc3MiLCJzZXJ2ZXJhZGRyZXNzIjoibG9jYWxob3N0OjUwMDEifQ=="
    assert encode_header(None) == encode_header(AuthConfig()) == "e30="


def test_a_wrong_password_is_the_daemons_401(fake_daemon, env) -> None:
    result = mdock(fake_daemon, "login", "-u", "someone", "-p", "wrong", "localhost:5000", env=env)
    assert result.returncode == 1
    assert "unauthorized: incorrect username or password" in err(result)


def test_login_with_p_warns_and_logout_forgets(fake_daemon, env, tmp_path: Path) -> None:
    result = mdock(fake_daemon, "login", "-u", "user", "-p", "pass", "localhost:5000", env=env)
    assert result.returncode == 0
    assert err(result).startswith("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n")
    result = mdock(fake_daemon, "logout", "localhost:5000", env=env)
    assert text(result) == "Removing login credentials for localhost:5000\n"
    assert json.loads((tmp_path / "config" / "config.json").read_text()) == {"auths": {}}


def test_login_without_a_terminal_cannot_prompt(fake_daemon, env) -> None:
    result = mdock(fake_daemon, "login", "localhost:5000", env=env, input=b"")
    assert (result.returncode, err(result)) == (1, "Error: Cannot perform an interactive login from a non TTY device\n")


def test_push_renders_the_stream(fake_daemon, env) -> None:
    assert mdock(fake_daemon, "tag", "busybox", "localhost:5000/test/busybox:v1", env=env).returncode == 0
    result = mdock(fake_daemon, "push", "localhost:5000/test/busybox:v1", env=env)
    assert result.returncode == 0, err(result)
    assert text(result).startswith("The push refers to repository [localhost:5000/test/busybox]\n")
    assert "/images/localhost:5000/test/busybox/push?tag=v1" in requests_to(fake_daemon, "POST", "/images/")


def test_search_prints_dockers_table(fake_daemon, env) -> None:
    result = mdock(fake_daemon, "search", "busybox", env=env)
    assert result.returncode == 0, err(result)
    lines = text(result).splitlines()
    assert lines[0].split() == ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]
    busybox = next(line for line in lines if line.startswith("busybox "))
    assert busybox.split()[-1] == "[OK]"
    assert all(len(line.split("   ")[0]) for line in lines)
    long = next(line for line in lines if line.startswith("radial/busyboxplus"))
    assert "Full-chain, Internet enabled, busybox made f…" in long  # 45 characters, the last an ellipsis
    assert "Full-chain, Internet enabled, busybox made from scratch" in \
        text(mdock(fake_daemon, "search", "--no-trunc", "busybox", env=env))
    official = text(mdock(fake_daemon, "search", "-f", "is-official=true", "--format", "{{.Name}}", "busybox", env=env))
    assert "radial/busyboxplus" not in official and "busybox" in official.split()


# -- tag / rmi / history ------------------------------------------------------------------------

def test_tag_sends_the_short_target_and_the_image_gets_the_name(fake_daemon, env) -> None:
    result = mdock(fake_daemon, "tag", "busybox", "mine", env=env)
    assert (result.returncode, text(result), err(result)) == (0, "", "")
    assert "/images/busybox/tag?repo=mine&tag=latest" in requests_to(fake_daemon, "POST", "/images/")
    assert image_exists(fake_daemon, "mine:latest")


def test_tag_refuses_a_digest_target(fake_daemon, env) -> None:
    result = mdock(fake_daemon, "tag", "busybox", "x@sha256:" + "a" * 64, env=env)
    assert (result.returncode, err(result)) == (1, "refusing to create a tag with a digest reference\n")


def test_rmi_untags_and_reports_each_error(fake_daemon, env) -> None:
    assert mdock(fake_daemon, "tag", "busybox", "other:v1", env=env).returncode == 0
    result = mdock(fake_daemon, "rmi", "other:v1", "nosuchimage", env=env)
    assert result.returncode == 1
    assert text(result) == "Untagged: other:v1\n"
    assert err(result).startswith("Error response from daemon: ")
    assert "nosuchimage" in err(result)
    assert not image_exists(fake_daemon, "other:v1")
    forced = mdock(fake_daemon, "rmi", "-f", "nosuchimage", env=env)  # -f: a missing image is only reported
    assert forced.returncode == 0 and "nosuchimage" in err(forced)


def test_history_prints_dockers_columns(fake_daemon, env) -> None:
    result = mdock(fake_daemon, "history", "busybox", env=env)
    assert result.returncode == 0, err(result)
    lines = text(result).splitlines()
    assert lines[0].split("   ")[0] == "IMAGE"
    for column in ("CREATED", "CREATED BY", "SIZE", "COMMENT"):
        assert column in lines[0]
    assert len(lines) >= 2
    assert all(line.split()[0] == "<missing>" or len(line.split()[0]) == 12 for line in lines[1:])
    assert any(" ago " in line for line in lines[1:])
    raw = text(mdock(fake_daemon, "history", "--human=false", "--no-trunc", "--format", "{{.ID}}|{{.Size}}",
                     "busybox", env=env)).splitlines()
    assert raw and all(line.split("|")[1].isdigit() for line in raw)
    quiet = text(mdock(fake_daemon, "history", "-q", "busybox", env=env)).splitlines()
    assert quiet == [line.split()[0] for line in lines[1:]]


# -- save / load / import / export / commit --------------------------------------------------

def test_save_and_load_round_trip(fake_daemon, env, tmp_path: Path) -> None:
    archive = tmp_path / "busybox.tar"
    result = mdock(fake_daemon, "save", "-o", str(archive), "busybox", env=env)
    assert result.returncode == 0, err(result)
    with tarfile.open(archive) as tar:
        assert "manifest.json" in tar.getnames()
    assert mdock(fake_daemon, "rmi", "busybox", env=env).returncode == 0
    assert not image_exists(fake_daemon, "busybox:latest")
    result = mdock(fake_daemon, "load", "-i", str(archive), env=env)
    assert result.returncode == 0, err(result)
    assert text(result) == "Loaded image: busybox:latest\n"
    assert image_exists(fake_daemon, "busybox:latest")
    assert "/images/load?quiet=1" in requests_to(fake_daemon, "POST", "/images/load")


def test_save_to_a_pipe_and_load_from_stdin(fake_daemon, env) -> None:
    saved = mdock(fake_daemon, "save", "busybox", env=env)
    assert saved.returncode == 0
    assert tarfile.open(fileobj=io.BytesIO(saved.stdout)).getnames()
    loaded = mdock(fake_daemon, "load", env=env, input=saved.stdout)
    assert loaded.returncode == 0 and "Loaded image" in text(loaded)


def test_save_refuses_a_missing_output_directory(fake_daemon, env, tmp_path: Path) -> None:
    result = mdock(fake_daemon, "save", "-o", str(tmp_path / "no" / "x.tar"), "busybox", env=env)
    assert result.returncode == 1 and "does not exist" in err(result)


def test_export_then_import_makes_an_image(fake_daemon, env, tmp_path: Path) -> None:
    container = make_container(fake_daemon)
    exported = tmp_path / "rootfs.tar"
    result = mdock(fake_daemon, "export", "-o", str(exported), container, env=env)
    assert result.returncode == 0, err(result)
    with tarfile.open(exported) as tar:
        assert any(name.lstrip("./") == "etc/passwd" for name in tar.getnames())
    result = mdock(fake_daemon, "import", "-m", "imported", "-c", 'CMD ["/bin/sh"]', str(exported),
                   "imported:v1", env=env)
    assert result.returncode == 0, err(result)
    assert text(result).startswith("sha256:") and len(text(result).strip()) == 71
    assert image_exists(fake_daemon, "imported:v1")
    sent = requests_to(fake_daemon, "POST", "/images/create")[-1]
    assert "fromSrc=-" in sent and "repo=imported%3Av1" in sent and "message=imported" in sent


def test_import_from_stdin(fake_daemon, env, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"hi\n"))
    result = mdock(fake_daemon, "import", "-", "fromstdin", env=env, input=buffer.getvalue())
    assert result.returncode == 0, err(result)
    assert image_exists(fake_daemon, "fromstdin:latest")


def test_commit_sends_the_fully_qualified_name_and_prints_the_id(fake_daemon, env) -> None:
    container = make_container(fake_daemon)
    result = mdock(fake_daemon, "commit", "-m", "msg", "-a", "me", "-c", "ENV X=1", container, "committed:v1", env=env)
    assert result.returncode == 0, err(result)
    assert text(result).startswith("sha256:")
    sent = requests_to(fake_daemon, "POST", "/commit")[-1]
    assert "repo=docker.io%2Flibrary%2Fcommitted" in sent and "tag=v1" in sent
    assert "comment=msg" in sent and "author=me" in sent and "changes=ENV+X%3D1" in sent
    assert "pause" not in sent  # the default, true, is not sent
    assert image_exists(fake_daemon, "committed:v1")


# -- cp -------------------------------------------------------------------------------------

def test_cp_a_file_into_a_container_and_back(fake_daemon, env, tmp_path: Path) -> None:
    container = make_container(fake_daemon)
    (tmp_path / "f.txt").write_text("hello\n")
    result = mdock(fake_daemon, "cp", str(tmp_path / "f.txt"), f"{container}:/tmp/g.txt", env=env)
    assert result.returncode == 0, err(result)
    assert requests_to(fake_daemon, "PUT", "/containers/")[-1].endswith("/archive?noOverwriteDirNonDir=true&path=%2Ftmp")  # docker-api.md §5.3
    result = mdock(fake_daemon, "cp", f"{container}:/tmp/g.txt", str(tmp_path / "back.txt"), env=env)
    assert result.returncode == 0, err(result)
    assert (tmp_path / "back.txt").read_text() == "hello\n"


def test_cp_a_directory_both_ways(fake_daemon, env, tmp_path: Path) -> None:
    container = make_container(fake_daemon)
    (tmp_path / "d/sub").mkdir(parents=True)
    (tmp_path / "d/sub/x").write_text("x")
    assert mdock(fake_daemon, "cp", str(tmp_path / "d"), f"{container}:/tmp", env=env).returncode == 0
    (tmp_path / "out").mkdir()
    result = mdock(fake_daemon, "cp", f"{container}:/tmp/d", str(tmp_path / "out"), env=env)
    assert result.returncode == 0, err(result)
    assert (tmp_path / "out/d/sub/x").read_text() == "x"
    result = mdock(fake_daemon, "cp", f"{container}:/etc/passwd", "-", env=env)  # a tar on stdout
    assert tarfile.open(fileobj=io.BytesIO(result.stdout)).getnames() == ["passwd"]


def test_cp_a_tar_from_stdin_into_a_directory(fake_daemon, env) -> None:
    container = make_container(fake_daemon)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("from-stdin.txt")
        info.size = 6
        tar.addfile(info, io.BytesIO(b"piped\n"))
    result = mdock(fake_daemon, "cp", "-", f"{container}:/tmp", env=env, input=buffer.getvalue())
    assert result.returncode == 0, err(result)
    back = mdock(fake_daemon, "cp", f"{container}:/tmp/from-stdin.txt", "-", env=env)
    with tarfile.open(fileobj=io.BytesIO(back.stdout)) as tar:
        assert tar.extractfile("from-stdin.txt").read() == b"piped\n"
    not_dir = mdock(fake_daemon, "cp", "-", f"{container}:/etc/passwd", env=env, input=buffer.getvalue())
    assert (not_dir.returncode, err(not_dir)) == (1, f'destination "{container}:/etc/passwd" must be a directory\n')


def test_cp_needs_exactly_one_container(fake_daemon, env) -> None:
    assert err(mdock(fake_daemon, "cp", "a", "b", env=env)) == "must specify at least one container source\n"
    assert err(mdock(fake_daemon, "cp", "a:x", "b:y", env=env)) == "copying between containers is not supported\n"


class _HostileArchive(BaseHTTPRequestHandler):
    """A daemon that answers `GET /containers/x/archive` with whatever tar the test set."""

    protocol_version = "HTTP/1.1"
    archive = b""

    def do_HEAD(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Api-Version", "1.41")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        stat_header = base64.b64encode(json.dumps({"name": "x", "size": 0, "mode": 2147484141, "mtime":
                                                   "2026-01-01T00:00:00Z", "linkTarget": ""}).encode())
        self.send_response(200)
        self.send_header("Content-Type", "application/x-tar")
        self.send_header("X-Docker-Container-Path-Stat", stat_header.decode())
        self.send_header("Content-Length", str(len(self.archive)))
        self.end_headers()
        self.wfile.write(self.archive)

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


@pytest.fixture
def hostile_daemon() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HostileArchive)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _tar(*members: tuple[str, bytes | None, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data, link in members:
            info = tarfile.TarInfo(name)
            if link:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tar.addfile(info)
            else:
                info.size = len(data or b"")
                tar.addfile(info, io.BytesIO(data or b""))
    return buffer.getvalue()


@pytest.mark.parametrize("archive", [
    _tar(("x/../../escaped.txt", b"pwned", "")),
    _tar(("/tmp-escaped.txt", b"pwned", "")),
    _tar(("x/link", None, "/"), ("x/link/tmp/escaped.txt", b"pwned", "")),
    _tar(("x/up", None, "../../.."),),
], ids=["dotdot", "absolute", "through-symlink", "escaping-symlink"])
def test_cp_refuses_a_hostile_archive_from_the_daemon(hostile_daemon, env, tmp_path: Path, archive: bytes) -> None:
    _HostileArchive.archive = archive
    dest = tmp_path / "dest"
    dest.mkdir()
    host, port = hostile_daemon.server_address[:2]
    result = run_cli("-H", f"tcp://{host}:{port}", "cp", "evil:/x", str(dest), env=env)
    assert result.returncode == 1
    assert err(result).startswith("refusing to extract ")
    assert sorted(os.listdir(tmp_path)) == ["dest"]
    assert not Path("/tmp/escaped.txt").exists() and not Path("/tmp-escaped.txt").exists()


# -- build ------------------------------------------------------------------------------------

def test_build_sends_the_context_and_shows_the_steps(fake_daemon, env, tmp_path: Path) -> None:
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx/Dockerfile").write_text("FROM busybox\nCOPY hello.txt /hello.txt\nCMD [\"cat\", \"/hello.txt\"]\n")
    (tmp_path / "ctx/hello.txt").write_text("hello from the build\n")
    (tmp_path / "ctx/secret.key").write_text("nope")
    (tmp_path / "ctx/.dockerignore").write_text("*.key\n")
    result = mdock(fake_daemon, "build", "-t", "built:v1", "--build-arg", "X=1", "--label", "l=v",
                   str(tmp_path / "ctx"), env=env)
    assert result.returncode == 0, err(result)
    assert "Step 1/3 : FROM busybox" in text(result)
    assert "Successfully tagged built:v1" in text(result)
    sent = requests_to(fake_daemon, "POST", "/build")[-1]
    for part in ("t=built%3Av1", "dockerfile=Dockerfile", "buildargs=%7B%22X%22%3A%221%22%7D",
                 "labels=%7B%22l%22%3A%22v%22%7D", "version=1"):
        assert part in sent
    assert image_exists(fake_daemon, "built:v1")


def test_a_failing_build_exits_with_the_steps_code(fake_daemon, env, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN exit 3\n")
    result = mdock(fake_daemon, "build", str(tmp_path), env=env)
    assert result.returncode == 3, (text(result), err(result))
    assert "returned a non-zero code: 3" in err(result)


def test_build_from_a_dockerfile_on_stdin(fake_daemon, env) -> None:
    result = mdock(fake_daemon, "build", "-q", "-", env=env, input=b"FROM busybox\nCMD [\"true\"]\n")
    assert result.returncode == 0, err(result)
    assert text(result).startswith("sha256:")


# -- a terminal -------------------------------------------------------------------------------

def test_pull_on_a_terminal_shows_live_progress(fake_daemon, env) -> None:
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(sys.executable, ["-m", "minidock", "-H", fake_daemon.unix_host, "pull", "alpine"],
                          env=env, timeout=20, dimensions=(40, 120))
    child.logfile_read = screen = io.BytesIO()
    child.expect("Pull complete")
    child.expect("Downloaded newer image for alpine:latest")
    child.expect("docker.io/library/alpine:latest")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert b"\x1b[?25l" in screen.getvalue()  # the live view hid the cursor while it redrew the rows


def test_save_refuses_to_write_a_tar_to_a_terminal(fake_daemon, env) -> None:
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(sys.executable, ["-m", "minidock", "-H", fake_daemon.unix_host, "save", "busybox"],
                          env=env, timeout=20)
    child.expect("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert requests_to(fake_daemon, "GET", "/images/get") == []
