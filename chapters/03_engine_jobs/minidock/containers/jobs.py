"""The container jobs: what the engine runs when a request names `create`, `start`, `logs` ...

Docker 1.5's daemon installed itself on the engine with a table,

    for name, method := range map[string]engine.Handler{
        "create": daemon.ContainerCreate, "start": daemon.ContainerStart, ...
    } { eng.Register(name, method) }

and each handler was a thin function from a job to the daemon: read the
arguments and the environment, call the daemon, print the result on the
job's stdout. This module is that table and those functions. A handler here
knows nothing of HTTP: its input is `job.args` (the container, as the user
named it) and `job.env` (the query parameters and the request body, typed),
its output is `job.stdout` / `job.stderr`, and its failure is a typed
exception (`NotFound`, `Conflict` ...) that the engine keeps in `job.error`.
So the same job serves the API (api.py wires a response to its stdout), a
test, or another job.

The conventions, one per kind of job:

* a job that answers with a document prints it as one JSON value on stdout
  (`containers`, `container_inspect`, `create`, `top`, `exec_inspect`, `wait`);
* a job that streams prints as it goes: `events` one JSON object per line;
  `logs`, `attach` and `exec_start` print the container's stdout on the job's
  stdout and its stderr on the job's stderr, like a process would. Framing
  (8-byte headers when there is no TTY) is the HTTP layer's business, as it
  was in Docker: the job does not know who reads;
* `attach` and `exec_start` read the container's input from `job.stdin`;
  its end (the client's half-close) is the end of the container's input;
* a job that blocks on the outside world (`wait`, `events`, `logs -f`,
  `attach`) stops early when its caller hangs up (`hangup_of`), and a job
  that streams says when it is set up (`notify_ready`): api.py sends the
  HTTP head then.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from minidock.client.hijack import DEFAULT_DETACH_KEYS, DetachKeysError, EscapeProxy, parse_detach_keys
from minidock.containers.times import parse_rfc3339_nano
from minidock.server.errors import BadParameter, Conflict, NotFound, NotImplementedByChapter

if TYPE_CHECKING:
    from minidock.containers.daemon import ContainerDaemon
    from minidock.engine import Engine, Job

HANGUP_POLL = 0.2  # how often a blocked job looks whether its caller hung up (seconds)


# Config fields that are strings in Docker's schema: read as text, so that `-u 1000`
# stays the string "1000" (the env would read a text that looks like JSON as JSON).
STRING_FIELDS = frozenset({"Hostname", "Domainname", "User", "Image", "WorkingDir", "MacAddress",
                           "StopSignal", "Shell"})


def encode_json(obj: Any) -> bytes:
    """One JSON value on one line, as Go's json.Encoder writes it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


# --8<-- [start:hangup]
def hangup_of(job: Job) -> Callable[[], bool]:
    """The job's "has my reader gone?" test, for a job that may block for long.

    A process learns it the hard way: SIGPIPE on its next write. Ours does too
    (a destination that fails is dropped from the job's output), but a job
    blocked in `/wait` or in a silent `/events` writes nothing for hours, and
    Docker 1.5's jobs sat there until the container died. Go's handlers get a
    `context` that is cancelled when the client hangs up; our jobs may be
    given a `job.hangup` callable (api.py sets it to "the client closed the
    connection, or the daemon is stopping"). A job run without one hangs up
    only when every destination of its stdout is gone."""
    explicit = getattr(job, "hangup", None)

    def hung_up() -> bool:
        if job.stdout.errors and job.stdout.destinations == 0:
            return True
        return bool(explicit and explicit())

    return hung_up


def notify_ready(job: Job) -> None:
    """Tell the caller the job is set up and will now stream (systemd's `READY=1`).

    api.py sends the HTTP head at that moment: `/wait` must answer its head
    only once the wait is registered, and before the container exits."""
    on_ready = getattr(job, "on_ready", None)
    if on_ready is not None:
        on_ready()
# --8<-- [end:hangup]


def the_container(job: Job) -> str:
    """The first argument: the container as the user named it (a name, an ID, a prefix)."""
    if not job.args or not job.args[0]:
        raise BadParameter(f"job {job.name} needs a container name or ID")
    return job.args[0]


def optional_int(job: Job, key: str) -> int | None:
    """An integer the caller may leave out (`t` of stop): None when absent."""
    value = job.env.get(key)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise BadParameter(f"invalid value {value!r} for {key}: not an integer") from None


