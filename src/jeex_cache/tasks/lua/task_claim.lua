-- Record deliveries' successes (any number), then lease up to n ready tasks of the queue to
-- the worker: a busy worker settles the tasks its slots finished and takes the next ones in
-- one round trip.
-- Before leasing: deliveries whose visibility deadline passed unacknowledged (their worker
-- died or stalled) go back to their group, or to the dead-letter set after their last
-- attempt; delayed tasks and retries that fell due join their group (at most 32 of each),
-- and paced groups whose time came get their turn back.
-- ARGV[2] visibility timeout ms, ARGV[3] status TTL ms, ARGV[4] worker name (not stored),
-- ARGV[5] error of a lost last attempt ('%d': the attempt), ARGV[6] n, the most tasks to
-- lease (0: none), ARGV[7] most running tasks per group (0: no cap), ARGV[8] aging (every
-- n-th claim of a group takes its oldest task; 0: strict priority),
-- ARGV[9..] the completed deliveries, four each: task ID, attempt (lease), group, result.
-- Returns {dones, leases, wait}: dones has 1 per completion recorded, 0 when its lease had
-- passed to another delivery (the outcome is dropped); leases has five fields per leased
-- task (id, attempt, head, redeliveries, group); wait is the ms until a task falls due, a
-- paced group may go or a deadline passes when none was leased (0: ask again at once, -1:
-- nothing scheduled, nothing running).
local now = now_ms()
local now_s = fmt(now)
local ttl = ARGV[3]
META.held = true  -- meta's counters are read once and written once, by finish()
meta_load({'nocount', 'listen', 'pacing', 'mixed', 'tracked'})
COUNT_RUNNING = not meta_get('nocount')
if not COUNT_RUNNING and tonumber(ARGV[7]) > 0 then
  count_running()  -- the first claim to ask for a cap
end

