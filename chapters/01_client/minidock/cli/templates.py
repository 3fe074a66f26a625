"""Go's text/template, the subset people pass to `--format`.

`docker ps --format '{{.ID}}\t{{.Names}}'`, `docker inspect -f
'{{.State.Pid}}'`, `docker info -f '{{json .Plugins}}'`: the docker CLI
renders its output through Go templates, so scripts all over the world are
written in that language. This module understands the part of it they use:

* `{{.Field}}`, chains `{{.A.B.C}}`, `{{.}}`, variables `{{$}}` `{{$v.A}}`;
* function calls `{{json .X}}`, `{{index .M "key"}}`, `{{join .L ","}}`,
  pipes `{{.X | json}}` and parentheses `{{if and .A (not .B)}}` (but no
  field of a parenthesised value: `{{(index .M "k").A}}`);
* `{{if}}` / `{{else if}}` / `{{else}}` / `{{end}}`, `{{range}}` (with
  `$i, $v :=`), `{{with}}`; comments `{{/* */}}`; trim markers `{{-` `-}}`.

Values print the way Go's fmt prints them (`true`, `<nil>`, `[a b]`,
`map[k:v]`), and errors carry Go's wording (`template: :1:2: executing ""
at <.Nope>: map has no entry for key "Nope"`), because scripts and readers
compare them with docker's.

Our data is decoded JSON (dicts and lists), not Go structs. A dict is a Go
map: a missing key prints `<no value>`, or is an error with
`missingkey="error"`. A `Struct` (a dict with a Go type name) plays a Go
struct: an unknown field is always an error.

`docker inspect` decodes the daemon's JSON into Go structs, whose fields are
exported and so capitalised: `{{.Nope}}` is an error there, while a missing
key of a real map (`{{.Config.Labels.nokey}}`) prints `<no value>`.
`missingkey="exported"` gives that behaviour on plain JSON: a missing
capitalised name is an error, any other missing key is `<no value>`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, NamedTuple


class TemplateError(Exception):
    """A template that does not parse or does not execute; the text is Go's."""


class _NoValue:
    """Go's invalid reflect.Value: what a missing map key evaluates to."""

    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE = _NoValue()
_MISSING = object()  # "no final argument" in a pipeline


class Struct(dict):
    """A dict that plays a Go struct: its keys are the fields a template may name.

    An unknown field is an error naming `go_type` (a map would print
    `<no value>`). A value may be a function, for a method that takes
    arguments (`{{.Label "app"}}`). `{{json .}}` prints `raw` when given: the
    JSON the struct was decoded from, whose keys may differ from the fields.
    """

    def __init__(self, go_type: str, fields: dict[str, Any], raw: Any = _MISSING) -> None:
        super().__init__(fields)
        self.go_type = go_type
        self.raw = raw

    def marshal_json(self) -> str:
        return go_json(dict(self) if self.raw is _MISSING else self.raw)


# -- printing values as Go's fmt does ------------------------------------------

def go_string(value: Any) -> str:
    """`fmt.Sprint(value)` for the types JSON decodes to."""
    if value is NO_VALUE:
        return "<no value>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_string(item) for item in value) + "]"
    if isinstance(value, dict):  # Go prints maps with their keys sorted
        return "map[" + " ".join(f"{key}:{go_string(value[key])}" for key in sorted(value)) + "]"
    return str(value)


def _go_float(value: float) -> str:
    """%v of a float64 (strconv 'g', shortest): exponent form below 1e-4 and from 1e6."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    from decimal import Decimal

    exponent = Decimal(repr(value)).adjusted()
    if -4 <= exponent < 6:
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    digits = len(Decimal(repr(value)).normalize().as_tuple().digits)
    mantissa, _, exp = f"{value:.{digits - 1}e}".partition("e")
    return f"{mantissa}e{exp[0]}{exp[1:].lstrip('0').rjust(2, '0')}"


def go_json(value: Any) -> str:
    """docker's `json` template function: compact, keys in the object's order, no HTML escaping."""
    if isinstance(value, Struct):  # a struct knows its own JSON, like Go's json.Marshaler
        return value.marshal_json()
    if value is NO_VALUE:
        value = None
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def truth(value: Any) -> bool:
    """Go's notion of true: not false, not zero, not nil, not empty."""
    if value is NO_VALUE or value is None:
        return False
    if isinstance(value, (bool, int, float, str, list, tuple, dict)):
        return bool(value)
    return True


