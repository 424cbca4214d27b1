import { afterEach, describe, expect, it } from 'vitest';
import { Harness } from './helpers/harness.js';
import { startRoles, type InProcessRoles } from './helpers/roles.js';

describe('Redis configuration checks', () => {
  let h: Harness | undefined;
  let roles: InProcessRoles | undefined;
  afterEach(async () => {
    await roles?.close();
    await h?.close();
  });

  it('warns loudly at start when maxmemory-policy is not noeviction, and when AOF is off', async () => {
    h = await new Harness().start({ ownRedis: true }); // its configuration is changed below
    await h.admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    await h.admin.config('SET', 'appendonly', 'no');
    roles = await startRoles(h, { FLEET_CAPACITY: '1' }, 1);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && roles.logs.records.filter((r) => r.level === 'warn').length < 4) await new Promise((r) => setTimeout(r, 50));
    const warnings = roles.logs.records.filter((r) => r.level === 'warn').map((r) => String(r.msg));
    // Both roles check: intake and dispatcher.
    expect(warnings.filter((m) => m.includes('MAXMEMORY-POLICY IS ALLKEYS-LRU'))).toHaveLength(2);
    expect(warnings.filter((m) => m.includes('AOF is off'))).toHaveLength(2);
  });

  it('says nothing when Redis is configured for the queue', async () => {
    h = await new Harness().start({ ownRedis: true }); // started with noeviction and AOF everysec
    roles = await startRoles(h, { FLEET_CAPACITY: '1' }, 1);
    await new Promise((r) => setTimeout(r, 500));
    expect(roles.logs.records.filter((r) => r.level === 'warn')).toEqual([]);
  });
});
