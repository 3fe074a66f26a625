"""Image references: docker's grammar and normalisation, stated as laws."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from minidock.client.reference import REFERENCE, InvalidReference, Reference, normalize, parse_reference

# -- strategies from the grammar ----------------------------------------------------------

alnum = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6)
separator = st.sampled_from([".", "_", "__", "-", "--"])
path_component = st.builds(
    lambda first, rest: first + "".join(sep + part for sep, part in rest),
    alnum, st.lists(st.tuples(separator, alnum), max_size=2))
path = st.lists(path_component, min_size=1, max_size=3).map("/".join)
label = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?", fullmatch=True)
# A registry host must look like one: a dot, a port, or `localhost`.
domain = st.one_of(
    st.just("localhost"),
    st.builds(lambda labels: ".".join(labels), st.lists(label, min_size=2, max_size=3)),
    st.builds(lambda host, port: f"{host}:{port}", label | st.just("localhost"), st.integers(1, 65535)),
).filter(lambda d: d not in ("docker.io", "index.docker.io"))
tag = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
digest = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64).map(lambda h: f"sha256:{h}")


def suffix(t: str | None, d: str | None) -> str:
    return (f":{t}" if t else "") + (f"@{d}" if d else "")


# -- laws -----------------------------------------------------------------------------------

@given(domain, path, st.none() | tag, st.none() | digest)
def test_a_name_with_a_registry_parses_into_its_parts_and_prints_back(d, p, t, dg) -> None:
    text = f"{d}/{p}{suffix(t, dg)}"
    ref = parse_reference(text)
    assert (ref.domain, ref.path, ref.tag, ref.digest) == (d, p, t, dg)
    assert str(ref) == text
    assert ref.familiar() == text


@given(path, st.none() | tag, st.none() | digest)
def test_a_name_without_registry_is_on_docker_hub_and_official_images_are_under_library(p, t, dg) -> None:
    first = p.split("/")[0]
    assume("/" not in p or ("." not in first and first != "localhost"))  # else it names a registry
    text = f"{p}{suffix(t, dg)}"
    ref = parse_reference(text)
    assert ref.domain == "docker.io"
    assert ref.path == (p if "/" in p else f"library/{p}")
    assert ref.familiar() == text  # the short form is what the user typed
    assert str(ref) == f"docker.io/{ref.path}{suffix(t, dg)}"


@given(path, st.none() | tag, st.none() | digest)
def test_normalize_defaults_the_tag_only_for_a_bare_name(p, t, dg) -> None:
    ref = normalize(f"{p}{suffix(t, dg)}")
    assert ref.tag == (t if (t or dg) else "latest")
    assert ref.digest == dg


@given(st.text(max_size=40))
def test_anything_either_fails_cleanly_or_is_a_valid_reference_that_reparses_to_itself(text: str) -> None:
    try:
        ref = parse_reference(text)
    except InvalidReference as exc:
        assert str(exc).startswith(("invalid reference format", "invalid repository name"))
        return
    assert REFERENCE.fullmatch(str(ref))
    assert parse_reference(str(ref)) == ref
    assert parse_reference(ref.familiar()) == ref


@given(path, st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=3))
def test_uppercase_in_the_repository_is_refused_with_dockers_message(p: str, upper: str) -> None:
    with pytest.raises(InvalidReference, match=r"must be lowercase"):
        parse_reference(f"localhost:5000/{p}{upper}")


@given(tag.map(lambda t: t + "!") | st.from_regex(r"[.-][a-z]{1,5}", fullmatch=True))
def test_a_bad_tag_is_an_invalid_reference(bad_tag: str) -> None:
    with pytest.raises(InvalidReference, match="^invalid reference format$"):
        parse_reference(f"busybox:{bad_tag}")


def test_tags_are_at_most_128_characters() -> None:
    assert parse_reference("busybox:" + "a" * 128).tag == "a" * 128
    with pytest.raises(InvalidReference):
        parse_reference("busybox:" + "a" * 129)


@pytest.mark.parametrize("text, expected", [
    ("busybox", "docker.io/library/busybox"),
    ("alpine:3.10", "docker.io/library/alpine:3.10"),
    ("user/app", "docker.io/user/app"),
    ("index.docker.io/busybox", "docker.io/library/busybox"),
    ("localhost/app", "localhost/app"),
    ("localhost:5001/test/busybox:v1", "localhost:5001/test/busybox:v1"),
    ("localhost:5000", "docker.io/library/localhost:5000"),  # no slash: `5000` is a tag
    ("[::1]:5000/x", "[::1]:5000/x"),
    ("Registry.Example.com/x", "Registry.Example.com/x"),  # hosts may have capitals, paths may not
])
def test_examples_from_docker(text: str, expected: str) -> None:
    assert str(parse_reference(text)) == expected


@pytest.mark.parametrize("text, message", [
    ("", "invalid reference format"),
    ("a b", "invalid reference format"),
    ("Abc", "invalid reference format: repository name (library/Abc) must be lowercase"),
    ("busybox@sha256:abc", "invalid reference format"),
    ("a" * 64, f"invalid repository name ({'a' * 64}), cannot specify 64-byte hexadecimal strings"),
    ("x/" + "a" * 250, "invalid reference format: repository name must not be more than 255 characters"),
])
def test_bad_names_get_dockers_messages(text: str, message: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_reference(text)
    assert str(caught.value) == message


def test_familiar_name_strips_only_what_normalisation_added() -> None:
    assert Reference("docker.io", "library/busybox").familiar_name == "busybox"
    assert Reference("docker.io", "library/a/b").familiar_name == "library/a/b"
    assert Reference("localhost:5001", "library/x").familiar_name == "localhost:5001/library/x"
    assert re.fullmatch(r"docker\.io/library/busybox:latest", str(normalize("busybox")))
