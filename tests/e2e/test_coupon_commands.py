"""`resolver coupon show|settle|forget` against the sandbox, on a doubt left by a real
`resolver serve`: a redeem applied then failing, and the read-back after it failing too."""

from __future__ import annotations

import secrets
import subprocess
import sys
from typing import TYPE_CHECKING

from resolver_bench.processes import child_environment

from tests.e2e.taps import link, phone, redeem_json
from tests.support.metrics import seed_passing_then_failing

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from resolver_bench.processes import Child

    from tests.e2e.upstream import Upstream

CAMPAIGN = "e2e-operator"
MEMBER = "member-4417q"  # a raw id that must never reach a log line


async def test_show_settle_and_forget_a_doubt_the_read_back_could_not_settle(
    start_serve: Callable[..., Child], upstream: Upstream, redis_url: str, tmp_path: Path
) -> None:
    """show names the doubt and what the back end says; settle cannot while the back end fails,
    then settles it as redeemed; forget asks first, then drops the stored outcome."""
    await upstream.coupons(CAMPAIGN, MEMBER, 1)
    secret = secrets.token_hex(16)
    serve = start_serve(secret_key=secret)
    faults = {
        "applyThenFail": True, "errorRate": 0.5, "seed": seed_passing_then_failing(), "scope": "all"
    }  # fmt: skip
    assert (await upstream.client.put("/_sandbox/faults", json=faults)).status_code == 200
    async with phone(serve.url) as client:
        answer = await redeem_json(client, link(CAMPAIGN, f"{MEMBER}0"))
    assert answer.json()["outcome"] == "unconfirmed", answer.text
    environment = {
        "RESOLVER_UPSTREAM": "sandbox",
        "RESOLVER_PASSKIT_BASE_URL": upstream.url,
        "RESOLVER_REDIS_URL": redis_url,
        "RESOLVER_SECRET_KEY": secret,
        "RESOLVER_LOG_FORMAT": "json",
    }

    def coupon(action: str, *extra: str, typed: str = "") -> subprocess.CompletedProcess[str]:
        args = ["--campaign", CAMPAIGN, "--external", f"{MEMBER}0", *extra]
        done = subprocess.run(  # noqa: S603  # our own interpreter and arguments
            [sys.executable, "-m", "resolver", "coupon", action, *args],
            env=child_environment(environment),
            cwd=tmp_path,
            input=typed,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert MEMBER not in done.stderr, done.stderr  # the logs name the link by its hash
        assert secret not in done.stdout + done.stderr
        return done

    # The back end still failing every call: shown, but nothing can settle it.
    await upstream.client.put("/_sandbox/faults", json={"errorRate": 1.0, "scope": "all"})
    shown = coupon("show")
    assert shown.returncode == 0, shown.stderr
    assert "unknown since" in shown.stdout
    assert "receipts      0 kept" in shown.stdout  # the API keeps no receipt page
    assert "did not answer usably" in shown.stdout
    stuck = coupon("settle")
    assert stuck.returncode == 1
    assert "Cannot read the coupon back" in stuck.stdout
    # The back end answers again: it was redeemed by the attempt in doubt.
    await upstream.client.put("/_sandbox/faults", json={})
    shown = coupon("show")
    assert "back end now  already_redeemed" in shown.stdout
    settled = coupon("settle")
    assert settled.returncode == 0, settled.stdout + settled.stderr
    assert "Settled: redeemed." in settled.stdout
    assert '"event": "coupon_settle"' in settled.stderr
    shown = coupon("show")
    assert "state         done" in shown.stdout
    assert "stored result redeemed" in shown.stdout
    assert coupon("settle").stdout.startswith("Already settled")
    # Forget: refused without a yes, then done.
    kept = coupon("forget", typed="n\n")
    assert kept.returncode == 1
    assert "Nothing was changed." in kept.stdout
    gone = coupon("forget", typed="y\n")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert "Forgotten." in gone.stdout
    assert "state         none" in coupon("show").stdout
    assert "nothing to forget" in coupon("forget", "--yes").stdout
