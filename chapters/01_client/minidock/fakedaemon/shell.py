"""`sh`: a small POSIX-shell imitation for the fake daemon's containers.

Enough of busybox's ash for the commands people type in examples:
`sh -c 'echo out; echo err >&2; exit 3'`, `while true; do echo tick; sleep 1; done`,
`i=$((i+1))`, `a && b || c`, `echo $HOME > /tmp/f`, `for x in 1 2; do ...; done`,
`if [ -f /x ]; then ...; fi`, pipes, and an interactive prompt (`/ # `).

It is three small stages, as in any shell: `tokenize` turns text into words
and operators (keeping quoting, since expansion happens later), `Parser`
builds a tree of commands, and `Shell` runs the tree, expanding words at the
moment a command runs (so a loop sees the variable's new value each time).
Pipes are run one command after the other with the output buffered: good
enough for `echo hi | cat`, not for `yes | head`.
"""

from __future__ import annotations

import ast
import operator
import posixpath
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from minidock.fakedaemon.filetree import DIR, TreeError
from minidock.fakedaemon.runtime import SIGINT, Context, Killed, bytes_reader

KEYWORDS = {"if", "then", "elif", "else", "fi", "while", "until", "for", "in", "do", "done", "{", "}", "!"}
OPERATORS = ("&&", "||", ";;", ";", "&", "|", "(", ")", "\n")


class ShellSyntaxError(Exception):
    pass


class Incomplete(ShellSyntaxError):
    """The input ends inside a construct: read another line (PS2) and try again."""


class ShellExit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class LoopControl(Exception):
    def __init__(self, kind: str, depth: int) -> None:
        super().__init__(kind)
        self.kind, self.depth = kind, depth


# ---------------------------------------------------------------- tokens ----
@dataclass
class Word:
    """A word before expansion: parts of (kind, text, quoted); kind is lit, var, arith or cmd."""

    parts: list[tuple[str, str, bool]] = field(default_factory=list)

    def literal(self) -> str | None:
        """The text, if the word is plain unquoted literal text (a keyword candidate)."""
        if all(kind == "lit" and not quoted for kind, _, quoted in self.parts):
            return "".join(text for _, text, _ in self.parts)
        return None


@dataclass
class Op:
    text: str


@dataclass
class Redir:
    fd: int
    op: str  # > >> < >& <&
    target: Word | None = None


Token = Word | Op | Redir


