-- Attach load metadata to an entry the loader has just written, if it still holds that write.
-- KEYS[1] entry hash. ARGV[1] version written, ARGV[2] fresh until (ms), ARGV[3] delta (ms).
-- Returns 1 when marked, 0 when another write came in between (it keeps no metadata).
if redis.call('HGET', KEYS[1], 'ver') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'lv', ARGV[1], 'lx', ARGV[2], 'ld', ARGV[3])
return 1
