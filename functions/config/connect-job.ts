import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerDeploymentSecrets } from '../adapters/secrets-manager/secrets-manager-deployment-secrets.ts';
import type { DeploymentSecrets } from '../ports/deployment-secrets.ts';
import { clientCredentialsTokenProvider, TokenCache } from '../adapters/graph/client-credentials.ts';
import { GraphDirectorySource } from '../adapters/graph/graph-directory-source.ts';
import { HttpScimTarget } from '../adapters/scim/http-scim-target.ts';
import { publicOnlyAgent } from '../adapters/net/public-only-connections.ts';
import { AgentFetch } from '../adapters/http/http-exchange.ts';
import { createHash } from 'node:crypto';
import { findObjectMapping, mappingUsesRegex, selectedSourceAttributes } from '../domain/mapping/attribute-mapping.ts';
import { loadRegexEngine } from '../domain/mapping/tenant-regex.ts';
import { checkTargetAddress, secretValue } from '../domain/secret-keys.ts';
import { confidentialValues } from '../domain/secret-redaction.ts';
import { deleteThresholdOf } from '../domain/accidental-deletions.ts';
import { FLATTEN_NESTED_GROUPS, jobSettingValue, maxRequestsPerSecondOf } from '../domain/job-settings.ts';
import type { TypeFlow } from '../domain/sync-plan.ts';
import type { SchemaStore } from '../ports/schema-store.ts';
import { effectiveSchema } from '../use-cases/job-commands.ts';
import type { SecretsVault } from '../ports/secrets-vault.ts';
import type { StoredJob, TargetTraits } from '../schemas/stored-job.ts';
import { QuarantineError, type Connection } from '../use-cases/connection.ts';
import type { DeployedEnv } from './env.ts';

/**
 * Builds a run's source and target from the job's template and secrets. Source: the secrets' Source* keys, else
 * the deployment's app registration for the job's tenant, else (local mode) the local directory.
 */
/**
 * SCIM targets for the worker: deployed, every connection is checked for a public address at connect time (see
 * publicOnlyAgent); locally the loopback services are allowed.
 */
export function makeScimTargetFactory(env: DeployedEnv, mode: 'local' | 'deployed') {
  return (
    baseAddress: string,
    token: string,
    settings: { traits?: TargetTraits; maxRequestsPerSecond?: number; confidential?: string[] } = {},
  ) =>
    new HttpScimTarget({
      baseUrl: baseAddress,
      token,
      confidential: settings.confidential ?? [],
      traits: settings.traits ?? {},
      connections: env.SCIM_CONCURRENCY * 2,
      ...(settings.maxRequestsPerSecond === undefined ? {} : { maxRequestsPerSecond: settings.maxRequestsPerSecond }),
      ...(mode === 'deployed' ? { createAgent: publicOnlyAgent } : {}),
    });
}

