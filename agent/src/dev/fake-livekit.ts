/**
 * A stand-in for the LiveKit server, for tests and the bench, as strict as the real one where
 * the queue depends on it. Each behaviour is copied from the server's source (livekit/livekit at
 * 788d4c3, livekit/protocol at d74e7cd, livekit/psrpc), cited next to it:
 * - Twirp JSON API with the SDK's HS256 JWTs and the grant each method needs:
 *   AgentDispatchService CreateDispatch / ListDispatch / DeleteDispatch, RoomService ListRooms /
 *   ListParticipants / CreateRoom / DeleteRoom;
 * - the `/agent` WebSocket agent workers dial (protobuf WorkerMessage / ServerMessage): the real
 *   agents-js worker registers, reports its load and status, and accepts jobs here;
 * - CreateDispatch answers at once, whether or not a worker takes the job; a job exists only when
 *   a registered worker with that agent name accepts it; workers are picked at random weighted by
 *   (1 - load), and a worker reporting WS_FULL is skipped;
 * - ListDispatch / DeleteDispatch for a room that does not exist fail `unavailable` after the
 *   internal RPC attempts (no 404);
 * - every room session has its own sid; a name can come back with a new sid;
 * - webhooks as the server sends them (webhook-notifier.ts): signed, per room in order, retried
 *   about 15 s, then dropped.
 * There is no media plane: the agent participant joins when its job is assigned (the real agent
 * joins when its job process connects), and the caller joins when a test calls sipCall().
 * Strict by default, with no lenient mode: only timings (by name, to run the slow paths quickly)
 * and what livekit.yaml itself can set (the webhook URLs and include filter) can be changed.
 */
import {
  AgentDispatch,
  AgentDispatchState,
  AvailabilityRequest,
  CreateAgentDispatchRequest,
  CreateRoomRequest,
  DeleteAgentDispatchRequest,
  DeleteRoomRequest,
  DeleteRoomResponse,
  Job,
  JobAssignment,
  JobState,
  JobStatus,
  JobTermination,
  JobType,
  ListAgentDispatchRequest,
  ListAgentDispatchResponse,
  ListParticipantsRequest,
  ListParticipantsResponse,
  ListRoomsRequest,
  ListRoomsResponse,
  ParticipantInfo,
  ParticipantInfo_Kind,
  ParticipantInfo_State,
  RegisterWorkerResponse,
  Room,
  ServerInfo,
  ServerInfo_Edition,
  ServerMessage,
  WebhookEvent,
  WorkerMessage,
  WorkerPong,
  WorkerStatus,
  type AvailabilityResponse,
} from '@livekit/protocol';
import { AccessToken, TokenVerifier, type ClaimGrants } from 'livekit-server-sdk';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { WebhookNotifier, type WebhookNotifierOptions } from './webhook-notifier.js';

export interface FakeLiveKitOptions {
  apiKey: string;
  apiSecret: string;
  port?: number;
  /** livekit.yaml webhook.urls: where the events go (can be changed later with webhookUrls). */
  webhookUrls?: string[];
  /** Webhook timing (defaults are LiveKit's: retries 1, 2, 4, 8 s; dropped after 30 s queued). */
  webhooks?: Omit<WebhookNotifierOptions, 'apiKey' | 'apiSecret'>;
  /**
   * livekit.yaml webhook.filter_params.include_events: only these events are sent (livekit/protocol
   * webhook/filter.go: includes win over excludes; none set, everything is sent).
   */
  webhookIncludeEvents?: string[];
  /**
   * ListDispatch / DeleteDispatch for a room no node hosts fail after this (default 3000 ms:
   * livekit/protocol rpc/typed_api.go DefaultPSRPCConfig MaxAttempts 3, each waiting psrpc's
   * 1 s claim (AffinityTimeout, psrpc client.go) before ErrNoResponse).
   */
  missingRoomRpcMs?: number;
  /** A worker has this long to answer an AvailabilityRequest (livekit pkg/agent/worker.go AssignJobTimeout, 10 s). */
  assignJobTimeoutMs?: number;
  /** The first message on /agent must register within this (worker.go RegisterTimeout, 10 s). */
  registerTimeoutMs?: number;
  /** From job assignment to the agent participant in the room (default 0). */
  agentJoinDelayMs?: number;
  /** Worker selection's random source (agentservice.go uses rand.Float32). */
  random?: () => number;
}

