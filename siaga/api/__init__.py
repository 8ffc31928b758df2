"""The HTTP API beside the radio protocol (``siaga serve --http-port``)."""

from .app import PREFIX, create_app
from .gateway import ApiError, Gateway

__all__ = ["PREFIX", "ApiError", "Gateway", "create_app"]
