"""Redis behind the ports: the claim store and its Lua state machine (`claims`, `scripts`), the
memory watch (`memory`), wake-ups of waiting duplicates (`notifier`), the miss budget and the
per-coupon limit (`ratelimit`), staff-code lockouts (`lockout`), shared access tokens
(`token_cache`), the audit trail (`audit`), and the one connection with its one error
translation (`redis`).
"""
