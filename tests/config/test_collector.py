"""The cyclic collector is held off while a block runs, in any thread, and
is back as it was once the last block ends."""

from __future__ import annotations

import gc
import threading

from config.collector import collection_deferred


def test_the_collector_is_off_inside_and_on_again_after():
    assert gc.isenabled()
    with collection_deferred():
        inside = gc.isenabled()

    assert not inside
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    try:
        with collection_deferred():
            pass
        after = gc.isenabled()
    finally:
        gc.enable()

    assert not after


def test_the_collector_stays_off_until_the_last_of_overlapping_blocks_ends():
    entered, release = threading.Event(), threading.Event()

    def other_request():
        with collection_deferred():
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=other_request)
    with collection_deferred():
        thread.start()
        entered.wait(5)
    off_while_the_other_runs = not gc.isenabled()
    release.set()
    thread.join(5)

    assert off_while_the_other_runs
    assert gc.isenabled()


def test_the_collector_is_on_again_after_a_block_that_raised():
    try:
        with collection_deferred():
            raise RuntimeError("the report failed")
    except RuntimeError:
        pass

    assert gc.isenabled()
