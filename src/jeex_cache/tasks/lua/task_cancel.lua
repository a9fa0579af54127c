-- Cancel a task that waits to run (queued, or failed and awaiting its retry).
-- ARGV[2] task ID, ARGV[3] status TTL ms. Returns 1 when cancelled, else 0.
local id = ARGV[2]
local now = now_ms()
local status = status_of(id, now)
if status ~= 'queued' and status ~= 'failed' then
  return 0
end
unready(id)
redis.call('ZREM', K_SCHED, id)
local now_s = fmt(now)
rset(id, 's', 'cancelled', 'ut', now_s, 'ft', now_s, 'l', 0)
finished(id, now, ARGV[3])
return 1
