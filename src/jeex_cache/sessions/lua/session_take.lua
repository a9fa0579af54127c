-- Remove a session record at once and hand back what it held (a rotation stores it again
-- under its new name). KEYS[1] the record. Returns {pttl, flat record}, or false if none.
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then
  return false
end
local pttl = redis.call('PTTL', KEYS[1])
redis.call('UNLINK', KEYS[1])
return {pttl, fields}
