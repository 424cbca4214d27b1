/**
 * What a LiveKit node runs for SIP around the SIP service itself, pure: the names of the stack's
 * SIP parameter and files on the node, the SIP credentials secret's format, the boot lines that
 * write the TLS certificate, and the body of sip-watch.sh, which keeps LiveKit's trunks and
 * dispatch rule in step with the stack (`voice-agent sip-sync`, agent/src/sip/).
 *
 * Why a watcher and not user data: the single node (small, mid) never applies a user data change
 * (components/aws/livekit-node.ts), and a large node would be replaced for one. The declaration
 * lives in an SSM parameter and the credentials in a Secrets Manager secret; sip-watch compares
 * both with what it last applied and runs sip-sync when either changed, and once after every start
 * of the node's unit (boot.sh clears its marker), so LiveKit converges at boot and within a minute
 * of a `pulumi up` that changed numbers, ranges, trunks or credentials.
 */
import { ConfigError } from '../config.js';
import { NODE_DIR, NODE_FILES } from '../livekit/layout.js';
import { LIVEKIT_HTTP_PORT } from '../livekit/ports.js';
import { SIP_SECRET_KEYS } from './config.js';
import { SIP_FILES } from './sip-yaml.js';

/** The SSM parameter (String, standard tier) holding the stack's SIP declaration as JSON. */
export function sipDeclarationParameterName(stack: string): string {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(stack)) throw new Error(`stack must be 1-64 letters, digits, "_", "." or "-", got "${stack}"`);
  return `/voice-agent/${stack}/sip-declaration`;
}

/** The systemd timer and service running sip-watch.sh on LiveKit nodes. */
export const SIP_WATCH_UNIT = 'voice-agent-sip-watch';

/** Files on the node around sip-sync. */
export const SIP_NODE_FILES = {
  /** Rendered: the watcher. */
  watchScript: `${NODE_DIR}/sip-watch.sh`,
  /** The declaration sip-sync reads (mode 0644: no secret in it; the agent image runs as user node). */
  declaration: `${NODE_DIR}/sip-declaration.json`,
  /** Where the sip-sync container reads it. */
  containerDeclaration: '/etc/voice-agent/sip-declaration.json',
  /** sip-sync's environment for `docker run --env-file` (NAME=value, literal), 0600, removed after the run. */
  syncEnv: `${NODE_FILES.runDir}/sip-sync.env`,
  /** Fingerprint of the declaration and credentials version last applied; boot.sh removes it. */
  applied: `${NODE_FILES.runDir}/sip-sync.applied`,
} as const;

/** The variables sip-sync reads the credentials from (agent/src/sip/config.ts), by config key. */
export const SIP_CREDENTIAL_VARIABLES: Readonly<Record<(typeof SIP_SECRET_KEYS)[keyof typeof SIP_SECRET_KEYS], string>> = {
  [SIP_SECRET_KEYS.inboundUsername]: 'SIP_INBOUND_USERNAME',
  [SIP_SECRET_KEYS.inboundPassword]: 'SIP_INBOUND_PASSWORD',
  [SIP_SECRET_KEYS.outboundUsername]: 'SIP_OUTBOUND_USERNAME',
  [SIP_SECRET_KEYS.outboundPassword]: 'SIP_OUTBOUND_PASSWORD',
};

