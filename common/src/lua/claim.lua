-- queued -> running, for exactly one worker. Copies of the job in other queues and redeliveries find it no
-- longer queued and are dropped.
-- KEYS[1]: job. ARGV: worker, host, queue, now (ms), threads granted, note ('' for none).
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  return {'missing'}
end
if state ~= 'queued' then
  return {state}
end
redis.call('HSET', KEYS[1], 'state', 'running', 'worker', ARGV[1], 'host', ARGV[2], 'queue', ARGV[3],
  'started', ARGV[4], 'threads_granted', ARGV[5])
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], 'note', ARGV[6])
end
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
local spec = redis.call('HMGET', KEYS[1], 'threads', 'queues', 'script', 'args', 'workdir')
return {'claimed', spec[1], spec[2], spec[3], spec[4], spec[5]}
