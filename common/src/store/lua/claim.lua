-- queued -> running, for exactly one worker. Copies of the job in other queues and redeliveries find it no
-- longer queued and are dropped.
-- The claim carries a token unique to this claim attempt. Asked again with the same token (because
-- the first answer was lost on the way), it answers `claimed` again: a claim that happened is never
-- mistaken for one that did not, which would leave the job running with nobody running it.
-- The job joins its worker's job set, and the worker the set of known workers, so that a sweeper finds
-- the job if the worker is lost.
-- KEYS: job, the worker's job set, the set of known workers.
-- ARGV: worker, host, queue, now (ms), threads granted, claim token, note ('' for none), job id, then
-- the spec's fields (JobSpec::FIELDS in spec.rs), whose values it returns after 'claimed'.
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  return {'missing'}
end
if state == 'running' and redis.call('HGET', KEYS[1], 'claim') == ARGV[6] then
  state = 'claimed'
elseif state ~= 'queued' then
  return {state}
elseif redis.call('HEXISTS', KEYS[1], 'provisional') == 1 then
  -- Published, but its submitter has not confirmed it (see confirm.lua): it may yet answer 503 and
  -- the job expire. Running it now could run an analysis its client was told was refused.
  return {'unconfirmed'}
else
  redis.call('HSET', KEYS[1], 'state', 'running', 'worker', ARGV[1], 'host', ARGV[2], 'queue', ARGV[3],
    'started', ARGV[4], 'threads_granted', ARGV[5], 'claim', ARGV[6])
  if ARGV[7] ~= '' then
    redis.call('HSET', KEYS[1], 'note', ARGV[7])
  end
  redis.call('HINCRBY', KEYS[1], 'attempts', 1)
  reindex(KEYS[1], ARGV[8], 'queued', 'running')
  -- A job may be claimed before its submitter confirmed it: it is real now, and must not expire.
  redis.call('PERSIST', KEYS[1])
  redis.call('SADD', KEYS[2], ARGV[8])
  redis.call('SADD', KEYS[3], ARGV[1])
end
local spec = redis.call('HMGET', KEYS[1], unpack(ARGV, 9))
return {'claimed', unpack(spec)}
