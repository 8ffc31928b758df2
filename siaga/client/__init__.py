"""The async Python client library."""

from .client import Client, Reception, Transmission
from .player import Player

__all__ = ["Client", "Player", "Reception", "Transmission"]
