/**
 * An in-process stand-in for the LiveKit server's Twirp API, for tests and the bench. It speaks
 * the JSON Twirp the SDK sends, verifies each request's HS256 JWT (TokenVerifier) and its
 * roomAdmin grant for the request's room, and records every dispatch so a test can assert "each
 * room dispatched exactly once". It can fail a room with 500s and delay answers (to catch a
 * dispatcher mid-request).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TokenVerifier } from 'livekit-server-sdk';

export interface FakeDispatch {
  id: string;
  room: string;
  agentName: string;
  metadata: string;
  /** Date.now() when the request arrived. */
  receivedAtMs: number;
}

export interface FakeLiveKitOptions {
  apiKey: string;
  apiSecret: string;
  port?: number;
}

export class FakeLiveKit {
  /** Successful dispatches per room, in arrival order. */
  readonly dispatches = new Map<string, FakeDispatch[]>();
  /** Every CreateDispatch request per room (Date.now() on arrival), failed ones included. */
  readonly createAttempts = new Map<string, number[]>();
  /** Requests refused for a bad token or missing grant. */
  authFailures = 0;
  /** Rooms answered with 500: remaining failures (Infinity: until healed). */
  private readonly failing = new Map<string, number>();
  /** Delay before answering CreateDispatch (the dispatch is recorded on arrival). */
  dispatchDelayMs = 0;
  /** Called on every recorded dispatch. */
  onDispatch?: (dispatch: FakeDispatch) => void;
  private readonly verifier: TokenVerifier;
  private server?: Server;
  private nextId = 1;
  url = '';

  constructor(private readonly options: FakeLiveKitOptions) {
    this.verifier = new TokenVerifier(options.apiKey, options.apiSecret);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => this.twirpError(res, 500, 'internal', String(err)));
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server!.listen(this.options.port ?? 0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  failRoom(room: string, times = Number.POSITIVE_INFINITY): void {
    this.failing.set(room, times);
  }

  healRoom(room: string): void {
    this.failing.delete(room);
  }

  /** Total successful dispatches. */
  get dispatchCount(): number {
    let n = 0;
    for (const list of this.dispatches.values()) n += list.length;
    return n;
  }

  /** Rooms dispatched more than once (must stay empty). */
  roomsDispatchedTwice(): string[] {
    return [...this.dispatches].filter(([, list]) => list.length > 1).map(([room]) => room);
  }

  private twirpError(res: ServerResponse, status: number, code: string, msg: string) {
    if (res.headersSent) return;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ code, msg }));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, string>;
    const room = body.room ?? '';

    // Authorization: Bearer <JWT>, HS256 with our secret, a video grant with roomAdmin for this room.
    const auth = req.headers.authorization ?? '';
    let authorized = false;
    if (auth.startsWith('Bearer ')) {
      try {
        const claims = await this.verifier.verify(auth.slice(7));
        authorized = claims.video?.roomAdmin === true && claims.video.room === room;
      } catch {
        authorized = false;
      }
    }
    if (!authorized) {
      this.authFailures++;
      return this.twirpError(res, 401, 'unauthenticated', 'invalid token or missing roomAdmin grant');
    }

    const json = (value: unknown): void => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    switch (req.url) {
      case '/twirp/livekit.AgentDispatchService/CreateDispatch': {
        const attempts = this.createAttempts.get(room) ?? [];
        attempts.push(Date.now());
        this.createAttempts.set(room, attempts);
        const failures = this.failing.get(room);
        if (failures !== undefined && failures > 0) {
          this.failing.set(room, failures - 1);
          return this.twirpError(res, 500, 'internal', `injected failure for room ${room}`);
        }
        const dispatch: FakeDispatch = {
          id: `AD_${this.nextId++}`,
          room,
          agentName: body.agentName ?? '',
          metadata: body.metadata ?? '',
          receivedAtMs: Date.now(),
        };
        const list = this.dispatches.get(room) ?? [];
        list.push(dispatch);
        this.dispatches.set(room, list);
        this.onDispatch?.(dispatch);
        if (this.dispatchDelayMs > 0) await new Promise((r) => setTimeout(r, this.dispatchDelayMs));
        return json({ id: dispatch.id, agentName: dispatch.agentName, room, metadata: dispatch.metadata });
      }
      case '/twirp/livekit.AgentDispatchService/ListDispatch': {
        const list = this.dispatches.get(room) ?? [];
        return json({ agentDispatches: list.map((d) => ({ id: d.id, agentName: d.agentName, room, metadata: d.metadata })) });
      }
      case '/twirp/livekit.RoomService/ListParticipants': {
        // The caller, plus an agent participant per dispatch (agents join right after dispatch here).
        const list = this.dispatches.get(room) ?? [];
        return json({
          participants: [
            { sid: 'PA_caller', identity: `sip_${room}`, kind: 'SIP', state: 'ACTIVE' },
            ...list.map((d) => ({ sid: `PA_${d.id}`, identity: `agent-${d.id}`, kind: 'AGENT', state: 'ACTIVE' })),
          ],
        });
      }
      default:
        return this.twirpError(res, 404, 'bad_route', `no handler for ${req.url}`);
    }
  }
}
