-- Read a session and record the activity in the same step: last activity becomes now and the
-- idle expiry slides to now + the idle timeout (or later: an earlier extension, or ARGV[2]),
-- never past the absolute cap. The key's own expiry is that idle expiry, so Redis drops an
-- idle session by itself. KEYS[1] the record. ARGV[1] a field to test ('p:<project>'), or ''
-- for the whole record; ARGV[2] '' or a time to live (ms) to extend to (extend_session).
-- Returns false when no live session; {user, granted} when testing a field; else
-- {expires, now, user, created, cap, {project, ...}, {data key, value, ...}}, split here
-- so that the client does less work per validation.
local record = KEYS[1]
local meta = redis.call('HMGET', record, 'u', 'it', 'ax', 'ct')
if not meta[1] then
  return false
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cap = tonumber(meta[3])
if now >= cap then
  redis.call('UNLINK', record)
  return false
end
local expires = now + tonumber(meta[2])
local pttl = redis.call('PTTL', record)
if pttl > 0 and now + pttl > expires then
  expires = now + pttl
end
if ARGV[2] ~= '' and now + tonumber(ARGV[2]) > expires then
  expires = now + tonumber(ARGV[2])
end
if expires > cap then
  expires = cap
end
local expires_s, now_s = string.format('%d', expires), string.format('%d', now)
redis.call('HSET', record, 'la', now_s)
redis.call('PEXPIREAT', record, expires_s)
if ARGV[1] ~= '' then
  return {meta[1], redis.call('HEXISTS', record, ARGV[1])}
end
local fields = redis.call('HGETALL', record)
local projects, data = {}, {}
for i = 1, #fields, 2 do
  local kind = string.sub(fields[i], 1, 2)
  if kind == 'p:' then
    projects[#projects + 1] = string.sub(fields[i], 3)
  elseif kind == 'd:' then
    data[#data + 1] = string.sub(fields[i], 3)
    data[#data + 1] = fields[i + 1]
  end
end
return {expires_s, now_s, meta[1], meta[4], meta[3], projects, data}
