-- Give a running delivery back to its group, in its old place (its worker is shutting
-- down); the attempt is not counted.
-- ARGV[2] task ID, ARGV[3] the delivery's attempt (its lease), ARGV[4] most wake-up tokens.
-- Returns 1, or 0 when the delivery no longer runs under that lease.
local id = ARGV[2]
local f = rget(id, 'l', 's')
if f[1] ~= ARGV[3] or f[2] ~= 'running' then
  return 0
end
local now_s = fmt(now_ms())
leave_running(id)
redis.call('HINCRBY', K_REC, id .. '|a', -1)
rset(id, 's', 'queued', 'ut', now_s, 'due', now_s, 'l', 0)
make_ready(id, true)
wake(ARGV[4])
return 1
