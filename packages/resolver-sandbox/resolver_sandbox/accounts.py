"""The zero-config demo's accounts: one per simulated back end, each serving its demo campaign.

In sandbox mode (no credentials, no campaigns file) the service routes `demo-campaign` and any
other campaign to the simulated PassKit, as it always did, and each other back end's demo
campaign to its simulation on the same sandbox server. The accounts are written exactly as a
campaigns file would hold them (secrets by reference, resolved from a private environment),
so the demo exercises the same path as a production file. The Google service account is
generated per process: the sandbox checks its assertions' claims, not their signature.
"""

from __future__ import annotations

import json
from typing import Any

from resolver.providers.campaigns import CampaignsFile
from resolver_sandbox import (
    badge_api,
    google_oauth,
    google_wallet_api,
    inhouse_api,
    passworks_api,
    skycore_api,
)
from resolver_sandbox.demo import DEMO


def demo_accounts(sandbox_url: str) -> CampaignsFile:
    """Every simulated back end's demo account and campaign, at the sandbox at `sandbox_url`."""
    key_file, _ = google_oauth.service_account(sandbox_url + google_oauth.TOKEN_PATH)
    environ = {
        "SANDBOX_PASSWORKS_KEY": passworks_api.API_KEY,
        "SANDBOX_SKYCORE_KEY": skycore_api.API_KEY,
        "SANDBOX_GOOGLE_KEY_FILE": json.dumps(key_file),
        "SANDBOX_INHOUSE_TOKEN": inhouse_api.TOKEN,
        "SANDBOX_BADGE_KEY": badge_api.BADGE_KEY,
    }
    return CampaignsFile.model_validate(
        {
            "campaigns": {
                DEMO.passworks_campaign: "sandbox-passworks",
                DEMO.skycore_template: "sandbox-skycore",
                DEMO.google_class: "sandbox-google",
                DEMO.inhouse_campaign: "sandbox-inhouse",
                DEMO.badge_template: "sandbox-badge",
            },
            "accounts": accounts(sandbox_url),
        },
        context={"environ": environ, "secrets_dir": None},
    )


def accounts(url: str) -> dict[str, Any]:
    """The demo accounts as a campaigns file's `[accounts]` tables would hold them."""
    return {
        "sandbox-passworks": {
            "provider": "passworks",
            "base_url": url + "/passworks",
            "username": passworks_api.USERNAME,
            "api_key": {"env": "SANDBOX_PASSWORKS_KEY"},
        },
        "sandbox-skycore": {
            "provider": "skycore",
            "endpoint": url + skycore_api.ENDPOINT,
            "api_key": {"env": "SANDBOX_SKYCORE_KEY"},
        },
        "sandbox-google": {
            "provider": "google_wallet",
            "issuer_id": google_wallet_api.ISSUER_ID,
            "service_account": {"env": "SANDBOX_GOOGLE_KEY_FILE"},
            "base_url": url + google_wallet_api.BASE,
        },
        "sandbox-inhouse": inhouse(url),
        "sandbox-badge": badge(url),
    }


def inhouse(url: str) -> dict[str, Any]:
    """An in-house API: templates, a success rule, a status map and a read-back mapping."""
    return {
        "provider": "http",
        "base_url": url + "/generic/inhouse",
        "secret_headers": {"Authorization": {"env": "SANDBOX_INHOUSE_TOKEN", "prefix": "Bearer "}},
        "redeem": {
            "method": "POST",
            "path": "/coupons/{campaign_id}/{external_id}/redeem",
            "body": {"source": "{source}", "reference": "{reference}"},
            "success": {"status": [200], "json_path": "status", "json_equals": "redeemed"},
            "outcomes": {404: "no_active_coupon", 409: "already_redeemed", 410: "expired"},
        },
        "lookup": {
            "path": "/coupons/{campaign_id}/{external_id}",
            "status_path": "status",
            "redeemed": ["redeemed"],
            "void": ["void"],
            "expired": ["expired"],
            "expires_at_path": "expiresAt",
            "redeemed_at_path": "redeemedAt",
        },
        "offer": {"title": "Free cinema ticket", "details": "One 2D screening, any day."},
    }


def badge(url: str) -> dict[str, Any]:
    """Badge: no redeem call and no read, so an idempotent upsert of a visible attribute."""
    return {
        "provider": "http",
        "base_url": url + "/generic/badge",
        "secret_headers": {"Authorization": {"env": "SANDBOX_BADGE_KEY", "prefix": "Bearer "}},
        "redeem": {
            "method": "POST",
            "path": "/v0/userPassUpsert",
            "body": {
                "user": {"id": "{external_id}"},
                "passTemplateId": "{campaign_id}",
                "pass": {"id": "{external_id}", "attributes": {"redeemed": "Redeemed {now}"}},
            },
            "success": {"status": [200]},
        },
        "offer": {"title": "Free drink", "details": "Any soft drink with your meal."},
    }
