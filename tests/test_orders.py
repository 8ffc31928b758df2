"""Orders that must be acknowledged: the book alone, the hub with time stepped by hand, a real
server (with the escalation of a silent recipient), and persistence of open orders."""

from __future__ import annotations

import asyncio

import pytest
from conftest import Connect

from siaga import wire
from siaga.errors import Refused
from siaga.hub import Hub, Send, StoreOrder, StoreOrderState
from siaga.orders import MAX_ESCALATIONS, Order, OrderBook, Recipient
from siaga.roster import Roster
from siaga.store import Store
from siaga.store.orders_sql import OrderStore


def order(ack_within: float = 60.0) -> Order:
    return Order("order00001", "komando", "gubernur", 100.0, 1000.0, ack_within, "Laporkan",
                 recipients={m: Recipient(m) for m in ("a", "b")})


def test_book_acknowledgements_and_escalations() -> None:
    book = OrderBook()
    book.add(order())
    assert book.next_deadline() == 160.0
    assert book.acknowledge("order00001", "a", "copied", 120.0) is not None
    assert book.acknowledge("order00001", "a", "copied", 121.0) is None  # no going back/twice
    assert book.acknowledge("order00001", "stranger", "done", 121.0) is None
    escalations = book.due(160.0)
    assert [(e.member, e.level) for e in escalations] == [("b", 1)]
    assert book.next_deadline() == 220.0
    for _ in range(MAX_ESCALATIONS):
        book.due(10_000.0)
    assert book.next_deadline() is None  # repeated at most MAX_ESCALATIONS times
    book.acknowledge("order00001", "a", "done", 300.0)
    book.acknowledge("order00001", "b", "done", 301.0)  # done implies copied
    assert book.orders == {}


def decoded(out: list[object], conn: int) -> list[object]:
    return [wire.decode_server(o.text) for o in out if isinstance(o, Send) and conn in o.to]


def test_hub_order_flow(roster: Roster) -> None:
    hub = Hub(roster)
    conns = {}
    for i, member in enumerate(["gubernur", "bupati-tebo", "bupati-bungo",
                                "operator-provinsi"], start=1):
        hub.connect(i, 0.0)
        hub.receive_text(i, wire.encode(wire.Hello(v=1, member=member, device="d")), 0.0)
        conns[member] = i
    hub.tick(1.0)
    gov = conns["gubernur"]
    [store] = hub.receive_text(gov, wire.encode(wire.OrderIssue(
        id="order00001", talkgroup="komando", to=["bupati-tebo", "bupati-bungo"],
        due_in=3600, ack_within=60, text="Laporkan TPS terdampak")), 10.0)
    assert isinstance(store, StoreOrder)
    out = hub.order_stored(store, True, 10.0)
    assert any(isinstance(m, wire.OrderMsg) for m in decoded(out, conns["bupati-tebo"]))
    assert [m.state for m in decoded(out, gov)] == ["issued"]  # type: ignore[attr-defined]
    out = hub.receive_text(conns["bupati-tebo"], wire.encode(
        wire.OrderAck(id="order00001", state="copied")), 20.0)
    assert isinstance(out[0], StoreOrderState) and out[0].state == "copied"
    assert [m.state for m in decoded(out, gov)] == ["copied"]  # type: ignore[attr-defined]
    assert hub.next_deadline() == 70.0
    out = hub.tick(70.0)
    repeat = decoded(out, conns["bupati-bungo"])
    assert isinstance(repeat[0], wire.OrderMsg) and repeat[0].repeat == 1
    alerts = decoded(out, conns["operator-provinsi"])  # the operator is alerted
    assert isinstance(alerts[0], wire.OrderStatus) and alerts[0].state == "escalated"
    assert decoded(out, gov)[0] == alerts[0]


@pytest.mark.parametrize(("member", "fields", "code"), [
    ("bupati-tebo", {}, "not_allowed"),
    ("gubernur", {"to": ["polda"]}, "not_member"),
    ("gubernur", {"to": ["gubernur"]}, "not_member"),
    ("gubernur", {"sealed": "AAAA"}, "bad_message"),
])
def test_bad_orders_are_refused(roster: Roster, member: str, fields: dict[str, object],
                                code: str) -> None:
    hub = Hub(roster)
    hub.connect(1, 0.0)
    hub.receive_text(1, wire.encode(wire.Hello(v=1, member=member, device="d")), 0.0)
    msg = {"type": "order_issue", "id": "order00001", "talkgroup": "komando",
           "to": ["bupati-bungo"], "due_in": 3600, "text": "x", **fields}
    import json

    out = hub.receive_text(1, json.dumps(msg), 1.0)
    [error] = decoded(out, 1)
    assert isinstance(error, wire.Error) and error.code == code


async def test_orders_end_to_end_with_a_late_copy(connect: Connect, store: Store) -> None:
    gov = await connect("gubernur")
    tebo = await connect("bupati-tebo")
    bungo = await connect("bupati-bungo")
    issued = await gov.issue_order("komando", ["bupati-tebo", "bupati-bungo"],
                                   "Kirim perahu ke Muara Sabak", due_in=600, ack_within=5)
    assert issued.state == "issued"
    await _until(lambda: issued.id in tebo.orders and issued.id in bungo.orders)
    (msg, content) = tebo.orders[issued.id]
    assert content.text == "Kirim perahu ke Muara Sabak" and msg.due_at > msg.sent_at
    await tebo.acknowledge_order(issued.id)
    await _until(lambda: gov.order_status.get(issued.id, {}).get("bupati-tebo") is not None)
    # Bungo is silent: after 5 s the order comes again and the issuer hears of it.
    await _until(lambda: bungo.orders[issued.id][0].repeat == 1, timeout=10)
    assert gov.order_status[issued.id]["bupati-bungo"].state == "escalated"
    await bungo.acknowledge_order(issued.id)  # copied late
    await tebo.acknowledge_order(issued.id, "done")
    await _until(lambda: gov.order_status[issued.id]["bupati-bungo"].state == "copied")
    assert gov.order_status[issued.id]["bupati-tebo"].state == "done"
    await asyncio.sleep(0.2)
    [stored] = OrderStore(store.engine).open_orders()  # bungo copied, not done: still open
    assert stored.recipients["bupati-tebo"].state == "done"
    assert stored.recipients["bupati-bungo"].escalations == 1
    with pytest.raises(Refused):
        await gov.issue_order("komando", ["polda"], "x", due_in=600)


async def _until(check, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.02)
    await asyncio.wait_for(poll(), timeout)
