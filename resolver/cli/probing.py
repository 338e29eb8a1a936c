"""The probe's calls on one PassKit campaign, and what each one was answered (`resolver probe`).

It names only coupons it created, by the ids PassKit gave them, and voids them in a `finally`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

from resolver.domain.errors import UpstreamError
from resolver.providers import reading

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from resolver.providers.passkit_admin import Answer, PassKitAdmin

PREFIX = "resolver-probe"


@dataclass(frozen=True, slots=True)
class Step:
    """One call of the probe and what PassKit answered (or why nothing came back)."""

    title: str
    answer: Answer | None
    failure: str = ""

    def fields(self) -> dict[str, str]:
        """The answer's fields worth reading: error code and message, or the coupon's state."""
        if self.answer is None:
            return {"failure": self.failure}
        body, found = self.answer.body, {}
        if not self.answer.ok:
            found["code"] = str(body.get("code", ""))
            found["message"] = self.answer.message
        elif self.answer.items:
            ids = [reading.as_text(item.get("id")) for item in self.answer.items]
            found["offers"] = ", ".join(ids)
        else:
            redemption = reading.as_object(body.get("redemptionDetails"))
            found |= {
                "id": reading.as_text(body.get("id")),
                "status": reading.as_text(body.get("status")),
                "expiryDate": _text(body.get("expiryDate")),
                "redemptionDate": _text(redemption.get("redemptionDate")),
                "passMetaData.status": reading.as_text(
                    reading.as_object(body.get("passMetaData")).get("status")
                ),
            }
        return {name: value for name, value in found.items() if value}

    def to_json(self) -> dict[str, Any]:
        answer = self.answer
        return {
            "title": self.title,
            "method": answer.method if answer else None,
            "path": answer.path if answer else None,
            "status": answer.status if answer else None,
            "fields": self.fields(),
        }


@dataclass(slots=True)
class Probe:
    """The probe's calls on one campaign; `steps` and `created` survive a failure midway."""

    admin: PassKitAdmin
    campaign_id: str
    offer_id: str | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    steps: list[Step] = field(default_factory=list)
    # (coupon id, external id) of every coupon the probe created: the only ones it touches.
    created: list[tuple[str, str]] = field(default_factory=list)
    tag: str = field(default_factory=lambda: secrets.token_hex(4))

    async def run(self) -> None:
        """Every step; the created coupons are voided even when a step fails."""
        try:
            await self._steps()
        finally:
            await self._void_all()

    async def _steps(self) -> None:
        campaign = await self._step("read the campaign", self.admin.campaign(self.campaign_id))
        if campaign is None or not campaign.ok:
            return
        if self.offer_id is None:
            offers = await self._step("list its offers", self.admin.offers(self.campaign_id))
            ids = [reading.as_text(o.get("id")) for o in offers.items] if offers else []
            self.offer_id = next((offer_id for offer_id in ids if offer_id), None)
            if self.offer_id is None:
                return
        fresh = await self._create("a", "create a coupon", expires=None)
        if fresh is not None:
            coupon_id, external_id = fresh
            await self._redeem(coupon_id, "redeem it")
            await self._redeem(coupon_id, "redeem it again")
            await self._read(external_id, "read it back by external id")
        yesterday = self.clock() - timedelta(days=1)
        expired = await self._create("b", "create a coupon that expired yesterday", yesterday)
        if expired is not None:
            await self._redeem(expired[0], "redeem the expired coupon")
            await self._read(expired[1], "read the expired coupon back")

    async def _create(
        self, suffix: str, title: str, expires: datetime | None
    ) -> tuple[str, str] | None:
        """Create a probe coupon; its (id, external id) once PassKit has it, else None."""
        external_id = f"{PREFIX}-{self.clock():%Y%m%d%H%M%S}-{self.tag}-{suffix}"
        body: dict[str, Any] = {
            "campaignId": self.campaign_id,
            "offerId": self.offer_id,
            "externalId": external_id,
            "metaData": {"createdBy": PREFIX},
        }
        if expires is not None:
            body["expiryDate"] = expires.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        answer = await self._step(title, self.admin.create_coupon(body))
        coupon_id = reading.as_text(answer.body.get("id")) if answer and answer.ok else ""
        if not coupon_id and (answer is None or answer.status >= 500):
            # The create may have been applied without its answer reaching us: the external id
            # is the probe's own, so reading it back finds the coupon to void, if there is one.
            found = await self._read(external_id, "look for it by external id")
            coupon_id = reading.as_text(found.body.get("id")) if found and found.ok else ""
        if not coupon_id:
            return None
        self.created.append((coupon_id, external_id))
        return coupon_id, external_id

    async def _redeem(self, coupon_id: str, title: str) -> None:
        details = {"redemptionSource": f"{PREFIX}/{version('resolver')}"}
        await self._step(title, self.admin.redeem({"id": coupon_id, "redemptionDetails": details}))

    async def _read(self, external_id: str, title: str) -> Answer | None:
        return await self._step(
            title, self.admin.coupon_by_external_id(self.campaign_id, external_id)
        )

    async def _void_all(self) -> None:
        for coupon_id, external_id in self.created:
            body = {"id": coupon_id, "campaignId": self.campaign_id, "offerId": self.offer_id}
            await self._step(f"void {external_id}", self.admin.void(body))
            await self._read(external_id, "read the voided coupon by external id")
            await self._step("read the voided coupon by id", self.admin.coupon_by_id(coupon_id))

    async def _step(self, title: str, call: Awaitable[Answer]) -> Answer | None:
        try:
            answer = await call
        except UpstreamError as error:
            self.steps.append(Step(title, None, failure=str(error)))
            return None
        self.steps.append(Step(title, answer))
        return answer

    @property
    def cleaned_up(self) -> bool:
        """Whether every coupon the probe created was voided (a 2xx answer)."""
        voids = [step for step in self.steps if step.title.startswith("void ")]
        return len(voids) == len(self.created) and all(
            step.answer is not None and step.answer.ok for step in voids
        )


def _text(value: object) -> str:
    """A date field as PassKit sent it (unset dates come as null, "" or the zero date)."""
    date = reading.parse_date(value)
    return date.isoformat() if date else ""
