import {
  AllowedHostsValidator,
  BaseBearerTokenAuthenticationProvider,
  Duration,
  HttpMethod,
  RequestInformation,
  type AccessTokenProvider,
  type ErrorMappings,
  type Parsable,
  type ParsableFactory,
  type ParseNode,
  type ModelSerializerFunction,
  type SerializationWriter,
} from '@microsoft/kiota-abstractions';
import { GraphRequestAdapter } from '@microsoft/msgraph-sdk';
import {
  createAttributeMappingFunctionSchemaFromDiscriminatorValue,
  createFilterOperatorSchemaFromDiscriminatorValue,
  createParseExpressionResponseFromDiscriminatorValue,
  createProvisioningObjectSummaryCollectionResponseFromDiscriminatorValue,
  createStringKeyStringValuePairFromDiscriminatorValue,
  createSynchronizationJobCollectionResponseFromDiscriminatorValue,
  createSynchronizationJobFromDiscriminatorValue,
  createSynchronizationSchemaFromDiscriminatorValue,
  createSynchronizationTemplateCollectionResponseFromDiscriminatorValue,
  createSynchronizationTemplateFromDiscriminatorValue,
  serializeExpressionInputObject,
  serializeSynchronizationJob,
  serializeSynchronizationJobApplicationParameters,
  serializeSynchronizationJobRestartCriteria,
  serializeSynchronizationSchema,
  serializeSynchronizationSecretKeyStringValuePair,
  type AttributeMappingFunctionSchema,
  type ExpressionInputObject,
  type FilterOperatorSchema,
  type ParseExpressionResponse,
  type ProvisioningObjectSummaryCollectionResponse,
  type StringKeyStringValuePair,
  type SynchronizationJob,
  type SynchronizationJobApplicationParameters,
  type SynchronizationJobCollectionResponse,
  type SynchronizationJobRestartCriteria,
  type SynchronizationSchema,
  type SynchronizationSecretKeyStringValuePair,
  type SynchronizationTemplate,
  type SynchronizationTemplateCollectionResponse,
} from '@microsoft/msgraph-sdk/models/index.js';
import { createODataErrorFromDiscriminatorValue, type ODataError } from '@microsoft/msgraph-sdk/models/oDataErrors/index.js';
import { PageIterator, type PageCollection } from '@microsoft/msgraph-sdk-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpsTestStack, trustCaInThisProcess, type HttpsTestStack } from '../support/https-stack.ts';

/**
 * The Kiota-generated Graph SDK (@microsoft/msgraph-sdk) against the local stack over https. Its servicePrincipals
 * module (the synchronization request builders) is not published, so each request is built as those builders build
 * it: the same URL template, method, Accept header and body serializer from the published models, sent through the
 * SDK's own request adapter and bearer-token auth provider.
 */

const SP = 'kiota-app';
const SYNC = '{+baseurl}/servicePrincipals/{servicePrincipal%2Did}/synchronization';
const JOB = `${SYNC}/jobs/{synchronizationJob%2Did}`;
const ROUTES = {
  jobs: `${SYNC}/jobs{?%24count,%24expand,%24filter,%24orderby,%24search,%24select,%24skip,%24top}`,
  job: `${JOB}{?%24expand,%24select}`,
  start: `${JOB}/start`,
  pause: `${JOB}/pause`,
  restart: `${JOB}/restart`,
  validateCredentials: `${JOB}/validateCredentials`,
  provisionOnDemand: `${JOB}/provisionOnDemand`,
  schema: `${JOB}/schema{?%24expand,%24select}`,
  functions: `${JOB}/schema/functions(){?%24count,%24expand,%24filter,%24orderby,%24search,%24select,%24skip,%24top}`,
  filterOperators: `${JOB}/schema/filterOperators(){?%24count,%24expand,%24filter,%24orderby,%24search,%24select,%24skip,%24top}`,
  parseExpression: `${JOB}/schema/parseExpression`,
  secrets: `${SYNC}/secrets`,
  templates: `${SYNC}/templates{?%24count,%24expand,%24filter,%24orderby,%24search,%24select,%24skip,%24top}`,
  template: `${SYNC}/templates/{synchronizationTemplate%2Did}{?%24expand,%24select}`,
  provisioning: '{+baseurl}/auditLogs/provisioning{?%24count,%24expand,%24filter,%24orderby,%24search,%24select,%24skip,%24top}',
} as const;

