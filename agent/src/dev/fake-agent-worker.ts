/**
 * An agent worker without the agent: it speaks the worker side of LiveKit's `/agent` protocol as
 * agents-js does (node_modules/@livekit/agents/src/worker.ts), so tests and the bench can run
 * many calls through a LiveKit stand-in without job processes. What it copies:
 * - dials <url>/agent with `Authorization: Bearer <JWT with the agent grant>`, registers
 *   (type JT_ROOM, agentName) and waits for the register answer;
 * - every statusIntervalMs (agents-js: 2.5 s) sends UpdateWorkerStatus {load, status}, status
 *   WS_FULL when load >= loadThreshold; the first update only after one interval;
 * - answers every AvailabilityRequest with available: true (agents-js's default request function
 *   accepts whatever its load), identity `agent-<jobId>`, unless draining (then available: false);
 * - a job runs from its JobAssignment until the server's JobTermination; agents-js never sends
 *   UpdateJobStatus, and neither does this;
 * - drain(): one UpdateWorkerStatus {WS_FULL} at once, then {load 1, WS_FULL} on each tick.
 * Load is max(CPU load, active jobs / maxSessions) as the real worker computes it
 * (../worker/capacity.ts), with the CPU part given by the test (cpuLoad).
 * With a heartbeat it also publishes its capacity for the dispatchers by the real worker's rules:
 * from the load LiveKit last heard, at each status update (and on drain and disconnect).
 */
import { AvailabilityResponse, JobType, ParticipantPermission, RegisterWorkerRequest, ServerMessage, UpdateWorkerStatus, WorkerMessage, WorkerStatus } from '@livekit/protocol';
import { AccessToken } from 'livekit-server-sdk';
import { WebSocket } from 'ws';
import type { CapacityHeartbeat } from '../queue/capacity-heartbeat.js';
import { offeredSessions, workerLoad } from '../worker/capacity.js';

export interface FakeAgentWorkerOptions {
  /** The LiveKit URL (http(s) or ws(s)). */
  url: string;
  apiKey: string;
  apiSecret: string;
  agentName: string;
  /** Sessions this worker is sized for (AGENT_MAX_SESSIONS). */
  maxSessions: number;
  /** agents-js loadThreshold (0.7 in production). */
  loadThreshold?: number;
  /** agents-js UPDATE_LOAD_INTERVAL (2.5 s). */
  statusIntervalMs?: number;
  /** CPU share this worker pretends to use (0..1); the session share is added as the real worker does. */
  cpuLoad?: number;
  /** Publish the capacity heartbeat here (the real worker's heartbeat, driven by the same rules). */
  heartbeat?: CapacityHeartbeat;
}

export interface RunningFakeJob {
  id: string;
  room: string;
  roomSid: string;
  metadata: string;
  startedAtMs: number;
}

export class FakeAgentWorker {
  workerId = '';
  /** Jobs assigned and not terminated. */
  readonly activeJobs = new Map<string, RunningFakeJob>();
  /** Every job this worker ran. */
  readonly jobHistory: RunningFakeJob[] = [];
  /** Statuses and loads sent, in order. */
  readonly statusUpdates: Array<{ status: WorkerStatus; load: number }> = [];
  /** Set by a test to change the CPU part of the load. */
  cpuLoad: number;
  onJob?: (job: RunningFakeJob) => void;
  private socket?: WebSocket;
  private timer?: NodeJS.Timeout;
  private draining = false;
  private connected = false;
  /** The load LiveKit last heard (it assumes 0 until the first update). */
  private reportedLoad = 0;
  private readonly pending = new Map<string, { room: string; roomSid: string; metadata: string }>();

  constructor(private readonly options: FakeAgentWorkerOptions) {
    this.cpuLoad = options.cpuLoad ?? 0;
  }

  get loadThreshold(): number {
    return this.options.loadThreshold ?? 0.7;
  }

  get load(): number {
    if (this.draining) return 1;
    return workerLoad(this.cpuLoad, this.activeJobs.size, this.options.maxSessions);
  }

