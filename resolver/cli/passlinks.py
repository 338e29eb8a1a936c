"""Tooling for issuers: the link to paste into the pass design, one member's link, or a CSV.

Without signing keys the pass design's link is one template for every member
(`…externalId=${pid}&campaignId=C`). With keys, each member's link carries its own signature, so
the signature must live on the pass: add a column to the members CSV exported from PassKit
(`resolver link --csv`), import it back as a member field, and reference that field in the link
template (`--sig-field`, e.g. `${meta.resolverSig}`).
"""

from __future__ import annotations

import csv
from typing import IO, TYPE_CHECKING
from urllib.parse import urlencode

from resolver.domain.coupons import Link
from resolver.domain.errors import InvalidLink
from resolver.domain.ids import valid_id
from resolver.domain.signing import sign

if TYPE_CHECKING:
    from resolver.domain.signing import LinkKey

PID = "${pid}"
ID_COLUMNS = ("passId", "pass_id", "Pass ID", "id", "ID", "memberId", "Member ID", "pid")


def link(base_url: str, link: Link, keys: tuple[LinkKey, ...]) -> str:
    """One member's permanent link, signed with the newest key when keys are configured."""
    query = {"externalId": link.external_id, "campaignId": link.campaign_id}
    if keys:
        query |= sign(keys[0], link)
    return f"{base_url.rstrip('/')}/redeem?{urlencode(query)}"


def template(base_url: str, campaign_id: str, keys: tuple[LinkKey, ...], sig_field: str) -> str:
    """The value of the pass design's link field; PassKit fills in `${pid}` per pass."""
    query = f"externalId={PID}&campaignId={campaign_id}"
    if keys:
        query += f"&kid={keys[0].kid}&sig={sig_field}"
    return f"{base_url.rstrip('/')}/redeem?{query}"


def sign_csv(
    source: IO[str],
    target: IO[str],
    *,
    base_url: str,
    campaign_id: str,
    keys: tuple[LinkKey, ...],
    id_column: str | None = None,
) -> int:
    """Copy a members CSV, adding `resolverSig` and `resolverLink` columns; returns the rows.

    The member's pass id becomes the coupon's externalId (the permanent-link scheme).
    """
    reader = csv.DictReader(source)
    columns = list(reader.fieldnames or [])
    column = id_column or next((name for name in ID_COLUMNS if name in columns), None)
    if column is None or column not in columns:
        raise ValueError(f"no pass id column (tried {', '.join(ID_COLUMNS)}); use --id-column")
    writer = csv.DictWriter(target, [*columns, "resolverSig", "resolverLink"])
    writer.writeheader()
    rows = 0
    for number, row in enumerate(reader, start=2):
        try:
            member = Link(valid_id("campaignId", campaign_id), valid_id(column, row[column]))
        except InvalidLink as error:
            raise ValueError(f"line {number}: {error.detail}") from error
        row["resolverSig"] = sign(keys[0], member)["sig"] if keys else ""
        row["resolverLink"] = link(base_url, member, keys)
        writer.writerow(row)
        rows += 1
    return rows
