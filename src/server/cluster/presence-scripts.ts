/**
 * The Lua scripts of cluster presence (docs/CLUSTER.md "Presence"): each runs atomically in
 * Redis, so a leave or away of a replaced session never touches the newer one. Records are
 * JSON; one that does not parse is left alone (pcall).
 */
/** Compare-and-delete: remove field ARGV[1] only if its record's ARGV[2] ('sid' or 'node') is ARGV[3]. */
export const DELETE_IF = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local ok, r = pcall(cjson.decode, v)
if ok and type(r) == 'table' and r[ARGV[2]] == ARGV[3] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0`;
/** Compare-and-set: write ARGV[2] to field ARGV[1] if it is absent or holds sid ARGV[3]; else return what it holds. */
export const SET_IF_MINE = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then
  local ok, r = pcall(cjson.decode, v)
  if not (ok and type(r) == 'table' and r.sid == ARGV[3]) then return v end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return false`;
/** Remove every record of node ARGV[1]; returns the removed records. */
export const DROP_NODE = `
local all = redis.call('HGETALL', KEYS[1])
local gone = {}
for i = 1, #all, 2 do
  local ok, r = pcall(cjson.decode, all[i + 1])
  if ok and type(r) == 'table' and r.node == ARGV[1] then
    redis.call('HDEL', KEYS[1], all[i])
    gone[#gone + 1] = all[i + 1]
  end
end
return gone`;
