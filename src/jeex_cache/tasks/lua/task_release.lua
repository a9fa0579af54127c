-- Give a running delivery back to the head of its queue (its worker is shutting down); the
-- attempt is not counted.
-- KEYS[1] task record, KEYS[2] queue, KEYS[3] running, KEYS[4] wake-up list.
-- ARGV[1] task ID, ARGV[2] the delivery's attempt (its lease), ARGV[3] most wake-up tokens.
-- Returns 1, or 0 when the delivery no longer runs under that lease.
local f = redis.call('HMGET', KEYS[1], 'l', 's')
if f[1] ~= ARGV[2] or f[2] ~= 'running' then
  return 0
end
local t = redis.call('TIME')
local now_s = string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
redis.call('ZADD', KEYS[2], now_s, ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'a', -1)
redis.call('HSET', KEYS[1], 's', 'queued', 'ut', now_s, 'due', now_s, 'l', 0)
redis.call('LPUSH', KEYS[4], 1)
redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[3]) - 1)
return 1
