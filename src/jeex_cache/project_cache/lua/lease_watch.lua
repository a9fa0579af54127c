-- Register a waiter on a held lease, atomically with the check that it is held: a release
-- either happened before (0: look again) or will see this waiter and wake it.
-- KEYS[1] lease, KEYS[2] waiter count. ARGV[1] the count's lifetime ms.
-- Returns the lease's remaining ms (at least 1), or 0 when none is held.
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  return 0
end
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return math.max(left, 1)
