-- One page of jobs, newest first, from the indexes (index.lua): the jobs of one group in the given
-- states, merged by id, optionally within a creation window and checked against further conditions.
-- ARGV: key prefix (`<ns>:`), group, states (comma-separated), cursor (highest id wanted, or ''),
--   created after (ms, or ''), created before (ms, or ''), limit, conditions (JSON, or ''): {"queues":
--   [...], "labels": {k: v}, "type": t}, all of which a job must match, scan budget (most ids looked
--   at), then the hash fields to return.
-- Returns {next cursor or '', id, values..., id, values..., ...}.
--
-- Each state's index yields at most `budget` ids; only ids down to the highest of the lowest ids of the
-- indexes that yielded that many are known to be complete, so the page stops there and the cursor
-- continues from it. A page may therefore hold fewer than `limit` jobs while more follow.
local prefix, group = ARGV[1], ARGV[2]
local limit, budget = tonumber(ARGV[7]), tonumber(ARGV[9])
local fields = {unpack(ARGV, 10)}
local max, min = '+inf', '-inf'
if ARGV[4] ~= '' then max = ARGV[4] end
if ARGV[5] ~= '' then
  local first = redis.call('ZRANGE', prefix .. 'idx:created', ARGV[5], '+inf', 'BYSCORE', 'LIMIT', 0, 1)
  if #first == 0 then return {''} end
  min = first[1]
end
if ARGV[6] ~= '' then
  local last = redis.call('ZRANGE', prefix .. 'idx:created', '(' .. ARGV[6], '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, 1)
  if #last == 0 then return {''} end
  if max == '+inf' or tonumber(last[1]) < tonumber(max) then max = last[1] end
end
if max ~= '+inf' and min ~= '-inf' and tonumber(max) < tonumber(min) then return {''} end
local conditions = nil
if ARGV[8] ~= '' then conditions = cjson.decode(ARGV[8]) end

local candidates, floor = {}, nil
for state in string.gmatch(ARGV[3], '[^,]+') do
  local key = prefix .. 'idx:' .. group .. ':' .. state
  local ids = redis.call('ZRANGE', key, max, min, 'BYSCORE', 'REV', 'LIMIT', 0, budget)
  for _, id in ipairs(ids) do
    candidates[#candidates + 1] = {tonumber(id), id, key}
  end
  if #ids == budget then
    local lowest = tonumber(ids[#ids])
    if not floor or lowest > floor then floor = lowest end
  end
end
table.sort(candidates, function(a, b) return a[1] > b[1] end)

local function matches(job_key)
  if not conditions then return true end
  local f = redis.call('HMGET', job_key, 'queues', 'labels', 'type')
  if conditions.type and conditions.type ~= f[3] then return false end
  if conditions.queues then
    local has = {}
    for q in string.gmatch(f[1] or '', '[^,]+') do has[q] = true end
    for _, q in ipairs(conditions.queues) do
      if not has[q] then return false end
    end
  end
  if conditions.labels then
    local labels = {}
    if f[2] and f[2] ~= '' then labels = cjson.decode(f[2]) end
    for k, v in pairs(conditions.labels) do
      if labels[k] ~= v then return false end
    end
  end
  return true
end

local out, found, last = {''}, 0, nil
for _, c in ipairs(candidates) do
  if floor and c[1] < floor then break end
  if found == limit then break end
  last = c[1]
  local job_key = prefix .. 'job:' .. c[2]
  if redis.call('EXISTS', job_key) == 0 then
    -- Expired (a canceled job never confirmed, or one past its retention the pruner has not reached).
    redis.call('ZREM', c[3], c[2])
  elseif matches(job_key) then
    found = found + 1
    out[#out + 1] = c[2]
    local values = redis.call('HMGET', job_key, unpack(fields))
    for i = 1, #fields do out[#out + 1] = values[i] or '' end
  end
end
if found == limit and last then
  out[1] = tostring(last - 1)
elseif floor then
  out[1] = tostring(floor - 1)
end
return out
