-- Queue dead tasks again, with a fresh set of attempts; the last error stays on record.
-- ARGV[2] most wake-up tokens, ARGV[3] page size, ARGV[4] the rank the page starts at,
-- ARGV[5...] the task IDs (none: the page of the dead set from ARGV[4], ARGV[3] long).
-- Returns {kept, more, requeued ID...}: how many of those looked at stay in the set (the
-- next page starts that much further), 1 if the page was full, and the IDs queued again.
local ids = {}
local more = 0
if #ARGV > 4 then
  for i = 5, #ARGV do
    ids[#ids + 1] = ARGV[i]
  end
else
  local start = tonumber(ARGV[4])
  ids = redis.call('ZRANGE', K_DEAD, start, start + tonumber(ARGV[3]) - 1)
  if #ids == tonumber(ARGV[3]) then
    more = 1
  end
end
local now = now_ms()
local now_s = fmt(now)
local requeued, kept = {}, 0
for _, id in ipairs(ids) do
  local status = status_of(id, now)
  if redis.call('ZSCORE', K_DEAD, id) and status == 'dead' then
    redis.call('ZREM', K_DEAD, id)
    redis.call('ZREM', K_EXP, id)
    rset(id, 's', 'queued', 'a', 0, 'l', 0, 'ut', now_s, 'due', now_s)
    rdel(id, 'ft', 'x')
    make_ready(id, false)
    requeued[#requeued + 1] = id
  elseif not status then
    redis.call('ZREM', K_DEAD, id)
  else
    kept = kept + 1
  end
end
if #requeued > 0 then
  wake(ARGV[2])
end
return {kept, more, unpack(requeued)}