export function makeConnectJob(
  env: DeployedEnv,
  secrets: SecretsVault,
  schemas: SchemaStore,
  mode: 'local' | 'deployed',
  // Memoised with a TTL and never caching a failure (see the adapter); built once per container.
  deploymentSecrets: DeploymentSecrets = new SecretsManagerDeploymentSecrets({ client: new SecretsManagerClient({}) }),
  // Source tokens outlive the tick: one token request per (tenant, app, secret) and token lifetime per container.
  tokens: TokenCache = new TokenCache(),
) {
  const scimTargetFor = makeScimTargetFactory(env, mode);

  return async function connect(job: StoredJob): Promise<Connection> {
    const pairs = await secrets.read(job.tenantId, job.servicePrincipalId);
    const baseAddress = secretValue(pairs, 'BaseAddress');
    const token = secretValue(pairs, 'SecretToken');
    if (!baseAddress || !token) {
      throw new QuarantineError('The secrets BaseAddress and SecretToken are not set.', 'MissingCredentials');
    }
    const problem = checkTargetAddress(baseAddress, mode);
    if (problem) throw new QuarantineError(`The target address ${problem}.`, 'InvalidTargetAddress');

    const schema = await effectiveSchema(schemas, job);
    const users = findObjectMapping(schema, 'User');
    const groups = findObjectMapping(schema, 'Group');
    const flows: Partial<Record<'User' | 'Group', TypeFlow>> = {};
    if (users) flows.User = { mapping: users.objectMapping, targetObject: users.targetObject, resourceType: 'Users' };
    if (groups) flows.Group = { mapping: groups.objectMapping, targetObject: groups.targetObject, resourceType: 'Groups' };
    if (Object.values(flows).some((flow) => mappingUsesRegex(flow.mapping))) await loadRegexEngine();

    // Every secret value of the job, and the deployment's, is taken out of what the target and directory answer.
    const confidential = confidentialValues(pairs);
    const sourceBase = secretValue(pairs, 'SourceBaseAddress');
    // A directory address a tenant gave is, deployed, only reached at public addresses (checked at connect time).
    const guardedSource = sourceBase && mode === 'deployed' ? new AgentFetch(publicOnlyAgent) : null;
    let baseUrl: string;
    let getAccessToken: (refused?: string) => Promise<string | null>;
    if (sourceBase) {
      const clientId = secretValue(pairs, 'SourceClientId');
      const clientSecret = secretValue(pairs, 'SourceClientSecret');
      baseUrl = sourceBase;
      getAccessToken =
        clientId && clientSecret
          ? clientCredentialsTokenProvider({
              loginBaseUrl: env.SOURCE_LOGIN_BASE_URL,
              tenantId: secretValue(pairs, 'SourceTenantId') ?? job.tenantId,
              clientId,
              clientSecret,
              cache: tokens,
            })
          : async () => null;
    } else if (mode === 'local' && env.LOCAL_SOURCE_BASE_URL) {
      baseUrl = env.LOCAL_SOURCE_BASE_URL;
      getAccessToken = async () => null;
    } else if (env.SOURCE_CLIENT_ID && env.SOURCE_CLIENT_SECRET_ARN) {
      baseUrl = env.SOURCE_GRAPH_BASE_URL;
      const clientSecret = await deploymentSecrets.read(env.SOURCE_CLIENT_SECRET_ARN);
      confidential.push(clientSecret);
      const provider = clientCredentialsTokenProvider({
        loginBaseUrl: env.SOURCE_LOGIN_BASE_URL,
        tenantId: job.tenantId,
        clientId: env.SOURCE_CLIENT_ID,
        clientSecret,
        cache: tokens,
      });
      getAccessToken = provider;
    } else {
      throw new QuarantineError(
        'No source directory credentials: set SourceBaseAddress/SourceClientId/SourceClientSecret secrets or deploy with a source app registration.',
        'MissingSourceCredentials',
      );
    }

    const targetIdentity = createHash('sha256').update(new URL(baseAddress).href).digest('hex').slice(0, 32);
    // What runs learned of a target holds for that target only.
    const target = scimTargetFor(baseAddress, token, {
      traits: job.run.targetIdentity === targetIdentity ? job.run.targetTraits : {},
      maxRequestsPerSecond: maxRequestsPerSecondOf(job.synchronizationJobSettings),
      confidential,
    });
    const source = new GraphDirectorySource({
      baseUrl,
      getAccessToken,
      userAttributes: users ? selectedSourceAttributes(users.objectMapping) : ['id'],
      groupAttributes: groups ? selectedSourceAttributes(groups.objectMapping) : ['id', 'displayName'],
      confidential,
      ...(guardedSource ? { fetch: guardedSource.fetch } : {}),
    });
    const sourceTenant = sourceBase ? (secretValue(pairs, 'SourceTenantId') ?? job.tenantId) : job.tenantId;
    return {
      source,
      notifications: {
        subscriptions: source,
        sourceKey: createHash('sha256').update(`${new URL(baseUrl).href}\n${sourceTenant}`).digest('hex').slice(0, 32),
      },
      target,
      skipOutOfScopeDeletions: secretValue(pairs, 'SkipOutOfScopeDeletions')?.toLowerCase() === 'true',
      // Entra's default scope is "Sync only assigned users and groups": SyncAll must say true to sync everything.
      assignmentScope: secretValue(pairs, 'SyncAll')?.toLowerCase() !== 'true',
      flattenGroups: jobSettingValue(job.synchronizationJobSettings, FLATTEN_NESTED_GROUPS)?.toLowerCase() === 'true',
      deleteThreshold: deleteThresholdOf(job.synchronizationJobSettings, secretValue(pairs, 'SyncNotificationSettings')),
      targetIdentity,
      flows,
      close: async () => {
        await target.close();
        await guardedSource?.close();
      },
    };
  };
}
