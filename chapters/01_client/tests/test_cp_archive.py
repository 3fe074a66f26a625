"""`cp`'s tar handling without a daemon: naming rules, and extraction that nothing can escape."""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minidock.cli.commands.build import is_excluded, make_context, read_dockerignore
from minidock.cli.commands.cp import (
    CopyError,
    CopyInfo,
    UnsafeArchive,
    extract_archive,
    prepare_archive_copy,
    rebase_name,
    split_cp_arg,
    split_path_dir_entry,
)


def tar_of(*members: tuple[str, str, str]) -> io.BytesIO:
    """A tar from (kind, name, data-or-link-target) triples; kind is file, dir, symlink or hardlink."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for kind, name, extra in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                data = extra.encode()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                         "chardev": tarfile.CHRTYPE}[kind]
            info.mode = 0o755 if kind == "dir" else 0o644
            info.linkname = extra
            tar.addfile(info)
    buffer.seek(0)
    return buffer


# -- names --------------------------------------------------------------------------------

@pytest.mark.parametrize("arg, expected", [
    ("c1:/etc/passwd", ("c1", "/etc/passwd")),
    ("c1:", ("c1", "")),
    ("/abs/with:colon", (None, "/abs/with:colon")),
    ("./rel:colon", (None, "./rel:colon")),
    ("plain", (None, "plain")),
    ("-", (None, "-")),
])
def test_split_cp_arg_is_dockers(arg, expected) -> None:
    assert split_cp_arg(arg) == expected


def test_split_path_dir_entry_keeps_the_contents_dot() -> None:
    assert split_path_dir_entry("/a/b/") == ("/a", "b")
    assert split_path_dir_entry("/a/b/.") == ("/a/b", ".")
    assert split_path_dir_entry("f.txt") == (".", "f.txt")


@pytest.mark.parametrize("src, dst, expected", [
    (CopyInfo("/h/f.txt"), CopyInfo("/tmp", True, True), ("/tmp", None)),             # into a directory
    (CopyInfo("/h/f.txt"), CopyInfo("/tmp/g.txt"), ("/tmp", ("f.txt", "g.txt"))),     # a new file's name
    (CopyInfo("/h/f.txt"), CopyInfo("/tmp/g.txt", True), ("/tmp", ("f.txt", "g.txt"))),  # replace a file
    (CopyInfo("/h/d", True, True), CopyInfo("/tmp/new"), ("/tmp", ("d", "new"))),    # a directory, renamed
    (CopyInfo("/h/d/.", True, True), CopyInfo("/tmp/new"), ("/tmp", (".", "new"))),  # its contents
])
def test_prepare_archive_copy_picks_the_directory_and_the_rename(src, dst, expected) -> None:
    assert prepare_archive_copy(src, dst) == expected


def test_prepare_archive_copy_refuses_what_docker_refuses() -> None:
    with pytest.raises(CopyError, match="cannot copy directory"):
        prepare_archive_copy(CopyInfo("/h/d", True, True), CopyInfo("/tmp/file", True, False))
    with pytest.raises(CopyError, match="no such directory"):
        prepare_archive_copy(CopyInfo("/h/f"), CopyInfo("/tmp/nodir/"))


def test_rebase_renames_the_top_entry_and_what_is_under_it_only() -> None:
    assert [rebase_name(n, "d", "new") for n in ("d", "d/", "d/x", "dd/x", "x/d")] == \
        ["new", "new/", "new/x", "dd/x", "x/d"]
    assert rebase_name("./a", ".", "new") == "new/a"


# -- extraction ---------------------------------------------------------------------------

def test_extract_writes_a_normal_tree(tmp_path: Path) -> None:
    extract_archive(tar_of(("dir", "d", ""), ("file", "d/f", "hi"), ("symlink", "d/l", "f"),
                           ("hardlink", "d/h", "d/f"), ("symlink", "d/abs", "/etc/localtime")), str(tmp_path))
    assert (tmp_path / "d/f").read_text() == "hi"
    assert os.readlink(tmp_path / "d/l") == "f"
    assert (tmp_path / "d/h").read_text() == "hi"
    assert os.readlink(tmp_path / "d/abs") == "/etc/localtime"  # the container's path, kept as docker keeps it


def test_extract_with_rebase_renames(tmp_path: Path) -> None:
    extract_archive(tar_of(("file", "passwd", "root:x:0:0")), str(tmp_path), ("passwd", "copy"))
    assert (tmp_path / "copy").read_text() == "root:x:0:0"


@pytest.mark.parametrize("members, why", [
    ([("file", "../escape", "x")], "escapes"),
    ([("file", "a/../../escape", "x")], "escapes"),
    ([("file", "/abs-escape", "x")], "absolute"),
    ([("symlink", "l", "../../outside")], "symlink"),
    ([("symlink", "l", "/"), ("file", "l/escape", "x")], "through a symlink"),
    ([("dir", "d", ""), ("symlink", "d/up", ".."), ("symlink", "d/up2", "../..")], "symlink"),
    ([("hardlink", "h", "/etc/passwd")], "hard link"),
    ([("hardlink", "h", "../outside/secret")], "hard link"),
    ([("chardev", "dev", "")], "device node"),
])
def test_extract_refuses_a_hostile_archive(tmp_path: Path, members, why: str) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside/secret").write_text("s")
    with pytest.raises(UnsafeArchive, match=why):
        extract_archive(tar_of(*members), str(dest))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest", "outside"]
    assert sorted(p.name for p in (tmp_path / "outside").iterdir()) == ["secret"]


def test_an_existing_symlink_is_replaced_not_written_through(tmp_path: Path) -> None:
    dest, outside = tmp_path / "dest", tmp_path / "outside"
    dest.mkdir()
    outside.write_text("keep")
    (dest / "f").symlink_to(outside)
    extract_archive(tar_of(("file", "f", "new")), str(dest))
    assert outside.read_text() == "keep"
    assert (dest / "f").read_text() == "new" and not (dest / "f").is_symlink()


components = st.sampled_from(["a", "b", "..", ".", "", "/"])
names = st.lists(components, min_size=1, max_size=4).map("/".join)
members = st.lists(st.tuples(st.sampled_from(["file", "dir", "symlink", "hardlink"]), names, names), max_size=6)


@given(members)
@settings(max_examples=200, deadline=None)
def test_whatever_the_archive_nothing_is_written_outside_the_destination(archive) -> None:
    with tempfile.TemporaryDirectory() as top:
        dest = Path(top, "dest")
        dest.mkdir()
        Path(top, "sentinel").write_text("s")
        try:
            extract_archive(tar_of(*archive), str(dest))
        except (UnsafeArchive, CopyError, OSError):
            pass
        assert sorted(os.listdir(top)) == ["dest", "sentinel"]
        assert Path(top, "sentinel").read_text() == "s"
        for directory, dirs, files in os.walk(dest):
            for name in dirs + files:
                path = Path(directory, name)
                # every link made stays inside when followed from where it is (absolute targets excepted:
                # they name the container's filesystem and nothing was written through them)
                if path.is_symlink() and not os.readlink(path).startswith("/"):
                    pointed = os.path.normpath(os.path.join(directory, os.readlink(path)))
                    assert pointed.startswith(str(dest)), f"{path} -> {os.readlink(path)} leaves the destination"


# -- build context -------------------------------------------------------------------------

def test_dockerignore_patterns(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("# comment\n*.log\nbuild/\n!build/keep.txt\n/secret\n")
    patterns = read_dockerignore(str(tmp_path))
    assert patterns == ["*.log", "build", "!build/keep.txt", "secret"]
    assert is_excluded("x.log", patterns) and not is_excluded("sub/x.log", patterns)  # * stays in one component
    assert is_excluded("build/out.o", patterns) and not is_excluded("build/keep.txt", patterns)
    assert is_excluded("secret", patterns) and not is_excluded("src/main.c", patterns)


def test_context_honours_dockerignore_but_keeps_the_dockerfile(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    (tmp_path / ".dockerignore").write_text("Dockerfile\n*.log\nnode_modules\n")
    (tmp_path / "app.py").write_text("print(1)\n")
    (tmp_path / "debug.log").write_text("x")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules/big.js").write_text("x")
    spool, dockerfile = make_context(str(tmp_path), None)
    with tarfile.open(fileobj=spool) as tar:
        assert sorted(tar.getnames()) == [".dockerignore", "Dockerfile", "app.py"]
        assert {m.uid for m in tar.getmembers()} == {0}
    assert dockerfile == "Dockerfile"


def test_a_dockerfile_outside_the_context_travels_under_a_hidden_name(tmp_path: Path) -> None:
    (tmp_path / "ctx").mkdir()
    (tmp_path / "other.Dockerfile").write_text("FROM busybox\n")
    spool, dockerfile = make_context(str(tmp_path / "ctx"), str(tmp_path / "other.Dockerfile"))
    assert dockerfile.startswith(".dockerfile.")
    with tarfile.open(fileobj=spool) as tar:
        assert tar.extractfile(dockerfile).read() == b"FROM busybox\n"
