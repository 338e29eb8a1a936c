"""Which back end serves a campaign: one deployment may serve several.

With no campaigns file, every campaign goes to the single configured provider. With one, each
listed campaign goes to its provider and account, and an unlisted campaign has no coupons here
(answered like an unknown coupon, with no upstream call) unless a default is configured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from resolver.redemption.ports import Provider


class Router:
    """Campaign id → provider."""

    def __init__(
        self, default: Provider | None, campaigns: Mapping[str, Provider] | None = None
    ) -> None:
        self._default = default
        self._campaigns = dict(campaigns or {})

    def provider(self, campaign_id: str) -> Provider | None:
        return self._campaigns.get(campaign_id, self._default)

    @property
    def providers(self) -> list[Provider]:
        """Every distinct provider, for readiness reporting."""
        seen = {id(p): p for p in [*self._campaigns.values(), self._default] if p is not None}
        return list(seen.values())

    def wrapped(self, wrap: Callable[[Provider], Provider]) -> Router:
        """The same routes, each provider replaced by `wrap(provider)` (once per provider)."""
        made: dict[int, Provider] = {}

        def once(provider: Provider) -> Provider:
            if id(provider) not in made:
                made[id(provider)] = wrap(provider)
            return made[id(provider)]

        default = once(self._default) if self._default is not None else None
        return Router(default, {campaign: once(p) for campaign, p in self._campaigns.items()})
