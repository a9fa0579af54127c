-- Read a whole entry (payload, version, times, statistics, tags) and count the access.
-- KEYS[1] entry hash. Returns {d, ver, ct, ex, ac, la, tg}, or nil on a miss.
if redis.call('HEXISTS', KEYS[1], 'd') == 0 then
  return false
end
local t = redis.call('TIME')
redis.call('HINCRBY', KEYS[1], 'ac', 1)
redis.call('HSET', KEYS[1], 'la', t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000)))
return redis.call('HMGET', KEYS[1], 'd', 'ver', 'ct', 'ex', 'ac', 'la', 'tg')