# -- the functions -----------------------------------------------------------

def _len(value: Any) -> int:
    if isinstance(value, (str, list, tuple, dict)):
        return len(value.encode() if isinstance(value, str) else value)  # Go counts bytes
    raise TemplateError(f"len of type {go_type_name(value)}")


def _index(value: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(value, dict):
            value = value.get(key, "")  # maps of strings (labels) give their zero value
        elif isinstance(value, (list, tuple, str)) and isinstance(key, int):
            if not 0 <= key < len(value):
                raise TemplateError(f"index out of range: {key}")
            value = value[key]
        else:
            raise TemplateError(f"can't index item of type {go_type_name(value)}")
    return value


def _sprint(*args: Any) -> str:
    """fmt.Sprint: a space between operands when neither is a string."""
    out = ""
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out += " "
        out += go_string(arg)
    return out


_VERB = re.compile(r"%([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])")


def _sprintf(fmt: str, *args: Any) -> str:
    """fmt.Sprintf for the common verbs: %s %v %d %q %t %f %g %e %x %%."""
    queue = list(args)

    def one(match: re.Match) -> str:
        flags, width, precision, verb = match.groups()
        if verb == "%":
            return "%"
        if not queue:
            return f"%!{verb}(MISSING)"
        arg = queue.pop(0)
        spec = f"%{flags}{width or ''}{'.' + precision if precision else ''}"
        if verb in "sv":
            return (spec + "s") % go_string(arg)
        if verb == "q":
            return (spec + "s") % json.dumps(go_string(arg), ensure_ascii=False)
        if verb == "t":
            return go_string(bool(arg))
        if verb in "dxXo" and isinstance(arg, int):
            return (spec + verb) % arg
        if verb in "feEgG" and isinstance(arg, (int, float)):
            return (spec + verb) % arg
        return f"%!{verb}({go_type_name(arg)}={go_string(arg)})"

    return _VERB.sub(one, fmt)


def _title(text: str) -> str:
    """Upper-case the first letter of each word, leave the rest (cases.Title with NoLower)."""
    return re.sub(r"\w+", lambda m: m.group(0)[0].upper() + m.group(0)[1:], text)


def _truncate(text: str, length: int) -> str:
    return text if len(text) < length else text[:length]


def _pad(text: str, prefix: int, suffix: int) -> str:
    return text and " " * prefix + text + " " * suffix


def _eq(first: Any, *others: Any) -> bool:
    return any(first == other for other in others)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    # docker's own (cli/templates/templates.go basicFunctions)
    "json": go_json,
    "split": lambda text, sep: text.split(sep),
    "join": lambda items, sep: sep.join(go_string(i) for i in items),
    "title": _title,
    "lower": lambda text: text.lower(),
    "upper": lambda text: text.upper(),
    "pad": _pad,
    "truncate": _truncate,
    # Go's builtins
    "len": _len,
    "index": _index,
    "print": _sprint,
    "printf": _sprintf,
    "println": lambda *args: " ".join(go_string(a) for a in args) + "\n",
    "not": lambda value: not truth(value),
    "and": lambda *args: next((a for a in args if not truth(a)), args[-1]),
    "or": lambda *args: next((a for a in args if truth(a)), args[-1]),
    "eq": _eq,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}

