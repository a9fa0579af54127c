-- Store a new task and queue it in one step; an ID already in use changes nothing, so an
-- enqueue retried with the same ID never queues the task twice.
-- KEYS[1] task record, KEYS[2] queue (task IDs by due time, ms), KEYS[3] queue wake-up list.
-- ARGV[1] task ID, ARGV[2] queue name, ARGV[3] task name, ARGV[4] payload (JSON),
-- ARGV[5] max attempts, ARGV[6] delay ms, ARGV[7] most wake-up tokens kept.
-- Returns 1 when queued, 0 when a task with this ID exists.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local now_s = string.format('%d', now)
local due_s = string.format('%d', now + tonumber(ARGV[6]))
-- Redis does not undo a script's earlier writes when a later command fails, so the writes
-- that can fail (a key of the wrong type) come first and the record, new, comes last.
-- One token per task wakes one idle worker. A worker empties the list before it waits, so
-- tokens only pile up while every worker is busy; the trim bounds them.
redis.call('LPUSH', KEYS[3], 1)
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[7]) - 1)
redis.call('ZADD', KEYS[2], due_s, ARGV[1])
-- Fields: q queue, n name, p payload, s status, a attempts, m max attempts, ct created,
-- ut updated, due, rd redeliveries, l lease (attempt of the delivery that may settle it).
redis.call('HSET', KEYS[1], 'q', ARGV[2], 'n', ARGV[3], 'p', ARGV[4], 's', 'queued', 'a', 0,
  'm', ARGV[5], 'ct', now_s, 'ut', now_s, 'due', due_s, 'rd', 0, 'l', 0)
return 1
