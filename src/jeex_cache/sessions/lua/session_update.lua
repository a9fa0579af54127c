-- Set user-data keys (fields 'd:<key>') of a live session, refusing a change that would take
-- the user data over its limit. Other fields (activity, grants, other keys) are untouched.
-- KEYS[1] the record. ARGV[1] the limit in bytes; ARGV[2..] field, value pairs.
-- Size as user_data_size counts it: each 'd:' field's name plus its value.
-- Returns 1 (stored), 0 (no session) or -1 (over the limit; nothing written).
local record = KEYS[1]
if redis.call('EXISTS', record) == 0 then
  return 0
end
local incoming = {}
local total = 0
for i = 2, #ARGV, 2 do
  incoming[ARGV[i]] = true
  total = total + #ARGV[i] + #ARGV[i + 1]
end
local fields = redis.call('HKEYS', record)
for _, field in ipairs(fields) do
  if string.sub(field, 1, 2) == 'd:' and not incoming[field] then
    total = total + #field + redis.call('HSTRLEN', record, field)
  end
end
if total > tonumber(ARGV[1]) then
  return -1
end
for i = 2, #ARGV, 2 do
  redis.call('HSET', record, ARGV[i], ARGV[i + 1])
end
return 1
