"""Coupon back ends behind the use case's `Provider` port (`resolver.redemption.ports`).

Each module adapts one back end: PassKit (`passkit`, `passkit_auth`), Passworks, Skycore,
Google Wallet (`google_wallet`, `google_auth`) and a back end described by configuration
(`generic`, `http_templates`). `exchange` sends one request and classifies its failures the
same way for all of them; `transport` spreads requests over small connection pools;
`campaigns` reads the campaigns file, `accounts` builds each account's provider, and `routing`
picks the provider of a campaign. Adding a provider changes neither the use case, the store
nor the web layer.
"""
