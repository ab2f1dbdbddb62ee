-- Removes from every index the jobs that ended before a cutoff: their hashes expire at their retention,
-- and the pruner (run with each sweep) takes their index entries with them. The entries of
-- <ns>:idx:ended carry the groups a job was indexed under (index.lua), so no job hash is needed.
-- ARGV: key prefix (`<ns>:`), cutoff (ms), most jobs to prune. Returns how many were pruned.
local prefix = ARGV[1]
local members = redis.call('ZRANGE', prefix .. 'idx:ended', '-inf', ARGV[2], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(members) do
  local entry = cjson.decode(member)
  local id = entry[1]
  for _, g in ipairs(entry[2]) do
    for _, state in ipairs({'succeeded', 'failed', 'canceled'}) do
      redis.call('ZREM', prefix .. 'idx:' .. g .. ':' .. state, id)
    end
  end
  redis.call('ZREM', prefix .. 'idx:created', id)
  redis.call('ZREM', prefix .. 'idx:ended', member)
end
return #members