def _read_dollar(text: str, i: int) -> tuple[tuple[str, str], int]:
    """Parse what follows a `$` at text[i]; return ((kind, body), next index)."""
    if text.startswith("((", i):
        depth, j = 0, i
        while j < len(text):
            if text[j] == "(":
                depth += 1
            elif text[j] == ")":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        if j >= len(text):
            raise Incomplete("unterminated $((")
        return ("arith", text[i + 2:j - 1]), j + 1
    if text.startswith("(", i):
        depth, j, quote = 0, i, ""
        while j < len(text):
            char = text[j]
            if quote:
                if char == quote:
                    quote = ""
            elif char in "'\"":
                quote = char
            elif char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if depth == 0:
                    return ("cmd", text[i + 1:j]), j + 1
            j += 1
        raise Incomplete("unterminated $(")
    if text.startswith("{", i):
        end = text.find("}", i)
        if end < 0:
            raise Incomplete("unterminated ${")
        return ("var", text[i + 1:end]), end + 1
    if i < len(text) and text[i] in "?$#@*!0123456789-":
        return ("var", text[i]), i + 1
    j = i
    while j < len(text) and (text[j].isalnum() or text[j] == "_"):
        j += 1
    if j == i:
        return ("lit", "$"), i
    return ("var", text[i:j]), j


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    word: Word | None = None
    i = 0

    def add(kind: str, value: str, quoted: bool) -> None:
        nonlocal word
        if word is None:
            word = Word()
        word.parts.append((kind, value, quoted))

    def end_word() -> None:
        nonlocal word
        if word is not None:
            tokens.append(word)
            word = None

    while i < len(text):
        char = text[i]
        if char in " \t":
            end_word()
            i += 1
        elif char == "#" and word is None:
            while i < len(text) and text[i] != "\n":
                i += 1
        elif char == "\\":
            if i + 1 >= len(text):
                raise Incomplete("line continuation")
            if text[i + 1] != "\n":
                add("lit", text[i + 1], True)
            i += 2
        elif char == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise Incomplete("unterminated quoted string")
            add("lit", text[i + 1:end], True)
            i = end + 1
        elif char == '"':
            i += 1
            if word is None:
                word = Word()
            word.parts.append(("lit", "", True))  # "" is a word even when empty
            while True:
                if i >= len(text):
                    raise Incomplete("unterminated quoted string")
                char = text[i]
                if char == '"':
                    i += 1
                    break
                if char == "\\" and i + 1 < len(text) and text[i + 1] in '$`"\\\n':
                    if text[i + 1] != "\n":
                        add("lit", text[i + 1], True)
                    i += 2
                elif char == "$":
                    (kind, body), i = _read_dollar(text, i + 1)
                    add(kind, body, True)
                else:
                    add("lit", char, True)
                    i += 1
        elif char == "$":
            (kind, body), i = _read_dollar(text, i + 1)
            add(kind, body, False)
        elif char in "<>":
            fd = 1 if char == ">" else 0
            if word is not None and word.literal() is not None and word.literal().isdigit():
                fd = int(word.literal())
                word = None
            end_word()
            op = char
            if text.startswith(">>", i):
                op = ">>"
            elif text.startswith(">&", i) or text.startswith("<&", i):
                op = char + "&"
            elif text.startswith(">|", i):
                op = ">"
                i += 1
            i += len(op)
            tokens.append(Redir(fd, op))
        elif any(text.startswith(op, i) for op in OPERATORS):
            end_word()
            op = next(op for op in OPERATORS if text.startswith(op, i))
            tokens.append(Op(op))
            i += len(op)
        else:
            add("lit", char, False)
            i += 1
    end_word()
    # A redirection's target is the word after it.
    result: list[Token] = []
    for token in tokens:
        if result and isinstance(result[-1], Redir) and result[-1].target is None:
            if not isinstance(token, Word):
                raise ShellSyntaxError(f"syntax error: unexpected {describe(token)}")
            result[-1].target = token
            continue
        result.append(token)
    if result and isinstance(result[-1], Redir) and result[-1].target is None:
        raise ShellSyntaxError("syntax error: unexpected newline")
    return result


def describe(token: Token | None) -> str:
    if token is None:
        return "end of file"
    if isinstance(token, Op):
        return "newline" if token.text == "\n" else f'"{token.text}"'
    if isinstance(token, Word):
        return f'"{token.literal() or "word"}"'
    return "redirection"


# ---------------------------------------------------------------- syntax tree ----
@dataclass
class Simple:
    assignments: list[tuple[str, Word]]
    words: list[Word]
    redirs: list[Redir]


@dataclass
class Compound:
    kind: str  # if, while, until, for, group, subshell
    parts: list  # depends on kind
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class Pipeline:
    commands: list
    negate: bool = False


@dataclass
class AndOr:
    first: Pipeline
    rest: list[tuple[str, Pipeline]]


@dataclass
class ListNode:
    items: list[tuple[AndOr, bool]]  # (command, run in background)


class Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self) -> Token | None:
        token = self.peek()
        self.pos += 1
        return token

    def is_op(self, text: str) -> bool:
        token = self.peek()
        return isinstance(token, Op) and token.text == text

    def is_word(self, text: str) -> bool:
        token = self.peek()
        return isinstance(token, Word) and token.literal() == text

    def skip_newlines(self) -> None:
        while self.is_op("\n"):
            self.pos += 1

    def expect_word(self, text: str) -> None:
        self.skip_newlines()
        if not self.is_word(text):
            token = self.peek()
            if token is None:
                raise Incomplete(f"expecting {text}")
            raise ShellSyntaxError(f"syntax error: unexpected {describe(token)} (expecting \"{text}\")")
        self.pos += 1

    def parse(self) -> ListNode:
        node = self.parse_list(stop=())
        if self.peek() is not None:
            raise ShellSyntaxError(f"syntax error: unexpected {describe(self.peek())}")
        return node

    def parse_list(self, stop: tuple[str, ...]) -> ListNode:
        items: list[tuple[AndOr, bool]] = []
        while True:
            self.skip_newlines()
            token = self.peek()
            if token is None or (isinstance(token, Word) and token.literal() in stop) or self.is_op(")"):
                break
            if isinstance(token, Op) and token.text in (";", "&", "&&", "||", "|", ";;"):
                raise ShellSyntaxError(f"syntax error: unexpected {describe(token)}")
            command = self.parse_and_or()
            background = False
            if self.is_op("&"):
                background = True
                self.pos += 1
            elif self.is_op(";") or self.is_op("\n"):
                self.pos += 1
            items.append((command, background))
        return ListNode(items)

    def parse_and_or(self) -> AndOr:
        first = self.parse_pipeline()
        rest = []
        while self.is_op("&&") or self.is_op("||"):
            op = self.next().text
            self.skip_newlines()
            if self.peek() is None:
                raise Incomplete(op)
            rest.append((op, self.parse_pipeline()))
        return AndOr(first, rest)

    def parse_pipeline(self) -> Pipeline:
        negate = False
        if self.is_word("!"):
            negate = True
            self.pos += 1
        commands = [self.parse_command()]
        while self.is_op("|"):
            self.pos += 1
            self.skip_newlines()
            if self.peek() is None:
                raise Incomplete("|")
            commands.append(self.parse_command())
        return Pipeline(commands, negate)

    def parse_command(self):  # noqa: ANN201 - Simple | Compound
        token = self.peek()
        keyword = token.literal() if isinstance(token, Word) else None
        compound_parsers = {"if": self.parse_if, "while": self.parse_while, "until": self.parse_until,
                            "for": self.parse_for, "{": self.parse_group}
        if keyword in compound_parsers:
            self.pos += 1
            node = compound_parsers[keyword]()
            node.redirs = self.parse_redirs()
            return node
        if self.is_op("("):
            self.pos += 1
            body = self.parse_list(stop=())
            if not self.is_op(")"):
                raise Incomplete(")")
            self.pos += 1
            return Compound("subshell", [body], self.parse_redirs())
        return self.parse_simple()

    def parse_redirs(self) -> list[Redir]:
        redirs = []
        while isinstance(self.peek(), Redir):
            redirs.append(self.next())
        return redirs

    def parse_simple(self) -> Simple:
        assignments, words, redirs = [], [], []
        while True:
            token = self.peek()
            if isinstance(token, Redir):
                redirs.append(self.next())
            elif isinstance(token, Word):
                name = self._assignment_name(token) if not words else None
                if name:
                    assignments.append((name, self._after_equals(token)))
                    self.pos += 1
                    continue
                words.append(self.next())
            else:
                break
        if not (assignments or words or redirs):
            token = self.peek()
            if token is None:
                raise Incomplete("command")
            raise ShellSyntaxError(f"syntax error: unexpected {describe(token)}")
        return Simple(assignments, words, redirs)

    @staticmethod
    def _assignment_name(word: Word) -> str | None:
        """`NAME=...`: the name is unquoted literal text before the first `=`."""
        name = ""
        for kind, text, quoted in word.parts:
            if kind != "lit" or quoted:
                return None
            before, eq, _ = text.partition("=")
            name += before
            if eq:
                valid = name and (name[0].isalpha() or name[0] == "_") and \
                    all(c.isalnum() or c == "_" for c in name)
                return name if valid else None
        return None

    @staticmethod
    def _after_equals(word: Word) -> Word:
        parts, seen = [], False
        for kind, text, quoted in word.parts:
            if not seen and kind == "lit" and not quoted and "=" in text:
                seen = True
                text = text.split("=", 1)[1]
                if text:
                    parts.append((kind, text, quoted))
                continue
            if seen:
                parts.append((kind, text, quoted))
        return Word(parts or [("lit", "", True)])

    def parse_if(self) -> Compound:
        branches = []
        condition = self.parse_list(stop=("then",))
        self.expect_word("then")
        body = self.parse_list(stop=("elif", "else", "fi"))
        branches.append((condition, body))
        otherwise = None
        while True:
            self.skip_newlines()
            if self.is_word("elif"):
                self.pos += 1
                condition = self.parse_list(stop=("then",))
                self.expect_word("then")
                branches.append((condition, self.parse_list(stop=("elif", "else", "fi"))))
            elif self.is_word("else"):
                self.pos += 1
                otherwise = self.parse_list(stop=("fi",))
            else:
                self.expect_word("fi")
                return Compound("if", [branches, otherwise])

    def parse_while(self, kind: str = "while") -> Compound:
        condition = self.parse_list(stop=("do",))
        self.expect_word("do")
        body = self.parse_list(stop=("done",))
        self.expect_word("done")
        return Compound(kind, [condition, body])

    def parse_until(self) -> Compound:
        return self.parse_while("until")

    def parse_for(self) -> Compound:
        token = self.next()
        if not isinstance(token, Word) or not token.literal():
            raise Incomplete("for") if token is None else ShellSyntaxError("syntax error: bad for loop variable")
        name = token.literal()
        words = None
        self.skip_newlines()
        if self.is_word("in"):
            self.pos += 1
            words = []
            while isinstance(self.peek(), Word) and self.peek().literal() != "do":
                words.append(self.next())
        if self.is_op(";"):
            self.pos += 1
        self.expect_word("do")
        body = self.parse_list(stop=("done",))
        self.expect_word("done")
        return Compound("for", [name, words, body])

    def parse_group(self) -> Compound:
        body = self.parse_list(stop=("}",))
        self.expect_word("}")
        return Compound("group", [body])


