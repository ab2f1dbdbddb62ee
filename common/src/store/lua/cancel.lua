-- A queued job becomes canceled at once (its messages are dropped when workers see them); a running job is
-- marked cancel-requested and the caller tells its worker. Anything else has already ended.
-- KEYS[1]: job. ARGV: now (ms), retention seconds (0: keep).
local current = redis.call('HMGET', KEYS[1], 'state', 'worker')
if not current[1] then
  return {'missing'}
end
if current[1] == 'queued' then
  redis.call('HSET', KEYS[1], 'state', 'canceled', 'ended', ARGV[1], 'cancel', '1')
  -- A provisional job is not indexed yet; its confirm indexes it as it then is.
  if redis.call('HEXISTS', KEYS[1], 'provisional') == 0 then
    reindex(KEYS[1], string.match(KEYS[1], ':job:([^:]*)$'), 'queued', 'canceled')
  end
  local ttl = tonumber(ARGV[2])
  if ttl > 0 then
    redis.call('EXPIRE', KEYS[1], ttl)
  else
    -- Kept for ever, even if it was still provisional (see create.lua).
    redis.call('PERSIST', KEYS[1])
  end
  return {'dequeued'}
end
if current[1] == 'running' then
  redis.call('HSET', KEYS[1], 'cancel', '1')
  return {'running', current[2]}
end
return {current[1]}
