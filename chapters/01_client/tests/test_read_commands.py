"""ps, images, inspect, top, stats, port, events and info, against the fake daemon.

Each test sets the scene through the API (the client library, not other
commands), runs `minidock` as a user would, and checks the text docker would
print and the requests docker would send.
"""

import json
import re
import signal
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from minidock.client.api import APIClient
from minidock.client.hosts import parse_host
from minidock.testing import cli_env, run_cli


@pytest.fixture
def api(fake_daemon):
    client = APIClient(parse_host(fake_daemon.unix_host))
    yield client
    client.close()


@pytest.fixture
def mdk(fake_daemon):
    """`minidock -H <fake> ARGS...` -> (exit status, stdout, stderr) as text."""
    def call(*args):
        result = run_cli("-H", fake_daemon.unix_host, *args)
        return result.returncode, result.stdout.decode(), result.stderr.decode()
    return call


def create(api, name, *cmd, start=True, **config):
    cid = api.post_json("/containers/create", {"name": name}, json={"Image": "busybox", "Cmd": list(cmd), **config})["Id"]
    if start:
        api.request("POST", f"/containers/{cid}/start").read()
    return cid


@pytest.fixture
def scene(api):
    """`web` running with 8080->80 published and 443 exposed; `done` exited; `fresh` only created."""
    web = create(api, "web", "sleep", "1000", ExposedPorts={"80/tcp": {}, "443/tcp": {}}, Labels={"app": "demo"},
                 HostConfig={"PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}})
    done = create(api, "done", "true")
    api.request("POST", f"/containers/{done}/wait").read()
    fresh = create(api, "fresh", *"echo a long command line that docker cuts".split(), start=False)
    return {"web": web, "done": done, "fresh": fresh}


def queries(fake_daemon, path):
    """The decoded query of every request sent to `path` (any API version prefix)."""
    found = []
    for _, target in fake_daemon.requests:
        parts = urlsplit(target)
        if re.sub(r"^/v[\d.]+", "", parts.path) == path:
            found.append({k: v[0] for k, v in parse_qs(parts.query).items()})
    return found


def cells(line):
    """Split a tabwriter line on its runs of 3+ spaces (docker's padding)."""
    return re.split(r" {3,}", line.rstrip())


# -- ps --------------------------------------------------------------------------

def test_ps_lists_running_containers_in_dockers_columns(mdk, scene):
    status, out, err = mdk("ps")
    assert (status, err) == (0, "")
    header, *rows = out.splitlines()
    assert cells(header) == ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert len(rows) == 1
    row = cells(rows[0])
    assert row[0] == scene["web"][:12]
    assert row[1:3] == ["busybox", '"sleep 1000"']
    assert re.fullmatch(r"(Less than a second|1 second|\d+ seconds) ago", row[3])
    assert row[4].startswith("Up ")
    assert row[5:] == ["443/tcp, 0.0.0.0:8080->80/tcp", "web"]
    # every column starts where its header starts
    assert [rows[0].index(c) for c in row] == [header.index(h) for h in cells(header)]


def test_ps_all_shows_every_state_and_cuts_long_commands(mdk, scene):
    status, out, _ = mdk("ps", "-a")
    by_name = {cells(line)[-1]: line for line in out.splitlines()[1:]}
    assert set(by_name) == {"web", "done", "fresh"}
    assert "Exited (0)" in by_name["done"]
    assert '"echo a long command…"' in by_name["fresh"] and "Created" in by_name["fresh"]


def test_ps_no_trunc_shows_full_ids_and_commands(mdk, scene):
    _, out, _ = mdk("ps", "-a", "--no-trunc")
    assert scene["fresh"] in out and '"echo a long command line that docker cuts"' in out


def test_ps_filters_are_sent_as_dockers_json(mdk, scene, fake_daemon):
    status, out, _ = mdk("ps", "-a", "--filter", "status=exited", "-q")
    assert (status, out) == (0, scene["done"][:12] + "\n")
    assert queries(fake_daemon, "/containers/json")[-1] == {"all": "1", "filters": '{"status":{"exited":true}}'}


def test_ps_last_and_latest_send_a_limit(mdk, scene, fake_daemon):
    mdk("ps", "-n", "2")
    mdk("ps", "-l")
    assert [q.get("limit") for q in queries(fake_daemon, "/containers/json")] == ["2", "1"]


def test_ps_size_asks_the_daemon_for_sizes(mdk, scene, fake_daemon):
    _, out, _ = mdk("ps", "-s")
    assert cells(out.splitlines()[0])[-1] == "SIZE"
    assert re.search(r"\d+(\.\d+)?[kMG]?B \(virtual \d+(\.\d+)?[kMG]?B\)$", out.splitlines()[1])
    mdk("ps", "--format", "{{.Names}} {{.Size}}")
    mdk("ps", "--format", "{{.Names}}")
    assert [q.get("size") for q in queries(fake_daemon, "/containers/json")] == ["1", "1", None]


def test_ps_custom_formats(mdk, scene):
    assert mdk("ps", "-a", "--format", "{{.Names}}\\t{{.State}}")[1].splitlines() == [
        "fresh\tcreated", "done\texited", "web\trunning"]
    _, out, _ = mdk("ps", "--format", 'table {{.Names}}\\t{{.Label "app"}}\\t{{.Labels}}')
    assert out == "NAMES     app       LABELS\nweb       demo      app=demo\n"
    objects = [json.loads(line) for line in mdk("ps", "-a", "--format", "json")[1].splitlines()]
    assert [o["Names"] for o in objects] == ["fresh", "done", "web"]
    assert set(objects[0]) >= {"ID", "Image", "Command", "CreatedAt", "RunningFor", "Ports", "State", "Status", "Size"}


def test_ps_bad_template_fails_before_asking_the_daemon(mdk, scene, fake_daemon):
    status, out, err = mdk("ps", "--format", "{{.Nope}}")
    assert (status, out) == (1, "")
    assert err.startswith('failed to execute template: template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope')
    assert queries(fake_daemon, "/containers/json") == []
    status, _, err = mdk("ps", "--format", "{{.ID")
    assert (status, err) == (1, "failed to parse template: template: :1: unclosed action\n")


def test_ps_usage_errors(mdk):
    status, _, err = mdk("ps", "--filter", "foo")
    assert status == 125 and 'invalid argument "foo" for "-f, --filter" flag: bad format of filter (expected name=value)' in err
    status, _, err = mdk("ps", "extra")
    assert status == 1 and err.startswith("minidock: 'minidock ps' accepts no arguments")


# -- images ----------------------------------------------------------------------

def busybox_id(api):
    return api.get_json("/images/busybox/json")["Id"]


def test_images_prints_one_row_per_repository_and_tag(mdk, api, fake_daemon):
    api.request("POST", "/images/busybox/tag", {"repo": "localhost:5000/test/busybox", "tag": "v1"}).read()
    status, out, _ = mdk("images")
    header, *rows = out.splitlines()
    assert cells(header) == ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]
    short = busybox_id(api).removeprefix("sha256:")[:12]
    table = sorted(cells(row)[:3] for row in rows)
    assert table == [["busybox", "latest", short], ["localhost:5000/test/busybox", "v1", short]]
    assert all(re.fullmatch(r"\d+(\.\d+)?[kMG]?B", cells(row)[-1]) for row in rows)
    assert all(cells(row)[3].endswith(" ago") for row in rows)


def test_images_argument_is_a_reference_filter_and_quiet_prints_ids(mdk, api, fake_daemon):
    status, out, _ = mdk("images", "-q", "busybox")
    assert (status, out) == (0, busybox_id(api).removeprefix("sha256:")[:12] + "\n")
    assert queries(fake_daemon, "/images/json")[-1] == {"filters": '{"reference":{"busybox":true}}'}
    mdk("images", "-a", "--filter", "dangling=false")
    assert queries(fake_daemon, "/images/json")[-1] == {"all": "1", "filters": '{"dangling":{"false":true}}'}


def test_an_image_without_a_name_shows_none(mdk, api, scene):
    image = api.post_json("/commit", {"container": scene["done"]})["Id"]
    _, out, _ = mdk("images", "--no-trunc", "--format", "{{.Repository}} {{.Tag}} {{.ID}}")
    assert f"<none> <none> {image}" in out.splitlines()


def test_images_digests_column(mdk, api):
    _, out, _ = mdk("images", "--digests")
    assert cells(out.splitlines()[0]) == ["REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"]


# -- inspect ---------------------------------------------------------------------

def test_inspect_prints_a_json_array_indented_like_docker(mdk, scene):
    status, out, _ = mdk("inspect", "web")
    assert status == 0
    data = json.loads(out)
    assert [d["Id"] for d in data] == [scene["web"]] and data[0]["Name"] == "/web"
    assert out == json.dumps(data, indent=4, ensure_ascii=False) + "\n"
    assert out.startswith('[\n    {\n        "Id": ')


def test_inspect_falls_back_from_container_to_image(mdk, api, fake_daemon):
    image_id = busybox_id(api)
    status, out, _ = mdk("inspect", "busybox")
    assert status == 0 and json.loads(out)[0]["Id"] == image_id
    paths = [re.sub(r"^/v[\d.]+", "", p) for m, p in fake_daemon.requests if m == "GET"]
    assert paths[-2:] == ["/containers/busybox/json", "/images/busybox/json"]


def test_inspect_of_nothing_tries_every_kind_then_says_no_such_object(mdk, fake_daemon):
    status, out, err = mdk("inspect", "nosuch")
    assert (status, out, err) == (1, "[]\n", "Error: No such object: nosuch\n")
    paths = [re.sub(r"^/v[\d.]+", "", p) for m, p in fake_daemon.requests if m == "GET"]
    assert paths[-5:] == ["/containers/nosuch/json", "/images/nosuch/json", "/networks/nosuch",
                          "/volumes/nosuch", "/plugins/nosuch/json"]


def test_inspect_prints_what_it_found_and_still_fails_for_the_rest(mdk, scene):
    status, out, err = mdk("inspect", "-f", "{{.Name}} {{.State.Status}} {{.Config.Cmd}}", "web", "nosuch", "done")
    assert (status, out, err) == (1, "/web running [sleep 1000]\n/done exited [true]\n", "Error: No such object: nosuch\n")


def test_inspect_with_a_type_asks_only_that_kind(mdk, scene, fake_daemon):
    status, _, err = mdk("inspect", "--type", "image", "web")
    assert status == 1 and err.startswith("Error response from daemon: ")
    status, _, err = mdk("inspect", "--type", "thing", "web")
    assert status == 1 and err.startswith('unknown type: "thing"')
    mdk("inspect", "-s", "--type", "container", "web")
    assert queries(fake_daemon, "/containers/web/json")[-1] == {"size": "1"}


def test_inspect_template_errors(mdk, scene):
    status, out, err = mdk("inspect", "-f", "{{.Nope}}", "web")
    assert (status, out) == (1, "\n")
    assert err == 'template parsing error: template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"\n'
    status, _, err = mdk("inspect", "-f", "{{.Name", "web")
    assert (status, err) == (64, "template parsing error: template: :1: unclosed action\n")
    assert mdk("inspect", "-f", "json", "web")[1].count("\n") == 1
    # a missing key of a map (labels) is not an error: docker's structs only reject unknown fields
    assert mdk("inspect", "-f", "{{.Config.Labels.nokey}}|{{.Config.Labels.app}}", "web") == (0, "<no value>|demo\n", "")


def test_inspect_needs_a_name(mdk):
    status, _, err = mdk("inspect")
    assert status == 1 and "'minidock inspect' requires at least 1 argument" in err


# -- top, port -------------------------------------------------------------------

def test_top_prints_the_process_table(mdk, scene, fake_daemon):
    status, out, _ = mdk("top", "web")
    header, *rows = out.splitlines()
    assert header.split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert header.startswith("UID" + " " * 17 + "PID")  # tabwriter minwidth 20
    assert rows[0].endswith("sleep 1000")
    mdk("top", "web", "-ef")
    assert queries(fake_daemon, "/containers/web/top") == [{}, {"ps_args": "-ef"}]


def test_top_errors(mdk, scene):
    assert mdk("top")[0] == 1
    status, _, err = mdk("top", "done")
    assert status == 1 and err.startswith("Error response from daemon: ") and "is not running" in err


def test_port_lists_and_looks_up_published_ports(mdk, scene):
    assert mdk("port", "web") == (0, "80/tcp -> 0.0.0.0:8080\n", "")
    assert mdk("port", "web", "80") == (0, "0.0.0.0:8080\n", "")
    assert mdk("port", "web", "80/tcp") == (0, "0.0.0.0:8080\n", "")
    assert mdk("port", "web", "443") == (1, "", "Error: No public port '443' published for web\n")
    assert mdk("port", "web", "80/udp") == (1, "", "Error: No public port '80/udp' published for web\n")
    status, _, err = mdk("port", "web", "http")
    assert status == 1 and err.startswith("Error: invalid port (http)")
    assert mdk("port")[0] == 1 and mdk("port", "a", "b", "c")[0] == 1


# -- stats -----------------------------------------------------------------------

STATS_HEADER = ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"]


def test_stats_no_stream_prints_one_sample(mdk, scene, fake_daemon):
    status, out, _ = mdk("stats", "--no-stream", "web")
    header, row = out.splitlines()
    assert cells(header) == STATS_HEADER
    row = cells(row)
    assert row[:2] == [scene["web"][:12], "web"]
    assert re.fullmatch(r"\d+\.\d\d%", row[2]) and re.fullmatch(r"512KiB / \d+(\.\d+)?[KMGT]iB", row[3])
    assert row[5:] == ["796B / 0B", "0B / 0B", "1"]
    assert queries(fake_daemon, "/containers/web/stats") == [{"stream": "0"}]


def test_stats_without_names_samples_every_running_container(mdk, scene, fake_daemon):
    status, out, _ = mdk("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}")
    assert (status, out) == (0, "web 1\n")
    assert queries(fake_daemon, f"/containers/{scene['web'][:12]}/stats") == [{"stream": "0"}]


def test_stats_json_format(mdk, scene):
    data = json.loads(mdk("stats", "--no-stream", "--format", "json", "web")[1])
    assert set(data) == {"BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO", "PIDs"}
    assert data["Container"] == "web"


def test_stats_streams_until_interrupted(fake_daemon, scene):
    proc = subprocess.Popen([sys.executable, "-m", "minidock", "-H", fake_daemon.unix_host, "stats", "web"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env())
    try:
        headers = 0
        deadline = time.monotonic() + 10
        while headers < 2 and time.monotonic() < deadline:
            line = proc.stdout.readline().decode()
            headers += line.startswith("CONTAINER ID")
        assert headers == 2, "expected a second block of stats"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130 and b"Traceback" not in err
    assert queries(fake_daemon, "/containers/web/stats")[0] == {"stream": "1"}


def test_stats_redraws_in_place_on_a_terminal(fake_daemon, scene):
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(sys.executable, ["-m", "minidock", "-H", fake_daemon.unix_host, "stats", "web"],
                          env=cli_env(), timeout=10)
    try:
        child.expect_exact("\x1b[2J")  # clear once
        for _ in range(2):  # then, each frame: home, the lines each erased to their end, the rest erased
            child.expect_exact("\x1b[HCONTAINER ID")
            child.expect(r"\x1b\[K\r\n[0-9a-f]{12}   web .*\x1b\[K\r\n\x1b\[J")
    finally:
        child.sendintr()
        child.expect(pexpect.EOF)
        child.close()
    assert child.exitstatus == 130 or child.signalstatus == signal.SIGINT


# -- events ----------------------------------------------------------------------
# `--until 0s` is whole seconds, so events of this very second come after it (as
# with dockerd); the tests pass the present with a fraction instead.

def now():
    return f"{time.time():.6f}"


def test_events_prints_dockers_default_lines(mdk, scene):
    status, out, _ = mdk("events", "--since", "1h", "--until", now())
    assert status == 0
    first = out.splitlines()[0]
    assert re.fullmatch(
        rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{9}}(Z|[+-]\d\d:\d\d) container create {scene['web']} "
        r"\(app=demo, image=busybox, name=web\)", first), first
    actions = [line.split()[2] for line in out.splitlines() if line.split()[1] == "container"]
    assert actions[:2] == ["create", "start"]


def test_events_filters_format_and_times_on_the_wire(mdk, scene, fake_daemon):
    status, out, _ = mdk("events", "--since", "10m", "--until", now(), "-f", "event=start", "-f", "type=container",
                         "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}")
    assert (status, out) == (0, "container start web\ncontainer start done\n")
    assert queries(fake_daemon, "/events")[-1]["filters"] == '{"event":{"start":true},"type":{"container":true}}'
    before = int(time.time())
    mdk("events", "--since", "10m", "--until", "0s")
    query = queries(fake_daemon, "/events")[-1]
    assert abs(int(query["since"]) - (before - 600)) <= 5 and abs(int(query["until"]) - before) <= 5
    mdk("events", "--since", "2000-01-01T00:00:00Z", "--until", "1700000000")
    assert {k: queries(fake_daemon, "/events")[-1][k] for k in ("since", "until")} == {
        "since": "946684800.000000000", "until": "1700000000"}


def test_events_json_is_the_daemons_message(mdk, scene):
    lines = mdk("events", "--since", "1h", "--until", now(), "--format", "json")[1].splitlines()
    assert json.loads(lines[0])["Actor"]["Attributes"]["name"] == "web"


def test_events_bad_arguments(mdk, scene):
    assert mdk("events", "--since", "yesterday") == (1, "", 'failed to parse value as time or duration: "yesterday"\n')
    status, _, err = mdk("events", "--since", "1h", "--until", now(), "--format", "{{.Nope}}")
    assert (status, err) == (64, 'Error parsing format: template: :1:2: executing "" at <.Nope>: '
                                 "can't evaluate field Nope in type *events.Message\n")
    assert mdk("events", "--format", "{{.X")[0] == 64
    assert mdk("events", "extra")[0] == 1


def test_events_stream_until_interrupted(fake_daemon, api):
    proc = subprocess.Popen([sys.executable, "-m", "minidock", "-H", fake_daemon.unix_host, "events",
                             "--format", "{{.Action}} {{.Actor.Attributes.name}}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env())
    try:
        deadline = time.monotonic() + 10
        while not queries(fake_daemon, "/events") and time.monotonic() < deadline:
            time.sleep(0.05)
        create(api, "live", "true", start=False)
        assert proc.stdout.readline() == b"create live\n"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130 and b"Traceback" not in err


# -- info ------------------------------------------------------------------------

def test_info_prints_dockers_layout_and_warnings_on_stderr(mdk, scene, api):
    status, out, err = mdk("info")
    assert status == 0
    lines = out.splitlines()
    assert lines[:5] == ["Client:", " Version:    0.1.0", " Context:    default", " Debug Mode: false", ""]
    assert lines[5:11] == ["Server:", " Containers: 3", "  Running: 1", "  Paused: 0", "  Stopped: 2", " Images: 1"]
    info = api.get_json("/info")
    for expected in (f" Server Version: {info['ServerVersion']}", f" Storage Driver: {info['Driver']}",
                     f" Kernel Version: {info['KernelVersion']}", " OSType: linux", f" CPUs: {info['NCPU']}",
                     f" Name: {info['Name']}", f" ID: {info['ID']}", f" Docker Root Dir: {info['DockerRootDir']}",
                     " Debug Mode: false", " Experimental: false", " Live Restore Enabled: false"):
        assert expected in lines
    assert re.search(r"^ Total Memory: \d+(\.\d+)?[KMGT]iB$", out, re.M)
    assert err.splitlines() == info.get("Warnings") or []


def test_info_format(mdk, scene):
    assert mdk("info", "-f", "{{.Containers}} {{.ContainersRunning}} {{.ClientInfo.Context}}") == (0, "3 1 default\n", "")
    assert json.loads(mdk("info", "--format", "{{json .Plugins}}")[1])["Volume"] == ["local"]
    status, out, err = mdk("info", "-f", "{{.Nope}}")
    assert (status, out) == (1, "\n") and "can't evaluate field Nope in type system.dockerInfo" in err
    assert mdk("info", "-f", "{{.X")[0] == 64


def test_info_without_a_daemon_prints_the_client_part_and_fails(tmp_path):
    result = run_cli("-H", f"unix://{tmp_path}/none.sock", "info")
    assert result.returncode == 1
    assert result.stdout.decode().startswith("Client:\n Version:    0.1.0\n")
    assert result.stderr.decode().startswith("Cannot connect to the Docker daemon")


# -- the pieces, without a daemon ------------------------------------------------

def test_display_ports_groups_ranges_and_lists_mappings_last():
    from minidock.cli.commands.ps import display_ports

    assert display_ports([]) == ""
    assert display_ports([{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
                          {"PrivatePort": 443, "Type": "tcp"}]) == "443/tcp, 0.0.0.0:8080->80/tcp"
    assert display_ports([{"PrivatePort": p, "Type": "tcp"} for p in (9090, 9091, 9092, 9999)]) == "9090-9092/tcp, 9999/tcp"
    assert display_ports([{"IP": "0.0.0.0", "PrivatePort": p, "PublicPort": p, "Type": "udp"} for p in (53, 54)]) == \
        "0.0.0.0:53-54->53-54/udp"
    assert display_ports([{"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}]) == "[::]:8080->80/tcp"


def test_stats_arithmetic_is_dockers():
    from minidock.cli.commands.stats import entry_from_sample, stats_row

    sample = {
        "name": "/web", "id": "4f8b1a6c2d3e4f5a6b7c8d9e0f1a2b3c",
        "cpu_stats": {"cpu_usage": {"total_usage": 2_000_000_000}, "system_cpu_usage": 40_000_000_000, "online_cpus": 2},
        "precpu_stats": {"cpu_usage": {"total_usage": 1_900_000_000}, "system_cpu_usage": 38_000_000_000},
        "memory_stats": {"usage": 5_000_000, "limit": 8_000_000_000, "stats": {"inactive_file": 1_000_000}},
        "blkio_stats": {"io_service_bytes_recursive": [{"op": "Read", "value": 4096}, {"op": "write", "value": 1_500_000}]},
        "networks": {"eth0": {"rx_bytes": 1234, "tx_bytes": 567}, "eth1": {"rx_bytes": 1000, "tx_bytes": 0}},
        "pids_stats": {"current": 3},
    }
    row = stats_row(entry_from_sample("web", sample), trunc=True)
    assert {k: v for k, v in row.items()} == {
        "Container": "web", "Name": "web", "ID": "4f8b1a6c2d3e", "CPUPerc": "10.00%",
        "MemUsage": "3.815MiB / 7.451GiB", "MemPerc": "0.05%", "NetIO": "2.23kB / 567B",
        "BlockIO": "4.1kB / 1.5MB", "PIDs": "3",
    }


@pytest.mark.parametrize(("value", "expected"), [
    ("1700000000", "1700000000"), ("1700000000.5", "1700000000.5"), ("0", "0"),
    ("10m", str(1_000_000 - 600)), ("1h30m", str(1_000_000 - 5400)), ("0s", "1000000"),
    ("2026-11-28T06:35:42Z", "1795847742.000000000"), ("2026-11-28T06:35:42.5+01:00", "1795844142.500000000"),
])
def test_event_times_follow_dockers_get_timestamp(value, expected):
    from minidock.cli.commands.events import get_timestamp

    assert get_timestamp(value, now=1_000_000) == expected


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_event_line_sorts_attributes_and_prints_nanoseconds(utc):
    from minidock.cli.commands.events import pretty_event

    event = {"Type": "container", "Action": "die", "Actor": {"ID": "abc", "Attributes": {
        "name": "d1", "exitCode": "137", "image": "busybox"}}, "time": 1795847742, "timeNano": 1795847742093880303}
    assert pretty_event(event) == "2026-11-28T06:35:42.093880303Z container die abc (exitCode=137, image=busybox, name=d1)"
    assert pretty_event({"Type": "image", "Action": "tag", "Actor": {"ID": "x"}, "time": 1795847742}) == \
        "2026-11-28T06:35:42.000000000Z image tag x"
