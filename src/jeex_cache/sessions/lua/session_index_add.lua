-- Add a session to its user's index, scored by creation time in microseconds, and hand the
-- index back when it lists more sessions than the cap (the caller then evicts).
-- KEYS[1] the user's session index, KEYS[2] its recent additions (digest -> ms, kept ARGV[5]
-- ms: session_index_prune.lua spares those). ARGV[1] the session's digest; ARGV[2] the cap
-- (0: never report); ARGV[3] the absolute lifetime (ms); ARGV[4] the digest it replaces, or
-- '' (a rotation keeps the old score: the session's age does not change with its name).
-- Members older than the absolute lifetime are dead whatever they did: pruned on the way.
local index, adds = KEYS[1], KEYS[2]
local t = redis.call('TIME')
local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
local now_ms = math.floor(now_us / 1000)
local pending = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', adds, '-inf', '(' .. string.format('%d', now_ms - pending))
redis.call('ZADD', adds, string.format('%d', now_ms), ARGV[1])
redis.call('PEXPIRE', adds, pending)
local score = now_us
if ARGV[4] ~= '' then
  local old = redis.call('ZSCORE', index, ARGV[4])
  if old then
    score = tonumber(old)
  end
  redis.call('ZREM', index, ARGV[4])
  redis.call('ZREM', adds, ARGV[4])
end
redis.call('ZADD', index, string.format('%d', score), ARGV[1])
local lifetime = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. string.format('%d', now_us - lifetime * 1000))
-- The index must outlive every session it lists: none lives longer than its lifetime.
if redis.call('PTTL', index) < lifetime then
  redis.call('PEXPIRE', index, lifetime)
end
local cap = tonumber(ARGV[2])
if cap > 0 and redis.call('ZCARD', index) > cap then
  return redis.call('ZRANGE', index, 0, -1)
end
return {}
