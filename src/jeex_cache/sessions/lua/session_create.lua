-- Store a session record unless its name is taken (an ID is never issued twice, nor adopted).
-- KEYS[1] the record, named by the SHA-256 of the session ID. ARGV[1] the idle timeout (ms);
-- ARGV[2] the absolute lifetime (ms), or '' when the fields already carry the creation time
-- and the cap (a rotation moving a record); ARGV[3..] field, value pairs.
-- Returns {1, now, expires} (ms), {0} if the name is taken, {-1} if the cap has passed.
local record = KEYS[1]
if redis.call('EXISTS', record) == 1 then
  return {0}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local now_s = string.format('%d', now)
-- One field at a time: a long argument list must not go through unpack() (Lua's C stack).
for i = 3, #ARGV, 2 do
  redis.call('HSET', record, ARGV[i], ARGV[i + 1])
end
if ARGV[2] ~= '' then
  redis.call('HSET', record, 'ct', now_s, 'ax', string.format('%d', now + tonumber(ARGV[2])))
end
redis.call('HSET', record, 'la', now_s)
local cap = tonumber(redis.call('HGET', record, 'ax'))
if cap <= now then
  redis.call('UNLINK', record)
  return {-1}
end
local expires = math.min(now + tonumber(ARGV[1]), cap)
local expires_s = string.format('%d', expires)
redis.call('PEXPIREAT', record, expires_s)
return {1, now_s, expires_s}
