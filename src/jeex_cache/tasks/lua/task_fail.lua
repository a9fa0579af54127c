-- Record a failed delivery: schedule the retry, or bury the task after its last attempt.
-- KEYS[1] task record, KEYS[2] queue, KEYS[3] running, KEYS[4] dead.
-- ARGV[1] task ID, ARGV[2] the delivery's attempt (its lease), ARGV[3] error,
-- ARGV[4] retry delay ms, ARGV[5] status TTL ms.
-- Returns 'failed' (retry scheduled), 'dead', or '' when the lease is gone.
local f = redis.call('HMGET', KEYS[1], 'l', 'a', 'm')
if f[1] ~= ARGV[2] then
  return ''
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local now_s = string.format('%d', now)
-- The destination is written first: should a command fail, the task stays where it was.
if tonumber(f[2]) < tonumber(f[3]) then
  local due_s = string.format('%d', now + tonumber(ARGV[4]))
  redis.call('ZADD', KEYS[2], due_s, ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('HSET', KEYS[1], 's', 'failed', 'e', ARGV[3], 'ut', now_s, 'due', due_s, 'l', 0)
  return 'failed'
end
redis.call('ZADD', KEYS[4], now_s, ARGV[1])
-- Burials older than the status TTL have lost their records: trim at most 100 on the way.
local old = redis.call('ZCOUNT', KEYS[4], '-inf',
  '(' .. string.format('%d', now - tonumber(ARGV[5])))
if old > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, math.min(old, 100) - 1)
end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 's', 'dead', 'e', ARGV[3], 'ut', now_s, 'ft', now_s, 'l', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 'dead'