# Table headers are rendered by the same template against a map of header
# names; docker swaps the string functions for ones that return their first
# argument unchanged, so `{{upper .Names}}` still heads its column `NAMES`.
HEADER_FUNCTIONS: dict[str, Callable[..., Any]] = {
    **FUNCTIONS,
    **{name: (lambda value, *_: value) for name in ("json", "split", "join", "title", "lower", "upper", "pad", "truncate")},
}


def go_type_name(value: Any) -> str:
    """The Go type a JSON value decodes to, for error messages."""
    if value is None or value is NO_VALUE:
        return "interface {}"
    return getattr(value, "go_type", None) or {
        bool: "bool", int: "int", float: "float64", str: "string", list: "[]interface {}",
        tuple: "[]interface {}", dict: "map[string]interface {}",
    }.get(type(value), type(value).__name__)


# -- the tree ------------------------------------------------------------------
# NamedTuples, not dataclasses: this module loads on every `minidock ps`.

class Field(NamedTuple):
    """`.A.B`, `$x.A`, `$`, `.`: a walk from dot (var=None) or a variable."""

    pos: int
    text: str
    var: str | None
    names: list[str]


class Literal(NamedTuple):
    pos: int
    text: str
    value: Any


class Function(NamedTuple):
    pos: int
    text: str
    name: str


class Command(NamedTuple):
    pos: int
    text: str
    args: list[Any]  # Field | Literal | Function | Pipeline


class Pipeline(NamedTuple):
    pos: int
    decl: list[str]
    cmds: list[Command]


class Action(NamedTuple):
    pipe: Pipeline


class Block(NamedTuple):
    """{{if}}, {{range}} or {{with}}: a pipeline, a body and an optional else."""

    kind: str
    pipe: Pipeline
    body: list[Any]
    else_body: list[Any]


# -- lexing and parsing --------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
  | (?P<field>(?:\$[A-Za-z_0-9]*)?(?:\.[A-Za-z_][A-Za-z_0-9]*)+|\.|\$[A-Za-z_0-9]*)
  | (?P<ident>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<punct>:=|\||\(|\)|,)
