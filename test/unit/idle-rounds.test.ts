import { describe, expect, it } from 'vitest';
import { WATERMARK_RENEWAL_MS, watermarkRenewalDue } from '../../functions/domain/idle-rounds.ts';
import { createJob, startJob } from '../../functions/domain/job-lifecycle.ts';
import { findTemplate } from '../../functions/domain/templates.ts';

const T0 = '2026-03-01T10:00:00.000Z';
const job = (watermarkAt: string | null) => {
  const created = createJob({ tenantId: 't', servicePrincipalId: 'sp', template: findTemplate('scim')!, intervalMinutes: 5, randomHex32: 'a'.repeat(32), now: T0 });
  const started = startJob(created, T0);
  return { ...started, run: { ...started.run, watermark: 'delta-0', watermarkAt } };
};
const after = (ms: number) => new Date(Date.parse(T0) + ms).toISOString();

describe('watermarkRenewalDue', () => {
  it('renews a watermark no idle round has written, and one written 12 hours ago or more', () => {
    expect(watermarkRenewalDue(job(null), T0)).toBe(true);
    expect(watermarkRenewalDue(job(T0), after(WATERMARK_RENEWAL_MS))).toBe(true);
    expect(watermarkRenewalDue(job(T0), after(7 * 24 * 3_600_000))).toBe(true);
  });

  it('keeps one written less than 12 hours ago (and one written on a clock ahead of this one)', () => {
    expect(watermarkRenewalDue(job(T0), T0)).toBe(false);
    expect(watermarkRenewalDue(job(T0), after(WATERMARK_RENEWAL_MS - 1))).toBe(false);
    expect(watermarkRenewalDue(job(after(60_000)), T0)).toBe(false);
  });

});
