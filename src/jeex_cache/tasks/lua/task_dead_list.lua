-- One bounded page of a queue's dead-letter set, oldest first, with each task's record.
-- KEYS[1] dead (task IDs by burial time, ms).
-- ARGV[1], ARGV[2] the text before and after a task ID in its record's key,
-- ARGV[3] page size, ARGV[4] status TTL ms (older burials have expired),
-- ARGV[5] the previous page's last ID ('' for the first page), ARGV[6] its burial ms.
-- Returns {more, last id, last burial, id, {field, value, ...}, id, {...}, ...}; more is 1
-- when the page was full. A page starts after the last ID (or, should it be gone, at the
-- first burial of the same ms: repeats are dropped by the caller).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local size = tonumber(ARGV[3])
local old = redis.call('ZCOUNT', KEYS[1], '-inf',
  '(' .. string.format('%d', now - tonumber(ARGV[4])))
if old > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, math.min(old, size) - 1)
end
local start = 0
if ARGV[5] ~= '' then
  start = redis.call('ZRANK', KEYS[1], ARGV[5])
  if start then
    start = start + 1
  else
    start = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[6])
  end
end
local page = redis.call('ZRANGE', KEYS[1], start, start + size - 1, 'WITHSCORES')
local out = {0, '', ''}
if #page == 2 * size then
  out[1], out[2], out[3] = 1, page[#page - 1], page[#page]
end
for i = 1, #page, 2 do
  local id = page[i]
  local fields = redis.call('HGETALL', ARGV[1] .. id .. ARGV[2])
  if #fields == 0 then
    redis.call('ZREM', KEYS[1], id)
  else
    out[#out + 1] = id
    out[#out + 1] = fields
  end
end
return out
