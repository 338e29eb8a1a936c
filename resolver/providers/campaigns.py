"""The campaigns file (`RESOLVER_CAMPAIGNS_FILE`): which back end and account serves a campaign.

One deployment may serve campaigns on several back ends and accounts. The file is TOML:

    default = "coffee-eu"          # optional: the account for campaigns not listed below

    [campaigns]                    # campaign id (the link's campaignId) = account name
    "summer-coffee" = "coffee-eu"
    "5fd663d1-4ed4-4800-8d5a-caea4131358a" = "paw-planet"

    [accounts.coffee-eu]
    provider = "passkit"
    api_key = "4kHq…"                              # an id, not a secret
    api_secret = { env = "PASSKIT_EU_SECRET" }     # a secret: named, never written here

    [accounts.paw-planet]
    provider = "passworks"
    username = "paw-planet"
    api_key = { file = "passworks-paw-planet" }    # a file in RESOLVER_SECRETS_DIR

(`resolver.providers.accounts` lists every provider's fields.) The file is read and validated
once, when the app is created; anything wrong stops start-up with a message naming the file
and the entry. An unlisted campaign, with no `default`, has no coupons here: it is answered
like an unknown coupon without calling any back end.
"""

from __future__ import annotations

import os
import re
import tomllib
from typing import TYPE_CHECKING, Annotated

from pydantic import Field, ValidationError, model_validator

from resolver.domain.errors import ConfigurationError
from resolver.providers.accounts import PROVIDERS, Account, Wiring
from resolver.providers.routing import Router
from resolver.validation import Strict, problems

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from resolver.redemption.ports import Provider

AccountName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,39}$")]
# What a link's campaignId may be (resolver.web.links): anything else could never match.
CAMPAIGN_ID = re.compile(r"[A-Za-z0-9._~@+\-]{1,128}")


class CampaignsFile(Strict):
    """The validated content of a campaigns file."""

    default: AccountName | None = None
    campaigns: dict[str, AccountName] = Field(default_factory=dict)
    accounts: dict[AccountName, Account]

    @model_validator(mode="after")
    def _references(self) -> CampaignsFile:
        for campaign, account in self.campaigns.items():
            if not CAMPAIGN_ID.fullmatch(campaign):
                raise ValueError(f"campaigns.{campaign}: not a campaign id a link can carry")
            if account not in self.accounts:
                raise ValueError(f"campaigns.{campaign}: no account named {account}")
        if self.default is not None and self.default not in self.accounts:
            raise ValueError(f"default: no account named {self.default}")
        if not self.campaigns and self.default is None:
            raise ValueError("lists no campaigns and no default: nothing would be served")
        return self

    def provider_name(self, account: str) -> str:
        """The provider name (and Redis key part) of an account: `<provider>:<account>`."""
        return f"{self.accounts[account].provider}:{account}"

    def describe(self) -> str:
        """A one-line summary for operators' logs (it names accounts, so it is never served)."""
        names = ", ".join(self.provider_name(name) for name in sorted(self.accounts))
        default = f", default {self.default}" if self.default else ""
        return f"campaigns file: {len(self.campaigns)} campaign(s) on {names}{default}"


def load(path: Path, environ: Mapping[str, str] | None = None) -> CampaignsFile:
    """Read, resolve and validate the campaigns file; `ConfigurationError` names what is wrong.

    Secret references are resolved from `environ` (the process environment by default) and
    from the files in its `RESOLVER_SECRETS_DIR`.
    """
    environ = os.environ if environ is None else environ
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigurationError(f"{path}: cannot be read ({error.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"{path}: not valid TOML ({error})") from None
    context = {"environ": environ, "secrets_dir": environ.get("RESOLVER_SECRETS_DIR")}
    try:
        return CampaignsFile.model_validate(data, context=context)
    except ValidationError as error:
        raise ConfigurationError(describe_error(path, error)) from None


def router(config: CampaignsFile, wiring: Wiring, *, default: Provider | None = None) -> Router:
    """The providers of every account, routed per campaign; `default` if the file has none."""
    providers = {
        name: account.build(config.provider_name(name), wiring)
        for name, account in config.accounts.items()
    }
    fallback = providers[config.default] if config.default else default
    return Router(
        fallback, {campaign: providers[name] for campaign, name in config.campaigns.items()}
    )


def describe_error(path: Path, error: ValidationError) -> str:
    """One line per problem, each naming the entry: `accounts.paw-planet.api_key: …`."""
    lines = []
    for place, message in problems(error):
        # A tagged union adds the provider's name to the location: it says nothing new.
        if len(place) > 2 and place[0] == "accounts" and place[2] in PROVIDERS:
            del place[2]
        lines.append(f"{'.'.join(place) or 'file'}: {message}")
    return f"campaigns file {path} is invalid:\n  " + "\n  ".join(lines)
