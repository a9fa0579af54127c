-- A worker's heartbeat: move the visibility deadlines of its running deliveries on.
-- KEYS[1] running (by deadline ms).
-- ARGV[1], ARGV[2] the text before and after a task ID in its record's key,
-- ARGV[3] visibility timeout ms, then pairs: task ID, the delivery's attempt (its lease).
-- Returns how many deliveries still held their lease.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local deadline = string.format('%d', now + tonumber(ARGV[3]))
local held = 0
for i = 4, #ARGV, 2 do
  local f = redis.call('HMGET', ARGV[1] .. ARGV[i] .. ARGV[2], 'l', 's')
  if f[1] == ARGV[i + 1] and f[2] == 'running' then
    redis.call('ZADD', KEYS[1], 'XX', deadline, ARGV[i])
    held = held + 1
  end
end
return held
