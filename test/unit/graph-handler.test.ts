import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { InvalidIntervalError, JobCannotStartError } from '../../functions/domain/job-errors.ts';
import { ConflictError } from '../../functions/errors/service-errors.ts';
import { graphHandler, type ApiEvent } from '../../functions/http/graph-handler.ts';
import { SchedulesUnavailableError } from '../../functions/ports/job-schedules.ts';
import { createJobBodySchema, restartJobBodySchema } from '../../functions/schemas/requests.ts';
import type { JobKey } from '../../functions/schemas/stored-job.ts';
import { startTestIdentityProvider, type TestIdentityProvider } from '../support/access-tokens.ts';

const TENANT = '00000000-0000-4000-8000-000000000001';
const JOB = `scim.${'a'.repeat(32)}.${TENANT}`;

let idp: TestIdentityProvider;
beforeAll(async () => {
  idp = await startTestIdentityProvider();
});
afterAll(async () => {
  await idp?.close();
});

async function eventFor(jobId: string | undefined, body?: string, roles = ['Synchronization.ReadWrite.All']): Promise<ApiEvent> {
  return {
    headers: { authorization: await idp.bearer(TENANT, roles) },
    body,
    requestContext: { requestId: 'r1' },
    pathParameters: { servicePrincipalId: 'sp', ...(jobId === undefined ? {} : { jobId }) },
  } as unknown as ApiEvent;
}

/** A job route whose handler refuses with `refusal` (or answers 204), over a store that has only `existing`. */
function route(existing: string[], refusal: Error | null, exists?: (key: JobKey) => Promise<boolean>) {
  const asked: string[] = [];
  const handler = graphHandler(
    {
      access: 'write',
      body: z.strictObject({ ok: z.boolean() }),
      jobExists:
        exists ??
        (async (jobKey) => {
          asked.push(jobKey.jobId);
          return existing.includes(jobKey.jobId) && jobKey.tenantId === TENANT;
        }),
    },
    async () => {
      if (refusal) throw refusal;
      return { statusCode: 204 };
    },
  );
  const call = async (jobId: string, body = '{"ok":true}', roles?: string[]) => {
    const response = await handler(await eventFor(jobId, body, roles), {} as never);
    return { status: response.statusCode, code: response.body ? JSON.parse(response.body).error.code : null };
  };
  return { call, asked };
}

describe('graphHandler puts existence first on job routes', () => {
  it.each([
    ['a malformed body', null, '{"ok":'],
    ['a body of the wrong shape', null, '{"ok":1}'],
    ['a refused value', new InvalidIntervalError('PT1S'), undefined],
    ['a refused state', new JobCannotStartError('sp', ['SecretToken']), undefined],
    ['a conflict', new ConflictError('busy'), undefined],
  ])('answers 404 for a missing job refused for %s', async (_name, refusal, body) => {
    const { call } = route([], refusal);
    expect(await call(JOB, body)).toEqual({ status: 404, code: 'Request_ResourceNotFound' });
  });

  it('keeps the refusal when the job exists', async () => {
    const { call } = route([JOB], new InvalidIntervalError('PT1S'));
    expect(await call(JOB)).toEqual({ status: 400, code: 'invalidRequest' });
    expect(await call(JOB, '{"ok":')).toEqual({ status: 400, code: 'invalidRequest' });
  });

  it('reads nothing extra for an accepted request', async () => {
    const { call, asked } = route([JOB], null);
    expect(await call(JOB)).toEqual({ status: 204, code: null });
    expect(asked).toEqual([]);
  });

  it('checks the token and the id shape before existence', async () => {
    const { call, asked } = route([], null);
    expect(await call(JOB, '{"ok":true}', ['User.Read.All'])).toEqual({ status: 403, code: 'Authorization_RequestDenied' });
    expect(await call('not-a-job-id', '{"ok":')).toEqual({ status: 400, code: 'invalidRequest' });
    expect(asked).toEqual([]);
  });

  it('answers the refusal when existence cannot be checked', async () => {
    const { call } = route([], null, async () => {
      throw new Error('DynamoDB is down');
    });
    expect(await call(JOB, '{"ok":')).toEqual({ status: 400, code: 'invalidRequest' });
  });

  it('does not turn a server error into a 404', async () => {
    const { call, asked } = route([], new SchedulesUnavailableError('down'));
    expect(await call(JOB)).toEqual({ status: 503, code: 'serviceNotAvailable' });
    expect(asked).toEqual([]);
  });
});

describe('path parameters as API Gateway hands them over (still percent-encoded)', () => {
  it('answers a malformed percent escape with a Graph 400, never a 500', async () => {
    const handler = graphHandler({ access: 'read' }, async () => ({ statusCode: 204 }));
    const result = (await handler(await eventFor('scim.%zz'), {} as never)) as { statusCode: number; body: string };
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body).error).toMatchObject({ code: 'invalidRequest', message: expect.stringMatching(/percent escape/) });
  });
});

describe('request-body refusals', () => {
  // zod/mini carries no messages of its own: these are the English locale's, which the handler installs.
  it.each([
    [createJobBodySchema, '{"templateId":""}', "Invalid request body at 'templateId': Too small: expected string to have >=1 characters."],
    [createJobBodySchema, '{"templateId":5}', "Invalid request body at 'templateId': Invalid input: expected string, received number."],
    [createJobBodySchema, '{"templateId":"scim","extra":1}', 'Invalid request body: Unrecognized key: "extra".'],
    [restartJobBodySchema, '{"criteria":{"resetScope":"x","flags":1}}', "Invalid request body at 'criteria': Unrecognized key: \"flags\"."],
  ])('say what was expected (%#)', async (schema, body, message) => {
    const handler = graphHandler({ access: 'write', body: schema }, async () => ({ statusCode: 204 }));
    const result = (await handler(await eventFor(undefined, body), {} as never)) as { statusCode: number; body: string };
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body).error).toMatchObject({ code: 'invalidRequest', message });
  });
});
