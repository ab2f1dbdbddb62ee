-- Releases the jobs held for a resumed job type: each still queued enters the claim order of its
-- queues (see index.lua), and all go into the requeue outbox, which every sweep publishes.
-- KEYS: the type's held set, the requeue outbox. ARGV: the job key prefix (`<ns>:job:`).
-- Returns how many jobs were moved.
local ids = redis.call('SMEMBERS', KEYS[1])
for _, id in ipairs(ids) do
  local key = ARGV[1] .. id
  if redis.call('HDEL', key, 'held') == 1 and redis.call('HGET', key, 'state') == 'queued' then
    prio_enter(key, id)
  end
end
if #ids > 0 then
  redis.call('SUNIONSTORE', KEYS[2], KEYS[2], KEYS[1])
  redis.call('DEL', KEYS[1])
end
return #ids
