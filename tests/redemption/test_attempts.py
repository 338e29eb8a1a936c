"""A claimed attempt when parts are slow or failing: deadlines, late-applied redeems, doubts
that are remembered, failures between the claim and the settle (respx at PassKit's network
boundary, a real Redis)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import respx
from redis.asyncio import Redis
from resolver_sandbox.embedded import EmbeddedRedis

from resolver.app import create_app
from resolver.domain.coupons import Link
from resolver.domain.redemptions import Outcome
from resolver.providers.google_auth import GoogleServiceAccountAuth
from resolver.providers.google_wallet import GoogleWallet
from resolver.providers.routing import Router
from resolver.redemption import Redemptions
from resolver.settings import Settings
from resolver.storage.token_cache import SharedTokens
from resolver.web.services import Services
from tests.conftest import serving
from tests.support.google import service_account_info
from tests.support.passkit import PassKitDouble

LINK = Link("camp-1", "member-1")
TOKEN_URI = "https://oauth2.test/token"
API = "https://wallet.test/walletobjects/v1"
ISSUER = "3388000000022000001"
GOOGLE_LINK = Link("summer-offers", "member-1")
OBJECT = f"{API}/offerObject/{ISSUER}.member-1"


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    """A small exchange (0.3 s connect, 0.5 s read: a 1.4 s deadline) keeps slow cases short."""
    return make_settings(upstream_connect_timeout=0.3, upstream_timeout=0.5)


async def test_a_redeem_applied_after_its_timeout_is_the_members_own(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """The PUT times out, the read-back still sees the coupon unused, and the upstream applies
    it later: the member is told "not confirmed" (never "nothing was redeemed"), and the retry
    reads back and gives them their own redemption, without a second PUT."""
    passkit.add("member-1")
    passkit.redeem_fault = "timeout_apply_later"
    first = await redemptions.redeem(LINK)
    assert first.outcome is Outcome.UNCONFIRMED
    assert "Nothing was redeemed" not in first.detail
    passkit.redeem_fault = None
    passkit.apply_pending()
    retry = await redemptions.redeem(LINK)
    assert retry.outcome is Outcome.REDEEMED
    assert passkit.redeem_calls == 1


async def test_a_preview_settles_a_doubt_the_upstream_has_since_applied(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """Opening the link again after a late-applied redeem shows the member's own success."""
    passkit.add("member-1")
    passkit.redeem_fault = "timeout_apply_later"
    passkit.lookup_fault = "timeout"  # the read-back fails too: the doubt is all there is
    await redemptions.redeem(LINK, keep_receipt=True)
    passkit.redeem_fault = passkit.lookup_fault = None
    passkit.apply_pending()
    preview = await redemptions.preview(LINK, with_form_token=True)
    assert preview.result is not None
    assert preview.result.outcome is Outcome.REDEEMED
    assert preview.form_token is None
    assert passkit.redeem_calls == 1