const errors: ErrorMappings = { XXX: createODataErrorFromDiscriminatorValue as ParsableFactory<Parsable> };

let t: HttpsTestStack;
let adapter: GraphRequestAdapter;
let untrust: () => Promise<void>;
const authorizedUrls: string[] = [];

beforeAll(async () => {
  t = await startHttpsTestStack();
  untrust = trustCaInThisProcess(t.caPem);
  const host = new URL(t.httpsApiUrl).hostname;
  const tokens: AccessTokenProvider = {
    getAuthorizationToken: async (url) => {
      authorizedUrls.push(url ?? '');
      return t.token;
    },
    getAllowedHostsValidator: () => new AllowedHostsValidator(new Set([host])),
  };
  adapter = new GraphRequestAdapter(new BaseBearerTokenAuthenticationProvider(tokens));
  adapter.baseUrl = t.httpsApiUrl;
});

afterAll(async () => {
  await untrust?.();
  await t?.close();
});

/** A request as the builders make one: template, method, path parameters, `Accept: application/json`. */
function request(method: HttpMethod, template: string, jobId?: string, sp = SP): RequestInformation {
  const info = new RequestInformation(method, template, {
    'servicePrincipal%2Did': sp,
    ...(jobId === undefined ? {} : { 'synchronizationJob%2Did': jobId }),
  });
  info.headers.tryAdd('Accept', 'application/json');
  return info;
}

function withBody(info: RequestInformation, body: object, serialize: ModelSerializerFunction<any>): RequestInformation {
  info.setContentFromParsable(adapter, 'application/json', body as Parsable, serialize);
  return info;
}

/** The adapter's send, typed by the model the factory makes (the models' factories are typed as any Parsable). */
async function send<T>(info: RequestInformation, create: unknown): Promise<T | undefined> {
  return (await adapter.send(info, create as ParsableFactory<Parsable>, errors)) as T | undefined;
}

/** A body whose properties are each one model, written by the model's own serializer (as the builders' wrappers do). */
function serializeWrapper(properties: Record<string, (writer: SerializationWriter, value?: any) => void>) {
  return (writer: SerializationWriter, body?: Record<string, unknown> | null) => {
    for (const [name, serialize] of Object.entries(properties)) {
      const value = body?.[name];
      if (Array.isArray(value)) writer.writeCollectionOfObjectValues(name, value as Parsable[], serialize);
      else writer.writeObjectValue(name, value as Parsable | undefined, serialize);
    }
  };
}

/** `{ value: [...] }` of one model: the response shape of functions() and filterOperators(). */
function collectionOf(create: unknown): ParsableFactory<Parsable> {
  return () => (instance?: Partial<{ value: Parsable[] }>) => ({
    value: (node: ParseNode) => {
      if (instance) instance.value = node.getCollectionOfObjectValues(create as ParsableFactory<Parsable>);
    },
  });
}

async function createJob(sp = SP): Promise<SynchronizationJob> {
  // The model's odataType is written as `@odata.type`, as a caller that sets it gets.
  const body: SynchronizationJob = { templateId: 'scim', odataType: '#microsoft.graph.synchronizationJob' };
  const job = await send<SynchronizationJob>(withBody(request(HttpMethod.POST, ROUTES.jobs, undefined, sp), body, serializeSynchronizationJob), createSynchronizationJobFromDiscriminatorValue);
  expect(job?.id).toMatch(/^scim\.[0-9a-f]{32}\./);
  return job!;
}

async function getSchema(jobId: string): Promise<SynchronizationSchema> {
  return (await send<SynchronizationSchema>(request(HttpMethod.GET, ROUTES.schema, jobId), createSynchronizationSchemaFromDiscriminatorValue))!;
}

/** The schema exactly as the API answers it, for comparing what a round trip did. */
async function rawSchema(jobId: string): Promise<any> {
  return (await t.api('GET', `/servicePrincipals/${SP}/synchronization/jobs/${jobId}/schema`)).json;
}

