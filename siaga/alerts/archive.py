"""Published alerts on disk, as subscribers fetch them: ``{id}.xml``, ``{id}.sig``, and
``feed.xml`` listing them all. Any static web server (or a USB stick) can serve the folder."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import StoreError
from .feed import feed
from .signing import SignedAlert


class AlertArchive:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def add(self, signed: SignedAlert) -> Path:
        """Write one signed alert (atomically: a reader never sees half a document)."""
        identifier = signed.to_alert().identifier
        self._write(f"{identifier}.xml", signed.xml)
        self._write(f"{identifier}.sig", f"{signed.device_id} {signed.signature_b64}\n".encode())
        return self.directory / f"{identifier}.xml"

    def all(self) -> list[SignedAlert]:
        out = []
        for xml_path in sorted(self.directory.glob("*.xml")):
            sig_path = xml_path.with_suffix(".sig")
            if xml_path.name == "feed.xml" or not sig_path.exists():
                continue
            device_id, signature = sig_path.read_text(encoding="ascii").split()
            out.append(SignedAlert(xml_path.read_bytes(), signature, device_id))
        return out

    def write_feed(self, now: float, base_url: str) -> Path:
        self._write("feed.xml", feed(self.all(), now, base_url))
        return self.directory / "feed.xml"

    def _write(self, name: str, data: bytes) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.directory / f".{name}.tmp"
            tmp.write_bytes(data)
            os.replace(tmp, self.directory / name)
        except OSError as exc:
            raise StoreError(f"cannot write {name} in {self.directory}: {exc}") from exc


__all__ = ["AlertArchive"]
