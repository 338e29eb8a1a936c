"""Deliveries that failed and wait for their next try, and the dead letters after the last.

A stream's pending list cannot hold one event for hours on one endpoint's schedule while the
others are done, so each failed (event, endpoint) pair waits here: a sorted set scored by when
it is due. A deliverer takes due pairs by moving their score past a lease (one Lua script, so
two replicas never take the same pair at once); a deliverer that dies mid-try leaves the pair
to come due again when the lease ends. Both keys share one hash tag, so one MULTI moves a pair
from one to the other on Redis Cluster too.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, cast

from resolver.storage.redis import call

if TYPE_CHECKING:
    from resolver.storage.topologies import Client

RETRIES = "rr:{events}:retry"
DEAD = "rr:{events}:dead"
DEAD_KEPT = 10_000  # dead letters beyond this many are dropped, oldest first
TAKE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', tonumber(ARGV[1]) + tonumber(ARGV[2]), member)
end
return due
"""


@dataclass(frozen=True, slots=True)
class Pending:
    """An event (by its audit entry) still to deliver to one endpoint, after `tries` tries."""

    endpoint: str
    entry: str
    tries: int = 0

    def member(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def parse(cls, member: str) -> Pending:
        data = json.loads(member)
        return cls(str(data["endpoint"]), str(data["entry"]), int(data["tries"]))


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An event an endpoint never accepted, after every try of the schedule."""

    endpoint: str
    entry: str
    tries: int
    problem: str
    at: int  # ms since the epoch of the last try

    def text(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def parse(cls, text: str) -> DeadLetter:
        data = json.loads(text)
        return cls(
            str(data["endpoint"]),
            str(data["entry"]),
            int(data["tries"]),
            str(data["problem"]),
            int(data["at"]),
        )


class Retries:
    """The waiting deliveries and the dead letters, on Redis."""

    def __init__(self, redis: Client, schedule: tuple[float, ...]) -> None:
        self.redis = redis
        self.schedule = schedule  # seconds before each retry; its length is the retries allowed
        self._take = redis.register_script(TAKE)

    async def take(self, now_ms: int, lease_ms: int, count: int) -> list[Pending]:
        """Due deliveries, leased to the caller for `lease_ms`."""
        members = cast(
            "list[str]", await call(self._take(keys=[RETRIES], args=[now_ms, lease_ms, count]))
        )
        return [Pending.parse(member) for member in members]

    async def failed(
        self, pending: Pending | None, nxt: Pending, now_ms: int, problem: str
    ) -> None:
        """`nxt` (the pair after one more failed try) waits for its next try, or becomes a dead
        letter when the schedule is spent; `pending` (the pair as it waited) is removed."""
        pipe = self.redis.pipeline(transaction=True)
        if pending is not None:
            pipe.zrem(RETRIES, pending.member())
        if nxt.tries > len(self.schedule):
            dead = DeadLetter(nxt.endpoint, nxt.entry, nxt.tries, problem, now_ms)
            pipe.lpush(DEAD, dead.text())
            pipe.ltrim(DEAD, 0, DEAD_KEPT - 1)
        else:
            due = now_ms + int(self.schedule[nxt.tries - 1] * 1000)
            pipe.zadd(RETRIES, {nxt.member(): due})
        await call(pipe.execute())

    async def done(self, pending: Pending) -> None:
        await call(self.redis.zrem(RETRIES, pending.member()))

    async def add(self, pairs: list[Pending], due_ms: int) -> None:
        """Deliveries to try when due (a replay's, which start their schedule anew)."""
        if pairs:
            await call(self.redis.zadd(RETRIES, {pair.member(): due_ms for pair in pairs}))

    async def dead_letters(self) -> list[DeadLetter]:
        texts = cast("list[str]", await call(self.redis.lrange(DEAD, 0, -1)))
        return [DeadLetter.parse(text) for text in texts]

    async def revive(self, letter: DeadLetter, due_ms: int) -> None:
        """Move one dead letter back to the waiting deliveries, its schedule anew."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.lrem(DEAD, 1, letter.text())
        pipe.zadd(RETRIES, {Pending(letter.endpoint, letter.entry).member(): due_ms})
        await call(pipe.execute())

    async def waiting(self) -> int:
        return int(await call(self.redis.zcard(RETRIES)))
