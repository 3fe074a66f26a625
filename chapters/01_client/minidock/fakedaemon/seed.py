"""What the fake daemon holds when it starts: busybox, a pretend registry, a search index.

The images are small but well-formed: real layer tars (a busybox-like tree
with /bin/sh, /etc/passwd ...), a real image config, IDs that are the
sha256 of that config. Their programs are imitated by programs.py.
"""

from __future__ import annotations

import hashlib
import json

from minidock.fakedaemon.filetree import DIR, FIXED_MTIME, FileTree, Node
from minidock.fakedaemon.programs import PROGRAMS
from minidock.fakedaemon.state import DEFAULT_PATH, Image, State

BUSYBOX_CREATED = 1_727_300_000  # a fixed date (late 2024), so the ID never changes

PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
"""
GROUP = """root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
mail:x:12:
www-data:x:33:
operator:x:37:
users:x:100:
nogroup:x:65533:
nobody:x:65534:
"""
BUSYBOX_BINARY = (b"#!/fake\n# minidock's fake daemon imitates busybox's applets in Python "
                  b"(minidock/fakedaemon/programs.py); this file only stands in for the binary.\n")


def busybox_tree(extra: dict[str, bytes] | None = None) -> FileTree:
    tree = FileTree()
    for path, mode in [("/bin", 0o755), ("/dev", 0o755), ("/etc", 0o755), ("/home", 0o755), ("/proc", 0o555),
                       ("/root", 0o700), ("/sys", 0o555), ("/tmp", 0o1777), ("/usr", 0o755), ("/usr/sbin", 0o755),
                       ("/var", 0o755), ("/var/spool", 0o755), ("/var/spool/mail", 0o755), ("/var/www", 0o755)]:
        tree.nodes[path] = Node(DIR, mode)
    tree.nodes["/bin/busybox"] = Node("file", 0o755, BUSYBOX_BINARY)
    for name in sorted(PROGRAMS):
        if name not in ("busybox", ":"):
            tree.nodes[f"/bin/{name}"] = Node("symlink", 0o777, target="busybox")
    tree.nodes["/etc/passwd"] = Node("file", 0o644, PASSWD.encode())
    tree.nodes["/etc/group"] = Node("file", 0o644, GROUP.encode())
    tree.nodes["/etc/shadow"] = Node("file", 0o640, b"root:*:19000:0:99999:7:::\n")
    for path, data in (extra or {}).items():
        tree.nodes[path] = Node("file", 0o644, data)
    for node in tree.nodes.values():
        node.mtime = FIXED_MTIME
    return tree


def make_image(tree: FileTree, cmd: list[str], tags: list[str], created: float,
               env: list[str] | None = None, labels: dict[str, str] | None = None) -> Image:
    layer = tree.to_tar("/", arcname="")
    file_digest = hashlib.sha256(layer).hexdigest()
    config = {"Env": env or [DEFAULT_PATH], "Cmd": cmd, "Labels": labels}
    history = [
        {"created": "2024-09-26T21:31:42Z", "created_by": f"/bin/sh -c #(nop) ADD file:{file_digest} in / "},
        {"created": "2024-09-26T21:31:42Z", "created_by": f"/bin/sh -c #(nop)  CMD {json.dumps(cmd)}",
         "empty_layer": True},
    ]
    return Image(config=config, layers=[layer], created=created, repo_tags=tags, history=history)


def busybox_image() -> Image:
    return make_image(busybox_tree(), ["sh"], ["busybox:latest"], BUSYBOX_CREATED)


def seed(state: State) -> None:
    state.add_image(busybox_image())
    alpine = make_image(
        busybox_tree({"/etc/alpine-release": b"3.20.3\n",
                      "/etc/os-release": b'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\n'}),
        ["/bin/sh"], [], BUSYBOX_CREATED + 3600)
    demo = make_image(busybox_tree({"/demo.txt": b"hello from the demo image\n"}),
                      ["cat", "/demo.txt"], [], BUSYBOX_CREATED + 7200, labels={"org.example.demo": "v1"})
    state.registry.update({
        "busybox:latest": state.images[next(iter(state.images))],
        "alpine:latest": alpine,
        "localhost:5000/demo:v1": demo,
    })
    state.search_index.extend([
        {"name": "busybox", "description": "Busybox base image.", "star_count": 3300,
         "is_official": True, "is_automated": False},
        {"name": "alpine", "description": "A minimal Docker image based on Alpine Linux with a complete "
                                          "package index and only 5 MB in size!", "star_count": 11000,
         "is_official": True, "is_automated": False},
        {"name": "radial/busyboxplus", "description": "Full-chain, Internet enabled, busybox made from "
                                                      "scratch. Comes in git and cURL flavors.",
         "star_count": 58, "is_official": False, "is_automated": False},
        {"name": "yauritux/busybox-curl", "description": "Busybox with CURL", "star_count": 23,
         "is_official": False, "is_automated": False},
        {"name": "hello-world", "description": "Hello World! (an example of minimal Dockerization)",
         "star_count": 2300, "is_official": True, "is_automated": False},
    ])
