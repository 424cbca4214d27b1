/**
 * A small IMDSv2 client: a session token from PUT /latest/api/token (TTL header), then GETs with
 * the token header. The launch templates require tokens (IMDSv1 answers 401), and a token past
 * its TTL is refused with 401 too, so a 401 fetches a new token once and retries.
 * Source: AWS EC2 User Guide, "Use IMDSv2" (configuring-instance-metadata-service.html); the
 * behaviour is that of aws/amazon-ec2-metadata-mock pkg/mock/imdsv2 (tokengenerator.go, tokenvalidator.go).
 */

/** Where IMDS answers on every instance (IPv4). */
export const IMDS_ENDPOINT = 'http://169.254.169.254';
export const TOKEN_TTL_HEADER = 'X-aws-ec2-metadata-token-ttl-seconds';
export const TOKEN_HEADER = 'X-aws-ec2-metadata-token';
/** Token lifetime we ask for: long enough for many polls, short enough to leak little. */
export const TOKEN_TTL_SECONDS = 300;

/** A metadata item that does not exist (404): e.g. the lifecycle state of an instance outside any autoscaling group. */
export class MetadataNotFound extends Error {
  constructor(readonly path: string) {
    super(`instance metadata ${path}: not found`);
    this.name = 'MetadataNotFound';
  }
}

export interface ImdsClientOptions {
  endpoint?: string;
  /** Per-request timeout, ms (default 2000: IMDS answers locally). */
  timeoutMs?: number;
}

export class ImdsClient {
  private readonly endpoint: string;
  private readonly timeoutMs: number;
  private token: { value: string; expiresAt: number } | undefined;

  constructor(options: ImdsClientOptions = {}) {
    this.endpoint = (options.endpoint ?? IMDS_ENDPOINT).replace(/\/$/, '');
    this.timeoutMs = options.timeoutMs ?? 2000;
  }

  /** The text of /latest/meta-data/<path>; MetadataNotFound on 404. */
  async get(path: string): Promise<string> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const token = await this.sessionToken(attempt > 0);
      const response = await fetch(`${this.endpoint}/latest/meta-data/${path}`, {
        headers: { [TOKEN_HEADER]: token },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (response.status === 401) {
        // Expired or unknown token: take a new one and try once more.
        this.token = undefined;
        await response.body?.cancel();
        continue;
      }
      if (response.status === 404) {
        await response.body?.cancel();
        throw new MetadataNotFound(path);
      }
      if (!response.ok) throw new Error(`instance metadata ${path}: HTTP ${response.status}`);
      return (await response.text()).trim();
    }
    throw new Error(`instance metadata ${path}: refused the session token twice (401)`);
  }

  private async sessionToken(renew: boolean): Promise<string> {
    // Renew a little before the TTL runs out, so a poll never carries an expiring token.
    if (!renew && this.token && Date.now() < this.token.expiresAt - 30_000) return this.token.value;
    const response = await fetch(`${this.endpoint}/latest/api/token`, {
      method: 'PUT',
      headers: { [TOKEN_TTL_HEADER]: String(TOKEN_TTL_SECONDS) },
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!response.ok) throw new Error(`instance metadata token: HTTP ${response.status}`);
    const value = (await response.text()).trim();
    this.token = { value, expiresAt: Date.now() + TOKEN_TTL_SECONDS * 1000 };
    return value;
  }
}
