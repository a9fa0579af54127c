-- Mark the loaded entry, drop its lease and wake the waiters: one list element per
-- registered waiter, each taken by one BLPOP. Also wakes them when the lease has run out
-- meanwhile (nobody else holds it). The mark comes first, so a woken waiter reads it.
-- The load's fill token goes too, if its fill has not spent it (a failed load, or none).
-- KEYS[1] lease, KEYS[2] waiter count, KEYS[3] wake-up list, KEYS[4] entry hash, KEYS[5]
-- project's fill tokens.
-- ARGV[1] token, ARGV[2] how it ended ('loaded' or 'failed'), ARGV[3] the list's lifetime
-- ms, then optionally ARGV[4] version written, ARGV[5] fresh until ms, ARGV[6] delta ms:
-- the metadata, kept only if the entry still holds that version.
-- Returns the number of waiters woken, or -1 when another caller holds the lease now.
if ARGV[4] and redis.call('HGET', KEYS[4], 'ver') == ARGV[4] then
  redis.call('HSET', KEYS[4], 'lv', ARGV[4], 'lx', ARGV[5], 'ld', ARGV[6])
end
local fill = redis.call('HGET', KEYS[5], KEYS[4])
if fill and string.find(fill, ARGV[1], 1, true) == 1 then
  redis.call('HDEL', KEYS[5], KEYS[4])
end
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return -1
end
if holder then
  redis.call('DEL', KEYS[1])
end
local waiting = math.min(tonumber(redis.call('GET', KEYS[2]) or '0'), 10000)
redis.call('DEL', KEYS[2])
local left = waiting
while left > 0 do  -- in chunks: unpack() is bounded by Lua's stack
  local batch = {}
  for i = 1, math.min(left, 500) do
    batch[i] = ARGV[2]
  end
  redis.call('RPUSH', KEYS[3], unpack(batch))
  left = left - #batch
end
if waiting > 0 then
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
return waiting
