"""The use case against PassKit's network boundary (respx) and a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import cast

import httpx
import pytest
from redis.asyncio import Redis

from resolver.app import create_app
from resolver.domain.coupons import CouponState, Link
from resolver.domain.errors import InvalidFormToken, RateLimited, VerificationFailed
from resolver.domain.redemptions import Attribution, Failure, Outcome
from resolver.providers.passkit import PassKit
from resolver.providers.routing import Router
from resolver.redemption import Redemptions
from resolver.redemption.ports import Capabilities, Provider
from resolver.settings import Settings
from resolver.web.services import Services
from tests.conftest import serving
from tests.support.passkit import PassKitDouble

LINK = Link("camp-1", "member-1")


async def test_clean_success_is_redeemed_with_one_upstream_call(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """A 200 from PassKit is `redeemed`, costing exactly one upstream call."""
    coupon = passkit.add("member-1")
    result = await redemptions.redeem(LINK)
    assert result.outcome is Outcome.REDEEMED
    assert result.coupon_id == coupon["id"]
    assert result.redeemed_at is not None
    assert not result.replayed
    assert passkit.calls == 1


async def test_redeem_sends_the_link_and_a_redemption_source(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """The redeem body names the coupon by externalId + campaignId and says who redeemed it."""
    passkit.add("member-1")
    await redemptions.redeem(LINK)
    body = passkit.redeem_bodies[0]
    assert body["externalId"] == "member-1"
    assert body["campaignId"] == "camp-1"
    assert body["redemptionDetails"]["redemptionSource"].startswith("resolver/")


async def test_a_retry_with_the_same_idempotency_key_gets_the_same_answer(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """A till's retry (same key) replays its own success without calling PassKit again."""
    passkit.add("member-1")
    first = await redemptions.redeem(LINK, idempotency_key="till-7-sale-42")
    second = await redemptions.redeem(LINK, idempotency_key="till-7-sale-42")
    assert second.outcome is Outcome.REDEEMED
    assert second.replayed
    assert second.coupon_id == first.coupon_id
    assert second.receipt == first.receipt
    assert passkit.redeem_calls == 1


