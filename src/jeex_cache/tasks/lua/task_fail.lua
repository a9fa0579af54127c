-- Record a failed delivery: schedule the retry, or bury the task after its last attempt.
-- ARGV[2] task ID, ARGV[3] the delivery's attempt (its lease), ARGV[4] error,
-- ARGV[5] retry delay ms, ARGV[6] status TTL ms.
-- Returns 'failed' (retry scheduled), 'dead', or '' when the lease is gone.
local id = ARGV[2]
local f = rget(id, 'l', 'a')
if f[1] ~= ARGV[3] then
  return ''
end
f[3] = max_attempts(id)
local now = now_ms()
local now_s = fmt(now)
leave_running(id)
unready(id)
if tonumber(f[2]) < tonumber(f[3]) then
  local due_s = fmt(now + tonumber(ARGV[5]))
  redis.call('ZADD', K_SCHED, due_s, id)
  rset(id, 's', 'failed', 'e', ARGV[4], 'ut', now_s, 'due', due_s, 'l', 0)
  return 'failed'
end
redis.call('ZADD', K_DEAD, now_s, id)
trim_dead(now, ARGV[6])
redis.call('ZREM', K_SCHED, id)
rset(id, 's', 'dead', 'e', ARGV[4], 'ut', now_s, 'ft', now_s, 'l', 0)
finished(id, now, ARGV[6])
return 'dead'
