-- The cross-project step of a tagged write, run BEFORE the entry is written (the entry lives
-- in the project's slot, this registry in the tag's): list the project in the tag's registry,
-- scored by the latest expiry of what it stands for. So the registry always lists every
-- project holding a live entry with the tag (it may list more: an invalidation skips those).
-- KEYS[1] the tag's project registry. ARGV[1] the project ID, ARGV[2] the entry's ttl (ms).
-- The score carries 60 s of slack: this node's clock and the entry's node's may differ.
-- Returns 1.
local registry = KEYS[1]
local ttl = tonumber(ARGV[2]) + 60000
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- At most 100 members past their expiry go first: they stand for nothing live any more.
local stale = redis.call('ZCOUNT', registry, '-inf', '(' .. string.format('%d', now))
if stale > 0 then
  redis.call('ZREMRANGEBYRANK', registry, 0, math.min(stale, 100) - 1)
end
redis.call('ZADD', registry, 'GT', string.format('%d', now + ttl), ARGV[1])
if redis.call('PTTL', registry) < ttl then
  redis.call('PEXPIRE', registry, ttl)
end
return 1
