"""The asyncio adapter around :class:`siaga.hub.Hub`: sockets, timers and recording files."""

from .app import Server, running_server

__all__ = ["Server", "running_server"]
