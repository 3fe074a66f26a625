"""`POST /build`: the legacy builder (what `DOCKER_BUILDKIT=0 docker build` uses).

The body is a tar of the build context. Each Dockerfile instruction is a
step that makes a new image from the previous one: RUN runs its command (a
fake process, as for containers) in a copy of the image's files, COPY/ADD
copy from the context, the rest only change the config. The output is the
JSON stream dockerd writes (`Step 1/3 : FROM busybox`, ` ---> 55bff12116b8`,
..., `Successfully built ...`), and a step already done before is taken from
the cache (` ---> Using cache`).
"""

from __future__ import annotations

import json
import posixpath
import threading
from typing import TYPE_CHECKING, Any

from minidock.fakedaemon.api_images import apply_instruction, derived_image, parse_exec_form
from minidock.fakedaemon.filetree import DIR, FileTree, TreeError
from minidock.fakedaemon.programs import find_program
from minidock.fakedaemon.runtime import Process
from minidock.fakedaemon.state import DEFAULT_PATH, Image, InvalidReference, State, parse_reference, sha256
from minidock.fakedaemon.wire import BadRequest, ChunkedWriter, Request, Responder

if TYPE_CHECKING:
    from minidock.fakedaemon.daemon import FakeDaemon

INSTRUCTIONS = {"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
                "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}


class BuildFailed(Exception):
    """A step failed after the stream began: it becomes an errorDetail object in the stream."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.message, self.code = message, code


def parse_dockerfile(text: str) -> list[tuple[int, str, str, str]]:
    """(line number, INSTRUCTION, arguments, original text) per instruction; continuations joined."""
    steps = []
    pending, start = "", 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        keyword, _, rest = full.partition(" ")
        steps.append((start, keyword.upper(), rest.strip(), full))
    if pending.strip():
        full = pending.strip()
        keyword, _, rest = full.partition(" ")
        steps.append((start, keyword.upper(), rest.strip(), full))
    for number, keyword, rest, _ in steps:
        if keyword not in INSTRUCTIONS:
            raise BadRequest(f"dockerfile parse error line {number}: unknown instruction: {keyword}")
        if not rest:
            raise BadRequest(f"dockerfile parse error line {number}: {keyword} requires at least one argument")
    return steps


def build(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    context = FileTree()
    try:
        context.extract_tar(req.body(), "/")
    except TreeError as exc:
        raise BadRequest(f"failed to read the build context: {exc}") from None
    dockerfile_name = req.arg("dockerfile") or "Dockerfile"
    try:
        text = context.read_file("/" + dockerfile_name.lstrip("/")).decode(errors="replace")
    except TreeError:
        raise BadRequest(f"Cannot locate specified Dockerfile: {dockerfile_name}") from None
    steps = parse_dockerfile(text)
    if not steps:
        raise BadRequest("the Dockerfile (Dockerfile) cannot be empty")
    if not any(keyword == "FROM" for _, keyword, _, _ in steps) or \
            next(keyword for _, keyword, _, _ in steps if keyword != "ARG") != "FROM":
        raise BadRequest("Please provide a source image with `from` prior to commit")
    tags = []
    for tag in req.args("t"):
        try:
            tags.append(parse_reference(tag).tagged)
        except InvalidReference as exc:
            raise BadRequest(f"invalid reference format: {tag}: {exc}") from None
    build_args = req.json_arg("buildargs") or {}
    labels = req.json_arg("labels") or {}
    if not isinstance(build_args, dict) or not isinstance(labels, dict):
        raise BadRequest("buildargs and labels must be JSON objects")
    quiet = req.flag("q")
    writer = res.stream(200, "application/json")
    builder = Builder(daemon.state, context, writer, quiet, build_args, req.flag("nocache"))
    try:
        image = builder.run(steps)
        if labels:
            config = json.loads(json.dumps(image.config))
            config["Labels"] = {**(config.get("Labels") or {}), **labels}
            image = builder.commit(image, image.tree, config, "", empty=True)
        with daemon.state.lock:
            for tag in tags:
                daemon.state.tag_image(image, tag)
                daemon.state.events.emit("image", "tag", image.id, {"name": tag})
        writer.write_json({"aux": {"ID": image.id}})
        if quiet:
            writer.write_json({"stream": f"{image.id}\n"})
        else:
            writer.write_json({"stream": f"Successfully built {image.short_id}\n"})
            for tag in tags:
                writer.write_json({"stream": f"Successfully tagged {tag}\n"})
    except BuildFailed as failure:
        detail: dict[str, Any] = {"message": failure.message}
        if failure.code is not None:
            detail = {"code": failure.code, "message": failure.message}
        writer.write_json({"errorDetail": detail, "error": failure.message})
    writer.close()


class Builder:
    def __init__(self, state: State, context: FileTree, writer: ChunkedWriter, quiet: bool,
                 build_args: dict[str, str], nocache: bool) -> None:
        self.state, self.context, self.writer, self.quiet = state, context, writer, quiet
        self.build_args, self.nocache = build_args, nocache
        self.declared_args: dict[str, str] = {}

    def say(self, text: str) -> None:
        if not self.quiet:
            self.writer.write_json({"stream": text})

    def run(self, steps: list[tuple[int, str, str, str]]) -> Image:
        image: Image | None = None
        total = len(steps)
        for index, (_, keyword, rest, original) in enumerate(steps, 1):
            self.say(f"Step {index}/{total} : {original}")
            self.say("\n")
            if keyword == "FROM":
                image = self.base_image(rest.split()[0])
                self.say(f" ---> {image.short_id}\n")
                continue
            if keyword == "ARG":
                name, eq, default = rest.partition("=")
                self.declared_args[name.strip()] = default if eq else ""
                if image is None:
                    continue
            assert image is not None
            cache_key = (image.id, original + self.context_digest(keyword, rest))
            cached = None if self.nocache else self.state.build_cache.get(cache_key)
            if cached and cached in self.state.images:
                image = self.state.images[cached]
                self.say(" ---> Using cache\n")
                self.say(f" ---> {image.short_id}\n")
                continue
            image = self.step(image, keyword, rest, original)
            self.state.build_cache[cache_key] = image.id
            self.say(f" ---> {image.short_id}\n")
        if image is None:
            raise BuildFailed("No image was generated. Is your Dockerfile empty?")
        return image

    def context_digest(self, keyword: str, rest: str) -> str:
        if keyword not in ("COPY", "ADD"):
            return ""
        return sha256(self.context.to_tar("/", arcname=""))

    def base_image(self, name: str) -> Image:
        if name == "scratch":
            return Image(config={"Env": None, "Cmd": None}, layers=[], created=0)
        expanded = name
        for arg, value in {**self.declared_args, **self.build_args}.items():
            expanded = expanded.replace(f"${{{arg}}}", value).replace(f"${arg}", value)
        image = self.state.find_image(expanded)
        if image is not None:
            return image
        try:
            ref = parse_reference(expanded)
        except InvalidReference as exc:
            raise BuildFailed(f"invalid reference format: {exc}") from None
        remote = self.state.registry.get(ref.tagged)
        if remote is None:
            raise BuildFailed(f"pull access denied for {ref.name}, repository does not exist or may require "
                              f"'docker login': denied: requested access to the resource is denied")
        self.writer.write_json({"status": f"Pulling from {ref.path}", "id": ref.tag})
        with self.state.lock:
            local = self.state.add_image(remote)
            self.state.tag_image(local, ref.tagged)
        self.writer.write_json({"status": f"Digest: {remote.manifest_digest}"})
        self.writer.write_json({"status": f"Status: Downloaded newer image for {ref.tagged}"})
        return local

    def commit(self, parent: Image, tree: FileTree, config: dict[str, Any], created_by: str,
               empty: bool = False) -> Image:
        image = derived_image(parent, tree, config, "", "", created_by, empty=empty)
        with self.state.lock:
            return self.state.add_image(image)

    def step(self, image: Image, keyword: str, rest: str, original: str) -> Image:
        config = json.loads(json.dumps(image.config))
        container_id = State.new_id()[:12]
        if keyword == "RUN":
            self.say(f" ---> Running in {container_id}\n")
            argv = parse_exec_form(rest)
            tree = image.tree.copy()
            code = self.run_command(argv, config, tree)
            if code != 0:
                shown = json.dumps(argv) if rest.startswith("[") else " ".join(argv)
                raise BuildFailed(f"The command '{shown}' returned a non-zero code: {code}", code)
            self.say(f"Removing intermediate container {container_id}\n")
            return self.commit(image, tree, config, " ".join(argv) if not rest.startswith("[") else rest)
        if keyword in ("COPY", "ADD"):
            tree = image.tree.copy()
            self.copy(rest, config, tree, keyword)
            return self.commit(image, tree, config, f"/bin/sh -c #(nop) {original}")
        self.say(f" ---> Running in {container_id}\n")
        if keyword == "MAINTAINER":
            pass
        elif keyword in ("SHELL", "HEALTHCHECK", "ARG"):
            pass
        else:
            apply_instruction(config, keyword, self.expand(rest, config))
        self.say(f"Removing intermediate container {container_id}\n")
        return self.commit(image, image.tree, config, f"/bin/sh -c #(nop)  {original}", empty=True)

    def expand(self, text: str, config: dict[str, Any]) -> str:
        values = {**self.declared_args, **{k: v for k, v in self.build_args.items() if k in self.declared_args}}
        for item in config.get("Env") or []:
            name, _, value = item.partition("=")
            values[name] = value
        for name in sorted(values, key=len, reverse=True):
            text = text.replace(f"${{{name}}}", values[name]).replace(f"${name}", values[name])
        return text

    def run_command(self, argv: list[str], config: dict[str, Any], tree: FileTree) -> int:
        env = dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item)
        env.setdefault("PATH", DEFAULT_PATH.split("=", 1)[1])
        program = find_program(argv[0], fs=tree, search_path=env["PATH"])
        if program is None:
            self.say(f"/bin/sh: {argv[0]}: not found\n")
            return 127
        for name, default in self.declared_args.items():
            env.setdefault(name, self.build_args.get(name, default))
        lock = threading.Lock()

        def output(stream: int, data: bytes) -> None:
            with lock:
                self.say(data.decode(errors="replace"))

        workdir = config.get("WorkingDir") or "/"
        if tree.get(workdir) is None:
            tree.mkdir(workdir, parents=True)
        process = Process(argv=argv, env=env, cwd=workdir, fs=tree, hostname=State.new_id()[:12],
                          user=config.get("User", ""), tty=False, open_stdin=False, output=output)
        with self.state.lock:
            self.state.other_processes.add(process)  # so that stopping the daemon ends it
        try:
            process.start(program)
            process.wait()
        finally:
            with self.state.lock:
                self.state.other_processes.discard(process)
        return process.exit_code or 0

    def copy(self, rest: str, config: dict[str, Any], tree: FileTree, keyword: str) -> None:
        words = [w for w in parse_exec_form(rest, shell=False) if not w.startswith("--")]
        if len(words) < 2:
            raise BuildFailed(f"{keyword} requires at least two arguments")
        *sources, dest = words
        workdir = config.get("WorkingDir") or "/"
        dest_path = posixpath.join(workdir, dest)
        into_dir = dest.endswith("/") or len(sources) > 1 or tree.is_dir(dest_path)
        for source in sources:
            src = "/" + posixpath.normpath(source).lstrip("./").lstrip("/") if source not in (".", "./") else "/"
            node = self.context.get(src)
            if node is None:
                raise BuildFailed(f"{keyword} failed: file not found in build context or excluded by "
                                  f".dockerignore: stat {source}: file does not exist")
            if node.kind == DIR:
                target = dest_path
                tree.mkdir(target, parents=True)
                tree.extract_tar(self.context.to_tar(src, arcname=""), target)
            else:
                target = posixpath.join(dest_path, posixpath.basename(src)) if into_dir else dest_path
                tree.mkdir(posixpath.dirname(target) or "/", parents=True)
                tree.write_file(target, node.data, mode=node.mode)
