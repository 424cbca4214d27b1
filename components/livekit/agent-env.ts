/**
 * The agent worker's own environment on a node (the providers' API keys, and any other variable
 * the operator chooses), pure: it comes from an operator-owned Secrets Manager secret whose
 * SecretString is a JSON object of NAME: "value" strings. boot.sh reads it at every start of the
 * node's unit and converts it, strictly, into the env file compose hands to the agent worker
 * (NODE_FILES.agentProvidersEnv); intake and dispatcher never see it.
 *
 * The converter is python3 (Ubuntu 24.04 ships it: cloud-init itself runs on it; the AMI has no
 * jq). It refuses, failing the boot with one line that names the key and never the value:
 * - a SecretString that is not a JSON object, or a key given twice;
 * - a key that is not an environment variable name (it is shown by position only: a key that is
 *   not a name may be a pasted value);
 * - a name the stack sets itself (reservedAgentEnvNames): a later env_file would override the
 *   stack's REDIS_URL or LIVEKIT_API_SECRET, and `environment` would silently win over the rest;
 * - a value that is not a string, or not printable ASCII on one line, or that holds `'` or `\`:
 *   the file is written NAME='value', which compose reads literally, except that compose-go's
 *   dotenv parser (dotenv/parser.go, extractVarValue) takes `\'` inside single quotes as an
 *   escaped quote, so a value ending in a backslash would swallow its closing quote.
 * Keys the configured providers need but the secret lacks get a warning, not a failure: the worker
 * itself exits naming the missing key, and the rest of the node (LiveKit, the queue) keeps running.
 */
import { SECRET_ENV_NAMES } from './layout.js';
import type { SecretArn } from './secret-arn.js';

/** The agent worker's environment secret (roles that run the agent worker: small, agent). */
export interface AgentEnvArgs {
  /** Secrets Manager ARN of the operator's secret; SecretString a JSON object of NAME: "value" strings. */
  secretArn: SecretArn;
  /** Variables the configured providers need (a warning at boot when the secret lacks one), e.g. ["OPENAI_API_KEY"]. */
  expectedKeys?: readonly string[];
}

/**
 * Prefixes of the variables the stack and the agent image own: LIVEKIT_* (URL, key, secret),
 * REDIS_* (the queue's URL, and AUTH on the nodes), AGENT_* (name, sessions, ports, drain),
 * QUEUE_*, METRICS_*, CALL_* (the queue's call policy), INTAKE_*, DISPATCH_*, and VOICE_AGENT_*
 * (the worker's record sink, agent/src/telemetry/record-sink.ts).
 */
export const RESERVED_AGENT_ENV_PREFIXES: readonly string[] = ['LIVEKIT_', 'REDIS_', 'AGENT_', 'QUEUE_', 'METRICS_', 'CALL_', 'INTAKE_', 'DISPATCH_', 'VOICE_AGENT_'];

/**
 * Whole names the stack, the queue roles and the image set besides those prefixes:
 * agent/src/config.ts (VARS: STACK_NAME, FLEET_CAPACITY, ADMISSION_POLL_MS, RECONCILE_SECONDS, ALERT_WEBHOOK_URL,
 * ...), the compose renderer (HEALTHCHECK_URL, and every variable it writes: see
 * reservedAgentEnvNames), the secrets boot.sh writes (SECRET_ENV_NAMES), and the image's own
 * (agent/Dockerfile: NODE_ENV, PHRASE_CACHE_DIR; Docker: PATH, HOME, HOSTNAME).
 */
export const RESERVED_AGENT_ENV_NAMES: readonly string[] = [
  'STACK_NAME',
  'FLEET_CAPACITY',
  'ADMISSION_POLL_MS',
  'RECONCILE_SECONDS',
  'ALERT_WEBHOOK_URL',
  'HEALTHCHECK_URL',
  'NODE_ENV',
  'PHRASE_CACHE_DIR',
  'PATH',
  'HOME',
  'HOSTNAME',
  ...SECRET_ENV_NAMES,
];

/** POSIX-portable environment variable name (letters, digits, "_"; not starting with a digit). */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** True for a name the operator's secret may not set (a prefix or a whole name above, or one in `also`). */
export function isReservedAgentEnvName(name: string, also: readonly string[] = []): boolean {
  return RESERVED_AGENT_ENV_PREFIXES.some((prefix) => name.startsWith(prefix)) || RESERVED_AGENT_ENV_NAMES.includes(name) || also.includes(name);
}

/**
 * The whole names the converter refuses: RESERVED_AGENT_ENV_NAMES plus `rendered`, the variables
 * the node's compose file sets for the agent image's services (so a variable the renderer gains
 * later is refused without a second list to keep), less what the prefixes already cover.
 */
export function reservedAgentEnvNames(rendered: readonly string[] = []): string[] {
  const names = new Set([...RESERVED_AGENT_ENV_NAMES, ...rendered]);
  return [...names].filter((name) => !RESERVED_AGENT_ENV_PREFIXES.some((prefix) => name.startsWith(prefix))).sort();
}

/**
 * The converter, python3: the SecretString on stdin, NAME='value' lines on stdout. argv: the
 * secret's ARN (for messages), the reserved whole names and prefixes (space-separated), the
 * expected names (space-separated). Exits 1 with one line on stderr; never prints a value.
 */
export const AGENT_ENV_CONVERTER = String.raw`import json, re, sys
arn, reserved, prefixes, expected = sys.argv[1], set(sys.argv[2].split()), tuple(sys.argv[3].split()), sys.argv[4].split()
NAME = re.compile(r'[A-Za-z_][A-Za-z0-9_]*\Z')
def fail(why):
    sys.exit('voice-agent boot: agent env secret %s: %s' % (arn, why))
class Obj(list):
    pass
def pairs(items):
    names = [n for n, _ in items]
    for i, n in enumerate(names):
        if names.index(n) != i:
            fail('key #%d (%s) appears twice' % (i + 1, n if NAME.match(n) else 'not a name'))
    return Obj(items)
try:
    doc = json.loads(sys.stdin.read(), object_pairs_hook=pairs)
except ValueError as e:
    fail('SecretString is not JSON (line %d, column %d); it must be an object such as {"OPENAI_API_KEY": "..."}' % (getattr(e, 'lineno', 0), getattr(e, 'colno', 0)))
if not isinstance(doc, Obj):
    fail('SecretString must be a JSON object of environment variables such as {"OPENAI_API_KEY": "..."}, not a JSON %s' % ('array' if isinstance(doc, list) else type(doc).__name__))
out = []
for i, (name, value) in enumerate(doc, 1):
    if not NAME.match(name):
        fail('key #%d is not an environment variable name (letters, digits and _, not starting with a digit)' % i)
    if name in reserved or name.startswith(prefixes):
        fail('%s is set by the stack itself; remove it from the secret' % name)
    if not isinstance(value, str):
        fail('the value of %s must be a JSON string' % name)
    if not re.fullmatch(r'[ -~]*', value) or "'" in value or '\\' in value:
        fail("the value of %s must be printable ASCII on one line, without ' or \\ (the env file quotes it)" % name)
    out.append("%s='%s'\n" % (name, value))
missing = [n for n in expected if n not in [k for k, _ in doc]]
if missing:
    print('voice-agent boot: warning: agent env secret %s has no %s, which the configured providers need: the agent worker will not start without it' % (arn, ', '.join(missing)), file=sys.stderr)
sys.stdout.write(''.join(out))
`;
