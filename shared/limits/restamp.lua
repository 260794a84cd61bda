-- Just before the provider calls: keep each job's request stamp close to its call.
-- A job is stamped when it is admitted (by the dispatcher, or by the API for an interactive
-- request), and the window is a minute plus a margin: the margin absorbs the delay between the
-- stamp and the call only while that delay is shorter than the margin. A job stamped more than
-- MOVE_AFTER ms ago (half the margin) is moved to now in the request and token logs, and its
-- concurrency lease is renewed. Moving a job the window still counts changes no window's count
-- at the moment of the move, and only makes later admissions stricter, so every window of calls
-- stays within the limits however late a worker gets to a job. A job that has left the window
-- (its turn waited longer than a window) can't be moved without a new admission: it is
-- returned, and the worker hands it back to the dispatcher.
-- KEYS: 1 requests zset, 2 token zset, 3 concurrency zset
-- ARGV: 1 window ms, 2 move after ms, 3 lease ms, then job ids
-- Returns the ids of the jobs that are no longer admitted.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window, move_after, lease = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local lost = {}
for i = 4, #ARGV do
  local job = ARGV[i]
  local stamped = redis.call('ZSCORE', KEYS[1], job)
  if stamped then stamped = tonumber(stamped) end
  if not stamped or stamped <= now - window then
    lost[#lost + 1] = job
  elseif now - stamped > move_after then
    redis.call('ZADD', KEYS[1], 'XX', now, job)
    redis.call('ZADD', KEYS[2], 'XX', now, job)
    redis.call('ZADD', KEYS[3], 'XX', now + lease, job)
  end
end
return lost
