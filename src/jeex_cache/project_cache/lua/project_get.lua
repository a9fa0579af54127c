-- Read one entry's payload and count the access in the same step (the hot path).
-- KEYS[1] entry hash. Returns the payload, or nil on a miss.
local payload = redis.call('HGET', KEYS[1], 'd')
if not payload then
  return false
end
local t = redis.call('TIME')
redis.call('HINCRBY', KEYS[1], 'ac', 1)
redis.call('HSET', KEYS[1], 'la', t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000)))
return payload
