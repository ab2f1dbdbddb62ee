-- Lets the log of a job whose attempt ended without its worker (found lost) expire after ARGV[1]
-- seconds, unless the job runs again by now: a next attempt's log, started afresh, must not expire
-- while it runs.
-- KEYS: job, then the log's keys.
if redis.call('HGET', KEYS[1], 'state') == 'running' then
  return 0
end
for i = 2, #KEYS do
  redis.call('EXPIRE', KEYS[i], ARGV[1])
end
return 1
