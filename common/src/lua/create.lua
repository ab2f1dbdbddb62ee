-- Creates a job under a fresh id in one step, so no half-made job (an id without a hash) can exist.
-- KEYS[1]: the id counter. ARGV[1]: job key prefix; ARGV[2]: retention in seconds (0: keep);
-- ARGV[3..]: field, value pairs (they include `state`).
-- The job key is derived from the counter, so it cannot be passed in KEYS: Hopper needs a single Redis
-- node (or a primary with replicas), not Redis Cluster.
local id = redis.call('INCR', KEYS[1])
local key = ARGV[1] .. id
redis.call('HSET', key, 'id', id, unpack(ARGV, 3))
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  redis.call('EXPIRE', key, ttl)
end
return id
