-- Reads one stream of a job's log from a position, with the job's state, in one step (the layout is
-- described in log_write.lua).
-- KEYS: job, meta, the stream's head, the stream's tail.
-- ARGV: stream, offset, most bytes to return (0: all that is kept).
-- Returns {state ('' if there is no such job), length, next offset, omitted, head bytes, tail bytes}: the
-- kept bytes from the offset on, those of the head, then, after `omitted` bytes that were not kept, those
-- of the tail; `next` is the position after the last byte returned.
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  return {'', 0, 0, 0, '', ''}
end
local meta = redis.call('HMGET', KEYS[2], 'head', 'ring', ARGV[1], ARGV[1] .. ':from')
local head, ring = tonumber(meta[1]) or 0, tonumber(meta[2]) or 0
local total, from = tonumber(meta[3]) or 0, tonumber(meta[4]) or 0
local pos = math.min(tonumber(ARGV[2]), total)
local room = tonumber(ARGV[3])
if room <= 0 then
  room = total
end
local front, back, omitted = '', '', 0
if pos < head then
  local stop = math.min(total, head, pos + room)
  if stop > pos then
    front = redis.call('GETRANGE', KEYS[3], pos, stop - 1)
    room = room - (stop - pos)
    pos = stop
  end
end
if pos >= head and pos < total and room > 0 then
  local kept = math.max(head, total - ring, from)
  if pos < kept then
    omitted = kept - pos
    pos = kept
  end
  local stop = math.min(total, pos + room)
  if stop > pos then
    local slot = (pos - head) % ring
    local len = stop - pos
    if slot + len <= ring then
      back = redis.call('GETRANGE', KEYS[4], slot, slot + len - 1)
    else
      back = redis.call('GETRANGE', KEYS[4], slot, ring - 1)
        .. redis.call('GETRANGE', KEYS[4], 0, len - (ring - slot) - 1)
    end
    pos = stop
  end
end
return {state, total, pos, omitted, front, back}
