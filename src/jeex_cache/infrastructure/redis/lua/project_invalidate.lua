-- Remove every entry of one project, found through its index (never a keyspace SCAN).
-- KEYS[1] project index, KEYS[2] project's tag set. ARGV[1] the project's key prefix.
-- The tags' project registries live in other slots; they are left to expire: a registry
-- that names a project without tagged entries costs an empty visit, never a missed entry.
local removed = 0
local entries = redis.call('ZRANGE', KEYS[1], 0, -1)
for i = 1, #entries do
  removed = removed + redis.call('UNLINK', entries[i])
end
local tags = redis.call('ZRANGE', KEYS[2], 0, -1)
for i = 1, #tags do
  redis.call('UNLINK', ARGV[1] .. 'tag:' .. tags[i])
end
redis.call('UNLINK', KEYS[1], KEYS[2])
return removed
