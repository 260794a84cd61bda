-- Atomically admit jobs for a company under three limits, or say how long to wait.
-- Sliding-window logs: every admitted job is a member of the request log (score = time) and of
-- the token log (its reserved tokens in a hash), so no window of WINDOW ms ever holds more than
-- RPM requests or TPM tokens. Concurrency is a set of leases (score = expiry), so a dead
-- worker's slot frees itself. The hash also keeps the running sum of its amounts (field '~sum',
-- which no job id can be): a call costs O(jobs leaving the window), not O(jobs in it).
-- Jobs are admitted in the order given, up to the first one a limit refuses (the dispatcher
-- asks for a company's next jobs in one call; the API asks for one).
-- KEYS: 1 requests zset, 2 token zset, 3 token amounts hash, 4 concurrency zset,
--       5 (optional) a queue's list, which receives ARGV[7] once every job is admitted (the API
--       sends a synchronous job's task message with its admission: one round trip, and nothing
--       is sent for a refused request)
-- ARGV: 1 window ms, 2 rpm, 3 tpm, 4 concurrency, 5 lease ms, 6 dry run (1/0),
--       7 the message (with KEYS[5] only), then (job id, tokens) pairs
-- Returns {admitted, wait ms, refusing limit or '', requests, tokens, running, reset ms}; a dry
-- run admits nothing and answers 1 when the first job would be admitted.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window, rpm, tpm, conc = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local lease, dry = tonumber(ARGV[5]), ARGV[6] == '1'

local used = tonumber(redis.call('HGET', KEYS[3], '~sum') or '')
if not used then  -- written by an older version (or empty): sum the amounts once
  used = 0
  for _, v in ipairs(redis.call('HVALS', KEYS[3])) do used = used + tonumber(v) end
end
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - window)
for _, member in ipairs(old) do
  local amount = redis.call('HGET', KEYS[3], member)
  if amount then
    used = used - tonumber(amount)
    redis.call('HDEL', KEYS[3], member)
  end
end
if used < 0 then used = 0 end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)

local requests = redis.call('ZCARD', KEYS[1])
local running = redis.call('ZCARD', KEYS[4])
local reset = 0
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #oldest > 0 then reset = tonumber(oldest[2]) + window - now end

local first = 7
if #KEYS >= 5 then first = 8 end
local admitted, wait, which = 0, 0, ''
for i = first, #ARGV, 2 do
  local job, tokens = ARGV[i], tonumber(ARGV[i + 1])
  if tokens > tpm then tokens = tpm end  -- a job larger than the budget runs alone in an empty window
  if not dry and redis.call('ZSCORE', KEYS[1], job) then
    admitted = admitted + 1  -- already admitted (a retried admission)
  else
    if requests >= rpm then
      wait, which = reset, 'requests per minute'
    end
    if used + tokens > tpm then
      local freed, entries = 0, redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
      for e = 1, #entries, 2 do
        freed = freed + tonumber(redis.call('HGET', KEYS[3], entries[e]) or '0')
        if used - freed + tokens <= tpm then
          local w = tonumber(entries[e + 1]) + window - now
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
      if dry and which == '' then admitted = 1 end
      break
    end
    redis.call('ZADD', KEYS[1], now, job)
    redis.call('ZADD', KEYS[2], now, job)
    redis.call('HSET', KEYS[3], job, tokens)
    redis.call('ZADD', KEYS[4], now + lease, job)
    requests, used, running = requests + 1, used + tokens, running + 1
    if reset == 0 then reset = window end
    admitted = admitted + 1
  end
end

if redis.call('EXISTS', KEYS[3]) == 1 or used > 0 then
  redis.call('HSET', KEYS[3], '~sum', used)
end
if admitted > 0 and not dry then
  for k = 1, 3 do redis.call('PEXPIRE', KEYS[k], window * 2) end
  redis.call('PEXPIRE', KEYS[4], lease * 2)
  if first == 8 and admitted * 2 == #ARGV - 7 then redis.call('LPUSH', KEYS[5], ARGV[7]) end
end
return {admitted, wait, which, requests, used, running, reset}
