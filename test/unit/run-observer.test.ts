import { Logger } from '@aws-lambda-powertools/logger';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeRunObserver } from '../../functions/config/worker-services.ts';
import type { StoredJob } from '../../functions/schemas/stored-job.ts';

afterEach(() => vi.restoreAllMocks());

/** The JSON lines a real Powertools logger writes while `act` runs. */
function logged(act: (logger: Logger) => void): Record<string, unknown>[] {
  const lines: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  act(new Logger({ serviceName: 'test', logLevel: 'WARN' }));
  vi.restoreAllMocks();
  return lines.join('').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

const job = { id: 'job-1' } as StoredJob;

describe('the worker run observer', () => {
  it('keeps the cause of a quarantine in the log line (the logger reserves `message` for its own)', () => {
    const [line] = logged((logger) =>
      makeRunObserver(logger).quarantined!(job, { code: 'TargetUnavailable', message: 'GET /Users: the target refused the credentials (401)', tenantActionable: true }, 'EncounteredQuarantineException'),
    );
    expect(line).toMatchObject({ message: 'Job quarantined', jobId: 'job-1', code: 'TargetUnavailable', quarantineReason: 'EncounteredQuarantineException' });
    expect(line!.reason).toBe('GET /Users: the target refused the credentials (401)');
  });

  it('logs what the target answered when it refused objects', () => {
    const [line] = logged((logger) => makeRunObserver(logger).refused!(job, 3, "User u1: POST /Users answered 409: userName already exists"));
    expect(line).toMatchObject({ message: 'Objects refused by the target', count: 3, first: expect.stringContaining('userName already exists') });
  });
});
