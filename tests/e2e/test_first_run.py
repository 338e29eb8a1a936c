"""The README's first command, `resolver serve` with nothing configured, as a newcomer runs it."""

from __future__ import annotations

import re
import signal
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import psutil
import pytest
import redis
from resolver_bench import processes
from resolver_sandbox import DEMO

from tests.conftest import BROWSER
from tests.e2e.conftest import watch
from tests.e2e.taps import HIDDEN_FIELD, RECEIPT, page_state

if TYPE_CHECKING:
    from collections.abc import Iterator

    from resolver_bench.processes import Child

DEMO_LINK = re.compile(r"^ +(unredeemed|redeemed|expired|no coupon) +(http://\S+)$", re.MULTILINE)
EMBEDDED_REDIS = re.compile(r"Redis: embedded at unix://(\S+)")
SANDBOX_URL = re.compile(r"simulator of PassKit at (http://[\d.:]+)\.")


@pytest.fixture
def first_run(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Child]:
    """`resolver serve --port P` with no RESOLVER_* variable and no .env, until /readyz is 200."""
    port = processes.free_port()
    child = processes.Child(
        "serve", ["serve", "--port", str(port)], port=port, settings={}, workdir=tmp_path,
        ready_path="/readyz",
    )  # fmt: skip
    watch(request, child)
    try:
        child.start()
        yield child
    finally:
        child.stop()


def test_the_demo_links_lead_through_confirm_to_a_receipt(first_run: Child) -> None:
    """The printed "unredeemed" link: confirm form, POST, 303, a receipt that reloads safely."""
    links = dict(DEMO_LINK.findall(first_run.output()))
    assert set(links) == {"unredeemed", "redeemed", "expired", "no coupon"}
    assert all(urlsplit(url).port == first_run.port for url in links.values())
    with httpx.Client(headers={"user-agent": BROWSER}, timeout=10.0) as browser:
        page = browser.get(links["unredeemed"])
        assert page_state(page) == "confirm"
        form = dict(HIDDEN_FIELD.findall(page.text))
        assert form["externalId"] == DEMO.unredeemed
        assert form["campaignId"] == DEMO.campaign_id
        assert len(form["token"]) >= 16

        answer = browser.post(f"{first_run.url}/redeem", data=form)
        assert answer.status_code == 303
        receipt = answer.headers["location"]
        assert RECEIPT.fullmatch(receipt)
        for _ in range(3):
            shown = browser.get(first_run.url + receipt)
            assert (shown.status_code, page_state(shown)) == (200, "success")

        # The other demo states read as the banner promises.
        for label, status, state in [
            ("unredeemed", 200, "already"),
            ("redeemed", 200, "already"),
            ("expired", 410, "expired"),
            ("no coupon", 404, "none"),
        ]:
            page = browser.get(links[label])
            assert (page.status_code, page_state(page)) == (status, state), label

    sandbox_url = SANDBOX_URL.search(first_run.output())
    assert sandbox_url
    stats = httpx.get(f"{sandbox_url.group(1)}/_sandbox/stats").json()
    assert [tally["externalId"] for tally in stats["coupons"].values()] == [DEMO.unredeemed]
    assert [tally["count"] for tally in stats["coupons"].values()] == [1]


def test_sigterm_stops_the_embedded_redis_and_sandbox_too(first_run: Child) -> None:
    """After SIGTERM serve exits 0, its redis-server is gone with its socket, the sandbox too."""
    output = first_run.output()
    socket_match, sandbox_match = EMBEDDED_REDIS.search(output), SANDBOX_URL.search(output)
    assert socket_match
    assert sandbox_match
    redis_socket, sandbox_url = Path(socket_match.group(1)), sandbox_match.group(1)
    helpers = psutil.Process(first_run.pid).children(recursive=True)
    redis_servers = [child for child in helpers if "redis-server" in child.name()]
    assert len(redis_servers) == 1
    assert redis_socket.exists()

    first_run.signal(signal.SIGTERM)
    assert first_run.wait() == 0

    assert not redis_servers[0].is_running()
    assert not redis_socket.parent.exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{sandbox_url}/_sandbox/stats")


