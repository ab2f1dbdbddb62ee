-- Writes what a job's script wrote into the job's log in Redis, for the attempt that owns the log.
--
-- Each stream (stdout, stderr) keeps its first `head` bytes in its head key and, past them, its last
-- `ring` bytes in its tail key, a ring buffer: the byte at position p >= head lives at (p - head) % ring.
-- The meta hash (KEYS[1]) holds `writer` (the attempt that owns the log), `head`, `ring`, and per stream
-- its length `<stream>` and `<stream>:from`: from there to its length, the ring holds every byte (a writer
-- that skipped bytes, because the script wrote faster than it ships, moves it on). A reader keeps
-- max(head, length - ring, from) to the length of the tail.
--
-- KEYS: meta, stdout head, stdout tail, stderr head, stderr tail.
-- ARGV: writer; head and ring ('' and '', or the budgets of a log this attempt starts afresh); ttl ('' while
--       the job runs; at its end the seconds the log is kept, 0 for ever); then per stream (stdout, then
--       stderr): at (position of the first byte), since (where the run of bytes this piece belongs to
--       began), bytes.
-- Returns 1, or 0 if another attempt owns the log (nothing written).
local writer = ARGV[1]
if ARGV[2] ~= '' then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
  redis.call('HSET', KEYS[1], 'writer', writer, 'head', ARGV[2], 'ring', ARGV[3],
    'stdout', 0, 'stdout:from', 0, 'stderr', 0, 'stderr:from', 0)
elseif redis.call('HGET', KEYS[1], 'writer') ~= writer then
  return 0
end
local budget = redis.call('HMGET', KEYS[1], 'head', 'ring')
local head, ring = tonumber(budget[1]), tonumber(budget[2])

local function write(stream, head_key, ring_key, at, since, data)
  local n = #data
  if n == 0 then
    return
  end
  local stop = at + n
  if at < head then
    redis.call('SETRANGE', head_key, at, string.sub(data, 1, math.min(stop, head) - at))
  end
  -- Past the head, only the last `ring` bytes can be kept.
  local first = math.max(at, head, stop - ring)
  if first < stop and ring > 0 then
    local piece = string.sub(data, first - at + 1)
    local slot = (first - head) % ring
    local fits = ring - slot
    redis.call('SETRANGE', ring_key, slot, string.sub(piece, 1, fits))
    if #piece > fits then
      redis.call('SETRANGE', ring_key, 0, string.sub(piece, fits + 1))
    end
  end
  local kept = redis.call('HMGET', KEYS[1], stream, stream .. ':from')
  local total, from = tonumber(kept[1]) or 0, tonumber(kept[2]) or 0
  -- A run that skipped bytes is complete only from its start; one that reaches the complete part from
  -- before makes it complete from its own start.
  if since > total or (since < from and stop >= from) then
    from = since
  end
  redis.call('HSET', KEYS[1], stream, math.max(total, stop), stream .. ':from', from)
end

write('stdout', KEYS[2], KEYS[3], tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7])
write('stderr', KEYS[4], KEYS[5], tonumber(ARGV[8]), tonumber(ARGV[9]), ARGV[10])

if ARGV[4] ~= '' then
  local ttl = tonumber(ARGV[4])
  for _, key in ipairs(KEYS) do
    if ttl > 0 then
      redis.call('EXPIRE', key, ttl)
    else
      redis.call('PERSIST', key)
    end
  end
end
return 1
