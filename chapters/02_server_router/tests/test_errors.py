"""Typed errors: the status belongs to the class, never to the words of the message."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minidock.server import errors
from minidock.server.errors import (
    APIError, BadParameter, Conflict, Forbidden, HeaderFieldsTooLarge, InternalError, JobNotInstalled,
    MethodNotAllowed, NotFound, NotImplementedByChapter, NotModified, PayloadTooLarge, Unauthorized, Unavailable,
    status_of,
)

STATUSES = {
    BadParameter: 400, Unauthorized: 401, Forbidden: 403, NotFound: 404, Conflict: 409, NotModified: 304,
    PayloadTooLarge: 413, HeaderFieldsTooLarge: 431, InternalError: 500, NotImplementedByChapter: 501,
    Unavailable: 503,
}


@pytest.mark.parametrize("cls, status", sorted(STATUSES.items(), key=lambda item: item[1]))
def test_each_error_class_has_its_status(cls: type[APIError], status: int) -> None:
    exc = cls("something happened")
    assert exc.status == status == status_of(exc)
    assert exc.message == str(exc) == "something happened"
    assert isinstance(exc, APIError)


@given(st.text(), st.sampled_from(sorted(STATUSES, key=lambda cls: cls.__name__)))
def test_the_status_never_depends_on_the_message(message: str, cls: type[APIError]) -> None:
    """Docker 1.x mapped "No such ..." to 404 and "Conflict" to 409 by searching
    the message. Here any text, those words included, keeps the class's status."""
    for text in (message, "No such container: " + message, "Conflict. " + message, "Impossible " + message):
        assert status_of(cls(text)) == STATUSES[cls]


def test_every_api_error_class_in_the_module_has_a_known_status() -> None:
    classes = [value for value in vars(errors).values()
               if isinstance(value, type) and issubclass(value, APIError)]
    for cls in classes:
        assert 300 <= cls.status < 600, cls


def test_anything_else_is_a_500() -> None:
    assert status_of(ValueError("bug")) == 500
    assert status_of(KeyError("x")) == 500


def test_method_not_allowed_carries_the_allowed_methods() -> None:
    exc = MethodNotAllowed("method POST not allowed for /version (allowed: GET)", ["GET"])
    assert (exc.status, exc.allowed) == (405, ["GET"])


def test_job_not_installed_is_a_501_that_names_the_chapter() -> None:
    exc = JobNotInstalled("create")
    assert isinstance(exc, NotImplementedByChapter)
    assert status_of(exc) == 501
    assert (exc.job, exc.chapter) == ("create", 3)
    assert exc.message == "no handler for job 'create' in this chapter: chapter 03 (engine and jobs) installs it"


def test_job_not_installed_for_a_job_nobody_brings() -> None:
    exc = JobNotInstalled("teleport")
    assert exc.chapter is None
    assert exc.message == "no handler for job 'teleport': minidock does not implement it"
