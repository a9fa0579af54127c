-- Shared by every task script (prepended to it). All keys of one queue share its hash tag,
-- and every script gets the same eleven, declared in KEYS:
-- KEYS[1] scheduled (task IDs by due ms: delayed tasks and retries), KEYS[2] running (by
-- visibility deadline ms), KEYS[3] dead (by burial ms), KEYS[4] wake-up list, KEYS[5] records
-- (hash: '<id>|<field>'), KEYS[6] ready by priority (lex zset 'group|prio|seq|id'),
-- KEYS[7] ready by age (lex zset 'group|seq|id'), KEYS[8] ring (groups with ready tasks, by
-- turn), KEYS[9] meta (hash: seq, rr, 'run|<g>' running count, 'pk|<g>' parked at its cap,
-- 'n|<g>' claims, 'rate|<g>' pace 'interval ms,burst' ('rate|*' every group's default),
-- 'tat|<g>' the group's paced time, 'hold|<g>' paused until ms, 'pacing' once
-- any of these was set, 'layout' keeping it a hash table, 'listen' callers waiting for a
-- task: successes are published while it is above 0, 'mixed' and 'tracked': see
-- index_ready, 'nocount': see COUNT_RUNNING), KEYS[10] expiry (finished
-- task IDs by record expiry ms), KEYS[11] paced (groups held out of the ring by their rate
-- or a pause, by the ms they may start a task again).
-- ARGV[1] the prefix of the per-task "finished" pub/sub channel (its ID is appended).
local K_SCHED, K_RUN, K_DEAD, K_WAKE, K_REC = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local K_PRIO, K_FIFO, K_RING, K_META, K_EXP = KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local K_PACE = KEYS[11]
local NOTIFY = ARGV[1]
-- A record: the task's fixed part under its bare ID, its head (written once, at enqueue,
-- and read by the client: '<max attempts>|<name>|<trace length>|<trace context><payload>'),
-- and fields '<id>|<field>': s status, a attempts (0 when absent), ct created, ut updated
-- (by a release, retry or requeue: a start or an end is its own field), due (when delayed
-- or retried), rd redeliveries, l lease (attempt of the delivery that may settle it),
-- st started, ft finished, e error (stays after a success: it is not read then),
-- g group (project or '-'), pr priority, sq ready sequence, c cost (pace weight, when not
-- 1), r result (absent: None); a finished record's expiry is its score in the expiry set.
-- Records written by 0.1.0 hold the head's parts as fields (OLD_FIELDS), and the expiry as
-- x: head_of() reads those, drop() removes them.
local FIELDS = {'s', 'a', 'ct', 'ut', 'due', 'rd', 'l', 'st', 'ft', 'r', 'e', 'g', 'pr', 'sq',
  'x', 'c'}
local OLD_FIELDS = {'n', 'p', 'm', 't', 'w'}
local PRIO_BASE = 1000000

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function fmt(n)
  return string.format('%d', n)
end

-- Append values to a list.
local function push(list, ...)
  local n = #list
  for j = 1, select('#', ...) do
    list[n + j] = select(j, ...)
  end
end

