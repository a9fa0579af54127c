-- Cancel a task that waits to run (queued, or failed and awaiting its retry). Its queue
-- entry is dropped by the next claim that reaches it.
-- KEYS[1] task record. ARGV[1] status TTL ms.
-- Returns 1 when cancelled, 0 when the task is unknown, running or finished.
local status = redis.call('HGET', KEYS[1], 's')
if status ~= 'queued' and status ~= 'failed' then
  return 0
end
local t = redis.call('TIME')
local now_s = string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
redis.call('HSET', KEYS[1], 's', 'cancelled', 'ut', now_s, 'ft', now_s, 'l', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
