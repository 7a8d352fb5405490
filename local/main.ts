import { localDataDir, parseLocalEnv } from './local-config.ts';
import { LOCAL_TENANT_ID } from './local-auth.ts';
import { startLocalStack } from './stack.ts';
import { DEMO_SERVICE_PRINCIPAL_ID } from './directory/demo-seed.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const env = parseLocalEnv();
const dataDir = localDataDir();
let stack: Awaited<ReturnType<typeof startLocalStack>>;
try {
  stack = await startLocalStack({ ...env, dataDir, statusPageToken: true, changeNotifications: true });
} catch (error) {
  const { code, message } = error as NodeJS.ErrnoException;
  console.error(
    code === 'EADDRINUSE'
      ? `Could not start: ${message}. Is another \`npm start\` running? Ports can be changed with PORT, HTTPS_PORT, DYNAMODB_PORT, SOURCE_PORT, SCIM_PORT, SCHEDULER_PORT, LAMBDA_PORT and LOGIN_PORT.`
      : `Could not start: ${message}`,
  );
  process.exit(1);
}

const httpsBase = stack.httpsApiUrl.replace(/\/v1\.0$/, '');
console.log(`graph-sync-jobs is running (data in ${dataDir})

  Graph API        ${stack.apiUrl}
                   ${stack.httpsApiUrl}  (https, certificate from the local CA ${stack.caFile})
  Status page      ${stack.statusPageUrl}  (opened on this machine, it brings its own read-only token)
  DynamoDB         ${stack.dynamoDbEndpoint}  (table ${stack.tableName})
  Scheduler        ${stack.schedulerUrl}  (group ${stack.scheduleGroup})
  Local directory  ${stack.directoryUrl}
  Local sign-in    ${stack.identity.loginBaseUrl}  (key sets as at login.microsoftonline.com; tokens of ${env.LOCAL_TENANTS === 'any' ? 'any tenant' : `tenants ${env.LOCAL_TENANTS}`} accepted)
  Local SCIM app   ${stack.scimUrl}  (bearer token: ${stack.scimToken}; ${env.LOCAL_SCIM_PROFILE} rules${env.LOCAL_SCIM_RATE_LIMIT === undefined ? '' : `; 429 above ${env.LOCAL_SCIM_RATE_LIMIT} requests/s`})
  Notifications    the local directory's change notifications go to ${stack.apiUrl.replace(/\/v1\.0$/, '')}/notifications (a change runs its jobs in seconds)
  Demo app         service principal ${DEMO_SERVICE_PRINCIPAL_ID} (its jobs sync what is assigned to it)

Get a token (tenant ${LOCAL_TENANT_ID}):
  TOKEN=$(npm run --silent token)
Then, for example:
  curl -s -H "Authorization: Bearer $TOKEN" ${stack.apiUrl}/servicePrincipals/${DEMO_SERVICE_PRINCIPAL_ID}/synchronization/templates

The Graph SDKs send a token only over https. Trust the local CA in the shell that runs your tool:
  export NODE_EXTRA_CA_CERTS=${stack.caFile}
Then point the SDK at the https address (the token is whatever your authProvider returns, e.g. $TOKEN):
  @microsoft/microsoft-graph-client (v3)  Client.init({ baseUrl: '${httpsBase}', customHosts: new Set(['${new URL(httpsBase).hostname}']), authProvider })
                                          without /v1.0: the SDK adds its version, .api('/servicePrincipals/…')
  @microsoft/msgraph-sdk (Kiota)          baseUrl '${stack.httpsApiUrl}' (with /v1.0), allowed host '${new URL(httpsBase).hostname}'

Ctrl-C stops it.`);
if (stack.releasedLeases > 0) console.log(`Resuming ${stack.releasedLeases} job run(s) the previous process left unfinished.`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping…');
    stack.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