/** A CreateDispatch the fake answered (for assertions). */
export interface FakeDispatch {
  id: string;
  room: string;
  roomSid: string;
  agentName: string;
  metadata: string;
  /** Date.now() when the request arrived. */
  receivedAtMs: number;
}

/** A job a worker accepted. */
export interface FakeJob {
  id: string;
  dispatchId: string;
  room: string;
  roomSid: string;
  agentName: string;
  workerId: string;
  participantIdentity: string;
  assignedAtMs: number;
  endedAtMs?: number;
}

export interface FakeRoomSession {
  sid: string;
  name: string;
  createdAtMs: number;
  closedAtMs?: number;
  participants: Map<string, ParticipantInfo>;
  dispatches: Map<string, AgentDispatch>;
  /** Jobs of this session (running and ended). */
  jobs: FakeJob[];
}

export interface FakeWorkerView {
  id: string;
  agentName: string;
  status: WorkerStatus;
  load: number;
  runningJobs: number;
  /** UpdateWorkerStatus messages received. */
  statusUpdates: number;
}

class TwirpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// Twirp error codes the server returns (github.com/twitchtv/twirp errors.go ServerHTTPStatusFromErrorCode).
const unauthenticated = (msg: string) => new TwirpError(401, 'unauthenticated', msg);
const notFound = (msg: string) => new TwirpError(404, 'not_found', msg);
const invalidArgument = (msg: string) => new TwirpError(400, 'invalid_argument', msg);
const unavailable = (msg: string) => new TwirpError(503, 'unavailable', msg);

/** livekit/protocol utils/guid: a prefix and 12 random base62-ish characters. */
function guid(prefix: string): string {
  return prefix + randomBytes(9).toString('base64url').replace(/[-_]/g, 'x').slice(0, 12);
}

const nowNs = () => BigInt(Date.now()) * 1_000_000n;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// livekit pkg/config/config.go LimitConfig defaults.
const MAX_METADATA_BYTES = 512 * 1024;
const MAX_ROOM_NAME_LENGTH = 256;

interface Worker {
  id: string;
  socket: WebSocket;
  agentName: string;
  jobType: JobType;
  deployment: string;
  apiKey: string;
  /** livekit pkg/agent/worker.go: status starts at its zero value, WS_AVAILABLE, load 0. */
  status: WorkerStatus;
  load: number;
  statusUpdates: number;
  runningJobs: Map<string, FakeJob>;
  availability: Map<string, (res: AvailabilityResponse | Error) => void>;
  closed: boolean;
}

export class FakeLiveKit {
  /** Live rooms by name. */
  readonly rooms = new Map<string, FakeRoomSession>();
  /** Every room session, closed ones included, in creation order. */
  readonly sessions: FakeRoomSession[] = [];
  private readonly sessionsBySid = new Map<string, FakeRoomSession>();
  /** Answered CreateDispatch requests per room name, in arrival order. */
  readonly dispatches = new Map<string, FakeDispatch[]>();
  /** Answered CreateDispatch requests in arrival order. */
  readonly dispatchLog: FakeDispatch[] = [];
  /** Deleted dispatch ids. */
  readonly deletedDispatches: string[] = [];
  /** ListDispatch / DeleteDispatch requests for a room no node hosts (each cost the caller missingRoomRpcMs). */
  missingRoomRequests = 0;
  /** Every CreateDispatch request per room name (Date.now() on arrival), failed ones included. */
  readonly createAttempts = new Map<string, number[]>();
  /** Jobs workers accepted, in order. */
  readonly jobs: FakeJob[] = [];
  /** Requests refused for a bad token or a missing grant. */
  authFailures = 0;
  /** Twirp requests per method name (e.g. ListDispatch). */
  readonly requests = new Map<string, number>();
  /** Delay before answering CreateDispatch (the dispatch is stored and its job launched on arrival). */
  dispatchDelayMs = 0;
  /** Called on every stored dispatch. */
  onDispatch?: (dispatch: FakeDispatch) => void;
  /** Called when a CreateDispatch answer has been written. */
  onDispatchAnswered?: (dispatch: FakeDispatch) => void;
  /** Called when a worker accepted a job (the agent is about to join). */
  onJobAssigned?: (job: FakeJob) => void;
  /** Called when a room session closes. */
  onRoomClosed?: (session: FakeRoomSession) => void;
  /** livekit.yaml webhook.urls. */
  webhookUrls: string[];
  readonly webhooks: WebhookNotifier;
  url = '';
  private readonly verifier: TokenVerifier;
  private readonly failing = new Map<string, number>();
  private readonly workers = new Map<string, Worker>();
  private server?: Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly random: () => number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closing = false;

