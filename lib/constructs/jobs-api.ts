import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { apiRoutes, fallbackHandler } from '../../functions/api/routes.ts';
import type { JobData } from './job-data.ts';
import type { SecretsKey } from './secrets-key.ts';
import { ServiceFunction, type FunctionEnvironment } from './service-function.ts';
import type { SyncWorker } from './sync-worker.ts';

/** What one API function may touch; each entry maps to one explicit grant. */
type Access =
  | 'readJobs'
  | 'writeJobs'
  | 'encryptSecrets'
  | 'writeSchedules'
  | 'deleteSchedules'
  | 'createPurgeSchedules'
  | 'startSync';

/**
 * The grants of every entry file under functions/api/. A handler missing here fails the synth, so a new route cannot
 * ship with permissions nobody decided on.
 */
export const apiHandlerAccess: Readonly<Record<string, readonly Access[]>> = {
  'jobs-list': ['readJobs'],
  'jobs-get': ['readJobs'],
  'jobs-schema-get': ['readJobs'],
  'jobs-schema-put': ['readJobs', 'writeJobs'],
  'jobs-schema-delete': ['readJobs', 'writeJobs'],
  'jobs-schema-functions': ['readJobs'],
  'jobs-schema-filter-operators': ['readJobs'],
  'jobs-schema-function-call': ['readJobs'],
  'jobs-schema-parse-expression': ['readJobs'],
  'templates-list': ['readJobs'],
  'templates-get': ['readJobs'],
  'jobs-create': ['readJobs', 'writeJobs'],
  'secrets-put': ['writeJobs', 'encryptSecrets'],
  'jobs-update': ['readJobs', 'writeJobs', 'writeSchedules'],
  'jobs-pause': ['readJobs', 'writeJobs', 'writeSchedules'],
  'jobs-start': ['readJobs', 'writeJobs', 'writeSchedules', 'startSync'],
  'jobs-restart': ['readJobs', 'writeJobs', 'writeSchedules', 'startSync'],
  // The job's state is purged by the worker; the API only records that and creates the schedule that drives it.
  'jobs-delete': ['readJobs', 'writeJobs', 'deleteSchedules', 'createPurgeSchedules'],
  // Saved credentials are checked by the worker (the only holder of kms:Decrypt), invoked synchronously.
  'jobs-validate-credentials': ['readJobs', 'startSync'],
  'jobs-provision-on-demand': ['readJobs', 'startSync'],
  'audit-logs-provisioning': ['readJobs'],
  // The status page's HTML shell: the same static document for everyone, read from nowhere.
  'status-page': [],
  // The OpenAPI document: the committed file, bundled into the function.
  'openapi-document': [],
  // Graph's webhook: reads a subscription's owner and its jobs, and asks the worker to run them.
  'change-notifications': ['readJobs', 'startSync'],
  [fallbackHandler]: [],
};

/**
 * Why no route has an API Gateway authorizer (cdk-nag APIG4). The token is verified in the function: an HTTP API
 * authorizer's 401 is `{"message":"Unauthorized"}`, which no Graph SDK reads as an error, and a JWT authorizer
 * accepts one issuer, which is one Entra tenant.
 */
const verifiedInFunction =
  "The function verifies the Entra ID access token first thing (functions/http/graph-handler.ts): signature against the " +
  "tenant's key set, issuer matching the token's tid, audience, expiry, nbf, RS256 only, the tenant and app allow-lists; " +
  "refusals are Graph error bodies (401 InvalidAuthenticationToken with WWW-Authenticate, 403 Authorization_RequestDenied), " +
  'which an HTTP API authorizer cannot give, and a JWT authorizer accepts one issuer (one tenant).';

/** Why each route without a token may go without one. */
const unauthenticatedBecause: Readonly<Record<string, string>> = {
  'status-page':
    'The status page shell: a browser navigation carries no bearer token, and the document holds no data; ' +
    'its script reads everything it shows from routes that verify a token.',
  'openapi-document':
    'The OpenAPI document of this API: the same file for every caller (it is in the public repository), bundled ' +
    'into the function; it holds no tenant data, and tools that read it (SDK generators, API explorers) hold no token.',
  'change-notifications':
    "Graph's change-notification webhook: Graph sends no bearer token; every notification must carry its " +
    'subscription\'s clientState secret, checked against its stored hash, and can only make a job run sooner.',
};

/** Requests per second (steady, and burst) the default stage accepts across all callers before answering 429. */
export const apiThrottle = { rateLimit: 50, burstLimit: 100 } as const;

