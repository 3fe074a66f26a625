"""A busybox root filesystem as a tar archive: the offline base image of the tests.

The machines that run minidock's tests reach no image registry, yet the
cross-chapter tests need *some* image to run containers from. Debian's
`busybox-static` package ships one statically linked binary that is a whole
userland (sh, echo, sleep, ls, ...). A directory tree holding that binary,
one symlink per applet and a few files every Unix tool expects (/etc/passwd,
/etc/group, /tmp, and the mount points /proc, /sys, /dev) is a complete image
rootfs. `docker import` turns the tar of that tree into an image.

The tar is deterministic (fixed mtimes, uid/gid 0, sorted entries), so the
same busybox always yields the same bytes and the same layer digest. Chapter
04 later makes a proper OCI image layout from the same busybox; this module is
only the tests' quick way to an image in a stock dockerd.
"""

from __future__ import annotations

import io
import struct
import subprocess
import tarfile
from pathlib import Path

BUSYBOX_CANDIDATES = (Path("/bin/busybox"), Path("/usr/bin/busybox"))
APT_PACKAGE = "busybox-static"

# Every entry of the archive gets this mtime (the epoch): a fixed value makes
# the archive, and so the layer digest, the same on every run.
FIXED_MTIME = 0

PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = "root:x:0:\nnogroup:x:65534:\n"

# directory -> mode; the mount points stay empty, the runtime mounts over them.
DIRECTORIES = {
    "bin": 0o755,
    "dev": 0o755,
    "etc": 0o755,
    "proc": 0o555,
    "root": 0o700,
    "sys": 0o555,
    "tmp": 0o1777,  # sticky and world-writable, like every /tmp
}


class BusyboxNotFound(RuntimeError):
    """No statically linked busybox on this machine."""


def find_static_busybox() -> Path:
    """The machine's static busybox, or BusyboxNotFound naming the apt package."""
    for candidate in BUSYBOX_CANDIDATES:
        if candidate.is_file():
            if not is_static_elf(candidate):
                raise BusyboxNotFound(
                    f"{candidate} is dynamically linked; it would not run inside an image "
                    f"without its libraries: apt-get install {APT_PACKAGE}"
                )
            return candidate
    raise BusyboxNotFound(
        f"no busybox at {' or '.join(map(str, BUSYBOX_CANDIDATES))}: apt-get install {APT_PACKAGE}"
    )


def is_static_elf(path: Path) -> bool:
    """True when `path` is an ELF executable with no program interpreter (PT_INTERP).

    A dynamically linked binary names its loader (ld-linux) in a PT_INTERP
    program header; a static one (static-pie included) has none.
    """
    with path.open("rb") as f:
        ident = f.read(16)
        if ident[:4] != b"\x7fELF":
            return False
        is_64 = ident[4] == 2
        endian = "<" if ident[5] == 1 else ">"
        header = f.read(48 if is_64 else 36)
        if is_64:
            e_phoff, = struct.unpack_from(endian + "Q", header, 16)
            e_phentsize, e_phnum = struct.unpack_from(endian + "HH", header, 38)
        else:
            e_phoff, = struct.unpack_from(endian + "I", header, 12)
            e_phentsize, e_phnum = struct.unpack_from(endian + "HH", header, 26)
        PT_INTERP = 3
        for index in range(e_phnum):
            f.seek(e_phoff + index * e_phentsize)
            p_type, = struct.unpack(endian + "I", f.read(4))
            if p_type == PT_INTERP:
                return False
    return True


def busybox_applets(busybox: Path) -> list[str]:
    """The applet names this busybox was built with (`busybox --list`)."""
    listed = subprocess.run(
        [str(busybox), "--list"], check=True, capture_output=True, text=True, timeout=30
    ).stdout.split()
    # `busybox` itself may be listed; a symlink bin/busybox -> busybox would
    # replace the binary with a link to itself.
    return sorted({name for name in listed if name and "/" not in name} - {"busybox"} | {"sh"})


def _entry(name: str, kind: bytes, mode: int, size: int = 0, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.linkname = linkname
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def build_busybox_rootfs_tar(path: Path) -> Path:
    """Write the busybox rootfs as an uncompressed tar at `path`; return `path`.

    Layout: bin/busybox, bin/<applet> -> busybox for every applet (bin/sh
    among them), etc/passwd (root, nobody), etc/group, an empty tmp/ (1777),
    and the empty mount points proc/, sys/, dev/, plus root/.
    """
    busybox = find_static_busybox()
    binary = busybox.read_bytes()
    files: dict[str, tuple[tarfile.TarInfo, bytes | None]] = {}

    for directory, mode in DIRECTORIES.items():
        files[directory] = (_entry(directory, tarfile.DIRTYPE, mode), None)
    files["bin/busybox"] = (_entry("bin/busybox", tarfile.REGTYPE, 0o755, len(binary)), binary)
    for applet in busybox_applets(busybox):
        name = f"bin/{applet}"
        files[name] = (_entry(name, tarfile.SYMTYPE, 0o777, linkname="busybox"), None)
    for name, text in (("etc/passwd", PASSWD), ("etc/group", GROUP)):
        data = text.encode()
        files[name] = (_entry(name, tarfile.REGTYPE, 0o644, len(data)), data)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Sorted names put every directory before its contents ("bin" < "bin/sh").
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info, data = files[name]
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path
