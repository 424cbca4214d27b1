/**
 * The two Docker Engine API calls the drain watcher needs, over the daemon's unix socket:
 * list a compose service's running containers, and stop one (SIGTERM, then SIGKILL after `t`
 * seconds). Stopping through the API, not `kill`, marks the container as stopped by hand, so
 * `restart: unless-stopped` does not bring it back on a terminating instance.
 * Source: moby/moby api/swagger.yaml (ContainerList: GET /containers/json with `filters`;
 * ContainerStop: POST /containers/{id}/stop?t=, 204 stopped, 304 already stopped, 404 no such
 * container; the call returns once the container has exited). Compose labels its containers
 * com.docker.compose.project and com.docker.compose.service (docker/compose pkg/api/labels.go).
 */
import { request } from 'node:http';

/** API version: Docker 20.10 and later speak it (Ubuntu 24.04 ships 24+). */
export const DOCKER_API_VERSION = 'v1.41';
export const DOCKER_SOCKET = '/var/run/docker.sock';

export interface ContainerSummary {
  Id: string;
  Names: string[];
  State: string;
  Labels: Record<string, string>;
}

export class DockerClient {
  constructor(private readonly socketPath: string = DOCKER_SOCKET) {}

  /** Running containers of one compose service. */
  async serviceContainers(project: string, service: string): Promise<ContainerSummary[]> {
    const filters = JSON.stringify({ label: [`com.docker.compose.project=${project}`, `com.docker.compose.service=${service}`] });
    const { status, body } = await this.call('GET', `/containers/json?filters=${encodeURIComponent(filters)}`);
    if (status !== 200) throw new Error(`docker: listing ${service} containers: HTTP ${status} ${body}`);
    return JSON.parse(body) as ContainerSummary[];
  }

  /**
   * Stops a container: SIGTERM, and SIGKILL after `timeoutSeconds`. Resolves when it has exited;
   * true if it was running, false if it was already stopped.
   */
  async stop(id: string, timeoutSeconds: number): Promise<boolean> {
    const { status, body } = await this.call('POST', `/containers/${encodeURIComponent(id)}/stop?t=${timeoutSeconds}`);
    if (status === 204) return true;
    if (status === 304) return false;
    throw new Error(`docker: stopping ${id}: HTTP ${status} ${body}`);
  }

  private call(method: string, path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, method, path: `/${DOCKER_API_VERSION}${path}`, headers: { Host: 'docker' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }
}
