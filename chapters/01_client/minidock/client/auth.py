"""Registry credentials: the `auths` map of the client's config file, and the headers made from it.

`login` asks the daemon to check the credentials (`POST /auth`) and then
keeps them on the *client* side, in `~/.minidock/config.json` (docker:
`~/.docker/config.json`); the daemon keeps nothing. Every later pull, push
or search carries them again, in the `X-Registry-Auth` header: the base64url
of a JSON AuthConfig, or `e30=` (`{}`) for anonymous (docker-api.md §4.5).

The file has docker's shape, so a reader can compare:

    {"auths": {"localhost:5001": {"auth": "dXNlcjpwYXNz"}}}     # base64("user:pass")

It is written atomically with mode 0600 in a 0700 directory: it holds
passwords in the clear (docker warns about that too).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minidock.client.errors import ClientError

INDEX_SERVER = "https://index.docker.io/v1/"  # Docker Hub's key in `auths`
CONFIG_ENV = "MINIDOCK_CONFIG"  # a directory, like docker's DOCKER_CONFIG
ANONYMOUS = "e30="  # base64url("{}")


@dataclass(frozen=True)
class AuthConfig:
    """docker's `registry.AuthConfig`, the fields a client sends."""

    username: str = ""
    password: str = ""
    serveraddress: str = ""
    identitytoken: str = ""

    def to_json(self) -> dict[str, str]:
        """Go's `omitempty`: only the fields that are set, in the struct's order."""
        fields = {"username": self.username, "password": self.password,
                  "serveraddress": self.serveraddress, "identitytoken": self.identitytoken}
        return {key: value for key, value in fields.items() if value}


def config_dir() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or Path.home() / ".minidock")


def config_path() -> Path:
    return config_dir() / "config.json"


def convert_to_hostname(address: str) -> str:
    """`https://host:5000/v1/` -> `host:5000` (docker's `ConvertToHostname`)."""
    for scheme in ("http://", "https://"):
        address = address.removeprefix(scheme)
    return address.split("/", 1)[0]


def server_for_domain(domain: str) -> str:
    """The `auths` key for an image's registry: Docker Hub has a URL as its key."""
    return INDEX_SERVER if domain in ("docker.io", "index.docker.io") else domain


# --8<-- [start:header]
def encode_header(auth: AuthConfig | None) -> str:
    """The `X-Registry-Auth` value: base64url of the JSON AuthConfig, `e30=` when anonymous."""
    payload = auth.to_json() if auth is not None else {}
    if not payload:
        return ANONYMOUS
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()
# --8<-- [end:header]


def load_config() -> dict[str, Any]:
    path = config_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ClientError(f"loading config file {path}: {exc}") from None
    return data if isinstance(data, dict) else {}


def save_config(data: dict[str, Any]) -> Path:
    """Write the whole file atomically: temp file (0600) + fsync + rename."""
    directory = config_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / "config.json"
    temp = directory / f".config.json.{os.getpid()}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as file:
            json.dump(data, file, indent="\t")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


def get_auth(server: str) -> AuthConfig | None:
    """The stored credentials for a registry, or None (matching `http(s)://host/...` keys too)."""
    auths = load_config().get("auths") or {}
    entry = auths.get(server)
    if entry is None:
        wanted = convert_to_hostname(server)
        entry = next((value for key, value in auths.items() if convert_to_hostname(key) == wanted), None)
    if not isinstance(entry, dict):
        return None
    username = password = ""
    if entry.get("auth"):
        try:
            username, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise ClientError(f"invalid auth configuration file {config_path()}") from None
    return AuthConfig(username, password, server, entry.get("identitytoken", ""))


def store_auth(auth: AuthConfig) -> Path:
    data = load_config()
    entry: dict[str, str] = {"auth": base64.b64encode(f"{auth.username}:{auth.password}".encode()).decode()}
    if auth.identitytoken:
        entry["identitytoken"] = auth.identitytoken
    data.setdefault("auths", {})[auth.serveraddress] = entry
    return save_config(data)


def erase_auth(server: str) -> bool:
    """Forget a registry's credentials (and the `http(s)://` spellings of it); True if any were stored."""
    data = load_config()
    auths = data.get("auths") or {}
    keys = [server] if server == INDEX_SERVER else [server, f"http://{server}", f"https://{server}"]
    found = [key for key in keys if key in auths]
    for key in found:
        del auths[key]
    if found:
        save_config(data)
    return bool(found)


def registry_auth_header(domain: str) -> str:
    """`X-Registry-Auth` for an image on `domain`: the stored credentials, or anonymous."""
    return encode_header(get_auth(server_for_domain(domain)))