def parse(text: str) -> ListNode:
    return Parser(tokenize(text)).parse()


# ---------------------------------------------------------------- arithmetic ----
_ARITH_OPS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Mod: lambda a, b: int(a - b * int(a / b)), ast.Div: lambda a, b: int(a / b),
    ast.FloorDiv: lambda a, b: int(a / b), ast.Pow: operator.pow,
    ast.LShift: operator.lshift, ast.RShift: operator.rshift,
    ast.BitAnd: operator.and_, ast.BitOr: operator.or_, ast.BitXor: operator.xor,
}
_CMP_OPS = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
            ast.Eq: operator.eq, ast.NotEq: operator.ne}


def arithmetic(expr: str, lookup: Callable[[str], str]) -> int:
    """`$(( ))`: integers, + - * / % ** << >> & | ^, comparisons, && || !, variables by name."""
    source = expr.replace("&&", " and ").replace("||", " or ").replace("/", "//")
    source = source.replace("!=", "\0").replace("!", " not ").replace("\0", "!=")
    try:
        tree = ast.parse(source.strip() or "0", mode="eval")
    except SyntaxError:
        raise ShellSyntaxError(f"arithmetic syntax error: {expr.strip()}") from None

    def value(node: ast.AST) -> int:
        if isinstance(node, ast.Expression):
            return value(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name):
            text = lookup(node.id).strip() or "0"
            try:
                return int(text)
            except ValueError:
                raise ShellSyntaxError(f"arithmetic syntax error: {text}") from None
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITH_OPS:
            left, right = value(node.left), value(node.right)
            if isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod)) and right == 0:
                raise ShellSyntaxError("divide by zero")
            if isinstance(node.op, ast.Pow) and right > 64:
                raise ShellSyntaxError("exponent too large")
            return int(_ARITH_OPS[type(node.op)](left, right))
        if isinstance(node, ast.UnaryOp):
            operand = value(node.operand)
            return {ast.USub: -operand, ast.UAdd: operand, ast.Not: int(not operand),
                    ast.Invert: ~operand}[type(node.op)]
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _CMP_OPS:
            return int(_CMP_OPS[type(node.ops[0])](value(node.left), value(node.comparators[0])))
        if isinstance(node, ast.BoolOp):
            results = [value(v) for v in node.values]
            return int(all(results) if isinstance(node.op, ast.And) else any(results))
        raise ShellSyntaxError(f"arithmetic syntax error: {expr.strip()}")

    return value(tree)


