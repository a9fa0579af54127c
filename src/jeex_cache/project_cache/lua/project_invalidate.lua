-- One bounded step of a project's invalidation: remove at most ARGV[2] of its entries,
-- found through its index (never a keyspace SCAN), lowest expiry first; once the index is
-- empty, the project's tag indexes, as many per step. The caller repeats until done, so no
-- step holds the server for long however large the project.
-- KEYS[1] project index, KEYS[2] project's tag set. ARGV[1] the project's key prefix,
-- ARGV[2] most keys one step touches.
-- Returns {entries removed, how many index and tag-set members remain}.
-- Between steps every key still listed is either there or gone: a reader finds an entry or
-- a miss, never half of one. The tags' project registries live in other slots; they are left
-- to expire: a registry that names a project without tagged entries costs an empty visit.
local budget = tonumber(ARGV[2])
local removed = 0
local entries = redis.call('ZRANGE', KEYS[1], 0, budget - 1)
for i = 1, #entries do
  removed = removed + redis.call('UNLINK', entries[i])
end
if #entries > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, #entries - 1)
end
budget = budget - #entries
if budget > 0 then
  local tags = redis.call('ZRANGE', KEYS[2], 0, budget - 1)
  for i = 1, #tags do
    redis.call('UNLINK', ARGV[1] .. 'tag:' .. tags[i])
  end
  if #tags > 0 then
    redis.call('ZREMRANGEBYRANK', KEYS[2], 0, #tags - 1)
  end
end
return {removed, redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2])}
