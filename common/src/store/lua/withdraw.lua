-- Takes back a job whose submit could not be published to every queue: removed if it is still queued,
-- kept if a worker already claimed it through a message that did get through (it runs; the submit
-- then stands). The state is returned either way.
-- KEYS[1]: job.
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'queued' then
  redis.call('DEL', KEYS[1])
  return 'withdrawn'
end
return state or 'missing'