async function patchSchema(jobId: string, schema: SynchronizationSchema): Promise<void> {
  const info = withBody(request(HttpMethod.PATCH, ROUTES.schema, jobId), schema, serializeSynchronizationSchema);
  expect(await send(info, createSynchronizationSchemaFromDiscriminatorValue)).toBeUndefined();
}

/** A schema without the version that every write bumps. */
function unversioned(schema: any): any {
  const { version: _version, ...rest } = schema;
  return rest;
}

describe('the Kiota Graph SDK (@microsoft/msgraph-sdk) over https with its bearer-token auth provider', () => {
  it('stores secrets keyed by synchronizationSecret names and runs a job through its whole life', async () => {
    const secrets: SynchronizationSecretKeyStringValuePair[] = [
      { key: 'BaseAddress', value: t.stack.scimUrl },
      { key: 'SecretToken', value: t.stack.scimToken },
      { key: 'SyncAll', value: 'true', odataType: '#microsoft.graph.synchronizationSecretKeyStringValuePair' },
    ];
    const put = withBody(request(HttpMethod.PUT, ROUTES.secrets), { value: secrets } as object, serializeWrapper({ value: serializeSynchronizationSecretKeyStringValuePair }));
    expect(await adapter.sendNoResponseContent(put, errors)).toBeUndefined();
    expect(authorizedUrls.every((url) => url.startsWith(t.httpsApiUrl))).toBe(true);

    const job = await createJob();
    expect(job.status?.code).toBe('NotConfigured');
    const got = await send<SynchronizationJob>(request(HttpMethod.GET, ROUTES.job, job.id!), createSynchronizationJobFromDiscriminatorValue);
    expect(got?.templateId).toBe('scim');
    const interval = (await t.api('GET', `/servicePrincipals/${SP}/synchronization/jobs/${job.id}`)).json.schedule.interval;
    expect(got?.schedule?.interval?.toString()).toBe(interval);

    // validateCredentials: the SDK writes useSavedCredentials always (false when unset), the rest only when set.
    const validate = withBody(request(HttpMethod.POST, ROUTES.validateCredentials, job.id!), { useSavedCredentials: true }, (writer, body: any) =>
      writer.writeBooleanValue('useSavedCredentials', body?.useSavedCredentials ?? false),
    );
    expect(await adapter.sendNoResponseContent(validate, errors)).toBeUndefined();

    const users = ((await (await fetch(`${t.stack.directoryUrl}/users`)).json()) as { value: { id: string; accountEnabled?: boolean }[] }).value;
    const user = users.find((candidate) => candidate.accountEnabled !== false)!;
    const parameters: SynchronizationJobApplicationParameters[] = [{ ruleId: 'AAD2SCIM', subjects: [{ objectId: user.id, objectTypeName: 'User' }] }];
    const onDemand = await send<StringKeyStringValuePair>(
      withBody(request(HttpMethod.POST, ROUTES.provisionOnDemand, job.id!), { parameters }, serializeWrapper({ parameters: serializeSynchronizationJobApplicationParameters })),
      createStringKeyStringValuePairFromDiscriminatorValue,
    );
    expect(JSON.parse(onDemand?.key ?? '{}').result).toBe('Success');

    // The SDK's provisioning-log builder, with the $filter it takes.
    const logs = request(HttpMethod.GET, ROUTES.provisioning);
    logs.queryParameters['%24filter'] = `jobId eq '${job.id}'`;
    const logPage = await send<ProvisioningObjectSummaryCollectionResponse>(logs, createProvisioningObjectSummaryCollectionResponseFromDiscriminatorValue);
    expect(logPage?.value?.[0]?.sourceIdentity?.id).toBe(user.id);
    expect(logPage?.value?.[0]?.jobId).toBe(job.id);

    // PATCH on the job with a fresh model: the interval is a Kiota Duration, written as ISO 8601.
    const update: SynchronizationJob = { schedule: { interval: new Duration({ minutes: 20 }) } };
    await adapter.sendNoResponseContent(withBody(request(HttpMethod.PATCH, ROUTES.job, job.id!), update, serializeSynchronizationJob), errors);
    expect((await t.api('GET', `/servicePrincipals/${SP}/synchronization/jobs/${job.id}`)).json.schedule.interval).toBe('PT20M');

    // start and pause: the builders send no body at all.
    await adapter.sendNoResponseContent(request(HttpMethod.POST, ROUTES.start, job.id!), errors);
    expect((await t.api('GET', `/servicePrincipals/${SP}/synchronization/jobs/${job.id}`)).json.schedule.state).toBe('Active');
    await adapter.sendNoResponseContent(request(HttpMethod.POST, ROUTES.pause, job.id!), errors);
    expect((await t.api('GET', `/servicePrincipals/${SP}/synchronization/jobs/${job.id}`)).json.status.code).toBe('Paused');

    // resetScope is a flags enum: the SDK writes the flags it holds as "Watermark,Escrows".
    const criteria: SynchronizationJobRestartCriteria = { resetScope: ['Watermark', 'Escrows'] };
    const restart = withBody(request(HttpMethod.POST, ROUTES.restart, job.id!), { criteria } as object, serializeWrapper({ criteria: serializeSynchronizationJobRestartCriteria }));
    await adapter.sendNoResponseContent(restart, errors);
    expect((await t.api('GET', `/servicePrincipals/${SP}/synchronization/jobs/${job.id}`)).json.schedule.state).toBe('Active');

    await adapter.sendNoResponseContent(request(HttpMethod.DELETE, ROUTES.job, job.id!), errors);
    const gone = await send(request(HttpMethod.GET, ROUTES.job, job.id!), createSynchronizationJobFromDiscriminatorValue).catch((error: unknown) => error);
    expect((gone as ODataError).responseStatusCode).toBe(404);
    expect((gone as ODataError).errorEscaped?.code).toBe('Request_ResourceNotFound');
  });

  it('reads the templates', async () => {
    const templates = await send<SynchronizationTemplateCollectionResponse>(request(HttpMethod.GET, ROUTES.templates), createSynchronizationTemplateCollectionResponseFromDiscriminatorValue);
    expect(templates?.value?.map((template) => template.id)).toContain('scim');
    const info = request(HttpMethod.GET, ROUTES.template);
    info.pathParameters['synchronizationTemplate%2Did'] = 'scim';
    const template = await send<SynchronizationTemplate>(info, createSynchronizationTemplateFromDiscriminatorValue);
    expect(template?.factoryTag).toBe('CustomSCIM');
  });

  it('lists jobs page by page with the SDK core PageIterator', async () => {
    const sp = 'kiota-paged-app';
    const created = new Set<string>();
    for (let i = 0; i < 5; i += 1) created.add((await createJob(sp)).id!);
    const first = request(HttpMethod.GET, ROUTES.jobs, undefined, sp);
    first.queryParameters['%24top'] = 2;
    const page = await send<SynchronizationJobCollectionResponse>(first, createSynchronizationJobCollectionResponseFromDiscriminatorValue);
    expect(page?.value).toHaveLength(2);
    expect(page?.odataNextLink?.startsWith(t.httpsApiUrl)).toBe(true);

    const seen: string[] = [];
    const iterator = new PageIterator<SynchronizationJob>(
      adapter,
      page as PageCollection<SynchronizationJob>,
      (job) => {
        seen.push(job.id!);
        return true;
      },
      createSynchronizationJobCollectionResponseFromDiscriminatorValue as ParsableFactory<SynchronizationJobCollectionResponse & PageCollection<SynchronizationJob>>,
      errors,
    );
    await iterator.iterate();
    expect(iterator.getPagingState()).toBe('Complete');
    expect(new Set(seen)).toEqual(created);
    expect(seen).toHaveLength(5);
  });

  it('writes back a schema it read with PATCH and nothing is lost or changed, flowTypes included', async () => {
    const job = await createJob();
    const before = await rawSchema(job.id!);
    expect(before.synchronizationRules[0].objectMappings[0].flowTypes).toBe('Add, Update, Delete');

    // The SDK reads "Add, Update, Delete" as no flags and writes it back as "": the service keeps what was there.
    const read = await getSchema(job.id!);
    expect(read.synchronizationRules?.[0]?.objectMappings?.[0]?.flowTypes).toEqual([]);
    await patchSchema(job.id!, read);
    const after = await rawSchema(job.id!);
    expect(Number(after.version)).toBeGreaterThan(Number(before.version));
    expect(unversioned(after)).toEqual(unversioned(before));

    // Flags the caller sets are written "Add,Update" and answered in Graph's form; a later round trip keeps them.
    const edited = await getSchema(job.id!);
    const users = edited.synchronizationRules![0]!.objectMappings!.find((mapping) => mapping.sourceObjectName === 'User')!;
    users.flowTypes = ['Add', 'Update'];
    await patchSchema(job.id!, edited);
    const customised = await rawSchema(job.id!);
    const usersMapping = (schema: any) => schema.synchronizationRules[0].objectMappings.find((mapping: any) => mapping.sourceObjectName === 'User');
    expect(usersMapping(customised).flowTypes).toBe('Add, Update');
    expect(customised.synchronizationRules[0].objectMappings.find((mapping: any) => mapping.sourceObjectName === 'Group').flowTypes).toBe('Add, Update, Delete');

    await patchSchema(job.id!, await getSchema(job.id!));
    expect(unversioned(await rawSchema(job.id!))).toEqual(unversioned(customised));
  });

  it('refuses through PATCH what PUT refuses, with the same error', async () => {
    const job = await createJob();
    const read = await getSchema(job.id!);
    read.synchronizationRules![0]!.sourceDirectoryName = 'Nowhere';
    const error = (await patchSchema(job.id!, read).catch((caught: unknown) => caught)) as ODataError;
    expect(error.responseStatusCode).toBe(400);
    const viaPut = await t.api('PUT', `/servicePrincipals/${SP}/synchronization/jobs/${job.id}/schema`, {
      body: { ...(await rawSchema(job.id!)), synchronizationRules: [{ ...(await rawSchema(job.id!)).synchronizationRules[0], sourceDirectoryName: 'Nowhere' }] },
    });
    expect(viaPut.status).toBe(400);
    expect(error.errorEscaped?.code).toBe(viaPut.json.error.code);
    expect(error.errorEscaped?.message).toBe(viaPut.json.error.message);
  });

  it('calls functions() and filterOperators() as OData functions, and parses an expression with a property without value', async () => {
    const job = await createJob();
    const functions = await send<{ value?: AttributeMappingFunctionSchema[] }>(request(HttpMethod.GET, ROUTES.functions, job.id!), collectionOf(createAttributeMappingFunctionSchemaFromDiscriminatorValue));
    // An entity in Graph's metadata: the SDK reads a function's name from `id`.
    expect(functions?.value?.map((fn) => fn.id)).toContain('Join');
    const operators = await send<{ value?: FilterOperatorSchema[] }>(request(HttpMethod.GET, ROUTES.filterOperators, job.id!), collectionOf(createFilterOperatorSchemaFromDiscriminatorValue));
    const equals = operators?.value?.find((operator) => operator.id === 'EQUALS');
    expect(equals?.arity).toBe('Binary');

    // stringKeyObjectValuePair has no `value` member in the SDK: a value travels in additionalData, a null one not at all.
    const testInputObject: ExpressionInputObject = {
      properties: [{ key: 'givenName', additionalData: { value: 'Ada' } }, { key: 'surname' }],
    };
    const body = { expression: 'Coalesce([surname], [givenName])', testInputObject };
    const parse = withBody(request(HttpMethod.POST, ROUTES.parseExpression, job.id!), body, (writer, value: any) => {
      writer.writeStringValue('expression', value?.expression);
      writer.writeObjectValue('testInputObject', value?.testInputObject, serializeExpressionInputObject);
    });
    const parsed = await send<ParseExpressionResponse>(parse, createParseExpressionResponseFromDiscriminatorValue);
    expect(parsed?.parsingSucceeded).toBe(true);
    expect(parsed?.evaluationSucceeded).toBe(true);
    expect(parsed?.evaluationResult).toEqual(['Ada']);
  });
});
