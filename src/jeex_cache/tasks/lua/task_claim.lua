-- Record a delivery's success (optional), then lease the next ready task of the queue to the
-- worker (optional): a busy worker settles one task and takes the next in one round trip.
-- Before leasing: deliveries whose visibility deadline passed unacknowledged (their worker
-- died or stalled) go back to their group, or to the dead-letter set after their last
-- attempt; delayed tasks and retries that fell due join their group (at most 32 of each).
-- ARGV[2] visibility timeout ms, ARGV[3] status TTL ms, ARGV[4] worker name,
-- ARGV[5] error of a lost last attempt ('%d': the attempt), ARGV[6] '1' to lease a task,
-- ARGV[7] most running tasks per group (0: no cap), ARGV[8] aging (every n-th claim of a
-- group takes its oldest task; 0: strict priority),
-- ARGV[9], ARGV[10], ARGV[11] the completed delivery's task ID, attempt (lease), result.
-- Returns {done, id, attempt, name, payload, max attempts, redeliveries, group}, or
-- {done, '', wait} with the ms until a task falls due or a deadline passes (-1: nothing
-- scheduled, nothing running); done is 1 when the completion was recorded, 0 when its lease
-- had passed to another delivery (the outcome is dropped), -1 when there was none.
local now = now_ms()
local now_s = fmt(now)
local ttl = ARGV[3]

local done = -1
if ARGV[9] then
  local id = ARGV[9]
  done = 0
  local f = rget(id, 'l', 's', 'e')
  if f[1] == ARGV[10] then
    leave_running(id)
    if f[2] ~= 'running' then
      -- A delivery given up for lost may still finish before its task is delivered again:
      -- the success stands, and the task leaves whichever set holds it.
      unready(id)
      redis.call('ZREM', K_SCHED, id)
      redis.call('ZREM', K_DEAD, id)
    end
    rset(id, 's', 'succeeded', 'r', ARGV[11], 'ut', now_s, 'ft', now_s, 'l', 0)
    if f[3] then
      rdel(id, 'e')
    end
    finished(id, now, ttl)
    done = 1
  end
end
if ARGV[6] ~= '1' then
  return {done}
end
sweep(now, 4)

for _, id in ipairs(redis.call('ZRANGEBYSCORE', K_RUN, '-inf', now_s, 'LIMIT', 0, 32)) do
  local f = rget(id, 's', 'a', 'm')
  leave_running(id)
  if f[1] == 'running' then
    if tonumber(f[2]) >= tonumber(f[3]) then
      -- The lease ('l') stays: a late acknowledgement of that delivery still wins.
      redis.call('ZADD', K_DEAD, now_s, id)
      trim_dead(now, ttl)
      rset(id, 's', 'dead', 'ut', now_s, 'ft', now_s, 'e', string.format(ARGV[5], tonumber(f[2])))
      finished(id, now, ttl)
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
local id = take(tonumber(ARGV[7]), tonumber(ARGV[8]), now)
if id == 'busy' then
  return {done, '', 0}  -- groups at their cap were parked: the worker asks again at once
end
if id then
  redis.call('ZADD', K_RUN, fmt(now + tonumber(ARGV[2])), id)
  local attempt = redis.call('HINCRBY', K_REC, id .. '|a', 1)
  rset(id, 's', 'running', 'l', attempt, 'st', now_s, 'ut', now_s, 'w', ARGV[4])
  local f = rget(id, 'n', 'p', 'm', 'rd', 'g')
  return {done, id, attempt, f[1], f[2], tonumber(f[3]), tonumber(f[4]), f[5]}
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
local deadline = redis.call('ZRANGE', K_RUN, 0, 0, 'WITHSCORES')[2]
if deadline and (wait < 0 or tonumber(deadline) - now < wait) then
  wait = math.max(tonumber(deadline) - now, 0)
end
return {done, '', wait}
