"""The floor of the stack: a JSON redemption's input and output, and nothing else.

A bare Starlette endpoint doing on the wire what a redemption must, through the service's own
clients configured from the service's own settings: the body read as JSON; a script on Redis
(`run_script` on the service's pool); PassKit's redeem call to the sandbox (`upstream_client`,
the service's HTTP/1.1 transport); a second script; a JSON answer. No link validation, claim
logic, receipt, audit entry, log line or middleware. What a worker of the service spends per
redemption above what this spends is the service's own work (`resolver_bench.floor`).

    uvicorn resolver_bench.floor_app:app --factory   (the service's RESOLVER_* settings)
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

import orjson
from redis.commands.core import AsyncScript
from resolver_sandbox.testing import REDEEM_PATH, passkit_jwt
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from resolver.backends import upstream_client
from resolver.providers.exchange import send
from resolver.settings import load_settings
from resolver.storage import topologies
from resolver.storage.redis import run_script

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.requests import Request

    from resolver.providers.exchange import UpstreamClient
    from resolver.storage.topologies import Client

# Each script writes a key and counts, as the claim and the settle write and count; what they
# run inside Redis differs, what they cost the worker is a round trip.
SCRIPT = "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return redis.call('INCR', KEYS[2])"
KEEP_MS = 60_000
# The sandbox accepts a PassKit token for at most 60 s: a new one is made before then.
TOKEN_LIFETIME_S = 55.0
TOKEN_RENEWAL_S = 45.0


class Floor:
    """What the endpoint uses: the Redis client and its script, the upstream client, a token."""

    def __init__(self, redis: Client, upstream: UpstreamClient, redeem_url: str) -> None:
        self.redis = redis
        self.script = AsyncScript(redis, SCRIPT)
        self.upstream = upstream
        self.redeem_url = redeem_url
        self._token, self._made = "", 0.0

    def token(self) -> str:
        now = time.monotonic()
        if now - self._made > TOKEN_RENEWAL_S:
            self._token = passkit_jwt(iat_offset=-1.0, exp_offset=TOKEN_LIFETIME_S)
            self._made = now
        return self._token


async def redeem(request: Request) -> Response:
    floor: Floor = request.state.floor
    body: dict[str, Any] = orjson.loads(await request.body())
    external_id, campaign_id = str(body["externalId"]), str(body["campaignId"])
    claim, settle, count = (f"floor:{{{external_id}}}{part}" for part in ("", ":s", ":n"))
    await run_script(floor.redis, floor.script, [claim, count], [campaign_id, KEEP_MS])
    answer = await send(
        floor.upstream,
        "PUT",
        floor.redeem_url,
        backend="sandbox",
        json={"externalId": external_id, "campaignId": campaign_id},
        headers={"Authorization": floor.token()},
    )
    redeemed = answer.status_code == 200 and bool(orjson.loads(answer.content))
    await run_script(floor.redis, floor.script, [settle, count], [campaign_id, KEEP_MS])
    return Response(
        orjson.dumps({"outcome": "redeemed" if redeemed else "failed", "externalId": external_id}),
        status_code=200 if redeemed else 502,
        media_type="application/json",
    )


async def ready(request: Request) -> Response:
    return Response(b"{}", media_type="application/json")


def app() -> Starlette:
    """The floor's app, for uvicorn's `--factory`."""
    settings = load_settings()
    assert settings.redis_url is not None, "RESOLVER_REDIS_URL is required"
    assert settings.passkit_base_url is not None, "RESOLVER_PASSKIT_BASE_URL is required"
    redis_url, redeem_url = settings.redis_url, settings.passkit_base_url + REDEEM_PATH

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, Floor]]:
        redis = topologies.connect(
            redis_url,
            max_connections=settings.redis_max_connections,
            timeout=settings.redis_timeout,
        )
        try:
            async with upstream_client(settings) as upstream:
                yield {"floor": Floor(redis, upstream, redeem_url)}
        finally:
            await redis.aclose()

    return Starlette(
        routes=[Route("/floor", redeem, methods=["POST"]), Route("/ready", ready)],
        lifespan=lifespan,
    )
