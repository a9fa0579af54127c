-- Versioned write of one project cache entry, with its index and tag bookkeeping, atomically.
-- KEYS[1] entry hash, KEYS[2] project index, KEYS[3] project's tag set, KEYS[4] project's fill
-- tokens, then per tag KEYS[4+i] the project's index of that tag: every key is in the
-- project's slot. The tags' cross-project registries are another step, run before this one
-- (tag_register.lua).
-- ARGV[1] payload, ARGV[2] ttl ms, ARGV[3] version ('' = stored + 1), ARGV[4] '|tag|tag|',
-- ARGV[5] the fill token of a load ('' for a plain write), ARGV[5+i] tag names.
-- Returns {1, version} when stored, {0, stored_version} when refused as stale,
-- {2, stored_version or -1} when a fill's token was revoked (an invalidation, delete or
-- write of the entry came after its load started), and {-1, stored_version} when an
-- unversioned write finds the highest version (2^53 - 1).
local entry, index, project_tags = KEYS[1], KEYS[2], KEYS[3]
local ttl = tonumber(ARGV[2])

local stored = tonumber(redis.call('HGET', entry, 'ver'))
-- A fill lands only while its token is outstanding; any write takes the entry's token away
-- (a plain write revokes it, a fill spends its own), so a load started before lands no more.
local token = ARGV[5]
if token ~= '' then
  local held = redis.call('HGET', KEYS[4], entry)
  if not held or string.find(held, token, 1, true) ~= 1 then
    return {2, stored or -1}
  end
end
local version
if ARGV[3] == '' then
  -- Past 2^53 - 1 a double no longer counts by one: refuse rather than stick or skip.
  if stored and stored >= 9007199254740991 then
    redis.call('HDEL', KEYS[4], entry)
    return {-1, stored}
  end
  version = (stored or 0) + 1
else
  version = tonumber(ARGV[3])
  if stored and version < stored then
    redis.call('HDEL', KEYS[4], entry)
    return {0, stored}
  end
end

-- Server time keeps every app server on one clock. Built as a string: Lua numbers are doubles.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expires = now + ttl
local expires_s = string.format('%d', expires)
local stale_below = '(' .. string.format('%d', now)

-- Drop at most 100 members already past their expiry (the lowest scores, so the lowest
-- ranks): each write prunes more than it adds, and no write pays for a whole backlog.
local function prune(key)
  local stale = redis.call('ZCOUNT', key, '-inf', stale_below)
  if stale > 0 then
    redis.call('ZREMRANGEBYRANK', key, 0, math.min(stale, 100) - 1)
  end
end

-- Every field is written, so no DEL is needed to start a fresh entry ('' = never accessed).
-- The HSET is the script's first write, on purpose: Redis checks maxmemory at a script's
-- first write only (then lets it finish), so over maxmemory it refuses here, whole.
redis.call('HSET', entry, 'd', ARGV[1], 'ver', string.format('%d', version),
  'ct', string.format('%d', now), 'ex', expires_s, 'ac', 0, 'la', '', 'tg', ARGV[4])
redis.call('HDEL', KEYS[4], entry)
redis.call('PEXPIRE', entry, ttl)

-- An index must outlive every entry it lists, so its own expiry only ever grows; members
-- already past their expiry are pruned on the way, which bounds the index's size.
local function outlive(key)
  if redis.call('PTTL', key) < ttl then
    redis.call('PEXPIRE', key, ttl)
  end
end

local function list_entry(key)
  prune(key)
  redis.call('ZADD', key, expires_s, entry)
  outlive(key)
end

-- Registries hold the latest expiry of anything they stand for (GT keeps the maximum).
local function register(key, member)
  prune(key)
  redis.call('ZADD', key, 'GT', expires_s, member)
  outlive(key)
end

list_entry(index)
for i = 5, #KEYS do
  list_entry(KEYS[i])
  register(project_tags, ARGV[i + 1])
end
return {1, version}
