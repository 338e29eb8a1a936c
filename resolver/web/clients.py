"""Who the client is, for every per-client budget: the network it speaks from.

The per-IP rate limit and the staff-code lockout count tries per client. Counting single
addresses is wrong twice over: an ISP hands one IPv6 subscriber a whole /64 (2^64 addresses,
each a fresh budget), and a dual-stack socket reports an IPv4 client as `::ffff:a.b.c.d`, a
second name for the same client. So a client is named by

- its IPv4 address (IPv4-mapped IPv6 included, unwrapped first);
- its IPv6 network of `RESOLVER_CLIENT_IPV6_PREFIX` bits (64 by default), zone id dropped;
- for a peer with no IP address (a unix socket without a trusted proxy, a test client), what
  the server says it is, cut to a few dozen characters: those all share one budget per name.

The peer address is already the forwarded client when the peer is a trusted proxy, which
uvicorn's ProxyHeadersMiddleware decides from RESOLVER_FORWARDED_ALLOW_IPS.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import TYPE_CHECKING

from resolver.web.services import services

if TYPE_CHECKING:
    from starlette.requests import Request

UNKNOWN = "unknown"
# Enough for any host name a server reports; a longer one is still one client.
MAX_OTHER_NAME = 64


# Parsing an address is most of this function's cost, and busy clients come back: the names of
# the last few thousand are kept (the key is bounded by what a server reports as a host).
@lru_cache(maxsize=4096)
def network_name(host: str | None, ipv6_prefix: int) -> str:
    """The client's name for per-client budgets: an IPv4 address or an IPv6 network."""
    if not host:
        return UNKNOWN
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:MAX_OTHER_NAME]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        bare = ipaddress.IPv6Address(address.packed)  # without a zone id ("%eth0")
        return str(ipaddress.IPv6Network((bare, ipv6_prefix), strict=False))
    return str(address)


def client_network(request: Request) -> str:
    """The network this request's client speaks from (see `network_name`)."""
    host = request.client.host if request.client else None
    return network_name(host, services(request).settings.client_ipv6_prefix)
