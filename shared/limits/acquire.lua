-- Atomically admit one job for a company under three limits, or say how long to wait.
-- Sliding-window logs: every admitted job is a member of the request log (score = time) and of
-- the token log (its reserved tokens in a hash), so no window of WINDOW ms ever holds more than
-- RPM requests or TPM tokens. Concurrency is a set of leases (score = expiry), so a dead
-- worker's slot frees itself.
-- KEYS: 1 requests zset, 2 token zset, 3 token amounts hash, 4 concurrency zset
-- ARGV: 1 window ms, 2 rpm, 3 tpm, 4 concurrency, 5 job id, 6 tokens, 7 lease ms, 8 dry run (1/0)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window, rpm, tpm, conc = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local job, tokens, lease, dry = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8] == '1'
if tokens > tpm then tokens = tpm end  -- a job larger than the budget runs alone in an empty window

local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - window)
for _, member in ipairs(old) do redis.call('HDEL', KEYS[3], member) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)

local requests = redis.call('ZCARD', KEYS[1])
local used = 0
for _, v in ipairs(redis.call('HVALS', KEYS[3])) do used = used + tonumber(v) end
local running = redis.call('ZCARD', KEYS[4])
local reset = 0
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #oldest > 0 then reset = tonumber(oldest[2]) + window - now end

if not dry and redis.call('ZSCORE', KEYS[1], job) then
  return {1, 0, '', requests, used, running, reset}  -- already admitted (a retried admission)
end

local wait, which = 0, ''
if requests >= rpm then
  wait, which = reset, 'requests per minute'
end
if used + tokens > tpm then
  local freed, entries = 0, redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
  for i = 1, #entries, 2 do
    freed = freed + tonumber(redis.call('HGET', KEYS[3], entries[i]) or '0')
    if used - freed + tokens <= tpm then
      local w = tonumber(entries[i + 1]) + window - now
      if w > wait then wait = w end
      break
    end
  end
  if which == '' then which = 'tokens per minute' end
end
if running >= conc then
  if wait < 250 then wait = 250 end
  if which == '' then which = 'concurrent jobs' end
end
if which ~= '' or dry then
  return {which == '' and 1 or 0, wait, which, requests, used, running, reset}
end

redis.call('ZADD', KEYS[1], now, job)
redis.call('ZADD', KEYS[2], now, job)
redis.call('HSET', KEYS[3], job, tokens)
redis.call('ZADD', KEYS[4], now + lease, job)
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], window * 2) end
redis.call('PEXPIRE', KEYS[4], lease * 2)
if reset == 0 then reset = window end
return {1, 0, '', requests + 1, used + tokens, running + 1, reset}
