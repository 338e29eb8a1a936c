"""Fuzzing the HTTP surface: schemathesis against the served OpenAPI document, hypothesis on
the parsing. Never a 5xx; never an upstream call for invalid input.

Bounded to keep the suite fast; README's "Fuzzing" section shows a longer run
(RESOLVER_FUZZ_EXAMPLES raises the number of examples).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from resolver_sandbox import threaded
from resolver_sandbox.server import SandboxHandle, start_in_thread
from schemathesis.checks import positive_data_acceptance
from schemathesis.generation.modes import GenerationMode

from resolver.app import create_app
from resolver.domain.errors import InvalidRequest
from resolver.domain.ids import link_from
from resolver.settings import Settings
from resolver.web.links import parse_json_object, parse_pairs
from tests.support.staff import write_staff_file

EXAMPLES = int(os.environ.get("RESOLVER_FUZZ_EXAMPLES", "25"))
REFUSALS = {400, 401, 405, 413, 415, 429}
# The API also refuses a wrong staff code (403) before anything; the confirm page shows the
# coupon again instead, which reads it upstream.
API_REFUSALS = REFUSALS | {403}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with start_in_thread() as handle:
        yield handle


@pytest.fixture(scope="module")
def service(
    sandbox: SandboxHandle, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[threaded.ThreadedServer]:
    """The real app behind a real uvicorn, with the sandbox as its upstream.

    Staff codes are optional, so generated staffCode values meet the real check.
    """
    staff_file = write_staff_file(tmp_path_factory.mktemp("staff"))
    settings = Settings(
        _env_file=None,
        upstream="sandbox",
        passkit_base_url=sandbox.url,
        redis_url=redis_url,
        secret_key="fuzz-secret",
        rate_limit_misses="off",
        rate_limit_coupon="off",
        log_level="warning",
        staff_verification="optional",
        staff_file=str(staff_file),
        capture_location=True,
    )
    with threaded.start(create_app(settings), name="resolver") as server:
        yield server


@pytest.fixture(scope="module")
def api_schema(service: threaded.ThreadedServer) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{service.url}/api/v1/openapi.json")


def upstream_calls(sandbox: SandboxHandle) -> int:
    return int(httpx.get(f"{sandbox.url}/_sandbox/stats").json()["calls"])


# schemathesis' own pytest fixture loader relies on a pytest attribute that pytest 9 removed,
# so its strategies are driven with hypothesis directly.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_conforms_to_its_document_and_never_fails(
    api_schema: schemathesis.BaseSchema, sandbox: SandboxHandle, mode: GenerationMode
) -> None:
    """Every generated call gets a documented status and body; refusals touch nothing upstream."""
    operations = [result.ok() for result in api_schema.get_all_operations()]  # type: ignore[union-attr]  # an invalid schema should fail here
    assert {operation.method.upper() for operation in operations} == {"GET", "POST"}
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def call(case: schemathesis.Case[Any]) -> None:
            before = upstream_calls(sandbox)
            response = case.call()
            case.validate_response(response, excluded_checks=[positive_data_acceptance])
            assert response.status_code < 500
            if response.status_code in API_REFUSALS:
                assert upstream_calls(sandbox) == before

        call()  # hypothesis supplies `case`


@given(raw=st.binary(max_size=300))
@settings(max_examples=EXAMPLES * 5, deadline=None)
def test_parsing_any_bytes_yields_params_or_a_clear_refusal(raw: bytes) -> None:
    """Query strings and form bodies either parse to a link or raise InvalidRequest."""
    for parse in (parse_pairs, lambda data, _: parse_json_object(data)):
        try:
            link_from(parse(raw, "query string"))
        except InvalidRequest as error:
            refusal = error.detail
            assert refusal


NAMES = st.sampled_from(
    ["externalId", "campaignId", "token", "kid", "sig", "staffCode", "lat", "lon", "x", ""]
)
VALUES = st.one_of(
    st.text(max_size=140),
    st.from_regex(r"[A-Za-z0-9._~@+-]{1,10}", fullmatch=True),
    st.sampled_from(["%", "%ZZ", "%FF", "a%00b", "..", "a/b", "{x}", "é"]),
)


def nested(depth: int) -> bytes:
    """A JSON body `depth` levels deep, half arrays and half objects."""
    opening = b"".join(b"[" if level % 2 else b'{"a":' for level in range(depth))
    closing = b"".join(b"]" if level % 2 else b"}" for level in reversed(range(depth)))
    return opening + b"1" + closing


BODIES = st.one_of(
    st.none(),
    st.binary(max_size=200),
    st.dictionaries(
        NAMES,
        st.one_of(
            VALUES, st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.booleans()
        ),
    ),
    st.integers(1, 2000).map(nested),  # nested as deep as the size cap allows
    st.integers(8 * 1024 - 2, 64 * 1024).map(lambda size: b"{" + b" " * size + b"}"),
    st.sampled_from([b"\xff\xfe{}", b'{"externalId": "\xe9"}', b'{"externalId": "\\ud800"}']),
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=latin-1",
        "application/merge-patch+json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/plain",
        "*/*",
        "application/json" + " " * 10_000 + "; charset=utf-8",
        "",
    ]
)
# Headers the service reads, at sizes and in bytes no browser sends.
HOSTILE_HEADERS = st.dictionaries(
    st.sampled_from(["user-agent", "accept-language", "x-request-id", "sec-purpose"]),
    st.one_of(
        st.integers(0, 200_000).map(lambda size: "a" * size),
        st.integers(0, 5_000).map(lambda size: "fr-CA;q=0.5, " * size + "de"),
        # What h11 lets a client send: no controls, DEL, or space at either end.
        st.text(
            st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"),
            max_size=100,
        ).map(str.strip),
    ),
    max_size=2,
)
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options")


@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
    path=st.sampled_from(["/redeem", "/api/v1/redeem"]),
    query=st.lists(st.tuples(NAMES, VALUES), max_size=4),
    body=BODIES,
    content_type=CONTENT_TYPES,
    extra_headers=HOSTILE_HEADERS,
)
@example(  # the deepest body within the size cap
    method="POST",
    path="/api/v1/redeem",
    query=[],
    body=nested(2000),
    content_type="application/json",
    extra_headers={},
)
@example(  # a member's browser that sends a huge agent and language list
    method="GET",
    path="/redeem",
    query=[("externalId", "demo-unredeemed"), ("campaignId", "demo-campaign")],
    body=None,
    content_type="",
    extra_headers={"user-agent": "a" * 200_000, "accept-language": "fr, " * 50_000 + "de"},
)
@settings(max_examples=EXAMPLES * 4, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_makes_the_service_fail_or_reach_upstream_when_refused(
    service: threaded.ThreadedServer,
    sandbox: SandboxHandle,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    body: bytes | dict[str, object] | None,
    content_type: str,
    extra_headers: dict[str, str],
) -> None:
    """Any method, query, body, content type and header size: never a 5xx, always the security
    headers, and a refusal costs no upstream call."""
    before = upstream_calls(sandbox)
    headers = {name.encode(): value.encode("latin-1") for name, value in extra_headers.items()}
    if content_type:
        headers[b"content-type"] = content_type.encode()
    content = httpx.Request("POST", "/", json=body).content if isinstance(body, dict) else body
    # Raw '%' stays, so malformed escapes reach the service; everything else is encoded.
    pairs = (f"{quote(name, safe='%')}={quote(value, safe='%')}" for name, value in query)
    url = f"{service.url}{path}?" + "&".join(pairs)
    response = httpx.request(method, url, content=content, headers=headers)
    assert response.status_code < 500, response.text
    assert all(name in response.headers for name in SECURITY_HEADERS), (
        response.status_code,
        response.text[:200],
        {name: value[:80] for name, value in headers.items()},
    )
    assert response.headers["cache-control"] == "no-store"
    if response.status_code in REFUSALS:
        assert upstream_calls(sandbox) == before
