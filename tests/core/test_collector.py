"""The shared pause of the cyclic garbage collector (back on when the last user ends), what a
served app hides from it, and its pauses in /metrics."""

import gc
import threading
from collections.abc import Iterator

import httpx
import pytest

from app.core.collector import collector_paused
from app.main import create_app
from tests.conftest import app_settings


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    assert gc.isenabled()
    yield
    gc.enable()


def test_nested_pauses_end_with_the_outer_one() -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_inside_the_pause_turns_the_collector_back_on() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("the roster could not be read")
    assert gc.isenabled()


def test_a_collector_turned_off_elsewhere_stays_off() -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_overlapping_pauses_in_two_threads() -> None:
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with collector_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with collector_paused():
            second_in.set()
            first_out.wait(5)
            seen.append(gc.isenabled())  # the first thread's pause ended before this one

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == [False]
    assert gc.isenabled()


def full_collections(text: str, bound: str = "+Inf") -> float:
    prefix = f'perisai_gc_pause_seconds_bucket{{generation="2",le="{bound}"}} '
    (line,) = [line for line in text.splitlines() if line.startswith(prefix)]
    return float(line.removeprefix(prefix))


async def test_metrics_show_the_collectors_pauses(client: httpx.AsyncClient) -> None:
    before = (await client.get("/metrics")).text
    gc.collect()
    after = (await client.get("/metrics")).text
    assert full_collections(after) >= full_collections(before) + 1
    # A full collection of the tests' heap takes more than a millisecond.
    slow_after = full_collections(after) - full_collections(after, "0.001")
    assert slow_after >= full_collections(before) - full_collections(before, "0.001") + 1
    assert 'perisai_gc_pause_seconds_count{generation="0"}' in after


async def test_a_served_app_hides_its_start_up_from_the_collector_and_collects_fully_less(
    database_url: str,
) -> None:
    app = create_app(app_settings(database_url))
    assert gc.get_freeze_count() == 0
    default = gc.get_threshold()
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() > 100_000  # the app, its routes and models, the mappers
        assert gc.get_threshold()[2] == 10 * default[2]
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == default
