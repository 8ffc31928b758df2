"""The HTTP API against a real server on loopback: the radio side's rules, over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from siaga.client import Client
from siaga.client.identity import Identity
from siaga.crypto import b64d, b64e, sign_login
from siaga.identity import code_hash, new_code
from siaga.roster import Roster
from siaga.server import Server, running_server
from siaga.store import Store
from siaga.store.identity_sql import DeviceRegistry

Enroll = Callable[[str], Awaitable[Identity]]
API = "/api/v1"


@pytest.fixture
async def server(roster: Roster, store: Store, data_dir: Path) -> AsyncIterator[Server]:
    async with running_server(roster, store, data_dir, require_auth=True,
                              http_port=0) as srv:
        yield srv


@pytest.fixture
def enroll(server: Server, store: Store) -> Enroll:
    async def _enroll(member: str) -> Identity:
        code = new_code()
        now = time.time()
        DeviceRegistry(store.engine).issue_code(code_hash(code), member=member, now=now,
                                                expires_at=now + 60, created_by="test")
        return await Client.enroll(server.url, code, member)
    return _enroll


@pytest.fixture
async def http(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    assert server.http_url is not None
    async with httpx.AsyncClient(base_url=server.http_url.rstrip("/"), timeout=10) as client:
        yield client


async def sign_in(http: httpx.AsyncClient, ident: Identity) -> dict[str, str]:
    """What any API client does: sign the challenge with the device key, keep the token."""
    challenge = (await http.post(f"{API}/auth/challenge")).json()
    signature = sign_login(ident.keys, b64d(challenge["nonce"]), ident.member)
    answer = await http.post(f"{API}/auth/login", json={
        "challenge": challenge["challenge"], "member": ident.member,
        "device": ident.device_id, "signature": b64e(signature)})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


async def test_sign_in_with_the_device_key(http: httpx.AsyncClient, enroll: Enroll) -> None:
    gov = await enroll("gubernur")
    auth = await sign_in(http, gov)
    got = await http.get(f"{API}/me", headers=auth)
    assert got.status_code == 200, got.text
    me = got.json()
    assert me["member"]["id"] == "gubernur"
    assert "komando" in {t["id"] for t in me["talkgroups"]}
    # Signed out: the token is dead.
    assert (await http.post(f"{API}/auth/logout", headers=auth)).status_code == 200
    assert (await http.get(f"{API}/me", headers=auth)).status_code == 401


async def test_bad_sign_ins_are_refused_with_their_codes(http: httpx.AsyncClient,
                                                         enroll: Enroll) -> None:
    gov, tebo = await enroll("gubernur"), await enroll("bupati-tebo")
    challenge = (await http.post(f"{API}/auth/challenge")).json()
    forged = sign_login(tebo.keys, b64d(challenge["nonce"]), "gubernur")  # another key
    answer = await http.post(f"{API}/auth/login", json={
        "challenge": challenge["challenge"], "member": "gubernur", "device": gov.device_id,
        "signature": b64e(forged)})
    assert answer.status_code == 401 and answer.json()["code"] == "bad_signature"
    # The challenge died with the failure; an unknown one is refused too.
    again = await http.post(f"{API}/auth/login", json={
        "challenge": challenge["challenge"], "member": "gubernur", "device": gov.device_id})
    assert again.status_code == 401 and again.json()["code"] == "not_authenticated"
    assert (await http.get(f"{API}/me")).status_code == 401
    assert (await http.get(f"{API}/me", headers={"Authorization": "Bearer nope"})
            ).status_code == 401


async def test_bad_bodies_get_clear_errors(http: httpx.AsyncClient, enroll: Enroll) -> None:
    auth = await sign_in(http, await enroll("gubernur"))
    cases = [
        (b"{not json", 422, "bad_message"),
        (b"[1, 2]", 422, "bad_message"),
        (b'{"type": "message_send", "id": "abcdefgh", "talkgroup": "komando"}', 422,
         "bad_message"),
        (b'{"id": "abcdefgh", "talkgroup": "komando", "text": "x", "colour": 1}', 422,
         "bad_message"),
        (b'{"id": "abcdefgh", "talkgroup": "komando", "text": "' + b"x" * 9000 + b'"}', 413,
         "too_large"),
    ]
    for raw, status, code in cases:
        answer = await http.post(f"{API}/messages", content=raw, headers=auth)
        assert (answer.status_code, answer.json()["code"]) == (status, code), raw[:60]
    # A position off the globe names the field.
    answer = await http.post(f"{API}/positions", json={"lat": 91, "lon": 0}, headers=auth)
    assert answer.status_code == 422 and "lat" in answer.json()["message"]
    # Query parameters go through the radio decoder too.
    answer = await http.get(f"{API}/positions", params={"member": "\x7f!"}, headers=auth)
    assert answer.status_code == 422 and "member" in answer.json()["message"]


async def test_messages_rules_and_history(http: httpx.AsyncClient, enroll: Enroll,
                                          server: Server) -> None:
    gov = await enroll("gubernur")
    bupati_id = await enroll("bupati-kerinci")
    bupati = await Client.connect(server.url, identity=bupati_id)
    auth = await sign_in(http, gov)
    try:
        # A closed network carries messages sealed only: the API refuses plaintext too.
        plain = await http.post(f"{API}/messages", headers=auth, json={
            "id": "plain-0001", "talkgroup": "kerinci", "text": "Laporkan situasi"})
        assert plain.status_code == 403 and plain.json()["code"] == "not_allowed"
        # Sealed content (opaque to the server) is stored, acknowledged and delivered.
        sealed = await http.post(f"{API}/messages", headers=auth, json={
            "id": "sealed-0001", "talkgroup": "kerinci", "sealed": b64e(b"x" * 40),
            "epoch": 1})
        assert sealed.status_code == 201, sealed.text
        assert sealed.json()["id"] == "sealed-0001"
        # Not a member of that talkgroup: refused.
        other = await http.post(f"{API}/messages", headers=auth, json={
            "id": "sealed-0002", "talkgroup": "nope", "sealed": "AAAA", "epoch": 1})
        assert other.status_code == 404 and other.json()["code"] == "unknown_talkgroup"
        history = (await http.get(f"{API}/messages", headers=auth,
                                  params={"talkgroup": "kerinci"})).json()
        assert [m["id"] for m in history] == ["sealed-0001"]
        other_region = await http.get(f"{API}/messages", headers=await sign_in(http, bupati_id),
                                      params={"talkgroup": "tebo"})
        assert other_region.status_code == 403
        # The radio got it, and the API session did not show up as a member on the air.
        await asyncio.wait_for(_until(lambda: any(
            m == "sealed-0001" for m in bupati.inbox)), 5)
    finally:
        await bupati.close()


async def test_an_api_sign_in_does_not_displace_the_radio(http: httpx.AsyncClient,
                                                          enroll: Enroll,
                                                          server: Server) -> None:
    ident = await enroll("bupati-kerinci")
    radio = await Client.connect(server.url, identity=ident)
    try:
        await sign_in(http, ident)
        await asyncio.sleep(0.1)
        assert not radio.closed.is_set()
        online = [s for s in server.hub.sessions.values() if s.on_air]
        assert len(online) == 1
    finally:
        await radio.close()


async def test_rollcall_positions_and_orders(http: httpx.AsyncClient, enroll: Enroll,
                                             server: Server) -> None:
    gov = await sign_in(http, await enroll("gubernur"))
    bupati_id = await enroll("bupati-kerinci")
    bupati = await sign_in(http, bupati_id)
    board = await http.post(f"{API}/rollcalls", headers=gov, json={
        "id": "rc-000001", "talkgroup": "kerinci", "timeout": 5})
    assert board.status_code == 201, board.text
    assert "bupati-kerinci" in board.json()["silent"]
    answer = await http.post(f"{API}/rollcalls/answer", headers=bupati,
                             json={"id": "rc-000001"})
    assert answer.status_code == 202
    # Positions: the bupati reports; the governor may see; a bupati may not see others.
    assert (await http.post(f"{API}/positions", headers=bupati,
                            json={"lat": -1.87, "lon": 101.44, "accuracy": 20})
            ).status_code == 202
    await asyncio.sleep(0.2)  # the position is written by the writer thread
    seen = await http.get(f"{API}/positions", headers=gov, params={"format": "geojson"})
    assert seen.status_code == 200, seen.text
    feature = seen.json()["features"][0]
    assert feature["geometry"]["coordinates"] == [101.44, -1.87]  # lon first
    assert (await http.get(f"{API}/positions", headers=bupati)).status_code == 403
    # Orders: the governor orders, the bupati copies; both see the open order.
    issued = await http.post(f"{API}/orders", headers=gov, json={
        "id": "order-00001", "talkgroup": "kerinci", "to": ["bupati-kerinci"],
        "due_in": 3600, "sealed": b64e(b"y" * 40), "epoch": 1})
    assert issued.status_code == 201, issued.text
    assert (await http.post(f"{API}/orders/ack", headers=bupati,
                            json={"id": "order-00001", "state": "copied"})).status_code == 202
    await asyncio.sleep(0.2)
    orders = (await http.get(f"{API}/orders", headers=bupati)).json()
    assert orders[0]["id"] == "order-00001" and orders[0]["sealed"]
    assert orders[0]["recipients"][0]["state"] == "copied"
    # A bupati may not issue orders; voice is not for the API.
    refused = await http.post(f"{API}/orders", headers=bupati, json={
        "id": "order-00002", "talkgroup": "kerinci", "to": ["gubernur"], "due_in": 3600,
        "sealed": "AAAA", "epoch": 1})
    assert refused.status_code == 403


async def test_a_revoked_device_loses_its_token(http: httpx.AsyncClient, enroll: Enroll,
                                                store: Store) -> None:
    ident = await enroll("bupati-tebo")
    auth = await sign_in(http, ident)
    DeviceRegistry(store.engine).revoke(ident.device_id, now=time.time(), by="admin")

    async def refused() -> None:
        while (await http.get(f"{API}/me", headers=auth)).status_code != 401:
            await asyncio.sleep(0.05)
    await asyncio.wait_for(refused(), 5)


async def test_openapi_and_offline_docs(http: httpx.AsyncClient) -> None:
    spec = (await http.get("/openapi.json")).json()
    assert f"{API}/messages" in spec["paths"]
    body = spec["paths"][f"{API}/messages"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("MessageSend")
    assert "type" not in spec["components"]["schemas"]["MessageSend"]["properties"]
    docs = (await http.get("/docs")).text
    assert "swagger" in docs.lower() and "cdn.jsdelivr" not in docs
    alerts = await http.get(f"{API}/alerts")
    assert alerts.status_code == 200 and alerts.json() == []


async def _until(check: Callable[[], bool]) -> None:
    while not check():
        await asyncio.sleep(0.01)


async def test_election_flood_and_sitrep_over_http(http: httpx.AsyncClient,
                                                   enroll: Enroll) -> None:
    operator = await sign_in(http, await enroll("operator-tanjabtim"))
    gov = await sign_in(http, await enroll("gubernur"))
    stations = (await http.get(f"{API}/election/tps", headers=gov,
                               params={"regency": "15.06"})).json()
    tps = stations[0]["id"]
    assert all(s["regency"] == "15.06" for s in stations)
    answer = await http.post(f"{API}/election/reports", headers=operator, json={
        "id": "tps-http-01", "tps": tps, "status": "relocated", "incidents": ["flooding"],
        "relocated_to": {"place": "SD 5 Muara Sabak", "lat": -1.11, "lon": 103.83}})
    assert answer.status_code == 201, answer.text
    bad = await http.post(f"{API}/election/reports", headers=operator, json={
        "id": "tps-http-02", "tps": tps, "ballots_cast": -3})
    assert bad.status_code == 422 and "ballots_cast" in bad.json()["message"]
    board = (await http.get(f"{API}/election/board", headers=gov)).json()["data"]
    assert tps in next(r for r in board["regencies"] if r["code"] == "15.06")["relocated"]
    flood = await http.post(f"{API}/flood/reports", headers=operator, json={
        "id": "flood-http-1", "report": "incident", "incident": "banjir-sabak",
        "regency": "15.06", "lat": -1.12, "lon": 103.82, "title": "Banjir Muara Sabak",
        "affected": 800})
    assert flood.status_code == 201, flood.text
    assert (await http.get(f"{API}/flood/board", headers=gov)).json()["data"][
        "province"]["affected"] == 800
    markdown = await http.get(f"{API}/sitrep", headers=gov, params={"lang": "en"})
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "Tanjung Jabung Timur" in markdown.text
    pdf = await http.get(f"{API}/sitrep", headers=gov, params={"format": "pdf"})
    assert pdf.content.startswith(b"%PDF")
    assert (await http.get(f"{API}/sitrep")).status_code == 401


async def test_a_flood_of_challenges_from_one_address_locks_out_only_that_address(
        http: httpx.AsyncClient, server: Server, enroll: Enroll) -> None:
    from siaga.api.gateway import MAX_PENDING_PER_PEER

    answers = [await http.post(f"{API}/auth/challenge") for _ in range(MAX_PENDING_PER_PEER + 3)]
    assert [a.status_code for a in answers].count(200) == MAX_PENDING_PER_PEER
    assert answers[-1].status_code == 429 and answers[-1].json()["code"] == "rate_limited"
    # Another address is not affected.
    other = server.gateway.challenge("http:10.0.0.9")
    assert other[0] and other[1]
