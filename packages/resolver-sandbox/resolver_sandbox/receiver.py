"""A receiver of the resolver's outbound events, as a Make or Zapier webhook would be: it
records every delivery and checks its signature with the `standardwebhooks` library's own
verifier.

    POST   /hooks/{endpoint}          a delivery (any endpoint name: one receiver, many names)
    GET    /_sandbox/hooks            what arrived: every try, verified or not, oldest first
    DELETE /_sandbox/hooks            forget them
    PUT    /_sandbox/hooks/faults     {"fail_next": N, "delay_ms": M}: answer the next N
                                      deliveries 503, after M ms each (a slow or failing
                                      endpoint); {} clears it

Deliveries are signed with `DEMO_WEBHOOK_SECRET` unless the sandbox was given another secret.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from standardwebhooks import Webhook, WebhookVerificationError
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from starlette.requests import Request

# The demo's well-known secret (base64 of 32 bytes): it opens nothing real.
DEMO_WEBHOOK_SECRET = "whsec_c2FuZGJveC1kZW1vLXdlYmhvb2stc2VjcmV0LTAwMDA="  # noqa: S105  # public on purpose


@dataclass(frozen=True, slots=True)
class Delivery:
    """One try as the receiver saw it."""

    endpoint: str
    webhook_id: str
    timestamp: str
    type: str | None
    verified: bool
    status: int
    body: dict[str, Any] | None


@dataclass
class Faults:
    fail_next: int = 0
    delay_ms: float = 0.0


@dataclass
class Receiver:
    """Records deliveries and verifies them with one secret."""

    secret: str = DEMO_WEBHOOK_SECRET
    deliveries: list[Delivery] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def routes(self) -> list[Route]:
        return [
            Route("/hooks/{endpoint}", self.receive, methods=["POST"]),
            Route("/_sandbox/hooks", self.list, methods=["GET"]),
            Route("/_sandbox/hooks", self.clear, methods=["DELETE"]),
            Route("/_sandbox/hooks/faults", self.set_faults, methods=["PUT"]),
        ]

    async def receive(self, request: Request) -> Response:
        payload = await request.body()
        headers = dict(request.headers)
        try:
            body = Webhook(self.secret).verify(payload, headers)
            verified = True
        except WebhookVerificationError:
            body, verified = _json(payload), False
        with self._lock:
            failing = self.faults.fail_next > 0
            if failing:
                self.faults.fail_next -= 1
            delay = self.faults.delay_ms
        status = 503 if failing else (204 if verified else 401)
        self.deliveries.append(
            Delivery(
                endpoint=request.path_params["endpoint"],
                webhook_id=headers.get("webhook-id", ""),
                timestamp=headers.get("webhook-timestamp", ""),
                type=body.get("type") if isinstance(body, dict) else None,
                verified=verified,
                status=status,
                body=body if isinstance(body, dict) else None,
            )
        )
        if failing and delay:
            await asyncio.sleep(delay / 1000)
        return Response(status_code=status)

    async def list(self, request: Request) -> Response:
        return JSONResponse([asdict(delivery) for delivery in self.deliveries])

    async def clear(self, request: Request) -> Response:
        self.deliveries.clear()
        return Response(status_code=204)

    async def set_faults(self, request: Request) -> Response:
        data = await request.json() if await request.body() else {}
        with self._lock:
            self.faults = Faults(int(data.get("fail_next", 0)), float(data.get("delay_ms", 0)))
        return JSONResponse(asdict(self.faults))


def _json(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return None