# ---------------------------------------------------------------- execution ----
class Shell:
    """One shell process's state: variables, positional parameters, last status."""

    def __init__(self, ctx: Context, name: str = "sh", args: list[str] | None = None) -> None:
        self.ctx = ctx
        self.vars: dict[str, str] = dict(ctx.env)
        self.exported: set[str] = set(ctx.env)
        self.name = name
        self.args = list(args or [])
        self.status = 0
        self.loop_depth = 0
        self.jobs: list[threading.Thread] = []

    # -- entry points -------------------------------------------------------
    def run_text(self, text: str, ctx: Context | None = None) -> int:
        try:
            tree = parse(text)
        except Incomplete as exc:
            (ctx or self.ctx).error(f"{self.name}: syntax error: {exc}\n")
            self.status = 2
            return 2
        except ShellSyntaxError as exc:
            (ctx or self.ctx).error(f"{self.name}: {exc}\n")
            self.status = 2
            return 2
        return self.run_list(tree, ctx or self.ctx)

    # -- nodes --------------------------------------------------------------
    def run_list(self, node: ListNode, ctx: Context) -> int:
        for command, background in node.items:
            if background:
                job = threading.Thread(target=self._background, args=(command, ctx), daemon=True)
                job.start()
                self.jobs.append(job)
                self.status = 0
            else:
                self.status = self.run_and_or(command, ctx)
        return self.status

    def _background(self, command: AndOr, ctx: Context) -> None:
        try:
            self.run_and_or(command, ctx.derive(stdin=bytes_reader(b"")))
        except (Killed, ShellExit, LoopControl):
            pass

    def run_and_or(self, node: AndOr, ctx: Context) -> int:
        status = self.run_pipeline(node.first, ctx)
        for op, pipeline in node.rest:
            if (op == "&&" and status == 0) or (op == "||" and status != 0):
                status = self.run_pipeline(pipeline, ctx)
        return status

    def run_pipeline(self, node: Pipeline, ctx: Context) -> int:
        stdin = ctx.stdin
        status = 0
        for index, command in enumerate(node.commands):
            last = index == len(node.commands) - 1
            if last:
                status = self.run_command(command, ctx.derive(stdin=stdin))
            else:
                captured = bytearray()
                self.run_command(command, ctx.derive(stdin=stdin, out=captured.extend, interactive_tty=False))
                stdin = bytes_reader(bytes(captured))
        self.status = status
        return int(not status) if node.negate else status

    def run_command(self, node, ctx: Context) -> int:  # noqa: ANN001
        self.ctx.check()
        ctx = ctx.derive(cwd=self.ctx.cwd)  # `cd` changes the shell's directory for what follows
        try:
            ctx = self.apply_redirs(node.redirs, ctx)
        except _RedirError as exc:
            ctx.error(f"{self.name}: {exc}\n")
            return 1
        if isinstance(node, Simple):
            return self.run_simple(node, ctx)
        kind = node.kind
        if kind == "if":
            branches, otherwise = node.parts
            for condition, body in branches:
                if self.run_list(condition, ctx) == 0:
                    return self.run_list(body, ctx)
            return self.run_list(otherwise, ctx) if otherwise else 0
        if kind in ("while", "until"):
            condition, body = node.parts
            status = 0
            self.loop_depth += 1
            try:
                while True:
                    self.ctx.check()
                    result = self.run_list(condition, ctx)
                    if (result == 0) != (kind == "while"):
                        break
                    try:
                        status = self.run_list(body, ctx)
                    except LoopControl as control:
                        if control.depth > 1:
                            raise LoopControl(control.kind, control.depth - 1) from None
                        if control.kind == "break":
                            break
            finally:
                self.loop_depth -= 1
            return status
        if kind == "for":
            name, words, body = node.parts
            values = self.expand_words(words, ctx) if words is not None else list(self.args)
            status = 0
            self.loop_depth += 1
            try:
                for item in values:
                    self.ctx.check()
                    self.vars[name] = item
                    try:
                        status = self.run_list(body, ctx)
                    except LoopControl as control:
                        if control.depth > 1:
                            raise LoopControl(control.kind, control.depth - 1) from None
                        if control.kind == "break":
                            break
            finally:
                self.loop_depth -= 1
            return status
        if kind == "group":
            return self.run_list(node.parts[0], ctx)
        if kind == "subshell":
            child = Shell(ctx, self.name, self.args)
            child.vars, child.exported, child.status = dict(self.vars), set(self.exported), self.status
            try:
                return child.run_list(node.parts[0], ctx.derive(cwd=ctx.cwd))
            except ShellExit as done:
                return done.code
        raise AssertionError(kind)

    def run_simple(self, node: Simple, ctx: Context) -> int:
        values = [(name, self.expand_word(word, ctx, split=False)[0]) for name, word in node.assignments]
        argv = self.expand_words(node.words, ctx)
        if not argv:
            for name, value in values:
                self.vars[name] = value
            return 0
        env = {k: v for k, v in self.vars.items() if k in self.exported}
        env.update(values)
        ctx = ctx.derive(env=env, argv=argv)
        builtin = BUILTINS.get(argv[0])
        if builtin is not None:
            return builtin(self, ctx, argv)
        from minidock.fakedaemon.programs import PROGRAMS, find_program

        # ash has these built in: they work even where /bin holds no such file.
        program = PROGRAMS[argv[0]] if argv[0] in APPLET_BUILTINS else find_program(argv[0], ctx)
        if program is None:
            ctx.error(f"{self.name}: {argv[0]}: not found\n")
            return 127
        return program(ctx)

    # -- expansion ----------------------------------------------------------
    def lookup(self, name: str) -> str:
        if name == "?":
            return str(self.status)
        if name == "$":
            return "1"
        if name == "#":
            return str(len(self.args))
        if name in ("@", "*"):
            return " ".join(self.args)
        if name == "0":
            return self.name
        if name.isdigit():
            index = int(name)
            return self.args[index - 1] if index <= len(self.args) else ""
        if name == "PWD":
            return self.ctx.cwd
        return self.vars.get(name, "")

    def _expand_var(self, body: str) -> str:
        for op in (":-", ":=", ":+", "-", "="):
            name, sep, default = body.partition(op)
            if sep and name and (name.isidentifier() or name.isdigit()):
                value = self.lookup(name)
                if op in (":-", "-"):
                    return value if (value or (op == "-" and name in self.vars)) else default
                if op in (":=", "="):
                    if not value:
                        self.vars[name] = default
                        return default
                    return value
                return default if value else ""
        if body.startswith("#") and len(body) > 1:
            return str(len(self.lookup(body[1:])))
        return self.lookup(body)

    def expand_word(self, word: Word, ctx: Context, split: bool = True) -> list[str]:
        """Expand one word into fields: quoted parts stay whole, unquoted expansions split on blanks."""
        fields: list[str] = []
        current: str | None = None
        for kind, text, quoted in word.parts:
            if kind == "lit":
                current = (current or "") + text
                continue
            if kind == "var":
                value = self._expand_var(text)
            elif kind == "arith":
                expanded = self.expand_word(Word(tokenize_arith(text)), ctx, split=False)[0]
                value = str(arithmetic(expanded, self.lookup))
            else:
                captured = bytearray()
                child = Shell(ctx, self.name, self.args)
                child.vars, child.exported = dict(self.vars), set(self.exported)
                try:
                    child.run_text(text, ctx.derive(out=captured.extend, interactive_tty=False))
                except ShellExit:
                    pass
                self.status = child.status
                value = captured.decode(errors="replace").rstrip("\n")
            if quoted or not split:
                current = (current or "") + value
                continue
            pieces = value.split()
            if not pieces:
                continue
            if value[0].isspace() and current is not None:
                fields.append(current)
                current = None
            for piece in pieces[:-1]:
                fields.append((current or "") + piece)
                current = None
            current = (current or "") + pieces[-1]
            if value[-1].isspace():
                fields.append(current)
                current = None
        if current is not None:
            fields.append(current)
        return fields or ([""] if not split else [])

    def expand_words(self, words: list[Word], ctx: Context) -> list[str]:
        result: list[str] = []
        for word in words:
            if len(word.parts) == 1 and word.parts[0] == ("var", "@", True):
                result.extend(self.args)  # "$@": one field per argument
                continue
            result.extend(self.expand_word(word, ctx))
        return result

    # -- redirections ---------------------------------------------------------
    def apply_redirs(self, redirs: list[Redir], ctx: Context) -> Context:
        for redir in redirs:
            target = self.expand_word(redir.target, ctx, split=False)[0]
            if redir.op in (">&", "<&"):
                if target == "-":
                    writer = _discard
                elif target in ("1", "2"):
                    writer = ctx.out if target == "1" else ctx.err
                else:
                    raise _RedirError(f"{target}: bad file descriptor")
                ctx = ctx.derive(**{("out" if redir.fd == 1 else "err"): writer}) if redir.fd in (1, 2) else ctx
            elif redir.op == "<":
                if target == "/dev/null":
                    ctx = ctx.derive(stdin=bytes_reader(b""), interactive_tty=False)
                    continue
                try:
                    data = ctx.fs.read_file(posixpath.join(ctx.cwd, target))
                except TreeError as exc:
                    raise _RedirError(f"can't open '{target}': {exc}") from None
                ctx = ctx.derive(stdin=bytes_reader(data), interactive_tty=False)
            else:
                writer = self._file_writer(ctx, target, append=redir.op == ">>")
                if redir.fd == 1:
                    ctx = ctx.derive(out=writer, interactive_tty=False)
                elif redir.fd == 2:
                    ctx = ctx.derive(err=writer)
        return ctx

    def _file_writer(self, ctx: Context, target: str, append: bool) -> Callable[[bytes], None]:
        if target == "/dev/null":
            return _discard
        if target in ("/dev/stdout", "/proc/self/fd/1"):
            return ctx.out
        if target in ("/dev/stderr", "/proc/self/fd/2"):
            return ctx.err
        path = posixpath.join(ctx.cwd, target)
        try:
            ctx.fs.write_file(path, b"", append=True) if append else ctx.fs.write_file(path, b"")
        except TreeError as exc:
            reason = "nonexistent directory" if "No such" in str(exc) else str(exc)
            raise _RedirError(f"can't create {target}: {reason}") from None

        def write(data: bytes) -> None:
            ctx.fs.write_file(path, data, append=True)

        return write

    # -- interactive / script input -------------------------------------------
    def prompt(self) -> str:
        """busybox's PS1 `\\w \\$ `: the directory (~ for home), then # for root or $."""
        cwd = self.ctx.cwd
        home = self.vars.get("HOME", "")
        if home and home != "/" and (cwd == home or cwd.startswith(home + "/")):
            cwd = "~" + cwd[len(home):]
        return f"{cwd} {'#' if self.ctx.user in ('', 'root', '0') else '$'} "

    def run_stream(self, ctx: Context, interactive: bool) -> int:
        """Read commands from stdin, a line at a time (with a prompt if interactive)."""
        pending = ""
        while True:
            if interactive:
                ctx.error("> " if pending else self.prompt())
            try:
                line = ctx.stdin.readline()
            except Killed as killed:
                if interactive and killed.signum == SIGINT:
                    self.ctx.io.acknowledge(SIGINT)
                    pending = ""
                    continue
                raise
            if not line:
                if interactive:
                    ctx.error("\n")
                return self.status
            text = pending + line.decode(errors="replace")
            try:
                tree = parse(text)
            except Incomplete:
                pending = text
                continue
            except ShellSyntaxError as exc:
                ctx.error(f"{self.name}: {exc}\n")
                self.status = 2
                pending = ""
                continue
            pending = ""
            try:
                self.run_list(tree, ctx)
            except Killed as killed:
                if interactive and killed.signum == SIGINT:
                    self.ctx.io.acknowledge(SIGINT)
                    self.status = 130
                    continue
                raise
            except LoopControl:
                pass


