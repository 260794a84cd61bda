-- After the calls: replace each job's token reservation with what it really used (keeping the
-- hash's running sum '~sum' in step), and free its concurrency slot.
-- KEYS: 1 token amounts hash, 2 concurrency zset. ARGV: (job id, tokens) pairs.
local delta = 0
for i = 1, #ARGV, 2 do
  local reserved = redis.call('HGET', KEYS[1], ARGV[i])
  if reserved then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    delta = delta + tonumber(ARGV[i + 1]) - tonumber(reserved)
  end
  redis.call('ZREM', KEYS[2], ARGV[i])
end
if delta ~= 0 and redis.call('HEXISTS', KEYS[1], '~sum') == 1 then
  redis.call('HINCRBY', KEYS[1], '~sum', delta)
end
return 1
