"""Image references: `busybox`, `alpine:3.10`, `localhost:5001/test/busybox@sha256:...`.

Docker's grammar (`distribution/reference`), which a name must match before
any request is sent:

    reference      := name [ ":" tag ] [ "@" digest ]
    name           := [domain "/"] path-component ["/" path-component]*
    domain         := host [":" port]          host: DNS labels, or [IPv6]
    path-component := [a-z0-9]+ ( (\\.|_|__|-+) [a-z0-9]+ )*
    tag            := [\\w][\\w.-]{0,127}
    digest         := sha256 ":" 64 lowercase hex digits

and its normalisation (docker-api.md §4.7): the first component is a
registry host only if it looks like one (has a `.` or `:`, or is
`localhost`); otherwise the image is on Docker Hub, `docker.io`, and a
one-component name there lives under `library/`. So `busybox` is
`docker.io/library/busybox`, and its *familiar* name is `busybox` again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from minidock.client.errors import ClientError

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_MAX = 255

# --8<-- [start:grammar]
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
DOMAIN = rf"{_HOST}(?::[0-9]+)?"
TAG = r"[\w][\w.-]{0,127}"
DIGEST = r"sha256:[a-f0-9]{64}"
NAME = rf"(?:{DOMAIN}/)?{PATH_COMPONENT}(?:/{PATH_COMPONENT})*"
REFERENCE = re.compile(rf"(?P<name>{NAME})(?::(?P<tag>{TAG}))?(?:@(?P<digest>{DIGEST}))?", re.ASCII)
_ID = re.compile(r"[a-f0-9]{64}")
# --8<-- [end:grammar]


class InvalidReference(ClientError):
    """A name that is not an image reference; docker says `invalid reference format`."""


@dataclass(frozen=True)
class Reference:
    """A parsed, normalised reference: `domain/path[:tag][@digest]`."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """The fully qualified repository, as `pull` sends it: `docker.io/library/busybox`."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """The short repository users type: `busybox`, `user/app`, `localhost:5001/x`."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        return self.path.removeprefix(OFFICIAL_REPO_PREFIX) if self.path.count("/") == 1 else self.path

    def _suffix(self) -> str:
        return (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def __str__(self) -> str:
        return self.name + self._suffix()

    def familiar(self) -> str:
        return self.familiar_name + self._suffix()

    def with_default_tag(self) -> "Reference":
        """A bare name means `:latest` (docker's `TagNameOnly`); a digest or tag stays as is."""
        if self.tag is None and self.digest is None:
            return Reference(self.domain, self.path, DEFAULT_TAG)
        return self


# --8<-- [start:parse]
def split_domain(name: str) -> tuple[str, str]:
    """Docker's `splitDockerDomain`: is the first component a registry host?"""
    first, slash, rest = name.partition("/")
    if not slash or ("." not in first and ":" not in first and first != "localhost" and first.lower() == first):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, rest
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def parse_reference(text: str) -> Reference:
    """Parse and normalise what a user typed (docker's `ParseNormalizedNamed`)."""
    if _ID.fullmatch(text):
        raise InvalidReference(f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings")
    # The name ends at the first "@" or at a ":" after the last "/" (a ":" before it is a port).
    name_end = text.find("@")
    name_part = text if name_end < 0 else text[:name_end]
    colon = name_part.rfind(":")
    if colon > name_part.rfind("/"):
        name_part = name_part[:colon]
    domain, remainder = split_domain(name_part)
    if remainder.lower() != remainder:
        raise InvalidReference(f"invalid reference format: repository name ({remainder}) must be lowercase")
    match = REFERENCE.fullmatch(f"{domain}/{remainder}{text[len(name_part):]}")
    if match is None:
        raise InvalidReference("invalid reference format")
    if len(match["name"]) > NAME_TOTAL_MAX:
        raise InvalidReference(f"invalid reference format: repository name must not be more than {NAME_TOTAL_MAX} characters")
    return Reference(domain, remainder, match["tag"], match["digest"])
# --8<-- [end:parse]


def normalize(text: str) -> Reference:
    """`busybox` -> `docker.io/library/busybox:latest`: what `pull` asks the daemon for."""
    return parse_reference(text).with_default_tag()
