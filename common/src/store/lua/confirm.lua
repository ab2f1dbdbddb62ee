-- Makes a provisional job (created with an expiry, see create.lua) lasting once its submit is published.
-- Only a job still queued has the provisional expiry to lose: a claim already removed it, and an ended
-- job's expiry is its retention, which must stay. The state is returned, or 'missing' if the job is gone.
-- KEYS[1]: job. ARGV[1]: the deadline, in milliseconds of Redis's clock.
--
-- Past the deadline the caller has given up and refused the submit, so a confirm Redis carries out only
-- then (it hung meanwhile) changes nothing: the job stays provisional and expires, as the refusal said.
local now = redis.call('TIME')
if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > tonumber(ARGV[1]) then
  return 'late'
end
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  return 'missing'
end
if state == 'queued' then
  redis.call('PERSIST', KEYS[1])
end
return state
