-- The first step of a project's invalidation: revoke the fill tokens of every load of the
-- project in flight (their values never land), and list the first page to remove.
-- KEYS[1] project index, KEYS[2] project's tag set, KEYS[3] project's fill tokens.
-- ARGV[1] the page size. Returns {{entry key, ...}, {tag, ...}}: at most ARGV[1] members.
local page = tonumber(ARGV[1])
redis.call('DEL', KEYS[3])
local entries = redis.call('ZRANGE', KEYS[1], 0, page - 1)
local tags = {}
if #entries < page then
  tags = redis.call('ZRANGE', KEYS[2], 0, page - #entries - 1)
end
return {entries, tags}