async def test_any_other_request_after_a_success_is_already_redeemed_here(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """Another key, or none, learns the coupon is used (by this service), not a new success."""
    passkit.add("member-1")
    first = await redemptions.redeem(LINK, idempotency_key="till-7-sale-42")
    for other in (
        await redemptions.redeem(LINK),
        await redemptions.redeem(LINK, idempotency_key="x"),
    ):
        assert other.outcome is Outcome.ALREADY_REDEEMED
        assert other.redeemed_here is True
        assert other.redeemed_at == first.redeemed_at
        assert other.receipt is None  # never a link to another request's success screen
    assert passkit.redeem_calls == 1


async def test_an_already_redeemed_coupon_is_read_back_as_already_redeemed(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """PassKit's undocumented refusal is settled by reading the coupon back."""
    yesterday = datetime.now(UTC) - timedelta(days=1)
    passkit.add("member-1", status="REDEEMED", redeemed_at=yesterday)
    result = await redemptions.redeem(LINK)
    assert result.outcome is Outcome.ALREADY_REDEEMED
    assert result.redeemed_at is not None
    assert abs(result.redeemed_at - yesterday) < timedelta(seconds=1)
    assert (passkit.redeem_calls, passkit.lookup_calls) == (1, 1)


async def test_an_unknown_coupon_is_no_active_coupon(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """A 404 redeem is confirmed by a 404 read-back."""
    result = await redemptions.redeem(LINK)
    assert result.outcome is Outcome.NO_ACTIVE_COUPON
    assert result.coupon_id is None


async def test_an_expired_coupon_is_expired(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """A refused redeem of a coupon past its expiry date is `expired`."""
    passkit.add_expired("member-1")
    result = await redemptions.redeem(LINK)
    assert result.outcome is Outcome.EXPIRED


async def test_a_timeout_after_passkit_applied_the_redeem_ends_as_redeemed(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """The answer is lost but the read-back shows our redemption: redeemed, no second call."""
    passkit.add("member-1")
    passkit.redeem_fault = "timeout_after_apply"
    result = await redemptions.redeem(LINK)
    assert result.outcome is Outcome.REDEEMED
    assert not result.replayed
    assert passkit.redeem_calls == 1
    assert passkit.lookup_calls == 1
    passkit.redeem_fault = None
    again = await redemptions.redeem(LINK)
    assert again.outcome is Outcome.ALREADY_REDEEMED
    assert again.redeemed_here is True
    assert passkit.redeem_calls == 1


async def test_a_500_after_passkit_applied_the_redeem_ends_as_redeemed(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """A 5xx is not trusted: the read-back decides, and it shows the coupon redeemed by us."""
    passkit.add("member-1")
    passkit.redeem_fault = "error_after_apply"
    result = await redemptions.redeem(LINK)
    assert result.outcome is Outcome.REDEEMED
    assert passkit.redeem_calls == 1


async def test_a_timeout_the_read_back_cannot_explain_is_remembered_as_a_doubt(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """Read-back shows the coupon untouched, but the redeem may still be applied: not
    confirmed (never "nothing was redeemed"), and the retry reads back before redeeming."""
    passkit.add("member-1")
    passkit.redeem_fault = "timeout"
    result = await redemptions.redeem(LINK)
    assert result.outcome is Outcome.UNCONFIRMED
    assert result.failure is Failure.TIMEOUT
    assert "Nothing was redeemed" not in result.detail
    passkit.redeem_fault = None
    retry = await redemptions.redeem(LINK)
    assert retry.outcome is Outcome.REDEEMED
    assert (passkit.redeem_calls, passkit.lookup_calls) == (2, 2)


async def test_a_connect_error_releases_the_claim_without_reading_back(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """A request that never left changes nothing upstream, so there is nothing to read back."""
    passkit.add("member-1")
    passkit.redeem_fault = "connect_error"
    result = await redemptions.redeem(LINK)
    assert result.outcome is Outcome.UPSTREAM_ERROR
    assert result.failure is Failure.UNREACHABLE
    assert passkit.lookup_calls == 0
    passkit.redeem_fault = None
    assert (await redemptions.redeem(LINK)).outcome is Outcome.REDEEMED


async def test_refused_credentials_are_a_bad_answer_and_release(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """401 means nothing was applied: report it (502) and let the next tap try again."""
    passkit.add("member-1")
    passkit.redeem_fault = "unauthorized"
    result = await redemptions.redeem(LINK)
    assert result.outcome is Outcome.UPSTREAM_ERROR
    assert result.failure is Failure.BAD_ANSWER
    assert passkit.lookup_calls == 0


async def test_when_the_read_back_fails_too_the_next_tap_reads_back_first(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """Doubt survives in Redis: the next attempt reads the coupon before any redeem."""
    passkit.add("member-1")
    passkit.redeem_fault = "timeout_after_apply"
    passkit.lookup_fault = "timeout"
    first = await redemptions.redeem(LINK)
    assert first.outcome is Outcome.UNCONFIRMED
    passkit.redeem_fault = passkit.lookup_fault = None
    second = await redemptions.redeem(LINK)
    assert second.outcome is Outcome.REDEEMED  # the earlier attempt's, found by reading back
    assert passkit.redeem_calls == 1


async def test_doubt_about_an_attempt_that_was_not_applied_leads_to_one_new_redeem(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """Unknown state + read-back UNREDEEMED: now it is safe to redeem, once."""
    passkit.add("member-1")
    passkit.redeem_fault = "timeout"
    passkit.lookup_fault = "timeout"
    assert (await redemptions.redeem(LINK)).outcome is Outcome.UNCONFIRMED
    passkit.redeem_fault = passkit.lookup_fault = None
    result = await redemptions.redeem(LINK)
    assert result.outcome is Outcome.REDEEMED
    assert not result.replayed
    assert passkit.redeem_calls == 2


async def test_concurrent_duplicates_reach_the_upstream_once_and_one_is_told_redeemed(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """100 simultaneous requests for one link: one redeem call, one success, and 99 told that
    this service just redeemed it."""
    passkit.add("member-1")
    passkit.latency = 0.05
    results = await asyncio.gather(*(redemptions.redeem(LINK) for _ in range(100)))
    assert passkit.redeem_calls == 1
    outcomes = [result.outcome for result in results]
    assert outcomes.count(Outcome.REDEEMED) == 1
    assert outcomes.count(Outcome.ALREADY_REDEEMED) == 99
    assert all(result.redeemed_here for result in results if result.outcome is not Outcome.REDEEMED)
    assert {result.coupon_id for result in results} == {results[0].coupon_id}


async def test_concurrent_repeats_of_one_request_share_its_success(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """The same Idempotency-Key sent 20 times at once: one redeem call, 20 times its answer."""
    passkit.add("member-1")
    passkit.latency = 0.05
    results = await asyncio.gather(
        *(redemptions.redeem(LINK, idempotency_key="sale-1") for _ in range(20))
    )
    assert passkit.redeem_calls == 1
    assert {result.outcome for result in results} == {Outcome.REDEEMED}
    assert sum(not result.replayed for result in results) == 1


async def test_a_duplicate_that_waits_too_long_is_told_in_progress(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """Past the coalescing bound a duplicate gets `in_progress` with a retry hint."""
    passkit.add("member-1")
    passkit.latency = 0.5
    async with serving(create_app(make_settings(coalesce_wait=0.1))) as services:
        redemptions = services.redemptions
        first = asyncio.create_task(redemptions.redeem(LINK))
        await asyncio.sleep(0.05)
        second = await redemptions.redeem(LINK)
        assert second.outcome is Outcome.IN_PROGRESS
        assert second.retry_after
        assert (await first).outcome is Outcome.REDEEMED
    assert passkit.redeem_calls == 1


async def test_preview_reads_without_redeeming_and_mints_a_form_token(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """A preview shows the coupon and offer and touches nothing."""
    passkit.add("member-1", display_name="Alex")
    preview = await redemptions.preview(LINK, with_form_token=True)
    assert preview.state is CouponState.REDEEMABLE
    assert preview.offer is not None
    assert preview.offer.title == "Free coffee"
    assert preview.form_token
    assert passkit.redeem_calls == 0


async def test_offers_are_cached_and_coupons_are_not(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """Two previews read the coupon twice but the offer once."""
    passkit.add("member-1")
    await redemptions.preview(LINK, with_form_token=False)
    await redemptions.preview(LINK, with_form_token=False)
    assert passkit.lookup_calls == 2
    assert passkit.router.routes["offer"].call_count == 1


async def test_a_form_token_redeems_once_and_then_replays_its_receipt(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """The same confirmation submitted twice shows one receipt and calls PassKit once."""
    passkit.add("member-1")
    preview = await redemptions.preview(LINK, with_form_token=True)
    first = await redemptions.redeem(LINK, form_token=preview.form_token)
    second = await redemptions.redeem(LINK, form_token=preview.form_token)
    assert first.outcome is Outcome.REDEEMED
    assert second.receipt == first.receipt
    assert passkit.redeem_calls == 1


async def test_a_forged_form_token_is_refused_without_an_upstream_call(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """A token Redis never issued is refused before anything else happens."""
    passkit.add("member-1")
    with pytest.raises(InvalidFormToken):
        await redemptions.redeem(LINK, form_token="forged-token-0123456789")
    assert passkit.calls == 0


async def test_a_form_token_only_works_for_its_own_link(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """A token minted for one member cannot redeem another member's coupon."""
    passkit.add("member-1")
    passkit.add("member-2")
    preview = await redemptions.preview(LINK, with_form_token=True)
    with pytest.raises(InvalidFormToken):
        await redemptions.redeem(Link("camp-1", "member-2"), form_token=preview.form_token)
    assert passkit.redeem_calls == 0


async def test_a_coupon_reissued_after_redemption_is_redeemable_from_its_confirm_page(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """The stored result names the old coupon, so the new coupon's confirmation redeems it."""
    passkit.add("member-1")
    assert (await redemptions.redeem(LINK)).outcome is Outcome.REDEEMED
    reissued = passkit.add("member-1")
    preview = await redemptions.preview(LINK, with_form_token=True)
    result = await redemptions.redeem(LINK, form_token=preview.form_token)
    assert result.outcome is Outcome.REDEEMED
    assert result.coupon_id == reissued["id"]
    assert passkit.redeem_calls == 2


class PassKitWithoutReadBack(PassKit):
    """PassKit's API, declared as a back end whose lookups cannot tell a redemption."""

    name = "no-read-back"
    capabilities = Capabilities(read_back=False, offers=False)


@pytest.fixture
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose base URL is the PassKit double's (the providers below use relative paths)."""
    async with httpx.AsyncClient(base_url=settings.passkit_url) as client:
        yield client


def routed(services: Services, router: Router) -> Redemptions:
    return Redemptions(
        router, services.redemptions.store, services.redemptions.names, services.redemptions.policy
    )


async def test_a_campaign_no_provider_serves_has_no_coupon_and_costs_nothing(
    services: Services, passkit: PassKitDouble, http: httpx.AsyncClient
) -> None:
    """With a campaigns map and no default, an unlisted campaign is answered locally."""
    passkit.add("member-1", "other-campaign")
    redemptions = routed(services, Router(None, {"camp-1": PassKit(http)}))
    elsewhere = Link("other-campaign", "member-1")
    assert (await redemptions.preview(elsewhere, with_form_token=True)).state is (
        CouponState.NO_ACTIVE_COUPON
    )
    assert (await redemptions.redeem(elsewhere)).outcome is Outcome.NO_ACTIVE_COUPON
    assert passkit.calls == 0


async def test_without_read_back_an_unclear_redeem_is_never_tried_again_blind(
    services: Services, passkit: PassKitDouble, http: httpx.AsyncClient
) -> None:
    """No lookup can settle it, so the doubt stands (no second redeem) until the window ends."""
    passkit.add("member-1")
    passkit.redeem_fault = "timeout_after_apply"
    redemptions = routed(services, Router(PassKitWithoutReadBack(http)))
    first = await redemptions.redeem(LINK)
    assert first.outcome is Outcome.UNCONFIRMED
    assert first.failure is Failure.TIMEOUT
    passkit.redeem_fault = None
    second = await redemptions.redeem(LINK)
    assert second.outcome is Outcome.UNCONFIRMED
    assert "could not be confirmed" in second.detail
    assert (passkit.redeem_calls, passkit.lookup_calls) == (1, 0)


async def test_without_offers_the_offer_is_simply_unknown(
    services: Services, passkit: PassKitDouble, http: httpx.AsyncClient
) -> None:
    """A back end without offer details is never asked for them."""
    passkit.add("member-1")
    redemptions = routed(services, Router(PassKitWithoutReadBack(http)))
    preview = await redemptions.preview(LINK, with_form_token=False)
    assert preview.state is CouponState.REDEEMABLE
    assert preview.offer is None
    assert passkit.router.routes["offer"].call_count == 0


ANA = Attribution("paris", "Paris Opéra", "ana", "Ana Lima")


async def test_who_verified_and_where_go_upstream_and_into_the_result(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """The staff check's answer becomes redemptionReference and metaData; lat/lon go along."""
    passkit.add("member-1")

    async def verify(key: str) -> Attribution:
        return ANA

    result = await redemptions.redeem(LINK, verify=verify, location=(48.8708, 2.3317))
    details = passkit.redeem_bodies[0]["redemptionDetails"]
    assert details["redemptionReference"] == "Paris Opéra (paris) · Ana Lima (ana)"
    assert details["metaData"] == ANA.metadata
    assert (details["lat"], details["lon"]) == (48.8708, 2.3317)
    assert result.verified_by == ANA
    assert (await redemptions.follow(result.receipt or "")) == result


async def test_a_refused_staff_check_claims_nothing_and_calls_nothing(
    redemptions: Redemptions, passkit: PassKitDouble, redis: Redis
) -> None:
    """Checked before the claim: the coupon's state and the member's token stay untouched."""
    passkit.add("member-1")
    preview = await redemptions.preview(LINK, with_form_token=True)

    async def refuse(key: str) -> Attribution:
        raise VerificationFailed(tries_left=2)

    with pytest.raises(VerificationFailed):
        await redemptions.redeem(LINK, form_token=preview.form_token, verify=refuse)
    assert passkit.redeem_calls == 0
    assert await redis.exists(f"rr:{{{redemptions.key(LINK)}}}") == 0
    again = await redemptions.redeem(LINK, form_token=preview.form_token)  # the token still works
    assert again.outcome is Outcome.REDEEMED
    assert again.verified_by is None


async def test_the_rate_limit_is_checked_before_any_staff_code(
    redemptions: Redemptions, passkit: PassKitDouble
) -> None:
    """A client over its limit gets no code checked: admission comes first."""
    passkit.add("member-1")
    checked = []

    async def over_limit() -> None:
        raise RateLimited(30, scope="client")

    async def verify(key: str) -> Attribution:
        checked.append(key)
        return ANA

    with pytest.raises(RateLimited):
        await redemptions.redeem(LINK, admit=over_limit, verify=verify)
    assert checked == []
    assert passkit.calls == 0


def test_a_claim_lasts_longer_for_back_ends_that_need_more_calls(services: Services) -> None:
    """The lease covers every call a redeem may make plus the read-back, with margin."""
    policy = services.redemptions.policy

    def lease_with(calls: int) -> float:
        back_end = SimpleNamespace(capabilities=Capabilities(redeem_calls=calls))
        return policy.lease_for(cast("Provider", back_end))

    assert lease_with(3) - lease_with(1) == 2 * policy.exchange
    assert lease_with(3) > 4 * policy.exchange


async def test_waiting_for_a_slow_redeem_does_not_use_up_the_coupons_budget(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """A duplicate waiting through a slow redeem re-checks many times but counts once: a third
    tap afterwards is answered (already redeemed here), not refused for the rest of the minute."""
    passkit.add("member-1")
    passkit.latency = 1.5
    settings = make_settings(rate_limit_coupon="3/minute")
    async with serving(create_app(settings)) as services:
        redemptions = services.redemptions
        together = await asyncio.gather(redemptions.redeem(LINK), redemptions.redeem(LINK))
        third = await redemptions.redeem(LINK)
    outcomes = sorted(result.outcome for result in together)
    assert outcomes == [Outcome.ALREADY_REDEEMED, Outcome.REDEEMED]  # the owner, the waiter
    assert third.outcome is Outcome.ALREADY_REDEEMED
    assert passkit.redeem_calls == 1


async def test_a_retry_after_an_attempt_that_never_left_is_not_refused(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """A request that never reached PassKit gives its count back: the member may try again."""
    passkit.add("member-1")
    passkit.redeem_fault = "connect_error"
    async with serving(create_app(make_settings(rate_limit_coupon="1/minute"))) as services:
        redemptions = services.redemptions
        assert (await redemptions.redeem(LINK)).outcome is Outcome.UPSTREAM_ERROR
        passkit.redeem_fault = None
        assert (await redemptions.redeem(LINK)).outcome is Outcome.REDEEMED
