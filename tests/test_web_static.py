"""The console's static files: served on the server's own port, and nothing else is.

Bad paths (traversal, dot files, encoded characters, unknown files) get a clean 404, and the
WebSocket on ``/`` still works beside the page."""

from __future__ import annotations

import asyncio
import http.client
import json

import pytest

from siaga.client import Client
from siaga.server import Server
from siaga.web import STATIC, Console, console_url


def get(server: Server, path: str, headers: dict[str, str] | None = None
        ) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})  # the raw path: no normalising
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


async def fetch(server: Server, path: str, headers: dict[str, str] | None = None
                ) -> tuple[int, dict[str, str], bytes]:
    return await asyncio.to_thread(get, server, path, headers)


async def test_console_page_and_modules(server: Server) -> None:
    status, headers, body = await fetch(server, "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'<script type="module" src="js/app.js">' in body
    assert "connect-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    for module in sorted((STATIC / "js").glob("*.js")):
        status, headers, body = await fetch(server, f"/js/{module.name}")
        assert status == 200, module.name
        assert headers["Content-Type"].startswith("text/javascript")
        assert body == module.read_bytes()
    status, headers, _ = await fetch(server, "/console.css?v=1")
    assert (status, headers["Content-Type"]) == (200, "text/css; charset=utf-8")


async def test_no_asset_from_the_internet() -> None:
    """The field may be offline: nothing in the console loads from another host."""
    for file in STATIC.rglob("*"):
        if file.suffix in (".html", ".js", ".css"):
            text = file.read_text()
            for needle in ("https://", "http://", "//cdn", "@import"):
                allowed = "http://www.w3.org/2000/svg" if needle == "http://" else None
                assert needle not in text.replace(allowed or "\0", ""), (file.name, needle)


async def test_roster_json(server: Server) -> None:
    status, headers, body = await fetch(server, "/roster.json")
    assert (status, headers["Content-Type"]) == (200, "application/json")
    data = json.loads(body)
    assert len(data["regions"]) == 11
    governor = {"id": "gubernur", "name": "Gubernur Jambi", "role": "governor", "region": ""}
    assert governor in data["members"]
    komando = next(g for g in data["talkgroups"] if g["id"] == "komando")
    assert "bupati-tebo" in komando["members"]


@pytest.mark.parametrize("path", [
    "/../siaga.db", "/js/../../pyproject.toml", "/%2e%2e/siaga.db", "/js/%2e%2e/index.html",
    "/.git", "/js/.hidden.js", "/nothing.html", "/js/nothing.js", "/index.html/x", "/js/",
    "/js", "/__init__.py", "/..", "//etc/passwd", "/js\\..\\index.html", "/siaga.db",
    "/static/index.html", "/js/app.js.map", "/alerts/../index.html",
])
async def test_bad_paths_are_404(server: Server, path: str) -> None:
    status, _, body = await fetch(server, path)
    assert status == 404
    assert body == b"not found\n"


async def test_websocket_still_served_on_root(server: Server) -> None:
    status, _, _ = await fetch(server, "/healthz")
    assert status == 200
    async with await Client.connect(server.url, "gubernur", "t1") as client:
        assert client.welcome is not None


def test_file_for_and_url(tmp_path: object) -> None:
    from siaga.roster import load_roster
    console = Console(load_roster())
    assert console.file_for("/") == STATIC / "index.html"
    assert console.file_for("relative") is None
    assert console_url("ws://127.0.0.1:8750/") == "http://127.0.0.1:8750/"
    assert console_url("wss://siaga.example:443/") == "https://siaga.example:443/"
    assert console_url("http://x/") == "http://x/"
