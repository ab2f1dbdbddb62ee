-- Drops a worker from the set of known workers once it is both gone (no heartbeat) and holds no job, so
-- sweeps do not keep looking at workers that left for good.
-- KEYS: the set of known workers, the worker's heartbeat, the worker's job set. ARGV: worker.
if redis.call('EXISTS', KEYS[2]) == 0 and redis.call('SCARD', KEYS[3]) == 0 then
  redis.call('SREM', KEYS[1], ARGV[1])
  return 1
end
return 0
