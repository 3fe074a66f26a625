"""`make demo`'s story runs to the end (here: chapter 01's, against the fake daemon)."""

import subprocess
import sys

from minidock.testing import cli_env


def test_the_demo_runs_and_shows_the_client_conversations(tmp_path):
    env = cli_env()
    env.pop("MINIDOCK_CHAPTER", None)
    result = subprocess.run([sys.executable, "-m", "minidock.demo"], capture_output=True, env=env, timeout=120,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    out = result.stdout.decode()
    if "No daemon answers" in out:  # the chapter-1 story, against the fake daemon
        for expected in ("hello from a container", "(exit status 3)", "hi from exec", "Pull complete",
                         "Error response from daemon: No such container: nosuchthing"):
            assert expected in out + result.stderr.decode(), expected
