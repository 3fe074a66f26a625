"""The programs a fake container can run: a tiny imitation of busybox.

A container of the fake daemon never runs a host process. Its command is
looked up here instead: `echo`, `cat`, `sleep`, `sh` (see shell.py), `env`,
`stty size` and a few more, each a Python function over a `Context` (its
argv, environment, files and stdio; see runtime.py) that returns an exit
status. They behave like busybox's applets in what examples and tests look
at: output, stderr, exit codes, reading stdin, being interrupted by signals.

An unknown command is "executable file not found in $PATH", as runc says it.
"""

from __future__ import annotations

import posixpath
import re
import time
from collections.abc import Callable

from minidock.fakedaemon.filetree import DIR, SYMLINK, FileTree, TreeError
from minidock.fakedaemon.runtime import Context, parse_signal
from minidock.fakedaemon.shell import sh

YES_LIMIT = 10_000  # `yes` stops by itself: a fake process has no SIGPIPE to end it


def _echo(ctx: Context) -> int:
    args = ctx.argv[1:]
    newline, escapes = True, False
    while args and re.fullmatch(r"-[neE]+", args[0]):
        newline &= "n" not in args[0]
        escapes = "e" in args[0] if "e" in args[0] or "E" in args[0] else escapes
        args = args[1:]
    text = " ".join(args)
    if escapes:
        text, stop = _unescape(text)
        newline &= not stop
    ctx.write(text + ("\n" if newline else ""))
    return 0


def _unescape(text: str) -> tuple[str, bool]:
    """echo -e / printf escapes; the bool says `\\c` asked to stop output there."""
    simple = {"n": "\n", "t": "\t", "\\": "\\", "a": "\a", "b": "\b", "e": "\x1b", "f": "\f",
              "r": "\r", "v": "\v"}
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            code = text[i + 1]
            if code in simple:
                out.append(simple[code])
                i += 2
                continue
            if code == "c":
                return "".join(out), True
            if code == "0":
                digits = re.match(r"[0-7]{0,3}", text[i + 2:]).group()
                out.append(chr(int(digits or "0", 8)))
                i += 2 + len(digits)
                continue
            if code == "x":
                digits = re.match(r"[0-9a-fA-F]{0,2}", text[i + 2:]).group()
                if digits:
                    out.append(chr(int(digits, 16)))
                    i += 2 + len(digits)
                    continue
        out.append(char)
        i += 1
    return "".join(out), False


def _printf(ctx: Context) -> int:
    if len(ctx.argv) < 2:
        ctx.error("printf: usage: printf FORMAT [ARGUMENT...]\n")
        return 1
    fmt, _ = _unescape(ctx.argv[1])
    args = ctx.argv[2:]
    specs = re.findall(r"%[-+ 0#]*\d*(?:\.\d+)?[sdixXoc%]", fmt)
    needed = len([s for s in specs if s != "%%"])
    while True:
        chunk, args = args[:needed], args[needed:]
        values = iter(chunk)

        def convert(match: re.Match) -> str:
            spec = match.group()
            if spec == "%%":
                return "%"
            value = next(values, "")
            if spec[-1] in "dixXoc":
                try:
                    number = int(value or 0)
                except ValueError:
                    ctx.error(f"printf: invalid number '{value}'\n")
                    number = 0
                return (spec[:-1] + ("d" if spec[-1] == "i" else spec[-1])) % number
            return spec % value

        ctx.write(re.sub(r"%[-+ 0#]*\d*(?:\.\d+)?[sdixXoc%]", convert, fmt))
        if not args or needed == 0:
            return 0


def _cat(ctx: Context) -> int:
    status = 0
    for name in ctx.argv[1:] or ["-"]:
        if name == "-":
            while True:
                data = ctx.stdin.read(65536)
                if not data:
                    break
                ctx.write(data)
            continue
        try:
            ctx.write(ctx.fs.read_file(posixpath.join(ctx.cwd, name)))
        except TreeError as exc:
            ctx.error(f"cat: can't open '{name}': {exc}\n")
            status = 1
    return status


def _duration(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)([smhd]?)", text)
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def _sleep(ctx: Context) -> int:
    if len(ctx.argv) < 2:
        ctx.error("BusyBox v1.36.1 (minidock fake daemon) multi-call binary.\n\nUsage: sleep [N]...\n")
        return 1
    try:
        seconds = sum(_duration(arg) for arg in ctx.argv[1:])
    except ValueError as exc:
        ctx.error(f"sleep: invalid number '{exc}'\n")
        return 1
    ctx.sleep(seconds)
    return 0


