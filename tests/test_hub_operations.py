"""The hub's election and flood operations without sockets: a report is counted only once the
environment says it is stored, a retry is acknowledged without a second count, boards follow
the member's region, and reports and sitreps keep to the radio link's limits."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st
from test_hub import T0, Harness, error_code, msgs

from siaga import wire
from siaga.election import load_tps_registry
from siaga.hub import RenderSitrep, StoreReport
from siaga.roster import Roster

TPS = "15.01.01.01.001"


def harness(roster: Roster) -> Harness:
    h = Harness(roster)
    h.hub.tps = load_tps_registry(set(roster.regions))  # the adapter's job; here by hand
    return h


def stored(h: Harness, out: list[object], added: bool = True) -> list[wire.ServerMessage]:
    [store] = [o for o in out if isinstance(o, StoreReport)]
    return msgs(h.hub.report_stored(store, added, h.now), store.conn)


def test_a_report_counts_once_stored_and_once_only(roster: Roster) -> None:
    h = harness(roster)
    op = h.login("operator-kerinci")
    report = wire.TpsReportSend(id="tps-rep-1", tps=TPS, status="open", ref=4)
    out = h.send(op, report)
    assert h.hub.tps_reports == []  # not yet durable: not on the board
    changed, accepted = stored(h, out)  # the reporter sees its board change, then the answer
    assert isinstance(changed, wire.BoardChanged) and changed.regency == "15.01"
    assert isinstance(accepted, wire.ReportAccepted) and accepted.ref == 4
    assert [r.id for r in h.hub.tps_reports] == ["tps-rep-1"]
    # The sender did not hear the answer and sends it again: acknowledged, not re-stored.
    again = h.send(op, report)
    assert not any(isinstance(o, StoreReport) for o in again)
    assert [type(m) for m in msgs(again, op)] == [wire.ReportAccepted]
    assert len(h.hub.tps_reports) == 1


def test_a_report_the_store_already_had_is_not_counted_twice(roster: Roster) -> None:
    h = harness(roster)
    op = h.login("operator-kerinci")
    out = h.send(op, wire.TpsReportSend(id="tps-rep-2", tps=TPS, ballots_cast=5))
    assert isinstance(stored(h, out, added=False)[0], wire.ReportAccepted)
    assert h.hub.tps_reports == []  # the store said "had it": it was restored at start


def test_boards_follow_the_members_region(roster: Roster) -> None:
    h = harness(roster)
    op, gov = h.login("operator-kerinci"), h.login("gubernur")
    stored(h, h.send(op, wire.TpsReportSend(id="tps-rep-3", tps=TPS, status="voting")))
    out = h.send(op, wire.BoardRequest(board="election"))
    [board] = msgs(out, op)
    assert isinstance(board, wire.Board)
    assert {r["code"] for r in board.data["regencies"]} == {"15.01"}
    assert {s["regency"] for s in board.data["stations"]} == {"15.01"}
    assert error_code(h.send(op, wire.BoardRequest(board="flood", regency="15.06")),
                      op) == "not_allowed"
    assert error_code(h.send(gov, wire.BoardRequest(board="flood", regency="99.99")),
                      gov) == "unknown_region"
    [whole] = msgs(h.send(gov, wire.BoardRequest(board="election")), gov)
    assert isinstance(whole, wire.Board) and len(whole.data["regencies"]) == 11


def test_a_sitrep_too_large_for_the_radio_link_is_refused_politely(roster: Roster) -> None:
    h = harness(roster)
    gov = h.login("gubernur")
    [render] = [o for o in h.send(gov, wire.SitrepRequest(ref=9))
                if isinstance(o, RenderSitrep)]
    assert render.sitrep.generated_at == h.now
    out = h.hub.sitrep_rendered(render, "x" * wire.MAX_SERVER_BYTES)
    assert error_code(out, gov) == "too_large"
    [ok] = msgs(h.hub.sitrep_rendered(render, b"%PDF-1.7"), gov)
    assert isinstance(ok, wire.SitrepMsg) and ok.ref == 9 and ok.content == "JVBERi0xLjc"


def test_emergencies_are_remembered_for_the_sitrep(roster: Roster) -> None:
    h = harness(roster)
    bupati = h.login("bupati-tanjabtim", "ht", "komando")
    gov = h.login("gubernur", "ht", "komando")
    h.request(bupati, "komando", emergency=True)
    h.step(5)
    h.send(gov, wire.EmergencyClear(talkgroup="komando"))
    [row] = h.hub.sitrep(h.now).emergencies
    assert (row.raised_by, row.at, row.cleared_by, row.cleared_at) == (
        "Bupati Tanjung Jabung Timur", T0, "Gubernur Jambi", T0 + 5)


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.sampled_from(["status", "ballots_cast", "logistics", "note"]),
                       st.one_of(st.integers(-5, 10**6), st.text(max_size=8)), min_size=1))
def test_any_tps_report_is_stored_or_refused_never_half_counted(
        roster: Roster, fields: dict[str, object]) -> None:
    h = harness(roster)
    op = h.login("operator-kerinci")
    raw = wire.encode(wire.TpsReportSend(id="tps-any-1", tps=TPS, ref=1))
    text = raw[:-1] + "".join(f',"{k}":{msgspec.json.encode(v).decode()}'
                              for k, v in fields.items()) + "}"
    out = h.send(op, text)
    stores = [o for o in out if isinstance(o, StoreReport)]
    if stores:
        assert isinstance(stored(h, out)[-1], wire.ReportAccepted)
        assert len(h.hub.tps_reports) == 1
    else:
        [error] = msgs(out, op)
        assert isinstance(error, wire.Error) and error.ref == 1
        assert h.hub.tps_reports == []


def test_stored_reports_tell_the_boards_that_may_see_them(roster: Roster) -> None:
    h = harness(roster)
    op, gov = h.login("operator-kerinci"), h.login("gubernur")
    tebo = h.login("bupati-tebo")
    out = h.send(op, wire.TpsReportSend(id="tps-rep-9", tps=TPS, status="open"))
    [store] = [o for o in out if isinstance(o, StoreReport)]
    after = h.hub.report_stored(store, True, h.now)
    for conn in (op, gov):
        changed = [m for m in msgs(after, conn) if isinstance(m, wire.BoardChanged)]
        assert [(c.board, c.regency) for c in changed] == [("election", "15.01")]
    assert msgs(after, tebo) == []  # Tebo's bupati does not see Kerinci's board