def trickle(request: httpx.Request) -> httpx.Response:
    """An answer whose body comes one byte every 0.3 s: each read is quick, the whole is not."""

    class Trickle(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            for byte in b'{"id": "slow-coupon-id-0000001"}':
                await asyncio.sleep(0.3)
                yield bytes([byte])

    return httpx.Response(200, stream=Trickle())


async def test_a_trickled_answer_is_abandoned_at_the_exchanges_deadline(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """Per-read timeouts never fire on a trickle: the overall deadline does, well inside the
    claim's lease, and the read-back decides."""
    passkit.add("member-1")
    passkit.router.routes["redeem"].side_effect = trickle
    started = time.monotonic()
    result = await redemptions.redeem(LINK)
    elapsed = time.monotonic() - started
    provider = redemptions.providers.provider("camp-1")
    assert provider is not None
    assert elapsed < redemptions.policy.redeem_deadline(provider) + 1.0
    assert elapsed < 5.0  # a 33-byte trickle would take 10 s
    assert result.outcome is Outcome.UNCONFIRMED  # never answered; the read-back saw it unused


async def test_the_lease_outlasts_every_exchange_of_an_attempt(redemptions: Redemptions) -> None:
    """A look, the redeem's calls and a read-back all end before the claim could expire."""
    policy = redemptions.policy
    provider = redemptions.providers.provider("camp-1")
    assert provider is not None
    worst = policy.redeem_deadline(provider) + policy.read_deadline
    if not provider.capabilities.guards_redeem:
        worst += policy.read_deadline
    assert policy.lease_for(provider) > worst
    assert policy.longest_lease >= policy.lease_for(provider)


async def test_an_unexpected_error_after_the_claim_leaves_a_doubt(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """A failure no classification foresaw (here a garbled gzip answer) may follow a sent
    redeem: the answer is "not confirmed", and the next request reads back first."""
    passkit.add("member-1")
    passkit.router.routes["redeem"].side_effect = lambda request: httpx.Response(
        200, headers={"content-encoding": "gzip"}, content=b"not gzip at all"
    )
    first = await redemptions.redeem(LINK)
    assert first.outcome is Outcome.UNCONFIRMED
    passkit.router.routes["redeem"].side_effect = passkit._redeem
    second = await redemptions.redeem(LINK)
    assert second.outcome is Outcome.REDEEMED
    assert passkit.lookup_calls >= 1  # read back before the second redeem


async def test_a_programming_error_in_a_provider_is_logged_and_leaves_a_doubt(
    redemptions: Redemptions, passkit: PassKitDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even a ValueError (say, from a library's token code) ends in a settle, not a stuck claim."""
    passkit.add("member-1")
    provider = redemptions.providers.provider("camp-1")

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("could not deserialize key data")

    monkeypatch.setattr(provider, "redeem", broken)
    result = await redemptions.redeem(LINK)
    assert result.outcome is Outcome.UNCONFIRMED
    held = await redemptions.store.peek(redemptions.key(LINK))
    assert not isinstance(held, float)
    assert held.state == "unknown"


async def test_a_cancelled_redemption_leaves_a_doubt_not_a_claim(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """A shutdown that cancels a redemption mid-call marks it for reading back."""
    passkit.add("member-1")
    passkit.latency = 5.0
    task = asyncio.create_task(redemptions.redeem(LINK))
    while not passkit.redeem_bodies:  # noqa: ASYNC110  # until the PUT is on its way
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    held = await redemptions.store.peek(redemptions.key(LINK))
    assert not isinstance(held, float)
    assert held.state == "unknown"


async def test_a_reconcile_that_lost_its_claim_sends_no_redeem(
    redemptions: Redemptions, passkit: PassKitDouble, redis: Redis
) -> None:
    """Between the read-back and the redeem, another attempt took the claim: no PUT is sent."""
    passkit.add("member-1")
    passkit.redeem_fault = "timeout"
    await redemptions.redeem(LINK)  # leaves a doubt
    passkit.redeem_fault = None
    state = f"rr:{{{redemptions.key(LINK)}}}"
    lookup = passkit.router.routes["lookup"]
    answer = lookup.side_effect

    async def taken_over(request: httpx.Request, **params: str) -> httpx.Response:
        await redis.hset(state, "t", "someone-else")
        return await answer(request, **params)  # type: ignore[misc, operator, no-any-return]

    lookup.side_effect = taken_over
    result = await redemptions.redeem(LINK)
    assert result.outcome is Outcome.UNCONFIRMED
    assert passkit.redeem_calls == 1  # only the first, doubtful one


@pytest.mark.parametrize("fault", [None, "error_after_apply"])
async def test_redis_failing_after_the_upstream_answered_still_answers_truly(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, fault: Any
) -> None:
    """Redis stops right after PassKit applied the redeem: whether the answer was a clean 200
    or a 500 settled by reading back (whose offer cache fails too), it is `redeemed`."""
    passkit.add("member-1")
    passkit.redeem_fault = fault
    with EmbeddedRedis() as own:
        async with serving(create_app(make_settings(redis_url=own.url))) as services:
            redemptions = services.redemptions
            answer = passkit.router.routes["redeem"].side_effect

            async def then_redis_stops(request: httpx.Request) -> httpx.Response:
                try:
                    return await answer(request)  # type: ignore[misc, operator, no-any-return]
                finally:
                    own.stop()

            passkit.router.routes["redeem"].side_effect = then_redis_stops
            result = await redemptions.redeem(LINK)
    assert result.outcome is Outcome.REDEEMED
    assert result.receipt is None  # nothing could be kept, but the answer is the truth


async def test_a_slow_token_endpoint_is_bounded_by_the_redeems_deadline(
    services: Services, redis: Redis
) -> None:
    """Google's token endpoint hangs: the redeem (token, read, PATCH) is abandoned at its
    deadline, inside the claim's lease, no PATCH is ever sent, and a second tap meanwhile
    waits instead of redeeming."""
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:

        async def hanging(request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(30)
            return httpx.Response(500)

        router.post(TOKEN_URI).mock(side_effect=hanging)
        patch = router.patch(OBJECT).mock(return_value=httpx.Response(200, json={}))
        async with httpx.AsyncClient() as client:
            auth = GoogleServiceAccountAuth(
                service_account_info(TOKEN_URI),
                client=client,
                tokens=SharedTokens(redis),
                name="google_wallet:test",
            )
            google = GoogleWallet(
                client, name="google_wallet:test", issuer_id=ISSUER, auth=auth, base_url=API
            )
            policy = services.redemptions.policy
            redemptions = Redemptions(
                Router(google), services.redemptions.store, services.redemptions.names, policy
            )
            started = time.monotonic()
            first, second = await asyncio.gather(
                redemptions.redeem(GOOGLE_LINK), redemptions.redeem(GOOGLE_LINK)
            )
            elapsed = time.monotonic() - started
    owner, waiter = sorted(
        (first, second), key=lambda result: result.outcome is Outcome.IN_PROGRESS
    )
    assert owner.outcome is Outcome.UNCONFIRMED
    assert waiter.outcome in (Outcome.IN_PROGRESS, Outcome.UNCONFIRMED)
    assert elapsed < policy.redeem_deadline(google) + policy.read_deadline + 1.0
    assert elapsed < policy.lease_for(google)
    assert patch.call_count == 0