# --8<-- [start:filters]
def parse_filters(text: str | None) -> dict[str, list[str]]:
    """`filters` as clients send it: a JSON object mapping a filter to a set of values.

    The CLI sends sets as maps (`{"status":{"running":true}}`); old clients
    and docker-py send lists (`{"status":["running"]}`). Both mean
    {"status": ["running"]}. Anything else is a 400, not a silent "match all"."""
    if not text:
        return {}
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise BadParameter(f"invalid filters: {exc}") from None
    if not isinstance(raw, dict):
        raise BadParameter("invalid filters: expected a JSON object")
    filters: dict[str, list[str]] = {}
    for name, values in raw.items():
        if isinstance(values, dict):
            filters[name] = [str(value) for value, on in values.items() if on]
        elif isinstance(values, list):
            filters[name] = [str(value) for value in values]
        else:
            raise BadParameter(f"invalid filters: the values of {name!r} must be a list or a map")
    return filters
# --8<-- [end:filters]


def parse_time(value: str | None, name: str) -> float:
    """`since` / `until` as the CLI sends them: unix seconds, maybe with a fraction
    (`1700000000.123456789`). Absent or empty is 0 (no bound)."""
    if value in (None, ""):
        return 0.0
    try:
        return float(value)
    except ValueError:
        raise BadParameter(f"invalid value {value!r} for {name}: expected unix seconds") from None


