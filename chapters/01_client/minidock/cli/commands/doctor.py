"""`doctor`: print what this machine has and lacks, chapter by chapter."""

from __future__ import annotations

import argparse

from minidock.chapters import selected_chapter
from minidock.cli.cli import Cli


def add_doctor_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--chapter", type=int, help="Check only what chapters 1..N need (default: $MINIDOCK_CHAPTER, else all)")


def doctor(cli: Cli, args: argparse.Namespace) -> int:
    from minidock.doctor import run_checks

    limit = args.chapter or selected_chapter()
    results = run_checks(limit)
    width = max(len(check.name) for check, _ in results)
    failed = 0
    for check, finding in results:
        chapters = ",".join(f"{n:02d}" for n in check.chapters)
        mark = "ok  " if finding.ok else "MISS"
        cli.print(f"[{mark}] {check.name.ljust(width)}  ch {chapters:<8} {finding.detail}")
        if not finding.ok:
            failed += 1
            cli.print(f"       {'':{width}}  {'':11} -> {check.fix}")
    world = f"chapters 01..{limit:02d}" if limit else "all chapters"
    cli.print(f"\n{len(results) - failed} of {len(results)} checks pass for {world}.")
    return 1 if failed else 0
