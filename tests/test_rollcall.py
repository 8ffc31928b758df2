"""Roll call: the state alone, the hub with time stepped by hand, and a real server."""

from __future__ import annotations

import asyncio

import pytest
from conftest import Connect

from siaga import wire
from siaga.errors import Refused
from siaga.hub import Hub, Send, StoreRollcall
from siaga.rollcall import RollCall
from siaga.roster import Roster
from siaga.server import Server
from siaga.store import Store
from siaga.store.rollcall_sql import RollcallStore


def test_rollcall_state() -> None:
    rc = RollCall("r1", "tebo", "gubernur", 100.0, 160.0, frozenset({"a", "b", "c"}))
    assert rc.answer("a", 101.5) is not None
    assert rc.answer("a", 102.0) is None  # the first answer counts
    assert rc.answer("stranger", 102.0) is None
    assert rc.answer("b", 170.0) is None  # after the deadline
    assert rc.silent() == ["b", "c"] and not rc.complete
    rc.close(200.0)
    assert rc.closed_at == 160.0 and rc.answer("c", 150.0) is None


def boards(out: list[object], conn: int) -> list[wire.RollcallBoard]:
    return [m for o in out if isinstance(o, Send) and conn in o.to
            and isinstance(m := wire.decode_server(o.text), wire.RollcallBoard)]


def test_hub_rollcall_answers_keyups_silence_and_deadline(roster: Roster) -> None:
    hub = Hub(roster)
    conns = {}
    for i, member in enumerate(["operator-provinsi", "bupati-tebo", "operator-tebo",
                                "gubernur"], start=1):
        hub.connect(i, 0.0)
        hub.receive_text(i, wire.encode(wire.Hello(v=1, member=member, device="d")), 0.0)
        hub.receive_text(i, wire.encode(wire.Join(talkgroup="tebo")), 0.0)
        conns[member] = i
    hub.tick(1.0)  # the presence batch
    op = conns["operator-provinsi"]
    out = hub.receive_text(op, wire.encode(wire.RollcallStart(
        id="rollcall01", talkgroup="tebo", timeout=60)), 10.0)
    [board] = boards(out, op)
    assert board.silent == ["bupati-tebo", "gubernur", "operator-tebo"]
    polled = [o for o in out if isinstance(o, Send) and '"rollcall"' in o.text]
    assert set(polled[0].to) == set(conns.values())
    # a second poll of the same talkgroup while one is open is refused
    err = hub.receive_text(op, wire.encode(wire.RollcallStart(id="rollcall02",
                                                               talkgroup="tebo")), 11.0)
    assert "already open" in err[0].text  # type: ignore[union-attr]
    out = hub.receive_text(conns["bupati-tebo"], wire.encode(
        wire.RollcallAnswer(id="rollcall01")), 12.5)
    [board] = boards(out, op)
    assert [(e.member, e.seconds, e.via) for e in board.answered] == [("bupati-tebo", 2.5,
                                                                      "answer")]
    # keying up on the talkgroup answers too
    out = hub.receive_text(conns["operator-tebo"], wire.encode(
        wire.FloorRequest(talkgroup="tebo")), 14.0)
    assert boards(out, op)[0].answered[-1].via == "ptt"
    hub.receive_text(conns["operator-tebo"], wire.encode(wire.FloorRelease(talkgroup="tebo")),
                     15.0)
    assert hub.next_deadline() == 70.0
    out = hub.tick(70.0)
    closing = boards(out, conns["gubernur"])  # everyone in the talkgroup sees the result
    assert closing[0].closed and closing[0].silent == ["gubernur"]
    [stored] = [o for o in out if isinstance(o, StoreRollcall)]
    assert stored.rollcall.closed_at == 70.0


def test_only_some_roles_may_poll(roster: Roster) -> None:
    hub = Hub(roster)
    hub.connect(1, 0.0)
    hub.receive_text(1, wire.encode(wire.Hello(v=1, member="bupati-tebo", device="d")), 0.0)
    out = hub.receive_text(1, wire.encode(wire.RollcallStart(id="rollcall01",
                                                             talkgroup="tebo")), 1.0)
    assert '"not_allowed"' in out[0].text  # type: ignore[union-attr]


async def test_rollcall_end_to_end_and_history(connect: Connect, server: Server,
                                               store: Store) -> None:
    op = await connect("operator-provinsi")
    heads = {m: await connect(m) for m in ("bupati-tebo", "operator-tebo")}
    board = await op.start_rollcall("tebo", timeout=5)
    await asyncio.wait_for(_until(lambda: board.id in heads["bupati-tebo"].polls), 5)
    await heads["bupati-tebo"].answer_rollcall(board.id)
    await heads["operator-tebo"].answer_rollcall(board.id)
    # the governor (also in the Tebo net) is not connected: silent until the deadline
    await asyncio.wait_for(_until(lambda: op.boards[board.id].closed), 10)
    final = op.boards[board.id]
    assert {e.member for e in final.answered} == {"bupati-tebo", "operator-tebo"}
    assert final.silent == ["gubernur"]
    await server.recorder.drain()
    await asyncio.sleep(0.2)
    [past] = RollcallStore(store.engine).history("tebo")
    assert past.silent() == ["gubernur"] and set(past.answers) == {"bupati-tebo",
                                                                   "operator-tebo"}
    with pytest.raises(Refused):
        await heads["bupati-tebo"].start_rollcall("tebo")


async def _until(check) -> None:  # type: ignore[no-untyped-def]
    while not check():
        await asyncio.sleep(0.01)
