"""The docs agree with the code: protocol messages, error codes, floor diagram, README commands."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import siaga.audio
import siaga.client
import siaga.server
import siaga.store
from siaga import wire
from siaga.errors import ErrorCode

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")


def test_every_message_type_is_documented() -> None:
    for kind in wire.CLIENT_TYPES | wire.SERVER_TYPES:
        assert f"`{kind}`" in PROTOCOL, kind


def test_every_error_code_is_documented() -> None:
    internal = {ErrorCode.LOCAL_MISUSE, ErrorCode.CONFIG, ErrorCode.STORE, ErrorCode.AUDIO,
                ErrorCode.INTERNAL}
    for code in ErrorCode:
        if code not in internal:
            assert f"| `{code.value}` |" in PROTOCOL, code


def test_floor_diagram_is_current() -> None:
    generated = subprocess.run([sys.executable, str(ROOT / "tools" / "floor_diagram.py")],
                               capture_output=True, text=True, check=True).stdout.strip()
    block = re.search(r"<!-- floor-diagram:start -->\n```mermaid\n(.*?)\n```", PROTOCOL,
                      re.DOTALL)
    assert block is not None
    assert block.group(1).strip() == generated


def test_header_layout_matches_doc() -> None:
    assert wire.HEADER_SIZE == 16
    assert "16-byte header" in PROTOCOL
    assert f"{wire.MAX_CONTROL_BYTES // 1024} KiB" in PROTOCOL


def test_readme_has_the_two_commands_and_ci_uses_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "siaga demo" in readme
    assert "bash scripts/test.sh" in readme
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_public_packages_export_what_they_name() -> None:
    for module in (wire, siaga.audio, siaga.client, siaga.server, siaga.store):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"
