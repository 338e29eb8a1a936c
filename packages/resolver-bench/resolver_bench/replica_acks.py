"""What it costs a claim to wait for a replica (`WAIT 1` in the claim's round trip), with Sentinel.

    python -m resolver_bench.replica_acks [claims]

Starts the loopback Sentinel setup (a master, a replica, two Sentinels; redis-server 7), then
sends `claims` claims one after another through the service's own claim store, without and
with `replica_acks=1`, twice each, and prints latency percentiles and this process's CPU per
claim. One claim at a time on loopback: the figures isolate the cost of the acknowledgement.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import tempfile
import time
from pathlib import Path

from resolver_sandbox.redis_topologies import RedisSentinelNodes, redis7

from resolver.domain.coupons import Link
from resolver.domain.errors import StoreUnavailable
from resolver.storage import topologies
from resolver.storage.claims import RedisClaims
from resolver_bench.load import percentile

LINK = Link("bench", "member")
TOKEN, NONCE = secrets.token_hex(8), secrets.token_hex(8)
CLAIMS = 2_000


async def claims(store: RedisClaims, count: int) -> str:
    """`count` claims of fresh links; their latency and the CPU each cost this process."""
    prefix = secrets.token_hex(4)
    latencies: list[float] = []
    refused = 0
    cpu = time.process_time()
    for number in range(count):
        started = time.perf_counter()
        try:
            await store.claim(
                f"{prefix}{number}", token=TOKEN, nonce=NONCE, lease=30, hold=60, link=LINK
            )
        except StoreUnavailable:  # no acknowledgement within the timeout
            refused += 1
        latencies.append((time.perf_counter() - started) * 1000)
    spent = (time.process_time() - cpu) * 1000 / count
    latencies.sort()
    return (
        f"p50 {percentile(latencies, 50):.3f} ms · p99 {percentile(latencies, 99):.3f} ms"
        f" · max {latencies[-1]:.1f} ms · client CPU {spent:.3f} ms per claim"
        f" · {refused} refused (unacknowledged)"
    )


async def measure(url: str, count: int) -> None:
    client = topologies.connect(url, max_connections=10, timeout=5.0)
    try:
        await client.set(topologies.MEMORY, 0)
        for acks in (0, 1, 0, 1):
            store = RedisClaims(client, replica_acks=acks, ack_timeout=0.5)
            print(f"  replica_acks={acks}  {await claims(store, count)}", flush=True)
    finally:
        await client.aclose()


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else CLAIMS
    binary, why_not = redis7()
    if why_not:
        print(f"replica_acks: {why_not}", file=sys.stderr)
        return 2
    with (
        tempfile.TemporaryDirectory(prefix="resolver-bench-") as folder,
        RedisSentinelNodes(binary, Path(folder)) as nodes,
    ):
        print(f"claims one at a time through Sentinel's master ({count} each)")
        asyncio.run(measure(nodes.url, count))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
