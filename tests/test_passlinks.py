"""Issuer tooling: the pass design template, one member's link, a signed members CSV."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from resolver.cli.passlinks import link, sign_csv, template
from resolver.domain.coupons import Link
from resolver.domain.signing import LinkKey, verify

KEY = LinkKey("k1", b"issuer-secret-0123456789")
EXPORT = """passId,firstName,lastName,emailAddress
3VxGhpD6KdYxQeQPkjqu9u,Ada,Lovelace,ada@example.com
1zWq0oPrst5uVwXyZaBcDe,Grace,Hopper,grace@example.com
"""


def test_the_template_lets_passkit_fill_in_the_pass_id() -> None:
    """Unsigned: one template for all passes; signed: it also names the signature field."""
    assert template("https://c.example.com/", "camp-1", (), "${meta.s}") == (
        "https://c.example.com/redeem?externalId=${pid}&campaignId=camp-1"
    )
    assert template("https://c.example.com", "camp-1", (KEY,), "${meta.s}").endswith(
        "&kid=k1&sig=${meta.s}"
    )


def test_a_member_link_is_signed_and_verifies() -> None:
    """The printed link carries kid and sig for that member."""
    url = link("https://c.example.com", Link("camp-1", "member-1"), (KEY,))
    assert url.startswith("https://c.example.com/redeem?externalId=member-1&campaignId=camp-1")
    sig = url.rsplit("sig=", 1)[1]
    assert verify((KEY,), Link("camp-1", "member-1"), "k1", sig)


def test_a_members_csv_gets_a_signature_and_a_link_per_member() -> None:
    """Every column is kept; resolverSig and resolverLink are added per row."""
    target = io.StringIO()
    rows = sign_csv(
        io.StringIO(EXPORT), target, base_url="https://c.example.com", campaign_id="camp-1",
        keys=(KEY,),
    )  # fmt: skip
    assert rows == 2
    signed = list(csv.DictReader(io.StringIO(target.getvalue())))
    assert [row["firstName"] for row in signed] == ["Ada", "Grace"]
    for row in signed:
        member = Link("camp-1", row["passId"])
        assert verify((KEY,), member, "k1", row["resolverSig"])
        assert row["resolverLink"].endswith(f"&sig={row['resolverSig']}")


def test_a_csv_without_a_pass_id_column_or_with_a_bad_id_is_refused() -> None:
    """The command says which column or which line is wrong."""
    with pytest.raises(ValueError, match="--id-column"):
        sign_csv(io.StringIO("name\nx\n"), io.StringIO(), base_url="u", campaign_id="c", keys=())
    with pytest.raises(ValueError, match="line 3"):
        sign_csv(
            io.StringIO("passId\nok\nnot ok\n"), io.StringIO(), base_url="u", campaign_id="c",
            keys=(),
        )  # fmt: skip


def test_the_link_command_signs_a_csv_file(tmp_path: Path) -> None:
    """`resolver link --csv members.csv --output signed.csv` end to end."""
    (tmp_path / "members.csv").write_text(EXPORT)
    done = subprocess.run(  # noqa: S603  # a fixed argv
        [
            sys.executable, "-m", "resolver", "link", "--campaign", "camp-1",
            "--base-url", "https://c.example.com", "--csv", str(tmp_path / "members.csv"),
            "--output", str(tmp_path / "signed.csv"),
        ],
        env={"RESOLVER_LINK_KEYS": "k1:issuer-secret-0123456789", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, check=True, cwd=tmp_path,
    )  # fmt: skip
    assert "signed 2 members" in done.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "signed.csv").read_text())))
    assert verify((KEY,), Link("camp-1", rows[0]["passId"]), "k1", rows[0]["resolverSig"])
