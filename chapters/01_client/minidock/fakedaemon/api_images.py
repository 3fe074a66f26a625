"""Image endpoints: list, inspect, history, tag, remove, pull, import, push, search, commit, save, load.

Names in image paths contain `/` and `:` (`/images/localhost:5000/demo:v1/json`),
so routes match on the suffix. "Pulling" takes an image from `state.registry`
(a dict the tests can seed) and sends the progress stream dockerd sends;
nothing leaves the machine.
"""

from __future__ import annotations

import fnmatch
import io
import json
import posixpath
import tarfile
import time
from typing import TYPE_CHECKING, Any

from minidock.fakedaemon import lifecycle
from minidock.fakedaemon.api_system import parse_filters, registry_auth_user
from minidock.fakedaemon.filetree import FileTree, TreeError
from minidock.fakedaemon.state import (
    Image, InvalidReference, Reference, State, parse_reference, rfc3339, sha256,
)
from minidock.fakedaemon.wire import BadRequest, ChunkedWriter, Conflict, HTTPError, NotFound, Request, Responder

if TYPE_CHECKING:
    from minidock.fakedaemon.daemon import FakeDaemon


def find_image(daemon: FakeDaemon, ref: str) -> Image:
    image = daemon.state.find_image(ref)
    if image is None:
        raise NotFound(f"No such image: {_tagged(ref)}")
    return image


def _tagged(ref: str) -> str:
    try:
        parsed = parse_reference(ref)
    except InvalidReference:
        return ref
    return str(parsed) if parsed.digest else parsed.tagged


def _reference(text: str) -> Reference:
    try:
        return parse_reference(text)
    except InvalidReference as exc:
        raise BadRequest(str(exc)) from None


# ---------------------------------------------------------------- list / inspect ----
def _repo_tags(image: Image) -> tuple[list[str], list[str] | None]:
    if image.repo_tags or image.repo_digests:
        return list(image.repo_tags), list(image.repo_digests) or None
    return ["<none>:<none>"], ["<none>@<none>"]  # API 1.41's way of saying "dangling"


IMAGE_FILTERS = {"before", "dangling", "label", "reference", "since"}


