-- Cancel a task that waits to run (queued, or failed and awaiting its retry).
-- KEYS[1] task record. ARGV[1] status TTL ms.
-- Returns the task's queue name when cancelled ('' when the task is unknown, running or
-- finished): the caller then removes its queue entry, which lives in another slot. Should
-- that second step never come, the next claim to reach the entry drops it.
local f = redis.call('HMGET', KEYS[1], 's', 'q')
if f[1] ~= 'queued' and f[1] ~= 'failed' then
  return ''
end
local t = redis.call('TIME')
local now_s = string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
redis.call('HSET', KEYS[1], 's', 'cancelled', 'ut', now_s, 'ft', now_s, 'l', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return f[2]
