/** `npm run check:images`: the pre-deploy check of the images a stack's nodes pull, against a stub `docker manifest inspect`. */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PINNED_IMAGES } from '../../components/livekit/index.js';
import { REPO_ROOT } from '../../scripts/lib/stacks.js';

const bin = mkdtempSync(join(tmpdir(), 'check-images-'));
// A registry that knows the images listed in STUB_PRESENT (space-separated), like `docker manifest inspect`.
writeFileSync(
  join(bin, 'docker'),
  '#!/bin/bash\n[[ "$1 $2" == "manifest inspect" ]] || exit 2\nfor i in $STUB_PRESENT; do [[ $i == "$3" ]] && { echo "{}"; exit 0; }; done\necho "no such manifest: $3" >&2\nexit 1\n',
);
chmodSync(join(bin, 'docker'), 0o755);
afterAll(() => rmSync(bin, { recursive: true, force: true }));

function check(args: string[], present: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts', 'check-images.ts'), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { PATH: `${bin}:${process.env.PATH}`, STUB_PRESENT: present.join(' ') },
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('npm run check:images', () => {
  it('the small box: LiveKit, Redis, the Caddy L4 image and LiveKit SIP, all found: exit 0', () => {
    const r = check(['--stack', 'small'], [PINNED_IMAGES.livekit, PINNED_IMAGES.redis, PINNED_IMAGES.caddy, PINNED_IMAGES.sip]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      `ok      ${PINNED_IMAGES.livekit}  (small: livekit-server)`,
      `ok      ${PINNED_IMAGES.redis}  (small: Redis on the node)`,
      `ok      ${PINNED_IMAGES.caddy}  (small: Caddy L4 (default; aws.caddyImage overrides it))`,
      `ok      ${PINNED_IMAGES.sip}  (small: LiveKit SIP)`,
    ]);
  });

  it('a missing Caddy image fails with exit 1, naming it', () => {
    const r = check(['--stack', 'small'], [PINNED_IMAGES.livekit, PINNED_IMAGES.redis, PINNED_IMAGES.sip]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`NOT OK  ${PINNED_IMAGES.caddy}`);
    expect(r.stderr.trim()).toBe(`check:images: 1 image(s) not found or not reachable: ${PINNED_IMAGES.caddy}: no such manifest: ${PINNED_IMAGES.caddy}`);
  });

  it('large pulls neither Redis nor Caddy; a bad flag is exit 2 with one line', () => {
    expect(check(['--stack', 'large'], [PINNED_IMAGES.livekit, PINNED_IMAGES.sip]).code).toBe(0);
    // The SIP image is checked wherever the stack answers phone calls (every example stack).
    const noSip = check(['--stack', 'large'], [PINNED_IMAGES.livekit]);
    expect(noSip.code).toBe(1);
    expect(noSip.stdout).toContain(`NOT OK  ${PINNED_IMAGES.sip}  (large: LiveKit SIP)`);
    const r = check(['--stack', 'nope'], []);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
