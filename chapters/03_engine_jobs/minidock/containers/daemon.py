"""`ContainerDaemon`: the container half of Docker's `daemon.Daemon`.

Docker 1.x's Daemon object held the containers and did everything to them:
`daemon.Create`, `container.Start`, `daemon.Destroy` ... and installed each
operation as an engine job (`eng.Register("create", daemon.ContainerCreate)`).
Here the operations are plain methods, and chapter 03's `jobs.py` wraps
them as jobs, so this class can be read (and tested) without HTTP or jobs:

* the records: a dict of `Container`s, a `NameIndex`, the on-disk
  `ContainerStore`, loaded at start-up;
* the processes: an execution driver (`execdriver`, `host` in this chapter)
  and one `ContainerMonitor` thread per running container;
* what clients watch: `State.wait`, attachments (`streams.py`), the
  json-file log, and the `EventBus`.

Locking: `self._lock` guards the dict of containers and execs; each
container's own lock (`container.lock`, its State's) guards its record.
Nothing waits for a process while holding a lock: `stop` signals under the
lock and waits on the state's condition, which releases it.
"""

from __future__ import annotations

import json
import logging
import re
import shlex
import signal as signals
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import minidock.containers.execdriver.host  # noqa: F401 - registers the `host` driver
from minidock.containers.container import Container, build_config, build_host_config, new_id
from minidock.containers.events import EventBus
from minidock.containers.execdriver import Pipes, ProcessConfig, StartedProcess, StartError, new_driver
from minidock.containers.execs import ExecConfig
from minidock.containers.jsonfile import JSONFileLog, LogStream
from minidock.containers.monitor import ContainerMonitor
from minidock.containers.names import NameIndex, validate_name
from minidock.containers.restart import RestartManager, RestartPolicy
from minidock.containers.state import NOT_RUNNING, WaitHandle
from minidock.containers.store import ContainerStore
from minidock.containers.streams import Attachment, ContainerStreams
from minidock.containers.times import rfc3339_nano, rfc3339_nano_fixed, seconds_to_ns
from minidock.server.errors import (
    BadParameter,
    Conflict,
    InternalError,
    JobNotInstalled,
    NotFound,
    NotImplementedByChapter,
    NotModified,
)

DEFAULT_STOP_TIMEOUT = 10
STATUS_VALUES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")
PS_FILTERS = frozenset({"ancestor", "before", "expose", "exited", "health", "id", "isolation", "is-task",
                        "label", "name", "network", "publish", "since", "status", "volume"})
# Signals that do not end a process by default: sending one is not a "manual stop".
NON_TERMINATING = frozenset({signals.SIGWINCH, signals.SIGCHLD, signals.SIGURG, signals.SIGCONT,
                             signals.SIGSTOP, signals.SIGTSTP, signals.SIGTTIN, signals.SIGTTOU})
DIED_WITH_DAEMON = "process gone with the previous daemon (minidockd stopped while it ran)"


def parse_signal(text: str | int | None, default: int = signals.SIGKILL) -> int:
    """`KILL`, `SIGKILL`, `sigkill` or `9` (Docker's signal.ParseSignal); BadParameter otherwise."""
    if text in (None, ""):
        return default
    raw = str(text)
    if raw.isdigit():
        number = int(raw)
        if number <= 0 or number >= signals.SIGRTMAX:
            raise BadParameter(f"Invalid signal: {raw}")
        return number
    name = raw.upper()
    name = name if name.startswith("SIG") else "SIG" + name
    try:
        return int(signals.Signals[name])
    except KeyError:
        raise BadParameter(f"Invalid signal: {raw}") from None


