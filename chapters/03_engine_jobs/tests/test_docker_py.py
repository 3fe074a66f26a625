"""docker-py 7 drives a chapter-3 daemon (it reads output through `logs`, not `attach`)."""

from __future__ import annotations

import time

import pytest


def test_containers_run_returns_the_output(docker_py):
    assert docker_py.containers.run("busybox", "echo hi", remove=True) == b"hi\n"
    assert docker_py.containers.list(all=True) == []


def test_a_failing_command_raises_container_error_with_its_status(docker_py):
    import docker.errors

    with pytest.raises(docker.errors.ContainerError) as caught:
        docker_py.containers.run("busybox", ["sh", "-c", "echo bad >&2; exit 3"], remove=True)
    assert caught.value.exit_status == 3
    assert b"bad" in caught.value.stderr


def test_a_detached_container_its_exec_logs_and_end(docker_py):
    container = docker_py.containers.run("busybox", ["sh", "-c", "echo hi; sleep 30"], detach=True, name="dpy1")
    assert container.name == "dpy1"
    container.reload()
    assert container.status == "running"
    result = container.exec_run(["sh", "-c", "echo x; exit 3"])
    assert result.exit_code == 3 and result.output == b"x\n"
    deadline = time.monotonic() + 5
    while container.logs() != b"hi\n" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert container.logs() == b"hi\n"
    container.kill()
    assert container.wait()["StatusCode"] == 137
    container.remove()
    assert [c.name for c in docker_py.containers.list(all=True)] == []


def test_not_found_is_docker_pys_not_found(docker_py):
    import docker.errors

    with pytest.raises(docker.errors.NotFound):
        docker_py.containers.get("nosuchthing")
