/**
 * An in-test stand-in for the Docker Engine API on a unix socket, for the two calls the drain
 * watcher makes. Behaviour from moby/moby api/swagger.yaml and daemon/stop.go:
 * - GET /v1.41/containers/json?filters={"label":["k=v",...]} lists running containers carrying
 *   every label (compose's com.docker.compose.project / .service);
 * - POST /v1.41/containers/{id}/stop?t=N sends the stop signal (SIGTERM), waits up to N seconds
 *   for the process to exit, then sends SIGKILL; it answers 204 once the container has exited,
 *   304 when it was not running, 404 for an unknown id. A second stop while the first waits sends
 *   the signal again (which makes livekit-server stop at once: the test counts SIGTERMs).
 * A container here stands for a process that drains: it exits by itself once its active sessions
 * reach 0 after a SIGTERM (the agent worker and livekit-server both do), and not before.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';

export interface FakeContainer {
  id: string;
  project: string;
  service: string;
  running: boolean;
  /** Calls or participants still active; the process exits on its own once draining and 0. */
  activeSessions: number;
  /** Signals received, in order. */
  signals: Array<'SIGTERM' | 'SIGKILL'>;
  /** How it ended: exited after draining, or killed at the stop timeout. */
  exit?: 'drained' | 'killed';
}

export class FakeDocker {
  readonly containers = new Map<string, FakeContainer>();
  private readonly waiting = new Map<string, Array<() => void>>();
  private server?: Server;

  constructor(readonly socketPath: string) {}

  addContainer(c: { id: string; project: string; service: string; activeSessions: number }): FakeContainer {
    const container: FakeContainer = { ...c, running: true, signals: [] };
    this.containers.set(c.id, container);
    return container;
  }

  /** Sessions end (or start); a draining container with none left exits. */
  setActiveSessions(id: string, sessions: number): void {
    const c = this.containers.get(id)!;
    c.activeSessions = sessions;
    if (c.running && sessions === 0 && c.signals.includes('SIGTERM')) this.exit(c, 'drained');
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://docker');
      const json = (status: number, body?: unknown) => {
        res.writeHead(status, body === undefined ? {} : { 'Content-Type': 'application/json' });
        res.end(body === undefined ? undefined : JSON.stringify(body));
      };
      const version = /^\/v(\d+)\.(\d+)(\/.*)$/.exec(url.pathname);
      const path = version ? version[3]! : url.pathname;
      if (req.method === 'GET' && path === '/containers/json') return this.list(url, json);
      const stop = /^\/containers\/([^/]+)\/stop$/.exec(path);
      if (req.method === 'POST' && stop) return this.stopContainer(decodeURIComponent(stop[1]!), url, res, json);
      return json(404, { message: 'page not found' });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.socketPath, resolve);
    });
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private list(url: URL, json: (status: number, body?: unknown) => void): void {
    let labels: string[] = [];
    const raw = url.searchParams.get('filters');
    if (raw !== null) {
      try {
        labels = (JSON.parse(raw) as { label?: string[] }).label ?? [];
      } catch {
        return json(400, { message: `invalid filter '${raw}'` });
      }
    }
    const match = (c: FakeContainer) =>
      labels.every((l) => {
        const [k, v] = l.split('=');
        const have: Record<string, string> = { 'com.docker.compose.project': c.project, 'com.docker.compose.service': c.service };
        return v === undefined ? k! in have : have[k!] === v;
      });
    const running = [...this.containers.values()].filter((c) => c.running && match(c));
    json(
      200,
      running.map((c) => ({
        Id: c.id,
        Names: [`/${c.project}-${c.service}-1`],
        State: 'running',
        Labels: { 'com.docker.compose.project': c.project, 'com.docker.compose.service': c.service },
      })),
    );
  }

  private stopContainer(id: string, url: URL, res: ServerResponse, json: (status: number, body?: unknown) => void): void {
    const c = this.containers.get(id);
    if (!c) return json(404, { message: `No such container: ${id}` });
    if (!c.running) return json(304);
    const t = Number(url.searchParams.get('t') ?? '10');
    c.signals.push('SIGTERM');
    const done = () => {
      clearTimeout(timer);
      if (!res.writableEnded) json(204);
    };
    const timer = setTimeout(() => {
      if (c.running) {
        c.signals.push('SIGKILL');
        this.exit(c, 'killed');
      }
    }, t * 1000);
    this.waiting.set(id, [...(this.waiting.get(id) ?? []), done]);
    if (c.activeSessions === 0) this.exit(c, 'drained');
  }

  private exit(c: FakeContainer, how: 'drained' | 'killed'): void {
    c.running = false;
    c.exit = how;
    for (const done of this.waiting.get(c.id) ?? []) done();
    this.waiting.delete(c.id);
  }
}