def test_the_demos_workers_share_the_secret_its_parent_made(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Two workers, nothing configured: no secret stored in Redis, and every worker replays."""
    port = processes.free_port()
    child = processes.Child(
        "serve", ["serve", "--port", str(port), "--workers", "2"], port=port, settings={},
        workdir=tmp_path, ready_path="/readyz",
    )  # fmt: skip
    watch(request, child)
    with child:
        socket_match = EMBEDDED_REDIS.search(child.output())
        assert socket_match
        redis_url = f"unix://{socket_match.group(1)}"
        processes.wait_for_workers(redis_url, 2)
        link = {"externalId": DEMO.unredeemed, "campaignId": DEMO.campaign_id}
        answers = []
        for _ in range(10):  # a connection each: the kernel spreads them over both workers
            with httpx.Client(base_url=child.url, timeout=10.0) as till:
                key = {"idempotency-key": "till-1:sale-1"}  # one sale, retried
                answers.append(till.post("/api/v1/redeem", params=link, headers=key).json())
        with redis.Redis.from_url(redis_url) as client:
            assert client.get("rr:secret") is None
    assert [(a["outcome"], a["replayed"]) for a in answers] == [("redeemed", False)] + [
        ("redeemed", True)
    ] * 9


def test_resetting_the_sandbox_makes_the_demo_forget_its_redemptions(first_run: Child) -> None:
    """After the printed reset command, a demo coupon redeems afresh instead of replaying."""
    sandbox_url = SANDBOX_URL.search(first_run.output())
    assert sandbox_url
    link = {"externalId": DEMO.unredeemed, "campaignId": DEMO.campaign_id}
    with httpx.Client(base_url=first_run.url, timeout=10.0) as till:
        first = till.post("/api/v1/redeem", params=link).json()
        assert httpx.post(f"{sandbox_url.group(1)}/_sandbox/reset").status_code == 200
        again = till.post("/api/v1/redeem", params=link).json()
    assert (first["outcome"], first["replayed"]) == ("redeemed", False)
    assert (again["outcome"], again["replayed"]) == ("redeemed", False)
    assert again["redeemedAt"] != first["redeemedAt"]


def test_with_a_redis_of_its_own_the_demo_says_how_to_forget_and_leaves_it_alone(
    redis_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The banner names FLUSHDB for a demo Redis; the reset never touches that Redis."""
    port = processes.free_port()
    child = processes.Child(
        "serve", ["serve", "--port", str(port)], port=port,
        settings={"RESOLVER_REDIS_URL": redis_url}, workdir=tmp_path, ready_path="/readyz",
    )  # fmt: skip
    watch(request, child)
    with child, redis.Redis.from_url(redis_url) as client:
        client.set("someone-elses-key", "kept")
        sandbox_url = SANDBOX_URL.search(child.output())
        assert sandbox_url
        assert httpx.post(f"{sandbox_url.group(1)}/_sandbox/reset").status_code == 200
        assert client.get("someone-elses-key") == b"kept"
        assert "FLUSHDB" in child.output()


def test_with_link_keys_the_printed_demo_links_open_their_coupons(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Signed links are required then, and the banner prints signed ones that work."""
    port = processes.free_port()
    child = processes.Child(
        "serve", ["serve", "--port", str(port)], port=port,
        settings={"RESOLVER_LINK_KEYS": "k1:a-demo-secret-of-16-chars"}, workdir=tmp_path,
        ready_path="/readyz",
    )  # fmt: skip
    watch(request, child)
    with child, httpx.Client(headers={"user-agent": BROWSER}, timeout=10.0) as browser:
        links = dict(DEMO_LINK.findall(child.output()))
        assert "sig=" in links["unredeemed"]
        assert page_state(browser.get(links["unredeemed"])) == "confirm"
        assert page_state(browser.get(links["expired"])) == "expired"
