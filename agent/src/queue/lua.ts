/**
 * The queue's atomic steps, as Lua scripts. Redis runs a script without interleaving any other
 * command, which is what makes admission safe with several dispatchers: "is there capacity?" and
 * "take it" cannot be split by another dispatcher's admission (no check-then-act race).
 *
 * Times come from Redis (TIME), so leases and heartbeat TTLs do not depend on host clocks.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export class LuaScript {
  readonly sha: string;
  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** EVALSHA, falling back to EVAL after a Redis restart emptied the script cache. */
  async run(redis: Redis, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('NOSCRIPT')) {
        return redis.eval(this.source, keys.length, ...keys, ...args);
      }
      throw err;
    }
  }
}

const NOW = `
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/** States after which a call holds nothing and is never dispatched. */
const IS_OVER = `
local function isOver(state)
  return state == 'finished' or state == 'dead' or state == 'expired' or state == 'duplicate'
end
`;

// Heartbeats expire through a ZSET of deadlines (declared keys, unlike per-worker keys found by
// SCAN, so this works on Redis Cluster too).
const FLEET = `
local function fleetCapacity(fleetKey, expiryKey, now)
  local expired = redis.call('ZRANGEBYSCORE', expiryKey, '-inf', now)
  for _, w in ipairs(expired) do
    redis.call('HDEL', fleetKey, w)
    redis.call('ZREM', expiryKey, w)
  end
  local total = 0
  for _, v in ipairs(redis.call('HVALS', fleetKey)) do total = total + (tonumber(v) or 0) end
  return total
end
`;

/**
 * Admission for a batch of calls one dispatcher holds, oldest first.
 * KEYS: active, line, lineSeen, fleet, fleetExpiry
 * ARGV: prefix, fixed capacity (-1: fleet heartbeats), line stale ms, room claim TTL s,
 *       then (callId, receivedAtUs, room, past its wait deadline 0|1) per call.
 * Returns one code per call (admitted | resume | wait | timeout | finished | dead | expired |
 * duplicate), then capacity and the active count. A call past its deadline is never admitted,
 * but one already holding capacity (resume) is never timed out.
 */
export const ADMIT = new LuaScript(
  'admit',
  NOW +
    IS_OVER +
    FLEET +
    `
local now = nowMs()
local prefix = ARGV[1]
local capacity = tonumber(ARGV[2])
if capacity < 0 then capacity = fleetCapacity(KEYS[4], KEYS[5], now) end
local staleBefore = now - tonumber(ARGV[3])
local roomTtl = tonumber(ARGV[4])

-- Forget line entries no dispatcher vouched for lately: their dispatcher died, and BullMQ hands
-- the job to another one, which re-enters it with the same score.
for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, 499)) do
  if tonumber(redis.call('HGET', KEYS[3], m) or '0') < staleBefore then
    redis.call('ZREM', KEYS[2], m)
    redis.call('HDEL', KEYS[3], m)
  end
end

