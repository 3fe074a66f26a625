"""`stats`: live CPU, memory, network and disk use of containers.

The daemon sends raw cgroup counters (`GET /containers/{id}/stats`): total
CPU time used by the container and by the whole machine, memory usage and
limit, bytes per network interface and per block-I/O operation. The
percentages are computed here, on the client, with docker's formulas:

    CPU %  = (container CPU delta / system CPU delta) x online CPUs x 100
    MEM %  = (usage - inactive file cache) / limit x 100

Each sample carries the previous one (`precpu_stats`), so one sample is
enough for a delta. Streaming, one thread per container reads its stream
while the main thread redraws the table twice a second; without container
names, a second connection follows `GET /events` to add and drop containers
as they start and die - the two parallel connections docker-api.md notes.
"""

from __future__ import annotations

import argparse
import threading
import time
from dataclasses import dataclass
from typing import Any

from minidock.cli.cli import Cli, StatusError
from minidock.cli.formatter import Row, bytes_size, format_list, human_size, truncate_id
from minidock.client.api import quote_name
from minidock.client.errors import ClientError

DEFAULT_TABLE = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"
HEADERS = {
    "Container": "CONTAINER", "Name": "NAME", "ID": "CONTAINER ID", "CPUPerc": "CPU %",
    "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
}
REFRESH = 0.5  # seconds between redraws, as docker


def add_stats_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("containers", nargs="*", metavar="CONTAINER")
    parser.add_argument("-a", "--all", action="store_true", help="Show all containers (default shows just running)")
    parser.add_argument("--format", help="Format output using a custom template")
    parser.add_argument("--no-stream", action="store_true", help="Disable streaming stats and only pull the first result")
    parser.add_argument("--no-trunc", action="store_true", help="Do not truncate output")


# --8<-- [start:entry]
@dataclass
class StatsEntry:
    """One container's numbers, computed from one stats sample (docker's StatsEntry)."""

    container: str  # what the user typed, or the short ID
    name: str = ""
    id: str = ""
    cpu_percent: float = 0.0
    memory: float = 0.0
    memory_limit: float = 0.0
    memory_percent: float = 0.0
    net_rx: float = 0.0
    net_tx: float = 0.0
    block_read: float = 0.0
    block_write: float = 0.0
    pids: int = 0
    invalid: bool = False  # no sample (yet), or an error: every column shows `--`


def entry_from_sample(container: str, sample: dict[str, Any]) -> StatsEntry:
    """Docker's arithmetic on one `GET /containers/{id}/stats` object."""
    cpu, precpu = sample.get("cpu_stats") or {}, sample.get("precpu_stats") or {}
    memory = sample.get("memory_stats") or {}
    usage = memory.get("usage", 0)
    cache = memory.get("stats") or {}
    # cgroup v1 reports total_inactive_file, v2 inactive_file: page cache the kernel can drop.
    inactive = cache.get("total_inactive_file", cache.get("inactive_file", 0))
    used = usage - inactive if inactive < usage else usage
    limit = memory.get("limit", 0)
    networks = (sample.get("networks") or {}).values()
    blkio = (sample.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []
    return StatsEntry(
        container=container,
        name=sample.get("name", ""),
        id=sample.get("id", ""),
        cpu_percent=cpu_percent(cpu, precpu),
        memory=used,
        memory_limit=limit,
        memory_percent=used / limit * 100 if limit else 0.0,
        net_rx=sum(n.get("rx_bytes", 0) for n in networks),
        net_tx=sum(n.get("tx_bytes", 0) for n in networks),
        block_read=sum(e.get("value", 0) for e in blkio if e.get("op", "")[:1] in ("r", "R")),
        block_write=sum(e.get("value", 0) for e in blkio if e.get("op", "")[:1] in ("w", "W")),
        pids=(sample.get("pids_stats") or {}).get("current", 0),
    )


def cpu_percent(cpu: dict[str, Any], precpu: dict[str, Any]) -> float:
    """Share of the machine's CPU time the container used since the previous sample, x CPUs."""
    cpu_delta = (cpu.get("cpu_usage") or {}).get("total_usage", 0) - (precpu.get("cpu_usage") or {}).get("total_usage", 0)
    system_delta = cpu.get("system_cpu_usage", 0) - precpu.get("system_cpu_usage", 0)
    online = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or [])
    if system_delta > 0 and cpu_delta > 0:
        return cpu_delta / system_delta * online * 100.0
    return 0.0
# --8<-- [end:entry]


def stats_row(entry: StatsEntry, trunc: bool) -> Row:
    """One entry as `--format` sees it: docker's statsContext."""
    def shown(text: str, invalid_text: str = "--") -> str:
        return invalid_text if entry.invalid else text

    return Row("*container.statsContext", {
        "Container": entry.container,
        "Name": entry.name[1:] if len(entry.name) > 1 else "--",
        "ID": truncate_id(entry.id) if trunc else entry.id,
        "CPUPerc": shown(f"{entry.cpu_percent:.2f}%"),
        "MemUsage": shown(f"{bytes_size(entry.memory)} / {bytes_size(entry.memory_limit)}", "-- / --"),
        "MemPerc": shown(f"{entry.memory_percent:.2f}%"),
        "NetIO": shown(f"{human_size(entry.net_rx)} / {human_size(entry.net_tx)}"),
        "BlockIO": shown(f"{human_size(entry.block_read)} / {human_size(entry.block_write)}"),
        "PIDs": shown(str(entry.pids)),
    })


