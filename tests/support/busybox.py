"""A busybox root filesystem as a tar archive: the offline base image of the tests.

The machines that run minidock's tests reach no image registry, yet the
cross-chapter tests need *some* image to run containers from. `docker import`
turns the tar of a busybox rootfs into an image in a stock dockerd.

The recipe itself - the machine's static busybox, one symlink per applet, a
few files in /etc, the mount points, a deterministic tar - belongs to chapter
04, which makes the offline default image (an OCI image layout) from it:
`minidock.registry.oci_layout`. This module only re-exports it for the tests
(which run in the all-chapters world).
"""

from __future__ import annotations

from minidock.registry.oci_layout import (  # noqa: F401 - re-exported for tests/support/dockerd.py
    APT_PACKAGE,
    BUSYBOX_CANDIDATES,
    BusyboxNotFound,
    build_busybox_rootfs_tar,
    busybox_applets,
    find_static_busybox,
    is_static_elf,
)
