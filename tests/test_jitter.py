"""The receive jitter buffer: start-up, re-ordering, loss, late/duplicate frames, wrap, end."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from siaga.audio import JitterBuffer, Lost
from siaga.wire import U32

TICK = 0.02


def payload(seq: int) -> bytes:
    return seq.to_bytes(4, "big")


def seq_of(item: bytes | Lost) -> int:
    return item.seq if isinstance(item, Lost) else int.from_bytes(item, "big")


def test_waits_for_target_depth_then_plays_in_order() -> None:
    jb = JitterBuffer(target_ms=60)
    jb.push(10, payload(10), 0.0)
    jb.push(11, payload(11), 0.0)
    assert jb.pop(0.0) is None and not jb.started
    jb.push(12, payload(12), 0.0)
    assert jb.pop(0.0) == payload(10)
    assert jb.pop(TICK) == payload(11)
    assert jb.pop(2 * TICK) == payload(12)


def test_starts_when_first_frame_is_target_old() -> None:
    jb = JitterBuffer(target_ms=60)
    jb.push(1, payload(1), 10.0)
    assert jb.pop(10.04) is None
    assert jb.pop(10.06) == payload(1)


def test_reorders_and_reports_gaps_as_lost() -> None:
    jb = JitterBuffer(target_ms=60)
    for seq in (3, 1, 4):
        jb.push(seq, payload(seq), 0.0)
    out = [jb.pop(i * TICK) for i in range(4)]
    assert out == [payload(1), Lost(2), payload(3), payload(4)]
    assert jb.stats.reordered == 1 and jb.stats.lost == 1 and jb.stats.played == 3


def test_late_and_duplicate_frames_are_dropped() -> None:
    jb = JitterBuffer(target_ms=20)
    jb.push(1, payload(1), 0.0)
    jb.push(1, payload(1), 0.0)
    assert jb.pop(0.0) == payload(1)
    assert jb.pop(TICK) == Lost(2)
    jb.push(2, payload(2), TICK)  # its slot was already concealed
    jb.push(1, payload(1), TICK)  # already played
    jb.push(3, payload(3), TICK)
    assert jb.pop(2 * TICK) == payload(3)
    assert (jb.stats.late, jb.stats.duplicate, jb.stats.received) == (1, 2, 2)


def test_sequence_wraps_around_u32() -> None:
    jb = JitterBuffer(target_ms=60)
    seqs = [U32 - 1, U32, 0, 1]
    for seq in reversed(seqs):
        jb.push(seq, payload(seq), 0.0)
    assert [seq_of(x) for x in jb.drain()] == seqs
    assert jb.stats.reordered == 3


def test_end_flag_marks_the_end_but_still_waits_for_overtaken_frames() -> None:
    jb = JitterBuffer(target_ms=200)
    jb.push(7, payload(7), 0.0, end=True)  # the last frame overtook the others
    assert jb.pop(0.0) is None  # an END frame alone does not start playout early
    jb.push(5, payload(5), TICK)
    t = 0.2
    assert jb.pop(t) == payload(5)
    assert jb.pop(t + TICK) == Lost(6)
    assert jb.pop(t + 2 * TICK) == payload(7)
    assert jb.pop(t + 3 * TICK) is None and jb.done
    jb.push(8, payload(8), t + 4 * TICK)
    assert jb.pop(t + 4 * TICK) is None and jb.stats.late == 1


def test_end_stream_without_last_seq_stops_when_empty() -> None:
    jb = JitterBuffer(target_ms=60)
    jb.push(1, payload(1), 0.0)
    jb.end_stream()
    assert jb.pop(0.0) == payload(1)
    assert jb.pop(TICK) is None and jb.done


def test_empty_stream_is_done_after_end() -> None:
    assert not JitterBuffer().done
    jb = JitterBuffer()
    jb.end_stream()
    assert jb.done and jb.pop(0.0) is None and jb.drain() == []


def test_backlog_over_max_skips_ahead_to_target() -> None:
    jb = JitterBuffer(target_ms=60, max_ms=200)  # 3 frames target, 10 max
    for seq in range(3):
        jb.push(seq, payload(seq), 0.0)
    assert jb.pop(0.0) == payload(0)
    jb.push(30, payload(30), TICK)  # sender jumped far ahead
    assert jb.stats.skipped == 28 - 1
    assert [jb.pop(TICK), jb.pop(2 * TICK)] == [Lost(28), Lost(29)]
    assert jb.pop(3 * TICK) == payload(30)


def test_underrun_conceals_and_keeps_the_clock() -> None:
    jb = JitterBuffer(target_ms=20)
    jb.push(1, payload(1), 0.0)
    assert jb.pop(0.0) == payload(1)
    assert jb.pop(TICK) == Lost(2)
    jb.push(3, payload(3), 2 * TICK)
    assert jb.pop(2 * TICK) == payload(3)


@st.composite
def scrambled(draw: st.DrawFn) -> tuple[int, int, list[int]]:
    """A stream start, its length (fits the window), and the seqs as received."""
    start = draw(st.one_of(st.integers(0, U32), st.integers(U32 - 30, U32)))
    length = draw(st.integers(1, 19))
    offsets = list(range(length))
    kept = [o for o in offsets if draw(st.booleans()) or o == 0] if length > 1 else offsets
    dups = draw(st.lists(st.sampled_from(kept), max_size=10))
    arrivals = draw(st.permutations(kept + dups))
    return start, length, [(start + o) & U32 for o in arrivals]


@settings(max_examples=300, deadline=None)
@given(scrambled())
def test_any_scrambled_stream_plays_in_order_once(case: tuple[int, int, list[int]]) -> None:
    start, _length, arrivals = case
    jb = JitterBuffer(target_ms=60, max_ms=400)
    for seq in arrivals:
        jb.push(seq, payload(seq), 0.0)
    out = jb.drain()
    seqs = [seq_of(x) for x in out]
    steps = [(b - a) & U32 for a, b in pairwise(seqs)]
    assert all(step == 1 for step in steps)  # strictly in order, consecutive, no repeats
    played = [seq_of(x) for x in out if not isinstance(x, Lost)]
    distinct = set(arrivals)
    assert sorted(played) == sorted(distinct)  # every received frame exactly once
    offsets = [(s - start) & U32 for s in distinct]
    span = max(offsets) - min(offsets) + 1
    assert jb.stats.played + jb.stats.lost == span == len(out)
    assert jb.stats.duplicate == len(arrivals) - len(distinct)
    assert jb.stats.received == len(distinct) and jb.stats.late == 0
    assert jb.done


@settings(max_examples=200, deadline=None)
@given(
    start=st.integers(0, U32),
    delays=st.one_of(st.lists(st.floats(0.0, 0.2), min_size=1, max_size=60),
                     st.lists(st.floats(0.0, 0.039), min_size=1, max_size=60)),
    dup=st.lists(st.booleans(), max_size=60),
)
def test_live_playout_never_repeats_or_reorders(
    start: int, delays: list[float], dup: list[bool]
) -> None:
    """Frames sent every 20 ms arrive with random jitter while the caller ticks every 20 ms."""
    arrivals = sorted(
        ((i * TICK + d, (start + i) & U32) for i, d in enumerate(delays)),
        key=lambda a: a[0],
    )
    arrivals += [(t + 0.01, s) for (t, s), again in zip(arrivals, dup, strict=False) if again]
    arrivals.sort(key=lambda a: a[0])
    jb = JitterBuffer(target_ms=60, max_ms=400)
    out: list[bytes | Lost] = []
    now, i = 0.0, 0
    while not jb.done and now < 10:
        while i < len(arrivals) and arrivals[i][0] <= now:
            seq = arrivals[i][1]
            last = seq == (start + len(delays) - 1) & U32
            jb.push(seq, payload(seq), arrivals[i][0], end=last)
            i += 1
        item = jb.pop(now)
        if item is not None:
            out.append(item)
        now += TICK
    assert jb.done
    seqs = [seq_of(x) for x in out]
    assert all((b - a) & U32 == 1 for a, b in pairwise(seqs))
    s = jb.stats
    assert s.played + s.lost == len(out)
    assert s.received + s.late + s.duplicate == i  # every push accounted for once
    assert s.played <= s.received
    played = [seq_of(x) for x in out if not isinstance(x, Lost)]
    assert len(played) == len(set(played))
    if max(delays) < 0.04:  # jitter below the target depth: nothing may be lost
        assert s.lost == 0 and s.late == 0 and s.played == len(delays)
