-- Read a session and record the activity in the same step: last activity becomes now and the
-- idle expiry slides to now + the idle timeout (or later: an earlier extension, or ARGV[2]),
-- never past the absolute cap. The key's own expiry is that idle expiry, so Redis drops an
-- idle session by itself. KEYS[1] the record. ARGV[1] a field to test ('p:<project>'), or ''
-- for the whole record; ARGV[2] '' or a time to live (ms) to extend to (extend_session).
-- Returns false when no live session; {user, granted} when testing a field; else
-- {expires, now, user, created, cap, {project, ...}, {data key, value, ...}}, split here
-- so that the client does less work per validation. The whole record is read once (HGETALL),
-- its fields sorted in the same loop: one read less than HMGET then HGETALL.
local record = KEYS[1]
local field = ARGV[1]
local user, idle, cap, created
local projects, data = {}, {}
if field == '' then
  local fields = redis.call('HGETALL', record)
  for i = 1, #fields, 2 do
    local name = fields[i]
    local kind = string.sub(name, 1, 2)
    if kind == 'p:' then
      projects[#projects + 1] = string.sub(name, 3)
    elseif kind == 'd:' then
      data[#data + 1] = string.sub(name, 3)
      data[#data + 1] = fields[i + 1]
    elseif name == 'u' then
      user = fields[i + 1]
    elseif name == 'it' then
      idle = fields[i + 1]
    elseif name == 'ax' then
      cap = fields[i + 1]
    elseif name == 'ct' then
      created = fields[i + 1]
    end
  end
else
  local meta = redis.call('HMGET', record, 'u', 'it', 'ax')
  user, idle, cap = meta[1], meta[2], meta[3]
end
if not user then
  return false
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cap_ms = tonumber(cap)
if now >= cap_ms then
  redis.call('UNLINK', record)
  return false
end
local expires = now + tonumber(idle)
local pttl = redis.call('PTTL', record)
if pttl > 0 and now + pttl > expires then
  expires = now + pttl
end
if ARGV[2] ~= '' and now + tonumber(ARGV[2]) > expires then
  expires = now + tonumber(ARGV[2])
end
if expires > cap_ms then
  expires = cap_ms
end
local expires_s, now_s = string.format('%d', expires), string.format('%d', now)
redis.call('HSET', record, 'la', now_s)
redis.call('PEXPIREAT', record, expires_s)
if field ~= '' then
  return {user, redis.call('HEXISTS', record, field)}
end
return {expires_s, now_s, user, created, cap, projects, data}
