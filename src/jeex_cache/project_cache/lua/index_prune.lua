-- Drop at most ARGV[1] members of one index (a sorted set scored by expiry ms) that have
-- expired, the oldest first. KEYS[1] the index. Returns how many members were removed: the
-- caller asks again while that is ARGV[1].
local t = redis.call('TIME')
local now = t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
local stale = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. now)
if stale == 0 then
  return 0
end
return redis.call('ZREMRANGEBYRANK', KEYS[1], 0, math.min(stale, tonumber(ARGV[1])) - 1)