  constructor(private readonly options: FakeLiveKitOptions) {
    this.verifier = new TokenVerifier(options.apiKey, options.apiSecret);
    this.webhookUrls = [...(options.webhookUrls ?? [])];
    this.webhooks = new WebhookNotifier({ apiKey: options.apiKey, apiSecret: options.apiSecret, ...options.webhooks });
    this.random = options.random ?? Math.random;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => this.twirpError(res, err instanceof TwirpError ? err : new TwirpError(500, 'internal', String(err))));
    });
    this.server.keepAliveTimeout = 60_000;
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.upgrade(req, socket, head));
    await new Promise<void>((resolve) => this.server!.listen(this.options.port ?? 0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const t of this.timers) clearTimeout(t);
    this.webhooks.close();
    for (const w of this.workers.values()) w.socket.terminate();
    this.wss.close();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  // ---- what a test does in place of the world ----

  /**
   * A phone call arrives: LiveKit SIP puts the caller (participant kind SIP) in the room, creating
   * the room session if none is live. Returns the session's sid and the caller's identity.
   */
  sipCall(roomName: string, identity = `sip_+1555${String(Math.floor(this.random() * 1e7)).padStart(7, '0')}`): { sid: string; identity: string } {
    const session = this.rooms.get(roomName) ?? this.openRoom(roomName);
    const participant = new ParticipantInfo({
      sid: guid('PA_'),
      identity,
      state: ParticipantInfo_State.ACTIVE,
      kind: ParticipantInfo_Kind.SIP,
      joinedAt: BigInt(Math.floor(Date.now() / 1000)),
      joinedAtMs: BigInt(Date.now()),
      isPublisher: true,
    });
    session.participants.set(identity, participant);
    this.emit('participant_joined', session, participant);
    return { sid: session.sid, identity };
  }

  /**
   * The call ends: the caller hangs up and the agent deletes the room (what our agent does with
   * deleteRoomOnClose), or the room empties. Jobs are terminated, participants leave, room_finished.
   */
  endCall(roomName: string): boolean {
    const session = this.rooms.get(roomName);
    if (!session) return false;
    this.closeRoom(session);
    return true;
  }

  failRoom(room: string, times = Number.POSITIVE_INFINITY): void {
    this.failing.set(room, times);
  }

  healRoom(room: string): void {
    this.failing.delete(room);
  }

  /** Total answered dispatches. */
  get dispatchCount(): number {
    let n = 0;
    for (const list of this.dispatches.values()) n += list.length;
    return n;
  }

  /** Room sessions that got more than one dispatch of the same agent (must stay empty). */
  sessionsDispatchedTwice(): string[] {
    const twice: string[] = [];
    for (const s of this.sessions) {
      const names = [...s.dispatches.values()].map((d) => d.agentName).filter((n) => n !== '');
      const perName = new Map<string, number>();
      for (const n of names) perName.set(n, (perName.get(n) ?? 0) + 1);
      if ([...perName.values()].some((c) => c > 1)) twice.push(`${s.name}/${s.sid}`);
    }
    return twice;
  }

  /** Room sessions that got more than one job (two agents in one call; must stay empty). */
  sessionsWithTwoAgents(): string[] {
    return this.sessions.filter((s) => s.jobs.length > 1).map((s) => `${s.name}/${s.sid}`);
  }

  /** Jobs running now (accepted, not ended, room live): agents on calls. */
  get liveJobCount(): number {
    let n = 0;
    for (const w of this.workers.values()) n += w.runningJobs.size;
    return n;
  }

  get registeredWorkers(): FakeWorkerView[] {
    return [...this.workers.values()].map((w) => ({ id: w.id, agentName: w.agentName, status: w.status, load: w.load, runningJobs: w.runningJobs.size, statusUpdates: w.statusUpdates }));
  }

  /** Drops every worker connection (LiveKit restarting, a network cut): workers must register again. */
  disconnectWorkers(): void {
    for (const w of this.workers.values()) w.socket.terminate();
  }

  /** Resolves when every queued webhook is delivered or given up. */
  webhooksSettled(): Promise<void> {
    return this.webhooks.settled();
  }

  // ---- rooms ----

  private openRoom(name: string): FakeRoomSession {
    const session: FakeRoomSession = {
      sid: guid('RM_'),
      name,
      createdAtMs: Date.now(),
      participants: new Map(),
      dispatches: new Map(),
      jobs: [],
    };
    this.rooms.set(name, session);
    this.sessions.push(session);
    this.sessionsBySid.set(session.sid, session);
    // livekit pkg/rtc/room.go createAgentDispatchesFromRoomAgent: a room without configured agents
    // gets one dispatch with an empty agent name (automatic dispatch; workers with an agent name
    // never take it).
    this.storeDispatch(session, new AgentDispatch({ id: guid('AD_'), agentName: '', room: name }));
    this.emit('room_started', session);
    return session;
  }

  private roomProto(session: FakeRoomSession): Room {
    return new Room({
      sid: session.sid,
      name: session.name,
      emptyTimeout: 300,
      departureTimeout: 20,
      creationTime: BigInt(Math.floor(session.createdAtMs / 1000)),
      creationTimeMs: BigInt(session.createdAtMs),
      numParticipants: session.participants.size,
    });
  }

  private closeRoom(session: FakeRoomSession): void {
    if (session.closedAtMs !== undefined) return;
    session.closedAtMs = Date.now();
    if (this.rooms.get(session.name) === session) this.rooms.delete(session.name);
    // Agents leave with the room: their jobs end (pkg/rtc/room.go TerminateJob when an agent leaves).
    for (const job of session.jobs) this.endJob(job, true);
    for (const p of session.participants.values()) this.emit('participant_left', session, p);
    session.participants.clear();
    this.emit('room_finished', session);
    this.onRoomClosed?.(session);
  }

  private storeDispatch(session: FakeRoomSession, dispatch: AgentDispatch): void {
    // pkg/rtc/room.go createAgentDispatch: state with its creation time, no jobs yet.
    dispatch.state = new AgentDispatchState({ createdAt: nowNs() });
    session.dispatches.set(dispatch.id, dispatch);
    void this.launchJob(session, dispatch);
  }

  private emit(event: string, session: FakeRoomSession, participant?: ParticipantInfo): void {
    if (this.closing) return;
    const include = this.options.webhookIncludeEvents;
    if (include && include.length > 0 && !include.includes(event)) return;
    // pkg/telemetry/events.go NotifyEvent: id EV_..., created_at in seconds.
    const body = new WebhookEvent({
      event,
      room: this.roomProto(session),
      participant,
      id: guid('EV_'),
      createdAt: BigInt(Math.floor(Date.now() / 1000)),
    }).toJsonString();
    this.webhooks.notify(this.webhookUrls, { event, room: session.name, roomSid: session.sid, participantIdentity: participant?.identity, participantKind: participant?.kind, body });
  }

  // ---- jobs: livekit pkg/agent/client.go LaunchJob + pkg/service/agentservice.go JobRequest ----

  private async launchJob(session: FakeRoomSession, dispatch: AgentDispatch): Promise<void> {
    const candidates = () => [...this.workers.values()].filter((w) => !w.closed && w.agentName === dispatch.agentName && w.jobType === JobType.JT_ROOM);
    if (candidates().length === 0) {
      // client.go: "not dispatching agent job since no worker is available": the dispatch stays, without a job.
      return;
    }
    const attempted = new Set<Worker>();
    for (;;) {
      const worker = this.selectWorkerWeightedByLoad(candidates(), attempted);
      // agentservice.go: "no workers available" / "no workers with sufficient capacity": no job.
      if (!worker) return;
      attempted.add(worker);
      const outcome = await this.assignJob(worker, session, dispatch);
      if (outcome === 'retry') continue; // ErrWorkerNotAvailable, ErrWorkerClosed: try another worker
      return; // assigned, terminated, or the availability timed out (not retried)
    }
  }

  /** agentservice.go selectWorkerWeightedByLoad: WS_AVAILABLE workers, weight max(0, 1 - load). */
  private selectWorkerWeightedByLoad(workers: Worker[], ignore: Set<Worker>): Worker | undefined {
    const weighted = workers.filter((w) => !ignore.has(w) && w.status === WorkerStatus.WS_AVAILABLE).map((w) => ({ w, weight: Math.max(0, 1 - w.load) }));
    const sum = weighted.reduce((a, b) => a + b.weight, 0);
    if (sum === 0) return undefined;
    let current = this.random() * sum;
    for (const { w, weight } of weighted) {
      if ((current -= weight) <= 0) return w;
    }
    return weighted[0]!.w;
  }

  /** pkg/agent/worker.go AssignJob: AvailabilityRequest, then JobAssignment with a join token. */
  private async assignJob(worker: Worker, session: FakeRoomSession, dispatch: AgentDispatch): Promise<'assigned' | 'retry' | 'done'> {
    const job = new Job({
      id: guid('AJ_'),
      dispatchId: dispatch.id,
      type: JobType.JT_ROOM,
      room: this.roomProto(session),
      agentName: dispatch.agentName,
      metadata: dispatch.metadata,
      state: new JobState({ workerId: worker.id, status: JobStatus.JS_RUNNING, startedAt: nowNs(), updatedAt: nowNs() }),
    });
    let timer: NodeJS.Timeout | undefined;
    const answer = new Promise<AvailabilityResponse | Error>((resolve) => {
      worker.availability.set(job.id, resolve);
      timer = setTimeout(() => resolve(new Error('agent worker availability timeout')), this.options.assignJobTimeoutMs ?? 10_000);
      this.timers.add(timer);
    });
    const settle = () => {
      clearTimeout(timer);
      this.timers.delete(timer!);
      worker.availability.delete(job.id);
    };
    if (!this.sendTo(worker, new ServerMessage({ message: { case: 'availability', value: new AvailabilityRequest({ job }) } }))) {
      settle();
      return 'retry';
    }
    const res = await answer;
    settle();
    if (res instanceof Error) return worker.closed ? 'retry' : 'done'; // ErrAvailabilityTimeout is not retried
    if (res.terminate) return 'done';
    if (!res.available) return 'retry';
    if (session.closedAtMs !== undefined || !session.dispatches.has(dispatch.id)) return 'done';

    const identity = res.participantIdentity;
    const token = new AccessToken(worker.apiKey, this.options.apiSecret, { identity, name: res.participantName, metadata: res.participantMetadata, attributes: { ...res.participantAttributes, 'lk.agent_name': worker.agentName } });
    token.addGrant({ roomJoin: true, room: session.name, agent: true, canPublish: true, canSubscribe: true, canPublishData: true, canUpdateOwnMetadata: true });
    token.kind = 'agent';
    job.state!.participantIdentity = identity;
    if (!this.sendTo(worker, new ServerMessage({ message: { case: 'assignment', value: new JobAssignment({ job, token: await token.toJwt() }) } }))) return 'retry';

    const fakeJob: FakeJob = {
      id: job.id,
      dispatchId: dispatch.id,
      room: session.name,
      roomSid: session.sid,
      agentName: dispatch.agentName,
      workerId: worker.id,
      participantIdentity: identity,
      assignedAtMs: Date.now(),
    };
    worker.runningJobs.set(job.id, fakeJob);
    // room.go handleNewJobs: the job joins the dispatch's state with the state the worker returned.
    dispatch.state!.jobs.push(job);
    session.jobs.push(fakeJob);
    this.jobs.push(fakeJob);
    this.onJobAssigned?.(fakeJob);
    const join = () => {
      if (session.closedAtMs !== undefined || fakeJob.endedAtMs !== undefined) return;
      const agent = new ParticipantInfo({
        sid: guid('PA_'),
        identity,
        state: ParticipantInfo_State.ACTIVE,
        kind: ParticipantInfo_Kind.AGENT,
        joinedAt: BigInt(Math.floor(Date.now() / 1000)),
        joinedAtMs: BigInt(Date.now()),
        attributes: { 'lk.agent_name': worker.agentName },
      });
      session.participants.set(identity, agent);
      this.emit('participant_joined', session, agent);
    };
    const delay = this.options.agentJoinDelayMs ?? 0;
    if (delay > 0) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        join();
      }, delay);
      this.timers.add(t);
    } else {
      join();
    }
    return 'assigned';
  }

  /** A job ends (its worker says so, the dispatch is deleted, or the room closes): the agent leaves. */
  private endJob(job: FakeJob, terminate: boolean): void {
    if (job.endedAtMs !== undefined) return;
    job.endedAtMs = Date.now();
    const worker = this.workers.get(job.workerId);
    if (worker?.runningJobs.delete(job.id) && terminate) {
      // worker.go TerminateJob: a JobTermination to the worker.
      this.sendTo(worker, new ServerMessage({ message: { case: 'termination', value: new JobTermination({ jobId: job.id }) } }));
    }
    const session = this.sessionsBySid.get(job.roomSid);
    const agent = session?.participants.get(job.participantIdentity);
    if (session && agent && session.closedAtMs === undefined) {
      session.participants.delete(job.participantIdentity);
      this.emit('participant_left', session, agent);
    }
  }

  private sendTo(worker: Worker, msg: ServerMessage): boolean {
    if (worker.closed) return false;
    try {
      worker.socket.send(msg.toBinary());
      return true;
    } catch {
      return false;
    }
  }

  // ---- /agent WebSocket: pkg/service/agentservice.go ----

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    };
    if (path !== '/agent') return refuse(404, 'Not Found');
    // AgentSocketUpgrader.Upgrade: a token with the agent grant, or 401.
    const claims = await this.claims(req).catch(() => undefined);
    if (!claims?.video?.agent) {
      this.authFailures++;
      return refuse(401, 'Unauthorized');
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.serveWorker(ws, claims.iss ?? this.options.apiKey));
  }

  private serveWorker(socket: WebSocket, apiKey: string): void {
    let worker: Worker | undefined;
    const pong = (timestamp: bigint) =>
      socket.send(new ServerMessage({ message: { case: 'pong', value: new WorkerPong({ lastTimestamp: timestamp, timestamp: BigInt(Date.now()) }) } }).toBinary());
    // HandshakeAgentWorker: register within RegisterTimeout, or the connection is closed.
    const registerTimer = setTimeout(() => socket.terminate(), this.options.registerTimeoutMs ?? 10_000);
    this.timers.add(registerTimer);
    const fail = () => socket.terminate(); // DispatchAgentWorkerSignal returned false: the connection ends

    socket.on('message', (data: Buffer) => {
      let msg: WorkerMessage;
      try {
        msg = WorkerMessage.fromBinary(new Uint8Array(data));
      } catch {
        return fail();
      }
      const m = msg.message;
      if (!worker) {
        // WorkerRegisterer: only ping and register before registration.
        if (m.case === 'ping') return pong(m.value.timestamp);
        if (m.case !== 'register') return fail();
        if (m.value.type !== JobType.JT_ROOM && m.value.type !== JobType.JT_PUBLISHER && m.value.type !== JobType.JT_PARTICIPANT) return fail();
        clearTimeout(registerTimer);
        this.timers.delete(registerTimer);
        worker = {
          id: guid('AW_'),
          socket,
          agentName: m.value.agentName,
          jobType: m.value.type,
          deployment: m.value.deployment,
          apiKey,
          status: WorkerStatus.WS_AVAILABLE,
          load: 0,
          statusUpdates: 0,
          runningJobs: new Map(),
          availability: new Map(),
          closed: false,
        };
        this.workers.set(worker.id, worker);
        const reply = new RegisterWorkerResponse({
          workerId: worker.id,
          serverInfo: new ServerInfo({ edition: ServerInfo_Edition.Standard, version: 'fake-1.13', protocol: 16, agentProtocol: 1, nodeId: 'ND_fake' }),
        });
        socket.send(new ServerMessage({ message: { case: 'register', value: reply } }).toBinary());
        return;
      }
      switch (m.case) {
        case 'ping':
          return pong(m.value.timestamp);
        case 'updateWorker':
          // worker.go HandleUpdateWorker: status when given; load always.
          if (m.value.status !== undefined) worker.status = m.value.status;
          worker.load = m.value.load;
          worker.statusUpdates++;
          return;
        case 'availability':
          worker.availability.get(m.value.jobId)?.(m.value);
          return;
        case 'updateJob': {
          const job = worker.runningJobs.get(m.value.jobId);
          // worker.go UpdateJobStatus (agents-js never sends it; other SDKs do).
          if (job && (m.value.status === JobStatus.JS_SUCCESS || m.value.status === JobStatus.JS_FAILED)) this.endJob(job, false);
          return;
        }
        case 'migrateJob':
        case 'simulateJob':
          return; // not implemented on OSS (worker.go HandleMigrateJob); simulations are not used here
        default:
          return fail(); // a second register or an unknown signal
      }
    });
    socket.on('close', () => {
      clearTimeout(registerTimer);
      if (!worker) return;
      worker.closed = true;
      this.workers.delete(worker.id);
      for (const resolve of worker.availability.values()) resolve(new Error('worker closed'));
      // deregisterWorker: its jobs are forgotten by the server; the job processes (and the agents
      // in their rooms) live on.
    });
    socket.on('error', () => {});
  }

  // ---- Twirp ----

  private async claims(req: IncomingMessage): Promise<ClaimGrants | undefined> {
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : new URL(req.url ?? '/', 'http://x').searchParams.get('access_token');
    if (!token) return undefined;
    return this.verifier.verify(token);
  }

  private twirpError(res: ServerResponse, err: TwirpError) {
    if (res.headersSent) return;
    res.writeHead(err.status, { 'content-type': 'application/json' }).end(JSON.stringify({ code: err.code, msg: err.message }));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    const path = (req.url ?? '').split('?')[0] ?? '';
    const match = /^\/twirp\/livekit\.(AgentDispatchService|RoomService)\/(\w+)$/.exec(path);
    if (req.method !== 'POST' || !match) throw new TwirpError(404, 'bad_route', `no handler for ${req.method} ${path}`);
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) throw new TwirpError(404, 'bad_route', 'unexpected Content-Type');
    let json: unknown;
    try {
      json = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {
      throw new TwirpError(400, 'malformed', 'the json request could not be decoded');
    }
    const method = match[2]!;
    this.requests.set(method, (this.requests.get(method) ?? 0) + 1);
    let claims: ClaimGrants | undefined;
    try {
      claims = await this.claims(req);
    } catch {
      claims = undefined;
    }
    const parse = { ignoreUnknownFields: true };
    // pkg/service/auth.go EnsureAdminPermission / EnsureCreatePermission / EnsureListPermission.
    const needAdmin = (room: string) => {
      if (!claims?.video?.roomAdmin || claims.video.room !== room) {
        this.authFailures++;
        throw unauthenticated('permissions denied');
      }
    };
    const needGrant = (grant: 'roomCreate' | 'roomList') => {
      if (!claims?.video?.[grant]) {
        this.authFailures++;
        throw unauthenticated('permissions denied');
      }
    };
    const send = (value: { toJson(): unknown }) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value.toJson()));

    switch (`${match[1]}/${method}`) {
      case 'AgentDispatchService/CreateDispatch': {
        const body = CreateAgentDispatchRequest.fromJson(json as never, parse);
        needAdmin(body.room);
        const attempts = this.createAttempts.get(body.room) ?? [];
        attempts.push(Date.now());
        this.createAttempts.set(body.room, attempts);
        const failures = this.failing.get(body.room);
        if (failures !== undefined && failures > 0) {
          this.failing.set(body.room, failures - 1);
          throw new TwirpError(500, 'internal', `injected failure for room ${body.room}`);
        }
        if (body.metadata.length > MAX_METADATA_BYTES) throw invalidArgument('metadata size exceeds limits');
        if (body.room.length > MAX_ROOM_NAME_LENGTH) throw invalidArgument('room name length exceeds limits');
        // agent_dispatch_service.go: auto-create the room, store the dispatch, launch its job in the
        // background and answer (room.go AddAgentDispatch -> launchRoomAgents: go func()).
        const session = this.rooms.get(body.room) ?? this.openRoom(body.room);
        const dispatch = new AgentDispatch({ id: guid('AD_'), agentName: body.agentName, room: body.room, metadata: body.metadata });
        this.storeDispatch(session, dispatch);
        const record: FakeDispatch = { id: dispatch.id, room: body.room, roomSid: session.sid, agentName: body.agentName, metadata: body.metadata, receivedAtMs: Date.now() };
        const list = this.dispatches.get(body.room) ?? [];
        list.push(record);
        this.dispatches.set(body.room, list);
        this.dispatchLog.push(record);
        this.onDispatch?.(record);
        if (this.dispatchDelayMs > 0) await sleep(this.dispatchDelayMs);
        const answer = dispatch.clone();
        answer.state = new AgentDispatchState({ createdAt: dispatch.state!.createdAt });
        send(answer);
        this.onDispatchAnswered?.(record);
        return;
      }
      case 'AgentDispatchService/ListDispatch': {
        const body = ListAgentDispatchRequest.fromJson(json as never, parse);
        needAdmin(body.room);
        const session = await this.roomNode(body.room);
        const list = [...session.dispatches.values()].filter((d) => !body.dispatchId || d.id === body.dispatchId);
        return send(new ListAgentDispatchResponse({ agentDispatches: list.map((d) => d.clone()) }));
      }
      case 'AgentDispatchService/DeleteDispatch': {
        const body = DeleteAgentDispatchRequest.fromJson(json as never, parse);
        needAdmin(body.room);
        const session = await this.roomNode(body.room);
        const dispatch = session.dispatches.get(body.dispatchId);
        // room.go DeleteAgentDispatch: psrpc NotFound "dispatch ID not found".
        if (!dispatch) throw notFound('dispatch ID not found');
        session.dispatches.delete(dispatch.id);
        this.deletedDispatches.push(dispatch.id);
        // Its jobs are terminated and their agents removed from the room (after pending launches).
        for (const job of session.jobs.filter((j) => j.dispatchId === dispatch.id)) this.endJob(job, true);
        return send(dispatch.clone());
      }
      case 'RoomService/ListRooms': {
        const body = ListRoomsRequest.fromJson(json as never, parse);
        needGrant('roomList');
        // roomservice.go ListRooms: from the store, by name when names are given; never routed.
        const rooms = body.names.length === 0 ? [...this.rooms.values()] : body.names.flatMap((n) => this.rooms.get(n) ?? []);
        return send(new ListRoomsResponse({ rooms: rooms.map((s) => this.roomProto(s)) }));
      }
      case 'RoomService/ListParticipants': {
        const body = ListParticipantsRequest.fromJson(json as never, parse);
        needAdmin(body.room);
        // From the store: a room that does not exist has no participants (localstore.go, redisstore.go).
        const session = this.rooms.get(body.room);
        return send(new ListParticipantsResponse({ participants: session ? [...session.participants.values()].map((p) => p.clone()) : [] }));
      }
      case 'RoomService/CreateRoom': {
        const body = CreateRoomRequest.fromJson(json as never, parse);
        needGrant('roomCreate');
        if (body.name.length > MAX_ROOM_NAME_LENGTH) throw invalidArgument('room name length exceeds limits');
        return send(this.roomProto(this.rooms.get(body.name) ?? this.openRoom(body.name)));
      }
      case 'RoomService/DeleteRoom': {
        const body = DeleteRoomRequest.fromJson(json as never, parse);
        needGrant('roomCreate');
        const session = this.rooms.get(body.room);
        if (!session) throw notFound('requested room does not exist');
        this.closeRoom(session);
        return send(new DeleteRoomResponse());
      }
      default:
        throw new TwirpError(404, 'bad_route', `no handler for ${path}`);
    }
  }

  /**
   * Requests routed to the node hosting the room (psrpc on the room topic). With no such room no
   * node answers: after the RPC attempts the call fails `unavailable`, never 404.
   */
  private async roomNode(room: string): Promise<FakeRoomSession> {
    const session = this.rooms.get(room);
    if (session) return session;
    this.missingRoomRequests++;
    await sleep(this.options.missingRoomRpcMs ?? 3000);
    const late = this.rooms.get(room);
    if (late) return late;
    throw unavailable('no response from servers');
  }
}
