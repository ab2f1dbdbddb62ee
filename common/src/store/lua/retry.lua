-- Puts a job that failed or was canceled back to `queued`, with a fresh set of tries (its history stays),
-- and into the requeue set, so that its submit is published even if the caller dies before it does it
-- (every sweep publishes what that set holds). Only the first of any number of retries asked at once
-- finds the job ended, so a job is retried once per ask that found it ended. A job refused at submit
-- (reason `rejected`) never passed its checks and is not retried.
-- With ARGV[2] = 'rerun', a job that succeeded is run again too (the TaskAPI's "state 0" on a
-- completed task), unless others wait on it: they ran on its success, and rerunning it would not
-- undo that. ARGV[3], when not '', is the job's new number of tries. ARGV[4], when not '', is its new
-- priority: written before the job re-enters the claim order, so that it enters at that priority.
-- KEYS: job, the requeue set. ARGV: job id, '' or 'rerun', '' or tries, '' or priority.
-- Returns {'missing'}, {'rejected'}, {state} when not retried, {'waiting', pending or blocked} for a
-- dependent job that waits on its parents again, or {'retried', threads, queues}.
local f = redis.call('HMGET', KEYS[1], 'state', 'threads', 'queues', 'reason', 'waiting', 'blockers')
if not f[1] then
  return {'missing'}
end
local rerun = f[1] == 'succeeded' and ARGV[2] == 'rerun'
  and redis.call('EXISTS', hopper_prefix(KEYS[1]) .. 'children:' .. ARGV[1]) == 0
if f[1] ~= 'failed' and f[1] ~= 'canceled' and not rerun then
  return {f[1]}
end
if ARGV[3] and ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'max_tries', ARGV[3])
end
if f[4] == 'rejected' then
  return {'rejected'}
end
if ARGV[4] and ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], 'priority', ARGV[4])
end
redis.call('HDEL', KEYS[1], 'ended', 'reason', 'exit_code', 'signal', 'message', 'output', 'cancel',
  'note', 'worker', 'host', 'queue', 'started', 'threads_granted', 'claim')
-- A dependent job goes back to waiting on its parents as they now stand (deps.lua).
local target = 'queued'
if (tonumber(f[6]) or 0) > 0 then
  target = 'blocked'
elseif (tonumber(f[5]) or 0) > 0 then
  target = 'pending'
end
redis.call('HSET', KEYS[1], 'state', target, 'attempts', 0)
redis.call('HINCRBY', KEYS[1], 'retries', 1)
-- Jobs that have not ended are kept until they end again, and so is the list of their dependents.
local prefix = hopper_prefix(KEYS[1])
redis.call('PERSIST', KEYS[1])
redis.call('PERSIST', prefix .. 'children:' .. ARGV[1])
reindex(KEYS[1], ARGV[1], f[1], target)
follow_dependents(prefix, ARGV[1], f[1], target)
if target ~= 'queued' then
  return {'waiting', target}
end
redis.call('SADD', KEYS[2], ARGV[1])
return {'retried', f[2], f[3]}
