"""Rate limits per client network (misses) and per coupon, in Redis so they hold across replicas."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from redis.asyncio import Redis

from resolver.app import create_app
from resolver.settings import Settings
from tests.conftest import running, running_from
from tests.support.passkit import PassKitDouble

API = "/api/v1/redeem"


def link(number: int) -> dict[str, str]:
    return {"externalId": f"member-{number}", "campaignId": "camp-1"}


async def test_one_client_is_limited_across_two_instances_sharing_redis(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """5 misses a minute: after five links that name no coupon, whichever replica gets the
    next request answers 429 with Retry-After."""
    settings = make_settings(rate_limit_misses="5/minute")
    async with running(create_app(settings)) as one, running(create_app(settings)) as two:
        answers = [await (one if n % 2 else two).get("/redeem", params=link(n)) for n in range(6)]
        api = await one.post(API, params=link(9))
    assert [a.status_code for a in answers[:5]] == [404] * 5
    assert answers[5].status_code == 429
    assert 1 <= int(answers[5].headers["retry-after"]) <= 60
    assert "Too many attempts" in answers[5].text
    assert api.status_code == 429
    assert api.json()["outcome"] == "rate_limited"
    assert passkit.lookup_calls == 5


async def test_one_coupon_is_limited_across_two_instances_and_clients(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """3/minute per coupon link: different clients on different replicas share the budget."""
    passkit.add("member-1")
    settings = make_settings(rate_limit_coupon="3/minute")
    async with running(create_app(settings)) as one, running(create_app(settings)) as two:
        statuses = [
            (await one.get("/redeem", params=link(1))).status_code,
            (await two.get("/redeem", params=link(1))).status_code,
            (await one.get("/redeem", params=link(1))).status_code,
            (await two.post(API, params=link(1))).status_code,
        ]
        other = await one.post(API, params=link(2))
    assert statuses == [200, 200, 200, 429]
    assert other.status_code == 404  # another coupon has its own budget
    assert passkit.redeem_calls == 1  # link(2)'s: nothing for the limited link


async def test_a_stored_answer_is_given_whatever_the_coupons_budget(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """Answers from the store cost the upstream nothing: the limit never refuses them."""
    passkit.add("member-1")
    settings = make_settings(rate_limit_coupon="1/minute")
    async with running(create_app(settings)) as client:
        key = {"idempotency-key": "till-1"}
        answers = [(await client.post(API, params=link(1), headers=key)) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200] * 4
    assert passkit.redeem_calls == 1


async def test_a_limited_confirmation_releases_its_claim(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """Refused by the miss budget after claiming: nothing redeemed, the coupon free for later."""
    passkit.add("member-1")
    async with running(create_app(make_settings(rate_limit_misses="1/minute"))) as client:
        page = await client.get("/redeem", params=link(1))
        token = page.text.split('name="token" value="')[1].split('"')[0]
        await client.get("/redeem", params=link(9))  # a miss spends this client's budget
        refused = await client.post("/redeem", data=link(1) | {"token": token})
    assert refused.status_code == 429
    assert passkit.redeem_calls == 0
    async with running(create_app(make_settings())) as client:
        assert (await client.post(API, params=link(1))).status_code == 200


async def test_api_callers_with_a_token_are_not_limited_per_ip(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """A till with the API token may redeem many coupons from one address."""
    for n in range(5):
        passkit.add(f"member-{n}")
    settings = make_settings(rate_limit_misses="2/minute", api_token="till-token")
    async with running(create_app(settings)) as client:
        answers = await asyncio.gather(
            *(
                client.post(API, params=link(n), headers={"authorization": "Bearer till-token"})
                for n in range(5)
            )
        )
    assert {a.status_code for a in answers} == {200}


async def test_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """X-Forwarded-For cannot buy a fresh budget unless the peer is a trusted proxy."""
    settings = make_settings(rate_limit_misses="2/minute", forwarded_allow_ips="10.9.9.9")
    async with running(create_app(settings)) as client:
        statuses = [
            (
                await client.get(
                    "/redeem", params=link(n), headers={"x-forwarded-for": f"203.0.113.{n}"}
                )
            ).status_code
            for n in range(3)
        ]
    assert statuses == [404, 404, 429]


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """Behind a trusted proxy each forwarded client has its own budget, and https gets HSTS."""
    settings = make_settings(rate_limit_misses="1/minute", forwarded_allow_ips="127.0.0.1/32")
    async with running(create_app(settings)) as client:  # the test client's peer is 127.0.0.1
        answers = [
            await client.get(
                "/redeem",
                params=link(n),
                headers={"x-forwarded-for": f"203.0.113.{n}", "x-forwarded-proto": "https"},
            )
            for n in range(3)
        ]
    assert [a.status_code for a in answers] == [404, 404, 404]
    assert "max-age" in answers[0].headers["strict-transport-security"]


async def test_a_refused_request_keeps_an_earlier_doubt(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """Doubt from a lost answer survives a rate-limited tap: the next one reads back first."""
    passkit.add("member-1")
    passkit.redeem_fault = "timeout_after_apply"
    passkit.lookup_fault = "timeout"
    async with running(create_app(make_settings())) as client:
        assert (await client.post(API, params=link(1))).status_code == 504
    passkit.redeem_fault = passkit.lookup_fault = None
    async with running(create_app(make_settings(rate_limit_misses="1/minute"))) as client:
        await client.get("/healthz")
        await client.post(API, params=link(2))  # uses up this client's one request
        refused = await client.post(API, params=link(1))
    assert refused.status_code == 429
    async with running(create_app(make_settings())) as client:
        answer = await client.post(API, params=link(1))
    assert answer.json()["outcome"] == "redeemed"  # the first attempt's, found by reading back
    assert [b["externalId"] for b in passkit.redeem_bodies].count("member-1") == 1


async def test_the_addresses_of_one_ipv6_64_share_one_budget(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """A subscriber holds a whole /64: hopping between its addresses buys no new requests."""
    settings = make_settings(rate_limit_misses="2/minute")
    hosts = ("2001:db8:1:2::1", "2001:db8:1:2::ffff:7", "2001:db8:1:2:aaaa::9", "2001:db8:1:3::1")
    async with running_from(create_app(settings), *hosts) as clients:
        statuses = [(await client.get("/redeem", params=link(1))).status_code for client in clients]
    assert statuses == [404, 404, 429, 404]


async def test_an_ipv4_mapped_address_is_the_same_client_as_its_ipv4_address(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """::ffff:203.0.113.9 and 203.0.113.9 are one client, whichever way the socket saw it."""
    settings = make_settings(rate_limit_misses="1/minute")
    hosts = ("::ffff:203.0.113.9", "203.0.113.9", "203.0.113.10")
    async with running_from(create_app(settings), *hosts) as clients:
        statuses = [(await client.get("/redeem", params=link(1))).status_code for client in clients]
    assert statuses == [404, 429, 404]


async def test_the_ipv6_prefix_that_names_a_client_is_configurable(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """RESOLVER_CLIENT_IPV6_PREFIX=48 counts a whole /48 (a site) as one client."""
    settings = make_settings(rate_limit_misses="1/minute", client_ipv6_prefix=48)
    hosts = ("2001:db8:1:2::1", "2001:db8:1:3::1", "2001:db8:2::1")
    async with running_from(create_app(settings), *hosts) as clients:
        statuses = [(await client.get("/redeem", params=link(1))).status_code for client in clients]
    assert statuses == [404, 429, 404]


async def test_members_opening_their_own_links_never_spend_the_budget(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """A busy shop behind one address: 40 members open and redeem their valid links, under a
    budget of 3 misses, and nobody is refused."""
    for n in range(40):
        passkit.add(f"member-{n}")
    async with running(create_app(make_settings(rate_limit_misses="3/hour"))) as shop:
        pages = [await shop.get("/redeem", params=link(n)) for n in range(20)]
        redeemed = [await shop.post(API, params=link(n)) for n in range(20, 40)]
    assert {page.status_code for page in pages} == {200}
    assert {answer.status_code for answer in redeemed} == {200}


async def test_a_walker_of_ids_is_stopped_within_its_budget(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """Made-up ids spend the budget; past it even a real coupon is refused to that client."""
    passkit.add("member-0")
    async with running(create_app(make_settings(rate_limit_misses="5/hour"))) as walker:
        misses = [await walker.get("/redeem", params=link(n)) for n in range(1, 6)]
        stopped = await walker.get("/redeem", params=link(0))
    assert {miss.status_code for miss in misses} == {404}
    assert stopped.status_code == 429
    assert passkit.lookup_calls == 5


async def test_a_tills_misses_spend_nobodys_budget(
    make_settings: Callable[..., Settings], passkit: PassKitDouble, redis: Redis
) -> None:
    """A till with the API token asking for coupons that do not exist does not lock the
    members behind the same address out."""
    passkit.add("member-0")
    settings = make_settings(rate_limit_misses="2/hour", api_token="till-token")
    token = {"authorization": "Bearer till-token"}
    async with running(create_app(settings)) as shop:
        for n in range(1, 5):
            assert (await shop.post(API, params=link(n), headers=token)).status_code == 404
        page = await shop.get("/redeem", params=link(0))
    assert page.status_code == 200
