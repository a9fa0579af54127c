-- Record a delivery's success (optional), then lease the first due task of the queue to the
-- worker (optional): a busy worker settles one task and takes the next in one round trip.
-- Before leasing, deliveries whose visibility deadline passed unacknowledged (their worker
-- died or stalled) go back to the queue, or to the dead-letter set after their last attempt.
-- KEYS[1] queue (by due ms), KEYS[2] running (by deadline ms), KEYS[3] dead (by ms),
-- KEYS[4] wake-up list.
-- ARGV[1], ARGV[2] the text before and after a task ID in its record's key,
-- ARGV[3] visibility timeout ms, ARGV[4] status TTL ms, ARGV[5] worker name,
-- ARGV[6] error of a lost last attempt ('%d': the attempt), ARGV[7] '1' to lease a task,
-- ARGV[8], ARGV[9], ARGV[10] the completed delivery's task ID, attempt (its lease), result.
-- Returns {done, id, attempt, name, payload, max attempts, redeliveries}, or {done, '', wait}
-- with the ms until a task falls due or a deadline passes (-1: nothing scheduled, nothing
-- running); done is 1 when the completion was recorded, 0 when its lease had passed to
-- another delivery (the outcome is dropped), -1 when there was none.
-- Each move writes its destination first: should a command fail (a key of the wrong type),
-- the task is still where it was, never in no set at all.
local queue, running, dead, wake = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local head, tail = ARGV[1], ARGV[2]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local now_s = string.format('%d', now)

local done = -1
if ARGV[8] then
  local id = ARGV[8]
  local record = head .. id .. tail
  done = 0
  if redis.call('HGET', record, 'l') == ARGV[9] then
    -- A delivery given up for lost may still finish before its task is delivered again:
    -- the success stands, and the task leaves whichever set holds it.
    redis.call('ZREM', queue, id)
    redis.call('ZREM', running, id)
    redis.call('ZREM', dead, id)
    redis.call('HSET', record, 's', 'succeeded', 'r', ARGV[10], 'ut', now_s, 'ft', now_s, 'l', 0)
    redis.call('HDEL', record, 'e')
    redis.call('PEXPIRE', record, ARGV[4])
    done = 1
  end
end
if ARGV[7] ~= '1' then
  return {done}
end

for _, id in ipairs(redis.call('ZRANGEBYSCORE', running, '-inf', now_s, 'LIMIT', 0, 32)) do
  local record = head .. id .. tail
  local f = redis.call('HMGET', record, 's', 'a', 'm')
  if f[1] == 'running' then
    if tonumber(f[2]) >= tonumber(f[3]) then
      -- The lease ('l') stays: a late acknowledgement of that delivery still wins.
      redis.call('ZADD', dead, now_s, id)
      -- Burials older than the status TTL have lost their records: trim at most 100.
      local old = redis.call('ZCOUNT', dead, '-inf',
        '(' .. string.format('%d', now - tonumber(ARGV[4])))
      if old > 0 then
        redis.call('ZREMRANGEBYRANK', dead, 0, math.min(old, 100) - 1)
      end
      redis.call('ZREM', running, id)
      redis.call('HSET', record, 's', 'dead', 'ut', now_s, 'ft', now_s,
        'e', string.format(ARGV[6], tonumber(f[2])))
      redis.call('PEXPIRE', record, ARGV[4])
    else
      redis.call('ZADD', queue, now_s, id)
      redis.call('ZREM', running, id)
      redis.call('HSET', record, 's', 'queued', 'ut', now_s, 'due', now_s)
      redis.call('HINCRBY', record, 'rd', 1)
    end
  else
    redis.call('ZREM', running, id)
  end
end

-- Entries whose task was cancelled (or expired) while queued are dropped on the way, at most
-- 100 per call (cancelling removes its own entry; these are what a crash left behind). The
-- head is read alone first: it is almost always live, and reading 100 IDs per claim cost
-- more than the rest of the script.
local checked, stale, batch = 0, {}, 1
while checked < 100 do
  local due = redis.call('ZRANGEBYSCORE', queue, '-inf', now_s, 'LIMIT', checked, batch)
  for _, id in ipairs(due) do
    checked = checked + 1
    local record = head .. id .. tail
    local status = redis.call('HGET', record, 's')
    if status == 'queued' or status == 'failed' then
      if #stale > 0 then
        redis.call('ZREM', queue, unpack(stale))
      end
      redis.call('ZADD', running, string.format('%d', now + tonumber(ARGV[3])), id)
      redis.call('ZREM', queue, id)
      local attempt = redis.call('HINCRBY', record, 'a', 1)
      redis.call('HSET', record, 's', 'running', 'l', attempt, 'st', now_s, 'ut', now_s,
        'w', ARGV[5])
      local f = redis.call('HMGET', record, 'n', 'p', 'm', 'rd')
      return {done, id, attempt, f[1], f[2], tonumber(f[3]), tonumber(f[4])}
    end
    stale[#stale + 1] = id
  end
  if #due < batch then
    break  -- nothing more is due
  end
  batch = 100 - checked
end
if #stale > 0 then
  redis.call('ZREM', queue, unpack(stale))
end
if checked == 100 then
  return {done, '', 0}  -- more may be due: the worker asks again at once
end

-- Nothing is due: the worker is about to wait, so wake-ups sent until now are spent.
redis.call('DEL', wake)
local wait = -1
local first = redis.call('ZRANGE', queue, 0, 0, 'WITHSCORES')[2]
if first then
  wait = tonumber(first) - now
end
local deadline = redis.call('ZRANGE', running, 0, 0, 'WITHSCORES')[2]
if deadline and (wait < 0 or tonumber(deadline) - now < wait) then
  wait = math.max(tonumber(deadline) - now, 0)
end
return {done, '', wait}
