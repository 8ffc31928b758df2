"""The browser dispatch console: static files served from the server's own port.

The console is plain HTML, CSS and ES modules (no build step, nothing from the internet), so
this module only maps a URL path to a file under ``static/`` and refuses everything else with
a clean 404. It also serves ``/roster.json``: the public part of the roster (names, roles,
kabupaten/kota and their seats) that the console needs to name people and draw the map. It
holds no secrets; keys, messages and positions only ever travel over the signed-in WebSocket.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import msgspec
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from ..roster import Roster

STATIC: Final = Path(__file__).parent / "static"
#: What a path segment may look like: no dot files, no "..", no encoded characters.
SEGMENT: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9]+)*")
TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".wav": "audio/wav",
}
#: Only our own origin: scripts, styles, and the WebSocket back to this server. 'self' covers
#: ws:// and wss:// of the same host in CSP level 3.
POLICY: Final = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                 "connect-src 'self'; media-src 'self' blob:; object-src 'none'; "
                 "base-uri 'none'; frame-ancestors 'none'; form-action 'none'")


def roster_json(roster: Roster) -> bytes:
    """The public part of the roster, as the console reads it."""
    return msgspec.json.encode({
        "network": roster.network,
        "province": roster.province,
        "regions": [{"code": r.code, "name": r.name, "seat": r.seat, "head_title": r.head_title,
                     "lat": r.lat, "lon": r.lon} for r in roster.regions.values()],
        "members": [{"id": m.id, "name": m.name, "role": m.role.value, "region": m.region}
                    for m in roster.members.values()],
        "talkgroups": [{"id": t.id, "name": t.name, "members": sorted(t.members)}
                       for t in roster.talkgroups.values()],
    })


class Console:
    """Answers plain HTTP GETs for the console; WebSocket handshakes pass through."""

    def __init__(self, roster: Roster, root: Path = STATIC) -> None:
        self.root = root
        self._roster = roster_json(roster)

    def file_for(self, path: str) -> Path | None:
        """The file a URL path names, or None. Only plain segments: never "..", dot files,
        backslashes or percent-encoding, so no path can leave ``root``."""
        if path == "/":
            path = "/index.html"
        parts = path[1:].split("/")
        if not path.startswith("/") or not all(SEGMENT.fullmatch(p) for p in parts):
            return None
        file = self.root.joinpath(*parts)
        if file.suffix not in TYPES or not file.is_file():
            return None
        return file

    def respond(self, request: Request) -> Response | None:
        if "websocket" in request.headers.get("Upgrade", "").lower():
            return None  # the device's WebSocket, on the same port
        path = request.path.split("?", 1)[0]
        if path == "/roster.json":
            return _ok(self._roster, TYPES[".json"])
        file = self.file_for(path)
        if file is None:
            return Response(404, "Not Found", Headers([("Content-Type", "text/plain")]),
                            b"not found\n")
        return _ok(file.read_bytes(), TYPES[file.suffix])


def _ok(body: bytes, kind: str) -> Response:
    headers = Headers([("Content-Type", kind), ("Cache-Control", "no-cache"),
                       ("Content-Security-Policy", POLICY), ("X-Content-Type-Options", "nosniff"),
                       ("Referrer-Policy", "no-referrer")])
    return Response(200, "OK", headers, body)


def console_url(ws_url: str) -> str:
    """The console's address for a server's WebSocket URL (same host and port)."""
    return "http" + ws_url[2:] if ws_url.startswith("ws") else ws_url


__all__ = ["Console", "console_url", "roster_json"]
