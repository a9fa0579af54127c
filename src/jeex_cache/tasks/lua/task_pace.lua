-- Set (or with an empty spec, remove) the pace of a group of the queue: 'interval ms,burst'.
-- A project's own change brings it back from the paced set (unless paused): its next claim
-- checks the new pace.
-- ARGV[2] the group (a project, '-' the tasks without one, '*' every group's default),
-- ARGV[3] the spec, or ''.
local g = ARGV[2]
if ARGV[3] == '' then
  redis.call('HDEL', K_META, 'rate|' .. g)
else
  redis.call('HSET', K_META, 'rate|' .. g, ARGV[3], 'pacing', 1)
end
if g ~= '*' and redis.call('ZSCORE', K_PACE, g)
    and tonumber(redis.call('HGET', K_META, 'hold|' .. g) or 0) <= now_ms() then
  redis.call('ZREM', K_PACE, g)
  activate(g)
end
return 1
