"""Member positions: one fix per report, and GeoJSON for maps and other GIS tools."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Fix:
    member: str
    device: str
    lat: float
    lon: float
    accuracy: float
    at: float


def geojson(latest: Iterable[Fix], tracks: dict[str, list[Fix]] | None = None,
            names: dict[str, str] | None = None) -> dict[str, Any]:
    """A FeatureCollection: a Point per member's latest fix, a LineString per track.

    GeoJSON orders coordinates longitude first (RFC 7946); easy to get wrong, so done once.
    """
    names = names or {}
    features: list[dict[str, Any]] = [
        {"type": "Feature",
         "geometry": {"type": "Point", "coordinates": [f.lon, f.lat]},
         "properties": {"member": f.member, "name": names.get(f.member, f.member),
                        "device": f.device, "accuracy_m": f.accuracy, "at": f.at}}
        for f in latest]
    for member, fixes in (tracks or {}).items():
        if len(fixes) >= 2:
            features.append({
                "type": "Feature",
                "geometry": {"type": "LineString",
                             "coordinates": [[f.lon, f.lat] for f in fixes]},
                "properties": {"member": member, "name": names.get(member, member),
                               "from": fixes[0].at, "to": fixes[-1].at}})
    return {"type": "FeatureCollection", "features": features}


__all__ = ["Fix", "geojson"]
