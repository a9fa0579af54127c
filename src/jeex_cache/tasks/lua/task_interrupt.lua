-- Wake one waiting worker through a key only it blocks on (its stop signal). The key
-- expires if the worker is gone before it pops it.
-- KEYS[1] the waiter's own key. ARGV[1] expiry ms.
redis.call('LPUSH', KEYS[1], 1)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
