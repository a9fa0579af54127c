-- One bounded step of a tag's invalidation in one project, on the members of the project's
-- index of the tag that a previous read (or step) listed: remove those entries that still
-- carry the tag, and hand back the next page. Once the tag index is empty, the tag leaves the
-- project's tag set. KEYS[1] the project's index of the tag, KEYS[2] project index, KEYS[3]
-- project's tag set, KEYS[4 ..] the listed entries. ARGV[1] tag name, ARGV[2] page size.
-- Returns {entries removed, members the tag index still holds, {next entry key, ...}}.
-- An entry rewritten since the read without the tag is skipped; with it, removed. One
-- written with the tag after this step is listed for the next step, or newer than the call.
-- A step lists at most ARGV[2] (200) keys: one UNLINK and one ZREM per index take them all
-- (unpack() of that many is well within Lua's C stack).
local needle = '|' .. ARGV[1] .. '|'
local removed = 0
local tagged = {}
for i = 4, #KEYS do
  local tags = redis.call('HGET', KEYS[i], 'tg')
  if tags and string.find(tags, needle, 1, true) then
    tagged[#tagged + 1] = KEYS[i]
  end
end
if #tagged > 0 then
  removed = redis.call('UNLINK', unpack(tagged))
  redis.call('ZREM', KEYS[2], unpack(tagged))
end
if #KEYS > 3 then
  redis.call('ZREM', KEYS[1], unpack(KEYS, 4, #KEYS))
end
local left = redis.call('ZCARD', KEYS[1])
if left == 0 then
  redis.call('ZREM', KEYS[3], ARGV[1])
end
return {removed, left, redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)}
