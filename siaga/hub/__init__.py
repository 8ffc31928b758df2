"""The server's brain, without any I/O: see :mod:`siaga.hub.core` for the tour.

The parts: :mod:`~siaga.hub.core` (the :class:`Hub`, connection lifecycle, timers, dispatch),
:mod:`~siaga.hub.signin` (hello, enrollment, devices), :mod:`~siaga.hub.voice` (talkgroups,
floors, audio), :mod:`~siaga.hub.keys` (sealed group keys), :mod:`~siaga.hub.coordination`
(messages, orders, positions, roll calls), :mod:`~siaga.hub.outputs` (what the hub asks of its
environment) and :mod:`~siaga.hub.state` (sessions, limits).
"""

from .core import Hub
from .outputs import (
    Audit,
    Close,
    LoadKeys,
    LoadMessages,
    LoadPositions,
    Output,
    RecordEnd,
    RecordStart,
    Redeem,
    RenderSitrep,
    Send,
    StoreAlert,
    StoreKeys,
    StoreMessage,
    StoreOrder,
    StoreOrderState,
    StorePosition,
    StoreReceipt,
    StoreReport,
    StoreRollcall,
)
from .state import Session, Stats

__all__ = [
    "Audit",
    "Close",
    "Hub",
    "LoadKeys",
    "LoadMessages",
    "LoadPositions",
    "Output",
    "RecordEnd",
    "RecordStart",
    "Redeem",
    "RenderSitrep",
    "Send",
    "Session",
    "Stats",
    "StoreAlert",
    "StoreKeys",
    "StoreMessage",
    "StoreOrder",
    "StoreOrderState",
    "StorePosition",
    "StoreReceipt",
    "StoreReport",
    "StoreRollcall",
]