class _RedirError(Exception):
    pass


def _discard(data: bytes) -> None:
    pass


def tokenize_arith(text: str) -> list[tuple[str, str, bool]]:
    """The inside of `$(( ))` may hold `$x` too: expand those, keep the rest literal."""
    parts: list[tuple[str, str, bool]] = []
    i = 0
    while i < len(text):
        if text[i] == "$":
            (kind, body), i = _read_dollar(text, i + 1)
            parts.append((kind, body, True))
        else:
            parts.append(("lit", text[i], True))
            i += 1
    return parts or [("lit", "0", True)]


# ---------------------------------------------------------------- builtins ----
def _exit(shell: Shell, ctx: Context, argv: list[str]) -> int:
    code = shell.status
    if len(argv) > 1:
        try:
            code = int(argv[1])
        except ValueError:
            ctx.error(f"{shell.name}: exit: Illegal number: {argv[1]}\n")
            code = 2
    raise ShellExit(code & 0xFF)


def _cd(shell: Shell, ctx: Context, argv: list[str]) -> int:
    target = argv[1] if len(argv) > 1 else shell.vars.get("HOME", "/")
    path = posixpath.normpath(posixpath.join(shell.ctx.cwd, target))
    node = ctx.fs.lookup(path)
    if node is None or node.kind != DIR:
        ctx.error(f"{shell.name}: cd: can't cd to {target}: No such file or directory\n")
        return 2
    shell.ctx = shell.ctx.derive(cwd=path)
    shell.vars["PWD"] = path
    return 0


