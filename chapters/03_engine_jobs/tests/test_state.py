"""The container State: transitions, status words and sentences, and waiting."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minidock.containers.restart import RestartManager, RestartPolicy
from minidock.containers.state import State
from minidock.containers.times import ZERO_TIME, parse_rfc3339_nano, rfc3339_nano, rfc3339_nano_fixed
from minidock.server.errors import BadParameter

S = 1_000_000_000


def test_a_new_container_is_created_and_says_so() -> None:
    state = State()
    assert state.status() == "created"
    assert state.string() == "Created"
    document = state.to_dict()
    assert document["StartedAt"] == document["FinishedAt"] == ZERO_TIME
    assert document["OOMKilled"] is False and document["Pid"] == 0


def test_running_paused_restarting_exited_read_like_docker_ps() -> None:
    state = State()
    state.set_running(4242)
    now = state.started_at + 3 * S
    assert (state.status(), state.string(now)) == ("running", "Up 3 seconds")
    assert state.to_dict()["Pid"] == 4242
    state.set_paused(True)
    assert (state.status(), state.string(now)) == ("paused", "Up 3 seconds (Paused)")
    state.set_paused(False)
    state.set_restarting(1)
    assert state.running and state.restarting and state.pid == 0
    assert (state.status(), state.string(state.finished_at + 2 * S)) == ("restarting", "Restarting (1) 2 seconds ago")
    state.set_running(4243)
    state.set_stopped(0)
    assert (state.status(), state.string(state.finished_at + 5 * S)) == ("exited", "Exited (0) 5 seconds ago")
    assert state.string(state.finished_at + 90 * S) == "Exited (0) About a minute ago"


def test_a_start_failure_leaves_the_container_created_with_the_exit_code() -> None:
    state = State()
    state.set_start_failed(127, 'exec: "nosuch": executable file not found in $PATH')
    assert state.status() == "created" and state.exit_code == 127 and "nosuch" in state.error


def test_removing_and_dead() -> None:
    state = State()
    assert state.set_removal_in_progress() is True
    assert state.set_removal_in_progress() is False  # the second rm loses
    assert (state.status(), state.string()) == ("removing", "Removal In Progress")
    state.reset_removal_in_progress()
    state.set_dead()
    assert (state.status(), state.string()) == ("dead", "Dead")


def test_not_running_resolves_at_once_when_not_running() -> None:
    state = State()
    state.set_running(1)
    state.set_stopped(3)
    assert state.wait("not-running").result(0) == {"StatusCode": 3, "Error": None}


def test_next_exit_registered_before_start_sees_the_exit() -> None:
    state = State()
    handle = state.wait("next-exit")  # `docker run` waits before it starts
    assert not handle.done()
    state.set_running(1)
    assert not handle.done()
    state.set_stopped(137)
    assert handle.result(1) == {"StatusCode": 137, "Error": None}


def test_wait_result_is_taken_at_the_exit_not_later() -> None:
    state = State()
    state.set_running(1)
    handle = state.wait("not-running")
    state.set_restarting(3)     # the policy restarts it ...
    state.set_running(2)        # ... and it runs again
    assert handle.result(0)["StatusCode"] == 3


def test_removed_waits_for_removal_and_removal_ends_every_wait() -> None:
    state = State()
    state.set_running(1)
    removed = state.wait("removed")
    next_exit = state.wait("next-exit")
    state.set_stopped(0)
    assert next_exit.done() and not removed.done()
    other = state.wait("next-exit")
    state.set_removed()
    assert removed.result(0)["StatusCode"] == 0 and other.done()


def test_wait_errors_carry_the_message() -> None:
    state = State()
    handle = state.wait("next-exit")
    state.set_start_failed(127, "not found")
    assert handle.result(0) == {"StatusCode": 127, "Error": {"Message": "not found"}}


def test_wait_timeout_cancel_and_bad_condition() -> None:
    state = State()
    state.set_running(1)
    handle = state.wait("next-exit")
    with pytest.raises(TimeoutError):
        handle.result(0.01)
    handle.cancel()
    state.set_stopped(0)
    assert not handle.done()  # cancelled: nobody resolves it any more
    with pytest.raises(BadParameter):
        state.wait("eventually")


def test_a_waiter_in_another_thread_wakes_up() -> None:
    state = State()
    state.set_running(1)
    results = []
    handle = state.wait("not-running")
    thread = threading.Thread(target=lambda: results.append(handle.result(5)))
    thread.start()
    state.set_stopped(2)
    thread.join(5)
    assert results == [{"StatusCode": 2, "Error": None}]


def test_record_round_trip() -> None:
    state = State()
    state.set_running(77)
    state.set_paused(True)
    copy = State.from_record(state.to_record())
    assert copy.to_dict() == state.to_dict()


@given(st.integers(min_value=1, max_value=2**62))
def test_rfc3339_round_trip(ns: int) -> None:
    assert parse_rfc3339_nano(rfc3339_nano(ns)) == ns
    assert parse_rfc3339_nano(rfc3339_nano_fixed(ns)) == ns
    assert len(rfc3339_nano_fixed(ns).split(".")[1]) == 10  # nine digits and the Z


def test_restart_policy_validation_uses_dockerds_words() -> None:
    assert RestartPolicy.parse(None) == RestartPolicy("no", 0)
    assert RestartPolicy.parse({"Name": "", "MaximumRetryCount": 0}).name == "no"
    assert RestartPolicy.parse({"Name": "on-failure", "MaximumRetryCount": 2}) == RestartPolicy("on-failure", 2)
    for bad, message in (({"Name": "sometimes"}, "invalid restart policy 'sometimes'"),
                         ({"Name": "always", "MaximumRetryCount": 3},
                          "maximum retry count cannot be used with restart policy 'always'"),
                         ({"Name": "on-failure", "MaximumRetryCount": -1}, "maximum retry count cannot be negative")):
        with pytest.raises(BadParameter, match=message):
            RestartPolicy.parse(bad)


def test_restart_manager_policies_counts_and_backoff() -> None:
    on_failure = RestartManager(RestartPolicy("on-failure", 2))
    assert on_failure.should_restart(0, False, 0) == (False, 0.1)   # success: no restart
    assert on_failure.should_restart(1, False, 0) == (True, 0.2)
    assert on_failure.should_restart(1, False, 0) == (True, 0.4)
    assert on_failure.should_restart(1, False, 0)[0] is False       # two restarts: enough
    assert on_failure.restart_count == 2

    always = RestartManager(RestartPolicy("always"))
    delays = [always.should_restart(0, False, 0)[1] for _ in range(12)]
    assert delays[:3] == [0.1, 0.2, 0.4] and delays[-1] == 60.0     # doubling, capped at a minute
    assert always.should_restart(0, False, 11.0) == (True, 0.1)     # 10 s of running reset it

    unless = RestartManager(RestartPolicy("unless-stopped"))
    assert unless.should_restart(0, True, 0)[0] is False
    assert unless.should_restart(0, False, 0)[0] is True

    cancelled = RestartManager(RestartPolicy("always"))
    cancelled.cancel()
    assert cancelled.should_restart(1, False, 0)[0] is False
    assert cancelled.wait(10) is False  # returns at once
