/**
 * The LiveKit API questions the dispatcher and the recovery sweep ask, through livekit-server-sdk
 * (Twirp, HS256 JWT with the grant each method needs), and the pure reading of the answers.
 *
 * What the real server promises, and what it does not (reference livekit.md, "Semantics"):
 * - ListRooms and ListParticipants are answered from LiveKit's store, for any room name;
 * - ListDispatch and DeleteDispatch are routed to the node hosting the room: for a room that does
 *   not exist there is no 404, the call fails `unavailable` after seconds. So the room is looked
 *   up with ListRooms first, and a room that does not exist is never asked about;
 * - CreateDispatch answers before any worker has taken the job, and with no worker available the
 *   dispatch stays without a job for good: an agent has the call only once the dispatch has a
 *   job, or an agent participant is in the room.
 */
import { AgentDispatchClient, RoomServiceClient, type AgentDispatch, type ParticipantInfo } from 'livekit-server-sdk';
import type { LiveKitApiConfig } from '../config.js';
import { PARTICIPANT_KIND_SIP } from './events.js';

/** ParticipantInfo_Kind.AGENT in @livekit/protocol. */
export const PARTICIPANT_KIND_AGENT = 4;
/** The attribute LiveKit stamps on an agent participant (livekit pkg/agent/worker.go AgentNameAttributeKey). */
const AGENT_NAME_ATTRIBUTE = 'lk.agent_name';

export interface RoomSession {
  name: string;
  sid: string;
}

export interface RoomParticipant {
  identity: string;
  kind: number;
  /** Milliseconds since the epoch. */
  joinedAtMs: number;
  agentName?: string;
}

export interface RoomDispatch {
  id: string;
  agentName: string;
  /** Jobs a worker accepted (the room sid of the first, when LiveKit includes it). */
  jobCount: number;
  jobRoomSid?: string;
  /** Milliseconds since the epoch. */
  createdAtMs: number;
}

export interface LiveKitApi {
  /** The room's live session, or undefined when no such room exists. Never routed; answers at once. */
  findRoom(room: string): Promise<RoomSession | undefined>;
  listRooms(): Promise<RoomSession[]>;
  listParticipants(room: string): Promise<RoomParticipant[]>;
  /** Routed to the room's node: only for a room that exists. */
  listDispatches(room: string): Promise<RoomDispatch[]>;
  /** Returns the dispatch id. */
  createDispatch(room: string, agentName: string, metadata: string): Promise<string>;
  /** Best effort: a dispatch or room already gone is not an error. */
  deleteDispatch(room: string, dispatchId: string): Promise<void>;
}

/** The agent already serving a room, if any. Pure. */
export interface AgentInRoom {
  /** The dispatch that has a job, or `participant:<identity>` for an agent found only as a participant. */
  dispatchId: string;
  roomSid?: string;
}

/**
 * Our agent in the room: a dispatch of agentName that has a job, or an agent participant of
 * that agent (one without the name attribute counts too: it is an agent all the same, and a
 * second one would talk over it).
 */
export function agentInRoom(agentName: string, dispatches: readonly RoomDispatch[], participants: readonly RoomParticipant[]): AgentInRoom | undefined {
  const withJob = dispatches.find((d) => d.agentName === agentName && d.jobCount > 0);
  if (withJob) return withJob.jobRoomSid ? { dispatchId: withJob.id, roomSid: withJob.jobRoomSid } : { dispatchId: withJob.id };
  const agent = participants.find((p) => p.kind === PARTICIPANT_KIND_AGENT && (p.agentName === undefined || p.agentName === agentName));
  return agent ? { dispatchId: `participant:${agent.identity}` } : undefined;
}

/** Dispatches of agentName that no worker took: dead in OSS LiveKit (no job restart), to delete. Pure. */
export function joblessDispatches(agentName: string, dispatches: readonly RoomDispatch[]): string[] {
  return dispatches.filter((d) => d.agentName === agentName && d.jobCount === 0).map((d) => d.id);
}

export function callerParticipants(participants: readonly RoomParticipant[]): RoomParticipant[] {
  return participants.filter((p) => p.kind === PARTICIPANT_KIND_SIP);
}

const nsToMs = (ns: bigint | undefined) => (ns === undefined ? 0 : Number(ns / 1_000_000n));

function toDispatch(d: AgentDispatch): RoomDispatch {
  const jobs = d.state?.jobs ?? [];
  const out: RoomDispatch = { id: d.id, agentName: d.agentName, jobCount: jobs.length, createdAtMs: nsToMs(d.state?.createdAt) };
  const sid = jobs[0]?.room?.sid;
  if (sid) out.jobRoomSid = sid;
  return out;
}

function toParticipant(p: ParticipantInfo): RoomParticipant {
  const joinedAtMs = p.joinedAtMs ? Number(p.joinedAtMs) : Number(p.joinedAt) * 1000;
  const out: RoomParticipant = { identity: p.identity, kind: p.kind, joinedAtMs };
  const agentName = p.attributes?.[AGENT_NAME_ATTRIBUTE];
  if (agentName !== undefined) out.agentName = agentName;
  return out;
}

function isGone(err: unknown): boolean {
  const e = err as { status?: number; code?: string };
  return e?.status === 404 || e?.code === 'not_found';
}

export function createLiveKitApi(config: LiveKitApiConfig): LiveKitApi {
  // failover off: our own retries (BullMQ backoff) decide when to try again.
  const options = { requestTimeout: config.requestTimeoutSeconds, failover: false };
  const dispatches = new AgentDispatchClient(config.url, config.apiKey, config.apiSecret, options);
  const rooms = new RoomServiceClient(config.url, config.apiKey, config.apiSecret, options);
  return {
    async findRoom(room) {
      const [found] = await rooms.listRooms([room]);
      return found ? { name: found.name, sid: found.sid } : undefined;
    },
    async listRooms() {
      return (await rooms.listRooms()).map((r) => ({ name: r.name, sid: r.sid }));
    },
    async listParticipants(room) {
      return (await rooms.listParticipants(room)).map(toParticipant);
    },
    async listDispatches(room) {
      return (await dispatches.listDispatch(room)).map(toDispatch);
    },
    async createDispatch(room, agentName, metadata) {
      return (await dispatches.createDispatch(room, agentName, { metadata })).id;
    },
    async deleteDispatch(room, dispatchId) {
      await dispatches.deleteDispatch(dispatchId, room).catch((err: unknown) => {
        if (!isGone(err)) throw err;
      });
    },
  };
}