def _export(shell: Shell, ctx: Context, argv: list[str]) -> int:
    for item in argv[1:]:
        name, eq, value = item.partition("=")
        if eq:
            shell.vars[name] = value
        shell.exported.add(name)
    if len(argv) == 1:
        for name in sorted(shell.exported):
            ctx.write(f"export {name}='{shell.vars.get(name, '')}'\n")
    return 0


def _unset(shell: Shell, ctx: Context, argv: list[str]) -> int:
    for name in argv[1:]:
        shell.vars.pop(name, None)
        shell.exported.discard(name)
    return 0


def _read(shell: Shell, ctx: Context, argv: list[str]) -> int:
    names = [a for a in argv[1:] if not a.startswith("-")] or ["REPLY"]
    line = ctx.stdin.readline()
    if not line:
        for name in names:
            shell.vars[name] = ""
        return 1
    text = line.decode(errors="replace").rstrip("\n")
    fields = text.split(None, len(names) - 1) if names[-1] != "REPLY" or len(names) > 1 else [text]
    for index, name in enumerate(names):
        shell.vars[name] = fields[index] if index < len(fields) else ""
    return 0


def _loop_control(shell: Shell, ctx: Context, argv: list[str]) -> int:
    if shell.loop_depth == 0:
        return 0
    depth = int(argv[1]) if len(argv) > 1 and argv[1].isdigit() else 1
    raise LoopControl(argv[0], min(depth, shell.loop_depth))


