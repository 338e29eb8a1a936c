"""Redeems the active wallet-pass coupon behind a permanent pass link, exactly once."""