-- redis.call(command, key, args...) with args given as a list, in commands of at most 4800
-- arguments (unpack's limit; step: the arguments of one item, kept together). Returns the
-- replies of a command that returns a list, joined in order.
local function call_list(command, key, args, step)
  local out, size = {}, 4800 - 4800 % (step or 1)
  for s = 1, #args, size do
    local reply = redis.call(command, key, unpack(args, s, math.min(s + size - 1, #args)))
    if type(reply) == 'table' then
      for j = 1, #reply do
        out[#out + 1] = reply[j]
      end
    end
  end
  return out
end

-- The names of group g's counters in meta: 'run|g' running, 'pk|g' parked, 'n|g' claims.
-- (A concatenation costs less than a lookup in a table of names kept per group.)
local function run_of(g)
  return 'run|' .. g
end

local function parked_of(g)
  return 'pk|' .. g
end

local function claims_of(g)
  return 'n|' .. g
end

-- t[k], a table, made on first use.
local function table_in(t, k)
  local inner = t[k]
  if not inner then
    inner = {}
    t[k] = inner
  end
  return inner
end

-- Writes of many tasks to one key go in one command (HSET of the records, ZADD or ZREM of
-- a set): batch() gives the command's list (command, key, arguments...), to which the caller
-- appends; spill() sends it once 4,800 arguments wait (unpack's limit), and write_all()
-- sends every list, before anything reads what they write.
local pending = {}
local function batch(command, key)
  local by_key = table_in(pending, command)
  local p = by_key[key]
  if not p then
    p = {command, key}
    by_key[key] = p
  end
  return p
end

local function send(p)
  if #p > 2 then
    redis.call(p[1], p[2], unpack(p, 3))
    for j = #p, 3, -1 do
      p[j] = nil
    end
  end
end

local function spill(p)
  if #p > 4800 then
    send(p)
  end
end

local function write_all()
  for _, by_key in pairs(pending) do
    for _, p in pairs(by_key) do
      send(p)
    end
  end
end

-- Meta's counters ('run|g', 'pk|g', 'n|g', 'rr'). A claim, which changes many, holds them
-- here (META.held): it reads them in one HMGET (meta_load) and writes them in one HSET and
-- one HDEL (meta_save) at its end. Other scripts read and write meta itself.
local META = {held = false, v = {}, dirty = {}}
local TABLE_LAYOUT

-- The running counts per group ('run|g') serve the per-group caps alone. A queue that took
-- its first place under this release (meta's 'nocount', set by next_seq) keeps none until
-- a claim asks for a cap: that claim counts the running set by group (count_running), and
-- every claim keeps the counts from then on. A claim sets COUNT_RUNNING from meta (and
-- next_seq clears it when the claim itself makes the queue's first place); the other
-- scripts count always (a count that drops below 1 is removed, so an uncounted delivery
-- leaves nothing behind). Queues of an earlier release counted all along, and still do.
local COUNT_RUNNING = true

local function meta_load(fields)
  local missing = {}
  for _, f in ipairs(fields) do
    if META.v[f] == nil then
      missing[#missing + 1] = f
    end
  end
  if #missing > 0 then
    local got = call_list('HMGET', K_META, missing)
    for j, f in ipairs(missing) do
      META.v[f] = tonumber(got[j]) or false
    end
  end
end

-- A counter's value, or nil when it is not set.
local function meta_get(f)
  if not META.held then
    return tonumber(redis.call('HGET', K_META, f))
  end
  if META.v[f] == nil then
    meta_load({f})
  end
  return META.v[f] or nil
end

-- Set a counter (nil: remove it).
local function meta_set(f, value)
  if not META.held then
    if value then
      redis.call('HSET', K_META, f, value)
    else
      redis.call('HDEL', K_META, f)
    end
    return
  end
  META.v[f] = value or false
  META.dirty[f] = true
end

local function meta_incr(f, by)
  if not META.held then
    return redis.call('HINCRBY', K_META, f, by)
  end
  local v = (meta_get(f) or 0) + by
  meta_set(f, v)
  return v
end

local function meta_save()
  local set, del = {}, {}
  for f in pairs(META.dirty) do
    local v = META.v[f]
    if v then
      push(set, f, fmt(v))
    else
      del[#del + 1] = f
    end
  end
  if META.dirty['rr'] then  -- groups take turns: see TABLE_LAYOUT
    push(set, 'layout', TABLE_LAYOUT)
  end
  if #set > 0 then
    call_list('HSET', K_META, set, 2)
  end
  if #del > 0 then
    call_list('HDEL', K_META, del)
  end
  META.dirty = {}
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
  rdel(id, unpack(OLD_FIELDS))
  redis.call('HDEL', K_REC, id)
  redis.call('ZREM', K_EXP, id)
end

-- A task's head (given: as read, false when absent), or nil when it has no record.
local function head_of(id, head)
  if head then
    return head
  end
  local f = rget(id, 'm', 'n', 't', 'p')
  if not f[1] then
    return nil
  end
  local trace = f[3] or ''
  return f[1] .. '|' .. f[2] .. '|' .. #trace .. '|' .. trace .. f[4]
end

local function max_attempts(id)
  return tonumber(string.match(head_of(id, redis.call('HGET', K_REC, id)), '^(%d+)|'))
end

-- A record's fields {field, value, ...}, its head as 'h'.
local function record_of(id)
  local f = rget(id, unpack(FIELDS))
  local out = {'h', head_of(id, redis.call('HGET', K_REC, id))}
  for j = 1, #FIELDS do
    if f[j] then
      push(out, FIELDS[j], f[j])
    end
  end
  return out
end

-- The record's status, or nil when there is none or it has expired (then it is dropped):
-- a finished record's expiry is its score in the expiry set.
local FINISHED = {succeeded = true, dead = true, cancelled = true}
local function status_of(id, now)
  local s = redis.call('HGET', K_REC, id .. '|s')
  if not s then
    return nil
  end
  if FINISHED[s] then
    local x = redis.call('ZSCORE', K_EXP, id)
    if x and tonumber(x) <= now then
      drop(id)
      return nil
    end
  end
  return s
end

-- Drop at most n finished records past their expiry.
local function sweep(now, n)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', K_EXP, '-inf', fmt(now), 'LIMIT', 0, n)) do
    drop(id)
  end
end

-- A task reached an end state: its record expires after the status TTL (the record's other
-- fields given are written in one write); waiters are told.
local function finished(id, now, ttl, ...)
  if select('#', ...) > 0 then
    rset(id, ...)
  end
  redis.call('ZADD', K_EXP, fmt(now + tonumber(ttl)), id)
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
  if not redis.call('ZSCORE', K_RING, g) and not meta_get(parked_of(g))
      and not redis.call('ZSCORE', K_PACE, g) then
    redis.call('ZADD', K_RING, meta_incr('rr', 1), g)
  end
end

-- The next place in the ready indexes. Meta's 'tracked' says that every ready task went
-- through index_ready, which sets 'mixed' once a task of a priority other than 0 is ready:
-- set when the queue takes its first place, or when a claim finds nothing ready (a queue
-- that tasks of an earlier release still fill is not tracked until then).
local function next_seq()
  local sq = redis.call('HINCRBY', K_META, 'seq', 1)
  if sq == 1 then
    redis.call('HSET', K_META, 'tracked', 1, 'nocount', 1)
    COUNT_RUNNING = false  -- nothing ran before: a claim making this place counts no more
  end
  return sq
end

-- Index a waiting task of group g and priority pr in its group, at place sq (the writes
-- that can fail come before any record write of the caller's).
local function index_ready(id, g, pr, sq)
  local a, b = members(g, pr, sq, id)
  redis.call('ZADD', K_PRIO, 0, a)
  redis.call('ZADD', K_FIFO, 0, b)
  if pr ~= '0' then
    redis.call('HSET', K_META, 'mixed', 1)
  end
  activate(g)
end

-- Put a waiting task into its group's ready indexes; keep_seq keeps its old place.
local function make_ready(id, keep_seq)
  local r = rget(id, 'g', 'pr', 'sq')
  local sq = r[3]
  if not keep_seq or not sq then
    sq = next_seq()
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

-- A running delivery of group g ended: its slot is freed (and the group, if it was parked
-- at its cap, takes turns again).
local function left_group(g)
  if META.held then
    if not COUNT_RUNNING then
      return  -- and no group is parked: parking needs a cap, and a cap, counts
    end
    if meta_incr(run_of(g), -1) <= 0 then
      meta_set(run_of(g), nil)
    end
    if meta_get(parked_of(g)) then
      meta_set(parked_of(g), nil)
      activate(g)
    end
    return
  end
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

-- A running delivery ended (or was given up for lost): its group's slot is freed. group:
-- the record's 'g' if the caller read it already.
local function leave_running(id, group)
  if redis.call('ZREM', K_RUN, id) == 0 then
    return
  end
  left_group(group or rget(id, 'g')[1] or '-')
end

-- A claim (META held) of a queue that kept no running counts, and that now needs them:
-- count the running set by group, and keep counting (see COUNT_RUNNING).
local function count_running()
  local ids = redis.call('ZRANGE', K_RUN, 0, -1)
  local names, counts = {}, {}
  for j, id in ipairs(ids) do
    names[j] = id .. '|g'
  end
  local groups = call_list('HMGET', K_REC, names)
  for j = 1, #ids do
    local field = run_of(groups[j] or '-')
    counts[field] = (counts[field] or 0) + 1
  end
  for field, n in pairs(counts) do
    meta_set(field, n)
  end
  meta_set('nocount', nil)
  COUNT_RUNNING = true
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

-- The task ID of an entry of group g's index (see members(): 'g|ppppppp|sssssssssssssss|id'
-- in the priority index, 'g|sssssssssssssss|id' in the age index). The fields have fixed
-- widths: read by place, not by a pattern, whose cost grows with the group's and the ID's
-- length.
local function entry_id(index, head, g)
  return string.sub(head, #g + (index == K_PRIO and 26 or 18))
end

-- The age index's entry of a priority index entry of task id.
local function aged_of(head, g, id)
  local n = #g
  return g .. '|' .. string.sub(head, n + 10, n + 24) .. '|' .. id
end

-- What one claim read of the groups' indexes: per index and group, the entries read
-- ({list, pos, complete: the list holds every entry the group had; [j]: the task ID of
-- list[j], once parsed}); the tasks it leased (GONE), whose entries it removes in one ZREM
-- per index at its end, and how many of each group (GONE_IN): a group read again skips
-- that many more.
local HEADS = {}
local GONE = {}
local GONE_IN = {}

-- The position of c's next entry not leased yet, or nil.
local function next_live(index, c, g)
  local list = c.list
  for j = c.pos, #list do
    local id = c[j]
    if not id then
      id = entry_id(index, list[j], g)
      c[j] = id
    end
    if not GONE[id] then
      return j
    end
  end
  return nil
end

-- The first entry of group g in index not leased yet, its task ID, and whether the group
-- may have another (true when unsure: a group found empty on its turn leaves the ring
-- then). The first read of a group takes one entry; a group back for another turn,
-- room + 1.
local function group_head(index, g, room)
  local by_group = table_in(HEADS, index)
  local c = by_group[g]
  local at = c and next_live(index, c, g)
  if not at and not (c and c.complete) then
    local n = (c and room + 1 or 1) + (GONE_IN[g] or 0)
    local list = redis.call('ZRANGE', index, '[' .. g .. '|', '(' .. g .. '}', 'BYLEX',
      'LIMIT', '0', fmt(n))
    c = {list = list, pos = 1, complete = #list < n}
    by_group[g] = c
    at = next_live(index, c, g)
  end
  if not at then
    return nil
  end
  c.pos = at
  local more = not c.complete
  if not more then
    c.pos = at + 1
    more = next_live(index, c, g) ~= nil
    c.pos = at
  end
  return c.list[at], c[at], more
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
-- So its first groups are read in one command (their counters in one more) and followed
-- here; the groups sent to the back are written in one ZADD, before the ring is read again
-- and when the claim ends (turns_save).
local function turns_new(n, aging)
  return {n = math.min(n, 64), list = {}, pos = 1, complete = false, back = {}, aging = aging}
end

-- A zset's compact encoding (a listpack, up to zset-max-listpack-entries members: 128 by
-- default) is scanned member by member at every update, and the ring changes at every turn.
-- RING_LAYOUT, a member longer than zset-max-listpack-value (64), last (its score +inf),
-- makes it a skip list once groups take turns; the ring's readers step over it.
local RING_LAYOUT = 'the ring is a skip list: this member is longer than a listpack member may be'

local function turns_flush(t)
  local back = t.back
  if #back > 0 then
    back[#back + 1], back[#back + 2] = '+inf', RING_LAYOUT
    redis.call('ZADD', K_RING, unpack(back))
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
    if list[#list] == RING_LAYOUT then
      list[#list] = nil
      t.complete = true
    end
    local counters = {}
    for j = 1, #list do
      if COUNT_RUNNING then
        counters[#counters + 1] = run_of(list[j])
      end
      if t.aging then
        counters[#counters + 1] = claims_of(list[j])
      end
    end
    meta_load(counters)
  end
  return list[pos], pos == #list and t.complete
end

-- The head group left the ring, or went to its back.
local function turns_next(t)
  t.pos = t.pos + 1
end

-- Give the head group g its next turn, at the back of the ring.
local function turns_requeue(t, g)
  local back, n = t.back, #t.back
  back[n + 1], back[n + 2] = fmt(meta_incr('rr', 1)), g
  if n >= 4800 then
    turns_flush(t)
  end
  t.complete = false  -- g is behind the groups read
  turns_next(t)
end

-- A hash's compact encoding (a listpack, up to hash-max-listpack-entries fields: 512 by
-- default) is scanned field by field at every update, and meta holds two counters per
-- group with work. Once groups take turns, meta's 'layout' (written with 'rr', see
-- meta_save), a value longer than hash-max-listpack-value (64), makes it a hash table for
-- good: its counters' updates do not slow with the number of groups.
TABLE_LAYOUT = 'a hash table: this value is longer than a listpack value may be, so meta stays a table'

local function turns_save(t)
  turns_flush(t)
end

-- Take the head entry of group g's index out of the ready indexes (in the claim's batched
-- ZREMs), and give the group its next turn if it has more (the task is about to be leased):
-- at the back of the ring, unless it is alone there (then it stays the head).
local function lease_head(t, index, head, id, g, more, alone)
  GONE[id] = true
  GONE_IN[g] = (GONE_IN[g] or 0) + 1
  local out = batch('ZREM', index)
  out[#out + 1] = head
  spill(out)
  if index == K_PRIO then
    out = batch('ZREM', K_FIFO)
    out[#out + 1] = aged_of(head, g, id)
    spill(out)
  else  -- the age index's entry 'g|sssssssssssssss|id' gives the place, the record the priority
    local pr = redis.call('HGET', K_REC, id .. '|pr')
    if pr then
      out = batch('ZREM', K_PRIO)
      out[#out + 1] = (members(g, pr, string.sub(head, #g + 2, #g + 16), id))
      spill(out)
    end
  end
  if more then
    if not alone then
      turns_requeue(t, g)
    end
  else
    redis.call('ZREM', K_RING, g)
    meta_set(claims_of(g), nil)
    turns_next(t)
  end
  if COUNT_RUNNING then
    meta_incr(run_of(g), 1)
  end
end

-- Lease the next ready task: the group whose turn it is gives its first task by priority
-- (every aging-th claim of a group, its oldest instead, so no task starves), then goes to
-- the back of the ring if it has more. A group at its cap leaves the ring until a slot
-- frees; a group over its rate (or paused) leaves it for the paced set until its time.
-- t: the claim's turns (turns_new), room: the most tasks the claim may still lease,
-- pacing: a rate or pause was ever set on the queue. Meta's counters must be held (META).
-- Returns the task ID and its group (the caller reads the record: an entry without one, left
-- by a failed write, is dropped then), false when none is ready, or 'busy' after 16 steps.
local function take(t, cap, aging, now, pacing, room)
  for _ = 1, 16 do
    local g, alone = turns_head(t)
    if not g then
      return false
    end
    if cap > 0 and (meta_get(run_of(g)) or 0) >= cap then
      redis.call('ZREM', K_RING, g)
      meta_set(parked_of(g), 1)
      turns_next(t)
    else
      local index = K_PRIO
      if aging > 0 and meta_incr(claims_of(g), 1) % aging == 0 then
        index = K_FIFO
      end
      local head, id, more = group_head(index, g, room)
      if not head then
        redis.call('ZREM', K_RING, g)
        meta_set(claims_of(g), nil)
        turns_next(t)
      else
        local at = 0
        if pacing then
          at = pace_check(g, tonumber(redis.call('HGET', K_REC, id .. '|c') or 1), now)
        end
        if at > 0 then
          pace_out(g, at)
          turns_next(t)
        else
          lease_head(t, index, head, id, g, more, alone)
          return id, g
        end
      end
    end
  end
  return 'busy'
end
