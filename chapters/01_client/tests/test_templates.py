"""Go's text/template subset behind `--format`: values print as Go prints them, errors read as Go's."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minidock.cli.templates import Struct, TemplateError, go_string, parse, render

CONTAINER = {
    "Id": "4f8b1a6c2d3e",
    "Name": "/web",
    "State": {"Status": "running", "Running": True, "Pid": 123, "Error": ""},
    "Config": {"Env": ["PATH=/bin", "A=<&>"], "Cmd": ["sleep", "1000"], "Entrypoint": None,
               "Labels": {"app": "demo", "tier": "front"}, "Tty": False},
    "NetworkSettings": {"Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "443/tcp": None}},
}


def test_fields_and_chains():
    assert render("{{.Name}} {{.State.Pid}} {{.State.Running}}", CONTAINER) == "/web 123 true"


def test_values_print_as_go_prints_them():
    assert render("{{.Config.Env}}", CONTAINER) == "[PATH=/bin A=<&>]"
    assert render("{{.Config.Labels}}", CONTAINER) == "map[app:demo tier:front]"
    assert render("{{.Config.Entrypoint}}", CONTAINER) == "<nil>"
    assert render("{{.Config.Tty}}", CONTAINER) == "false"
    assert render("{{.NetworkSettings.Ports}}", CONTAINER) == "map[443/tcp:<nil> 80/tcp:[map[HostIp:0.0.0.0 HostPort:8080]]]"
    assert [go_string(v) for v in (1.5, 1e6, 100000.0, 0.0001, 1e-5)] == ["1.5", "1e+06", "100000", "0.0001", "1e-05"]


def test_a_missing_map_key_prints_no_value_or_fails_like_docker_inspect():
    assert render("{{.Nope}}", CONTAINER) == "<no value>"
    assert render("{{.Nope.Deeper}}", CONTAINER) == "<no value>"
    with pytest.raises(TemplateError) as error:
        render("{{.Nope}}", CONTAINER, missingkey="error")
    assert str(error.value) == 'template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"'
    assert render("{{.Config.Labels.nokey}}", CONTAINER, missingkey="exported") == "<no value>"
    with pytest.raises(TemplateError, match='map has no entry for key "Nope"'):
        render("{{.Config.Nope}}", CONTAINER, missingkey="exported")
    with pytest.raises(TemplateError) as error:  # Go places a chain at its second link
        render("x\n {{.Config.Nope}}", CONTAINER, missingkey="error")
    assert str(error.value) == 'template: :2:10: executing "" at <.Config.Nope>: map has no entry for key "Nope"'


def test_a_struct_rejects_unknown_fields_with_its_type():
    row = Struct("*formatter.ContainerContext", {"ID": "abc"})
    assert render("{{.ID}}", row) == "abc"
    with pytest.raises(TemplateError, match=r"can't evaluate field Names in type \*formatter.ContainerContext"):
        render("{{.ID}} {{.Names}}", row)


def test_struct_methods_take_arguments():
    row = Struct("ctx", {"Label": lambda name: {"app": "demo"}.get(name, "")})
    assert render('{{.Label "app"}}|{{.Label "x"}}', row) == "demo|"
    with pytest.raises(TemplateError, match="wrong number of args for Label: got 0"):
        render("{{.Label}}", row)


def test_fields_of_non_maps_are_errors():
    with pytest.raises(TemplateError, match=r"at <.Name.X>: can't evaluate field X in type string"):
        render("{{.Name.X}}", CONTAINER)
    with pytest.raises(TemplateError, match=r"nil pointer evaluating interface \{\}.X"):
        render("{{.Config.Entrypoint.X}}", CONTAINER)


def test_json_is_compact_keeps_key_order_and_does_not_escape_html():
    assert render("{{json .Config.Env}}", CONTAINER) == '["PATH=/bin","A=<&>"]'
    assert render("{{json .State}}", CONTAINER) == '{"Status":"running","Running":true,"Pid":123,"Error":""}'
    assert render("{{json .Nope}}", CONTAINER) == "null"
    assert render("{{json .}}", {"s": "héllo\u2028"}) == '{"s":"héllo\\u2028"}'


def test_docker_functions():
    assert render('{{index .Config.Labels "app"}}', CONTAINER) == "demo"
    assert render('{{index .Config.Labels "missing"}}', CONTAINER) == ""
    assert render("{{index .Config.Cmd 1}}", CONTAINER) == "1000"
    assert render('{{join .Config.Cmd " "}}', CONTAINER) == "sleep 1000"
    assert render('{{split "a,b,c" ","}}', CONTAINER) == "[a b c]"
    assert render("{{upper .State.Status}} {{lower .Name}} {{title \"hello wide world\"}}", CONTAINER) == "RUNNING /web Hello Wide World"
    assert render("{{len .Config.Env}} {{len .Name}} {{len .Config.Labels}}", CONTAINER) == "2 4 2"
    assert render("{{println .Name}}", CONTAINER) == "/web\n"
    assert render('{{printf "%s has pid %d" .Name .State.Pid}}', CONTAINER) == "/web has pid 123"
    assert render("{{truncate .Id 4}}|{{pad .Name 1 2}}|", CONTAINER) == "4f8b| /web  |"


def test_pipes_pass_the_value_as_the_last_argument():
    assert render("{{.Config.Env | json}}", CONTAINER) == '["PATH=/bin","A=<&>"]'
    assert render("{{.Name | upper | printf \"<%s>\"}}", CONTAINER) == "</WEB>"


def test_range_if_else_with_and_variables():
    assert render("{{range .Config.Env}}[{{.}}]{{end}}", CONTAINER) == "[PATH=/bin][A=<&>]"
    assert render("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", CONTAINER) == "app=demo;tier=front;"
    assert render("{{range $i, $e := .Config.Cmd}}{{$i}}:{{$e}} {{end}}", CONTAINER) == "0:sleep 1:1000 "
    assert render("{{range .Config.Entrypoint}}x{{else}}none{{end}}", CONTAINER) == "none"
    assert render("{{if .State.Running}}up{{else}}down{{end}}", CONTAINER) == "up"
    assert render('{{if eq .Name "/db"}}db{{else if .Config.Tty}}tty{{else}}other{{end}}', CONTAINER) == "other"
    assert render("{{with .Config.Labels}}{{.app}}{{end}}{{with .Config.Entrypoint}}x{{end}}", CONTAINER) == "demo"
    assert render("{{$n := .Name}}{{range .Config.Cmd}}{{$n}}:{{.}} {{end}}{{$.Id}}", CONTAINER) == "/web:sleep /web:1000 4f8b1a6c2d3e"
    assert render("{{if and .State.Running (not .Config.Tty)}}yes{{end}}", CONTAINER) == "yes"


def test_trim_markers_and_comments():
    assert render("a  {{- .Name -}}  \n b{{/* a comment */}}", CONTAINER) == "a/webb"


@pytest.mark.parametrize(("template", "message"), [
    ("{{.Name", "template: :1: unclosed action"),
    ("{{nope .}}", 'template: :1: function "nope" not defined'),
    ("{{if .A}}x", "template: :1: unexpected EOF"),
    ("x\n{{end}}", "template: :2: unexpected {{end}}"),
    ("{{else}}", "template: :1: unexpected {{else}}"),
    ("{{}}", "template: :1: missing value for command"),
])
def test_parse_errors_read_as_gos(template, message):
    with pytest.raises(TemplateError) as error:
        parse(template)
    assert str(error.value) == message


def test_function_errors_name_the_call():
    with pytest.raises(TemplateError) as error:
        render("{{len .State.Pid}}", CONTAINER)
    assert str(error.value) == 'template: :1:2: executing "" at <len .State.Pid>: error calling len: len of type int'


# -- properties ------------------------------------------------------------------

KEYS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
SCALARS = st.one_of(st.text(max_size=20), st.integers(), st.booleans(), st.none())


def go_print(value):
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@given(path=st.lists(KEYS, min_size=1, max_size=4), value=SCALARS)
def test_a_field_chain_finds_the_value_at_that_path(path, value):
    data = value
    for key in reversed(path):
        data = {key: data}
    assert render("{{." + ".".join(path) + "}}", data) == go_print(value)


JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text()),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_json_of_dot_round_trips(data):
    assert json.loads(render("{{json .}}", data)) == data


@given(st.text().filter(lambda t: "{{" not in t))
def test_text_without_actions_is_printed_as_is(text):
    assert render(text, CONTAINER) == text


TEMPLATE_PIECES = st.sampled_from([
    "{{", "}}", "{{-", "-}}", ".", ".Name", ".Config", ".Labels", ".app", "$", "$x", ":=", ",", "|", "(", ")",
    " ", '"s"', "`r`", "1", "-2", "json", "index", "len", "if", "else", "end", "range", "with", "and", "not",
    "printf", "/*", "*/", "x", "\n",
])


@given(st.lists(TEMPLATE_PIECES, max_size=14).map("".join))
def test_any_template_renders_or_fails_with_a_template_error(template):
    try:
        render(template, CONTAINER, missingkey="exported")
    except TemplateError:
        pass
