"""Container names: the validator, the generator (no boring_wozniak), the unique index."""

from __future__ import annotations

import random
import re
import threading

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from minidock.containers.names import LEFT, RIGHT, NameIndex, VALID_NAME, random_name, validate_name
from minidock.server.errors import BadParameter, Conflict

ID_A = "a" * 64
ID_B = "b" * 64
NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"


@settings(max_examples=300)
@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=0, max_value=10))
def test_every_generated_name_is_valid_adjective_surname_and_never_boring_wozniak(seed: int, retry: int) -> None:
    name = random_name(retry, random.Random(seed))
    assert VALID_NAME.fullmatch(name)
    validate_name(name)  # does not raise
    left, _, right = name.partition("_")
    assert left in LEFT
    if retry:
        assert right[-1].isdigit() and right[:-1] in RIGHT
    else:
        assert right in RIGHT
    assert not name.startswith("boring_wozniak")


def test_boring_wozniak_is_skipped_even_when_the_dice_say_so() -> None:
    class Loaded(random.Random):
        """Picks boring and wozniak first, then the first word of each list."""

        def __init__(self) -> None:
            super().__init__(0)
            self.calls = 0

        def choice(self, seq):  # type: ignore[override]
            self.calls += 1
            if self.calls <= 2:
                return "boring" if seq is LEFT else "wozniak"
            return seq[0]

    assert "boring" in LEFT and "wozniak" in RIGHT  # the joke needs both words
    assert random_name(0, Loaded()) == f"{LEFT[0]}_{RIGHT[0]}"


@given(st.text(alphabet=NAME_CHARS, min_size=0, max_size=40), st.booleans())
def test_validator_accepts_exactly_docker_names(text: str, slash: bool) -> None:
    name = ("/" if slash else "") + text
    good = re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+", text) is not None
    if good:
        assert validate_name(name) == "/" + text
    else:
        with pytest.raises(BadParameter) as caught:
            validate_name(name)
        assert str(caught.value) == f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"


@given(st.text(min_size=1, max_size=20).filter(lambda t: any(c not in NAME_CHARS + "/" for c in t)))
@example("\n")  # Python's `$` matches before a final newline; the validator must not
def test_validator_refuses_any_other_character(text: str) -> None:
    with pytest.raises(BadParameter):
        validate_name("ab" + text)


def test_a_name_is_reserved_once_with_dockers_conflict_message() -> None:
    index = NameIndex()
    assert index.reserve("web", ID_A) == "/web"
    assert index.reserve("/web", ID_A) == "/web"  # the owner again: fine
    with pytest.raises(Conflict) as caught:
        index.reserve("web", ID_B)
    assert str(caught.value) == (
        f'Conflict. The container name "/web" is already in use by container "{ID_A}". '
        "You have to remove (or rename) that container to be able to reuse that name.")
    assert index.get("web") == index.get("/web") == ID_A
    index.release("web")
    assert index.get("/web") is None
    assert index.reserve("web", ID_B) == "/web"


def test_racing_reservations_have_one_winner() -> None:
    index = NameIndex()
    winners = []
    barrier = threading.Barrier(20)

    def claim(n: int) -> None:
        barrier.wait()
        try:
            index.reserve("contested", f"{n:064x}")
            winners.append(n)
        except Conflict:
            pass

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1


def test_generated_names_fall_back_to_a_suffix_then_to_the_short_id() -> None:
    class Same(random.Random):
        def choice(self, seq):  # type: ignore[override]
            return seq[1]

        def randrange(self, *args):  # type: ignore[override]
            return 7

    index = NameIndex()
    first = index.reserve_generated(ID_A, Same())
    assert first == f"/{LEFT[1]}_{RIGHT[1]}"
    second = index.reserve_generated(ID_B, Same())
    assert second == f"/{LEFT[1]}_{RIGHT[1]}7"  # the second try carries a digit
    third = index.reserve_generated("c" * 64, Same())
    assert third == "/" + "c" * 12  # every try taken: the short ID, as dockerd
