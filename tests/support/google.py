"""A Google service account for tests: generated once per session (RSA keys take a moment)."""

from __future__ import annotations

import functools

from resolver_sandbox.google_oauth import service_account

TEST_ACCOUNT = "resolver-test@test-project.iam.gserviceaccount.com"


@functools.cache
def _key_pair() -> tuple[str, str]:
    info, public = service_account("https://placeholder.invalid/token", TEST_ACCOUNT)
    return info["private_key"], public


def service_account_info(token_uri: str) -> dict[str, str]:
    """A key file for `TEST_ACCOUNT` whose token endpoint is `token_uri`."""
    private, _ = _key_pair()
    return {
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": "test-key-1",
        "private_key": private,
        "client_email": TEST_ACCOUNT,
        "client_id": "1",
        "token_uri": token_uri,
    }


def public_key() -> str:
    """The PEM public key that checks `service_account_info`'s signatures."""
    return _key_pair()[1]
