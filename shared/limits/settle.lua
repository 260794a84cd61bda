-- After the call: replace the job's token reservation with what it really used, and free its
-- concurrency slot. KEYS: 2 token amounts hash, then concurrency zset. ARGV: job id, tokens.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return redis.call('ZREM', KEYS[2], ARGV[1])
