/**
 * An in-test stand-in for the Amazon EC2 Auto Scaling API, speaking the protocol the AWS SDK sends:
 * the AWS query protocol (POST /, application/x-www-form-urlencoded, Action=...&Version=2011-01-01),
 * signed with Signature Version 4, answered in XML. It checks the signature itself (an independent
 * SigV4 implementation, not the SDK's signer) and refuses what the service refuses:
 * - an unknown access key (InvalidClientTokenId, 403) or a bad signature (SignatureDoesNotMatch, 403);
 * - a version other than 2011-01-01 or an unknown action (InvalidAction, 400);
 * - CompleteLifecycleAction for an instance with no action waiting under that group and hook, or
 *   past the hook's heartbeat: ValidationError "No active Lifecycle Action found with instance ID ...".
 * Sources: Amazon EC2 Auto Scaling API Reference (CompleteLifecycleAction, DescribeAutoScalingInstances,
 * Common Errors), "Signature Version 4 signing process" (AWS General Reference), and the
 * @aws-sdk/client-auto-scaling serializers (protocols/Aws_query.ts) for the wire format.
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const AUTOSCALING_API_VERSION = '2011-01-01';
const XMLNS = `http://autoscaling.amazonaws.com/doc/${AUTOSCALING_API_VERSION}/`;

export interface FakeAutoScalingOptions {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

/** An instance of a group, with its lifecycle state. */
interface FakeInstance {
  groupName: string;
  availabilityZone: string;
  state: 'InService' | 'Terminating:Wait' | 'Terminating:Proceed';
  /** The hook holding it, while Terminating:Wait. */
  hookName?: string;
  timer?: NodeJS.Timeout;
}

export interface CompletedAction {
  hookName: string;
  groupName: string;
  instanceId: string;
  result: string;
  /** Date.now() when it arrived. */
  atMs: number;
}

export class FakeAutoScaling {
  readonly completed: CompletedAction[] = [];
  /** Actions the service refused, with their error code (the test reads why). */
  readonly refused: Array<{ action: string; code: string; message: string }> = [];
  /** Instances whose heartbeat ran out before anyone completed their action. */
  readonly timedOut: string[] = [];
  private readonly instances = new Map<string, FakeInstance>();
  private server?: Server;

  constructor(private readonly options: FakeAutoScalingOptions) {}

  addInstance(instanceId: string, groupName: string, availabilityZone = `${this.options.region}a`): void {
    this.instances.set(instanceId, { groupName, availabilityZone, state: 'InService' });
  }

  /** The group starts terminating the instance: its hook holds it in Terminating:Wait for `heartbeatSeconds`. */
  beginTermination(instanceId: string, hookName: string, heartbeatSeconds: number): void {
    const instance = this.instances.get(instanceId);
    if (!instance) throw new Error(`no instance ${instanceId}`);
    instance.state = 'Terminating:Wait';
    instance.hookName = hookName;
    instance.timer = setTimeout(() => {
      // The heartbeat ran out: the default result applies and the action is gone.
      instance.state = 'Terminating:Proceed';
      this.timedOut.push(instanceId);
    }, heartbeatSeconds * 1000);
    instance.timer.unref();
  }

