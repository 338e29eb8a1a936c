"""The Lua scripts behind the per-coupon state machine; each transition is one of them.

Every key one script touches shares the coupon link's Redis Cluster hash tag `{h}`, except the
memory marker, which `resolver.storage.topologies` names so that it lives in the same slot
(one marker per slot in a Cluster). The state hash
`rr:{h}` moves through

    (none) --claim--> claimed --settle(done)----> done --expires--> (none)
                         |----settle(release)--> (none)      never sent: safe to try again
                         |----settle(unknown)--> unknown     may have been applied: read back
                         '----lease runs out---> (the next claim reads back first)
    unknown, or a claim whose lease ran out --resolve--> done   a read-back settled the doubt

Fields: s state, t claim token, l lease end (ms), a since (ms: when the attempt, or the first
attempt of a doubt, began), n nonce (names the attempt's receipt), k the link, i who asked (a
keyed hash of the request's identity), r the result (JSON), c the coupon id of the result, w
set while another request waits for the attempt to end.

Each transition is guarded by the claim token (or, for `resolve`, by the attempt's nonce and an
expired lease), so a worker whose lease ran out can never overwrite a newer owner.

The memory marker (`rr:m`, in a Cluster one per slot) holds the time from which this Redis
remembers everything the service wrote (0: always). When it is missing, Redis lost its data (a
restart with an empty dataset, a flush): the first script to notice sets it to now. Claims then
wait out the longest lease, since an attempt that another process began before the loss may
still be applied, and for a window after that read the coupon back before redeeming it.
"""

from __future__ import annotations

PRELUDE = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- Since when Redis remembers everything: set to now when the marker has gone missing.
local function memory(marker, now)
  local since = redis.call('GET', marker)
  if not since then
    redis.call('SET', marker, now)
    return now
  end
  return tonumber(since)
end
-- A fixed-window counter per coupon link; returns the ms to wait when over the limit.
local function over_limit(counter, limit, window)
  if tonumber(limit) <= 0 then return false end
  local n = redis.call('INCR', counter)
  if redis.call('PTTL', counter) < 0 then redis.call('PEXPIRE', counter, window) end
  if n > tonumber(limit) then return redis.call('PTTL', counter) end
  return false
end
-- Wakes the waiters of a link: on `channel`, or ('' in a Cluster) on the link's own sharded
-- channel, named like its state hash so that it lives in the same slot. A claim that finds the
-- link busy marks the state hash (`w`), and a settle announces itself only then: on a busy
-- day most coupons are tapped once, and a notice nobody waits for costs every worker of every
-- replica a message to read.
local function announce(channel, state)
  if channel == '' then redis.call('SPUBLISH', state, state)
  else redis.call('PUBLISH', channel, state) end
