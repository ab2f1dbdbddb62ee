-- Creates a job under a fresh id in one step, so no half-made job (an id without a hash) can exist.
-- KEYS[1]: the id counter; KEYS[2], KEYS[3]: for a job with a name of its client's, see below.
-- ARGV[1]: job key prefix; ARGV[2]: milliseconds until Redis forgets the job (0: keep it): a rejected job's retention, or how long a job stays provisional (see confirm.lua);
-- ARGV[3]: the deadline, in milliseconds of Redis's clock; ARGV[4..]: field, value pairs (they include
-- `state`).
-- The job key is derived from the counter, so it cannot be passed in KEYS: Hopper needs a single Redis
-- node (or a primary with replicas), not Redis Cluster.
--
-- A Redis that hung (paused, swapping, a slow fork) runs what was sent to it once it goes on, even for a
-- client that has given up and answered 503 meanwhile: the job would be left looking queued with no
-- message behind it. Past the caller's deadline nothing is created.
local now = redis.call('TIME')
if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > tonumber(ARGV[3]) then
  return false
end
-- A job its client names (KEYS[2], the name's key, holding the id of the job that has it; KEYS[3],
-- the door's names, scored by job id): the name must be free, or held by a job that is gone (expired
-- after its retention, or provisional and never confirmed). A taken name answers minus its job's id.
if KEYS[2] then
  local holder = redis.call('GET', KEYS[2])
  if holder and redis.call('EXISTS', ARGV[1] .. holder) == 1 then
    return -tonumber(holder)
  end
end
local id = redis.call('INCR', KEYS[1])
local key = ARGV[1] .. id
redis.call('HSET', key, 'id', id, unpack(ARGV, 4))
if KEYS[2] then
  redis.call('SET', KEYS[2], id)
  redis.call('ZADD', KEYS[3], id, redis.call('HGET', key, 'alias'))
end
-- A provisional job is indexed when it is confirmed (confirm.lua): one that expires never was.
if redis.call('HEXISTS', key, 'provisional') == 0 then
  reindex(key, tostring(id), nil, redis.call('HGET', key, 'state'))
end
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  redis.call('PEXPIRE', key, ttl)
end
return id