def _env(ctx: Context) -> int:
    args = ctx.argv[1:]
    env = dict(ctx.env)
    if args and args[0] in ("-i", "-"):
        env, args = {}, args[1:]
    while args and "=" in args[0]:
        name, _, value = args[0].partition("=")
        env[name] = value
        args = args[1:]
    if args:
        program = find_program(args[0], ctx)
        if program is None:
            ctx.error(f"env: can't execute '{args[0]}': No such file or directory\n")
            return 127
        return program(ctx.derive(argv=args, env=env))
    ctx.write("".join(f"{k}={v}\n" for k, v in env.items()))
    return 0


def _printenv(ctx: Context) -> int:
    if len(ctx.argv) == 1:
        ctx.write("".join(f"{k}={v}\n" for k, v in ctx.env.items()))
        return 0
    status = 0
    for name in ctx.argv[1:]:
        if name in ctx.env:
            ctx.write(ctx.env[name] + "\n")
        else:
            status = 1
    return status


def _stty(ctx: Context) -> int:
    if ctx.terminal is None or not ctx.interactive_tty:
        ctx.error("stty: standard input: Not a tty\n")
        return 1
    args = ctx.argv[1:]
    if args == ["size"]:
        ctx.write(f"{ctx.terminal.rows} {ctx.terminal.cols}\n")
    elif "-echo" in args or "echo" in args:
        ctx.terminal.echo = "echo" in args
    elif args[:1] == ["-a"] or not args:
        ctx.write(f"speed 38400 baud; rows {ctx.terminal.rows}; columns {ctx.terminal.cols}; line = 0;\n")
    return 0


def _hostname(ctx: Context) -> int:
    try:
        ctx.write(ctx.fs.read_file("/etc/hostname").decode().strip() + "\n")
    except TreeError:
        ctx.write(ctx.hostname + "\n")
    return 0


def _seq(ctx: Context) -> int:
    try:
        numbers = [int(a) for a in ctx.argv[1:]]
    except ValueError as exc:
        ctx.error(f"seq: invalid number {str(exc).split()[-1]}\n")
        return 1
    if not 1 <= len(numbers) <= 3:
        ctx.error("BusyBox v1.36.1 (minidock fake daemon) multi-call binary.\n\nUsage: seq [-w] [-s SEP] [FIRST [INC]] LAST\n")
        return 1
    first, step, last = (1, 1, numbers[0]) if len(numbers) == 1 else \
        (numbers[0], 1, numbers[1]) if len(numbers) == 2 else tuple(numbers)
    if step == 0:
        return 0
    for number in range(first, last + (1 if step > 0 else -1), step):
        ctx.write(f"{number}\n")
    return 0


def _yes(ctx: Context) -> int:
    line = (" ".join(ctx.argv[1:]) or "y") + "\n"
    for _ in range(0, YES_LIMIT, 1000):
        ctx.write(line * 1000)
    return 0


def _pwd(ctx: Context) -> int:
    ctx.write(ctx.cwd + "\n")
    return 0


def _passwd_entry(ctx: Context) -> tuple[str, int, int]:
    user = ctx.user or "root"
    try:
        lines = ctx.fs.read_file("/etc/passwd").decode().splitlines()
    except TreeError:
        lines = []
    for line in lines:
        fields = line.split(":")
        if len(fields) >= 4 and user in (fields[0], fields[2]):
            return fields[0], int(fields[2]), int(fields[3])
    uid = int(user) if user.isdigit() else 0
    return ("" if user.isdigit() else user), uid, uid


def _id(ctx: Context) -> int:
    name, uid, gid = _passwd_entry(ctx)
    label = f"({name})" if name else ""
    if uid == 0:
        ctx.write("uid=0(root) gid=0(root) groups=0(root),10(wheel)\n")
    else:
        ctx.write(f"uid={uid}{label} gid={gid}{label} groups={gid}{label}\n")
    return 0


def _whoami(ctx: Context) -> int:
    name, uid, _ = _passwd_entry(ctx)
    if not name:
        ctx.error(f"whoami: unknown uid {uid}\n")
        return 1
    ctx.write(name + "\n")
    return 0


