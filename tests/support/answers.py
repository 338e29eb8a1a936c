"""The JSON API's contract as tests check it: every field each answer carries."""

FIELDS = {
    "outcome",
    "campaignId",
    "externalId",
    "couponId",
    "redeemedAt",
    "replayed",
    "detail",
    "verifiedBy",
    "triesLeft",
    "reference",
    "upstreamConfirmed",
    "redeemedHere",
    "redemptionCode",
    "transactionReference",
    "transactionAmount",
}
