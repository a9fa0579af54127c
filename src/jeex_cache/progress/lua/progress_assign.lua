-- Record the project that owns an operation, unless it has an owner already. The operation
-- may not have started yet (a queued task): the record then holds only the owner ('pj', and
-- no 'n', so every reader still sees an unknown operation) for ARGV[2] ms, and
-- progress_start.lua keeps it. A started record keeps its own expiry.
-- KEYS[1] record hash. ARGV[1] project, ARGV[2] ttl ms (for an owner waiting for its start).
-- Returns 1 when recorded, 0 when the operation has an owner.
local fresh = redis.call('EXISTS', KEYS[1]) == 0
if redis.call('HSETNX', KEYS[1], 'pj', ARGV[1]) == 0 then
  local current = redis.call('HGET', KEYS[1], 'pj')
  if current ~= '' then
    return 0
  end
  redis.call('HSET', KEYS[1], 'pj', ARGV[1])
end
if fresh then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
