-- Store a new task and queue it in one step; an ID already in use changes nothing, so an
-- enqueue retried with the same ID never queues the task twice.
-- ARGV[2] task ID, ARGV[3] task name, ARGV[4] payload (JSON), ARGV[5] max attempts,
-- ARGV[6] delay ms, ARGV[7] most wake-up tokens kept, ARGV[8] group (project or '-'),
-- ARGV[9] priority, ARGV[10] cost (its weight in its group's pace; 1 is not stored),
-- ARGV[11] the enqueue's trace context ('' for none: not stored).
-- Returns 1 when queued, 0 when a task with this ID exists.
local id = ARGV[2]
local now = now_ms()
sweep(now, 2)
if status_of(id, now) then
  return 0
end
local now_s = fmt(now)
local delay = tonumber(ARGV[6])
local due_s = fmt(now + delay)
-- Redis does not undo a script's earlier writes when a later command fails, so the writes
-- that can fail (a key of the wrong type) come first and the record, new, comes last.
local sq = false
if delay > 0 then
  redis.call('ZADD', K_SCHED, due_s, id)
else
  sq = redis.call('HINCRBY', K_META, 'seq', 1)
  index_ready(id, ARGV[8], ARGV[9], sq)
end
-- One token per task wakes one idle worker. A worker empties the list before it waits, so
-- tokens only pile up while every worker is busy; the trim bounds them.
wake(ARGV[7])
rset(id, 'n', ARGV[3], 'p', ARGV[4], 's', 'queued', 'a', 0, 'm', ARGV[5], 'ct', now_s,
  'ut', now_s, 'due', due_s, 'rd', 0, 'l', 0, 'g', ARGV[8], 'pr', ARGV[9])
if sq then
  rset(id, 'sq', sq)
end
if ARGV[10] and ARGV[10] ~= '1' then
  rset(id, 'c', ARGV[10])
end
if ARGV[11] and ARGV[11] ~= '' then
  rset(id, 't', ARGV[11])
end
return 1
