"""The Redis store's two scripts: each runs atomically on the server, O(buckets) per key.

A budget key is a hash whose fields are ``r<bucket>`` (reserved) and ``s<bucket>`` (spent), bucket
being ``floor(now / bucket_seconds)``; fields older than the window are deleted when read, and the
whole key expires when untouched for a window. Amounts are integers (nano-dollars, tokens, calls)
passed as strings, so ``HINCRBY`` adds them exactly; sums are Lua doubles, exact below 2**53
(nine million dollars in one window).
"""

from typing import Final

RESERVE: Final = """
-- ARGV[1]: now (seconds). Per key, 5 values: bucket seconds, buckets per window, amount,
-- limit (-1: count without refusing), ttl (ms).
-- Reply: {admitted (0/1), refused key position (0: none), used_1..used_n, bucket_1..bucket_n}
local now = tonumber(ARGV[1])
local n = #KEYS
local used, current = {}, {}
for i = 1, n do
  local a = 1 + (i - 1) * 5
  local size, count = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local bucket = math.floor(now / size)
  local oldest = bucket - count + 1
  local total = 0
  local fields = redis.call('HGETALL', KEYS[i])
  for j = 1, #fields, 2 do
    if tonumber(string.sub(fields[j], 2)) < oldest then
      redis.call('HDEL', KEYS[i], fields[j])
    else
      total = total + tonumber(fields[j + 1])
    end
  end
  used[i] = total
  current[i] = bucket
end
local refused = 0
for i = 1, n do
  local a = 1 + (i - 1) * 5
  local limit = tonumber(ARGV[a + 4])
  if refused == 0 and limit >= 0 and used[i] + tonumber(ARGV[a + 3]) > limit then
    refused = i
  end
end
if refused == 0 then
  for i = 1, n do
    local a = 1 + (i - 1) * 5
    redis.call('HINCRBY', KEYS[i], 'r' .. string.format('%d', current[i]), ARGV[a + 3])
    redis.call('PEXPIRE', KEYS[i], ARGV[a + 5])
  end
end
local reply = {refused == 0 and 1 or 0, refused}
for i = 1, n do reply[#reply + 1] = used[i] end
for i = 1, n do reply[#reply + 1] = current[i] end
return reply
"""

SETTLE: Final = """
-- ARGV[1]: now (seconds). Per key, 6 values: bucket seconds, buckets per window, bucket (as
-- reserved), minus the reserved amount, the actual amount, ttl (ms).
local now = tonumber(ARGV[1])
for i = 1, #KEYS do
  local a = 1 + (i - 1) * 6
  local size, count = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  if tonumber(ARGV[a + 3]) >= math.floor(now / size) - count + 1 then
    redis.call('HINCRBY', KEYS[i], 'r' .. ARGV[a + 3], ARGV[a + 4])
    redis.call('HINCRBY', KEYS[i], 's' .. ARGV[a + 3], ARGV[a + 5])
    redis.call('PEXPIRE', KEYS[i], ARGV[a + 6])
  end
end
return 1
"""
