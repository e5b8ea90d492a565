//! The Lua scripts of the Redis Streams queue. Each runs atomically on the
//! server, so ownership checks and state changes cannot interleave with
//! another worker's.
//!
//! A lease token is `<consumer>/<delivery count>`: an entry is still ours when
//! the pending-entries list names our consumer with the same delivery count
//! (a reclaim by anyone, even by the same consumer name, bumps the count).

/// Publishes the new deliveries of a round as one stream entry.
///
/// KEYS: dedupe hash, stream, priorities zset.
/// ARGV: ttl seconds, priority, job, round, then (enclave, payload) pairs.
/// Returns how many deliveries were new.
pub const PUBLISH: &str = r#"
local fields = {'job', ARGV[3], 'round', ARGV[4]}
local new = 0
for i = 5, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], '1') == 1 then
    table.insert(fields, 'd:' .. ARGV[i])
    table.insert(fields, ARGV[i + 1])
    new = new + 1
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
if new > 0 then
  redis.call('XADD', KEYS[2], '*', unpack(fields))
  redis.call('ZADD', KEYS[3], ARGV[2], ARGV[2])
end
return new
"#;

/// Leases the next task for one enclave, trying the priority streams from the
/// highest down (one round trip per lease): on each, first an entry whose
/// lease expired (or that was released or is due for retry), else a new
/// entry. Entries without a delivery for this enclave are acknowledged and
/// skipped; entries past the attempt limit are dead-lettered. A missing
/// consumer group is created (from the stream's start, so an identity sees
/// entries published before it first connected).
///
/// KEYS: priorities zset, dead-letter stream, last-errors hash (the streams
/// are named from ARGV[6] and share the keys' hash tag, so one slot).
/// ARGV: group (enclave), consumer, lease ms, max attempts, dead-letter cap,
/// stream name prefix (`<prefix>:tasks:`).
/// Returns `{priority, id, delivery count, job, round, payload}` or nil.
pub const LEASE: &str = r#"
local dead, errors = KEYS[2], KEYS[3]
local group, consumer, lease, max = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local want = 'd:' .. group
local function pick(fields)
  local job, round, payload
  for i = 1, #fields, 2 do
    if fields[i] == 'job' then job = fields[i + 1]
    elseif fields[i] == 'round' then round = fields[i + 1]
    elseif fields[i] == want then payload = fields[i + 1] end
  end
  return job, round, payload
end
local function autoclaim(stream, cursor)
  local r = redis.pcall('XAUTOCLAIM', stream, group, consumer, lease, cursor, 'COUNT', 1)
  if type(r) == 'table' and r.err then
    if not string.find(r.err, 'NOGROUP') then return redis.error_reply(r.err) end
    redis.call('XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM')
    r = redis.call('XAUTOCLAIM', stream, group, consumer, lease, cursor, 'COUNT', 1)
  end
  return r
end
local function lease_from(stream)
  local cursor = '0-0'
  repeat
    local r = autoclaim(stream, cursor)
    if r.err then return r end
    cursor = r[1]
    for _, e in ipairs(r[2]) do
      local id = e[1]
      local job, round, payload = pick(e[2])
      local count = redis.call('XPENDING', stream, group, id, id, 1)[1][4]
      local key = stream .. '|' .. id .. '|' .. group
      if payload == nil then
        redis.call('XACK', stream, group, id)
      elseif count > max then
        local last = redis.call('HGET', errors, key) or 'lease expired'
        redis.call('XADD', dead, 'MAXLEN', '~', ARGV[5], '*', 'job', job, 'round', round,
          'enclave', group, 'attempts', tostring(count - 1),
          'error', last .. ' (lease expired on the last attempt)')
        redis.call('XACK', stream, group, id)
        redis.call('HDEL', errors, key)
      else
        return {id, count, job, round, payload}
      end
    end
  until cursor == '0-0'
  while true do
    local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', 1, 'STREAMS', stream, '>')
    if not r then return nil end
    local e = r[1][2][1]
    local job, round, payload = pick(e[2])
    if payload then return {e[1], 1, job, round, payload} end
    redis.call('XACK', stream, group, e[1])
  end
end
local levels = redis.call('ZRANGE', KEYS[1], '+inf', '-inf', 'BYSCORE', 'REV')
for _, p in ipairs(levels) do
  local r = lease_from(ARGV[6] .. p)
  if r then
    if r.err then return r end
    table.insert(r, 1, p)
    return r
  end
end
return nil
"#;

/// Settles a leased entry if the lease is still ours.
///
/// KEYS: stream, dead-letter stream, last-errors hash.
/// ARGV: group, entry id, consumer, delivery count, action, then per action:
/// - `ack`;
/// - `extend`;
/// - `release`, lease ms (made reclaimable at once, attempt not counted);
/// - `retry`, idle ms (reclaimable after `lease − idle`), error;
/// - `dead`, job, round, error, dead-letter cap.
///
/// Returns 1 when settled, 0 when the lease is no longer ours.
pub const SETTLE: &str = r#"
local stream, dead, errors = KEYS[1], KEYS[2], KEYS[3]
local group, id, consumer, count, action = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local p = redis.call('XPENDING', stream, group, id, id, 1)[1]
if p == nil or p[2] ~= consumer or p[4] ~= count then return 0 end
local key = stream .. '|' .. id .. '|' .. group
if action == 'ack' then
  redis.call('XACK', stream, group, id)
  redis.call('HDEL', errors, key)
elseif action == 'extend' then
  redis.call('XCLAIM', stream, group, consumer, 0, id, 'RETRYCOUNT', count, 'JUSTID')
elseif action == 'release' then
  redis.call('XCLAIM', stream, group, consumer, 0, id, 'IDLE', ARGV[6], 'RETRYCOUNT', count - 1, 'JUSTID')
elseif action == 'retry' then
  redis.call('HSET', errors, key, ARGV[7])
  redis.call('XCLAIM', stream, group, consumer, 0, id, 'IDLE', ARGV[6], 'RETRYCOUNT', count, 'JUSTID')
elseif action == 'dead' then
  redis.call('XADD', dead, 'MAXLEN', '~', ARGV[9], '*', 'job', ARGV[6], 'round', ARGV[7],
    'enclave', group, 'attempts', tostring(count), 'error', ARGV[8])
  redis.call('XACK', stream, group, id)
  redis.call('HDEL', errors, key)
end
return 1
"#;

/// Trims entries every group has read and acknowledged: everything below the
/// oldest pending entry of any group, or just after its last delivered one.
///
/// KEYS: stream. Returns how many entries were removed.
pub const COMPACT: &str = r#"
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
if #groups == 0 then return 0 end
local min_ms, min_seq
for _, g in ipairs(groups) do
  local info = {}
  for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
  local ms, seq = string.match(info['last-delivered-id'], '(%d+)-(%d+)')
  ms, seq = tonumber(ms), tonumber(seq) + 1
  local summary = redis.call('XPENDING', KEYS[1], info['name'])
  if summary[1] > 0 then
    local pms, pseq = string.match(summary[2], '(%d+)-(%d+)')
    ms, seq = tonumber(pms), tonumber(pseq)
  end
  if min_ms == nil or ms < min_ms or (ms == min_ms and seq < min_seq) then
    min_ms, min_seq = ms, seq
  end
end
return redis.call('XTRIM', KEYS[1], 'MINID', string.format('%d-%d', min_ms, min_seq))
"#;
