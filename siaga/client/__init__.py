"""The async Python client library."""

from .client import Client, Reception, Transmission

__all__ = ["Client", "Reception", "Transmission"]
