"""TLS for clients: which server certificates a device trusts on ``wss://`` URLs."""

from __future__ import annotations

import ssl
from pathlib import Path

from ..errors import ConfigError


def client_context(cafile: Path | None = None) -> ssl.SSLContext:
    """A client-side context: the system's trusted CAs, or only ``cafile`` when given.

    ``cafile`` is a PEM file with the certificate(s) to trust, e.g. a field server's
    self-signed certificate (``siaga tls self-signed``). Host names are checked either way, so
    the certificate must name the host or address in the server URL.
    """
    if cafile is None:
        context = ssl.create_default_context()
    else:
        try:
            context = ssl.create_default_context(cafile=str(cafile))
        except OSError as exc:  # includes ssl.SSLError: not a PEM certificate
            reason = exc.strerror if exc.strerror and not isinstance(exc, ssl.SSLError) \
                else "not a PEM certificate"
            raise ConfigError(f"cannot use {cafile} as a trusted TLS certificate: "
                              f"{reason}") from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


__all__ = ["client_context"]
