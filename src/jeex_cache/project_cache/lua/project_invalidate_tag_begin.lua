-- The first step of a tag's invalidation in one project: revoke the fill tokens of the
-- project's loads in flight whose value would carry the tag, and list the first page of the
-- project's index of the tag. KEYS[1] the project's index of the tag, KEYS[2] the project's
-- fill tokens. ARGV[1] tag name, ARGV[2] page size. Returns {entry key, ...}.
-- The fill tokens are the project's loads in flight: a few, so reading them all is cheap.
local needle = '|' .. ARGV[1] .. '|'
local fills = redis.call('HGETALL', KEYS[2])
for i = 1, #fills, 2 do
  if string.find(fills[i + 1], needle, 1, true) then
    redis.call('HDEL', KEYS[2], fills[i])
  end
end
return redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
