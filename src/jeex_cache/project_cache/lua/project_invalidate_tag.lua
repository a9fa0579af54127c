-- One bounded step of a tag's invalidation in one project: look at most ARGV[2] members of
-- the project's index of the tag, and remove those entries that still carry the tag. The
-- caller repeats until done. Once the tag index is empty, the tag leaves the project's set.
-- KEYS[1] the project's index of the tag, KEYS[2] project index, KEYS[3] project's tag set.
-- ARGV[1] tag name, ARGV[2] most members one step looks at.
-- Returns {entries removed, how many members the tag index still holds}. An index member
-- whose entry was rewritten without the tag is skipped.
local needle = '|' .. ARGV[1] .. '|'
local removed = 0
local entries = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
for i = 1, #entries do
  local tags = redis.call('HGET', entries[i], 'tg')
  if tags and string.find(tags, needle, 1, true) then
    removed = removed + redis.call('UNLINK', entries[i])
    redis.call('ZREM', KEYS[2], entries[i])
  end
end
if #entries > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, #entries - 1)
end
local left = redis.call('ZCARD', KEYS[1])
if left == 0 then
  redis.call('ZREM', KEYS[3], ARGV[1])
end
return {removed, left}