-- The completions: each is recorded only under its delivery's lease (a delivery listed twice
-- once). Their leases are read in one HMGET, their running entries in one ZMSCORE, and
-- their writes batched (batch()). A delivery still running is in the running set, and only
-- then (a claim writes both, and every end of a delivery takes it out).
local dones, ids = {}, {}
for i = 9, #ARGV, 4 do
  ids[#ids + 1] = ARGV[i]
  dones[#dones + 1] = 0
end
if #ids > 0 then
  local names = {}
  for k, id in ipairs(ids) do
    names[k] = id .. '|l'
  end
  local leases = call_list('HMGET', K_REC, names)
  local settled, held, held_ids, counters = {}, {}, {}, {}
  for k, id in ipairs(ids) do
    if leases[k] == ARGV[6 + 4 * k] and not settled[id] then
      settled[id] = true
      held[#held + 1], held_ids[#held + 1] = k, id
      if COUNT_RUNNING then
        local group = ARGV[7 + 4 * k]
        counters[#counters + 1] = run_of(group)
        counters[#counters + 1] = parked_of(group)
      end
    end
  end
  local running = {}
  if #held > 0 then
    running = call_list('ZMSCORE', K_RUN, held_ids)
    meta_load(counters)
  end
  -- Only while a caller waits for a task of the queue (see the repository's wait()).
  local listened = (meta_get('listen') or 0) > 0
  local expiry = fmt(now + tonumber(ttl))
  local ended, records = batch('ZREM', K_RUN), batch('HSET', K_REC)
  local expiring = batch('ZADD', K_EXP)
  for j, k in ipairs(held) do
    local id = ids[k]
    if running[j] then
      ended[#ended + 1] = id
      spill(ended)
      left_group(ARGV[7 + 4 * k])
    else
      -- A delivery given up for lost may still finish before its task is delivered again:
      -- the success stands, and the task leaves whichever set holds it.
      unready(id)
      redis.call('ZREM', K_SCHED, id)
      redis.call('ZREM', K_DEAD, id)
    end
    -- finished(), its writes batched: the record expires after the status TTL; waiters are
    -- told (a message reaches them after the script, so after the writes).
    local n, result = #records, ARGV[8 + 4 * k]
    records[n + 1], records[n + 2], records[n + 3] = id .. '|s', 'succeeded', id .. '|ft'
    records[n + 4], records[n + 5], records[n + 6] = now_s, names[k], '0'  -- names[k]: '<id>|l'
    if result ~= 'null' then  -- a result of None is not stored: a record without one has it
      records[n + 7], records[n + 8] = id .. '|r', result
    end
    spill(records)
    n = #expiring
    expiring[n + 1], expiring[n + 2] = expiry, id
    spill(expiring)
    if listened then
      redis.call('PUBLISH', NOTIFY .. id, 1)
    end
    dones[k] = 1
  end
  write_all()
end

local function finish(leases, wait)
  write_all()
  meta_save()
  return {dones, leases, wait}
end

local want = tonumber(ARGV[6])
if want < 1 then
  return finish({}, -1)
end
sweep(now, 4)

for _, id in ipairs(redis.call('ZRANGEBYSCORE', K_RUN, '-inf', now_s, 'LIMIT', 0, 32)) do
  local f = rget(id, 's', 'a', 'g')
  leave_running(id, f[3])
  if f[1] == 'running' then
    if tonumber(f[2]) >= max_attempts(id) then
      -- The lease ('l') stays: a late acknowledgement of that delivery still wins.
      redis.call('ZADD', K_DEAD, now_s, id)
      trim_dead(now, ttl)
      finished(id, now, ttl, 's', 'dead', 'ut', now_s, 'ft', now_s,
        'e', string.format(ARGV[5], tonumber(f[2])))
    else
      rset(id, 's', 'queued', 'ut', now_s, 'due', now_s)
      redis.call('HINCRBY', K_REC, id .. '|rd', 1)
      make_ready(id, false)
    end
  end
end

for _, id in ipairs(redis.call('ZRANGEBYSCORE', K_SCHED, '-inf', now_s, 'LIMIT', 0, 32)) do
  redis.call('ZREM', K_SCHED, id)
  local status = status_of(id, now)
  if status == 'queued' or status == 'failed' then
    make_ready(id, false)
  end
end
-- A rate or a pause was ever set on the queue (only then can a group be paced).
local pacing = meta_get('pacing') ~= nil
if pacing then
  unpace(now, 32)
end

-- Every ready task has priority 0 (see next_seq): its group's order by priority is its
-- order by age, and aging has nothing to do.
local aging = tonumber(ARGV[8])
local uniform = meta_get('tracked') ~= nil and meta_get('mixed') == nil
if uniform then
  aging = 0
end

-- Lease: take() picks the tasks (and takes them out of the ready indexes); their records are
-- then read in one HMGET and written in one HSET.
local turns = turns_new(want, aging > 0)
local taken, busy = {}, false
while #taken < 2 * want do
  local id, g = take(turns, tonumber(ARGV[7]), aging, now, pacing,
    want - math.floor(#taken / 2))
  if id == 'busy' then
    busy = true  -- groups at their cap were parked: the worker asks again
    break
  end
  if not id then
    break
  end
  taken[#taken + 1] = id
  taken[#taken + 1] = g
end
turns_save(turns)

local leases = {}
local orphans = false
if #taken > 0 then
  local names = {}
  for j = 1, #taken, 2 do
    local id = taken[j]
    local n = #names
    names[n + 1], names[n + 2], names[n + 3] = id, id .. '|a', id .. '|rd'
  end
  local f = call_list('HMGET', K_REC, names, 3)
  local deadline = fmt(now + tonumber(ARGV[2]))
  local running, records = batch('ZADD', K_RUN), batch('HSET', K_REC)
  for j = 1, #taken, 2 do
    local id, g = taken[j], taken[j + 1]
    local b = 3 * (j - 1) / 2
    local head = head_of(id, f[b + 1])
    if not head then
      -- An entry without a record (a failed write left it): dropped on the way.
      orphans = true
      if COUNT_RUNNING and meta_incr(run_of(g), -1) <= 0 then
        meta_set(run_of(g), nil)
      end
    else
      local attempt = tonumber(f[b + 2] or 0) + 1
      local n, a = #running, fmt(attempt)
      running[n + 1], running[n + 2] = deadline, id
      spill(running)
      n = #records
      records[n + 1], records[n + 2], records[n + 3] = id .. '|s', 'running', names[b + 2]
      records[n + 4], records[n + 5], records[n + 6] = a, id .. '|l', a
      records[n + 7], records[n + 8] = id .. '|st', now_s
      spill(records)
      n = #leases
      leases[n + 1], leases[n + 2], leases[n + 3] = id, attempt, head
      leases[n + 4], leases[n + 5] = tonumber(f[b + 3] or 0), g
    end
  end
end
if busy or orphans or #leases > 0 then
  return finish(leases, 0)
end

-- Nothing is ready: the worker is about to wait, so wake-ups sent until now are spent.
redis.call('DEL', K_WAKE)
if meta_get('tracked') == nil and redis.call('EXISTS', K_PRIO) == 0 then
  meta_set('tracked', 1)  -- no ready task came from an earlier release (see next_seq)
end
local wait = -1
local first = redis.call('ZRANGE', K_SCHED, 0, 0, 'WITHSCORES')[2]
if first then
  wait = math.max(tonumber(first) - now, 0)
end
local paced = redis.call('ZRANGE', K_PACE, 0, 0, 'WITHSCORES')[2]
if paced and (wait < 0 or tonumber(paced) - now < wait) then
  wait = math.max(tonumber(paced) - now, 0)
end
local running = redis.call('ZRANGE', K_RUN, 0, 0, 'WITHSCORES')[2]
if running and (wait < 0 or tonumber(running) - now < wait) then
  wait = math.max(tonumber(running) - now, 0)
end
return finish({}, wait)
