-- One bounded step of a project's invalidation, on the members a previous read (or the
-- previous step) listed: remove the given entries, then the given tag indexes, and hand back
-- the next page to remove. The caller repeats until done, so no step holds the server long.
-- KEYS[1] project index, KEYS[2] project's tag set, KEYS[3 .. 2+n] entries (n = ARGV[1]),
-- then the project's tag indexes, one per tag name ARGV[3 ..]. ARGV[2] the page size.
-- Returns {entries removed, index and tag-set members left, {entry key, ...}, {tag, ...}}:
-- the next page, entries first, at most ARGV[2] members in all.
-- Every key touched is declared: the entries come from the reply of the step before. An
-- entry rewritten since that read is removed too (it is listed again, under the same key);
-- one first written after it is left: it is newer than this invalidation's start.
-- A step lists at most ARGV[2] (500) keys, so one UNLINK and one ZREM take them all: unpack()
-- of that many is well within Lua's C stack (8000).
local n = tonumber(ARGV[1])
local page = tonumber(ARGV[2])
local removed = 0
if n > 0 then
  removed = redis.call('UNLINK', unpack(KEYS, 3, 2 + n))
  redis.call('ZREM', KEYS[1], unpack(KEYS, 3, 2 + n))
end
if #KEYS > 2 + n then
  redis.call('UNLINK', unpack(KEYS, 3 + n, #KEYS))
  redis.call('ZREM', KEYS[2], unpack(ARGV, 3, #ARGV))
end
local entries = redis.call('ZRANGE', KEYS[1], 0, page - 1)
local tags = {}
if #entries < page then
  tags = redis.call('ZRANGE', KEYS[2], 0, page - #entries - 1)
end
return {removed, redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2]), entries, tags}