local active = redis.call('ZCARD', KEYS[1])
local codes = {}
local blocked = false
for i = 5, #ARGV, 4 do
  local callId, score, room, late = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local callKey = prefix .. ':call:' .. callId
  local code = nil
  if redis.call('ZSCORE', KEYS[1], callId) then
    code = 'resume' -- admitted by an earlier run of this job (its dispatcher died)
  else
    local state = redis.call('HGET', callKey, 'state')
    if state == 'finished' or state == 'dead' or state == 'expired' or state == 'duplicate' then
      code = state
    else
      -- A room name claimed by a live POST /v1/calls call belongs to that call: a second call for
      -- the same room would put a second agent in it. (Webhook calls are per session and claim
      -- no name: a reused room name is a new call.)
      local owner = redis.call('GET', prefix .. ':room:' .. room)
      if owner and owner ~= callId and not isOver(redis.call('HGET', prefix .. ':call:' .. owner, 'state')) then
        redis.call('HSET', callKey, 'state', 'duplicate', 'room', room, 'owner', owner)
        redis.call('EXPIRE', callKey, roomTtl)
        code = 'duplicate'
      end
      if not code and late == '1' then code = 'timeout' end
      if not code then
        redis.call('ZADD', KEYS[2], score, callId)
        redis.call('HSET', KEYS[3], callId, now)
        local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
        -- First come, first served: only the oldest waiting call may take a free slot.
        if not blocked and head == callId and active < capacity then
          redis.call('ZADD', KEYS[1], now, callId)
          redis.call('ZREM', KEYS[2], callId)
          redis.call('HDEL', KEYS[3], callId)
          redis.call('HSET', callKey, 'state', 'admitted', 'room', room, 'admittedAtMs', now)
          active = active + 1
          code = 'admitted'
        else
          blocked = true
          code = 'wait'
        end
      end
    end
  end
  if code ~= 'wait' then
    redis.call('ZREM', KEYS[2], callId)
    redis.call('HDEL', KEYS[3], callId)
  end
  codes[#codes + 1] = code
end
codes[#codes + 1] = tostring(capacity)
codes[#codes + 1] = tostring(active)
return codes
`,
);

/**
 * Take the dispatch lease of an admitted call.
 * KEYS: active. ARGV: prefix, callId, token, leaseMs.
 * Returns {go, attempts} | {done, dispatchId} | {busy, msLeft} | {gone, state}.
 */
export const BEGIN_DISPATCH = new LuaScript(
  'begin-dispatch',
  NOW +
    `
local now = nowMs()
local callKey = ARGV[1] .. ':call:' .. ARGV[2]
local state = redis.call('HGET', callKey, 'state')
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return {'gone', state or ''} end
if state == 'dispatched' then return {'done', redis.call('HGET', callKey, 'dispatchId') or ''} end
if state == 'dispatching' then
  local owner = redis.call('HGET', callKey, 'dispatchToken')
  local leaseUntil = tonumber(redis.call('HGET', callKey, 'leaseUntilMs') or '0')
  if owner ~= ARGV[3] and leaseUntil > now then return {'busy', tostring(leaseUntil - now)} end
end
local attempts = redis.call('HINCRBY', callKey, 'dispatchAttempts', 1)
redis.call('HSET', callKey, 'state', 'dispatching', 'dispatchToken', ARGV[3], 'leaseUntilMs', now + tonumber(ARGV[4]))
return {'go', tostring(attempts)}
`,
);

/**
 * An agent took the call. KEYS: active. ARGV: prefix, callId, dispatchId, room sid ('' unknown),
 * record TTL s. Binds the room session to the call (room_finished of that sid finishes it).
 * Returns the resulting state.
 */
export const MARK_DISPATCHED = new LuaScript(
  'mark-dispatched',
  NOW +
    `
local callKey = ARGV[1] .. ':call:' .. ARGV[2]
local state = redis.call('HGET', callKey, 'state')
if (state == 'dispatching' or state == 'admitted') and redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  redis.call('HSET', callKey, 'state', 'dispatched', 'dispatchId', ARGV[3], 'dispatchedAtMs', nowMs())
  redis.call('HDEL', callKey, 'dispatchToken', 'leaseUntilMs')
  if ARGV[4] ~= '' then
    redis.call('HSET', callKey, 'sid', ARGV[4])
    redis.call('SET', ARGV[1] .. ':session:' .. ARGV[4], ARGV[2], 'NX', 'EX', tonumber(ARGV[5]))
  end
  return 'dispatched'
end
return state or ''
`,
);

/** A failed attempt gives its capacity back. KEYS: active. ARGV: prefix, callId, token, channel. */
export const ABORT_DISPATCH = new LuaScript(
  'abort-dispatch',
  `
local callKey = ARGV[1] .. ':call:' .. ARGV[2]
local state = redis.call('HGET', callKey, 'state')
if state == 'dispatching' and redis.call('HGET', callKey, 'dispatchToken') == ARGV[3] then
  redis.call('HSET', callKey, 'state', 'waiting')
  redis.call('HDEL', callKey, 'dispatchToken', 'leaseUntilMs')
  if redis.call('ZREM', KEYS[1], ARGV[2]) == 1 then redis.call('PUBLISH', ARGV[4], 'freed') end
  return 'released'
end
return state or ''
`,
);

/**
 * room_finished of one room session. KEYS: active, line, lineSeen.
 * ARGV: prefix, room, sid, the session's derived call id, record TTL s, channel, tombstone TTL s.
 * Finishes the session's call (the one bound to the sid, else the derived webhook call id) and
 * the POST /v1/calls call that claimed the room name if it belongs to this session or to none
 * yet. With no call for the session yet, the finished record is a tombstone: a late
 * participant_joined for this sid is not dispatched.
 * Returns {callId, previous state, freed 0|1, the API call also finished or ''}.
 */
export const FINISH = new LuaScript(
  'finish',
  NOW +
    IS_OVER +
    `
local now = nowMs()
local prefix, room, sid = ARGV[1], ARGV[2], ARGV[3]
local ttl = tonumber(ARGV[5])
local freed = 0
local function finishCall(callId, recordTtl)
  local callKey = prefix .. ':call:' .. callId
  local prev = redis.call('HGET', callKey, 'state')
  if prev ~= 'duplicate' then
    redis.call('HSET', callKey, 'state', 'finished', 'finishedAtMs', now, 'room', room)
    redis.call('HDEL', callKey, 'dispatchToken', 'leaseUntilMs')
  end
  redis.call('EXPIRE', callKey, recordTtl)
  freed = freed + redis.call('ZREM', KEYS[1], callId)
  redis.call('ZREM', KEYS[2], callId)
  redis.call('HDEL', KEYS[3], callId)
  return prev
end
local callId = redis.call('GET', prefix .. ':session:' .. sid) or ARGV[4]
local known = redis.call('EXISTS', prefix .. ':call:' .. callId) == 1
local prev = finishCall(callId, known and ttl or tonumber(ARGV[7]))
local apiCall = ''
local owner = redis.call('GET', prefix .. ':room:' .. room)
if owner and owner ~= callId then
  local ownerKey = prefix .. ':call:' .. owner
  local ownerSid = redis.call('HGET', ownerKey, 'sid')
  if not isOver(redis.call('HGET', ownerKey, 'state')) and (not ownerSid or ownerSid == sid) then
    finishCall(owner, ttl)
    apiCall = owner
  end
end
if freed > 0 then redis.call('PUBLISH', ARGV[6], 'freed') end
return {callId, prev or '', tostring(math.min(freed, 1)), apiCall}
`,
);

/**
 * The recovery sweep found the room of a dispatched call gone (room_finished lost).
 * KEYS: active. ARGV: prefix, callId, record TTL s, channel. Returns the previous state; only a
 * dispatched call is finished.
 */
export const FINISH_GONE = new LuaScript(
  'finish-gone',
  NOW +
    `
local callKey = ARGV[1] .. ':call:' .. ARGV[2]
local state = redis.call('HGET', callKey, 'state')
if state ~= 'dispatched' then return state or '' end
redis.call('HSET', callKey, 'state', 'finished', 'finishedAtMs', nowMs(), 'finishedBy', 'sweep')
redis.call('EXPIRE', callKey, tonumber(ARGV[3]))
if redis.call('ZREM', KEYS[1], ARGV[2]) == 1 then redis.call('PUBLISH', ARGV[4], 'freed') end
return state
`,
);

/**
 * POST /v1/calls: claim the room name for callId unless a live call owns it (an owner that is
 * over gives the name up). ARGV: prefix, room, callId, TTL s. Returns {owner, 1 if newly claimed}.
 */
export const CLAIM_ROOM = new LuaScript(
  'claim-room',
  IS_OVER +
    `
local roomKey = ARGV[1] .. ':room:' .. ARGV[2]
local owner = redis.call('GET', roomKey)
if owner == ARGV[3] then return {owner, '0'} end
if owner and not isOver(redis.call('HGET', ARGV[1] .. ':call:' .. owner, 'state')) then return {owner, '0'} end
redis.call('SET', roomKey, ARGV[3], 'EX', tonumber(ARGV[4]))
return {ARGV[3], '1'}
`,
);

/**
 * KEYS: active, line, lineSeen. ARGV: prefix, callId, reason, record TTL s, channel.
 * Returns new | dead (already) | finished | duplicate (nothing to dead-letter).
 */
export const DEAD_LETTER = new LuaScript(
  'dead-letter',
  NOW +
    `
local callKey = ARGV[1] .. ':call:' .. ARGV[2]
local state = redis.call('HGET', callKey, 'state')
if state == 'finished' or state == 'duplicate' or state == 'dead' then return state end
redis.call('HSET', callKey, 'state', 'dead', 'deadReason', ARGV[3], 'deadAtMs', nowMs())
redis.call('HDEL', callKey, 'dispatchToken', 'leaseUntilMs')
redis.call('EXPIRE', callKey, tonumber(ARGV[4]))
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
if redis.call('ZREM', KEYS[1], ARGV[2]) == 1 then redis.call('PUBLISH', ARGV[5], 'freed') end
return 'new'
`,
);

/** Operator re-drive. ARGV: prefix, callId. Returns redriven or the state that prevents it. */
export const REDRIVE = new LuaScript(
  'redrive',
  `
local callKey = ARGV[1] .. ':call:' .. ARGV[2]
local state = redis.call('HGET', callKey, 'state')
if state == 'dead' or state == false then
  redis.call('HSET', callKey, 'state', 'waiting')
  redis.call('HDEL', callKey, 'deadReason', 'deadAtMs', 'alertedAtMs', 'dispatchAttempts')
  redis.call('PERSIST', callKey)
  return 'redriven'
end
return state
`,
);

/** Safety net. KEYS: active. ARGV: prefix, max call ms, channel, limit. Returns the expired ids. */
export const REAP = new LuaScript(
  'reap',
  NOW +
    `
local now = nowMs()
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]), 'LIMIT', 0, tonumber(ARGV[4]))
for _, id in ipairs(ids) do
  local callKey = ARGV[1] .. ':call:' .. id
  redis.call('ZREM', KEYS[1], id)
  redis.call('HSET', callKey, 'state', 'expired', 'expiredAtMs', now)
  redis.call('EXPIRE', callKey, 7 * 24 * 3600)
