-- A worker's heartbeat: move the visibility deadlines of its running deliveries on.
-- ARGV[2] visibility timeout ms, then pairs: task ID, the delivery's attempt (its lease).
-- Returns how many deliveries still held their lease.
local deadline = fmt(now_ms() + tonumber(ARGV[2]))
local held = 0
for i = 3, #ARGV, 2 do
  local f = rget(ARGV[i], 'l', 's')
  if f[1] == ARGV[i + 1] and f[2] == 'running' then
    redis.call('ZADD', K_RUN, 'XX', deadline, ARGV[i])
    held = held + 1
  end
end
return held
