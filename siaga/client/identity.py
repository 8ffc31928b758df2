"""A device's identity on disk: its member, and the private keys that never leave it.

Stored as a small JSON file readable only by its owner (mode 0600), like an SSH key.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from ..crypto import DeviceKeys
from ..errors import ConfigError, CryptoError

FORMAT = "siaga-device-identity/1"


@dataclass(frozen=True)
class Identity:
    member: str
    keys: DeviceKeys
    label: str = ""
    keeper: str | None = None  # device id of the trusted key keeper, if pinned at enrollment

    @property
    def device_id(self) -> str:
        return self.keys.public.device_id

    def save(self, path: str | Path) -> None:
        """Write the identity file, refusing to replace an existing one (a key is not lost
        by a mistyped command)."""
        data = json.dumps({
            "format": FORMAT, "member": self.member, "device": self.device_id,
            "label": self.label, "keeper": self.keeper,
            "keys": base64.urlsafe_b64encode(self.keys.to_bytes()).decode(),
        }, indent=2)
        p = Path(path)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise ConfigError(f"cannot create identity file {p}: {exc.strerror}") from exc
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(data + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Self:
        p = Path(path)
        try:
            raw = json.loads(p.read_text(encoding="utf-8"))
            if raw.get("format") != FORMAT:
                raise ConfigError(f"{p} is not a Siaga device identity")
            keys = DeviceKeys.from_bytes(base64.urlsafe_b64decode(raw["keys"]))
            keeper = raw.get("keeper")
            identity = cls(member=str(raw["member"]), keys=keys, label=str(raw.get("label", "")),
                           keeper=str(keeper) if keeper else None)
        except (OSError, ValueError, KeyError, TypeError, CryptoError) as exc:
            raise ConfigError(f"cannot read identity file {p}: {exc}") from exc
        if identity.device_id != raw.get("device"):
            raise ConfigError(f"{p}: keys do not match the device id it names")
        return identity


__all__ = ["Identity"]
