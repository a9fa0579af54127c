-- Queue dead tasks again, with a fresh set of attempts; the last error stays on record.
-- KEYS[1] dead, KEYS[2] queue, KEYS[3] wake-up list.
-- ARGV[1], ARGV[2] the text before and after a task ID in its record's key,
-- ARGV[3] most wake-up tokens, ARGV[4] page size, ARGV[5] the rank the page starts at,
-- ARGV[6...] the task IDs (none: the page of the dead set from ARGV[5], ARGV[4] long).
-- Returns {requeued, kept, more}: how many were queued again, how many of those looked at
-- stay in the set (the next page starts that much further), and 1 if the page was full.
local ids = {}
local more = 0
if #ARGV > 5 then
  for i = 6, #ARGV do
    ids[#ids + 1] = ARGV[i]
  end
else
  local start = tonumber(ARGV[5])
  ids = redis.call('ZRANGE', KEYS[1], start, start + tonumber(ARGV[4]) - 1)
  if #ids == tonumber(ARGV[4]) then
    more = 1
  end
end
local t = redis.call('TIME')
local now_s = string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
local requeued, kept = 0, 0
for _, id in ipairs(ids) do
  local record = ARGV[1] .. id .. ARGV[2]
  if redis.call('ZSCORE', KEYS[1], id) and redis.call('HGET', record, 's') == 'dead' then
    redis.call('ZADD', KEYS[2], now_s, id)
    redis.call('ZREM', KEYS[1], id)
    redis.call('HSET', record, 's', 'queued', 'a', 0, 'l', 0, 'ut', now_s, 'due', now_s)
    redis.call('HDEL', record, 'ft')
    redis.call('PERSIST', record)
    requeued = requeued + 1
  elseif redis.call('EXISTS', record) == 0 then
    redis.call('ZREM', KEYS[1], id)
  else
    kept = kept + 1
  end
end
if requeued > 0 then
  redis.call('LPUSH', KEYS[3], 1)
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[3]) - 1)
end
return {requeued, kept, more}
