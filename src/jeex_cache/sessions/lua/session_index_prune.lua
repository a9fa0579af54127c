-- Drop digests from a user's index whose records are gone (the caller found them so, or just
-- removed them), except those indexed within the last ARGV[1] ms: their record may still be
-- on its way (a create or rotation stores the index first, the record second). So the index
-- always lists every live session; a spared digest is dropped by a later prune.
-- KEYS[1] the user's index, KEYS[2] its recent additions (digest -> ms). ARGV[2..] digests.
-- Returns how many digests were dropped.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local since = now - tonumber(ARGV[1])
local dropped = 0
for i = 2, #ARGV do
  local added = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[i]))
  if not added or added < since then
    dropped = dropped + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return dropped
