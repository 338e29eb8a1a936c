"""Running the sandbox for real: `start_in_thread` on a free port, and stopping it."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import httpx
import pytest
from resolver_sandbox import DEMO, SandboxState
from resolver_sandbox.server import start_in_thread
from resolver_sandbox.testing import REDEEM_PATH, coupon_path, passkit_headers

if TYPE_CHECKING:
    from collections.abc import Callable

REDEEM_BODY = {"externalId": DEMO.unredeemed, "campaignId": DEMO.campaign_id}


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll `condition` (set by the server thread) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition never held")
        time.sleep(0.005)


def test_start_in_thread_serves_on_a_free_port() -> None:
    """Port 0 gets a free port; the handle's url answers PassKit calls until stopped."""
    handle = start_in_thread(port=0)
    try:
        assert handle.port > 0
        assert handle.url == f"http://127.0.0.1:{handle.port}"
        path = coupon_path(DEMO.campaign_id, DEMO.unredeemed)
        response = httpx.get(handle.url + path, headers=passkit_headers())
        assert response.status_code == 200
        assert response.json()["externalId"] == DEMO.unredeemed
    finally:
        handle.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(handle.url + "/_sandbox/stats")


def test_handle_exposes_the_state_it_serves() -> None:
    """A state passed in is the one served and the one on the handle."""
    state = SandboxState()
    with start_in_thread(state=state) as handle:
        assert handle.state is state
        httpx.post(handle.url + "/_sandbox/coupons", json={"campaignId": "c", "externalId": "e"})
        assert state.coupon_by_external_id("c", "e") is not None


def test_stop_twice_is_harmless() -> None:
    """Stopping a stopped sandbox does nothing."""
    handle = start_in_thread()
    handle.stop()
    handle.stop()


def test_hung_redeem_ends_when_the_client_times_out() -> None:
    """A client's timeout on a hung redeem ends the hold on the server, unapplied and counted."""
    with start_in_thread() as handle:
        httpx.put(handle.url + "/_sandbox/faults", json={"hang": True})
        with pytest.raises(httpx.ReadTimeout):
            httpx.put(
                handle.url + REDEEM_PATH, json=REDEEM_BODY, headers=passkit_headers(), timeout=0.2
            )
        wait_for(lambda: handle.state.faults.hung == 0)
        stats = httpx.get(handle.url + "/_sandbox/stats").json()
        (tally,) = stats["coupons"].values()
        assert (tally["count"], tally["applied"]) == (1, 0)


def test_stop_releases_a_hung_redeem() -> None:
    """Stopping while a redeem is held lets it go, so the server can shut down."""
    handle = start_in_thread()
    httpx.put(handle.url + "/_sandbox/faults", json={"hang": True})
    answers: list[int] = []

    def call() -> None:
        response = httpx.put(
            handle.url + REDEEM_PATH, json=REDEEM_BODY, headers=passkit_headers(), timeout=30
        )
        answers.append(response.status_code)

    caller = threading.Thread(target=call)
    caller.start()
    wait_for(lambda: handle.state.faults.hung == 1)
    handle.stop()
    caller.join(5)
    assert answers == [503]


def test_start_on_a_taken_port_fails() -> None:
    """Asking for a port already in use raises instead of serving nothing."""
    with start_in_thread() as handle, pytest.raises(OSError, match="in use"):
        start_in_thread(port=handle.port)
