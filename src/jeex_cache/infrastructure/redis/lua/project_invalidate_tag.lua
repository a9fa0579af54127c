-- Remove the entries of one project that carry a tag.
-- KEYS[1] the project's index of the tag, KEYS[2] project index, KEYS[3] project's tag set.
-- ARGV[1] tag name. An index member whose entry was rewritten without the tag is skipped.
local needle = '|' .. ARGV[1] .. '|'
local removed = 0
local entries = redis.call('ZRANGE', KEYS[1], 0, -1)
for i = 1, #entries do
  local tags = redis.call('HGET', entries[i], 'tg')
  if tags and string.find(tags, needle, 1, true) then
    removed = removed + redis.call('UNLINK', entries[i])
    redis.call('ZREM', KEYS[2], entries[i])
  end
end
redis.call('UNLINK', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return removed
