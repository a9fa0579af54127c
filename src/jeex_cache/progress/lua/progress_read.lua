-- Read an operation's state and its events after a position, in one consistent step.
-- KEYS[1] record hash, KEYS[2] event stream. ARGV[1] '-' or '(<id>' (exclusive), ARGV[2] count.
-- Returns {state, events}: state is {total, step, status, message, error, started ms,
-- updated ms, last event id, project} or {} when unknown; events as XRANGE returns them.
local r = redis.call('HMGET', KEYS[1], 'n', 's', 'st', 'm', 'e', 't0', 't', 'id', 'pj')
local events = redis.call('XRANGE', KEYS[2], ARGV[1], '+', 'COUNT', ARGV[2])
if not r[1] then
  return {{}, events}
end
return {r, events}