class ContainerDaemon:
    """Containers: create, start, stop, kill, pause, remove, wait, attach, logs, exec, events."""

    def __init__(self, root: Path | str, exec_root: Path | str, engine: Any, logger: logging.Logger | None = None,
                 driver_name: str = "host") -> None:
        self.root = Path(root)
        self.exec_root = Path(exec_root)
        self.engine = engine
        self.logger = logger or logging.getLogger("minidockd")
        self.store = ContainerStore(self.root, self.logger)
        self.driver = new_driver(driver_name, exec_root=self.exec_root, logger=self.logger)
        self.events = EventBus(logger=self.logger)
        self.names = NameIndex()
        self._lock = threading.RLock()
        self._containers: dict[str, Container] = {}
        self._execs: dict[str, ExecConfig] = {}
        self.shutting_down = False
        self._restore()

    # ================================================================ records
    # --8<-- [start:restore]
    def _restore(self) -> None:
        """Load every record under the root. A container whose process was running when
        the previous daemon stopped is marked exited (255): that process is gone, and its
        pid is *not* signalled - by now it may belong to someone else."""
        restart_now = []
        for record, host_config in self.store.load_all():
            try:
                container = Container.from_record(record, host_config)
                self.names.reserve(container.name, container.id)
            except (KeyError, ValueError, Conflict, BadParameter) as exc:
                self.logger.error("containers: cannot restore %s: %s", record.get("ID"), exc)
                continue
            state = container.state
            was_running = state.running
            if was_running:
                state.set_stopped(255, DIED_WITH_DAEMON)
                self.logger.warning("container %s: %s", container.id[:12], DIED_WITH_DAEMON)
            container.log_path = str(self.store.log_path(container.id))
            self._attach_streams(container)
            with self._lock:
                self._containers[container.id] = container
            if state.removal_in_progress or (was_running and container.host_config.get("AutoRemove")):
                state.reset_removal_in_progress()
                self.logger.info("container %s: finishing its removal", container.id[:12])
                self._auto_remove(container)
                continue
            self._save(container)
            policy = RestartPolicy.parse(container.host_config.get("RestartPolicy"))
            if policy.name == "always" or (policy.name == "unless-stopped" and not container.has_been_manually_stopped):
                restart_now.append(container)
        for container in restart_now:  # as dockerd does at boot, in the background
            threading.Thread(target=self._restart_at_boot, args=(container,), daemon=True,
                             name=f"boot-{container.id[:12]}").start()
    # --8<-- [end:restore]

    def _restart_at_boot(self, container: Container) -> None:
        try:
            self.start(container.id)
        except Exception as exc:  # noqa: BLE001 - logged; the daemon serves on
            self.logger.error("container %s: restart at daemon start failed: %s", container.id[:12], exc)

    def _attach_streams(self, container: Container) -> None:
        container.streams = ContainerStreams(
            JSONFileLog(Path(container.log_path)), open_stdin=bool(container.config.get("OpenStdin")),
            stdin_once=bool(container.config.get("StdinOnce")), tty=bool(container.config.get("Tty")),
            name=container.id[:12])

    def _save(self, container: Container) -> None:
        """Write the record (the caller holds the container's lock, or owns it alone)."""
        if container.state.removed:
            return
        try:
            self.store.save(container.id, container.to_record(), container.host_config)
        except FileNotFoundError:
            pass  # its directory is gone: it is being removed

    def _publish(self, container: Container, action: str, **extra: str) -> None:
        self.events.publish("container", action, container.id, container.event_attributes(**extra),
                            origin=container.image)

    # --8<-- [start:get]
    def get(self, ref: str) -> Container:
        """By full ID, by name (`web` or `/web`), or by a unique ID prefix - Docker's order."""
        with self._lock:
            if ref in self._containers:
                return self._containers[ref]
            if ref:
                owner = self.names.get(ref)
                if owner is not None and owner in self._containers:
                    return self._containers[owner]
            if ref and re.fullmatch(r"[0-9a-f]+", ref):
                found = [c for c in self._containers.values() if c.id.startswith(ref)]
                if len(found) == 1:
                    return found[0]
                if len(found) > 1:
                    raise BadParameter(f"multiple IDs found with provided prefix: {ref}")
        raise NotFound(f"No such container: {ref}")
    # --8<-- [end:get]

    def containers(self) -> list[Container]:
        with self._lock:
            return list(self._containers.values())

    # ================================================================ create
    # --8<-- [start:create]
    def create(self, config: dict[str, Any], host_config: dict[str, Any] | None = None,
               name: str | None = None) -> tuple[Container, list[str]]:
        """Check the request, look the image up (a job), reserve the name, write the record.
        Nothing is left behind if any step fails."""
        if not isinstance(config, dict):
            raise BadParameter("Config cannot be empty in order to create a container")
        host_config = build_host_config(host_config if host_config is not None else config.get("HostConfig"))
        policy = RestartPolicy.parse(host_config.get("RestartPolicy"))
        if host_config.get("AutoRemove") and not policy.is_none():
            raise BadParameter("Conflicting options: AutoRemove and RestartPolicy")
        host_config["RestartPolicy"] = policy.to_dict()
        if name:
            validate_name(name)
        self._refuse_ports(host_config)
        warnings: list[str] = []
        image = config.get("Image") or ""
        image_config, image_id = self._image_config(image, warnings)
        container_id = new_id()
        full_config = build_config(config, image_config, container_id)
        full_name = self.names.reserve(name, container_id) if name else self.names.reserve_generated(container_id)
        try:
            self.store.create(container_id)
            container = Container.new(container_id, full_name, full_config, host_config, image_id,
                                      self.driver.name, str(self.store.log_path(container_id)))
            container.restart_manager = RestartManager(policy)
            self._attach_streams(container)
            self._save(container)
        except BaseException:
            self.names.release(full_name)
            self.store.delete(container_id)
            raise
        with self._lock:
            self._containers[container_id] = container
        if host_config.get("Binds") or host_config.get("Mounts"):
            warnings.append("bind mounts and volumes are ignored: volumes arrive with chapter 06 (drivers)")
        self._publish(container, "create")
        return container, warnings
    # --8<-- [end:create]

    def _image_config(self, image: str, warnings: list[str]) -> tuple[dict[str, Any], str]:
        """Ask the `image_inspect` job for the image's config. Absent (chapters before 05):
        record the name as given, and say so in a warning."""
        if not image:
            return {}, ""
        job = self.engine.job("image_inspect", image)
        output = job.stdout.add_buffer()
        status = job.run()
        if isinstance(job.error, JobNotInstalled) or status == 127:
            who = "nobody" if getattr(self.driver, "as_root", True) else "of the daemon"
            warnings.append(f"image '{image}' was not checked: images arrive with chapter 05 (graph); until "
                            f"chapter 06 gives containers a rootfs, the command runs on the host as user {who}")
            return {}, ""
        if status != 0:
            raise job.error if job.error is not None else InternalError(f"image_inspect {image} failed")
        try:
            document = json.loads(output.getvalue() or b"{}")
        except ValueError as exc:
            raise InternalError(f"image_inspect {image}: bad answer: {exc}") from None
        return dict(document.get("Config") or {}), str(document.get("Id") or "")

    def _refuse_ports(self, host_config: dict[str, Any]) -> None:
        """Publishing ports needs the network driver (chapter 06): say so instead of ignoring `-p`."""
        bindings = host_config.get("PortBindings") or {}
        if (any(bindings.values()) or host_config.get("PublishAllPorts")) and not self.engine.has("allocate_port"):
            raise NotImplementedByChapter(
                "cannot publish ports: no handler for job 'allocate_port' in this chapter: "
                "chapter 06 (drivers) installs it")

    # ================================================================ start and the process
    def process_config(self, container: Container) -> ProcessConfig:
        config = container.config
        return ProcessConfig(
            argv=[container.path, *container.args], env=container.daemon_environment(),
            working_dir=config.get("WorkingDir") or "", user=config.get("User") or "",
            tty=bool(config.get("Tty")), open_stdin=bool(config.get("OpenStdin")),
            console_size=container.tty_size, hostname=config.get("Hostname") or "")

    # --8<-- [start:start]
    def start(self, ref: str) -> None:
        container = self.get(ref)
        with container.lock:
            state = container.state
            if state.removal_in_progress or state.dead or state.removed:
                raise Conflict("container is marked for removal and cannot be started")
            if state.paused:
                raise Conflict("cannot start a paused container, try unpause instead")
            if state.running or container.starting or container.monitor is not None:
                raise NotModified("Container already started")
            if self.shutting_down:
                raise Conflict("the daemon is shutting down")
            container.starting = True
            container.has_been_manually_stopped = False
            container.restart_count = 0  # a manual start resets the policy's count (moby does)
            container.restart_manager = RestartManager(RestartPolicy.parse(container.host_config.get("RestartPolicy")))
        try:
            ContainerMonitor(self, container).start()
        except StartError as exc:
            raise BadParameter(exc.message) from None  # the CLI maps the words to 127 / 126
        finally:
            with container.lock:
                container.starting = False
    # --8<-- [end:start]

    # ================================================================ stop, kill, restart
    # --8<-- [start:stop]
    def stop(self, ref: str, timeout: int | None = None, signal: str | None = None) -> None:
        """The stop signal (Config.StopSignal, default SIGTERM), then SIGKILL after `timeout`
        seconds (Config.StopTimeout, default 10; -1 waits for ever). A manual stop: no restart."""
        container = self.get(ref)
        with container.lock:
            if not container.state.running:
                raise NotModified("Container already stopped")
            container.has_been_manually_stopped = True
            self._save(container)
        self._stop(container, timeout, signal)
        self._publish(container, "stop")

    def _stop(self, container: Container, timeout: int | None, signal: str | None = None) -> None:
        config = container.config
        sig = parse_signal(signal or config.get("StopSignal"), default=signals.SIGTERM)
        if timeout is None:
            timeout = config.get("StopTimeout")
            timeout = DEFAULT_STOP_TIMEOUT if timeout is None else int(timeout)
        with container.lock:
            if container.restart_manager is not None:
                container.restart_manager.cancel()
            if container.state.restarting or not container.state.running:
                pass  # no process: the cancelled manager ends the restart loop
            else:
                self._signal(container, sig)
        if not container.state.wait_until_stopped(None if timeout < 0 else timeout):
            self.logger.info("container %s: did not stop within %ds: killing it", container.id[:12], timeout)
            with container.lock:
                if container.state.running and not container.state.restarting:
                    self._signal(container, signals.SIGKILL)
            container.state.wait_until_stopped(None)
    # --8<-- [end:stop]

    def _signal(self, container: Container, sig: int) -> None:
        """Send `sig` to the running process (the caller holds the lock); a paused process
        is let go on when the signal should end it (a stopped process cannot act on TERM)."""
        self._publish(container, "kill", signal=str(sig))
        self.driver.kill(container.state.pid, sig)
        if container.state.paused and sig not in NON_TERMINATING:
            self.driver.unpause(container.id)
            container.state.set_paused(False)

    def kill(self, ref: str, signal: str | None = "KILL") -> None:
        container = self.get(ref)
        sig = parse_signal(signal, default=signals.SIGKILL)
        with container.lock:
            if not container.state.running:
                raise Conflict(f"Cannot kill container: {ref}: Container {container.id} is not running")
            if sig not in NON_TERMINATING:
                container.has_been_manually_stopped = True
                if container.restart_manager is not None:
                    container.restart_manager.cancel()
                self._save(container)
            if container.state.restarting:
                self._publish(container, "kill", signal=str(sig))
                return  # no process: the cancelled manager ends the loop
            self._signal(container, sig)
        if sig == signals.SIGKILL:
            container.state.wait_until_stopped(None)

    def restart(self, ref: str, timeout: int | None = None) -> None:
        container = self.get(ref)
        if container.state.running:
            with container.lock:
                container.has_been_manually_stopped = True
            self._stop(container, timeout)
        self.start(container.id)
        self._publish(container, "restart")

    # ================================================================ pause
    def pause(self, ref: str) -> None:
        """SIGSTOP to every process of the container. There is no freezer cgroup before
        chapter 07, so the processes could notice; docker pause's cgroup freezer cannot be."""
        container = self.get(ref)
        with container.lock:
            state = container.state
            if not state.running:
                raise Conflict(f"Container {container.id} is not running")
            if state.paused:
                raise Conflict(f"Container {container.id} is already paused")
            if state.restarting:
                raise Conflict(f"Container {container.id} is restarting, wait until the container is running")
            self.driver.pause(container.id)
            state.set_paused(True)
            self._save(container)
        self._publish(container, "pause")

    def unpause(self, ref: str) -> None:
        container = self.get(ref)
        with container.lock:
            if not container.state.paused:
                raise Conflict(f"Container {container.id} is not paused")
            self.driver.unpause(container.id)
            container.state.set_paused(False)
            self._save(container)
        self._publish(container, "unpause")

    # ================================================================ remove
    # --8<-- [start:remove]
    def remove(self, ref: str, force: bool = False, volumes: bool = False) -> None:
        container = self.get(ref)
        with container.lock:
            state = container.state
            if state.running and not force:
                word = state.status()
                procedure = "Stop the container before attempting removal or force remove"
                if word == "paused":
                    procedure = "Unpause and then " + procedure[0].lower() + procedure[1:]
                raise Conflict(f"You cannot remove a {word} container {container.id}. {procedure}")
            if not state.set_removal_in_progress():
                raise Conflict(f"removal of container {container.id} is already in progress")
            running = state.running
            if running:
                container.has_been_manually_stopped = True
                if container.restart_manager is not None:
                    container.restart_manager.cancel()
                if not state.restarting:
                    self._signal(container, signals.SIGKILL)
        if running:
            container.state.wait_until_stopped(None)
        self._remove_now(container)

    def _auto_remove(self, container: Container) -> None:
        """`--rm`: remove after the exit, unless someone is already removing it."""
        if container.state.set_removal_in_progress():
            self._remove_now(container)

    def _remove_now(self, container: Container) -> None:
        """Forget the container everywhere, then resolve the `removed` waits and say `destroy`."""
        self.driver.terminate(container.id)  # nothing of it may outlive the removal
        with self._lock:
            self._containers.pop(container.id, None)
            for exec_id in container.exec_ids:
                self._execs.pop(exec_id, None)
        self.names.release(container.name)
        if container.streams is not None:
            container.streams.close()
        self.driver.clean(container.id)
        self.store.delete(container.id)
        container.state.set_removed()
        self._publish(container, "destroy")
    # --8<-- [end:remove]

    # ================================================================ rename, resize, top
    def rename(self, ref: str, new_name: str) -> None:
        container = self.get(ref)
        if not new_name:
            raise BadParameter("Neither old nor new names may be empty")
        full = validate_name(new_name)
        with container.lock:
            old = container.name
            if full == old:
                raise BadParameter("Renaming a container with the same name as its current name")
            self.names.reserve(full, container.id)
            self.names.release(old)
            container.name = full
            self._save(container)
        self._publish(container, "rename", oldName=old)

    def resize(self, ref: str, height: int, width: int) -> None:
        container = self.get(ref)
        with container.lock:
            if not container.state.running or container.state.restarting:
                raise Conflict(f"Container {container.id} is not running")
            container.tty_size = (height, width)
            if container.terminal is not None:
                container.terminal.resize(height, width)
        self._publish(container, "resize", height=str(height), width=str(width))

    # --8<-- [start:top]
    def top(self, ref: str, ps_args: str | None = None) -> dict[str, Any]:
        """`docker top`: the host's `ps` output, only the rows of the container's processes."""
        container = self.get(ref)
        if not container.state.running or container.state.restarting:
            raise Conflict(f"Container {container.id} is not running")
        pids = set(self.driver.get_pids(container.id))
        try:
            args = shlex.split(ps_args or "-ef")
        except ValueError as exc:
            raise BadParameter(f"invalid ps_args: {exc}") from None
        try:
            done = subprocess.run(["ps", *args], capture_output=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise InternalError(f"Error running ps: {exc}") from None
        if done.returncode != 0:
            raise InternalError(f"ps: exit status {done.returncode}: {done.stderr.decode(errors='replace').strip()}")
        lines = done.stdout.decode(errors="replace").splitlines()
        titles = lines[0].split() if lines else []
        if "PID" not in titles:
            raise InternalError("Couldn't find PID field in ps output")
        column = titles.index("PID")
        processes = []
        for line in lines[1:]:
            fields = line.split(None, len(titles) - 1)
            if len(fields) > column and fields[column].isdigit() and int(fields[column]) in pids:
                processes.append(fields)
        return {"Titles": titles, "Processes": processes}
    # --8<-- [end:top]

    # ================================================================ wait, attach, logs
    def wait(self, ref: str, condition: str = NOT_RUNNING) -> WaitHandle:
        return self.get(ref).state.wait(condition or NOT_RUNNING)

    def attach(self, ref: str, *, stdin: bool = False, stdout: bool = True, stderr: bool = True,
               logs: bool = False, stream: bool = True) -> Attachment:
        container = self.get(ref)
        assert container.streams is not None
        attachment = container.streams.attach(stdin=stdin, stdout=stdout, stderr=stderr, logs=logs, stream=stream)
        self._publish(container, "attach")
        return attachment

    def logs(self, ref: str, *, stdout: bool = True, stderr: bool = True, follow: bool = False,
             tail: int | None = None, since: float = 0, until: float = 0,
             timestamps: bool = False) -> Logs:
        container = self.get(ref)
        if not (stdout or stderr):
            raise BadParameter("Bad parameters: you must choose at least one stream")
        assert container.streams is not None and container.streams.log is not None
        streams = {name for name, on in (("stdout", stdout), ("stderr", stderr)) if on}
        reader = LogStream(container.streams.log, streams=streams, since_ns=seconds_to_ns(since),
                           until_ns=seconds_to_ns(until), tail=tail, follow=follow)
        return Logs(reader, timestamps)

    # ================================================================ inspect and ps
    # --8<-- [start:inspect]
    def inspect(self, ref: str) -> dict[str, Any]:
        """`GET /containers/<id>/json` (docker-api.md 6.4)."""
        container = self.get(ref)
        with container.lock:
            return {
                "Id": container.id, "Created": rfc3339_nano(container.created),
                "Path": container.path, "Args": list(container.args), "State": container.state.to_dict(),
                "Image": container.image_id, "ResolvConfPath": "", "HostnamePath": "", "HostsPath": "",
                "LogPath": container.log_path, "Name": container.name, "RestartCount": container.restart_count,
                "Driver": "", "Platform": "linux", "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "",
                "ExecIDs": list(container.exec_ids) or None, "HostConfig": container.host_config,
                "GraphDriver": {"Data": None, "Name": ""}, "Mounts": [], "Config": container.config,
                "NetworkSettings": {
                    "Bridge": "", "SandboxID": "", "HairpinMode": False, "LinkLocalIPv6Address": "",
                    "LinkLocalIPv6PrefixLen": 0, "Ports": {}, "SandboxKey": "", "SecondaryIPAddresses": None,
                    "SecondaryIPv6Addresses": None, "EndpointID": "", "Gateway": "", "GlobalIPv6Address": "",
                    "GlobalIPv6PrefixLen": 0, "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
                    "MacAddress": "", "Networks": {},
                },
            }
    # --8<-- [end:inspect]

    def summary(self, container: Container, size: bool = False) -> dict[str, Any]:
        """One item of `GET /containers/json` (docker-api.md 6.2)."""
        with container.lock:
            item = {
                "Id": container.id, "Names": [container.name], "Image": container.image or container.image_id,
                "ImageID": container.image_id, "Command": container.command(),
                "Created": container.created // 1_000_000_000, "Ports": [], "Labels": container.labels,
                "State": container.state.status(), "Status": container.state.string(),
                "HostConfig": {"NetworkMode": container.host_config.get("NetworkMode") or "default"},
                "NetworkSettings": {"Networks": {}}, "Mounts": [],
            }
        if size:
            item["SizeRw"] = 0       # no rootfs, no layer to measure (chapter 06)
            item["SizeRootFs"] = 0
        return item

    # --8<-- [start:list]
    def list(self, all: bool = False, filters: dict[str, list[str]] | None = None, limit: int = -1,
             size: bool = False) -> list[Container]:
        """`docker ps`: newest first; only running ones unless `all`, a limit, a status
        filter or before/since ask for more (as dockerd's foldFilter)."""
        filters = {k: list(v) for k, v in (filters or {}).items() if v}
        for key in filters:
            if key not in PS_FILTERS:
                raise BadParameter(f"Invalid filter '{key}'")
        for status in filters.get("status", ()):
            if status not in STATUS_VALUES:
                raise BadParameter(f"Unrecognised filter value for status: {status}")
        exited: set[int] = set()
        for value in filters.get("exited", ()):
            try:
                exited.add(int(value))
            except ValueError:
                raise BadParameter(f"invalid filter 'exited={value}'") from None
        show_all = all or limit > 0 or "status" in filters or "exited" in filters \
            or "before" in filters or "since" in filters
        containers = sorted(self.containers(), key=lambda c: c.created, reverse=True)
        for key in ("before", "since"):
            for ref in filters.get(key, ()):
                pivot = self.get(ref)
                containers = [c for c in containers
                              if (c.created < pivot.created if key == "before" else c.created > pivot.created)]
        chosen = []
        for container in containers:
            if not (show_all or container.state.running):
                continue
            if self._matches(container, filters, exited):
                chosen.append(container)
            if limit > 0 and len(chosen) >= limit:
                break
        return chosen

    @staticmethod
    def _matches(container: Container, filters: dict[str, list[str]], exited: set[int]) -> bool:
        state = container.state
        if "status" in filters and state.status() not in filters["status"]:
            return False
        if "name" in filters and not any(re.search(v, container.name) for v in filters["name"]):
            return False
        if "id" in filters and not any(container.id.startswith(v) for v in filters["id"]):
            return False
        for label in filters.get("label", ()):
            key, eq, value = label.partition("=")
            if key not in container.labels or (eq and container.labels[key] != value):
                return False
        if exited and (state.running or not state.started_at or state.exit_code not in exited):
            return False
        if "ancestor" in filters:  # no image IDs before chapter 05: match the name as given
            image = container.image
            if not any(v in (image, image.split(":")[0], container.image_id) for v in filters["ancestor"]):
                return False
        return True
    # --8<-- [end:list]

    # ================================================================ exec
    def exec_create(self, ref: str, config: dict[str, Any]) -> str:
        container = self.get(ref)
        if not isinstance(config, dict):
            raise BadParameter("invalid exec configuration")
        cmd = config.get("Cmd")
        if isinstance(cmd, str):
            cmd = [cmd]
        if not cmd or not isinstance(cmd, list) or not all(isinstance(a, str) for a in cmd):
            raise BadParameter("No exec command specified")
        env = config.get("Env") or []
        if not isinstance(env, list) or not all(isinstance(e, str) for e in env):
            raise BadParameter("json: cannot unmarshal into Go struct field ExecConfig.Env of type []string")
        with container.lock:
            state = container.state
            if state.paused:
                raise Conflict(f"Container {container.id} is paused, unpause the container before exec")
            if state.restarting:
                raise Conflict(f"Container {container.id} is restarting, wait until the container is running")
            if not state.running:
                raise Conflict(f"Container {container.id} is not running")
            record = ExecConfig(
                id=new_id(), container=container, argv=list(cmd), tty=bool(config.get("Tty")),
                attach_stdin=bool(config.get("AttachStdin")), attach_stdout=bool(config.get("AttachStdout")),
                attach_stderr=bool(config.get("AttachStderr")), env=list(env),
                working_dir=str(config.get("WorkingDir") or ""), user=str(config.get("User") or ""),
                privileged=bool(config.get("Privileged")), detach_keys=str(config.get("DetachKeys") or ""))
            container.exec_ids.append(record.id)
        with self._lock:
            self._execs[record.id] = record
        self._publish(container, f"exec_create: {' '.join(record.argv)}", execID=record.id)
        return record.id

    def _exec(self, exec_id: str) -> ExecConfig:
        with self._lock:
            record = self._execs.get(exec_id)
        if record is None:
            raise NotFound(f"No such exec instance: {exec_id}")
        return record

    # --8<-- [start:exec_start]
    def exec_start(self, exec_id: str, *, detach: bool = False, tty: bool | None = None) -> Attachment | None:
        """Start the exec's process; return its attachment (None when detached) once the
        process runs. A command that cannot run is reported in the stream, as dockerd does
        (detached: as the error of this call), with exit code 126/127."""
        record = self._exec(exec_id)
        container = record.container
        with container.lock:
            if record.running:
                raise Conflict(f"Error: Exec command {record.id} is already running")
            if record.started:
                raise Conflict(f"Error: Exec command {record.id} has already run")
            if container.state.paused:
                raise Conflict(f"Container {container.id} is paused, unpause the container before exec")
            if not container.state.running or container.state.restarting:
                raise Conflict(f"Container {container.id} is not running")
            record.started = True
        streams = ContainerStreams(None, open_stdin=record.attach_stdin, stdin_once=True, tty=record.tty,
                                   name=f"exec {record.id[:12]}")
        record.streams = streams
        attachment = None if detach else streams.attach(
            stdin=record.attach_stdin, stdout=record.attach_stdout, stderr=record.attach_stderr,
            logs=False, stream=True)
        self._publish(container, f"exec_start: {' '.join(record.argv)}", execID=record.id)
        started = threading.Event()
        failure: list[StartError] = []
        threading.Thread(target=self._run_exec, args=(record, started, failure), daemon=True,
                         name=f"exec-{record.id[:12]}").start()
        started.wait()
        if failure and detach:
            raise BadParameter(failure[0].message)
        return attachment

    def _run_exec(self, record: ExecConfig, started: threading.Event, failure: list[StartError]) -> None:
        container = record.container
        streams = record.streams
        assert streams is not None
        stdout, stderr = streams.sinks()

        def on_start(process: StartedProcess) -> None:
            with container.lock:
                record.running = True
                record.pid = process.pid
                record.terminal = process.terminal
            started.set()

        process = ProcessConfig(
            argv=record.argv, env=[*container.daemon_environment(), *record.env],
            working_dir=record.working_dir or container.config.get("WorkingDir") or "", user=record.user,
            tty=record.tty, open_stdin=record.attach_stdin, console_size=record.tty_size,
            hostname=container.config.get("Hostname") or "")
        try:
            status = self.driver.exec_process(container.id, process, pipes=Pipes(streams.stdin, stdout, stderr),
                                              on_start=on_start)
            code = status.exit_code
        except StartError as exc:
            failure.append(exc)
            code = exc.exit_code
            stdout.write(exc.message.encode() + b"\r\n")  # dockerd writes the error into the stream
        with container.lock:  # the exit code first: the CLI reads it as soon as the stream ends
            record.exit_code = code
            record.running = False
            record.pid = 0
            record.terminal = None
        self._publish(container, "exec_die", execID=record.id, exitCode=str(code))
        streams.end_run()
        started.set()
    # --8<-- [end:exec_start]

    def exec_inspect(self, exec_id: str) -> dict[str, Any]:
        record = self._exec(exec_id)
        with record.container.lock:
            return record.inspect()

    def exec_resize(self, exec_id: str, height: int, width: int) -> None:
        record = self._exec(exec_id)
        with record.container.lock:
            record.tty_size = (height, width)
            if record.terminal is not None:
                record.terminal.resize(height, width)

    # ================================================================ shutdown
    # --8<-- [start:shutdown]
    def shutdown(self, timeout: float = 10.0) -> None:
        """Daemon exit: no more restarts; running containers get their stop signal, then
        SIGKILL after their stop timeout (at most `timeout`); every record is saved.
        Not a manual stop: `unless-stopped` containers start again with the next daemon."""
        self.shutting_down = True
        containers = self.containers()
        for container in containers:
            if container.restart_manager is not None:
                container.restart_manager.cancel()
        stoppers = []
        for container in containers:
            if container.state.running:
                limit = container.config.get("StopTimeout")
                limit = DEFAULT_STOP_TIMEOUT if limit is None else int(limit)
                limit = int(min(limit if limit >= 0 else timeout, timeout))
                thread = threading.Thread(target=self._stop, args=(container, limit), daemon=True,
                                          name=f"shutdown-{container.id[:12]}")
                thread.start()
                stoppers.append(thread)
        for thread in stoppers:
            thread.join(timeout + 5)
        for container in self.containers():
            with container.lock:
                self._save(container)
        self.events.close()  # `docker events` clients see the end of the stream
    # --8<-- [end:shutdown]


class Logs:
    """`docker logs`: an iterator of `(stream, bytes)`; with `timestamps`, each line starts
    with its time (RFC3339NanoFixed and a space). `close()` ends a follow from any thread."""

    def __init__(self, reader: LogStream, timestamps: bool) -> None:
        self._reader = reader
        self._timestamps = timestamps

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        return self

    def __next__(self) -> tuple[str, bytes]:
        entry = next(self._reader)
        if self._timestamps:
            return entry.stream, rfc3339_nano_fixed(entry.time_ns).encode() + b" " + entry.data
        return entry.stream, entry.data

    def close(self) -> None:
        self._reader.close()


__all__ = ["ContainerDaemon", "Logs", "parse_signal"]