class ContainerJobs:
    """The handlers of chapter 03's jobs, bound to one `ContainerDaemon`.

    Each method is `handler(job) -> int | None` as the engine wants it;
    `JOBS` below says which job name each one serves."""

    def __init__(self, daemon: ContainerDaemon) -> None:
        self.daemon = daemon

    # -- create, inspect, list ---------------------------------------------------------
    # --8<-- [start:create]
    def container_create(self, job: Job) -> None:
        """`create [NAME]`: the env is the request body, Config keys and `HostConfig` side by side."""
        config = {key: job.env.get(key) if key in STRING_FIELDS else job.env.get_json(key)
                  for key in job.env.keys() if key not in ("HostConfig", "NetworkingConfig")}
        host_config = job.env.get_json("HostConfig") or {}
        if not isinstance(host_config, dict):
            raise BadParameter("HostConfig must be a JSON object")
        name = job.args[0] if job.args and job.args[0] else None
        container, warnings = self.daemon.create(config, host_config, name)
        job.stdout.write(encode_json({"Id": container.id, "Warnings": warnings}))
    # --8<-- [end:create]

    def container_inspect(self, job: Job) -> None:
        """`container_inspect NAME`: the document `docker inspect` prints."""
        document = self.daemon.inspect(the_container(job))
        if job.env.get_bool("size"):
            document.setdefault("SizeRw", 0)  # no rootfs, no layer to measure until chapter 06
            document.setdefault("SizeRootFs", 0)
        job.stdout.write(encode_json(document))

    def containers(self, job: Job) -> None:
        """`containers`: `docker ps` - the summaries of the chosen containers, newest first."""
        limit = optional_int(job, "limit")
        filters = parse_filters(job.env.get("filters"))
        size = job.env.get_bool("size")
        chosen = self.daemon.list(all=job.env.get_bool("all"), filters=filters,
                                  limit=-1 if limit is None else limit, size=size)
        job.stdout.write(encode_json([self.daemon.summary(container, size) for container in chosen]))

    # -- the lifecycle -----------------------------------------------------------------
    def container_start(self, job: Job) -> None:
        self.daemon.start(the_container(job))

    def container_stop(self, job: Job) -> None:
        self.daemon.stop(the_container(job), timeout=optional_int(job, "t"), signal=job.env.get("signal") or None)

    def container_restart(self, job: Job) -> None:
        self.daemon.restart(the_container(job), timeout=optional_int(job, "t"))

    def container_kill(self, job: Job) -> None:
        """`kill NAME` with env `signal`: a name with or without SIG (`HUP`, `SIGHUP`) or a
        number; the daemon reads it (an unknown one is a 400)."""
        self.daemon.kill(the_container(job), signal=job.env.get("signal") or "KILL")

    def container_pause(self, job: Job) -> None:
        self.daemon.pause(the_container(job))

    def container_unpause(self, job: Job) -> None:
        self.daemon.unpause(the_container(job))

    def container_rm(self, job: Job) -> None:
        """`rm NAME` with env `force`, `removeVolume`, `removeLink` (the API's `force`, `v`, `link`)."""
        ref = the_container(job)
        if job.env.get_bool("removeLink"):
            remove_link(ref)
        self.daemon.remove(ref, force=job.env.get_bool("force"), volumes=job.env.get_bool("removeVolume"))

    def container_rename(self, job: Job) -> None:
        """`rename OLD NEW`."""
        if len(job.args) != 2 or not job.args[0] or not job.args[1]:
            raise BadParameter("Neither old nor new names may be empty")
        self.daemon.rename(job.args[0], job.args[1])

    def container_resize(self, job: Job) -> None:
        self.daemon.resize(the_container(job), job.env.get_int("h"), job.env.get_int("w"))

    def container_top(self, job: Job) -> None:
        job.stdout.write(encode_json(self.daemon.top(the_container(job), job.env.get("ps_args") or "")))

    # --8<-- [start:wait]
    def container_wait(self, job: Job) -> None:
        """`wait NAME` with env `condition`: print `{"StatusCode": N, "Error": null}` once
        the container meets it (not-running, next-exit, removed).

        The daemon's `wait()` hooks the container's next exit before it
        returns; only then does the job say it is ready (api.py sends the HTTP
        head at that moment, and `docker run` sends `/start` when it has it).
        If the caller hangs up first, the job ends with dockerd's answer for
        that case, `-1` and "context canceled"."""
        condition = job.env.get("condition") or "not-running"
        if condition not in ("not-running", "next-exit", "removed"):
            raise BadParameter(f"invalid condition: {condition!r} (use not-running, next-exit or removed)")
        handle = self.daemon.wait(the_container(job), condition=condition)
        notify_ready(job)
        hung_up = hangup_of(job)
        result = {"StatusCode": -1, "Error": {"Message": "context canceled"}}
        while not hung_up():
            try:
                result = handle.result(timeout=HANGUP_POLL)
                break
            except TimeoutError:
                continue
        else:
            handle.cancel()  # the client left: nobody waits any more
        job.stdout.write(encode_json(result))
    # --8<-- [end:wait]

    # -- output, input, events ---------------------------------------------------------
    # --8<-- [start:logs]
    def container_logs(self, job: Job) -> None:
        """`logs NAME`: the container's log, its stdout lines on the job's stdout and its
        stderr lines on the job's stderr. Env: `stdout`, `stderr`, `follow`, `tail`
        (`all` or N), `since`, `until` (unix seconds), `timestamps`."""
        want_out, want_err = job.env.get_bool("stdout"), job.env.get_bool("stderr")
        if not (want_out or want_err):
            raise BadParameter("Bad parameters: you must choose at least one stream")
        tail_text = job.env.get("tail") or "all"
        if tail_text == "all":
            tail = None
        else:
            try:
                tail = int(tail_text)
            except ValueError:
                raise BadParameter(f"invalid value {tail_text!r} for tail: use 'all' or a number") from None
            tail = None if tail < 0 else tail
        entries = self.daemon.logs(
            the_container(job), stdout=want_out, stderr=want_err, follow=job.env.get_bool("follow"),
            tail=tail, since=parse_time(job.env.get("since"), "since"),
            until=parse_time(job.env.get("until"), "until"), timestamps=job.env.get_bool("timestamps"))
        notify_ready(job)
        copy_output(job, entries, entries.close)
    # --8<-- [end:logs]

    # --8<-- [start:attach]
    def container_attach(self, job: Job) -> None:
        """`attach NAME`: the container's output on the job's stdout/stderr until it ends,
        and the job's stdin (if `stdin`) into the container. Env: `logs`, `stream`,
        `stdin`, `stdout`, `stderr`, `detachKeys`."""
        keys = detach_keys(job.env.get("detachKeys"))
        attachment = self.daemon.attach(
            the_container(job), stdin=job.env.get_bool("stdin"), stdout=job.env.get_bool("stdout"),
            stderr=job.env.get_bool("stderr"), logs=job.env.get_bool("logs"), stream=job.env.get_bool("stream"))
        pump_attachment(job, attachment, keys)
    # --8<-- [end:attach]

    # --8<-- [start:events]
    def container_events(self, job: Job) -> None:
        """`events`: one JSON object per line - the past from `since`, then live ones,
        until `until` passes or the reader hangs up. Env: `since`, `until`, `filters`."""
        since = parse_time(job.env.get("since"), "since")
        until = parse_time(job.env.get("until"), "until")
        hung_up = hangup_of(job)
        with self.daemon.events.subscribe(since or None, until or None,
                                          parse_filters(job.env.get("filters"))) as subscription:
            notify_ready(job)
            while not hung_up():
                try:
                    event = subscription.get(timeout=HANGUP_POLL)
                except StopIteration:  # `until` has passed, or the daemon is stopping
                    return
                if event is not None:
                    job.stdout.write(encode_json(event))
    # --8<-- [end:events]

    # -- exec --------------------------------------------------------------------------
    def exec_create(self, job: Job) -> None:
        """`exec_create NAME`: the env is the exec config (`Cmd`, `Tty`, `AttachStdin` ...)."""
        config = {key: job.env.get(key) if key in ("User", "WorkingDir", "DetachKeys") else job.env.get_json(key)
                  for key in job.env.keys()}
        cmd = config.get("Cmd")
        if not cmd or not isinstance(cmd, list) or not all(isinstance(arg, str) for arg in cmd):
            raise BadParameter("No exec command specified")
        if config.get("DetachKeys"):
            detach_keys(config["DetachKeys"])  # refused now rather than at start
        exec_id = self.daemon.exec_create(the_container(job), config)
        job.stdout.write(encode_json({"Id": exec_id}))

    def exec_start(self, job: Job) -> None:
        """`exec_start EXECID` with env `Detach`, `Tty`: run the exec; attached, pump it like attach."""
        exec_id = the_container(job)
        detach = job.env.get_bool("Detach")
        attachment = self.daemon.exec_start(exec_id, detach=detach, tty=job.env.get_bool("Tty"))
        if detach or attachment is None:
            return
        keys = detach_keys(self.daemon.exec_inspect(exec_id).get("DetachKeys") or None)
        pump_attachment(job, attachment, keys)

    def exec_resize(self, job: Job) -> None:
        self.daemon.exec_resize(the_container(job), job.env.get_int("h"), job.env.get_int("w"))

    def exec_inspect(self, job: Job) -> None:
        job.stdout.write(encode_json(self.daemon.exec_inspect(the_container(job))))

    # -- the rest of chapter 03's jobs ---------------------------------------------------
    def containers_prune(self, job: Job) -> None:
        """`containers_prune`: remove every stopped container (`label` / `until` filters honoured)."""
        filters = parse_filters(job.env.get("filters"))
        unknown = set(filters) - {"label", "label!", "until"}
        if unknown:
            raise BadParameter(f"Invalid filter '{sorted(unknown)[0]}'")
        until = parse_time(filters["until"][0], "until") if filters.get("until") else 0.0
        deleted = []
        for container in self.daemon.list(all=True, filters={"label": filters.get("label", [])}
                                          if filters.get("label") else None):
            document = self.daemon.inspect(container.id)
            state = document["State"]
            if state["Running"] or state["Paused"] or state["Restarting"]:
                continue
            labels = (document.get("Config") or {}).get("Labels") or {}
            if any(label_matches(labels, spec) for spec in filters.get("label!", [])):
                continue
            if until and created_at(document) >= until:
                continue
            try:
                self.daemon.remove(container.id)
            except (Conflict, NotFound):
                continue  # started or removed meanwhile
            deleted.append(container.id)
        job.stdout.write(encode_json({"ContainersDeleted": deleted or None, "SpaceReclaimed": 0}))

    def container_update(self, job: Job) -> None:
        """`update NAME`: only a new restart policy means something without cgroups (chapter 07)."""
        ref = the_container(job)
        changes = {key: job.env.get_json(key) for key in job.env.keys()}
        resources = {key: value for key, value in changes.items()
                     if key != "RestartPolicy" and value not in (None, 0, "", [], {})}
        if resources:
            raise NotImplementedByChapter(
                f"cannot update {', '.join(sorted(resources))}: resource limits need cgroups, "
                "which chapter 07 (libcontainer) brings")
        update = getattr(self.daemon, "update", None)
        if update is None:
            raise NotImplementedByChapter("updating a container is not implemented by this chapter's daemon")
        warnings = update(ref, {"RestartPolicy": changes["RestartPolicy"]} if "RestartPolicy" in changes else {})
        job.stdout.write(encode_json({"Warnings": warnings or []}))

    def container_stats(self, job: Job) -> None:
        """`container_stats NAME` with env `stream`: what /proc says of the container's
        process - once, or once a second while it runs. No cgroup counts a
        container's resources before chapter 07, so these are one process's."""
        ref = the_container(job)
        hung_up = hangup_of(job)
        previous = None
        if not job.env.get_bool("stream"):
            previous = host_stats(self.daemon.inspect(ref), None)
            time.sleep(STATS_INTERVAL / 4)  # dockerd samples twice, so that precpu is filled
        notify_ready(job)
        while True:
            document = self.daemon.inspect(ref)
            sample = host_stats(document, previous)
            job.stdout.write(encode_json(sample))
            if not job.env.get_bool("stream") or not document["State"]["Running"]:
                return
            previous = sample
            deadline = time.monotonic() + STATS_INTERVAL
            while time.monotonic() < deadline:
                if hung_up():
                    return
                time.sleep(min(HANGUP_POLL, max(deadline - time.monotonic(), 0.0)))


