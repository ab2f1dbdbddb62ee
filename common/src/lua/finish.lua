-- running -> succeeded | failed | canceled, only by the worker that owns the job. A job whose cancel was
-- requested ends canceled however its script ended: the client was already told it was canceled.
-- KEYS[1]: job. ARGV: worker, state, now (ms), retention seconds (0: keep), field, value pairs...
local current = redis.call('HMGET', KEYS[1], 'state', 'worker', 'cancel')
if current[1] ~= 'running' or current[2] ~= ARGV[1] then
  return false
end
local final = ARGV[2]
if current[3] == '1' then
  final = 'canceled'
end
redis.call('HSET', KEYS[1], 'state', final, 'ended', ARGV[3])
if #ARGV > 4 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 5))
end
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
end
return final
