-- One bounded step of a tag's invalidation in one project, on the members of the project's
-- index of the tag that a previous read (or step) listed: remove those entries that still
-- carry the tag, and hand back the next page. Once the tag index is empty, the tag leaves the
-- project's tag set. KEYS[1] the project's index of the tag, KEYS[2] project index, KEYS[3]
-- project's tag set, KEYS[4 ..] the listed entries. ARGV[1] tag name, ARGV[2] page size.
-- Returns {entries removed, members the tag index still holds, {next entry key, ...}}.
-- An entry rewritten since the read without the tag is skipped; with it, removed. One
-- written with the tag after this step is listed for the next step, or newer than the call.
local needle = '|' .. ARGV[1] .. '|'
local removed = 0
for i = 4, #KEYS do
  local tags = redis.call('HGET', KEYS[i], 'tg')
  if tags and string.find(tags, needle, 1, true) then
    removed = removed + redis.call('UNLINK', KEYS[i])
    redis.call('ZREM', KEYS[2], KEYS[i])
  end
  redis.call('ZREM', KEYS[1], KEYS[i])
end
local left = redis.call('ZCARD', KEYS[1])
if left == 0 then
  redis.call('ZREM', KEYS[3], ARGV[1])
end
return {removed, left, redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)}
