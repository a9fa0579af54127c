-- Record deliveries' successes (any number), then lease up to n ready tasks of the queue to
-- the worker: a busy worker settles the tasks its slots finished and takes the next ones in
-- one round trip.
-- Before leasing: deliveries whose visibility deadline passed unacknowledged (their worker
-- died or stalled) go back to their group, or to the dead-letter set after their last
-- attempt; delayed tasks and retries that fell due join their group (at most 32 of each),
-- and paced groups whose time came get their turn back.
-- ARGV[2] visibility timeout ms, ARGV[3] status TTL ms, ARGV[4] worker name,
-- ARGV[5] error of a lost last attempt ('%d': the attempt), ARGV[6] n, the most tasks to
-- lease (0: none), ARGV[7] most running tasks per group (0: no cap), ARGV[8] aging (every
-- n-th claim of a group takes its oldest task; 0: strict priority),
-- ARGV[9..] the completed deliveries, three each: task ID, attempt (lease), result.
-- Returns {dones, leases, wait}: dones has 1 per completion recorded, 0 when its lease had
-- passed to another delivery (the outcome is dropped); leases has eight fields per leased
-- task (id, attempt, name, payload, max attempts, redeliveries, group, trace context or
-- ''); wait is the ms until
-- a task falls due, a paced group may go or a deadline passes when none was leased (0: ask
-- again at once, -1: nothing scheduled, nothing running).
local now = now_ms()
local now_s = fmt(now)
local ttl = ARGV[3]

-- Writes of many tasks to one key go in one command (HSET of the records, ZADD of a set),
-- sent when 4,800 arguments wait and by write_all(), before anything reads what they write.
local pending = {}
local function later(command, key, ...)
  local p = pending[key]
  if not p then
    p = {command}
    pending[key] = p
  end
  for _, arg in ipairs({...}) do
    p[#p + 1] = arg
  end
  if #p > 4800 then
    redis.call(command, key, unpack(p, 2))
    pending[key] = nil
  end
end
local function write_all()
  for key, p in pairs(pending) do
    redis.call(p[1], key, unpack(p, 2))
  end
  pending = {}
end

local dones = {}
local settled = {}  -- a delivery listed twice is recorded once
local expiry = fmt(now + tonumber(ttl))
local i = 9
while ARGV[i] do
  local id = ARGV[i]
  local f = rget(id, 'l', 's', 'e', 'g')
  if f[1] == ARGV[i + 1] and not settled[id] then
    settled[id] = true
    leave_running(id, f[4])
    if f[2] ~= 'running' then
      -- A delivery given up for lost may still finish before its task is delivered again:
      -- the success stands, and the task leaves whichever set holds it.
      unready(id)
      redis.call('ZREM', K_SCHED, id)
      redis.call('ZREM', K_DEAD, id)
    end
    if f[3] then
      rdel(id, 'e')
    end
    -- finished(), its writes batched: the record expires after the status TTL; waiters are
    -- told (a message reaches them after the script, so after the writes).
    later('HSET', K_REC, id .. '|s', 'succeeded', id .. '|r', ARGV[i + 2], id .. '|ut', now_s,
      id .. '|ft', now_s, id .. '|l', 0, id .. '|x', expiry)
    later('ZADD', K_EXP, expiry, id)
    redis.call('PUBLISH', NOTIFY .. id, 1)
    dones[#dones + 1] = 1
  else
    dones[#dones + 1] = 0
  end
  i = i + 3
end
write_all()
local want = tonumber(ARGV[6])
if want < 1 then
  return {dones, {}, -1}
end
sweep(now, 4)

for _, id in ipairs(redis.call('ZRANGEBYSCORE', K_RUN, '-inf', now_s, 'LIMIT', 0, 32)) do
  local f = rget(id, 's', 'a', 'm', 'g')
  leave_running(id, f[4])
  if f[1] == 'running' then
    if tonumber(f[2]) >= tonumber(f[3]) then
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
unpace(now, 32)

local leases = {}
local deadline = fmt(now + tonumber(ARGV[2]))
local pacing = redis.call('HEXISTS', K_META, 'pacing') == 1
local turns = turns_new(want)
for _ = 1, want do
  local id, f = take(turns, tonumber(ARGV[7]), tonumber(ARGV[8]), now, pacing)
  if id == 'busy' then
    turns_save(turns)
    write_all()
    return {dones, leases, 0}  -- groups at their cap were parked: the worker asks again
  end
  if not id then
    break
  end
  local attempt = tonumber(f[9] or 0) + 1  -- f: the record's TAKEN fields
  -- Nothing take() reads is among these writes: a leased task has left the ready indexes.
  later('ZADD', K_RUN, deadline, id)
  later('HSET', K_REC, id .. '|s', 'running', id .. '|a', attempt, id .. '|l', attempt,
    id .. '|st', now_s, id .. '|ut', now_s, id .. '|w', ARGV[4])
  local n = #leases
  leases[n + 1], leases[n + 2], leases[n + 3], leases[n + 4] = id, attempt, f[3], f[4]
  leases[n + 5], leases[n + 6], leases[n + 7] = tonumber(f[5]), tonumber(f[6] or 0), f[7] or '-'
  leases[n + 8] = f[8] or ''
end
turns_save(turns)
write_all()
if #leases > 0 then
  return {dones, leases, 0}
end

-- Nothing is ready: the worker is about to wait, so wake-ups sent until now are spent.
redis.call('DEL', K_WAKE)
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
return {dones, {}, wait}
