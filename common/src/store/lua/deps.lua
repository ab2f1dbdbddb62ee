-- Dependencies between jobs (put in front of the scripts that end, cancel or retry a job, after
-- index.lua). A job created with parents (`after`) keeps two counters:
--   waiting:  parents that have not succeeded;
--   blockers: parents that failed, were canceled, or are blocked themselves.
-- It is `pending` while waiting > 0, `blocked` while blockers > 0, and goes to `queued` (and into the
-- requeue outbox, which gets its submit published even if the releasing process dies) when the last
-- parent succeeds. <ns>:children:<id> holds the ids of a job's dependents.

-- A parent succeeded: each dependent waits on one parent fewer; those that wait on none any more are
-- queued. Returns them as a flat list: id, threads, queues, id, threads, queues...
local function release_children(prefix, id)
  local released = {}
  for _, child in ipairs(redis.call('SMEMBERS', prefix .. 'children:' .. id)) do
    local key = prefix .. 'job:' .. child
    local waiting = redis.call('HINCRBY', key, 'waiting', -1)
    local f = redis.call('HMGET', key, 'state', 'blockers', 'threads', 'queues')
    if waiting <= 0 and f[1] == 'pending' and (tonumber(f[2]) or 0) <= 0 then
      redis.call('HSET', key, 'state', 'queued')
      reindex(key, child, 'pending', 'queued')
      redis.call('SADD', prefix .. 'requeue', child)
      released[#released + 1] = child
      released[#released + 1] = f[3] or '1'
      released[#released + 1] = f[4] or ''
    end
  end
  return released
end

-- A job became a blocker (delta 1: it failed, was canceled or got blocked) or stopped being one
-- (delta -1: it was retried, or got unblocked): its dependents, and theirs in turn, follow.
local function propagate_block(prefix, id, delta)
  local todo = {id}
  while #todo > 0 do
    local parent = table.remove(todo)
    for _, child in ipairs(redis.call('SMEMBERS', prefix .. 'children:' .. parent)) do
      local key = prefix .. 'job:' .. child
      local blockers = redis.call('HINCRBY', key, 'blockers', delta)
      local state = redis.call('HGET', key, 'state')
      if delta > 0 and blockers == 1 and state == 'pending' then
        redis.call('HSET', key, 'state', 'blocked')
        reindex(key, child, 'pending', 'blocked')
        todo[#todo + 1] = child
      elseif delta < 0 and blockers == 0 and state == 'blocked' then
        redis.call('HSET', key, 'state', 'pending')
        reindex(key, child, 'blocked', 'pending')
        todo[#todo + 1] = child
      end
    end
  end
end

-- What a job's move from `from` to `to` means for its dependents; the released ones, as
-- release_children returns them. Called by every script that changes a job's state, after the change.
local function follow_dependents(prefix, id, from, to)
  local blocking = {failed = true, canceled = true, blocked = true}
  if to == 'succeeded' then
    return release_children(prefix, id)
  end
  if blocking[to] and not blocking[from] then
    propagate_block(prefix, id, 1)
  elseif blocking[from] and not blocking[to] then
    propagate_block(prefix, id, -1)
  end
  return {}
end
