"""Typed API errors, and the one place where an error becomes an HTTP status.

A handler that cannot do its work raises one of these classes; it never
writes a status code itself. The server catches the exception and answers
with `status_of(exc)` and the body `{"message": str(exc)}`.

Docker 1.x did this the other way round: handlers returned plain errors, and
the server guessed the status from the *words* of the message
(`strings.Contains(err.Error(), "No such")` meant 404, `"Conflict"` meant
409, `"Impossible"` meant 406 ...). Rewording a message could change the
status a client sees, and nothing checked it. Moby later replaced that with
typed errors (`errdefs.NotFound`, `errdefs.InvalidParameter`, ...); we start
there: the status is a class attribute, set once per class below, and the
message is free text that no code ever parses.
"""

from __future__ import annotations


# --8<-- [start:api_error]
class APIError(Exception):
    """An error the API reports to the client: a status and a message.

    `status` is a class attribute, so the status of an error is decided by
    what the error *is*, never by what its message says."""

    status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadParameter(APIError):
    """The request is malformed: a bad query parameter, body, or version (moby's InvalidParameter)."""
    status = 400


class Unauthorized(APIError):
    status = 401


class Forbidden(APIError):
    status = 403


class NotFound(APIError):
    """No such container, image, network ... or no such route ("page not found")."""
    status = 404


class MethodNotAllowed(APIError):
    """The path is known, but not with this method; `allowed` lists the methods that are."""
    status = 405

    def __init__(self, message: str, allowed: list[str]) -> None:
        super().__init__(message)
        self.allowed = list(allowed)


class Conflict(APIError):
    """The request clashes with the current state: a name in use, a container not running."""
    status = 409


class NotModified(APIError):
    """Nothing to do: start of a running container, stop of a stopped one (not a failure)."""
    status = 304


class PayloadTooLarge(APIError):
    """A request body above the server's limit."""
    status = 413


class HeaderFieldsTooLarge(APIError):
    """A request line plus headers above the server's limit."""
    status = 431


class InternalError(APIError):
    """Something went wrong inside the daemon; the message says what."""
    status = 500


class NotImplementedByChapter(APIError):
    """The daemon knows the request but has nothing that can serve it (yet)."""
    status = 501


class Unavailable(APIError):
    """The daemon cannot serve this now or in this mode (moby: not a swarm manager)."""
    status = 503
# --8<-- [end:api_error]


# Another name for the same class, as chapter 02's spec spells it.
NotImplemented_ = NotImplementedByChapter


# --8<-- [start:job_not_installed]
class JobNotInstalled(NotImplementedByChapter):
    """A route names a job, and no handler for that job is installed.

    This is how "absent is explicit" looks on the wire: in the chapter-2 world
    `POST /containers/create` answers 501 with
    `no handler for job 'create' in this chapter: chapter 03 (engine and jobs) installs it`.
    Which chapter installs which job is data: `routes.JOB_CHAPTERS`."""

    def __init__(self, job: str) -> None:
        # Imported here, not at the top: routes.py imports router.py, which
        # imports this module.
        from minidock.server.routes import CHAPTER_TITLES, JOB_CHAPTERS

        chapter = JOB_CHAPTERS.get(job)
        if chapter is None:
            message = f"no handler for job {job!r}: minidock does not implement it"
        else:
            title = CHAPTER_TITLES.get(chapter, "")
            named = f"chapter {chapter:02d} ({title})" if title else f"chapter {chapter:02d}"
            message = f"no handler for job {job!r} in this chapter: {named} installs it"
        super().__init__(message)
        self.job = job
        self.chapter = chapter
# --8<-- [end:job_not_installed]


# --8<-- [start:status_of]
def status_of(exc: BaseException) -> int:
    """The HTTP status that answers `exc`: its class's status, or 500 for anything
    that is not an APIError (a bug; the server logs it with its traceback)."""
    if isinstance(exc, APIError):
        return exc.status
    return 500
# --8<-- [end:status_of]
