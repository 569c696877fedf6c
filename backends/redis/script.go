package redis

import goredis "github.com/redis/go-redis/v9"

// The fields of a session's hash. One letter each: Redis stores field names
// in every hash, so short names keep a checkpoint small (docs/redis.md
// measures it).
const (
	// FieldEventID holds the newest event ID, as given.
	FieldEventID = "e"
	// FieldSeq holds the checkpoint's Seq in decimal, without leading zeros.
	FieldSeq = "q"
	// FieldWindow holds the checkpoint's core.Window bytes (8 per hash); it
	// is absent when the checkpoint carries no window.
	FieldWindow = "w"
	// FieldUpdated holds the write time in unix milliseconds, for
	// operators; the backend never reads it.
	FieldUpdated = "u"
)

// storeSrc is the Lua script that applies one checkpoint, atomically (Redis
// runs a script alone): it writes only if the stored Seq is lower, and
// returns 1 (written) or 0 (stale).
//
//	KEYS[1]  the session's hash
//	ARGV[1]  Seq, decimal without leading zeros
//	ARGV[2]  event ID
//	ARGV[3]  window bytes, "" for none
//	ARGV[4]  update time, unix ms
//	ARGV[5]  TTL in ms, "0" for none
//
// Seq is compared as a decimal string, length first and then byte by byte
// (gt): Lua's numbers are doubles, exact only below 2^53, and its string
// "<" follows the server's collation locale. A stored Seq that is not a
// positive decimal below 2^64 without leading zeros (only a foreign writer
// leaves one) fails the script with a BADSEQ error and changes nothing. A
// key of another type fails it at the first HGET with WRONGTYPE, before any
// write.
const storeSrc = `
local function gt(a, b)
  if #a ~= #b then return #a > #b end
  for i = 1, #a do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x > y end
  end
  return false
end
local key, seq = KEYS[1], ARGV[1]
local cur = redis.call('HGET', key, 'q')
if cur then
  if not string.find(cur, '^[1-9][0-9]*$') or gt(cur, '18446744073709551615') then
    return redis.error_reply('BADSEQ stored seq is not a positive decimal below 2^64')
  end
  if not gt(seq, cur) then return 0 end
end
if ARGV[3] == '' then
  redis.call('HSET', key, 'e', ARGV[2], 'q', seq, 'u', ARGV[4])
  redis.call('HDEL', key, 'w')
else
  redis.call('HSET', key, 'e', ARGV[2], 'q', seq, 'w', ARGV[3], 'u', ARGV[4])
end
local ttl = tonumber(ARGV[5])
if ttl > 0 then
  redis.call('PEXPIRE', key, ttl)
else
  redis.call('PERSIST', key)
end
return 1
`

// storeScript is storeSrc with its SHA1, computed once: every Store sends
// EVALSHA with the hash, never the source, unless the server lost it.
var storeScript = goredis.NewScript(storeSrc)
