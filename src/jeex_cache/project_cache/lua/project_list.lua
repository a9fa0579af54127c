-- One bounded page of a project's live entry keys, by expiry: it looks at ARGV[2] at most.
-- KEYS[1] project index. ARGV[1] the previous page's cursor key ('' for the first page),
-- ARGV[2] page size, ARGV[3] the cursor key's expiry ms.
-- Returns {more, cursor key, cursor expiry, key, key, ...}: more is 1 when the page was full.
-- A page starts right after the cursor key. Should that key be gone, it starts at the first
-- key of the same expiry: a key may then come twice (the caller drops repeats), but a key
-- live throughout the walk is never skipped.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local size = tonumber(ARGV[2])
local start
if ARGV[1] == '' then
  start = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. string.format('%d', now))
else
  start = redis.call('ZRANK', KEYS[1], ARGV[1])
  if start then
    start = start + 1
  else
    start = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[3])
  end
end
local page = redis.call('ZRANGE', KEYS[1], start, start + size - 1, 'WITHSCORES')
local out = {0, '', ''}
for i = 1, #page, 2 do
  if tonumber(page[i + 1]) >= now then  -- a key may have expired since the first page
    out[#out + 1] = page[i]
  end
end
if #page == 2 * size then
  out[1], out[2], out[3] = 1, page[#page - 1], page[#page]
end
return out
