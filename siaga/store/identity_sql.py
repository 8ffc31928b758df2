"""Enrolled devices and one-time enrollment codes, persisted with SQLAlchemy.

Codes are stored hashed (``siaga.identity.code_hash``) and redeemed with one conditional UPDATE,
so a code works exactly once even if two devices race for it, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import (
    Double,
    Engine,
    Executable,
    Index,
    LargeBinary,
    RowMapping,
    Select,
    String,
    Table,
    insert,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from ..errors import StoreError
from ..identity import DeviceRecord
from .sql import Base


class DeviceRow(Base):
    """One row per enrolled device; mirrors migration 0003."""

    __tablename__ = "devices"
    __table_args__ = (Index("ix_devices_member", "member"),
                      Index("ix_devices_updated_at", "updated_at"))

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    member: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    sign_pub: Mapped[bytes] = mapped_column(LargeBinary(32))
    dh_pub: Mapped[bytes] = mapped_column(LargeBinary(32))
    enrolled_at: Mapped[float] = mapped_column(Double)
    revoked_at: Mapped[float | None] = mapped_column(Double)
    revoked_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[float] = mapped_column(Double)


class EnrollmentRow(Base):
    """One row per issued code; ``used_at`` is set once, when a device redeems it."""

    __tablename__ = "enrollments"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    member: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Double)
    expires_at: Mapped[float] = mapped_column(Double)
    created_by: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[float | None] = mapped_column(Double)
    device_id: Mapped[str | None] = mapped_column(String(64))


_DEVICES: Table = DeviceRow.__table__  # type: ignore[assignment]
_CODES: Table = EnrollmentRow.__table__  # type: ignore[assignment]


def _record(row: RowMapping) -> DeviceRecord:
    return DeviceRecord(device_id=row["device_id"], member=row["member"],
                        sign_pub=bytes(row["sign_pub"]), dh_pub=bytes(row["dh_pub"]),
                        enrolled_at=row["enrolled_at"], label=row["label"],
                        revoked_at=row["revoked_at"], revoked_by=row["revoked_by"])


class DeviceRegistry:
    """Devices and codes in the store's database (``SqlStore.engine``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()

    def issue_code(self, code_hash: str, *, member: str, now: float, expires_at: float,
                   created_by: str) -> None:
        if expires_at <= now:
            raise StoreError("an enrollment code must expire in the future")
        self._write("cannot store the enrollment code", insert(_CODES).values(
            code_hash=code_hash, member=member, created_at=now, expires_at=expires_at,
            created_by=created_by, used_at=None, device_id=None))

    def redeem(self, code_hash: str, record: DeviceRecord, now: float) -> bool:
        """Use the code for ``record.member`` and enroll the device, atomically.

        False (and nothing stored) when the code is unknown, for another member, expired or
        already used: the caller says "invalid" without telling which, to give away nothing.
        """
        claim = (update(_CODES)
                 .where(_CODES.c.code_hash == code_hash, _CODES.c.member == record.member,
                        _CODES.c.used_at.is_(None), _CODES.c.expires_at > now)
                 .values(used_at=now, device_id=record.device_id))
        with self._lock:
            try:
                with self.engine.begin() as conn:
                    if conn.execute(claim).rowcount != 1:
                        return False
                    if conn.execute(select(_DEVICES.c.device_id).where(
                            _DEVICES.c.device_id == record.device_id)).first() is not None:
                        raise StoreError(f"device {record.device_id} is already enrolled")
                    conn.execute(insert(_DEVICES).values(
                        device_id=record.device_id, member=record.member, label=record.label,
                        sign_pub=record.sign_pub, dh_pub=record.dh_pub,
                        enrolled_at=record.enrolled_at, revoked_at=None, revoked_by="",
                        updated_at=now))
                    return True
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot enroll device: {exc}") from exc

    def revoke(self, device_id: str, *, now: float, by: str) -> DeviceRecord | None:
        """Mark a device revoked; None if there is no such device. Revoking twice is a no-op."""
        stmt = (update(_DEVICES)
                .where(_DEVICES.c.device_id == device_id, _DEVICES.c.revoked_at.is_(None))
                .values(revoked_at=now, revoked_by=by, updated_at=now))
        self._write(f"cannot revoke device {device_id}", stmt)
        return self.get(device_id)

    def get(self, device_id: str) -> DeviceRecord | None:
        rows = self._read(select(_DEVICES).where(_DEVICES.c.device_id == device_id))
        return rows[0] if rows else None

    def devices(self, *, member: str | None = None,
                changed_since: float | None = None) -> list[DeviceRecord]:
        stmt = select(_DEVICES).order_by(_DEVICES.c.enrolled_at)
        if member is not None:
            stmt = stmt.where(_DEVICES.c.member == member)
        if changed_since is not None:
            stmt = stmt.where(_DEVICES.c.updated_at >= changed_since)
        return self._read(stmt)

    def _read(self, stmt: Select[Any]) -> list[DeviceRecord]:
        with self._lock:
            try:
                with self.engine.connect() as conn:
                    return [_record(row) for row in conn.execute(stmt).mappings()]
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot read devices: {exc}") from exc

    def _write(self, what: str, stmt: Executable) -> None:
        with self._lock:
            try:
                with self.engine.begin() as conn:
                    conn.execute(stmt)
            except SQLAlchemyError as exc:
                raise StoreError(f"{what}: {exc}") from exc


__all__ = ["DeviceRegistry", "DeviceRow", "EnrollmentRow"]