/** Who may call: the AUTH_* environment of functions/config/access-token.ts (tokens of stack parameters allowed). */
export interface ApiAccess {
  /** `any`, or admitted tenant ids, comma-separated. */
  AUTH_TENANTS: string;
  /** Accepted token audiences (`aud`), comma-separated. */
  AUTH_AUDIENCE: string;
  /** Admitted client app ids, comma-separated. */
  AUTH_APP_IDS?: string;
  AUTH_LOGIN_BASE_URL?: string;
}

/** Props of {@link JobsApi}. */
export interface JobsApiProps {
  access: ApiAccess;
  environment: FunctionEnvironment;
  data: JobData;
  secrets: SecretsKey;
  sync: SyncWorker;
}

/**
 * The Graph synchronization-job API: an HTTP API whose every route, the catch-all included, requires an Entra ID
 * access token (verified by the function) but the status page's data-free HTML shell at `GET /`, the OpenAPI
 * document at `GET /openapi.json` and Graph's webhook (see routes.ts), one Lambda per entry in
 * functions/api/routes.ts with only the grants listed in {@link apiHandlerAccess}, throttling and JSON access logs on
 * the default stage.
 */
export class JobsApi extends Construct {
  readonly httpApi: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly accessLogs: logs.LogGroup;
  /** The API's functions by handler name (entry file name without .ts). */
  readonly functions: ReadonlyMap<string, ServiceFunction>;

  constructor(scope: Construct, id: string, props: JobsApiProps) {
    super(scope, id);

    this.httpApi = new apigw.HttpApi(this, 'HttpApi', {
      description: 'Microsoft Graph synchronization jobs',
      createDefaultStage: false,
    });

    // Kept after the stack is deleted: the record of who called the API is wanted most after an incident.
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: apiThrottle,
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            time: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            userAgent: '$context.identity.userAgent',
            method: '$context.httpMethod',
            path: '$context.path',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });

    const functions = new Map<string, ServiceFunction>();
    const functionFor = (handler: string): ServiceFunction => {
      const existing = functions.get(handler);
      if (existing) return existing;
      const unauthenticated = apiRoutes.some((route) => route.handler === handler && route.unauthenticated);
      const created = this.createFunction(handler, props, unauthenticated ? {} : props.access);
      functions.set(handler, created);
      return created;
    };
    for (const route of apiRoutes) {
      const fn = functionFor(route.handler);
      const added = this.httpApi.addRoutes({
        path: route.path,
        methods: [apigw.HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${route.handler}-${route.method}`, fn.function),
      });
      const reason = route.unauthenticated ? (unauthenticatedBecause[route.handler] ?? 'missing reason') : verifiedInFunction;
      for (const httpRoute of added) Validations.of(httpRoute).acknowledge({ id: 'AwsSolutions-APIG4', reason });
    }
    const fallback = this.httpApi.addRoutes({
      path: '/{proxy+}',
      methods: [apigw.HttpMethod.ANY],
      integration: new HttpLambdaIntegration(`${fallbackHandler}-ANY`, functionFor(fallbackHandler).function),
    });
    for (const httpRoute of fallback) Validations.of(httpRoute).acknowledge({ id: 'AwsSolutions-APIG4', reason: verifiedInFunction });
    this.functions = functions;
  }

  /** Base URL of the API (the default stage). */
  get url(): string {
    return this.stage.url;
  }

  private createFunction(handler: string, props: JobsApiProps, access: Partial<ApiAccess>): ServiceFunction {
    const grantsOf = apiHandlerAccess[handler];
    if (grantsOf === undefined) {
      throw new Error(`functions/api/${handler}.ts has a route but no entry in apiHandlerAccess`);
    }
    const fn = new ServiceFunction(this, handler, {
      entry: `functions/api/${handler}.ts`,
      serviceName: handler,
      description: `Graph synchronization API: ${handler}`,
      environment: { ...props.environment, ...access },
      timeout: Duration.seconds(10),
      memorySize: 512,
    });
    const grants: Record<Access, () => void> = {
      readJobs: () => props.data.grantRead(fn.role),
      writeJobs: () => props.data.grantWrite(fn.role),
      encryptSecrets: () => props.secrets.grantEncrypt(fn.role),
      writeSchedules: () => props.sync.grantScheduleWrite(fn),
      deleteSchedules: () => props.sync.grantScheduleDelete(fn),
      createPurgeSchedules: () => props.sync.grantPurgeScheduleCreate(fn),
      startSync: () => props.sync.grantStart(fn),
    };
    for (const grant of grantsOf) grants[grant]();
    return fn;
  }
}
