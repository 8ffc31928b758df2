"""The asyncio adapter around :class:`siaga.hub.Hub`: sockets, timers and recording files."""

from .app import Server, running_server
from .tls import make_self_signed, server_context

__all__ = ["Server", "make_self_signed", "running_server", "server_context"]