end
-- Appends the audit trail's entry when the caller passes the stream (outside a Cluster, where
-- it may live in another slot): ARGV[first] is the oldest id kept, the rest field/value pairs.
-- Returns what a settle adds to its answer: 0, or AUDIT_FAILED when the append failed, which
-- fails nothing else (the member's answer matters more than its record).
local function audit(stream, first)
  if not stream then return 0 end
  local added = redis.pcall('XADD', stream, 'MINID', '~', ARGV[first], '*', unpack(ARGV, first + 1))
  if type(added) == 'table' and added.err then return 10 end
  return 0
end
"""
# Added to a settling script's answer when its audit entry could not be appended.
AUDIT_FAILED = 10

CLAIM = (
    PRELUDE
    + """
-- KEYS[1] the state hash, KEYS[2] its request counter, KEYS[3] the memory marker,
-- KEYS[4] (optional) the confirm form's one-time token
-- ARGV[1] claim token, [2] lease ms, [3] nonce, [4] hold ms, [5] expected coupon id ('' any),
-- [6] limit, [7] window ms, [8] count this request (1/0), [9] who asks, [10] quarantine ms,
-- [11] forgetful ms, [12] the link
local now = now_ms()
local expected, fresh, form = ARGV[5], true, nil
if #KEYS > 3 then
  form = redis.call('GET', KEYS[4])
  if not form then return {'bad_token'} end
  if string.sub(form, 1, 2) == 'u:' then fresh = false; form = string.sub(form, 3) end
  expected = string.match(form, '^[^ ]*')
end
local function use_form()
  if form and fresh then redis.call('SET', KEYS[4], 'u:' .. form, 'KEEPTTL') end
end
local function take(kind, since)
  use_form()
  redis.call('HSET', KEYS[1], 's', 'claimed', 't', ARGV[1], 'l', now + tonumber(ARGV[2]),
             'a', since, 'n', ARGV[3], 'k', ARGV[12], 'i', ARGV[9])
  redis.call('HDEL', KEYS[1], 'r', 'c', 'w')
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {kind, ARGV[3], tostring(since), form or ''}
end
local st = redis.call('HMGET', KEYS[1], 's', 'l', 'a', 'n', 'r', 'c', 'i')
-- A settled result is answered before any limit; one about an older coupon (the link's coupon
-- was reissued since) does not count.
local mine = (ARGV[9] ~= '' and st[7] == ARGV[9]) and '1' or '0'
if st[1] == 'done' and (expected == '' or st[6] == expected) then
  use_form()
  return {'done', st[4], st[5], form or '', mine}
end
if ARGV[8] == '1' then
  local wait = over_limit(KEYS[2], ARGV[6], ARGV[7])
  if wait then return {'limited', tostring(wait)} end
end
if st[1] == 'claimed' and tonumber(st[2]) > now then
  redis.call('HSET', KEYS[1], 'w', 1)  -- someone waits: the settle must announce itself
  return {'busy', st[4], tostring(tonumber(st[2]) - now), form or '', mine}
end
if not fresh then return {'used_token'} end
local since = memory(KEYS[3], now)
if now < since + tonumber(ARGV[10]) then
  return {'quarantine', tostring(since + tonumber(ARGV[10]) - now)}
end
-- The owner's lease ran out mid-call, or an earlier attempt ended in doubt: read back first.
if st[1] == 'claimed' or st[1] == 'unknown' then
  return take('reconcile', tonumber(st[3]) or now)
end
if now < since + tonumber(ARGV[11]) then return take('forgotten', now) end
return take('claimed', now)
"""
)

SETTLE = (
    PRELUDE
    + """
-- KEYS[1] the state hash, KEYS[2] this attempt's receipt, KEYS[3] the request counter,
-- KEYS[4] (optional) the audit stream
-- ARGV[1] claim token, [2] mode (done | unknown | release), [3] result, [4] coupon id,
-- [5] state ttl ms, [6] receipt ttl ms (0: no receipt page will ask), [7] channel ('': sharded),
-- [8] nonce, [9] since ms, [10] the link, [11] who asked, [12…] the audit entry
local failed = audit(KEYS[4], 12)
local held = redis.call('HMGET', KEYS[1], 't', 'w')
local owner, waited = held[1], held[2]
if owner and owner ~= ARGV[1] then return failed end
if tonumber(ARGV[6]) > 0 then redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[6]) end
if not owner then
  -- Redis forgot the claim while the upstream was answering: record what we know, so the next
  -- tap finds it rather than redeeming again.
  if ARGV[2] == 'release' then return 2 + failed end
  redis.call('HSET', KEYS[1], 's', ARGV[2], 't', ARGV[1], 'l', 0, 'a', ARGV[9], 'n', ARGV[8],
             'k', ARGV[10], 'i', ARGV[11])
  if ARGV[2] == 'done' then redis.call('HSET', KEYS[1], 'r', ARGV[3], 'c', ARGV[4]) end
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  announce(ARGV[7], KEYS[1])
  return 2 + failed
end
if ARGV[2] == 'done' then
  redis.call('HSET', KEYS[1], 's', 'done', 'r', ARGV[3], 'c', ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
elseif ARGV[2] == 'unknown' then
  redis.call('HSET', KEYS[1], 's', 'unknown')
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
else
  redis.call('DEL', KEYS[1])
  -- An attempt that never reached the upstream was no request to it: the member may retry.
  if tonumber(redis.call('GET', KEYS[3]) or '0') > 0 then redis.call('DECR', KEYS[3]) end
end
if waited then announce(ARGV[7], KEYS[1]) end
return 1 + failed
"""
)

RENEW = (
    PRELUDE
    + """
-- KEYS[1] the state hash; ARGV[1] claim token, [2] lease ms
-- Before sending a redeem after a read-back, the owner proves it still holds the claim.
if redis.call('HGET', KEYS[1], 't') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'l', now_ms() + tonumber(ARGV[2]))
return 1
"""
)

RESOLVE = (
    PRELUDE
    + """
