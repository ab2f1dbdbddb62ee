-- Makes a provisional job (created with an expiry, see create.lua) lasting once its submit is published.
-- Only a job still queued has the provisional expiry to lose: a claim already removed it, and an ended
-- job's expiry is its retention, which must stay. The state is returned, or 'missing' if the job is gone.
-- KEYS[1]: job.
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  return 'missing'
end
if state == 'queued' then
  redis.call('PERSIST', KEYS[1])
end
return state
