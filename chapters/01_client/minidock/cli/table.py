"""The command table: name -> (module, summary). Choices are data (STYLE.md).

`main.py` reads it to print the usage and to import only the module of the
command being run.
"""

from __future__ import annotations

from collections import namedtuple

# module: under minidock.cli.commands; summary: the line `minidock --help` shows.
CommandSpec = namedtuple("CommandSpec", "module summary")


# --8<-- [start:commands]
COMMANDS: dict[str, CommandSpec] = {
    # containers
    "run": CommandSpec("run", "Create and run a new container from an image"),
    "create": CommandSpec("run", "Create a new container"),
    "start": CommandSpec("lifecycle", "Start one or more stopped containers"),
    "stop": CommandSpec("lifecycle", "Stop one or more running containers"),
    "restart": CommandSpec("lifecycle", "Restart one or more containers"),
    "kill": CommandSpec("lifecycle", "Kill one or more running containers"),
    "rm": CommandSpec("lifecycle", "Remove one or more containers"),
    "pause": CommandSpec("lifecycle", "Pause all processes within one or more containers"),
    "unpause": CommandSpec("lifecycle", "Unpause all processes within one or more containers"),
    "rename": CommandSpec("lifecycle", "Rename a container"),
    "wait": CommandSpec("lifecycle", "Block until one or more containers stop, then print their exit codes"),
    "attach": CommandSpec("attach", "Attach local standard input, output, and error streams to a running container"),
    "exec": CommandSpec("exec", "Execute a command in a running container"),
    "logs": CommandSpec("logs", "Fetch the logs of a container"),
    "ps": CommandSpec("ps", "List containers"),
    "inspect": CommandSpec("inspect", "Return low-level information on Docker objects"),
    "top": CommandSpec("top", "Display the running processes of a container"),
    "stats": CommandSpec("stats", "Display a live stream of container(s) resource usage statistics"),
    "port": CommandSpec("port", "List port mappings or a specific mapping for the container"),
    "diff": CommandSpec("diff", "Inspect changes to files or directories on a container's filesystem"),
    "cp": CommandSpec("cp", "Copy files/folders between a container and the local filesystem"),
    "export": CommandSpec("archive", "Export a container's filesystem as a tar archive"),
    "commit": CommandSpec("commit", "Create a new image from a container's changes"),
    # images and registries
    "images": CommandSpec("images", "List images"),
    "pull": CommandSpec("registry", "Download an image from a registry"),
    "push": CommandSpec("registry", "Upload an image to a registry"),
    "search": CommandSpec("registry", "Search Docker Hub for images"),
    "login": CommandSpec("registry", "Authenticate to a registry"),
    "logout": CommandSpec("registry", "Log out from a registry"),
    "tag": CommandSpec("image_ops", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"),
    "rmi": CommandSpec("image_ops", "Remove one or more images"),
    "history": CommandSpec("image_ops", "Show the history of an image"),
    "save": CommandSpec("archive", "Save one or more images to a tar archive (streamed to STDOUT by default)"),
    "load": CommandSpec("archive", "Load an image from a tar archive or STDIN"),
    "import": CommandSpec("archive", "Import the contents from a tarball to create a filesystem image"),
    "build": CommandSpec("build", "Build an image from a Dockerfile"),
    # system
    "version": CommandSpec("system", "Show the Docker version information"),
    "info": CommandSpec("system", "Display system-wide information"),
    "events": CommandSpec("events", "Get real time events from the server"),
    "doctor": CommandSpec("doctor", "Check what this machine has and lacks for each chapter"),
}
# --8<-- [end:commands]
