-- Ends a running job's current attempt, only for the worker that owns it, in one of three ways:
--   finish:          the script ended; the job becomes succeeded or failed (ARGV[4]).
--   release:         the worker gave the job up (shut down, or found it stranded): the job goes back to
--                    queued if it has tries left, else fails with the reason in ARGV[5].
--   release-if-dead: as release, but only while the owner's heartbeat key (KEYS[4]) is absent: a sweeper
--                    deciding that a worker is lost and that worker's next heartbeat cannot interleave.
--   retry-or-fail:   the script was ended for its time limit: as release, but a final failure records
--                    the fields given, as finish does. A job that asks for it (field `retry_failures`,
--                    TaskAPI's tasks) is ended this way too when its script fails (outcome `exit` or
--                    `signal`).
-- A job whose cancel was requested ends canceled in every mode: its client was told it was canceled.
-- Every ended attempt is appended to the job's `history` (a JSON array), and the job leaves its worker's
-- set of jobs.
-- KEYS: job, the worker's job set, the requeue set, the worker's heartbeat.
-- ARGV: job id, worker, mode, state (finish) or '', outcome, now (ms), retention seconds (0: keep),
--       field, value pairs to set on a final state...
-- Returns false (not this worker's running job), {final state, dependents released...} (each released
-- dependent as id, threads, queues; see deps.lua), or {'queued', threads, queues}.
local job = redis.call('HMGET', KEYS[1], 'state', 'worker', 'cancel', 'attempts', 'max_tries', 'host',
  'started', 'history', 'threads', 'queues', 'retry_failures')
-- A suspended job is still its worker's running job (its processes are stopped, not gone).
local was = job[1]
if (was ~= 'running' and was ~= 'suspended') or job[2] ~= ARGV[2] then
  -- Whatever happened to it, it is not this worker's running job anymore.
  redis.call('SREM', KEYS[2], ARGV[1])
  return false
end
local mode = ARGV[3]
if mode == 'finish' and job[11] == '1' and (ARGV[5] == 'exit' or ARGV[5] == 'signal') then
  mode = 'retry-or-fail'
end
if mode == 'release-if-dead' and redis.call('EXISTS', KEYS[4]) == 1 then
  return false
end
local now = ARGV[6]
local outcome = ARGV[5]
local final
if job[3] == '1' then
  final = 'canceled'
  outcome = 'canceled'
elseif mode == 'finish' then
  final = ARGV[4]
elseif (tonumber(job[4]) or 0) < (tonumber(job[5]) or 1) then
  final = 'queued'
else
  final = 'failed'
end

local history = {}
if job[8] then
  history = cjson.decode(job[8])
end
history[#history + 1] = {attempt = tonumber(job[4]) or 0, worker = job[2], host = job[6] or '',
  started = tonumber(job[7]) or 0, ended = tonumber(now), outcome = outcome}
redis.call('HSET', KEYS[1], 'history', cjson.encode(history))
redis.call('SREM', KEYS[2], ARGV[1])

if final == 'queued' then
  redis.call('HSET', KEYS[1], 'state', 'queued')
  redis.call('HDEL', KEYS[1], 'worker', 'host', 'queue', 'started', 'threads_granted', 'claim', 'note')
  redis.call('SADD', KEYS[3], ARGV[1])
  redis.call('HDEL', KEYS[1], 'suspended_at')
  reindex(KEYS[1], ARGV[1], was, 'queued')
  return {'queued', job[9], job[10]}
end

redis.call('HSET', KEYS[1], 'state', final, 'ended', now)
if mode == 'finish' or mode == 'retry-or-fail' then
  if #ARGV > 7 then
    redis.call('HSET', KEYS[1], unpack(ARGV, 8))
  end
elseif final == 'failed' then
  redis.call('HSET', KEYS[1], 'reason', outcome)
end
redis.call('HDEL', KEYS[1], 'suspended_at')
reindex(KEYS[1], ARGV[1], was, final)
local prefix = hopper_prefix(KEYS[1])
local released = follow_dependents(prefix, ARGV[1], was, final)
local ttl = tonumber(ARGV[7])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', prefix .. 'children:' .. ARGV[1], ttl)
end
return {final, unpack(released)}
