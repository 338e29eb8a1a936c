"""The exactly-once core of the use case, through a whole app, on Sentinel and on a Cluster.

The same tests run on one server in `test_redemptions`; here they run again with the app's
Redis URL naming the other topologies, so that the wiring (Sentinel's master, the Cluster's
client, its per-slot markers and sharded wake-ups) is what they exercise.
"""

from __future__ import annotations

from tests.redemption.test_redemptions import (
    test_a_connect_error_releases_the_claim_without_reading_back,
    test_a_duplicate_that_waits_too_long_is_told_in_progress,
    test_a_form_token_redeems_once_and_then_replays_its_receipt,
    test_a_timeout_after_passkit_applied_the_redeem_ends_as_redeemed,
    test_a_timeout_the_read_back_cannot_explain_is_remembered_as_a_doubt,
    test_clean_success_is_redeemed_with_one_upstream_call,
    test_concurrent_duplicates_reach_the_upstream_once_and_one_is_told_redeemed,
    test_concurrent_repeats_of_one_request_share_its_success,
    test_when_the_read_back_fails_too_the_next_tap_reads_back_first,
)
from tests.support.topologies import redis_url_on_replicated_topologies

__all__ = [
    "redis_url_on_replicated_topologies",
    "test_a_connect_error_releases_the_claim_without_reading_back",
    "test_a_duplicate_that_waits_too_long_is_told_in_progress",
    "test_a_form_token_redeems_once_and_then_replays_its_receipt",
    "test_a_timeout_after_passkit_applied_the_redeem_ends_as_redeemed",
    "test_a_timeout_the_read_back_cannot_explain_is_remembered_as_a_doubt",
    "test_clean_success_is_redeemed_with_one_upstream_call",
    "test_concurrent_duplicates_reach_the_upstream_once_and_one_is_told_redeemed",
    "test_concurrent_repeats_of_one_request_share_its_success",
    "test_when_the_read_back_fails_too_the_next_tap_reads_back_first",
]
