"""The async Python client library."""

from .client import Client, Reception, Transmission
from .player import Player
from .tls import client_context

__all__ = ["Client", "Player", "Reception", "Transmission", "client_context"]
