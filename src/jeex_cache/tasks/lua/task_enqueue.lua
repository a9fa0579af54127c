-- Store a new task and queue it in one step; an ID already in use changes nothing, so an
-- enqueue retried with the same ID never queues the task twice.
-- ARGV[2] task ID, ARGV[3] its head (see the record's layout in _task_lib), ARGV[4] delay
-- ms, ARGV[5] most wake-up tokens kept, ARGV[6] group (project or '-'), ARGV[7] priority,
-- ARGV[8] cost (its weight in its group's pace; 1 is not stored).
-- Returns 1 when queued, 0 when a task with this ID exists.
local id = ARGV[2]
local now = now_ms()
sweep(now, 2)
if status_of(id, now) then
  return 0
end
local now_s = fmt(now)
local delay = tonumber(ARGV[4])
-- Redis does not undo a script's earlier writes when a later command fails, so the writes
-- that can fail (a key of the wrong type) come first and the record, new, comes last.
-- Fields at their default are not written: attempts, redeliveries and the lease 0, updated
-- and due at creation.
local record = {id, ARGV[3], id .. '|s', 'queued', id .. '|ct', now_s, id .. '|g', ARGV[6],
  id .. '|pr', ARGV[7]}
if delay > 0 then
  local due_s = fmt(now + delay)
  redis.call('ZADD', K_SCHED, due_s, id)
  push(record, id .. '|due', due_s)
else
  local sq = next_seq()
  index_ready(id, ARGV[6], ARGV[7], sq)
  push(record, id .. '|sq', sq)
end
-- One token per task wakes one idle worker. A worker empties the list before it waits, so
-- tokens only pile up while every worker is busy; the trim bounds them.
wake(ARGV[5])
if ARGV[8] ~= '1' then
  push(record, id .. '|c', ARGV[8])
end
redis.call('HSET', K_REC, unpack(record))
return 1