-- KEYS[1] the state hash, KEYS[2] the attempt's receipt, KEYS[3] (optional) the audit stream
-- ARGV[1] nonce, [2] mode (done | unknown), [3] result, [4] coupon id, [5] state ttl ms,
-- [6] receipt ttl ms, [7] channel, [8…] the audit entry
-- Settles a doubt (or a claim whose owner is gone) from a read-back made outside any claim.
local failed = audit(KEYS[3], 8)
local st = redis.call('HMGET', KEYS[1], 's', 'l', 'n', 'w')
local doubt = st[1] == 'unknown' or (st[1] == 'claimed' and tonumber(st[2]) <= now_ms())
if not doubt or st[3] ~= ARGV[1] then return failed end
if ARGV[2] == 'done' then
  redis.call('HSET', KEYS[1], 's', 'done', 'r', ARGV[3], 'c', ARGV[4])
  if tonumber(ARGV[6]) > 0 then redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[6]) end
else
  redis.call('HSET', KEYS[1], 's', 'unknown')
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if st[4] then announce(ARGV[7], KEYS[1]) end
return 1 + failed
"""
)

PEEK = (
    PRELUDE
    + """
-- KEYS[1] the state hash, KEYS[2] its request counter, KEYS[3] the memory marker
-- ARGV[1] limit, [2] window ms
-- What a preview needs to know besides the upstream: the request counted, and what Redis holds.
local now = now_ms()
local wait = over_limit(KEYS[2], ARGV[1], ARGV[2])
if wait then return {'limited', tostring(wait)} end
memory(KEYS[3], now)
local st = redis.call('HMGET', KEYS[1], 's', 'l', 'a', 'n', 'r', 'c')
if not st[1] then return {'none'} end
local left = tonumber(st[2] or '0') - now
return {st[1], st[4] or '', st[3] or '', st[5] or '', st[6] or '', tostring(left)}
"""
)

ATTEMPT = (
    PRELUDE
    + """
-- KEYS[1] the state hash, KEYS[2] the attempt's receipt; ARGV[1] the attempt's nonce
-- One attempt as its receipt page sees it.
local kept = redis.call('GET', KEYS[2])
local st = redis.call('HMGET', KEYS[1], 's', 'l', 'a', 'n', 'r', 'k')
if kept then return {'done', kept} end
if st[4] ~= ARGV[1] then return {'gone'} end
if st[1] == 'done' then return {'done', st[5]} end
if st[1] == 'claimed' and tonumber(st[2]) > now_ms() then
  return {'in_flight', tostring(tonumber(st[2]) - now_ms()), st[6] or ''}
end
return {'doubt', st[3] or '', st[6] or ''}
"""
)

UNCLAIM = """
-- KEYS[1] the state hash, KEYS[2] its request counter, KEYS[3] (optional) the confirm form's
-- token; ARGV[1] claim token, [2] kind of claim
-- Gives back a claim no replica acknowledged (it might not survive a failover): a fresh one is
-- released with its count, one that took over a doubt leaves the doubt for the next tap, and
-- the form may be sent again.
if redis.call('HGET', KEYS[1], 't') ~= ARGV[1] then return 0 end
if #KEYS > 2 then
  local form = redis.call('GET', KEYS[3])
  if form and string.sub(form, 1, 2) == 'u:' then
    redis.call('SET', KEYS[3], string.sub(form, 3), 'KEEPTTL')
  end
end
if ARGV[2] == 'claimed' then
  redis.call('DEL', KEYS[1])
  if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
else
  redis.call('HSET', KEYS[1], 's', 'unknown', 'l', 0)
end
return 1
"""

# Marks Redis as having lost its memory now (a server that restarted or failed over).
FORGOT = (
    PRELUDE
    + """
local now = now_ms()
local since = tonumber(redis.call('GET', KEYS[1]) or '0')
if now > since then redis.call('SET', KEYS[1], now) end
return now
"""
)
