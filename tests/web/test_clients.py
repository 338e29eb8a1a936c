"""A client for per-client budgets is its network: an IPv4 address or an IPv6 prefix."""

from __future__ import annotations

import pytest

from resolver.web.clients import MAX_OTHER_NAME, network_name


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("::1", "::/64"),
    ],
)
def test_an_address_is_named_by_its_network(host: str, name: str) -> None:
    """IPv4 by address, IPv4-mapped as IPv4, IPv6 by its /64 whatever its spelling or zone."""
    assert network_name(host, 64) == name


def test_the_ipv6_prefix_length_is_the_callers() -> None:
    """/48 joins a site's subnets; /128 counts single addresses again."""
    assert network_name("2001:db8:1:2::1", 48) == "2001:db8:1::/48"
    assert network_name("2001:db8:1:2::1", 128) == "2001:db8:1:2::1/128"


def test_a_peer_without_an_ip_address_is_named_by_what_the_server_says() -> None:
    """A unix socket has no peer (all such clients share "unknown"); a name is kept, cut short."""
    assert network_name(None, 64) == "unknown"
    assert network_name("", 64) == "unknown"
    assert network_name("testclient", 64) == "testclient"
    assert network_name("x" * 10_000, 64) == "x" * MAX_OTHER_NAME
