-- Take an entry's load lease unless someone holds it, or the entry was loaded meanwhile.
-- KEYS[1] lease, KEYS[2] entry hash. ARGV[1] token, ARGV[2] lease ms, ARGV[3] fresh after
-- (ms, the caller's clock). Returns 1 when taken, 0 when held by another caller, 2 when the
-- entry is fresh beyond ARGV[3] (marked by a load, or written plainly: fresh until it expires).
local row = redis.call('HMGET', KEYS[2], 'ver', 'lv', 'lx')
if row[1] and (row[1] ~= row[2] or tonumber(row[3]) > tonumber(ARGV[3])) then
  return 2
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
return 0
