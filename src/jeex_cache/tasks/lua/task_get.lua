-- One task's record. ARGV[2] task ID.
-- Returns {field, value, ...} ({} when unknown or expired).
local id = ARGV[2]
if not status_of(id, now_ms()) then
  return {}
end
local f = rget(id, unpack(FIELDS))
local out = {}
for i = 1, #FIELDS do
  if f[i] then
    out[#out + 1] = FIELDS[i]
    out[#out + 1] = f[i]
  end
end
return out