def _uname(ctx: Context) -> int:
    import os

    info = os.uname()
    fields = {"s": "Linux", "n": ctx.hostname, "r": info.release, "v": info.version, "m": info.machine}
    flags = "".join(a.lstrip("-") for a in ctx.argv[1:]) or "s"
    order = "snrvm" if "a" in flags else [f for f in "snrvm" if f in flags]
    ctx.write(" ".join(fields[f] for f in order) + ("  GNU/Linux" if "a" in flags else "") + "\n")
    return 0


def _date(ctx: Context) -> int:
    ctx.write(time.strftime("%a %b %e %H:%M:%S UTC %Y", time.gmtime()) + "\n")
    return 0


def _ls(ctx: Context) -> int:
    flags = "".join(a[1:] for a in ctx.argv[1:] if a.startswith("-") and len(a) > 1)
    targets = [a for a in ctx.argv[1:] if not a.startswith("-") or a == "-"] or ["."]
    status = 0
    for target in targets:
        path = posixpath.join(ctx.cwd, target)
        node = ctx.fs.lookup(path)
        if node is None:
            ctx.error(f"ls: {target}: No such file or directory\n")
            status = 1
            continue
        names = ctx.fs.children(path) if node.kind == DIR and "d" not in flags else [target]
        if "a" not in flags:
            names = [n for n in names if not n.startswith(".")]
        if len(targets) > 1 and node.kind == DIR:
            ctx.write(f"{target}:\n")
        for name in names:
            if "l" in flags:
                item = ctx.fs.get(posixpath.join(path, name)) if node.kind == DIR else node
                kind = {DIR: "d", SYMLINK: "l"}.get(item.kind, "-")
                perms = "".join(c if item.mode & (1 << (8 - i)) else "-" for i, c in enumerate("rwxrwxrwx"))
                stamp = time.strftime("%b %e %H:%M", time.gmtime(item.mtime))
                suffix = f" -> {item.target}" if item.kind == SYMLINK else ""
                ctx.write(f"{kind}{perms}    1 root     root     {item.size:>8} {stamp} {name}{suffix}\n")
            else:
                ctx.write(name + "\n")
    return status


def _mkdir(ctx: Context) -> int:
    parents = "-p" in ctx.argv[1:]
    status = 0
    for name in [a for a in ctx.argv[1:] if not a.startswith("-")]:
        try:
            ctx.fs.mkdir(posixpath.join(ctx.cwd, name), parents=parents)
        except TreeError as exc:
            ctx.error(f"mkdir: can't create directory '{name}': {exc}\n")
            status = 1
    return status


def _rm(ctx: Context) -> int:
    flags = "".join(a[1:] for a in ctx.argv[1:] if a.startswith("-"))
    status = 0
    for name in [a for a in ctx.argv[1:] if not a.startswith("-")]:
        path = posixpath.join(ctx.cwd, name)
        node = ctx.fs.get(path)
        if node is None:
            if "f" not in flags:
                ctx.error(f"rm: can't remove '{name}': No such file or directory\n")
                status = 1
            continue
        if node.kind == DIR and "r" not in flags.lower():
            ctx.error(f"rm: '{name}' is a directory\n")
            status = 1
            continue
        ctx.fs.remove(path, recursive=True)
    return status


def _touch(ctx: Context) -> int:
    for name in ctx.argv[1:]:
        path = posixpath.join(ctx.cwd, name)
        try:
            if ctx.fs.get(path) is None:
                ctx.fs.write_file(path, b"")
            else:
                ctx.fs.get(path).mtime = time.time()
        except TreeError as exc:
            ctx.error(f"touch: {name}: {exc}\n")
            return 1
    return 0


def _lines_program(ctx: Context, pick: Callable[[list[bytes], int], list[bytes]]) -> int:
    args = ctx.argv[1:]
    count = 10
    files = []
    while args:
        arg = args.pop(0)
        if arg == "-n" and args:
            arg = "-n" + args.pop(0)
        if re.fullmatch(r"-n?\d+", arg):
            count = int(arg.lstrip("-n"))
        else:
            files.append(arg)
    data = b""
    for name in files or ["-"]:
        try:
            data += ctx.stdin.read() if name == "-" else ctx.fs.read_file(posixpath.join(ctx.cwd, name))
        except TreeError as exc:
            ctx.error(f"{ctx.argv[0]}: can't open '{name}': {exc}\n")
            return 1
    ctx.write(b"".join(pick(data.splitlines(keepends=True), count)))
    return 0


