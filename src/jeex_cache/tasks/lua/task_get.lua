-- One task's record. ARGV[2] task ID.
-- Returns {field, value, ...} ({} when unknown or expired): see record_of().
local id = ARGV[2]
if not status_of(id, now_ms()) then
  return {}
end
return record_of(id)
