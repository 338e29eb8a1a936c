"""What a till adds through the API: `redemptionCode`, `transactionReference` and
`transactionAmount` are validated, sent upstream in `redemptionDetails` and echoed back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import httpx

    from tests.support.passkit import PassKitDouble

URL = "/api/v1/redeem"
LINK = {"externalId": "member-1", "campaignId": "camp-1"}


async def test_the_till_fields_go_upstream_and_come_back(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """A JSON number amount, a reference and a code reach PassKit and the answer."""
    passkit.add("member-1")
    till = {
        "redemptionCode": "TILL-42",
        "transactionReference": "sale 8812",
        "transactionAmount": 12.5,
    }
    answer = await client.post(URL, json={**LINK, **till})
    assert answer.status_code == 200
    body = answer.json()
    assert body["redemptionCode"] == "TILL-42"
    assert body["transactionReference"] == "sale 8812"
    assert body["transactionAmount"] == 12.5
    details = passkit.redeem_bodies[0]["redemptionDetails"]
    assert details["redemptionCode"] == "TILL-42"
    assert details["transactionReference"] == "sale 8812"
    assert details["transactionAmount"] == 12.5


async def test_an_amount_may_be_a_string_or_come_in_a_form(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """ "0.99" in a urlencoded form is the amount 0.99."""
    passkit.add("member-1")
    answer = await client.post(URL, data={**LINK, "transactionAmount": "0.99"})
    assert answer.status_code == 200
    assert answer.json()["transactionAmount"] == 0.99
    assert passkit.redeem_bodies[0]["redemptionDetails"]["transactionAmount"] == 0.99


async def test_without_till_fields_nothing_extra_is_sent(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """No till fields: the answer says null and PassKit hears none of them."""
    passkit.add("member-1")
    body = (await client.post(URL, json=LINK)).json()
    assert body["transactionAmount"] is None
    assert body["transactionReference"] is None
    details = passkit.redeem_bodies[0]["redemptionDetails"]
    assert not {"redemptionCode", "transactionReference", "transactionAmount"} & set(details)


async def test_a_replay_echoes_the_till_fields_it_was_redeemed_with(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """The till's retry with the same Idempotency-Key gets the same transaction back."""
    passkit.add("member-1")
    request: dict[str, Any] = {
        "json": {**LINK, "transactionReference": "sale-1", "transactionAmount": "3"},
        "headers": {"idempotency-key": "till-1:sale-1"},
    }
    first = await client.post(URL, **request)
    again = await client.post(URL, **request)
    assert again.json()["replayed"] is True
    assert again.json()["transactionReference"] == first.json()["transactionReference"] == "sale-1"
    assert again.json()["transactionAmount"] == 3
    assert passkit.redeem_calls == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"transactionAmount": -1},
        {"transactionAmount": "1.005"},
        {"transactionAmount": "12,50"},
        {"transactionAmount": "NaN"},
        {"transactionAmount": "99999999999"},
        {"transactionAmount": True},
        {"transactionReference": "x" * 129},
        {"transactionReference": "line\nbreak"},
        {"redemptionCode": "c" * 65},
        {"redemptionCode": 1.5},
    ],
)
async def test_bad_till_fields_are_refused_before_anything_happens(
    client: httpx.AsyncClient, passkit: PassKitDouble, fields: dict[str, Any]
) -> None:
    """A negative, over-precise, exponent or unreadable amount, an over-long or unprintable
    reference or code: 400 `invalid_request`, no upstream call."""
    passkit.add("member-1")
    answer = await client.post(URL, json={**LINK, **fields})
    assert answer.status_code == 400
    assert answer.json()["outcome"] == "invalid_request"
    assert passkit.calls == 0


async def test_an_amount_in_exponent_notation_is_refused(
    client: httpx.AsyncClient, passkit: PassKitDouble
) -> None:
    """A JSON number written as 1e5 is not an amount a till writes: 400, no upstream call."""
    passkit.add("member-1")
    body = b'{"externalId": "member-1", "campaignId": "camp-1", "transactionAmount": 1e5}'
    answer = await client.post(URL, content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400
    assert passkit.calls == 0