def _shift(shell: Shell, ctx: Context, argv: list[str]) -> int:
    count = int(argv[1]) if len(argv) > 1 and argv[1].isdigit() else 1
    if count > len(shell.args):
        return 1
    shell.args = shell.args[count:]
    return 0


def _set(shell: Shell, ctx: Context, argv: list[str]) -> int:
    if len(argv) == 1:
        for name in sorted(shell.vars):
            ctx.write(f"{name}='{shell.vars[name]}'\n")
    elif argv[1] == "--":
        shell.args = argv[2:]
    return 0


def _wait(shell: Shell, ctx: Context, argv: list[str]) -> int:
    for job in shell.jobs:
        while job.is_alive():
            shell.ctx.check()
            job.join(0.05)
    shell.jobs.clear()
    return 0


def _exec(shell: Shell, ctx: Context, argv: list[str]) -> int:
    if len(argv) == 1:
        return 0
    status = shell.run_simple(Simple([], [Word([("lit", a, True)]) for a in argv[1:]], []), ctx)
    raise ShellExit(status)


def _eval(shell: Shell, ctx: Context, argv: list[str]) -> int:
    return shell.run_text(" ".join(argv[1:]), ctx)


def _dot(shell: Shell, ctx: Context, argv: list[str]) -> int:
    if len(argv) < 2:
        return 0
    try:
        text = ctx.fs.read_file(posixpath.join(ctx.cwd, argv[1])).decode(errors="replace")
    except TreeError:
        ctx.error(f"{shell.name}: .: {argv[1]}: not found\n")
        return 2
    return shell.run_text(text, ctx)


def _trap(shell: Shell, ctx: Context, argv: list[str]) -> int:
    return 0  # accepted and ignored: the fake's signals are not catchable by scripts


APPLET_BUILTINS = {"echo", "printf", "test", "[", "true", "false", ":", "pwd", "kill"}
BUILTINS: dict[str, Callable[[Shell, Context, list[str]], int]] = {
    "exit": _exit, "cd": _cd, "export": _export, "unset": _unset, "read": _read,
    "break": _loop_control, "continue": _loop_control, "shift": _shift, "set": _set,
    "wait": _wait, "exec": _exec, "eval": _eval, ".": _dot, "source": _dot, "trap": _trap,
}


def sh(ctx: Context) -> int:
    """The `sh` program: `sh -c CMD [ARG0 ARGS...]`, `sh FILE`, or commands from stdin."""
    args = ctx.argv[1:]
    force_interactive = False
    while args and args[0] in ("-i", "-l", "-e", "-x", "-s"):
        force_interactive |= args[0] == "-i"
        args = args[1:]
    if args and args[0] == "-c":
        if len(args) < 2:
            ctx.error("sh: -c requires an argument\n")
            return 2
        shell = Shell(ctx, args[2] if len(args) > 2 else "sh", args[3:])
        try:
            return shell.run_text(args[1])
        except ShellExit as done:
            return done.code
    if args:
        shell = Shell(ctx, args[0], args[1:])
        try:
            text = ctx.fs.read_file(posixpath.join(ctx.cwd, args[0])).decode(errors="replace")
        except TreeError:
            ctx.error(f"sh: can't open '{args[0]}': No such file or directory\n")
            return 2
        try:
            return shell.run_text(text)
        except ShellExit as done:
            return done.code
    shell = Shell(ctx)
    interactive = force_interactive or ctx.interactive_tty
    if interactive and ctx.interactive_tty:
        ctx.error("\n\nBusyBox v1.36.1 (minidock fake daemon) built-in shell (ash)\n"
                  "Enter 'help' for a list of built-in commands.\n\n")
    try:
        return shell.run_stream(ctx, interactive)
    except ShellExit as done:
        return done.code
