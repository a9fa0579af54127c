-- Start tracking an operation at step 0: the record, a fresh event log, one 'started' event.
-- KEYS[1] record hash, KEYS[2] event stream (its name is also the notification channel).
-- ARGV[1] total steps, ARGV[2] message, ARGV[3] ttl ms, ARGV[4] max events, ARGV[5] '1' = restart,
-- ARGV[6] owning project ('' keeps the owner already recorded: a restarted record's, or one
-- that progress_assign.lua left for this start), ARGV[7] 's': SPUBLISH (a cluster's sharded
-- pub/sub, the channel in the record's slot), else PUBLISH.
-- Returns {outcome, total, step, status, message, error, started ms, updated ms, last event id,
-- project}: 'exists' with the stored state when tracked already and not restarting, else
-- 'applied'.
local record, events = KEYS[1], KEYS[2]
local r = redis.call('HMGET', record, 'n', 's', 'st', 'm', 'e', 't0', 't', 'id', 'pj')
if r[1] and ARGV[5] ~= '1' then
  return {'exists', r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9] or ''}
end

local t = redis.call('TIME')
local now = string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
local previous = r[8] or ''
local owner = ARGV[6] or ''
if owner == '' then
  owner = r[9] or ''
end
local id = redis.call('XADD', events, 'MAXLEN', ARGV[4], '*',
  'k', 'started', 's', '0', 'n', ARGV[1], 'm', ARGV[2], 'e', '', 't', now, 'p', previous)
-- The log starts afresh, also over a leftover or restarted one: a listener replaying it must
-- not meet an earlier run's terminal event. The stream key survives, so IDs keep growing.
redis.call('XTRIM', events, 'MINID', id)
redis.call('HSET', record, 'n', ARGV[1], 's', '0', 'st', 'running', 'm', ARGV[2], 'e', '',
  't0', now, 't', now, 'id', id, 'pj', owner)
redis.call('PEXPIRE', record, ARGV[3])
redis.call('PEXPIRE', events, ARGV[3])
redis.call(ARGV[7] == 's' and 'SPUBLISH' or 'PUBLISH', events, cjson.encode({id, previous, 'started', '0', ARGV[1], ARGV[2], '', now}))
return {'applied', ARGV[1], '0', 'running', ARGV[2], '', now, now, id, owner}
