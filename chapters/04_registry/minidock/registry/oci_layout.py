"""The offline default image: busybox as an OCI image layout, made by our own code.

The machines that run minidock reach no image registry, yet a reader of
chapter 04 should see a real pull. Debian's `busybox-static` package ships one
statically linked binary that is a whole userland (sh, echo, sleep, ls, ...).
A directory tree holding that binary, one symlink per applet and the few
files every Unix tool expects (/etc/passwd, /etc/group, /tmp, and the mount
points /proc, /sys, /dev) is a complete image root filesystem.

From that tree this module writes an *OCI image layout* (image-spec
`image-layout.md`): the directory format `skopeo copy oci:DIR:latest ...`
reads, so a registry can be filled from it without any network:

    DIR/oci-layout                       {"imageLayoutVersion": "1.0.0"}
    DIR/index.json                       an image index: one manifest, tagged "latest"
    DIR/blobs/sha256/<hex>               the manifest, the config, the gzipped layer

Everything is deterministic - fixed mtimes, uid/gid 0, sorted tar entries,
gzip with mtime 0 and no file name - so the same busybox always yields the
same bytes, the same layer digest and the same image digest.

The cross-chapter tests (`tests/support/busybox.py`) reuse the rootfs recipe
to `docker import` busybox into a stock dockerd.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import struct
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from minidock.registry.mediatypes import OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST

BUSYBOX_CANDIDATES = (Path("/bin/busybox"), Path("/usr/bin/busybox"))
APT_PACKAGE = "busybox-static"

# Every entry of the archive gets this mtime (the epoch): a fixed value makes
# the archive, and so the layer digest, the same on every run.
FIXED_MTIME = 0
FIXED_CREATED = "1970-01-01T00:00:00Z"  # the config's `created`, for the same reason

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

OCI_LAYOUT_VERSION = "1.0.0"
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"  # how index.json tags a manifest

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class BusyboxNotFound(RuntimeError):
    """No statically linked busybox on this machine."""


# -- the root filesystem ------------------------------------------------------------------
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


# --8<-- [start:rootfs]
def write_busybox_rootfs_tar(out: io.BufferedIOBase | io.RawIOBase | gzip.GzipFile) -> None:
    """Write the busybox rootfs as an uncompressed tar stream to `out`.

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

    # Sorted names put every directory before its contents ("bin" < "bin/sh").
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info, data = files[name]
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
# --8<-- [end:rootfs]


def build_busybox_rootfs_tar(path: Path) -> Path:
    """Write the busybox rootfs as an uncompressed tar at `path`; return `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        write_busybox_rootfs_tar(out)
    return path


# -- the OCI image layout ------------------------------------------------------------------
@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor: what a manifest or an index says about a blob."""

    media_type: str
    digest: str  # "sha256:<64 hex>"
    size: int

    def to_json(self) -> dict[str, object]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


@dataclass(frozen=True)
class BusyboxLayout:
    """What `build_busybox_layout` wrote: where, and the digests a test or a demo checks."""

    path: Path
    tag: str
    manifest: Descriptor
    config: Descriptor
    layer: Descriptor
    diff_id: str  # sha256 of the *uncompressed* layer: the config's rootfs.diff_ids entry

    @property
    def reference(self) -> str:
        """The layout as skopeo names it: `oci:DIR:TAG`."""
        return f"oci:{self.path}:{self.tag}"


class _Sha256Writer(io.RawIOBase):
    """A write-only stream that passes bytes on while it hashes and counts them."""

    def __init__(self, out: io.RawIOBase | io.BufferedIOBase | gzip.GzipFile | None = None) -> None:
        self.out = out
        self.hash = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def tell(self) -> int:  # tarfile asks where the stream starts
        return self.size

    def write(self, data) -> int:  # noqa: ANN001 - bytes-like, as io's signature
        self.hash.update(data)
        self.size += len(data)
        if self.out is not None:
            self.out.write(data)
        return len(data)

    @property
    def digest(self) -> str:
        return "sha256:" + self.hash.hexdigest()


def _write_blob(blobs: Path, data: bytes, media_type: str) -> Descriptor:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    _write_atomically(blobs / digest.partition(":")[2], data)
    return Descriptor(media_type, digest, len(data))


def _write_atomically(path: Path, data: bytes) -> None:
    """Write-to-temp, fsync, rename: a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def canonical_json(obj: object) -> bytes:
    """The bytes we hash: compact and key-sorted, so the digest does not depend on dict order."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


# --8<-- [start:build_layout]
def build_busybox_layout(dest: Path, tag: str = "latest") -> BusyboxLayout:
    """Write an OCI image layout of a linux/amd64 busybox image (`Cmd ["sh"]`) at `dest`.

    One layer (the gzipped rootfs tar), one config, one manifest, and an
    index.json that names the manifest `tag`. `dest` may already hold a
    layout: blobs are content-addressed, and index.json is replaced whole.
    """
    dest = Path(dest)
    blobs = dest / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    # The layer: tar -> (hash of the tar = diff_id) -> gzip -> (hash of the gzip = layer digest).
    # The gzip header carries an mtime and a file name: 0 and "" keep it reproducible.
    layer_tmp = blobs / ".layer.tmp"
    with layer_tmp.open("wb") as raw:
        compressed = _Sha256Writer(raw)
        with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0) as gz:
            uncompressed = _Sha256Writer(gz)
            write_busybox_rootfs_tar(uncompressed)
        raw.flush()
        os.fsync(raw.fileno())
    layer = Descriptor(OCI_LAYER_GZIP, compressed.digest, compressed.size)
    os.replace(layer_tmp, blobs / layer.digest.partition(":")[2])
    diff_id = uncompressed.digest

    config = _write_blob(blobs, canonical_json({
        "created": FIXED_CREATED,
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": [DEFAULT_PATH], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": FIXED_CREATED, "created_by": f"minidock: {APT_PACKAGE} rootfs"}],
    }), OCI_CONFIG)

    manifest = _write_blob(blobs, canonical_json({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.to_json(),
        "layers": [layer.to_json()],
    }), OCI_MANIFEST)

    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{**manifest.to_json(),
                       "platform": {"architecture": "amd64", "os": "linux"},
                       "annotations": {REF_NAME_ANNOTATION: tag}}],
    }
    _write_atomically(dest / "oci-layout", canonical_json({"imageLayoutVersion": OCI_LAYOUT_VERSION}))
    _write_atomically(dest / "index.json", canonical_json(index))
    return BusyboxLayout(dest, tag, manifest, config, layer, diff_id)
# --8<-- [end:build_layout]
