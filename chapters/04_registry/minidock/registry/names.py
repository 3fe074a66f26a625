"""Repository names and tags, as the distribution spec allows them.

Inside a registry a repository is named by path components only -
`library/busybox`, `team/app` - never by a host (the host is *where* the
registry is, not part of the name). The grammar is chapter 01's
(`minidock.client.reference`), reused, not retyped:

    name      := path-component ("/" path-component)*      at most 255 characters
    component := [a-z0-9]+ ( (\\.|_|__|-+) [a-z0-9]+ )*
    tag       := [\\w][\\w.-]{0,127}

Why check so early? A registry server turns the name into a directory
(`repositories/<name>/...`). The grammar admits no `..`, no empty component,
no leading `/`, no NUL, no upper case: a name that matches it cannot escape
the storage root. So the server checks the name against the grammar
*before* any path is built from it - a check after joining paths would be
a check of something already dangerous.
"""

from __future__ import annotations

import re

from minidock.client.reference import (  # noqa: F401 - re-exported for the registry client
    DEFAULT_TAG, NAME_TOTAL_MAX, PATH_COMPONENT, TAG, InvalidReference, Reference, normalize,
    parse_reference, split_domain,
)
from minidock.registry.errors import ManifestInvalid, NameInvalid

REPOSITORY = re.compile(rf"{PATH_COMPONENT}(?:/{PATH_COMPONENT})*", re.ASCII)
TAG_RE = re.compile(TAG, re.ASCII)


# --8<-- [start:check_name]
def check_repository(name: str) -> str:
    """Return `name` if it is a valid repository name; NAME_INVALID otherwise."""
    if not isinstance(name, str) or len(name) > NAME_TOTAL_MAX or REPOSITORY.fullmatch(name) is None:
        raise NameInvalid(f"invalid repository name: {name!r}", detail={"name": str(name)[:300]})
    return name


def check_tag(tag: str) -> str:
    """Return `tag` if it matches the tag grammar; MANIFEST_INVALID otherwise (as distribution answers)."""
    if not isinstance(tag, str) or TAG_RE.fullmatch(tag) is None:
        raise ManifestInvalid(f"invalid tag: {tag!r}", detail={"tag": str(tag)[:300]})
    return tag
# --8<-- [end:check_name]


def is_repository(name: str) -> bool:
    return isinstance(name, str) and len(name) <= NAME_TOTAL_MAX and REPOSITORY.fullmatch(name) is not None


def is_tag(tag: str) -> bool:
    return isinstance(tag, str) and TAG_RE.fullmatch(tag) is not None