/** Printable ASCII without space, quotes or backslash: survives env files and LiveKit's JSON unchanged. */
const CREDENTIAL_VALUE = /^[!#-&(-[\]-~]{1,128}$/;

/**
 * The SIP credentials secret's SecretString: a comment line, then one `SIP_..._USERNAME=value` /
 * `SIP_..._PASSWORD=value` line per credential set (the format of `docker run --env-file`, read
 * literally). The secret exists whenever SIP is on, with no credential lines when none is set, so
 * a node's user data can name it for good. Throws a ConfigError naming the key, never the value.
 */
export function sipCredentialsSecretString(values: Readonly<Partial<Record<keyof typeof SIP_CREDENTIAL_VARIABLES, string>>>): string {
  const lines = ['# SIP credentials of voice-agent-infra (sip-watch hands them to voice-agent sip-sync)'];
  for (const [key, variable] of Object.entries(SIP_CREDENTIAL_VARIABLES)) {
    const value = values[key as keyof typeof SIP_CREDENTIAL_VARIABLES];
    if (value === undefined) continue;
    if (!CREDENTIAL_VALUE.test(value)) {
      throw new ConfigError(key, '(secret, not shown)', 'must be 1-128 printable ASCII characters without spaces, quotes or backslashes');
    }
    lines.push(`${variable}=${value}`);
  }
  return `${lines.join('\n')}\n`;
}

/** What sip-watch needs to know about the node. */
export interface SipWatchArgs {
  /** The declaration parameter and its region. */
  declarationParameter: { name: string; region: string };
  /** Secrets Manager ARN of the SIP credentials secret (sipCredentialsSecretString). */
  credentialsSecretArn: string;
  /** Its region (the ARN's). */
  credentialsRegion: string;
  /** The agent image: pinned (autoscaled node), or `image-env` to read AGENT_IMAGE from the single node's image.env. */
  agentImage: string | 'image-env';
  /** LIVEKIT_API_KEY (an identifier). */
  livekitApiKey: string;
  /** Send sip-sync's output to CloudWatch Logs too (the containers' log group). */
  cloudWatchLogs?: { group: string; region: string };
}

/**
 * The body of sip-watch.sh, after the shared shell functions (fail, read_parameter, valid_image,
 * ecr_login) and with ROOT and RUN set. Exit 0 when nothing changed or the sync succeeded; 1 when
 * it failed (the timer tries again a minute later).
 */
export function sipWatchBody(args: SipWatchArgs): string[] {
  const q = sq;
  const f = SIP_NODE_FILES;
  const node = (path: string) => path.replace(NODE_DIR, '$ROOT');
  const image =
    args.agentImage === 'image-env'
      ? [
          `AGENT_IMAGE=$(sed -n "s/^AGENT_IMAGE='\\(.*\\)'$/\\1/p" "${node(NODE_FILES.imageEnv)}" 2>/dev/null || true)`,
          "valid_image \"$AGENT_IMAGE\" || fail 'no pinned agent image in image.env yet (boot.sh writes it)'",
        ]
      : [`AGENT_IMAGE=${q(args.agentImage)}`];
  const logging = args.cloudWatchLogs
    ? [
        `--log-driver awslogs --log-opt awslogs-region=${q(args.cloudWatchLogs.region)} --log-opt awslogs-group=${q(args.cloudWatchLogs.group)}`,
        "--log-opt 'tag=sip-sync/{{.ID}}' --log-opt mode=non-blocking",
      ].join(' ')
    : '';
  const secret = `--region ${q(args.credentialsRegion)} --secret-id ${q(args.credentialsSecretArn)}`;
  return [
    `declaration=$(read_parameter ${q(args.declarationParameter.name)} ${q(args.declarationParameter.region)})`,
    `[[ $declaration == '{'*'}' ]] || fail ${q(`the SIP declaration parameter ${args.declarationParameter.name} holds no JSON object`)}`,
    `version=$(aws secretsmanager get-secret-value ${secret} --query VersionId --output text) || fail ${q(`cannot read the SIP credentials secret ${args.credentialsSecretArn} (instance role, network?)`)}`,
    '# What was last applied: the declaration and the credentials version. Unchanged: nothing to do.',
    `wanted=$(printf '%s\\n%s\\n' "$declaration" "$version" | sha256sum)`,
    'wanted=${wanted%% *}',
    `if [[ -f "${node(f.applied)}" && $(<"${node(f.applied)}") == "$wanted" ]]; then exit 0; fi`,
    ...image,
    `credentials=$(aws secretsmanager get-secret-value ${secret} --version-id "$version" --query SecretString --output text) || fail 'cannot read the SIP credentials'`,
    '# sip-sync reads REDIS_URL and LIVEKIT_API_SECRET as the other roles do (agent.env), and the credentials.',
    '{',
    `  sed -n "s/^\\(REDIS_URL\\|LIVEKIT_API_SECRET\\)='\\(.*\\)'$/\\1=\\2/p" "$RUN/agent.env"`,
    `  printf '%s\\n' ${q(`LIVEKIT_URL=http://127.0.0.1:${LIVEKIT_HTTP_PORT}`)} ${q(`LIVEKIT_API_KEY=${args.livekitApiKey}`)} ${q(`SIP_DECLARATION_FILE=${f.containerDeclaration}`)}`,
    '  while IFS= read -r line; do',
    "    [[ -z $line || $line == '#'* ]] && continue",
    "    [[ $line =~ ^SIP_(INBOUND|OUTBOUND)_(USERNAME|PASSWORD)=[[:graph:]]+$ ]] || fail 'the SIP credentials secret holds a line other than SIP_(INBOUND|OUTBOUND)_(USERNAME|PASSWORD)=value'",
    "    printf '%s\\n' \"$line\"",
    '  done <<<"$credentials"',
    `} >"${node(f.syncEnv)}.tmp"`,
    `mv -f "${node(f.syncEnv)}.tmp" "${node(f.syncEnv)}"`,
    `printf '%s\\n' "$declaration" >"${node(f.declaration)}.tmp"`,
    `chmod 644 "${node(f.declaration)}.tmp"`,
    `mv -f "${node(f.declaration)}.tmp" "${node(f.declaration)}"`,
    'ecr_login "$AGENT_IMAGE"',
    'status=0',
    `docker run --rm --network host --env-file "${node(f.syncEnv)}" --volume "${node(f.declaration)}:${f.containerDeclaration}:ro"${logging ? ` ${logging}` : ''} "$AGENT_IMAGE" sip-sync || status=$?`,
    `rm -f "${node(f.syncEnv)}"`,
    '[[ $status -eq 0 ]] || fail "sip-sync exited $status; trying again in a minute"',
    `printf '%s\\n' "$wanted" >"${node(f.applied)}"`,
  ];
}

/**
 * boot.sh lines for SIP over TLS (after the `fail` function, with RUN set): read the certificate
 * secret ({"certificate": "<PEM chain>", "privateKey": "<PEM key>"}), write cert.pem and key.pem
 * (0600, in a 0700 directory) for the SIP container. python3 parses the JSON: it is on every
 * Ubuntu image (cloud-init runs on it); never echoes the values.
 */
export function sipTlsBootLines(args: { certificateSecretArn: string; region: string }): string[] {
  const dir = SIP_FILES.tlsDir.replace(NODE_DIR, '$ROOT');
  const python = [
    'import json, os, sys',
    'd = json.load(sys.stdin)',
    'c, k = d.get("certificate"), d.get("privateKey")',
    'ok = isinstance(c, str) and "-----BEGIN CERTIFICATE-----" in c and isinstance(k, str) and "PRIVATE KEY-----" in k',
    'ok or sys.exit(1)',
    'for name, text in (("cert.pem", c), ("key.pem", k)):',
    '    tmp = os.path.join(sys.argv[1], name + ".tmp")',
    '    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)',
    '    os.write(fd, (text.rstrip("\\n") + "\\n").encode())',
    '    os.close(fd)',
    '    os.replace(tmp, os.path.join(sys.argv[1], name))',
  ].join('\n');
  return [
    '# SIP over TLS: the certificate and key from Secrets Manager, for the SIP container (0600).',
    "tls_json=''",
    'for attempt in 1 2 3 4 5; do',
    `  tls_json=$(aws secretsmanager get-secret-value --region ${sq(args.region)} --secret-id ${sq(args.certificateSecretArn)} --query SecretString --output text) && break`,
    "  tls_json=''",
    '  sleep $((attempt * 3))',
    'done',
    `[[ -n $tls_json ]] || fail ${sq(`SIP TLS: cannot read secret ${args.certificateSecretArn} (instance role, network?)`)}`,
    `mkdir -p "${dir}"`,
    `chmod 700 "${dir}"`,
    `printf '%s' "$tls_json" | python3 -c ${sq(python)} "${dir}" || fail ${sq(`SIP TLS: secret ${args.certificateSecretArn} must be JSON {"certificate": "<PEM chain>", "privateKey": "<PEM key>"}`)}`,
    'unset tls_json',
  ];
}

/** The oneshot service the timer runs: only while the node's unit runs, as long as sip-sync may wait. */
export function renderSipWatchService(args: { systemdUnit: string; waitSeconds?: number }): string {
  return [
    '[Unit]',
    "Description=voice-agent-infra: keep LiveKit's SIP trunks and dispatch rule in step with the stack (sip-sync)",
    `Requisite=${args.systemdUnit}`,
    `After=${args.systemdUnit}`,
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${SIP_NODE_FILES.watchScript}`,
    // sip-sync waits up to SIP_SYNC_WAIT_SECONDS (300) for LiveKit and the lock; the image may need a pull.
    `TimeoutStartSec=${(args.waitSeconds ?? 300) + 300}`,
    '',
  ].join('\n');
}

/** Every minute, from two minutes after boot; after a failure too (the service is then inactive). */
export const SIP_WATCH_TIMER = [
  '[Unit]',
  "Description=voice-agent-infra: sync LiveKit's SIP objects when the declaration or credentials change",
  '',
  '[Timer]',
  'OnBootSec=2min',
  'OnUnitInactiveSec=1min',
  '',
  '[Install]',
  'WantedBy=timers.target',
  '',
].join('\n');

/** Single-quotes a value for bash. */
function sq(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
