-- One bounded page of a queue's dead-letter set, oldest first, with each task's record.
-- ARGV[2] page size, ARGV[3] status TTL ms (older burials have expired),
-- ARGV[4] the previous page's last ID ('' for the first page), ARGV[5] its burial ms.
-- Returns {more, last id, last burial, id, {field, value, ...}, id, {...}, ...}; more is 1
-- when the page was full. A page starts after the last ID (or, should it be gone, at the
-- first burial of the same ms: repeats are dropped by the caller).
local now = now_ms()
local size = tonumber(ARGV[2])
trim_dead(now, ARGV[3])
local start = 0
if ARGV[4] ~= '' then
  start = redis.call('ZRANK', K_DEAD, ARGV[4])
  if start then
    start = start + 1
  else
    start = redis.call('ZCOUNT', K_DEAD, '-inf', '(' .. ARGV[5])
  end
end
local page = redis.call('ZRANGE', K_DEAD, start, start + size - 1, 'WITHSCORES')
local out = {0, '', ''}
if #page == 2 * size then
  out[1], out[2], out[3] = 1, page[#page - 1], page[#page]
end
for i = 1, #page, 2 do
  local id = page[i]
  if not status_of(id, now) then
    redis.call('ZREM', K_DEAD, id)
  else
    push(out, id, record_of(id))
  end
end
return out
