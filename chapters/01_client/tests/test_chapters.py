"""MINIDOCK_CHAPTER worlds: only chapters 1..N can be imported."""

import os
import subprocess
import sys

from minidock.chapters import all_chapters, selected_chapter


def python(code: str, chapter: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MINIDOCK_CHAPTER"}
    if chapter is not None:
        env["MINIDOCK_CHAPTER"] = chapter
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


def test_chapter_one_is_the_first_folder():
    chapters = all_chapters()
    assert chapters[0].number == 1 and chapters[0].slug == "client"
    assert [c.number for c in chapters] == sorted(c.number for c in chapters)


def test_the_package_path_spans_exactly_the_world(tmp_path):
    result = python("import minidock; print(len(minidock.__path__))", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"
    everything = python("import minidock; print(len(minidock.__path__))", None)
    assert int(everything.stdout) == len([c for c in all_chapters() if os.path.isdir(c.package_dir)])


def test_a_later_chapters_package_fails_to_import_with_its_chapter_named():
    later = [c for c in all_chapters() if c.number > 1 and os.path.isdir(c.package_dir)]
    if not later:
        # Only chapter 01 exists yet: the finder must still leave unknown names alone.
        result = python("import minidock.nosuchpackage", "1")
        assert "No module named 'minidock.nosuchpackage'" in result.stderr
        return
    chapter = later[0]
    name = next(p.removesuffix(".py") for p in sorted(os.listdir(chapter.package_dir)) if not p.startswith("_"))
    result = python(f"import minidock.{name}", "1")
    assert result.returncode != 0
    assert f"comes with chapter {chapter.number:02d}" in result.stderr
    assert "MINIDOCK_CHAPTER=1" in result.stderr


def test_selected_chapter_reads_the_environment():
    assert selected_chapter({}) is None
    assert selected_chapter({"MINIDOCK_CHAPTER": "3"}) == 3
    for bad in ("x", "0", "-1"):
        try:
            selected_chapter({"MINIDOCK_CHAPTER": bad})
        except ValueError as exc:
            assert "MINIDOCK_CHAPTER" in str(exc)
        else:
            raise AssertionError(f"{bad!r} accepted")


def test_minidockd_names_the_chapter_that_brings_it_when_absent():
    result = subprocess.run([sys.executable, "-c", "from minidock.cli.daemon import main; raise SystemExit(main([]))"],
                            capture_output=True, text=True, env={**os.environ, "MINIDOCK_CHAPTER": "1"})
    assert result.returncode == 1
    assert "chapter 02" in result.stderr
