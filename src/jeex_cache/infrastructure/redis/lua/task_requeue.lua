-- Queue dead tasks again, with a fresh set of attempts; the last error stays on record.
-- KEYS[1] dead, KEYS[2] queue, KEYS[3] wake-up list.
-- ARGV[1], ARGV[2] the text before and after a task ID in its record's key,
-- ARGV[3] most wake-up tokens, ARGV[4...] the task IDs (none: every dead task).
-- Returns how many tasks were queued again.
local ids = {}
if #ARGV > 3 then
  for i = 4, #ARGV do
    ids[#ids + 1] = ARGV[i]
  end
else
  ids = redis.call('ZRANGE', KEYS[1], 0, -1)
end
local t = redis.call('TIME')
local now_s = string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
local requeued = 0
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
  end
end
if requeued > 0 then
  redis.call('LPUSH', KEYS[3], 1)
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[3]) - 1)
end
return requeued
