-- A queued job becomes canceled at once (its messages are dropped when workers see them), as does one
-- waiting on others (pending or blocked: it has no message yet); its dependents become blocked. A running job is
-- marked cancel-requested and the caller tells its worker. Anything else has already ended.
-- KEYS[1]: job. ARGV: now (ms), retention seconds (0: keep).
local current = redis.call('HMGET', KEYS[1], 'state', 'worker')
if not current[1] then
  return {'missing'}
end
local waiting = {queued = true, pending = true, blocked = true}
if waiting[current[1]] then
  local id = string.match(KEYS[1], ':job:([^:]*)$')
  local prefix = hopper_prefix(KEYS[1])
  redis.call('HSET', KEYS[1], 'state', 'canceled', 'ended', ARGV[1], 'cancel', '1')
  -- A provisional job is not indexed yet; its confirm indexes it as it then is.
  if redis.call('HEXISTS', KEYS[1], 'provisional') == 0 then
    reindex(KEYS[1], id, current[1], 'canceled')
  end
  follow_dependents(prefix, id, current[1], 'canceled')
  local ttl = tonumber(ARGV[2])
  if ttl > 0 then
    redis.call('EXPIRE', KEYS[1], ttl)
    redis.call('EXPIRE', prefix .. 'children:' .. id, ttl)
  else
    -- Kept for ever, even if it was still provisional (see create.lua).
    redis.call('PERSIST', KEYS[1])
  end
  return {'dequeued'}
end
if current[1] == 'running' or current[1] == 'suspended' then
  redis.call('HSET', KEYS[1], 'cancel', '1')
  return {'running', current[2]}
end
return {current[1]}
