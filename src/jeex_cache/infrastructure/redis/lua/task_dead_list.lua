-- The dead-letter set of a queue, oldest first, with each task's record.
-- KEYS[1] dead (task IDs by burial time, ms).
-- ARGV[1], ARGV[2] the text before and after a task ID in its record's key,
-- ARGV[3] the most tasks returned, ARGV[4] status TTL ms (older burials have expired).
-- Returns {id, {field, value, ...}, id, {...}, ...}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf',
  '(' .. string.format('%d', now - tonumber(ARGV[4])))
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)) do
  local fields = redis.call('HGETALL', ARGV[1] .. id .. ARGV[2])
  if #fields == 0 then
    redis.call('ZREM', KEYS[1], id)
  else
    out[#out + 1] = id
    out[#out + 1] = fields
  end
end
return out