  lifecycleState(instanceId: string): string | undefined {
    return this.instances.get(instanceId)?.state;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.handle(req, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const instance of this.instances.values()) clearTimeout(instance.timer);
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private handle(req: IncomingMessage, body: string, res: ServerResponse): void {
    const requestId = randomUUID();
    const error = (status: number, code: string, message: string, type = 'Sender') => {
      this.refused.push({ action: new URLSearchParams(body).get('Action') ?? '', code, message });
      res.writeHead(status, { 'Content-Type': 'text/xml' });
      res.end(`<ErrorResponse xmlns="${XMLNS}"><Error><Type>${type}</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`);
    };
    if (req.method !== 'POST' || (req.url ?? '/') !== '/') return error(400, 'InvalidAction', 'The query protocol posts to /');
    if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      return error(400, 'MalformedQueryString', 'Content-Type must be application/x-www-form-urlencoded');
    }
    const auth = this.verifySignature(req, body);
    if (auth) return error(403, auth.code, auth.message);

    const params = new URLSearchParams(body);
    if (params.get('Version') !== AUTOSCALING_API_VERSION) return error(400, 'InvalidAction', `Could not find operation ${params.get('Action')} for version ${params.get('Version')}`);
    const ok = (action: string, result: string) => {
      res.writeHead(200, { 'Content-Type': 'text/xml' });
      res.end(`<${action}Response xmlns="${XMLNS}">${result}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`);
    };
    switch (params.get('Action')) {
      case 'CompleteLifecycleAction': {
        const instanceId = params.get('InstanceId') ?? '';
        const groupName = params.get('AutoScalingGroupName') ?? '';
        const hookName = params.get('LifecycleHookName') ?? '';
        const result = params.get('LifecycleActionResult') ?? '';
        if (!hookName || !groupName || !result) return error(400, 'ValidationError', '1 validation error detected: LifecycleHookName, AutoScalingGroupName and LifecycleActionResult are required');
        if (result !== 'CONTINUE' && result !== 'ABANDON') return error(400, 'ValidationError', `Value '${result}' at 'lifecycleActionResult' failed to satisfy constraint: CONTINUE or ABANDON`);
        if (params.get('LifecycleActionToken') === null && !instanceId) return error(400, 'ValidationError', 'Either LifecycleActionToken or InstanceId is required');
        const instance = this.instances.get(instanceId);
        if (!instance || instance.groupName !== groupName || instance.state !== 'Terminating:Wait' || instance.hookName !== hookName) {
          return error(400, 'ValidationError', `No active Lifecycle Action found with instance ID ${instanceId}`);
        }
        clearTimeout(instance.timer);
        instance.state = 'Terminating:Proceed';
        this.completed.push({ hookName, groupName, instanceId, result, atMs: Date.now() });
        return ok('CompleteLifecycleAction', '<CompleteLifecycleActionResult/>');
      }
      case 'DescribeAutoScalingInstances': {
        const ids = [...params.entries()].filter(([k]) => /^InstanceIds\.member\.\d+$/.test(k)).map(([, v]) => v);
        const members = ids
          .map((id) => [id, this.instances.get(id)] as const)
          .filter((e): e is readonly [string, FakeInstance] => e[1] !== undefined)
          .map(
            ([id, i]) =>
              `<member><InstanceId>${id}</InstanceId><AutoScalingGroupName>${escapeXml(i.groupName)}</AutoScalingGroupName><AvailabilityZone>${i.availabilityZone}</AvailabilityZone><LifecycleState>${i.state}</LifecycleState><HealthStatus>HEALTHY</HealthStatus><ProtectedFromScaleIn>false</ProtectedFromScaleIn></member>`,
          );
        return ok('DescribeAutoScalingInstances', `<DescribeAutoScalingInstancesResult><AutoScalingInstances>${members.join('')}</AutoScalingInstances></DescribeAutoScalingInstancesResult>`);
      }
      default:
        return error(400, 'InvalidAction', `Could not find operation ${params.get('Action')} for version ${AUTOSCALING_API_VERSION}`);
    }
  }

  /** Recomputes the SigV4 signature of the request; a refusal when it does not match. */
  private verifySignature(req: IncomingMessage, body: string): { code: string; message: string } | null {
    const header = String(req.headers.authorization ?? '');
    const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(header);
    if (!match) return { code: 'MissingAuthenticationToken', message: 'Request is missing Authentication Token' };
    const [, accessKeyId, date, region, service, signedHeaders, signature] = match as unknown as [string, string, string, string, string, string, string];
    if (accessKeyId !== this.options.accessKeyId) return { code: 'InvalidClientTokenId', message: 'The security token included in the request is invalid.' };
    if (region !== this.options.region || service !== 'autoscaling') {
      return { code: 'SignatureDoesNotMatch', message: `Credential should be scoped to a valid region and to the autoscaling service, not ${region}/${service}` };
    }
    const amzDate = String(req.headers['x-amz-date'] ?? '');
    if (!amzDate.startsWith(date)) return { code: 'IncompleteSignature', message: 'X-Amz-Date does not match the credential date' };
    const names = signedHeaders.split(';');
    if (!names.includes('host') || !names.includes('x-amz-date')) return { code: 'IncompleteSignature', message: 'host and x-amz-date must be signed' };
    const canonicalHeaders = names.map((n) => `${n}:${String(req.headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
    const canonicalRequest = ['POST', '/', '', canonicalHeaders, signedHeaders, sha256(body)].join('\n');
    const scope = `${date}/${region}/${service}/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
    let key = hmac(`AWS4${this.options.secretAccessKey}`, date);
    for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
    const expected = createHmac('sha256', key).update(stringToSign).digest();
    if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
      return { code: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match the signature you provided.' };
    }
    return null;
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}