# --8<-- [start:stats]
def stats(cli: Cli, args: argparse.Namespace) -> int:
    fmt = args.format if args.format and args.format != "table" else DEFAULT_TABLE
    names = args.containers or [c["Id"][:12] for c in _list(cli, args.all)]
    if args.no_stream:
        entries, errors = _sample_once(cli, names)
        cli.out.write(format_list(fmt, [stats_row(e, not args.no_trunc) for e in entries], HEADERS))
        if errors:
            raise StatusError(1, "\n".join(errors))
        return 0
    return _stream(cli, args, names, fmt)
# --8<-- [end:stats]


def _list(cli: Cli, all: bool) -> list[dict[str, Any]]:
    return cli.client.get_json("/containers/json", {"all": True if all else None}) or []


def _sample_once(cli: Cli, names: list[str]) -> tuple[list[StatsEntry], list[str]]:
    """One sample per container (`stream=0`), fetched in parallel: the daemon takes ~1 s for each."""
    results: dict[str, StatsEntry | str] = {}

    def fetch(name: str) -> None:
        try:
            results[name] = entry_from_sample(name, cli.client.get_json(f"/containers/{quote_name(name)}/stats", {"stream": False}))
        except ClientError as exc:
            results[name] = str(exc)

    threads = [threading.Thread(target=fetch, args=(name,), daemon=True) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    found = [r for n in names if isinstance(r := results[n], StatsEntry)]
    return found, [r for n in names if isinstance(r := results[n], str)]


class _Board:
    """The latest entry of every container being watched, shared by the reader threads."""

    def __init__(self, cli: Cli) -> None:
        self.cli = cli
        self.lock = threading.Lock()
        self.entries: dict[str, StatsEntry] = {}

    def watch(self, name: str) -> None:
        with self.lock:
            if name in self.entries:
                return
            self.entries[name] = StatsEntry(container=name, id=name, invalid=True)
        threading.Thread(target=self._follow, args=(name,), daemon=True).start()

    def drop(self, name: str) -> None:
        with self.lock:
            self.entries.pop(name, None)

    def _follow(self, name: str) -> None:
        """Read one container's stats stream until it ends; its row then shows `--`."""
        try:
            for sample in self.cli.client.stream_json("GET", f"/containers/{quote_name(name)}/stats", {"stream": True}):
                entry = entry_from_sample(name, sample)
                with self.lock:
                    if name not in self.entries:
                        return
                    self.entries[name] = entry
        except ClientError as exc:
            self.cli.warn(str(exc))
        with self.lock:
            if name in self.entries:
                self.entries[name].invalid = True

    def wait_first(self, timeout: float) -> None:
        """Give every stream a moment to deliver its first sample, so the first frame has numbers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not any(entry.invalid for entry in self.entries.values()):
                    return
            time.sleep(0.05)

    def rows(self, trunc: bool) -> list[Row]:
        with self.lock:
            return [stats_row(entry, trunc) for entry in self.entries.values()]


def _follow_events(cli: Cli, board: _Board, all: bool) -> None:
    """Without names: add containers as they start, drop them as they die (docker's event handlers)."""
    try:
        for event in cli.client.stream_json("GET", "/events", {"filters": '{"type":{"container":true}}'}):
            short = (event.get("id") or (event.get("Actor") or {}).get("ID", ""))[:12]
            action = event.get("Action") or event.get("status", "")
            if action == "start" or (all and action == "create"):
                board.watch(short)
            elif action == "destroy" or (not all and action == "die"):
                board.drop(short)
    except ClientError:
        pass


def _stream(cli: Cli, args: argparse.Namespace, names: list[str], fmt: str) -> int:
    """Redraw the table every REFRESH seconds until Ctrl-C: in place on a terminal, as blocks otherwise."""
    board = _Board(cli)
    if not args.containers:
        threading.Thread(target=_follow_events, args=(cli, board, args.all), daemon=True).start()
    for name in names:
        board.watch(name)
    board.wait_first(timeout=2.0)
    terminal = cli.out.isatty()
    if terminal:
        cli.out.write("\033[2J")
    while True:  # until Ctrl-C: main turns KeyboardInterrupt into exit status 130, like a shell
        text = format_list(fmt, board.rows(not args.no_trunc), HEADERS)
        if terminal:  # home the cursor, erase each line's tail and whatever is below
            text = "\033[H" + "".join(line + "\033[K\n" for line in text.splitlines()) + "\033[J"
        cli.out.write(text)
        cli.out.flush()
        time.sleep(REFRESH)
