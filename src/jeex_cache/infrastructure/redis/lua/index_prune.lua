-- Drop the members of one index (a sorted set scored by expiry ms) that have expired.
-- KEYS[1] the index. Returns how many members were removed.
local t = redis.call('TIME')
local now = t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
return redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
