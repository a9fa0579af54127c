-- Shared by every task script (prepended to it). All keys of one queue share its hash tag,
-- and every script gets the same eleven, declared in KEYS:
-- KEYS[1] scheduled (task IDs by due ms: delayed tasks and retries), KEYS[2] running (by
-- visibility deadline ms), KEYS[3] dead (by burial ms), KEYS[4] wake-up list, KEYS[5] records
-- (hash: '<id>|<field>'), KEYS[6] ready by priority (lex zset 'group|prio|seq|id'),
-- KEYS[7] ready by age (lex zset 'group|seq|id'), KEYS[8] ring (groups with ready tasks, by
-- turn), KEYS[9] meta (hash: seq, rr, 'run|<g>' running count, 'pk|<g>' parked at its cap,
-- 'n|<g>' claims, 'rate|<g>' pace 'interval ms,burst' ('rate|*' every group's default),
-- 'tat|<g>' the group's paced time, 'hold|<g>' paused until ms, 'pacing' once
-- any of these was set, 'layout' keeping it a hash table), KEYS[10] expiry (finished
-- task IDs by record expiry ms), KEYS[11] paced (groups held out of the ring by their rate
-- or a pause, by the ms they may start a task again).
-- ARGV[1] the prefix of the per-task "finished" pub/sub channel (its ID is appended).
local K_SCHED, K_RUN, K_DEAD, K_WAKE, K_REC = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local K_PRIO, K_FIFO, K_RING, K_META, K_EXP = KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local K_PACE = KEYS[11]
local NOTIFY = ARGV[1]
-- Record fields: n name, p payload, s status, a attempts, m max attempts, ct created,
-- ut updated, due, rd redeliveries, l lease (attempt of the delivery that may settle it),
-- st started, ft finished, r result, e error, w worker, g group (project or '-'),
-- pr priority, sq ready sequence, x expiry ms (finished tasks only), c cost (pace weight),
-- t the enqueue's trace context (only when traced).
local FIELDS = {'n', 'p', 's', 'a', 'm', 'ct', 'ut', 'due', 'rd', 'l', 'st', 'ft', 'r', 'e',
  'w', 'g', 'pr', 'sq', 'x', 'c', 't'}
local PRIO_BASE = 1000000

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function fmt(n)
  return string.format('%d', n)
end

local function rget(id, ...)
  local names = {...}
  for i = 1, #names do
    names[i] = id .. '|' .. names[i]
  end
  return redis.call('HMGET', K_REC, unpack(names))
end

local function rset(id, ...)
  local pairs_ = {...}
  for i = 1, #pairs_, 2 do
    pairs_[i] = id .. '|' .. pairs_[i]
  end
  redis.call('HSET', K_REC, unpack(pairs_))
end

local function rdel(id, ...)
  local names = {...}
  for i = 1, #names do
    names[i] = id .. '|' .. names[i]
  end
  redis.call('HDEL', K_REC, unpack(names))
end

local function drop(id)
  rdel(id, unpack(FIELDS))
  redis.call('ZREM', K_EXP, id)
end

-- The record's status, or nil when there is none or it has expired (then it is dropped).
local function status_of(id, now)
  local f = rget(id, 's', 'x')
  if not f[1] then
    return nil
  end
  if f[2] and tonumber(f[2]) <= now then
    drop(id)
    return nil
  end
  return f[1]
end

-- Drop at most n finished records past their expiry.
local function sweep(now, n)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', K_EXP, '-inf', fmt(now), 'LIMIT', 0, n)) do
    drop(id)
  end
end

-- A task reached an end state: its record expires after the status TTL (written with the
-- record's other fields given, in one write); waiters are told.
local function finished(id, now, ttl, ...)
  local x = fmt(now + tonumber(ttl))
  rset(id, 'x', x, ...)
  redis.call('ZADD', K_EXP, x, id)
  redis.call('PUBLISH', NOTIFY .. id, 1)
end

local function members(g, pr, sq, id)
  local s = string.format('%015d', tonumber(sq))
  local p = string.format('%07d', PRIO_BASE - tonumber(pr))
  return g .. '|' .. p .. '|' .. s .. '|' .. id, g .. '|' .. s .. '|' .. id
end

-- Give a group with ready tasks a turn at the back of the ring (unless it has one, is
-- parked at its concurrency cap, or paced: a freed slot, or its time, brings it back).
local function activate(g)
  if not redis.call('ZSCORE', K_RING, g) and redis.call('HEXISTS', K_META, 'pk|' .. g) == 0
      and not redis.call('ZSCORE', K_PACE, g) then
    redis.call('ZADD', K_RING, redis.call('HINCRBY', K_META, 'rr', 1), g)
  end
end

-- Index a waiting task of group g and priority pr in its group, at place sq (the writes
-- that can fail come before any record write of the caller's).
local function index_ready(id, g, pr, sq)
  local a, b = members(g, pr, sq, id)
  redis.call('ZADD', K_PRIO, 0, a)
  redis.call('ZADD', K_FIFO, 0, b)
  activate(g)
end

-- Put a waiting task into its group's ready indexes; keep_seq keeps its old place.
local function make_ready(id, keep_seq)
  local r = rget(id, 'g', 'pr', 'sq')
  local sq = r[3]
  if not keep_seq or not sq then
    sq = redis.call('HINCRBY', K_META, 'seq', 1)
    rset(id, 'sq', sq)
  end
  index_ready(id, r[1], r[2], sq)
end

-- Take a task out of the ready indexes (claimed, cancelled or settled early).
local function unready(id)
  local r = rget(id, 'g', 'pr', 'sq')
  if r[3] then
    local a, b = members(r[1], r[2], r[3], id)
    redis.call('ZREM', K_PRIO, a)
    redis.call('ZREM', K_FIFO, b)
  end
end

-- A running delivery ended (or was given up for lost): its group's slot is freed. group:
-- the record's 'g' if the caller read it already.
local function leave_running(id, group)
  if redis.call('ZREM', K_RUN, id) == 0 then
    return
  end
  local g = group or rget(id, 'g')[1] or '-'
  local parked
  if redis.call('HINCRBY', K_META, 'run|' .. g, -1) <= 0 then
    -- One HDEL for both: 'run|g' is there (just decremented), so 2 means it was parked.
    parked = redis.call('HDEL', K_META, 'run|' .. g, 'pk|' .. g) == 2
  else
    parked = redis.call('HDEL', K_META, 'pk|' .. g) == 1
  end
  if parked then
    activate(g)
  end
end

local function wake(tokens)
  redis.call('LPUSH', K_WAKE, 1)
  redis.call('LTRIM', K_WAKE, 0, tonumber(tokens) - 1)
end

local function trim_dead(now, ttl)
  local old = redis.call('ZCOUNT', K_DEAD, '-inf', '(' .. fmt(now - tonumber(ttl)))
  if old > 0 then
    redis.call('ZREMRANGEBYRANK', K_DEAD, 0, math.min(old, 100) - 1)
  end
end

-- The first entry of group g in index, and whether the group has a second.
local function group_head(index, g)
  local heads = redis.call('ZRANGE', index, '[' .. g .. '|', '(' .. g .. '}', 'BYLEX', 'LIMIT', 0, 2)
  return heads[1], heads[2] ~= nil
end

-- The task ID of an entry of group g's index, and for the priority index the task's entry
-- in the age index. The fields have fixed widths (see members()): read by place, not by a
-- pattern, whose cost grows with the group's and the ID's length.
local function entry_of(index, head, g)
  local n = #g
  if index == K_PRIO then  -- 'g|ppppppp|sssssssssssssss|id'
    local id = string.sub(head, n + 26)
    return id, g .. '|' .. string.sub(head, n + 10, n + 24) .. '|' .. id
  end
  return string.sub(head, n + 18)  -- 'g|sssssssssssssss|id'
end

-- Hold group g out of the ring until ms ``at`` (its rate, or a pause).
local function pace_out(g, at)
  redis.call('HSET', K_META, 'pacing', 1)
  redis.call('ZREM', K_RING, g)
  redis.call('ZADD', K_PACE, fmt(at), g)
end

-- The ms at which group g may start a task of cost c (a pause, or its rate by GCRA:
-- one task per interval, up to burst at once), or 0 when it may now: then it is charged.
local function pace_check(g, c, now)
  local hold = tonumber(redis.call('HGET', K_META, 'hold|' .. g) or 0)
  if hold > now then
    return hold
  end
  local spec = redis.call('HGET', K_META, 'rate|' .. g) or redis.call('HGET', K_META, 'rate|*')
  if not spec then
    return 0
  end
  local interval, burst = string.match(spec, '^([^,]+),(.+)$')
  interval, burst = tonumber(interval), tonumber(burst)
  local tat = math.max(tonumber(redis.call('HGET', K_META, 'tat|' .. g) or 0), now)
  local allowed = tat - interval * math.max(burst - c, 0)
  if allowed > now then
    return math.ceil(allowed)
  end
  redis.call('HSET', K_META, 'tat|' .. g, string.format('%.3f', tat + interval * c))
  return 0
end

-- Paced groups whose time came back into the ring (at most n).
local function unpace(now, n)
  for _, g in ipairs(redis.call('ZRANGEBYSCORE', K_PACE, '-inf', fmt(now), 'LIMIT', 0, n)) do
    redis.call('ZREM', K_PACE, g)
    activate(g)
  end
end

-- The ring as one claim walks it. While a claim leases, only take() changes the ring, and
-- only at its head: a group leaves it, or goes to its back, behind every group in the ring.
-- So its first groups are read in one command and followed here; the groups sent to the
-- back are written in one ZADD, before the ring is read again and when the claim ends
-- (turns_save), and the turn counter 'rr' is counted here and written then too.
local function turns_new(n)
  return {n = math.min(n, 64), list = {}, pos = 1, complete = false, rr = nil, back = {}}
end

local function turns_flush(t)
  if #t.back > 0 then
    redis.call('ZADD', K_RING, unpack(t.back))
    t.back = {}
  end
end

-- The group whose turn it is, and whether it is alone in the ring (nil: the ring is empty).
local function turns_head(t)
  local list, pos = t.list, t.pos
  if pos > #list or (pos == #list and not t.complete) then
    turns_flush(t)
    list = redis.call('ZRANGE', K_RING, 0, t.n)
    t.list, t.pos, t.complete, pos = list, 1, #list <= t.n, 1
  end
  return list[pos], pos == #list and t.complete
end

-- The head group left the ring, or went to its back.
local function turns_next(t)
  t.pos = t.pos + 1
end

-- Give the head group g its next turn, at the back of the ring.
local function turns_requeue(t, g)
  if not t.rr then
    t.rr = tonumber(redis.call('HGET', K_META, 'rr') or 0)
  end
  t.rr = t.rr + 1
  local back, n = t.back, #t.back
  back[n + 1], back[n + 2] = t.rr, g
  if n >= 4800 then
    turns_flush(t)
  end
  t.complete = false  -- g is behind the groups read
  turns_next(t)
end

-- A hash's compact encoding (a listpack, up to hash-max-listpack-entries fields: 512 by
-- default) is scanned field by field at every update, and meta holds two counters per
-- group with work. Once groups take turns, meta's 'layout', a value longer than
-- hash-max-listpack-value (64), makes it a hash table for good: its counters' updates do
-- not slow with the number of groups.
local TABLE_LAYOUT = 'a hash table: this value is longer than a listpack value may be, so meta stays a table'

local function turns_save(t)
  turns_flush(t)
  if t.rr then
    redis.call('HSET', K_META, 'rr', t.rr)
    redis.call('HSETNX', K_META, 'layout', TABLE_LAYOUT)
  end
end

-- Take the head entry of group g's index out of the ready indexes, and give the group its
-- next turn if it has more (the task is about to be leased): at the back of the ring, unless
-- it is alone there (then it stays the head).
local function lease_head(t, index, head, id, aged, g, more, alone)
  if index == K_PRIO then
    redis.call('ZREM', K_PRIO, head)
    redis.call('ZREM', K_FIFO, aged)
  else
    unready(id)
  end
  if more then
    if not alone then
      turns_requeue(t, g)
    end
  else
    redis.call('ZREM', K_RING, g)
    redis.call('HDEL', K_META, 'n|' .. g)
    turns_next(t)
  end
  redis.call('HINCRBY', K_META, 'run|' .. g, 1)
end

-- Lease the next ready task: the group whose turn it is gives its first task by priority
-- (every aging-th claim of a group, its oldest instead, so no task starves), then goes to
-- the back of the ring if it has more. A group at its cap leaves the ring until a slot
-- frees; a group over its rate (or paused) leaves it for the paced set until its time.
-- t: the claim's turns (turns_new), pacing: a rate or pause was ever set on the queue.
-- Returns the task ID and its record's fields (TAKEN), false when none is ready, or 'busy'
-- after 16 steps.
local TAKEN = {'s', 'c', 'n', 'p', 'm', 'rd', 'g', 't', 'a'}
local function take(t, cap, aging, now, pacing)
  for _ = 1, 16 do
    local g, alone = turns_head(t)
    if not g then
      return false
    end
    if cap > 0 and tonumber(redis.call('HGET', K_META, 'run|' .. g) or 0) >= cap then
      redis.call('ZREM', K_RING, g)
      redis.call('HSET', K_META, 'pk|' .. g, 1)
      turns_next(t)
    else
      local index = K_PRIO
      if aging > 0 and redis.call('HINCRBY', K_META, 'n|' .. g, 1) % aging == 0 then
        index = K_FIFO
      end
      local head, more = group_head(index, g)
      local id, aged
      if head then
        id, aged = entry_of(index, head, g)
      end
      local f = head and rget(id, unpack(TAKEN))
      if not head then
        redis.call('ZREM', K_RING, g)
        redis.call('HDEL', K_META, 'n|' .. g)
        turns_next(t)
      elseif not f[1] then
        -- An entry without a record (a failed write left it): dropped on the way.
        redis.call('ZREM', index, head)
        if aged then
          redis.call('ZREM', K_FIFO, aged)
        end
      else
        local at = 0
        if pacing then
          at = pace_check(g, tonumber(f[2] or 1), now)
        end
        if at > 0 then
          pace_out(g, at)
          turns_next(t)
        else
          lease_head(t, index, head, id, aged, g, more, alone)
          return id, f
        end
      end
    end
  end
  return 'busy'
end