""", re.VERBOSE)


class _Tag(NamedTuple):
    """One `{{...}}` found in the text: its tokens and where it started."""

    pos: int
    tokens: list[tuple[str, str, int]]  # (kind, text, position)


class Parser:
    def __init__(self, source: str, functions: dict[str, Callable[..., Any]]) -> None:
        self.source = source
        self.functions = functions
        self.items: list[str | _Tag] = self._lex()
        self.at = 0

    def error(self, pos: int, message: str) -> TemplateError:
        line = self.source.count("\n", 0, pos) + 1
        return TemplateError(f"template: :{line}: {message}")

    # Lexing: text between tags, and each tag's tokens.
    def _lex(self) -> list[str | _Tag]:
        items: list[str | _Tag] = []
        pos = 0
        while (start := self.source.find("{{", pos)) != -1:
            items.append(self.source[pos:start])
            inner = start + 2
            end = self._find_close(inner)
            body = self.source[inner:end]
            if re.match(r"-\s", body):  # `{{- ` trims the space before the tag
                items[-1] = items[-1].rstrip()
                body, inner = body[1:], inner + 1
            trim_after = bool(re.search(r"\s-$", body))
            if trim_after:
                body = body[:-1]
            pos = end + 2
            if body.strip().startswith("/*"):
                if not body.strip().endswith("*/"):
                    raise self.error(start, "unclosed comment")
            else:
                items.append(_Tag(start, self._tokens(body, inner)))
            if trim_after:
                rest = self.source[pos:]
                pos += len(rest) - len(rest.lstrip())
        items.append(self.source[pos:])
        return [item for item in items if item != ""]

    def _find_close(self, pos: int) -> int:
        quote = None
        while pos < len(self.source):
            char = self.source[pos]
            if quote:
                if char == "\\" and quote == '"':
                    pos += 1
                elif char == quote:
                    quote = None
            elif char in "\"`":
                quote = char
            elif self.source.startswith("}}", pos):
                return pos
            pos += 1
        raise self.error(pos, "unclosed action")

    def _tokens(self, body: str, offset: int) -> list[tuple[str, str, int]]:
        tokens, pos = [], 0
        while pos < len(body):
            match = _TOKEN.match(body, pos)
            if match is None:
                raise self.error(offset + pos, f"unexpected {body[pos]!r} in command".replace("'", '"'))
            if match.lastgroup != "space":
                tokens.append((match.lastgroup, match.group(), offset + pos))
            pos = match.end()
        return tokens

    # Parsing: a list of nodes until {{end}} / {{else}}.
    def parse(self) -> list[Any]:
        nodes, stop = self._list()
        if stop is not None:
            raise self.error(stop.pos, f"unexpected {{{{{stop.tokens[0][1]}}}}}")
        return nodes

    def _list(self) -> tuple[list[Any], _Tag | None]:
        nodes: list[Any] = []
        while self.at < len(self.items):
            item = self.items[self.at]
            self.at += 1
            if isinstance(item, str):
                nodes.append(item)
                continue
            if not item.tokens:
                raise self.error(item.pos, "missing value for command")
            keyword = item.tokens[0][1] if item.tokens[0][0] == "ident" else None
            if keyword in ("end", "else"):
                return nodes, item
            if keyword in ("if", "range", "with"):
                nodes.append(self._block(keyword, item, item.tokens[1:]))
            else:
                nodes.append(Action(self._pipeline(item.tokens, item.pos)))
        return nodes, None

    def _block(self, kind: str, tag: _Tag, tokens: list[tuple[str, str, int]]) -> Block:
        if not tokens:
            raise self.error(tag.pos, f"missing value for {kind}")
        pipe = self._pipeline(tokens, tag.pos)
        body, stop = self._list()
        if stop is None:
            raise self.error(len(self.source), "unexpected EOF")
        if stop.tokens[0][1] == "end":
            return Block(kind, pipe, body, [])
        rest = stop.tokens[1:]
        if rest and rest[0][1] in ("if", "with"):  # {{else if x}} is {{else}}{{if x}}...{{end}}
            return Block(kind, pipe, body, [self._block(rest[0][1], stop, rest[1:])])
        else_body, stop = self._list()
        if stop is None:
            raise self.error(len(self.source), "unexpected EOF")
        if stop.tokens[0][1] != "end":
            raise self.error(stop.pos, "expected end; found {{else}}")
        return Block(kind, pipe, body, else_body)

    def _pipeline(self, tokens: list[tuple[str, str, int]], pos: int) -> Pipeline:
        decl: list[str] = []
        if any(t[1] == ":=" for t in tokens[:4]):  # `$v :=` or `$i, $v :=`
            cut = next(i for i, t in enumerate(tokens) if t[1] == ":=")
            decl = [t[1] for t in tokens[:cut] if t[1] != ","]
            if not 1 <= len(decl) <= 2 or not all(re.fullmatch(r"\$\w+", name) for name in decl):
                raise self.error(pos, "bad declaration")
            tokens = tokens[cut + 1:]
        cmds: list[Command] = []
        current: list[Any] = []
        i = 0
        while i < len(tokens):
            kind, text, tpos = tokens[i]
            if text == "|":
                if not current:
                    raise self.error(tpos, "missing command")
                cmds.append(self._command(current))
                current = []
            elif text == "(":
                depth, j = 1, i + 1
                while j < len(tokens) and depth:
                    depth += {"(": 1, ")": -1}.get(tokens[j][1], 0)
                    j += 1
                if depth:
                    raise self.error(tpos, "unclosed left paren")
                current.append(self._pipeline(tokens[i + 1:j - 1], tpos))
                i = j
                continue
            elif text == ")":
                raise self.error(tpos, "unexpected right paren")
            else:
                current.append(self._operand(kind, text, tpos))
            i += 1
        if not current:
            raise self.error(pos, "missing value for command")
        cmds.append(self._command(current))
        return Pipeline(pos, decl, cmds)

    def _command(self, args: list[Any]) -> Command:
        text = " ".join(getattr(a, "text", "(...)") for a in args)
        return Command(args[0].pos, text, args)

    def _operand(self, kind: str, text: str, pos: int) -> Any:
        if kind == "string":
            return Literal(pos, text, json.loads(text) if "\\" in text else text[1:-1])
        if kind == "raw":
            return Literal(pos, text, text[1:-1])
        if kind == "number":
            return Literal(pos, text, float(text) if any(c in text for c in ".eE") else int(text))
        if kind == "field":
            var, _, chain = text.partition(".") if text.startswith("$") else (None, "", text[1:])
            names = chain.split(".") if chain else []
            # Go places a chain where it starts to chain: `.Config.Labels` is
            # "at" .Labels, `$c.Name` at .Name (the column in error messages).
            if var:
                where = pos + len(var) if names else pos
            else:
                where = pos + len(names[0]) + 1 if len(names) > 1 else pos
            return Field(where, text, var, names)
        if kind == "ident":
            if text in ("true", "false"):
                return Literal(pos, text, text == "true")
            if text == "nil":
                return Literal(pos, text, None)
            if text not in self.functions:
                raise self.error(pos, f'function "{text}" not defined')
            return Function(pos, text, text)
        raise self.error(pos, f"unexpected {text!r} in operand".replace("'", '"'))


# -- execution -----------------------------------------------------------------

class _Exec:
    def __init__(self, source: str, functions: dict[str, Callable[..., Any]], missingkey: str) -> None:
        self.source = source
        self.functions = functions
        self.missingkey = missingkey

    def error(self, node: Any, message: str) -> TemplateError:
        before = self.source[:node.pos]
        line = before.count("\n") + 1
        column = node.pos - (before.rfind("\n") + 1)
        return TemplateError(f'template: :{line}:{column}: executing "" at <{node.text}>: {message}')

    def run(self, nodes: list[Any], dot: Any, variables: dict[str, Any], out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, str):
                out.append(node)
            elif isinstance(node, Action):
                value = self.pipeline(node.pipe, dot, variables)
                if not node.pipe.decl:
                    out.append(go_string(value))
            else:
                self.block(node, dot, dict(variables), out)

    def block(self, node: Block, dot: Any, variables: dict[str, Any], out: list[str]) -> None:
        value = self.pipeline(node.pipe, dot, variables, declare=node.kind != "range")
        if node.kind != "range":
            if truth(value):
                self.run(node.body, value if node.kind == "with" else dot, variables, out)
            else:
                self.run(node.else_body, dot, variables, out)
            return
        if isinstance(value, dict):
            pairs = [(key, value[key]) for key in sorted(value)]
        elif isinstance(value, (list, tuple)):
            pairs = list(enumerate(value))
        elif value is None or value is NO_VALUE:
            pairs = []
        else:
            raise self.error(node.pipe.cmds[0], f"range can't iterate over {go_string(value)}")
        for key, item in pairs:
            scope = dict(variables)
            if len(node.pipe.decl) == 1:
                scope[node.pipe.decl[0]] = item
            elif len(node.pipe.decl) == 2:
                scope[node.pipe.decl[0]], scope[node.pipe.decl[1]] = key, item
            self.run(node.body, item, scope, out)
        if not pairs:
            self.run(node.else_body, dot, variables, out)

    def pipeline(self, pipe: Pipeline, dot: Any, variables: dict[str, Any], declare: bool = True) -> Any:
        value: Any = _MISSING
        for cmd in pipe.cmds:
            value = self.command(cmd, dot, variables, value)
        if declare:
            for name in pipe.decl:
                variables[name] = value
        return value

    def command(self, cmd: Command, dot: Any, variables: dict[str, Any], final: Any) -> Any:
        first, rest = cmd.args[0], cmd.args[1:]
        if isinstance(first, Function):
            args = [self.argument(arg, dot, variables) for arg in rest]
            if final is not _MISSING:
                args.append(final)
            try:
                return self.functions[first.name](*args)
            except TemplateError as exc:
                raise self.error(cmd, f"error calling {first.name}: {exc}") from None
            except (TypeError, ValueError, AttributeError, KeyError) as exc:
                raise self.error(cmd, f"error calling {first.name}: {exc}") from None
        if isinstance(first, Field) and (rest or final is not _MISSING):
            args = [self.argument(arg, dot, variables) for arg in rest]
            if final is not _MISSING:
                args.append(final)
            return self.field(first, dot, variables, args)
        if rest or final is not _MISSING:
            raise self.error(cmd, f"can't give argument to non-function {first.text}")
        return self.argument(first, dot, variables)

    def argument(self, node: Any, dot: Any, variables: dict[str, Any]) -> Any:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Pipeline):
            return self.pipeline(node, dot, variables, declare=False)
        if isinstance(node, Function):
            return self.command(Command(node.pos, node.text, [node]), dot, variables, _MISSING)
        return self.field(node, dot, variables, None)

    def field(self, node: Field, dot: Any, variables: dict[str, Any], args: list[Any] | None) -> Any:
        if node.var is None:
            value = dot
        elif node.var in variables:
            value = variables[node.var]
        else:
            raise self.error(node, f"undefined variable: {node.var}")
        for i, name in enumerate(node.names):
            last = i == len(node.names) - 1
            value = self.lookup(node, value, name, args if last else None)
        if args and not node.names:
            raise self.error(node, f"can't give argument to non-function {node.text}")
        return value

    def lookup(self, node: Field, receiver: Any, name: str, args: list[Any] | None) -> Any:
        if isinstance(receiver, dict):
            if name in receiver:
                value = receiver[name]
                if callable(value):  # a method, like {{.Label "app"}}
                    try:
                        return value(*(args or []))
                    except TypeError:
                        raise self.error(node, f"wrong number of args for {name}: got {len(args or [])}") from None
                if args:
                    raise self.error(node, f"{name} is not a method but has arguments")
                return value
            if isinstance(receiver, Struct):
                raise self.error(node, f"can't evaluate field {name} in type {receiver.go_type}")
            if self.missingkey == "error" or (self.missingkey == "exported" and name[:1].isupper()):
                raise self.error(node, f'map has no entry for key "{name}"')
            return NO_VALUE
        if receiver is NO_VALUE:
            if self.missingkey != "default":
                raise self.error(node, f'nil data; no entry for key "{name}"')
            return NO_VALUE
        if receiver is None:
            raise self.error(node, f"nil pointer evaluating interface {{}}.{name}")
        raise self.error(node, f"can't evaluate field {name} in type {go_type_name(receiver)}")


class Template:
    """A parsed template; `execute` it against any number of data values."""

    def __init__(self, source: str, nodes: list[Any], functions: dict[str, Callable[..., Any]]) -> None:
        self.source = source
        self.nodes = nodes
        self.functions = functions

    def execute(self, data: Any, missingkey: str = "default", functions: dict[str, Callable[..., Any]] | None = None,
                out: list[str] | None = None) -> str:
        """Render `data`; pass `out` to keep what was written before an error (docker's headers do)."""
        out = [] if out is None else out
        runner = _Exec(self.source, functions or self.functions, missingkey)
        runner.run(self.nodes, data, {"$": data}, out)
        return "".join(out)


def parse(source: str, functions: dict[str, Callable[..., Any]] | None = None) -> Template:
    """Parse once, or raise `TemplateError("template: :1: ...")`."""
    functions = functions or FUNCTIONS
    return Template(source, Parser(source, functions).parse(), functions)


def render(template: str, data: Any, missingkey: str = "default") -> str:
    """Parse `template` and execute it on `data` in one step."""
    return parse(template).execute(data, missingkey)
