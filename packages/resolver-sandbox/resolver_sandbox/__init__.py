"""Simulators of every back end, for the demo, end-to-end tests and load benchmarks.

`create_sandbox_app()` serves the endpoints the resolver calls, with the same paths, JSON and
errors as PassKit, Passworks, Skycore, Google Wallet (and its OAuth endpoint), an in-house API,
Badge and a Make webhook, over one in-memory `SandboxState`; `/_sandbox/` is its admin API for
making coupons, reading call statistics and injecting faults, shared by all of them.
"""

from __future__ import annotations

from resolver_sandbox.app import create_sandbox_app, sandbox_state
from resolver_sandbox.auth import DEFAULT_API_KEY, DEFAULT_API_SECRET
from resolver_sandbox.demo import DEMO, DemoIds
from resolver_sandbox.demo_offers import OFFERS, DemoOffers
from resolver_sandbox.state import SandboxState

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "DEMO",
    "OFFERS",
    "DemoIds",
    "DemoOffers",
    "SandboxState",
    "create_sandbox_app",
    "sandbox_state",
]
