-- Take an entry's lease unless someone holds it, or the entry was loaded meanwhile; with the
-- lease, record the load's fill token (before its loader reads the database), which every
-- later write, delete and invalidation of the entry revokes (project_set.lua).
-- KEYS[1] lease, KEYS[2] entry hash, KEYS[3] project's fill tokens. ARGV[1] token, ARGV[2]
-- lease ms, ARGV[3] fresh after (ms, the caller's clock), ARGV[4] the load's '|tag|tag|'.
-- Returns 1 when taken, 0 when held by another caller, 2 when the entry is fresh beyond
-- ARGV[3] (marked by a load, or written plainly: fresh until it expires).
local row = redis.call('HMGET', KEYS[2], 'ver', 'lv', 'lx')
if row[1] and (row[1] ~= row[2] or tonumber(row[3]) > tonumber(ARGV[3])) then
  return 2
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  -- The hash lives as long as its longest lease (extended with it): the token of a load
  -- that died goes with it, and a fill whose token has gone is refused, never wrongly kept.
  redis.call('HSET', KEYS[3], KEYS[2], ARGV[1] .. ARGV[4])
  if redis.call('PTTL', KEYS[3]) < tonumber(ARGV[2]) then
    redis.call('PEXPIRE', KEYS[3], ARGV[2])
  end
  return 1
end
return 0
