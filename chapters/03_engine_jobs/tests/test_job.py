"""A job: run once, an exit status, a typed error, streams that fan out, a log tree."""

from __future__ import annotations

import logging
import re
import socket
import threading
from collections.abc import Iterator

import pytest

from minidock.engine import Engine, Input, Job, JobAlreadyRun, JobNotInstalled, Output
from minidock.server.errors import Conflict, InternalError, NotFound


class Records(logging.Handler):
    """Every message the engine logs, in order."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def messages(self) -> list[str]:
        return [record.getMessage() for record in self.records]


@pytest.fixture
def log(request: pytest.FixtureRequest) -> Iterator[Records]:
    logger = logging.getLogger(f"test.engine.{request.node.name}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    records = Records()
    logger.addHandler(records)
    yield records
    logger.removeHandler(records)


@pytest.fixture
def engine(log: Records, request: pytest.FixtureRequest) -> Engine:
    return Engine(logger=logging.getLogger(f"test.engine.{request.node.name}"), debug=True)


# ------------------------------------------------------------------ exit statuses ----

def test_a_handler_that_returns_nothing_succeeds(engine: Engine) -> None:
    seen = []
    engine.register("create", lambda job: seen.append((job.name, job.args, job.env.get("Image"))))
    job = engine.job("create", "web", env={"Image": "busybox"})
    assert job.status is None
    assert job.run() == 0
    assert (job.status, job.error, seen) == (0, None, [("create", ["web"], "busybox")])
    assert job.duration is not None and job.duration >= 0


def test_a_handler_can_return_its_own_exit_status(engine: Engine) -> None:
    engine.register("grep", lambda job: 2)
    job = engine.job("grep")
    assert job.run() == 2 and job.error is None
    with pytest.raises(InternalError, match=r"job grep\(\) failed with status 2"):
        engine.job("grep").run_or_raise()


def test_a_typed_error_is_kept_intact(engine: Engine) -> None:
    error = NotFound("No such container: web")

    def inspect(job: Job) -> None:
        raise error

    engine.register("container_inspect", inspect)
    job = engine.job("container_inspect", "web")
    assert job.run() == 1
    assert job.error is error and job.error.status == 404
    with pytest.raises(NotFound) as caught:
        engine.job("container_inspect", "web").run_or_raise()
    assert caught.value is error


def test_a_job_nobody_registered_is_127_and_names_its_chapter(engine: Engine) -> None:
    job = engine.job("image_inspect", "busybox")
    assert job.run() == 127
    assert isinstance(job.error, JobNotInstalled) and job.error.status == 501
    assert str(job.error) == "no handler for job 'image_inspect' in this chapter: chapter 05 (graph) installs it"
    with pytest.raises(JobNotInstalled):
        engine.job("image_inspect").run_or_raise()


def test_a_missing_job_inside_a_handler_fails_the_handler_with_status_1(engine: Engine) -> None:
    """127 is for the job that has no handler; its caller, which did have one, fails with 1."""

    def create(job: Job) -> None:
        job.engine.job("image_inspect", "busybox").run_or_raise()

    engine.register("create", create)
    job = engine.job("create")
    assert job.run() == 1 and isinstance(job.error, JobNotInstalled)


def test_the_caller_decides_what_absent_means(engine: Engine) -> None:
    def create(job: Job) -> None:
        inspect = job.engine.job("image_inspect", job.env.get("Image"))
        if inspect.run() == 127:
            job.stdout.write(b"image not checked\n")

    engine.register("create", create)
    job = engine.job("create", env={"Image": "busybox"})
    out = job.stdout.add_buffer()
    assert job.run() == 0 and out.getvalue() == b"image not checked\n"


def test_a_bug_in_a_handler_is_status_1_and_logged_with_its_traceback(engine: Engine, log: Records) -> None:
    def broken(job: Job) -> None:
        {}["missing"]

    engine.register("broken", broken)
    job = engine.job("broken", "x")
    assert job.run() == 1 and isinstance(job.error, KeyError)
    [record] = [r for r in log.records if r.levelno == logging.ERROR]
    assert record.getMessage() == "job broken(x) failed: 'missing'"
    assert record.exc_info is not None and record.exc_info[1] is job.error


def test_a_handler_returning_something_odd_is_a_bug(engine: Engine) -> None:
    engine.register("odd", lambda job: "done")
    job = engine.job("odd")
    assert job.run() == 1 and "returns an exit status" in str(job.error)


def test_keyboard_interrupt_is_not_swallowed(engine: Engine) -> None:
    def interrupted(job: Job) -> None:
        raise KeyboardInterrupt

    engine.register("interrupted", interrupted)
    with pytest.raises(KeyboardInterrupt):
        engine.job("interrupted").run()
    assert engine.running == [], "the engine no longer counts it as running"


def test_a_job_runs_once(engine: Engine) -> None:
    engine.register("start", lambda job: None)
    job = engine.job("start", "web")
    job.run()
    with pytest.raises(JobAlreadyRun, match=r"start\(web\) has already run"):
        job.run()


def test_arguments_are_strings(engine: Engine) -> None:
    with pytest.raises(TypeError, match="arguments are strings, not int"):
        engine.job("stop", "web", 10)  # type: ignore[arg-type]


# --------------------------------------------------------------------- the log tree ----

DURATION = r"\d+\.\d+(ms|s)"


def test_nested_jobs_log_a_tree_with_statuses_and_durations(engine: Engine, log: Records) -> None:
    def run(job: Job) -> None:
        job.engine.job("create", *job.args).run_or_raise()
        job.engine.job("start", *job.args).run_or_raise()

    def create(job: Job) -> None:
        job.engine.job("image_inspect", "busybox").run()

    def start(job: Job) -> None:
        raise Conflict("container is paused")

    for name, handler in [("run", run), ("create", create), ("start", start)]:
        engine.register(name, handler)
    assert engine.job("run", "web").run() == 1

    pattern = [
        r"\+job run\(web\)",
        r"  \+job create\(web\)",
        r"    \+job image_inspect\(busybox\)",
        rf"    -job image_inspect\(busybox\) = ERR \(127\) {DURATION}: no handler for job 'image_inspect' .*",
        rf"  -job create\(web\) = OK \(0\) {DURATION}",
        r"  \+job start\(web\)",
        rf"  -job start\(web\) = ERR \(1\) {DURATION}: container is paused",
        rf"-job run\(web\) = ERR \(1\) {DURATION}: container is paused",
    ]
    assert len(log.messages) == len(pattern), log.messages
    for line, expected in zip(log.messages, pattern):
        assert re.fullmatch(expected, line), (line, expected)
    assert all(record.levelno == logging.DEBUG for record in log.records)


def test_without_debug_jobs_are_not_traced(log: Records, request: pytest.FixtureRequest) -> None:
    engine = Engine(logger=logging.getLogger(f"test.engine.{request.node.name}"), debug=False)
    engine.register("create", lambda job: None)
    engine.job("create").run()
    assert log.messages == []


def test_each_thread_starts_its_own_tree(engine: Engine, log: Records) -> None:
    def outer(job: Job) -> None:
        thread = threading.Thread(target=lambda: job.engine.job("inner").run())
        thread.start()
        thread.join()

    engine.register("outer", outer)
    engine.register("inner", lambda job: None)
    engine.job("outer").run()
    assert [m.split(" = ")[0] for m in log.messages] == ["+job outer()", "+job inner()", "-job inner()",
                                                         "-job outer()"]


# ----------------------------------------------------------------------- streams ----

def test_a_jobs_output_fans_out_to_every_destination(engine: Engine) -> None:
    def logs(job: Job) -> None:
        job.stdout.write(b"out 1\n")
        job.stderr.write(b"err 1\n")
        job.stdout.write(b"out 2\n")

    engine.register("logs", logs)
    job = engine.job("logs")
    first, second, errors = job.stdout.add_buffer(), job.stdout.add_buffer(), job.stderr.add_buffer()
    assert job.run() == 0
    assert first.getvalue() == second.getvalue() == b"out 1\nout 2\n"
    assert errors.getvalue() == b"err 1\n"


def test_a_destination_whose_reader_left_is_dropped_and_the_others_go_on() -> None:
    output = Output()
    kept = output.add_buffer()
    ours, theirs = socket.socketpair()
    output.add(ours.makefile("wb"))  # a client connection, as an HTTP stream would be
    output.write(b"first\n")
    assert theirs.recv(100) == b"first\n"
    theirs.close()  # the client goes away
    output.write(b"second\n")
    output.write(b"third\n")
    assert kept.getvalue() == b"first\nsecond\nthird\n"
    assert output.destinations == 1
    assert [type(error) for error in output.errors] == [BrokenPipeError]
    assert output.error is output.errors[0]
    ours.close()


def test_writes_from_two_threads_do_not_interleave() -> None:
    output = Output()
    buffer = output.add_buffer()
    records = {name: name.encode() * 64 for name in ("a", "b")}

    def writer(name: str) -> None:
        for _ in range(500):
            output.write(records[name])

    threads = [threading.Thread(target=writer, args=(name,)) for name in records]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    data = buffer.getvalue()
    chunks = [data[i:i + 64] for i in range(0, len(data), 64)]
    assert len(chunks) == 1000 and set(chunks) == set(records.values())


def test_close_closes_what_was_added_but_buffers_stay_readable() -> None:
    output = Output()
    buffer = output.add_buffer()
    ours, theirs = socket.socketpair()
    output.add(ours.makefile("wb"))
    output.write(b"bye\n")
    output.close()
    output.close()  # twice is fine
    assert buffer.getvalue() == b"bye\n"
    assert theirs.recv(100) == b"bye\n"
    with pytest.raises(ValueError, match="closed job output"):
        output.write(b"more")
    theirs.close()
    ours.close()


def test_stdin_reads_bytes_sockets_files_or_nothing(engine: Engine, tmp_path) -> None:  # noqa: ANN001
    assert Input().read() == b"" and Input().readline() == b""
    assert Input(b"line 1\nline 2\n").readline() == b"line 1\n"

    ours, theirs = socket.socketpair()
    stdin = Input(theirs)
    ours.sendall(b"typed\nmore")
    assert stdin.readline() == b"typed\n"
    assert stdin.read1(100) == b"more"
    ours.close()
    assert stdin.read() == b""  # the client half-closed: end of file
    stdin.close()
    theirs.close()

    path = tmp_path / "input"
    path.write_bytes(b"from a file")
    job = engine.job("cat")
    with path.open("rb") as file:
        job.stdin.set_reader(file)
        assert job.stdin.read() == b"from a file"
    with pytest.raises(TypeError, match="must be readable"):
        Input("text")  # type: ignore[arg-type]