def list_images(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    filters = parse_filters(req, IMAGE_FILTERS)
    show_all = req.flag("all")
    state = daemon.state
    with state.lock:
        images = sorted(state.images.values(), key=lambda i: i.created, reverse=True)
        parents = {i.parent for i in images if i.parent}
        result = []
        for image in images:
            dangling = not image.repo_tags and not image.repo_digests
            if not show_all and dangling and image.id in parents:
                continue  # an intermediate build layer
            if "dangling" in filters:
                wanted = {v.lower() for v in filters["dangling"]}
                if not wanted <= {"true", "false", "1", "0"}:
                    raise BadRequest(f"Invalid filter 'dangling={','.join(sorted(wanted))}'")
                if dangling != bool(wanted & {"true", "1"}):
                    continue
            if "reference" in filters and not _reference_matches(image, filters["reference"]):
                continue
            if "label" in filters and not _labels_match(image.config.get("Labels") or {}, filters["label"]):
                continue
            if not _time_filters(state, image, filters):
                continue
            tags, digests = _repo_tags(image)
            result.append({
                "Containers": -1, "Created": int(image.created), "Id": image.id,
                "Labels": image.config.get("Labels"), "ParentId": image.parent, "RepoDigests": digests,
                "RepoTags": tags, "SharedSize": -1, "Size": image.size, "VirtualSize": image.size,
            })
    res.send_json(200, result)


def _reference_matches(image: Image, patterns: set[str]) -> bool:
    for tag in image.repo_tags:
        name = tag.rsplit(":", 1)[0]
        for pattern in patterns:
            if fnmatch.fnmatchcase(tag, pattern) or fnmatch.fnmatchcase(name, pattern):
                return True
    return False


def _labels_match(labels: dict[str, str], wanted: set[str]) -> bool:
    for label in wanted:
        key, eq, value = label.partition("=")
        if key not in labels or (eq and labels[key] != value):
            return False
    return True


def _time_filters(state: State, image: Image, filters: dict[str, set[str]]) -> bool:
    for key in ("before", "since"):
        for ref in filters.get(key, ()):
            pivot = state.find_image(ref)
            if pivot is None:
                raise NotFound(f"No such image: {_tagged(ref)}")
            if key == "before" and not image.created < pivot.created:
                return False
            if key == "since" and not image.created > pivot.created:
                return False
    return True


def inspect_document(image: Image) -> dict[str, Any]:
    config = {"Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
              "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": None,
              "Cmd": None, "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None, "OnBuild": None,
              "Labels": None, **image.config}
    return {
        "Id": image.id, "RepoTags": list(image.repo_tags), "RepoDigests": list(image.repo_digests),
        "Parent": image.parent, "Comment": image.comment, "Created": rfc3339(image.created),
        "Container": image.container, "ContainerConfig": config, "DockerVersion": "", "Author": image.author,
        "Config": config, "Architecture": "amd64", "Os": "linux", "Size": image.size, "VirtualSize": image.size,
        "GraphDriver": {"Data": None, "Name": "memory"},
        "RootFS": {"Type": "layers", "Layers": image.diff_ids},
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
    }


def inspect(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    ref = req.params["name"]
    image = daemon.state.find_image(ref)
    if image is None:
        raise NotFound(f"no such image: {ref}: No such image: {_tagged(ref)}")
    with daemon.state.lock:
        document = inspect_document(image)
    res.send_json(200, document)


def history(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    image = find_image(daemon, req.params["name"])
    state = daemon.state
    with state.lock:
        chain = []
        current: Image | None = image
        while current is not None and current not in chain:
            chain.append(current)
            current = state.images.get(current.parent) if current.parent else None
        entries = []
        for index, item in enumerate(chain):
            own = item.history[len(chain[index + 1].history):] if index + 1 < len(chain) else item.history
            for position, record in enumerate(reversed(own)):
                created_ts = int(_parse_created(record.get("created", ""), default=item.created))
                entries.append({
                    "Comment": record.get("comment", ""), "Created": created_ts,
                    "CreatedBy": record.get("created_by", ""),
                    "Id": item.id if position == 0 else "<missing>",
                    "Size": 0 if record.get("empty_layer") or not item.layers else layer_size(item.layers[-1]),
                    "Tags": (list(item.repo_tags) or None) if position == 0 else None,
                })
    res.send_json(200, entries)


def layer_size(layer: bytes) -> int:
    """The bytes of file content a layer adds (what `docker history` shows as SIZE)."""
    try:
        with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
            return sum(member.size for member in tar.getmembers() if member.isfile())
    except tarfile.TarError:
        return len(layer)


# ---------------------------------------------------------------- tag / remove ----
def tag(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    image = find_image(daemon, req.params["name"])
    repo = req.arg("repo") or ""
    if not repo:
        raise BadRequest("repository name must have at least one component")
    ref = _reference(repo if not req.arg("tag") else f"{repo}:{req.arg('tag')}")
    if ref.digest:
        raise BadRequest("refusing to create a tag with a digest reference")
    state = daemon.state
    with state.lock:
        state.tag_image(image, ref.tagged)
        state.events.emit("image", "tag", image.id, {"name": ref.tagged})
    res.send(201)


def delete(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    """dockerd's ImageDelete: untag first; delete only when no reference (and no conflict) is left."""
    ref = req.params["name"]
    force, prune = req.flag("force"), not req.flag("noprune")
    state = daemon.state
    with state.lock:
        image = find_image(daemon, ref)
        records: list[dict[str, str]] = []
        by_id = image.id[7:].startswith(ref.removeprefix("sha256:")) and not _is_tag_of(image, ref)
        short = image.short_id
        users = lifecycle.image_in_use(state, image)
        removed_reference = False
        if not by_id:
            parsed = _reference(ref)
            if users and len(image.repo_tags) + len(image.repo_digests) == 1 and not force:
                raise Conflict(f'conflict: unable to remove repository reference "{ref}" (must force) - '
                               f'container {users[0].short_id} is using its referenced image {short}')
            name = str(parsed) if parsed.digest else parsed.tagged
            if parsed.digest:
                image.repo_digests.remove(f"{parsed.name}@{parsed.digest}")
            else:
                image.repo_tags.remove(name)
            records.append({"Untagged": name})
            state.events.emit("image", "untag", image.id, {"name": image.id})
            if not parsed.digest and not any(t.rsplit(":", 1)[0] == parsed.name for t in image.repo_tags):
                for digest in [d for d in image.repo_digests if d.split("@")[0] == parsed.name]:
                    image.repo_digests.remove(digest)
                    records.append({"Untagged": digest})
            if image.repo_tags or image.repo_digests:
                state.notify()
                res.send_json(200, records)
                return
            removed_reference = True
        else:
            repos = {t.rsplit(":", 1)[0] for t in image.repo_tags} | {d.split("@")[0] for d in image.repo_digests}
            if len(image.repo_tags) <= 1 and len(repos) <= 1:
                _check_conflicts(state, image, force, short)
                for name in list(image.repo_tags) + list(image.repo_digests):
                    records.append({"Untagged": name})
                    state.events.emit("image", "untag", image.id, {"name": image.id})
                image.repo_tags.clear()
                image.repo_digests.clear()
        try:
            _check_conflicts(state, image, force, short)
        except Conflict:
            if removed_reference:
                state.notify()
                res.send_json(200, records)
                return
            raise
        _delete_chain(state, image, prune, records)
        state.notify()
    res.send_json(200, records)


def _is_tag_of(image: Image, ref: str) -> bool:
    try:
        parsed = parse_reference(ref)
    except InvalidReference:
        return False
    return parsed.tagged in image.repo_tags or f"{parsed.name}@{parsed.digest}" in image.repo_digests


def _check_conflicts(state: State, image: Image, force: bool, short: str) -> None:
    if state.children(image):
        raise Conflict(f"conflict: unable to delete {short} (cannot be forced) - image has dependent child images")
    users = lifecycle.image_in_use(state, image)
    running = [c for c in users if c.running]
    if running:
        raise Conflict(f"conflict: unable to delete {short} (cannot be forced) - image is being used by "
                       f"running container {running[0].short_id}")
    if force:
        return
    if len(image.repo_tags) > 1 or len({t.rsplit(':', 1)[0] for t in image.repo_tags}) > 1:
        raise Conflict(f"conflict: unable to delete {short} (must be forced) - image is referenced in "
                       f"multiple repositories")
    if users:
        raise Conflict(f"conflict: unable to delete {short} (must be forced) - image is being used by "
                       f"stopped container {users[0].short_id}")


def _delete_chain(state: State, image: Image, prune: bool, records: list[dict[str, str]]) -> None:
    for name in list(image.repo_tags):
        records.append({"Untagged": name})
        state.events.emit("image", "untag", image.id, {"name": image.id})
    image.repo_tags.clear()
    state.images.pop(image.id, None)
    records.append({"Deleted": image.id})
    state.events.emit("image", "delete", image.id, {"name": image.id})
    parent = state.images.get(image.parent) if image.parent else None
    if prune and parent is not None and not parent.repo_tags and not state.children(parent) \
            and not lifecycle.image_in_use(state, parent):
        _delete_chain(state, parent, prune, records)


# ---------------------------------------------------------------- progress streams ----
def human_size(size: float) -> str:
    """go-units HumanSize: 4 significant digits, decimal units (`36.41kB`, `1.065MB`)."""
    units = ["B", "kB", "MB", "GB", "TB"]
    index = 0
    while size >= 1000 and index < len(units) - 1:
        size /= 1000
        index += 1
    return f"{size:.4g}{units[index]}"


def progress_bar(current: int, total: int) -> str:
    """jsonmessage.JSONProgress.String() at the daemon's width: `[====>   ]  1.2MB/3.4MB`."""
    percentage = min(int(current / total * 100) // 2, 50) if total else 0
    bar = "[" + "=" * percentage + ">" + " " * (50 - percentage) + "] "
    return f"{bar}{human_size(current):>8}/{human_size(total)}"


def _progress(writer: ChunkedWriter, status: str, layer_id: str, current: int, total: int) -> None:
    writer.write_json({"status": status, "progressDetail": {"current": current, "total": total},
                       "progress": progress_bar(current, total), "id": layer_id})


def create(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    """`POST /images/create`: a pull (`fromImage`) or an import (`fromSrc`)."""
    if req.arg("fromSrc") is not None:
        import_image(daemon, req, res)
    elif req.arg("fromImage"):
        pull(daemon, req, res)
    else:
        raise BadRequest("Either fromImage or fromSrc must be set")


def pull(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    source = req.arg("fromImage") or ""
    tag_value = req.arg("tag") or ""
    ref = _reference(source if not tag_value else (f"{source}@{tag_value}" if tag_value.startswith("sha256:")
                                                   else f"{source}:{tag_value}"))
    name = str(ref) if ref.digest else ref.tagged
    state = daemon.state
    with state.lock:
        image = state.registry.get(name)
        if image is None and ref.digest:
            image = next((i for i in state.registry.values() if i.manifest_digest == ref.digest), None)
    if image is None:
        # Before any byte of the stream: a plain 404, which `docker run` turns into its error.
        raise NotFound(f"manifest for {name} not found: manifest unknown: manifest unknown")
    writer = res.stream(200, "application/json")
    writer.write_json({"status": f"Pulling from {ref.path}", "id": ref.tag or ref.digest})
    with state.lock:
        local = state.images.get(image.id)
        up_to_date = local is not None and (name in local.repo_tags or ref.digest)
    if not up_to_date:
        for layer in image.layers:
            layer_id = sha256(layer)[7:19]
            total = max(len(layer), 1)
            writer.write_json({"status": "Pulling fs layer", "progressDetail": {}, "id": layer_id})
            for fraction in (0.25, 0.75, 1.0):
                _progress(writer, "Downloading", layer_id, int(total * fraction), total)
            writer.write_json({"status": "Verifying Checksum", "progressDetail": {}, "id": layer_id})
            writer.write_json({"status": "Download complete", "progressDetail": {}, "id": layer_id})
            for fraction in (0.5, 1.0):
                _progress(writer, "Extracting", layer_id, int(total * fraction), total)
            writer.write_json({"status": "Pull complete", "progressDetail": {}, "id": layer_id})
    digest = image.manifest_digest
    with state.lock:
        local = state.add_image(image)
        if not ref.digest:
            state.tag_image(local, name)
        repo_digest = f"{ref.name}@{digest}"
        if repo_digest not in local.repo_digests:
            local.repo_digests.append(repo_digest)
        state.events.emit("image", "pull", name, {"name": ref.name})
    writer.write_json({"status": f"Digest: {digest}"})
    verb = "Image is up to date for" if up_to_date else "Downloaded newer image for"
    writer.write_json({"status": f"Status: {verb} {name}"})
    writer.close()


CHANGE_INSTRUCTIONS = {"CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "STOPSIGNAL", "USER", "VOLUME",
                       "WORKDIR"}


def apply_changes(config: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    """`docker import/commit -c 'CMD ["sh"]'`: Dockerfile instructions that only change the config."""
    config = json.loads(json.dumps(config))
    for change in changes:
        instruction, _, rest = change.strip().partition(" ")
        keyword = instruction.upper()
        rest = rest.strip()
        if keyword not in CHANGE_INSTRUCTIONS:
            raise BadRequest(f"{instruction} is not a valid change command")
        apply_instruction(config, keyword, rest)
    return config


def parse_exec_form(rest: str, shell: bool = True) -> list[str]:
    if rest.startswith("["):
        try:
            value = json.loads(rest)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return value
        except ValueError:
            pass
    return ["/bin/sh", "-c", rest] if shell else rest.split()


def parse_pairs(rest: str) -> dict[str, str]:
    import shlex

    try:
        words = shlex.split(rest)
    except ValueError:
        raise BadRequest(f"invalid instruction argument: {rest}") from None
    if len(words) >= 2 and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    pairs = {}
    for word in words:
        key, eq, value = word.partition("=")
        if not eq:
            raise BadRequest(f"missing '=' in {word}")
        pairs[key] = value
    return pairs


def apply_instruction(config: dict[str, Any], keyword: str, rest: str) -> None:
    if keyword == "CMD":
        config["Cmd"] = parse_exec_form(rest)
    elif keyword == "ENTRYPOINT":
        config["Entrypoint"] = parse_exec_form(rest)
        config["Cmd"] = None
    elif keyword == "ENV":
        config["Env"] = lifecycle.merge_env(config.get("Env") or [],
                                            [f"{k}={v}" for k, v in parse_pairs(rest).items()])
    elif keyword == "LABEL":
        config["Labels"] = {**(config.get("Labels") or {}), **parse_pairs(rest)}
    elif keyword == "EXPOSE":
        ports = config.get("ExposedPorts") or {}
        for port in rest.split():
            ports[port if "/" in port else f"{port}/tcp"] = {}
        config["ExposedPorts"] = ports
    elif keyword == "USER":
        config["User"] = rest
    elif keyword == "WORKDIR":
        config["WorkingDir"] = posixpath.join(config.get("WorkingDir") or "/", rest)
    elif keyword == "VOLUME":
        volumes = config.get("Volumes") or {}
        for path in parse_exec_form(rest, shell=False):
            volumes[path] = {}
        config["Volumes"] = volumes
    elif keyword == "STOPSIGNAL":
        config["StopSignal"] = rest
    elif keyword == "ONBUILD":
        config["OnBuild"] = [*(config.get("OnBuild") or []), rest]


def import_image(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    if req.arg("fromSrc") != "-":
        raise BadRequest("import from a URL is not possible: the fake daemon has no network; send the tar")
    repo = req.arg("repo") or ""
    ref = None
    if repo:
        ref = _reference(repo if not req.arg("tag") else f"{repo}:{req.arg('tag')}")
    tree = FileTree()
    body = req.body()
    try:
        tree.extract_tar(body, "/")
    except TreeError as exc:
        raise BadRequest(str(exc)) from None
    layer = tree.to_tar("/", arcname="")
    config = apply_changes({"Env": None, "Cmd": None}, req.args("changes"))
    message = req.arg("message") or ""
    image = Image(config=config, layers=[layer], created=time.time(), comment=message or "Imported from -",
                  history=[{"created": rfc3339(time.time()), "comment": message or "Imported from -",
                            "created_by": ""}])
    state = daemon.state
    with state.lock:
        image = state.add_image(image)
        if ref is not None:
            state.tag_image(image, ref.tagged)
        state.events.emit("image", "import", image.id, {"name": image.id})
    writer = res.stream(200, "application/json")
    writer.write_json({"status": image.id})
    writer.close()


def push(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    name = req.params["name"]
    tag_value = req.arg("tag") or ""
    ref = _reference(name)
    state = daemon.state
    tags = [f"{ref.name}:{tag_value}"] if tag_value else \
        sorted(t for i in state.images.values() for t in i.repo_tags if t.rsplit(":", 1)[0] == ref.name)
    images = [(t, state.image_by_tag(t)) for t in tags]
    if not images or any(i is None for _, i in images):
        raise NotFound(f"An image does not exist locally with the tag: {ref.name}")
    writer = res.stream(200, "application/json")
    writer.write_json({"status": f"The push refers to repository [{_qualified(ref)}]"})
    for tagged, image in images:
        layer_ids = [sha256(layer)[7:19] for layer in image.layers]
        for layer_id in layer_ids:
            writer.write_json({"status": "Preparing", "progressDetail": {}, "id": layer_id})
        if ref.domain == "docker.io" and not registry_auth_user(req):
            message = "denied: requested access to the resource is denied"
            writer.write_json({"errorDetail": {"message": message}, "error": message})
            writer.close()
            return
        for layer, layer_id in zip(image.layers, layer_ids):
            total = max(len(layer), 1)
            for fraction in (0.5, 1.0):
                _progress(writer, "Pushing", layer_id, int(total * fraction), total)
            writer.write_json({"status": "Pushed", "progressDetail": {}, "id": layer_id})
        digest, size = image.manifest_digest, image.manifest_size
        the_tag = tagged.rsplit(":", 1)[1]
        with state.lock:
            state.registry[tagged] = image
            repo_digest = f"{ref.name}@{digest}"
            if repo_digest not in image.repo_digests:
                image.repo_digests.append(repo_digest)
            state.events.emit("image", "push", tagged, {"name": ref.name})
        writer.write_json({"status": f"{the_tag}: digest: {digest} size: {size}"})
        writer.write_json({"progressDetail": {}, "aux": {"Tag": the_tag, "Digest": digest, "Size": size}})
    writer.close()


def _qualified(ref: Reference) -> str:
    return f"docker.io/{ref.path}" if ref.domain == "docker.io" else ref.name


# ---------------------------------------------------------------- search ----
def search(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    term = req.arg("term") or ""
    if not term:
        raise BadRequest("term cannot be empty")
    limit = req.int_arg("limit", 25)
    if not 1 <= limit <= 100:
        raise BadRequest(f"Limit {limit} is outside the range of [1, 100]")
    filters = parse_filters(req, {"is-automated", "is-official", "stars"})
    if "/" in term and ("." in term.split("/")[0] or ":" in term.split("/")[0] or term.startswith("localhost/")):
        raise HTTPError(500, "Unexpected status code 404")  # a registry:2 has no /v1/search
    results = []
    for item in daemon.state.search_index:
        if term.lower() not in item["name"].lower() and term.lower() not in item["description"].lower():
            continue
        if "is-official" in filters and str(item["is_official"]).lower() not in {v.lower() for v in filters["is-official"]}:
            continue
        if "is-automated" in filters and "true" in {v.lower() for v in filters["is-automated"]}:
            continue
        if "stars" in filters:
            try:
                minimum = max(int(v) for v in filters["stars"])
            except ValueError:
                raise BadRequest("invalid filter 'stars'") from None
            if item["star_count"] < minimum:
                continue
        results.append({**item, "is_automated": False})
    res.send_json(200, results[:limit])


# ---------------------------------------------------------------- commit ----
def commit(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    ref_text = req.arg("container") or ""
    container = daemon.state.find_container(ref_text)
    if container is None:
        raise NotFound(f"No such container: {ref_text}")
    repo = req.arg("repo") or ""
    ref = _reference(repo if not req.arg("tag") else f"{repo}:{req.arg('tag')}") if repo else None
    overrides = req.json(None)
    state = daemon.state
    with state.lock:
        base = container.image
        config = {k: v for k, v in container.config.items()
                  if k in ("User", "ExposedPorts", "Env", "Cmd", "WorkingDir", "Entrypoint", "Labels",
                           "Volumes", "StopSignal", "OnBuild")}
        config["Cmd"] = [container.path, *container.args] if not container.config.get("Entrypoint") \
            else container.config.get("Cmd")
        if isinstance(overrides, dict):
            config.update({k: v for k, v in overrides.items() if k in config or k in ("Cmd", "Env", "Labels")})
        config = apply_changes(config, req.args("changes"))
        image = derived_image(base, container.tree, config, req.arg("comment") or "", req.arg("author") or "",
                              " ".join([container.path, *container.args]), container_id=container.id)
        image = state.add_image(image)
        if ref is not None:
            state.tag_image(image, ref.tagged)
        lifecycle.emit(state, container, "commit", comment=req.arg("comment") or "",
                       imageID=image.id, imageRef=ref.tagged if ref else "")
    res.send_json(201, {"Id": image.id})


def diff_layer(base: FileTree, tree: FileTree) -> bytes:
    """A layer holding what changed from `base` to `tree`, with `.wh.` whiteouts for deletions."""
    changed = tree.changes(base)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for change in changed:
            path = change["Path"]
            if change["Kind"] == 2:
                info = tarfile.TarInfo(posixpath.join(posixpath.dirname(path), ".wh." + posixpath.basename(path))[1:])
                tar.addfile(info, io.BytesIO(b""))
            else:
                FileTree._add_member(tar, path[1:], tree.nodes[path])
    return buffer.getvalue()


def derived_image(base: Image, tree: FileTree, config: dict[str, Any], comment: str, author: str,
                  created_by: str, container_id: str = "", empty: bool = False) -> Image:
    layers = list(base.layers)
    if not empty:
        layers.append(diff_layer(base.tree, tree))
    record = {"created": rfc3339(time.time()), "created_by": created_by}
    if comment:
        record["comment"] = comment
    if author:
        record["author"] = author
    if empty:
        record["empty_layer"] = True
    image = Image(config=config, layers=layers, created=time.time(), parent=base.id, comment=comment,
                  author=author, container=container_id, history=[*base.history, record])
    image._tree = tree.copy() if not empty else base.tree.copy()
    return image


# ---------------------------------------------------------------- save / load ----
def save(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    names = req.args("names")
    if not names:
        raise BadRequest("no image names given")
    _send_archive(daemon, res, names)


def save_one(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    _send_archive(daemon, res, [req.params["name"]])


def _send_archive(daemon: FakeDaemon, res: Responder, names: list[str]) -> None:
    """The `docker save` layout of dockerd 20.10: <config>.json, <layer>/layer.tar, manifest.json, repositories."""
    state = daemon.state
    with state.lock:
        chosen: list[tuple[Image, list[str]]] = []
        for name in names:
            image = find_image(daemon, name)
            tags = [] if image.id.startswith(name) or name.startswith("sha256:") else [_tagged(name)]
            for existing, existing_tags in chosen:
                if existing is image:
                    existing_tags.extend(t for t in tags if t not in existing_tags)
                    break
            else:
                chosen.append((image, tags))
    buffer = io.BytesIO()
    manifest, repositories = [], {}
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        written = set()

        def add(name: str, data: bytes, mode: int = 0o644) -> None:
            if name in written:
                return
            written.add(name)
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 0
            tar.addfile(info, io.BytesIO(data))

        for image, tags in chosen:
            config_name = image.id[7:] + ".json"
            add(config_name, image.config_json)
            layer_paths = []
            parent_id = ""
            for layer in image.layers:
                layer_id = sha256((parent_id + sha256(layer)).encode())[7:]
                directory = tarfile.TarInfo(layer_id)
                directory.type, directory.mode = tarfile.DIRTYPE, 0o755
                if layer_id not in written:
                    tar.addfile(directory)
                add(f"{layer_id}/VERSION", b"1.0")
                add(f"{layer_id}/json", json.dumps({"id": layer_id, **({"parent": parent_id} if parent_id else {})}).encode())
                add(f"{layer_id}/layer.tar", layer)
                layer_paths.append(f"{layer_id}/layer.tar")
                parent_id = layer_id
            manifest.append({"Config": config_name, "RepoTags": tags or None, "Layers": layer_paths})
            for tagged in tags:
                repo, the_tag = tagged.rsplit(":", 1)
                repositories.setdefault(repo, {})[the_tag] = parent_id
        add("manifest.json", json.dumps(manifest, separators=(",", ":")).encode())
        if repositories:
            add("repositories", json.dumps(repositories, separators=(",", ":")).encode())
    data = buffer.getvalue()
    writer = res.stream(200, "application/x-tar")
    for offset in range(0, len(data), 65536):
        writer.write(data[offset:offset + 65536])
    writer.close()


def _read_archive(body: bytes) -> dict[str, bytes]:
    try:
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:*") as tar:
            return {posixpath.normpath(m.name): tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BadRequest(f"Error processing tar file(exit status 1): {exc}") from None


def load(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    """`docker load`: dockerd's save layout, or an OCI layout whose manifest.json points into blobs/."""
    files = _read_archive(req.body())
    if "manifest.json" not in files:
        raise BadRequest("Error processing tar file(exit status 1): open manifest.json: no such file or directory"
                         if "index.json" not in files else "OCI layout without manifest.json is not supported")
    try:
        manifest = json.loads(files["manifest.json"])
        loaded: list[tuple[Image, list[str]]] = []
        for entry in manifest:
            config_bytes = files[posixpath.normpath(entry["Config"])]
            config_doc = json.loads(config_bytes)
            layers = [files[posixpath.normpath(path)] for path in entry.get("Layers") or []]
            image = Image(config=config_doc.get("config") or {}, layers=layers,
                          created=_parse_created(config_doc.get("created", "")),
                          parent=config_doc.get("parent", ""), comment=config_doc.get("comment", ""),
                          author=config_doc.get("author", ""), container=config_doc.get("container", ""),
                          history=config_doc.get("history") or [])
            image._config_json = config_bytes
            if image.diff_ids != (config_doc.get("rootfs") or {}).get("diff_ids", image.diff_ids):
                raise BadRequest("Error processing tar file: layer digest does not match the config's diff_ids")
            loaded.append((image, [_reference(t).tagged for t in entry.get("RepoTags") or []]))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, HTTPError):
            raise
        raise BadRequest(f"invalid docker save archive: {exc}") from None
    state = daemon.state
    messages = []
    with state.lock:
        for image, tags in loaded:
            image = state.add_image(image)
            for tagged in tags:
                state.tag_image(image, tagged)
                messages.append(f"Loaded image: {tagged}\n")
            if not tags:
                messages.append(f"Loaded image ID: {image.id}\n")
            state.events.emit("image", "load", image.id, {"name": image.id})
    writer = res.stream(200, "application/json")
    for message in messages:
        writer.write_json({"stream": message})
    writer.close()


def _parse_created(text: str, default: float | None = None) -> float:
    """An RFC 3339 time from an image config, as unix seconds."""
    import calendar

    try:
        base = time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return time.time() if default is None else default
    fraction = text[19:].rstrip("Z").split("+")[0]
    return calendar.timegm(base) + (float("0" + fraction) if fraction.startswith(".") else 0.0)


def prune(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    """`POST /images/prune`: dangling images (or, with dangling=false, every unused one)."""
    filters = parse_filters(req, {"dangling", "label", "until"})
    only_dangling = not ({v.lower() for v in filters.get("dangling", {"true"})} & {"false", "0"})
    state = daemon.state
    records: list[dict[str, str]] = []
    reclaimed = 0
    with state.lock:
        for image in sorted(state.images.values(), key=lambda i: i.created, reverse=True):
            if image.id not in state.images or lifecycle.image_in_use(state, image) or state.children(image):
                continue
            if only_dangling and (image.repo_tags or image.repo_digests):
                continue
            reclaimed += image.size
            _delete_chain(state, image, True, records)
        state.events.emit("image", "prune", "", {"reclaimed": str(reclaimed)})
        state.notify()
    res.send_json(200, {"ImagesDeleted": records or None, "SpaceReclaimed": reclaimed})


def system_df(daemon: FakeDaemon, req: Request, res: Responder) -> None:
    from minidock.fakedaemon.api_containers import summary

    state = daemon.state
    with state.lock:
        images = []
        for image in state.images.values():
            tags, digests = _repo_tags(image)
            images.append({"Containers": len(lifecycle.image_in_use(state, image)), "Created": int(image.created),
                           "Id": image.id, "Labels": image.config.get("Labels"), "ParentId": image.parent,
                           "RepoDigests": digests, "RepoTags": tags, "SharedSize": 0, "Size": image.size,
                           "VirtualSize": image.size})
        containers = [summary(c, True) for c in state.containers.values()]
    res.send_json(200, {"LayersSize": sum(i["Size"] for i in images), "Images": images,
                        "Containers": containers, "Volumes": [], "BuildCache": []})
