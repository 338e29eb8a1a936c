"""A PassKit-compatible simulator for the demo, end-to-end tests and load benchmarks.

`create_sandbox_app()` serves the single-use coupon endpoints the resolver calls, with the
same paths, JSON and errors as PassKit, over an in-memory `SandboxState`; `/_sandbox/` is its
admin API for making coupons, reading call statistics and injecting faults.
"""

from __future__ import annotations

from resolver.sandbox.app import create_sandbox_app, sandbox_state
from resolver.sandbox.auth import DEFAULT_API_KEY, DEFAULT_API_SECRET
from resolver.sandbox.demo import DEMO, DemoIds
from resolver.sandbox.state import SandboxState

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_API_SECRET",
    "DEMO",
    "DemoIds",
    "SandboxState",
    "create_sandbox_app",
    "sandbox_state",
]
