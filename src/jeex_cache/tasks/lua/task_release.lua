-- Give a running delivery back to its group, in its old place (its worker is shutting
-- down, or its project is paused: a handler met an upstream rate limit); the attempt is
-- not counted.
-- ARGV[2] task ID, ARGV[3] the delivery's attempt (its lease), ARGV[4] most wake-up tokens,
-- ARGV[5] ms to pause the task's group for (0: no pause).
-- Returns 1, or 0 when the delivery no longer runs under that lease.
local id = ARGV[2]
local f = rget(id, 'l', 's')
if f[1] ~= ARGV[3] or f[2] ~= 'running' then
  return 0
end
local now = now_ms()
local now_s = fmt(now)
local pause = tonumber(ARGV[5] or 0)
if pause > 0 then
  local g = rget(id, 'g')[1] or '-'
  local until_ = math.max(now + pause, tonumber(redis.call('HGET', K_META, 'hold|' .. g) or 0))
  redis.call('HSET', K_META, 'hold|' .. g, fmt(until_))
  pace_out(g, until_)
end
leave_running(id)
redis.call('HINCRBY', K_REC, id .. '|a', -1)
rset(id, 's', 'queued', 'ut', now_s, 'due', now_s, 'l', 0)
make_ready(id, true)
wake(ARGV[4])
return 1
