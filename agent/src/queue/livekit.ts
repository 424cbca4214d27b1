/**
 * The two LiveKit API questions the dispatcher asks: "does this room already have our agent?"
 * and "dispatch our agent to it". Through livekit-server-sdk (Twirp, HS256 JWT with roomAdmin).
 */
import { AgentDispatchClient, RoomServiceClient, TwirpError } from 'livekit-server-sdk';
import type { LiveKitApiConfig } from '../config.js';

/** ParticipantInfo_Kind.AGENT in @livekit/protocol. */
const PARTICIPANT_KIND_AGENT = 4;

export interface DispatchApi {
  /**
   * An existing dispatch of agentName in the room (or, when checkParticipants, an agent already
   * in it). Makes a dispatch idempotent: a room never gets a second agent.
   */
  findExisting(room: string, agentName: string, checkParticipants: boolean): Promise<string | undefined>;
  /** Returns the dispatch id. */
  createDispatch(room: string, agentName: string, metadata: string): Promise<string>;
}

function isNotFound(err: unknown): boolean {
  return err instanceof TwirpError && (err.status === 404 || err.code === 'not_found');
}

export function createDispatchApi(config: LiveKitApiConfig): DispatchApi {
  // failover off: our own retries (BullMQ backoff) decide when to try again.
  const options = { requestTimeout: config.requestTimeoutSeconds, failover: false };
  const dispatches = new AgentDispatchClient(config.url, config.apiKey, config.apiSecret, options);
  const rooms = new RoomServiceClient(config.url, config.apiKey, config.apiSecret, options);
  return {
    async findExisting(room, agentName, checkParticipants) {
      const [listed, participants] = await Promise.all([
        dispatches.listDispatch(room).catch((err: unknown) => {
          if (isNotFound(err)) return [];
          throw err;
        }),
        checkParticipants
          ? rooms.listParticipants(room).catch((err: unknown) => {
              if (isNotFound(err)) return [];
              throw err;
            })
          : Promise.resolve([]),
      ]);
      const mine = listed.find((d) => d.agentName === agentName);
      if (mine) return mine.id;
      const agent = participants.find((p) => p.kind === PARTICIPANT_KIND_AGENT);
      return agent ? `participant:${agent.identity}` : undefined;
    },
    async createDispatch(room, agentName, metadata) {
      const dispatch = await dispatches.createDispatch(room, agentName, { metadata });
      return dispatch.id;
    },
  };
}
