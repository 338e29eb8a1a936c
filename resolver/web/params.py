"""Reads a request's link parameters from its query string and (capped) body."""

from __future__ import annotations

from typing import TYPE_CHECKING

from resolver.domain.errors import InvalidBody
from resolver.web.links import merge, parse_json_object, parse_pairs

if TYPE_CHECKING:
    from starlette.requests import Request

# A link's fields fit in a few hundred bytes; anything much larger is not a redemption.
MAX_BODY_BYTES = 8 * 1024
# Any Content-Length longer than this is far over every cap.
MAX_LENGTH_DIGITS = 18
# "application/x-www-form-urlencoded; charset=utf-8" and the like; anything longer is no type.
MAX_CONTENT_TYPE = 256
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def header(request: Request, name: str) -> str | None:
    """A request header's first value, or None: without the KeyError that Starlette's
    `headers.get` raises and catches inside for every header a request does not send."""
    values = request.headers.getlist(name)
    return values[0] if values else None


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, refused with 413 once it grows past `limit`, whatever Content-Length says."""
    declared = declared_length(request)
    if declared is not None and declared > limit:
        raise InvalidBody(f"the body is larger than {limit} bytes", status_code=413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise InvalidBody(f"the body is larger than {limit} bytes", status_code=413)
    return bytes(body)


def declared_length(request: Request) -> int | None:
    """Content-Length when it is plain ASCII digits, else None (the body's own length counts).

    Read without trusting it: `str.isdigit` also takes "²", and `int` refuses over 4,300 digits.
    """
    text = request.headers.get("content-length", "")
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0") or "0"
    return int(digits) if len(digits) <= MAX_LENGTH_DIGITS else 10**MAX_LENGTH_DIGITS


def media_type(request: Request) -> str:
    """The Content-Type's media type, lower case, looked at only up to `MAX_CONTENT_TYPE`
    characters whatever the header's length."""
    header = request.headers.get("content-type", "")[:MAX_CONTENT_TYPE]
    return header.partition(";")[0].strip().lower()


def query_params(request: Request) -> dict[str, str]:
    return parse_pairs(request.scope.get("query_string", b""), "query string")


async def form_params(request: Request) -> dict[str, str]:
    """A urlencoded form body (the confirm page's POST)."""
    if media_type(request) != FORM:
        raise InvalidBody(f"the form must be sent as {FORM}", status_code=415)
    return parse_pairs(await read_body(request), "form body")


async def api_params(request: Request) -> dict[str, str]:
    """Query string plus an optional JSON or urlencoded body (what a Make webhook accepted)."""
    query = query_params(request)
    body = await read_body(request)
    if not body.strip():
        return query
    kind = media_type(request)
    if kind == JSON or kind.endswith("+json"):
        return merge(query, parse_json_object(body))
    if looks_like_json(body):
        # fetch() and no-code tools send JSON as text/plain or untyped, and `curl -d` as a form.
        raise InvalidBody(
            f"the body looks like JSON; send it with Content-Type: {JSON}",
            status_code=400 if kind == FORM else 415,
        )
    if kind == FORM:
        return merge(query, parse_pairs(body, "form body"))
    raise InvalidBody(f"unsupported content type; send {JSON} or {FORM}", status_code=415)


def looks_like_json(body: bytes) -> bool:
    """A JSON object or array, by its first and last characters (it is not parsed)."""
    text = body.strip()
    return text[:1] + text[-1:] in (b"{}", b"[]")
