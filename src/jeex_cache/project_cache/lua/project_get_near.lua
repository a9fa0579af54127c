-- The near cache's read: the payload with the entry's remaining TTL and tags, so that an
-- in-process copy never outlives the entry and a tag invalidation finds it. Read-only: a
-- write (project_get.lua's access count) would make Redis invalidate the key it just read,
-- in this process and in every other one tracking the project prefix.
-- KEYS[1] entry hash. Returns {payload, pttl ms, '|tag|tag|'}, or nil on a miss.
local row = redis.call('HMGET', KEYS[1], 'd', 'tg')
if not row[1] then
  return false
end
return {row[1], redis.call('PTTL', KEYS[1]), row[2] or ''}
