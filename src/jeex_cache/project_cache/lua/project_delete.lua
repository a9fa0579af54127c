-- Remove one entry and its place in the project index. KEYS[1] entry, KEYS[2] project index.
-- Tag indexes are left: invalidation checks an entry's own tags before removing it.
local removed = redis.call('UNLINK', KEYS[1])
redis.call('ZREM', KEYS[2], KEYS[1])
return removed
