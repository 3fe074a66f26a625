"""The auth challenge: parsing it, and answering it with Basic credentials or a Bearer token."""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
from registries import FakeRegistry, build_tiny_layout  # noqa: E402

from minidock.registry.client import Credentials, RegistryClient  # noqa: E402
from minidock.registry.client.auth import Challenge, parse_challenges, token_from_body, token_url  # noqa: E402
from minidock.registry.client.session import base_url, is_local  # noqa: E402
from minidock.registry.contentstore import ContentStore  # noqa: E402
from minidock.registry.errors import Unauthorized  # noqa: E402


def test_docker_hubs_challenge() -> None:
    header = ('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
              'scope="repository:library/busybox:pull"')
    assert parse_challenges(header) == [Challenge("bearer", {
        "realm": "https://auth.docker.io/token", "service": "registry.docker.io",
        "scope": "repository:library/busybox:pull"})]


def test_several_challenges_and_odd_spellings() -> None:
    assert parse_challenges('Basic realm="a, b", BEARER realm=x,service="s\\"q"') == [
        Challenge("basic", {"realm": "a, b"}), Challenge("bearer", {"realm": "x", "service": 's"q'})]
    assert parse_challenges("") == []


@given(realm=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30),
       service=st.from_regex(r"[a-z0-9.:-]{1,20}", fullmatch=True))
def test_quoted_values_round_trip(realm: str, service: str) -> None:
    quoted = realm.replace("\\", "\\\\").replace('"', '\\"')
    assert parse_challenges(f'Bearer realm="{quoted}",service="{service}"') == [
        Challenge("bearer", {"realm": realm, "service": service})]


def test_token_url_and_answer() -> None:
    challenge = Challenge("bearer", {"realm": "https://auth.example/token", "service": "reg", "scope": "x"})
    assert token_url(challenge, ["repository:a/b:pull,push", "repository:c:pull"]) == (
        "https://auth.example/token?service=reg&scope=repository%3Aa%2Fb%3Apull%2Cpush"
        "&scope=repository%3Ac%3Apull")
    assert token_url(challenge, []) == "https://auth.example/token?service=reg&scope=x"
    assert token_from_body(b'{"access_token": "t"}') == "t"
    with pytest.raises(ValueError):
        token_from_body(b"<html>")


@pytest.mark.parametrize("host,scheme", [("127.0.0.1:5000", "http"), ("127.9.9.9", "http"), ("localhost:5000", "http"),
                                         ("[::1]:5000", "http"), ("registry.example:5000", "https"),
                                         ("10.0.0.1:5000", "https"), ("docker.io", "https")])
def test_plain_http_only_for_this_machine(host: str, scheme: str) -> None:
    assert is_local(host) == (scheme == "http")
    assert base_url(host).startswith(f"{scheme}://")


def test_insecure_registries_get_plain_http() -> None:
    assert base_url("10.0.0.1:5000", insecure=["10.0.0.1:5000"]) == "http://10.0.0.1:5000"
    assert base_url("docker.io") == "https://registry-1.docker.io"


@pytest.fixture
def image(tmp_path):
    return build_tiny_layout(tmp_path / "layout")


@pytest.fixture
def fake(image):
    with FakeRegistry() as registry:
        registry.add_image("private/tiny", "latest", image)
        registry.users = {"user": "pass"}
        yield registry


def test_bearer_token_with_credentials(fake, image, tmp_path) -> None:
    fake.auth = "bearer"
    store = ContentStore(tmp_path / "content")
    RegistryClient(store, auth=lambda host: Credentials("user", "pass") if host == fake.host else None
                   ).pull(f"{fake.host}/private/tiny")
    assert store.has(image.manifest_digest)
    token_requests = [(p, h) for m, p, h in fake.requests if p.startswith("/token")]
    path, headers = token_requests[0]
    assert "service=fake-registry" in path and "scope=repository%3Aprivate%2Ftiny%3Apull" in path
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"user:pass").decode()
    # one token for the scope, reused: one 401, one token request for the whole pull
    assert len(token_requests) == 1
    assert sum(1 for m, p, h in fake.requests if p.startswith("/v2/") and "Authorization" not in h) == 1


def test_bearer_with_a_wrong_password(fake, tmp_path) -> None:
    fake.auth = "bearer"
    store = ContentStore(tmp_path / "content")
    with pytest.raises(Unauthorized, match="incorrect username or password"):
        RegistryClient(store).pull(f"{fake.host}/private/tiny", credentials=Credentials("user", "nope"))
    assert list(store.blobs()) == []


def test_anonymous_bearer_when_the_token_server_allows_it(fake, image, tmp_path) -> None:
    fake.auth, fake.users = "bearer", {}
    store = ContentStore(tmp_path / "content")
    RegistryClient(store).pull(f"{fake.host}/private/tiny")
    assert store.has(image.manifest_digest)
    assert all("Authorization" not in h for m, p, h in fake.requests if p.startswith("/token"))


def test_basic_auth(fake, image, tmp_path) -> None:
    fake.auth = "basic"
    store = ContentStore(tmp_path / "content")
    with pytest.raises(Unauthorized):
        RegistryClient(store).pull(f"{fake.host}/private/tiny")  # no credentials: the 401 stands
    RegistryClient(store).pull(f"{fake.host}/private/tiny", credentials=Credentials("user", "pass"))
    assert store.has(image.manifest_digest)


def test_login(fake, tmp_path) -> None:
    fake.auth = "basic"
    client = RegistryClient(ContentStore(tmp_path / "content"))
    assert client.login(fake.host, Credentials("user", "pass")) == "Login Succeeded"
    with pytest.raises(Unauthorized):
        client.login(fake.host, Credentials("user", "wrong"))
