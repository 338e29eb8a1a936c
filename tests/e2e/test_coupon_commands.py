"""`resolver coupon show|settle|forget` against the sandbox, on a doubt left by a real
`resolver serve`: a redeem applied then failing, and the read-back after it failing too.

The commands run in this process (in a thread, as each runs its own event loop), reading their
settings from the environment as they would from a shell.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from resolver.cli import main
from tests.e2e.taps import link, phone, redeem_json
from tests.support.metrics import seed_passing_then_failing

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from resolver_bench.processes import Child

    from tests.e2e.upstream import Upstream

CAMPAIGN = "e2e-operator"
MEMBER = "member-4417q"  # a raw id that must never reach a log line


@dataclass(frozen=True, slots=True)
class Ran:
    status: int
    out: str
    err: str


async def test_show_settle_and_forget_a_doubt_the_read_back_could_not_settle(
    start_serve: Callable[..., Child],
    upstream: Upstream,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
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
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name, value in {
        "RESOLVER_UPSTREAM": "sandbox",
        "RESOLVER_PASSKIT_BASE_URL": upstream.url,
        "RESOLVER_REDIS_URL": redis_url,
        "RESOLVER_SECRET_KEY": secret,
        "RESOLVER_LOG_FORMAT": "json",
    }.items():
        monkeypatch.setenv(name, value)
    typed = ["n", "y"]  # the answers to forget's two prompts below
    monkeypatch.setattr("builtins.input", lambda prompt="": typed.pop(0))

    def run(action: str, *extra: str) -> int:
        with pytest.raises(SystemExit) as done:
            main(["coupon", action, "--campaign", CAMPAIGN, "--external", f"{MEMBER}0", *extra])
        return int(done.value.code or 0)

    async def coupon(action: str, *extra: str) -> Ran:
        status = await asyncio.to_thread(run, action, *extra)
        out, err = capsys.readouterr()
        assert MEMBER not in err, err  # the logs name the link by its keyed hash
        assert secret not in out + err
        return Ran(status, out, err)

    # The back end still failing every call: shown, but nothing can settle it.
    await upstream.client.put("/_sandbox/faults", json={"errorRate": 1.0, "scope": "all"})
    shown = await coupon("show")
    assert shown.status == 0, shown.err
    assert f"externalId={MEMBER}0" in shown.out  # the operator's own input, on the terminal
    assert "unknown since" in shown.out
    assert "receipts      0 kept" in shown.out  # the API keeps no receipt page
    assert "did not answer usably" in shown.out
    stuck = await coupon("settle")
    assert stuck.status == 1
    assert "Cannot read the coupon back" in stuck.out
    # The back end answers again: it was redeemed by the attempt in doubt.
    await upstream.client.put("/_sandbox/faults", json={})
    settled = await coupon("settle")
    assert settled.status == 0, settled.out + settled.err
    assert "Settled: redeemed." in settled.out
    assert "coupon_settle" in events(settled.err)
    shown = await coupon("show")
    assert "state         done" in shown.out
    assert "stored result redeemed" in shown.out
    assert "back end now  already_redeemed" in shown.out
    assert (await coupon("settle")).out.startswith("Already settled")
    # Forget: refused without a yes, then done.
    kept = await coupon("forget")
    assert kept.status == 1
    assert "Nothing was changed." in kept.out
    gone = await coupon("forget")
    assert gone.status == 0, gone.out + gone.err
    assert "Forgotten." in gone.out
    assert "coupon_forget" in events(gone.err)
    assert "state         none" in (await coupon("show")).out
    assert "nothing to forget" in (await coupon("forget", "--yes")).out


def events(lines: str) -> list[str]:
    """The events of the JSON log lines in `lines` (an operator's audit of the command)."""
    return [json.loads(line)["event"] for line in lines.splitlines() if line.startswith("{")]
