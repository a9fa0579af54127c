-- Take an entry's load lease unless someone holds it.
-- KEYS[1] lease. ARGV[1] token, ARGV[2] lease ms. Returns 1 when taken, else 0.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
return 0
