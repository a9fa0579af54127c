-- Remove one entry, its place in the project index and the fill token of a load of it in
-- flight (that load's value then never lands). KEYS[1] entry, KEYS[2] project index, KEYS[3]
-- project's fill tokens. Tag indexes are left: invalidation checks an entry's own tags
-- before removing it.
local removed = redis.call('UNLINK', KEYS[1])
redis.call('ZREM', KEYS[2], KEYS[1])
redis.call('HDEL', KEYS[3], KEYS[1])
return removed