# --8<-- [start:jobs]
# Job name (chapter 02's routes.py) -> the ContainerJobs method that serves it.
JOBS: dict[str, str] = {
    "create": "container_create",
    "container_inspect": "container_inspect",
    "containers": "containers",
    "start": "container_start",
    "stop": "container_stop",
    "restart": "container_restart",
    "kill": "container_kill",
    "pause": "container_pause",
    "unpause": "container_unpause",
    "rm": "container_rm",
    "rename": "container_rename",
    "resize": "container_resize",
    "top": "container_top",
    "wait": "container_wait",
    "logs": "container_logs",
    "attach": "container_attach",
    "events": "container_events",
    "exec_create": "exec_create",
    "exec_start": "exec_start",
    "exec_resize": "exec_resize",
    "exec_inspect": "exec_inspect",
    "containers_prune": "containers_prune",
    "container_update": "container_update",
    "container_stats": "container_stats",
}


def install(engine: Engine, daemon: ContainerDaemon) -> ContainerJobs:
    """Register every container job on the engine (a name taken twice is an error)."""
    jobs = ContainerJobs(daemon)
    for name, method in JOBS.items():
        engine.register(name, getattr(jobs, method))
    return jobs
# --8<-- [end:jobs]


# -- helpers the handlers share -----------------------------------------------------------
def remove_link(ref: str) -> None:
    """`rm --link /web/db` removes a link, not a container. Links come with names
    in chapter 05's GraphDB; until then there are none to remove."""
    parent, _, _ = ref.rstrip("/").rpartition("/")
    if parent in ("", "/"):
        raise Conflict("Conflict, cannot remove the default link name of the container")
    raise NotFound(f"Could not find entity for {ref}")


