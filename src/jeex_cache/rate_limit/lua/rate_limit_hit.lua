-- Exact sliding-window rate limit of one identifier over one or more windows, in one step.
-- KEYS[i]: window i's log, a list of admission times in ms, newest first (one hash tag).
-- ARGV[2i-1], ARGV[2i]: window i's limit and length in ms; then, for tests only, now in ms
-- (without it the server's clock is read, so every app server shares one clock).
-- A request is admitted iff every window holds fewer than its limit of admissions in
-- (now - length, now]; it is then recorded in every window, and a refusal in none.
-- Returns {admitted 1/0, retry ms, then per window: admissions in it, reset ms}.
local n = #KEYS
local now = tonumber(ARGV[2 * n + 1])
if not now then
  local t = redis.call('TIME')
  now = t[1] * 1000 + math.floor(t[2] / 1000)
end
local counts, oldest = {}, {}
local admitted = 1
for i = 1, n do
  local key = KEYS[i]
  local horizon = now - tonumber(ARGV[2 * i])
  -- Admissions that left the window sit at the tail: drop them (each is dropped once).
  local tail = tonumber(redis.call('LINDEX', key, -1))
  while tail and tail <= horizon do
    redis.call('RPOP', key)
    tail = tonumber(redis.call('LINDEX', key, -1))
  end
  local count = redis.call('LLEN', key)
  counts[i], oldest[i] = count, tail
  if count >= tonumber(ARGV[2 * i - 1]) then
    admitted = 0
  end
end
if admitted == 1 then
  local stamp = string.format('%d', now)
  for i = 1, n do
    redis.call('LPUSH', KEYS[i], stamp)
    -- The key outlives its newest admission by exactly one window, then goes.
    redis.call('PEXPIRE', KEYS[i], ARGV[2 * i])
    counts[i] = counts[i] + 1
    oldest[i] = oldest[i] or now
  end
end
local reply, retry = {admitted, 0}, 0
for i = 1, n do
  local count, limit = counts[i], tonumber(ARGV[2 * i - 1])
  local reset = 0
  if count > 0 then
    -- Quota comes back when the (count - limit + 1)-th oldest admission leaves the window.
    local first = oldest[i]
    if count > limit then
      first = tonumber(redis.call('LINDEX', KEYS[i], limit - count - 1))
    end
    reset = first + tonumber(ARGV[2 * i]) - now
  end
  if admitted == 0 and count >= limit and reset > retry then
    retry = reset
  end
  reply[2 * i + 1], reply[2 * i + 2] = count, reset
end
reply[2] = retry
return reply
