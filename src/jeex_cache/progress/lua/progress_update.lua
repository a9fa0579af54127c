-- Apply one change to a running operation and append its event, or refuse it, atomically.
-- The rules are jeex_cache.progress.rules.decide: finished operations are final, steps never
-- go backwards or past the total, and an unknown (or expired) operation is never recreated.
-- KEYS[1] record hash, KEYS[2] event stream (its name is also the notification channel).
-- ARGV[1] change: 'inc', 'set', 'done' or 'fail'; ARGV[2] step (for 'set'); ARGV[3] message;
-- ARGV[4] error ('' unless 'fail'); ARGV[5] ttl ms; ARGV[6] max events; ARGV[7] 's': SPUBLISH
-- (a cluster's sharded pub/sub), else PUBLISH.
-- Returns {'unknown'}, or {outcome, total, step, status, message, error, started ms,
-- updated ms, last event id, project}: the new state when 'applied', the stored one when refused.
local record, events = KEYS[1], KEYS[2]
local r = redis.call('HMGET', record, 'n', 's', 'st', 'm', 'e', 't0', 't', 'id', 'pj')
if not r[1] then
  return {'unknown'}
end
local function refuse(outcome)
  return {outcome, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9] or ''}
end
if r[3] ~= 'running' then
  return refuse('finished')
end

local change, total, current = ARGV[1], tonumber(r[1]), tonumber(r[2])
local step, kind, status = current, 'progress', 'running'
if change == 'inc' then
  step = current + 1
elseif change == 'set' then
  step = tonumber(ARGV[2])
elseif change == 'done' then
  step, kind, status = total, 'completed', 'completed'
else
  kind, status = 'failed', 'failed'
end
if step < current then
  return refuse('backwards')
end
if step > total then
  return refuse('beyond_total')
end

local t = redis.call('TIME')
local now = string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
local step_s = string.format('%d', step)
local id = redis.call('XADD', events, 'MAXLEN', ARGV[6], '*',
  'k', kind, 's', step_s, 'n', r[1], 'm', ARGV[3], 'e', ARGV[4], 't', now, 'p', r[8])
redis.call('HSET', record, 's', step_s, 'st', status, 'm', ARGV[3], 'e', ARGV[4], 't', now, 'id', id)
redis.call('PEXPIRE', record, ARGV[5])
redis.call('PEXPIRE', events, ARGV[5])
redis.call(ARGV[7] == 's' and 'SPUBLISH' or 'PUBLISH', events, cjson.encode({id, r[8], kind, step_s, r[1], ARGV[3], ARGV[4], now}))
return {'applied', r[1], step_s, status, ARGV[3], ARGV[4], r[6], now, id, r[9] or ''}
