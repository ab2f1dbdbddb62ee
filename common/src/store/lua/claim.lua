-- queued -> running, for exactly one worker. Two modes:
--   exact: claims the given job (a worker that lost its claim in Redis claims it again);
--   best:  a submit message is a token for its queue: claims the best job of the queue's claim order
--          (<ns>:prio:<queue>, see index.lua), which is the delivered job when nothing better waits.
--          If the best is wider than the slots the worker offers, nothing is claimed and the answer
--          is {'wider', slots it needs}: the worker hands the message back and reserves that many.
--          Strict order: a narrower job behind it does not jump ahead (it would starve wide jobs).
-- Every queued job has a message in each of its queues until one is spent, and each spent message
-- claims at most one job, so no queued job is left without one; a message that finds nothing to claim
-- is left over and dropped. A provisional job's own message waits for its confirm ('unconfirmed')
-- rather than claiming another job: its job is not in the claim order yet and will need a message.
-- The claim carries a token unique to this claim attempt. Asked again with the same token (because
-- the first answer was lost on the way; mode exact, or best-again), it answers `claimed` again: a claim
-- that happened is never mistaken for one that did not, which would leave the job running with nobody
-- running it.
-- The job joins its worker's job set, and the worker the set of known workers, so that a sweeper finds
-- the job if the worker is lost.
-- KEYS: the delivered (or exact) job, the worker's job set, the set of known workers, the queue's
--   claim order.
-- ARGV: 1 worker, 2 host, 3 queue, 4 now (ms), 5 slots (exact: threads granted; best: slots offered),
--   6 claim token, 7 note (exact; '' for none), 8 job id, 9 mode (exact, best, best-again), 10 the
--   worker's threads (best), then the spec's fields (JobSpec::FIELDS in spec.rs).
-- Returns {'claimed', id, threads granted, the fields' values...}, {'wider', slots}, {'unconfirmed'},
-- {'missing'}, or the delivered job's state when nothing was claimed.
local FIELDS_AT = 11

local function answer(key, id, granted)
  return {'claimed', id, tostring(granted), unpack(redis.call('HMGET', key, unpack(ARGV, FIELDS_AT)))}
end

local function take(key, id, granted, note)
  redis.call('HSET', key, 'state', 'running', 'worker', ARGV[1], 'host', ARGV[2], 'queue', ARGV[3],
    'started', ARGV[4], 'threads_granted', granted, 'claim', ARGV[6])
  if note ~= '' then
    redis.call('HSET', key, 'note', note)
  end
  redis.call('HINCRBY', key, 'attempts', 1)
  reindex(key, id, 'queued', 'running')
  -- A job may be claimed before its submitter confirmed it: it is real now, and must not expire.
  redis.call('PERSIST', key)
  redis.call('SADD', KEYS[2], id)
  redis.call('SADD', KEYS[3], ARGV[1])
  return answer(key, id, granted)
end

local delivered = redis.call('HMGET', KEYS[1], 'state', 'claim', 'provisional', 'held')
local state = delivered[1]

if ARGV[9] == 'exact' then
  if not state then
    return {'missing'}
  end
  if state == 'running' and delivered[2] == ARGV[6] then
    return answer(KEYS[1], ARGV[8], redis.call('HGET', KEYS[1], 'threads_granted'))
  elseif state ~= 'queued' then
    return {state}
  elseif delivered[3] then
    -- Published, but its submitter has not confirmed it (see confirm.lua): it may yet answer 503 and
    -- the job expire. Running it now could run an analysis its client was told was refused.
    return {'unconfirmed'}
  end
  return take(KEYS[1], ARGV[8], ARGV[5], ARGV[7])
end

local prefix = string.match(KEYS[1], '^(.*:)job:[^:]*$')
if ARGV[9] == 'best-again' then
  -- The first answer was lost: the job this token claimed, if it claimed one, is in the worker's set.
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    local key = prefix .. 'job:' .. id
    if redis.call('HGET', key, 'claim') == ARGV[6] then
      return answer(key, id, redis.call('HGET', key, 'threads_granted'))
    end
  end
end
if state == 'queued' then
  if delivered[3] then
    return {'unconfirmed'}
  end
  -- A queued job whose own message arrives is claimable (a job queued before claim orders existed
  -- is put into its queue's order here).
  if not delivered[4] and not redis.call('ZSCORE', KEYS[4], prio_member(ARGV[8])) then
    prio_enter(KEYS[1], ARGV[8])
  end
end

local slots, total = tonumber(ARGV[5]), tonumber(ARGV[10])
-- Every member should be a claimable job; one that is not (its hash expired) is removed and the next
-- looked at, a few times at most.
for _ = 1, 8 do
  local head = redis.call('ZRANGE', KEYS[4], 0, 0)
  if #head == 0 then
    break
  end
  local id = string.match(head[1], '^0*(%d+)$') or head[1]
  local key = prefix .. 'job:' .. id
  local f = redis.call('HMGET', key, 'state', 'provisional', 'threads')
  if f[1] ~= 'queued' or f[2] then
    redis.call('ZREM', KEYS[4], head[1])
  else
    local asked = math.max(tonumber(f[3]) or 1, 1)
    local width = math.min(asked, total)
    if width > slots then
      return {'wider', tostring(width)}
    end
    local note = ''
    if asked > total then
      note = string.format('asked for %d threads; worker %s has %d, so the job runs alone with all of them',
        asked, ARGV[1], total)
    end
    return take(key, id, width, note)
  end
end
return {state or 'missing'}
