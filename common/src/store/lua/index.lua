-- The job indexes, kept by every script that changes a job's state (this file is put in front of them;
-- see store/mod.rs). Each index is a sorted set of job ids scored by the id itself, so newest first is
-- a reverse range and a cursor is an id:
--   <ns>:idx:<group>:<state>  jobs of a group in a state. Groups: `all`, `queue:<q>` for each queue a
--                             job may run in, `label:<key>=<value>` for each label, `type:<name>`.
--   <ns>:idx:created          every indexed job, scored by its creation time (ms), for time filters;
--   <ns>:idx:ended            ended jobs, scored by their end (ms); the member is the JSON
--                             [id, groups], so that pruning needs no job hash (it may have expired).
--   <ns>:prio:<queue>         the jobs a worker may claim from a queue, best first: queued, confirmed
--                             and not held for a paused type. Scored by priority (lower runs first);
--                             the member is the id zero-padded to 20 digits, so equal priorities go
--                             oldest first. claim.lua takes the head (see docs/architecture.md).
-- A job's groups come from its hash, which the calling script has not changed in those fields.

local FINAL = {succeeded = true, failed = true, canceled = true}
-- JobSpec::DEFAULT_PRIORITY in spec.rs (a unit test there keeps the two equal).
local DEFAULT_PRIORITY = 100

local function prio_member(id)
  return string.rep('0', 20 - #id) .. id
end

local function hopper_prefix(job_key)
  return string.match(job_key, '^(.*:)job:[^:]*$')
end

local function index_groups(job_key)
  local f = redis.call('HMGET', job_key, 'queues', 'labels', 'type')
  local groups = {'all'}
  for q in string.gmatch(f[1] or '', '[^,]+') do
    groups[#groups + 1] = 'queue:' .. q
  end
  if f[2] and f[2] ~= '' then
    for k, v in pairs(cjson.decode(f[2])) do
      groups[#groups + 1] = 'label:' .. k .. '=' .. v
    end
  end
  if f[3] and f[3] ~= '' then
    groups[#groups + 1] = 'type:' .. f[3]
  end
  table.sort(groups)
  return groups
end

-- Puts queued job `id` into the claim order of each of its queues, unless it is held for a paused type
-- (field `held`, see create_dependent.lua), which must not run until it is released.
local function prio_enter(job_key, id)
  local f = redis.call('HMGET', job_key, 'queues', 'priority', 'held')
  if f[3] then
    return
  end
  local prefix = hopper_prefix(job_key)
  local score = tonumber(f[2]) or DEFAULT_PRIORITY
  for q in string.gmatch(f[1] or '', '[^,]+') do
    redis.call('ZADD', prefix .. 'prio:' .. q, score, prio_member(id))
  end
end

-- Takes job `id` out of the claim order of its queues. A job leaving `queued` is no longer held either:
-- if it is retried later, it is published like any other.
local function prio_leave(job_key, id)
  local f = redis.call('HMGET', job_key, 'queues')
  local prefix = hopper_prefix(job_key)
  for q in string.gmatch(f[1] or '', '[^,]+') do
    redis.call('ZREM', prefix .. 'prio:' .. q, prio_member(id))
  end
  redis.call('HDEL', job_key, 'held')
end

-- Moves job `id` from state `from` to state `to` in every index (`from` nil: it was not indexed yet),
-- and stamps the job with when its state last changed (`changed`, ms of Redis's clock).
local function reindex(job_key, id, from, to)
  local prefix = hopper_prefix(job_key)
  local now = redis.call('TIME')
  redis.call('HSET', job_key, 'changed', tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000))
  if from == 'queued' then
    prio_leave(job_key, id)
  end
  if to == 'queued' then
    prio_enter(job_key, id)
  end
  local groups = index_groups(job_key)
  local score = tonumber(id)
  for _, g in ipairs(groups) do
    if from then
      redis.call('ZREM', prefix .. 'idx:' .. g .. ':' .. from, id)
    end
    redis.call('ZADD', prefix .. 'idx:' .. g .. ':' .. to, score, id)
  end
  if not from then
    local created = tonumber(redis.call('HGET', job_key, 'created')) or 0
    redis.call('ZADD', prefix .. 'idx:created', created, id)
  end
  local member = cjson.encode({id, groups})
  if from and FINAL[from] then
    redis.call('ZREM', prefix .. 'idx:ended', member)
  end
  if FINAL[to] then
    local ended = tonumber(redis.call('HGET', job_key, 'ended')) or 0
    redis.call('ZADD', prefix .. 'idx:ended', ended, member)
  end
end
