-- Creates a job that waits on others (`after`) in one step: every parent must exist (an unknown one
-- refuses the job, and since a job can only name jobs that exist before it, no cycle can form). The
-- job is born `blocked` if a parent failed, was canceled or is blocked; `pending` if some parent has not
-- succeeded yet; `queued` (and put into the requeue outbox for its submit) otherwise.
-- KEYS: the id counter, the set a job that can run at once goes into: the requeue outbox, or the set
--   that holds a paused job type's jobs (`<ns>:held:<type>`, with no parents; their fields include
--   `held`, which keeps them out of the claim order until release_held.lua takes it away).
-- ARGV: job key prefix (`<ns>:job:`), deadline (ms of Redis's clock), number of parents n, the n parent
--   ids, then field, value pairs.
-- Returns {'unknown', parent id}, false past the deadline, or {id, state}.
local now = redis.call('TIME')
if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > tonumber(ARGV[2]) then
  return false
end
local job_prefix = ARGV[1]
local prefix = string.sub(job_prefix, 1, #job_prefix - 4)
local n = tonumber(ARGV[3])
local waiting, blockers = 0, 0
for i = 1, n do
  local parent = ARGV[3 + i]
  local state = redis.call('HGET', job_prefix .. parent, 'state')
  if not state or redis.call('HEXISTS', job_prefix .. parent, 'provisional') == 1 then
    return {'unknown', parent}
  end
  if state ~= 'succeeded' then
    waiting = waiting + 1
  end
  if state == 'failed' or state == 'canceled' or state == 'blocked' then
    blockers = blockers + 1
  end
end
local state = 'queued'
if blockers > 0 then
  state = 'blocked'
elseif waiting > 0 then
  state = 'pending'
end
local id = redis.call('INCR', KEYS[1])
local key = job_prefix .. id
redis.call('HSET', key, 'id', id, unpack(ARGV, 4 + n))
redis.call('HSET', key, 'state', state, 'waiting', waiting, 'blockers', blockers)
if state ~= 'queued' then
  -- Only a job that could run now is held; one that waits is released by its parents (deps.lua).
  redis.call('HDEL', key, 'held')
end
for i = 1, n do
  redis.call('SADD', prefix .. 'children:' .. ARGV[3 + i], id)
end
reindex(key, tostring(id), nil, state)
if state == 'queued' then
  redis.call('SADD', KEYS[2], id)
end
return {tostring(id), state}
