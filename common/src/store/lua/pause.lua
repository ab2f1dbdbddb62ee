-- Suspends a running job (ARGV[2] = 'suspend': running -> suspended) or resumes a suspended one
-- ('resume': suspended -> running). The count `pauses` goes up with each, and travels with the command
-- to the worker, which applies only what is newer than what it applied last: a late command, or a
-- record it read before the change, cannot undo a later one.
-- KEYS[1]: job. ARGV: job id, 'suspend' or 'resume', now (ms).
-- Returns {'missing'}, {state} when the job is not in the state it must leave, or {new state, worker,
-- pauses}.
local f = redis.call('HMGET', KEYS[1], 'state', 'worker', 'cancel')
if not f[1] then
  return {'missing'}
end
local from, to = 'running', 'suspended'
if ARGV[2] == 'resume' then
  from, to = 'suspended', 'running'
end
if f[1] ~= from or f[3] == '1' then
  return {f[1]}
end
redis.call('HSET', KEYS[1], 'state', to)
if to == 'suspended' then
  redis.call('HSET', KEYS[1], 'suspended_at', ARGV[3])
else
  redis.call('HDEL', KEYS[1], 'suspended_at')
end
local pauses = redis.call('HINCRBY', KEYS[1], 'pauses', 1)
reindex(KEYS[1], ARGV[1], from, to)
return {to, f[2], tostring(pauses)}
