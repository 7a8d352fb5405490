import { describe, expect, it } from 'vitest';
import { deployedEnvForTests } from '../support/deployed-env.ts';
import { makeConnectJob } from '../../functions/config/connect-job.ts';
import { createJob } from '../../functions/domain/job-lifecycle.ts';
import { findObjectMapping } from '../../functions/domain/mapping/attribute-mapping.ts';
import { scimDefaultSchema } from '../../functions/domain/mapping/scim-default-schema.ts';
import { filterSchema, type ObjectMapping, type SynchronizationSchema } from '../../functions/domain/mapping/schema.ts';
import { RegexEngineNotLoadedError, tenantRegex } from '../../functions/domain/mapping/tenant-regex.ts';
import { findTemplate } from '../../functions/domain/templates.ts';

// In the order written: the first connect leaves the engine unloaded, the second loads it (for this file).
describe("the worker's connect and the regular expression engine", () => {
  const users = findObjectMapping(scimDefaultSchema, 'User')!.objectMapping;
  const scopedBy = (operatorName: string): ObjectMapping => ({
    ...users,
    scope: filterSchema.parse({ groups: [{ name: 'g', clauses: [{ sourceOperandName: 'department', operatorName, targetOperand: { values: ['^Sales'] } }] }] }),
  });

  /** The worker's connect, local, for a job whose stored schema is the default one with the User mapping given. */
  async function connectWith(userMapping: ObjectMapping): Promise<void> {
    const env = deployedEnvForTests({ LOCAL_SOURCE_BASE_URL: 'http://127.0.0.1:1/v1.0' });
    const vault = {
      put: async () => undefined,
      keys: async () => [],
      remove: async () => undefined,
      read: async () => [
        { key: 'BaseAddress', value: 'http://127.0.0.1:1/scim/v2' },
        { key: 'SecretToken', value: 't' },
      ],
    };
    const schema: SynchronizationSchema = {
      ...scimDefaultSchema,
      synchronizationRules: scimDefaultSchema.synchronizationRules.map((rule) => ({
        ...rule,
        objectMappings: rule.objectMappings.map((mapping) => (mapping.sourceObjectName === 'User' ? userMapping : mapping)),
      })),
    };
    const schemas = { get: async () => schema, put: async () => undefined, removeOthers: async () => undefined };
    const job = createJob({ tenantId: 't1', servicePrincipalId: 'sp', template: findTemplate('scim')!, intervalMinutes: 5, randomHex32: 'a'.repeat(32), now: '2026-01-01T00:00:00.000Z' });
    const connection = await makeConnectJob(env, vault, schemas, 'local')({ ...job, schemaVersion: 1 });
    await connection.close();
  }

  it("is not loaded by the worker's connect for a job whose mappings have none", async () => {
    await connectWith(scopedBy('EQUALS'));
    expect(() => tenantRegex('a+', 'test')).toThrow(RegexEngineNotLoadedError);
  });

  it("is loaded by the worker's connect for a job whose mappings have one, before the run evaluates them", async () => {
    await connectWith(scopedBy('REGEX_MATCH'));
    expect(tenantRegex('a+', 'test').test('caab')).toBe(true);
  });
});