# --8<-- [start:host_stats]
STATS_INTERVAL = 1.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def host_stats(document: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """`docker stats` for a host process, from /proc (docker-api.md §6.7 lists what the
    CLI reads). CPU is the process's utime+stime against the machine's total
    (`/proc/stat`), memory its resident set against the machine's RAM."""
    from minidock.containers.times import now_ns, rfc3339_nano

    pid = document["State"]["Pid"] if document["State"]["Running"] else 0
    cpu_ns = rss = threads = read_bytes = write_bytes = 0
    if pid:
        try:
            fields = read_text(f"/proc/{pid}/stat").rpartition(")")[2].split()
            cpu_ns = (int(fields[11]) + int(fields[12])) * 1_000_000_000 // CLOCK_TICKS  # utime + stime
            threads = int(fields[17])
            rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
            io = dict(line.split(": ") for line in read_text(f"/proc/{pid}/io").splitlines() if ": " in line)
            read_bytes, write_bytes = int(io.get("read_bytes", 0)), int(io.get("write_bytes", 0))
        except (OSError, ValueError, IndexError):
            pass  # it exited meanwhile, or /proc/PID/io is not ours to read
    system_ns = sum(int(v) for v in read_text("/proc/stat").split("\n", 1)[0].split()[1:]) \
        * 1_000_000_000 // CLOCK_TICKS
    cpus = len(os.sched_getaffinity(0))
    mem_total = int(read_text("/proc/meminfo").split("\n", 1)[0].split()[1]) * 1024
    cpu = {"cpu_usage": {"total_usage": cpu_ns, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
           "system_cpu_usage": system_ns, "online_cpus": cpus,
           "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
    empty_cpu = {"cpu_usage": {"total_usage": 0}, "throttling_data": {}}
    return {
        "read": rfc3339_nano(now_ns()),
        "preread": previous["read"] if previous else "0001-01-01T00:00:00Z",
        "id": document["Id"], "name": document["Name"],
        "pids_stats": {"current": threads} if pid else {},
        "cpu_stats": cpu if pid else empty_cpu,
        "precpu_stats": previous["cpu_stats"] if previous else empty_cpu,
        "memory_stats": {"usage": rss, "limit": mem_total, "stats": {"inactive_file": 0}} if pid else {},
        "blkio_stats": {"io_service_bytes_recursive": [{"major": 0, "minor": 0, "op": "Read", "value": read_bytes},
                                                       {"major": 0, "minor": 0, "op": "Write", "value": write_bytes}]
                        if pid else None},
        "networks": {},  # the host's network: nothing is the container's own before chapter 06
        "num_procs": 0, "storage_stats": {},
    }
# --8<-- [end:host_stats]


def read_text(path: str) -> str:
    with open(path, encoding="ascii", errors="replace") as file:
        return file.read()


def label_matches(labels: dict[str, str], spec: str) -> bool:
    key, eq, value = spec.partition("=")
    return key in labels and (not eq or labels[key] == value)


def created_at(document: dict[str, Any]) -> float:
    """Unix seconds of an inspect document's RFC 3339 `Created`."""
    try:
        return parse_rfc3339_nano(document.get("Created") or "") / 1e9
    except ValueError:
        return 0.0


def detach_keys(spec: str | None) -> bytes:
    """The detach sequence (default ctrl-p,ctrl-q); a bad spec is a 400 with docker's wording."""
    try:
        return parse_detach_keys(spec or DEFAULT_DETACH_KEYS)
    except DetachKeysError as exc:
        raise BadParameter(str(exc)) from None


def with_hangup(source: Iterable[Any], hung_up: Callable[[], bool]) -> Iterator[Any]:
    """Items of a blocking iterator, until it ends or the caller hangs up.

    The iterator is drained by a helper thread into a queue, so the job can
    look at `hung_up()` between two items however long the source is silent.
    (A thread blocked in the source's `next()` ends with the source: the
    daemon's event bus and logs end at shutdown, and when the container stops.)"""
    import queue

    items: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1024)
    stop = threading.Event()

    def drain() -> None:
        try:
            for item in source:
                while not stop.is_set():
                    try:
                        items.put(("item", item), timeout=HANGUP_POLL)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as exc:  # noqa: BLE001 - handed over to the job's thread
            items.put(("error", exc))
            return
        items.put(("end", None))

    threading.Thread(target=drain, name="job-source", daemon=True).start()
    try:
        while True:
            try:
                kind, value = items.get(timeout=HANGUP_POLL)
            except queue.Empty:
                if hung_up():
                    return
                continue
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()


def copy_output(job: Job, entries: Iterable[tuple[str, bytes]], close: Callable[[], None]) -> None:
    """(stream, bytes) pairs from the daemon -> the job's stdout and stderr, until they
    end or the reader hangs up; then `close` the source (a `logs -f` ends, an attachment detaches)."""
    try:
        for stream, data in with_hangup(entries, hangup_of(job)):
            (job.stderr if stream == "stderr" else job.stdout).write(data)
    finally:
        close()


# --8<-- [start:pump]
def pump_attachment(job: Job, attachment: Any, keys: bytes) -> None:
    """Connect an attachment to the job's streams until the container's output ends.

    Input runs in a second thread: the job's stdin into the container, watched
    for the detach keys (they end the attachment and leave the container
    running); the end of the job's stdin is the end of the container's input
    (the client's half-close). Output runs here, and ends when the container's
    output does, when the user detaches, or when the reader goes away."""
    stdin = attachment.stdin_writer
    if stdin is not None:
        threading.Thread(target=copy_input, args=(job, attachment, EscapeProxy(keys)),
                         name=f"{job.name}-stdin", daemon=True).start()
    copy_output(job, attachment.output(), attachment.close)


def copy_input(job: Job, attachment: Any, proxy: EscapeProxy) -> None:
    stdin = attachment.stdin_writer
    try:
        while data := read_some(job.stdin):
            forward, detached = proxy.feed(data)
            if forward:
                stdin.write(forward)
                flush = getattr(stdin, "flush", None)
                if flush is not None:
                    flush()
            if detached:
                attachment.close()  # ends output() in the job's thread; the container runs on
                return
    except (OSError, ValueError):
        return  # the container's input is closed (it exited), or the connection broke
    try:
        stdin.close()
    except (OSError, ValueError):
        pass
# --8<-- [end:pump]


def read_some(stream: Any, size: int = 32 * 1024) -> bytes:
    """What the stream has now (at least one byte), or b"" at its end."""
    read1 = getattr(stream, "read1", None)
    if read1 is not None:
        return read1(size)
    return stream.read(size)


__all__ = ["ContainerJobs", "JOBS", "install", "parse_filters"]