def _head(ctx: Context) -> int:
    return _lines_program(ctx, lambda lines, n: lines[:n])


def _tail(ctx: Context) -> int:
    return _lines_program(ctx, lambda lines, n: lines[-n:] if n else [])


def _wc(ctx: Context) -> int:
    flags = "".join(a[1:] for a in ctx.argv[1:] if a.startswith("-")) or "lwc"
    files = [a for a in ctx.argv[1:] if not a.startswith("-")]
    data = ctx.stdin.read() if not files else b"".join(
        ctx.fs.read_file(posixpath.join(ctx.cwd, f)) for f in files)
    counts = {"l": data.count(b"\n"), "w": len(data.split()), "c": len(data)}
    ctx.write(" ".join(f"{counts[f]:>7}" if len(flags) > 1 else str(counts[f]) for f in "lwc" if f in flags) + "\n")
    return 0


def _grep(ctx: Context) -> int:
    args = ctx.argv[1:]
    flags = ""
    while args and args[0].startswith("-") and len(args[0]) > 1:
        flags += args.pop(0)[1:]
    if not args:
        ctx.error("grep: no pattern\n")
        return 2
    pattern = re.compile(args[0], re.IGNORECASE if "i" in flags else 0)
    data = ctx.stdin.read() if len(args) == 1 else b"".join(
        ctx.fs.read_file(posixpath.join(ctx.cwd, f)) for f in args[1:])
    lines = [ln for ln in data.decode(errors="replace").splitlines(keepends=True)
             if bool(pattern.search(ln)) != ("v" in flags)]
    if "c" in flags:
        ctx.write(f"{len(lines)}\n")
    elif "q" not in flags:
        ctx.write("".join(ln if ln.endswith("\n") else ln + "\n" for ln in lines))
    return 0 if lines else 1


def _test(ctx: Context) -> int:
    args = ctx.argv[1:]
    if ctx.argv[0] == "[":
        if not args or args[-1] != "]":
            ctx.error("[: missing ]\n")
            return 2
        args = args[:-1]
    try:
        return 0 if _evaluate_test(args, ctx) else 1
    except ValueError as exc:
        ctx.error(f"{ctx.argv[0]}: {exc}\n")
        return 2


def _evaluate_test(args: list[str], ctx: Context) -> bool:
    if not args:
        return False
    if args[0] == "!":
        return not _evaluate_test(args[1:], ctx)
    if "-a" in args[1:-1]:
        i = args.index("-a", 1)
        return _evaluate_test(args[:i], ctx) and _evaluate_test(args[i + 1:], ctx)
    if "-o" in args[1:-1]:
        i = args.index("-o", 1)
        return _evaluate_test(args[:i], ctx) or _evaluate_test(args[i + 1:], ctx)
    if len(args) == 1:
        return args[0] != ""
    if len(args) == 2:
        op, value = args
        node = ctx.fs.lookup(posixpath.join(ctx.cwd, value)) if op in "-e-f-d-s-x-r-w-L-h" else None
        checks = {
            "-n": lambda: value != "", "-z": lambda: value == "",
            "-e": lambda: node is not None, "-f": lambda: node is not None and node.kind == "file",
            "-d": lambda: node is not None and node.kind == DIR, "-s": lambda: node is not None and node.size > 0,
            "-x": lambda: node is not None and bool(node.mode & 0o111), "-r": lambda: node is not None,
            "-w": lambda: node is not None,
            "-L": lambda: ctx.fs.get(posixpath.join(ctx.cwd, value)) is not None and
            ctx.fs.get(posixpath.join(ctx.cwd, value)).kind == SYMLINK,
        }
        checks["-h"] = checks["-L"]
        if op not in checks:
            raise ValueError(f"{op}: unknown operand")
        return checks[op]()
    if len(args) == 3:
        left, op, right = args
        if op in ("=", "=="):
            return left == right
        if op == "!=":
            return left != right
        numeric = {"-eq": int.__eq__, "-ne": int.__ne__, "-lt": int.__lt__, "-le": int.__le__,
                   "-gt": int.__gt__, "-ge": int.__ge__}
        if op in numeric:
            try:
                return numeric[op](int(left), int(right))
            except ValueError:
                raise ValueError(f"invalid number '{left if not left.lstrip('-').isdigit() else right}'") from None
        raise ValueError(f"{op}: unknown operand")
    raise ValueError("syntax error")


