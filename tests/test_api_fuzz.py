"""Fuzz the HTTP API from its own OpenAPI document (schemathesis): whatever a client sends,
the server answers with a documented error, never a 5xx, and the answers match the schema."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from conftest import server_in_thread
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from siaga.client import Client
from siaga.crypto import b64d, b64e, sign_login
from siaga.identity import code_hash, new_code
from siaga.store.identity_sql import DeviceRegistry

AUTH: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    data: Path = tmp_path_factory.mktemp("fuzz")
    with server_in_thread(data, require_auth=True, http_port=0) as (server, store):
        code = new_code()
        DeviceRegistry(store.engine).issue_code(code_hash(code), member="gubernur",
                                                now=time.time(), expires_at=time.time() + 60,
                                                created_by="test")
        ident = asyncio.run(Client.enroll(server.url, code, "gubernur"))
        base = (server.http_url or "").rstrip("/")
        with httpx.Client(base_url=base) as http:
            challenge = http.post("/api/v1/auth/challenge").json()
            sig = sign_login(ident.keys, b64d(challenge["nonce"]), "gubernur")
            token = http.post("/api/v1/auth/login", json={
                "challenge": challenge["challenge"], "member": "gubernur",
                "device": ident.device_id, "signature": b64e(sig)}).json()["token"]
        AUTH["Authorization"] = f"Bearer {token}"
        yield schemathesis.openapi.from_url(f"{base}/openapi.json")


def test_api_never_fails_and_keeps_its_schema(api_schema: Any) -> None:
    operations = [r.ok() for r in api_schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        if operation.path == "/api/v1/auth/logout":
            continue  # would end the shared session the other operations are fuzzed with

        @given(case=operation.as_strategy())
        @settings(max_examples=20, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case: Any) -> None:
            case.call_and_validate(headers=dict(AUTH), checks=[
                not_a_server_error, response_schema_conformance, content_type_conformance])

        fuzz()
