-- Record the success of a delivery, unless another delivery holds the task's lease now.
-- KEYS[1] task record, KEYS[2] queue, KEYS[3] running, KEYS[4] dead.
-- ARGV[1] task ID, ARGV[2] the delivery's attempt (its lease), ARGV[3] result (JSON),
-- ARGV[4] status TTL ms.
-- Returns 1, or 0 when the lease is gone (the outcome is dropped).
if redis.call('HGET', KEYS[1], 'l') ~= ARGV[2] then
  return 0
end
local t = redis.call('TIME')
local now_s = string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
-- A delivery given up for lost may still finish before its task is delivered again: the
-- success stands, and the task leaves whichever set holds it.
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('HSET', KEYS[1], 's', 'succeeded', 'r', ARGV[3], 'ut', now_s, 'ft', now_s, 'l', 0)
redis.call('HDEL', KEYS[1], 'e')
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
