-- Read one entry with its load metadata, and count the access as project_get does.
-- KEYS[1] entry hash. ARGV[1] accesses to count (readers who shared one read count too).
-- Returns {payload, version, marked version, fresh until, delta}, or nil.
-- The metadata counts only while its marked version (lv) is the entry's: a plain write
-- leaves stale lv/lx/ld fields behind (it rewrites its own fields only), which then differ.
local row = redis.call('HMGET', KEYS[1], 'd', 'ver', 'lv', 'lx', 'ld')
if not row[1] then
  return false
end
local t = redis.call('TIME')
redis.call('HINCRBY', KEYS[1], 'ac', ARGV[1])
redis.call('HSET', KEYS[1], 'la', t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000)))
return {row[1], row[2], row[3] or '', row[4] or '', row[5] or ''}