end
if #ids > 0 then redis.call('PUBLISH', ARGV[3], 'freed') end
return ids
`,
);

/** KEYS: line, lineSeen. ARGV: callIds. */
export const LEAVE_LINE = new LuaScript(
  'leave-line',
  `
for _, id in ipairs(ARGV) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
end
return #ARGV
`,
);

/**
 * KEYS: fleet, fleetExpiry. ARGV: workerId, sessions, ttl ms, channel.
 * Wakes waiting dispatchers when the worker's capacity grows.
 */
export const HEARTBEAT = new LuaScript(
  'heartbeat',
  NOW +
    `
local now = nowMs()
local before = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then before = 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
if tonumber(ARGV[2]) > before then redis.call('PUBLISH', ARGV[4], 'freed') end
return before
`,
);

/** KEYS: fleet, fleetExpiry. ARGV: workerId. */
export const HEARTBEAT_STOP = new LuaScript(
  'heartbeat-stop',
  `
redis.call('HDEL', KEYS[1], ARGV[1])
return redis.call('ZREM', KEYS[2], ARGV[1])
`,
);

/** KEYS: fleet, fleetExpiry. Returns the sum of live heartbeats. */
export const FLEET_CAPACITY = new LuaScript(
  'fleet-capacity',
  NOW + FLEET + `return fleetCapacity(KEYS[1], KEYS[2], nowMs())`,
);

/**
 * KEYS: active, line, fleet, fleetExpiry. ARGV: fixed capacity or -1.
 * Returns {active, line length, capacity, oldest line score or ''}.
 */
export const STATS = new LuaScript(
  'stats',
  NOW +
    FLEET +
    `
local capacity = tonumber(ARGV[1])
if capacity < 0 then capacity = fleetCapacity(KEYS[3], KEYS[4], nowMs()) end
local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
return {redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[2]), capacity, oldest[2] or ''}
`,
);
