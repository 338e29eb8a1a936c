"""One try of one event to one endpoint: the body signed per the Standard Webhooks
specification (with the `standardwebhooks` library) and POSTed once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from typing import TYPE_CHECKING

import httpx
import structlog

from resolver.events.catalogue import body, event_id, event_type

if TYPE_CHECKING:
    from collections.abc import Callable

    from standardwebhooks import Webhook

    from resolver.events.endpoints import Endpoint
    from resolver.storage.audit import Entry

log = structlog.get_logger("resolver.events")


@dataclass(frozen=True, slots=True)
class Tried:
    """How a try ended: delivered (a 2xx), or why not (a status or an error's name)."""

    delivered: bool
    problem: str = ""


def signed_headers(signer: Webhook, message_id: str, payload: str, now: datetime) -> dict[str, str]:
    """The specification's three headers for `payload`, signed at `now`."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signer.sign(message_id, now, payload),
        "content-type": "application/json",
    }


class Sender:
    """Sends events over its own client, which nothing on a member's request path shares."""

    def __init__(self, http: httpx.AsyncClient, clock: Callable[[], datetime]) -> None:
        self.http = http
        self._clock = clock
        self._signers: dict[str, Webhook] = {}
        self._agent = f"resolver/{version('resolver')}"

    async def send(self, endpoint: Endpoint, entry: Entry) -> Tried:
        """One try; never raises for the endpoint's failures (they are retried later)."""
        signer = self._signers.get(endpoint.name)
        if signer is None:
            signer = self._signers[endpoint.name] = endpoint.signer()
        payload = body(entry.id, entry.fields)
        headers = signed_headers(signer, event_id(entry.id), payload, self._clock())
        headers["user-agent"] = self._agent
        try:
            answer = await self.http.post(endpoint.url, content=payload, headers=headers)
        except httpx.HTTPError as error:
            tried = Tried(delivered=False, problem=type(error).__name__)
        else:
            ok = 200 <= answer.status_code < 300  # the specification's success
            tried = Tried(delivered=ok, problem="" if ok else str(answer.status_code))
        log.info(
            "event_sent" if tried.delivered else "event_not_delivered",
            endpoint=endpoint.name,
            type=event_type(entry.fields),
            webhook_id=event_id(entry.id),
            problem=tried.problem or None,
        )
        return tried


def now_utc() -> datetime:
    return datetime.now(UTC)
