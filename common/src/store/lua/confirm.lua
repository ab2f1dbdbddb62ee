-- Makes provisional jobs (created with an expiry and a `provisional` field, see create.lua) lasting and
-- claimable once their submits are published; many at once, one job per key, because every accepted submit needs this and one script
-- call per submit cost a fifth of the submit rate.
-- Only a job still queued has the provisional expiry to lose: a claim already removed it, and an ended
-- job's expiry is its retention, which must stay. For each job its state is returned, 'missing' if it is
-- gone, or 'late'.
-- KEYS: jobs. ARGV: for each job, its deadline, in milliseconds of Redis's clock.
--
-- Past its deadline a job's submitter has given up and refused the submit, so a confirm Redis carries
-- out only then (it hung meanwhile) changes nothing for it: the job stays provisional and expires, as
-- the refusal said ('late').
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local states = {}
for i, key in ipairs(KEYS) do
  local state = false
  if now_ms > tonumber(ARGV[i]) then
    state = 'late'
  else
    state = redis.call('HGET', key, 'state') or 'missing'
    if state == 'queued' then
      redis.call('PERSIST', key)
    end
    if state ~= 'missing' and redis.call('HDEL', key, 'provisional') == 1 then
      reindex(key, string.match(key, ':job:([^:]*)$'), nil, state)
    end
  end
  states[i] = state
end
return states
