-- Grant (ARGV[2] '1') or revoke ('0') one project, field ARGV[1] ('p:<project>') of the
-- record KEYS[1]. Only a live record is changed: an HSET on a missing key would create a
-- record without expiry. Returns {user, changed (0 or 1)}, or false when no session.
local user = redis.call('HGET', KEYS[1], 'u')
if not user then
  return false
end
local changed
if ARGV[2] == '1' then
  changed = redis.call('HSET', KEYS[1], ARGV[1], '1')
else
  changed = redis.call('HDEL', KEYS[1], ARGV[1])
end
return {user, changed}