def _kill(ctx: Context) -> int:
    args = ctx.argv[1:]
    signum = 15
    if args and args[0].startswith("-") and len(args[0]) > 1:
        try:
            signum = parse_signal(args.pop(0)[1:].removeprefix("s ").strip())
        except ValueError:
            ctx.error("kill: bad signal name\n")
            return 1
    status = 0
    for pid in args:
        if pid in ("1", "$$"):
            ctx.io.deliver(signum)
        else:
            ctx.error(f"kill: can't kill pid {pid}: No such process\n")
            status = 1
    ctx.check()
    return status


def _basename(ctx: Context) -> int:
    if len(ctx.argv) < 2:
        return 1
    name = posixpath.basename(ctx.argv[1].rstrip("/")) or "/"
    if len(ctx.argv) > 2 and name.endswith(ctx.argv[2]) and name != ctx.argv[2]:
        name = name[:-len(ctx.argv[2])]
    ctx.write(name + "\n")
    return 0


def _dirname(ctx: Context) -> int:
    if len(ctx.argv) < 2:
        return 1
    ctx.write((posixpath.dirname(ctx.argv[1].rstrip("/")) or ".") + "\n")
    return 0


def _true(ctx: Context) -> int:
    return 0


def _false(ctx: Context) -> int:
    return 1


def _busybox(ctx: Context) -> int:
    if len(ctx.argv) < 2:
        ctx.write("BusyBox v1.36.1 (minidock fake daemon) multi-call binary.\n"
                  "Currently defined functions:\n\t" + ", ".join(sorted(PROGRAMS)) + "\n")
        return 0
    program = PROGRAMS.get(ctx.argv[1])
    if program is None or ctx.argv[1] == "busybox":
        ctx.error(f"{ctx.argv[1]}: applet not found\n")
        return 127
    return program(ctx.derive(argv=ctx.argv[1:]))


PROGRAMS: dict[str, Callable[[Context], int]] = {
    "sh": sh, "ash": sh, "echo": _echo, "printf": _printf, "cat": _cat, "sleep": _sleep,
    "env": _env, "printenv": _printenv, "stty": _stty, "hostname": _hostname, "seq": _seq,
    "yes": _yes, "pwd": _pwd, "id": _id, "whoami": _whoami, "uname": _uname, "date": _date,
    "ls": _ls, "mkdir": _mkdir, "rm": _rm, "touch": _touch, "head": _head, "tail": _tail,
    "wc": _wc, "grep": _grep, "test": _test, "[": _test, "kill": _kill, "basename": _basename,
    "dirname": _dirname, "true": _true, "false": _false, ":": _true, "busybox": _busybox,
}
DEFAULT_SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def find_program(name: str, ctx: Context | None = None, fs: FileTree | None = None,
                 search_path: str | None = None) -> Callable[[Context], int] | None:
    """The applet a command name or path runs, found the way execvp would find it.

    The file must exist in the container's tree - `/bin/sh`, or `sh` in a
    directory of $PATH - and its name must be one of our applets (busybox
    decides by the name it was called by). Without a tree, only the name counts.
    """
    fs = fs if fs is not None else (ctx.fs if ctx is not None else None)
    if search_path is None:
        search_path = ctx.env.get("PATH", DEFAULT_SEARCH_PATH) if ctx is not None else DEFAULT_SEARCH_PATH
    program = PROGRAMS.get(posixpath.basename(name))
    if program is None or fs is None:
        return program
    if "/" in name:
        candidates = [posixpath.join(ctx.cwd if ctx is not None else "/", name)]
    else:
        candidates = [posixpath.join(directory or ".", name) for directory in search_path.split(":")]
    for candidate in candidates:
        node = fs.lookup(candidate)
        if node is not None and node.kind == "file":
            return program
    return None


def not_found_message(name: str) -> str:
    """runc's words for a command that is not there (dockerd wraps them in its start error)."""
    if "/" in name:
        return f'exec: "{name}": stat {name}: no such file or directory'
    return f'exec: "{name}": executable file not found in $PATH'
