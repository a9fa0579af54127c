-- Give a held lease more time, only for its holder; its fill token lives as long.
-- KEYS[1] lease, KEYS[2] project's fill tokens. ARGV[1] token, ARGV[2] lease ms.
-- Returns 1 when extended, 0 when not held.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 1