  /** Connects and registers; resolves with the worker id LiveKit assigned. */
  async start(): Promise<this> {
    const token = new AccessToken(this.options.apiKey, this.options.apiSecret);
    token.addGrant({ agent: true });
    const url = new URL(this.options.url);
    url.protocol = url.protocol.replace('http', 'ws');
    const socket = new WebSocket(new URL(`${url.toString().replace(/\/$/, '')}/agent`), { headers: { authorization: `Bearer ${await token.toJwt()}` } });
    this.socket = socket;
    const registered = new Promise<void>((resolve, reject) => {
      socket.on('error', reject);
      socket.on('unexpected-response', (_req, res) => reject(new Error(`/agent answered ${res.statusCode}`)));
      socket.on('close', () => reject(new Error('worker connection closed before registration')));
      socket.on('open', () => {
        this.send({
          case: 'register',
          value: new RegisterWorkerRequest({
            type: JobType.JT_ROOM,
            agentName: this.options.agentName,
            version: 'fake',
            allowedPermissions: new ParticipantPermission({ canPublish: true, canSubscribe: true, canPublishData: true, canUpdateMetadata: true, agent: true }),
          }),
        });
      });
      socket.on('message', (data: Buffer) => {
        const msg = ServerMessage.fromBinary(new Uint8Array(data));
        if (msg.message.case === 'register') {
          this.workerId = msg.message.value.workerId;
          this.connected = true;
          resolve();
          return;
        }
        this.onServerMessage(msg);
      });
    });
    socket.on('close', () => {
      this.connected = false;
      clearInterval(this.timer);
      void this.publishCapacity();
    });
    await registered;
    this.timer = setInterval(() => this.tick(), this.options.statusIntervalMs ?? 2500);
    await this.publishCapacity();
    return this;
  }

  /** Send a status update now (a test that does not want to wait for the next tick). */
  tick(): void {
    const load = this.load;
    const status = this.draining || load >= this.loadThreshold ? WorkerStatus.WS_FULL : WorkerStatus.WS_AVAILABLE;
    this.reportedLoad = load;
    this.statusUpdates.push({ status, load });
    this.send({ case: 'updateWorker', value: new UpdateWorkerStatus({ load, status }) });
    void this.publishCapacity();
  }

  /** The capacity the heartbeat offers now. */
  get offeredSessions(): number {
    return offeredSessions({
      connected: this.connected,
      draining: this.draining,
      load: this.reportedLoad,
      loadThreshold: this.loadThreshold,
      maxSessions: this.options.maxSessions,
    });
  }

  /** Stop taking jobs (agents-js drain: WS_FULL at once), as the worker does on SIGTERM. */
  drain(): void {
    this.draining = true;
    this.send({ case: 'updateWorker', value: new UpdateWorkerStatus({ status: WorkerStatus.WS_FULL }) });
    void this.publishCapacity();
  }

  /** The connection drops (LiveKit restarts, network): LiveKit forgets the worker. */
  disconnect(): void {
    this.socket?.terminate();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.socket?.close();
    await this.options.heartbeat?.stop().catch(() => {});
  }

  private async publishCapacity(): Promise<void> {
    await this.options.heartbeat?.update(this.offeredSessions).catch(() => {});
  }

  private send(message: WorkerMessage['message']): void {
    if (this.socket?.readyState !== WebSocket.OPEN) return;
    this.socket.send(new WorkerMessage({ message }).toBinary());
  }

  private onServerMessage(msg: ServerMessage): void {
    const m = msg.message;
    switch (m.case) {
      case 'availability': {
        const job = m.value.job;
        if (!job) return;
        if (this.draining) {
          this.send({ case: 'availability', value: new AvailabilityResponse({ jobId: job.id, available: false }) });
          return;
        }
        this.pending.set(job.id, { room: job.room?.name ?? '', roomSid: job.room?.sid ?? '', metadata: job.metadata });
        this.send({
          case: 'availability',
          value: new AvailabilityResponse({
            jobId: job.id,
            available: true,
            participantIdentity: `agent-${job.id}`,
            participantAttributes: { 'lk.agent_name': this.options.agentName },
          }),
        });
        return;
      }
      case 'assignment': {
        const id = m.value.job?.id ?? '';
        const pending = this.pending.get(id);
        if (!pending) return; // agents-js: "received assignment for unknown job"
        this.pending.delete(id);
        const job: RunningFakeJob = { id, ...pending, startedAtMs: Date.now() };
        this.activeJobs.set(id, job);
        this.jobHistory.push(job);
        this.onJob?.(job);
        return;
      }
      case 'termination':
        this.activeJobs.delete(m.value.jobId);
        return;
      default:
        return;
    }
  }
}
