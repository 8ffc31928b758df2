"""Positions: reported, shown only to the allowed roles, kept as tracks, exported as GeoJSON."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from conftest import Connect

from siaga import wire
from siaga.cli import main
from siaga.errors import Refused
from siaga.positions import Fix, geojson
from siaga.server import Server
from siaga.store import Store


async def until(check) -> None:  # type: ignore[no-untyped-def]
    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.01)
    await asyncio.wait_for(poll(), 5)


async def test_positions_are_private_live_and_tracked(connect: Connect, server: Server,
                                                      store: Store, data_dir: Path,
                                                      tmp_path: Path) -> None:
    gov = await connect("gubernur")  # a viewer (the roster's position_viewers)
    tebo = await connect("bupati-tebo")
    kerinci = await connect("bupati-kerinci")  # not a viewer
    await tebo.report_position(-1.49, 102.45, 15)
    await until(lambda: any(isinstance(m, wire.PositionUpdate) for _, m in gov.events))
    await asyncio.sleep(1.05)  # one report a second is kept
    await tebo.report_position(-1.50, 102.46, 12)
    await tebo.report_position(-1.51, 102.47, 12)  # too soon: dropped
    await tebo.ping()
    await asyncio.sleep(0.2)
    assert not any(isinstance(m, wire.PositionUpdate) for _, m in kerinci.events)
    latest = await gov.positions()
    assert [(p.member, p.lat, p.lon) for p in latest] == [("bupati-tebo", -1.50, 102.46)]
    track = await gov.positions("bupati-tebo")
    assert [p.lat for p in track] == [-1.49, -1.50]
    assert len(await tebo.positions("bupati-tebo")) == 2  # one's own track is one's own
    with pytest.raises(Refused):
        await kerinci.positions()
    with pytest.raises(Refused):
        await kerinci.positions("bupati-tebo")

    out = tmp_path / "posisi.geojson"
    assert main(["positions", "export", "-o", str(out), "--member", "bupati-tebo",
                 "--data-dir", str(data_dir)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    point, line = doc["features"]
    assert point["geometry"] == {"type": "Point", "coordinates": [102.46, -1.50]}
    assert point["properties"]["name"] == "Bupati Tebo"
    assert line["geometry"]["coordinates"] == [[102.45, -1.49], [102.46, -1.50]]


@pytest.mark.parametrize(("fields", "field"), [
    ({"lat": 91, "lon": 100}, "lat"), ({"lat": -1, "lon": 181}, "lon"),
    ({"lat": -1, "lon": 100, "accuracy": -5}, "accuracy"), ({"lat": "x", "lon": 1}, "lat"),
])
async def test_invalid_coordinates_name_the_field_and_store_nothing(
        connect: Connect, store: Store, fields: dict[str, object], field: str) -> None:
    tebo = await connect("bupati-tebo")
    waiter = tebo.wait_for(lambda m: isinstance(m, wire.Error))
    await tebo._ws.send(json.dumps({"type": "position", **fields}))
    error = await waiter
    assert isinstance(error, wire.Error) and error.code == "bad_message"
    assert field in error.message
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM positions").scalar_one() == 0


def test_geojson_puts_longitude_first() -> None:
    fixes = [Fix("a", "d", -1.0, 103.0, 5, 1.0)]
    doc = geojson(fixes, {"a": fixes}, {"a": "A"})
    assert doc["features"][0]["geometry"]["coordinates"] == [103.0, -1.0]
    assert len(doc["features"]) == 1  # a one-point track is no line
