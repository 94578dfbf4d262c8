"""The heap freezer: survivors frozen every tick, everything thawed and collected once an hour."""

from __future__ import annotations

import gc

from collector.heap import THAW_EVERY, HeapFreezer
from tests.collector.harness import FakeClock


def test_survivors_are_frozen_each_tick_and_thawed_for_a_full_collection_hourly() -> None:
    calls: list[str] = []
    clock = FakeClock()
    freezer = HeapFreezer(
        clock,
        collect=lambda generation: calls.append(f"collect{generation}") or 0,
        freeze=lambda: calls.append("freeze"),
        unfreeze=lambda: calls.append("unfreeze"),
    )
    freezer.tick()
    clock.advance(60)
    freezer.tick()
    assert calls == ["collect1", "freeze"] * 2, "young cycles first, then the survivors frozen"
    calls.clear()
    clock.advance(THAW_EVERY)
    freezer.tick()
    assert calls == ["unfreeze", "collect2", "collect1", "freeze"]


def test_frozen_objects_are_left_out_of_collections_and_returned_by_the_thaw() -> None:
    freezer = HeapFreezer(FakeClock())
    try:
        kept = [[n] for n in range(1000)]  # long-lived, tracked by the cyclic collector
        freezer.tick()
        assert gc.get_freeze_count() >= len(kept)
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
