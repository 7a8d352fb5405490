import fc from 'fast-check';
import { apiRoutes } from '../../functions/api/routes.ts';
import { SECRET_KEYS } from '../../functions/domain/secret-keys.ts';
import { listFunctions } from '../../functions/domain/mapping/expression-functions.ts';

/**
 * What the fuzz suite sends (test/fuzz/api-fuzz.test.ts): a description of one request whose ids are references
 * into the tenant state seen just before it is sent, so a generated request can name jobs that exist now.
 */

/** The auth a request carries; the test has a token (or header) ready for each. */
export const AUTH_KINDS = [
  'readWrite', 'readOnly', 'otherTenant', 'none', 'garbage', 'expired', 'wrongAudience', 'noTenant', 'badTenant',
  'noRoles', 'auditLogOnly', 'delegatedReadWrite', 'basic', 'bearerOnly', 'lowerCaseScheme',
] as const;
export type AuthKind = (typeof AUTH_KINDS)[number];

/**
 * An id segment: one the state holds (by index), a job deleted during the run, one of a valid shape that exists
 * nowhere, or a malformed one.
 */
export type IdRef = { kind: 'known'; pick: number } | { kind: 'deleted'; pick: number } | { kind: 'literal'; segment: string };

export type BodySpec = { kind: 'none' } | { kind: 'raw'; text: string } | { kind: 'json'; value: unknown };

export interface FuzzRequest {
  method: string;
  /** An apiRoutes path (`{name}` parameters) or a path of no route; relative to /v1.0 unless it starts with `..`. */
  template: string;
  servicePrincipal: IdRef;
  job: IdRef;
  templateId: string;
  /** Appended to the path: a trailing slash, an OData segment, an unknown action. */
  suffix: string;
  query: string;
  auth: AuthKind;
  headers: Record<string, string>;
  body: BodySpec;
}

/** What references resolve against, and what valid bodies are built from; read from the stack before the run. */
export interface FuzzWorld {
  /** Service principals the state knows, the tenant's own first. */
  servicePrincipals: readonly string[];
  /** Jobs of this tenant and of the other tenant. */
  jobs: readonly { servicePrincipalId: string; jobId: string }[];
  /** Jobs deleted during the run. */
  deletedJobs: readonly { servicePrincipalId: string; jobId: string }[];
  /** The local SCIM service, the one target a job may reach (no request may lead the worker off this machine). */
  scimUrl: string;
  scimToken: string;
  /** The scim template's schema, the base of the schema mutations. */
  templateSchema: unknown;
  ruleIds: readonly string[];
}

const SYNC = '/v1.0/servicePrincipals/{servicePrincipalId}/synchronization';

/** Segments no id may be: escapes (malformed, encoded slash, NUL), dot segments, quotes, OData keys, overlong. */
const MALFORMED_SEGMENTS = [
  '%zz', '%E0%A4', '%', '%2F', '%2f..%2f', '%00', '%20', 'bad%20id', "o'brien", '..', '.', '%2e%2e', '', ' ', 'ü',
  '%C3%BC', "('x')", "jobs('x')", '$metadata', '$count', '$ref', 'functions()', 'null', 'undefined', '__proto__',
  'constructor', 'a'.repeat(65), 'x'.repeat(300), '%25', '+', '*', '~', 'scim.123.tenant', `scim.${'A'.repeat(32)}.t`,
  `scim.${'0'.repeat(32)}.`, `.${'0'.repeat(32)}.t`, `scim.${'0'.repeat(32)}.t%00`,
];

/** Drawn for one request in eight; the rest have none. */
const SUFFIXES = [
  '/', '//', '/functions()', '/$count', '/$ref', '/$value', '/microsoft.graph.start', '/x', '/..',
  '/%zz', '/schema/functions()', '/start()', "('x')", '?', '/%2F',
];

/** Graph's webhook, outside /v1.0 and without our token. */
export const WEBHOOK = '../notifications';

/** Route paths, a few of them altered, and paths no route has (outside /v1.0 via a dot segment). */
const TEMPLATES = [
  ...apiRoutes.map((route) => route.path).filter((path) => path.startsWith('/v1.0')),
  `${SYNC}/Jobs`,
  `${SYNC}/jobs('{jobId}')`,
  `${SYNC}/jobs/{jobId}/schema/functions()`,
  `${SYNC}/jobs/{jobId}/schema/directories`,
  `${SYNC}/jobs/{jobId}/bulkUpload`,
  `${SYNC}`,
  `${SYNC}/`,
  `${SYNC}/templates/{templateId}/schema`,
  `${SYNC}/acquireAccessToken`,
  '/v1.0/servicePrincipals/{servicePrincipalId}',
  "/v1.0/servicePrincipals(appId='{servicePrincipalId}')/synchronization/jobs",
  '/v1.0/servicePrincipals',
  '/v1.0/auditLogs',
  '/v1.0/auditLogs/provisioning/{jobId}',
  '/v1.0/$metadata',
  '/v1.0',
  '/v1.0/',
  '/v1.0//servicePrincipals//{servicePrincipalId}//synchronization//jobs',
  '../beta/servicePrincipals/{servicePrincipalId}/synchronization/jobs',
  '../v2.0/auditLogs/provisioning',
  '../favicon.ico',
  '../',
  WEBHOOK,
];

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];

const CONTENT_TYPES = [
  'application/json', 'application/json; charset=utf-8', 'application/json;odata.metadata=minimal', 'text/plain',
  'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', '', '*/*',
  'application/json; charset=utf-16', 'application/merge-patch+json', 'garbage',
];

/** Printable ASCII: what a header value may hold (fetch refuses the rest before sending). */
const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 80 });

const headersArbitrary: fc.Arbitrary<Record<string, string>> = fc.record(
  {
    'content-type': fc.constantFrom(...CONTENT_TYPES),
    accept: fc.constantFrom('application/json', 'text/html', '*/*', 'application/xml', 'application/json;odata.metadata=full'),
    'client-request-id': fc.oneof(fc.stringMatching(/^[\w-]{1,64}$/), headerText, fc.constant('x'.repeat(200))),
    'if-match': fc.constantFrom('*', 'W/"1"', '"garbage"'),
    prefer: fc.constantFrom('return=representation', 'odata.maxpagesize=1', 'respond-async'),
    consistencylevel: fc.constant('eventual'),
    'content-encoding': fc.constantFrom('gzip', 'identity', 'br'),
    'x-http-method-override': fc.constantFrom(...METHODS),
    'x-fuzz': headerText,
  },
  { requiredKeys: [] },
);

const QUERY_NAMES = ['$filter', '$top', '$skiptoken', '$expand', '$select', '$orderby', '$count', '$search', '$skip', '$format', 'api-version', 'top', '$Top', '$'];

const QUERY_VALUES = [
  '5', '0', '-1', '1', '999', '1000', '1e3', '1.5', 'abc', '', ' ', '%%%garbage', 'aGVsbG8', 'eyJ9', 'null', 'schema',
  'status', '*', 'true', "id eq 'x'", "jobId eq 'x' and (", 'activityDateTime ge 2020-01-01T00:00:00Z',
  "activityDateTime le 9999-99-99", "statusInfo/status eq 'failure'", "startswith(id,'x')", "((((((((((id eq 'x'))))))))))",
  'activityDateTime desc', 'activityDateTime asc', 'x'.repeat(2000), '%zz', '%E0%A4', '\u00fc', "'", '"', '\\', '&&', '==',
];

const queryValue = fc.oneof(fc.constantFrom(...QUERY_VALUES), fc.string({ maxLength: 40 }), fc.integer().map(String));

/** A query string; values are escaped most of the time and sent raw (stray `%`, spaces) the rest. */
const queryArbitrary: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.tuple(fc.oneof(fc.constantFrom(...QUERY_NAMES), fc.string({ maxLength: 8 })), queryValue, fc.boolean()), { minLength: 1, maxLength: 4 })
      .map((pairs) => `?${pairs.map(([name, value, raw]) => (raw ? `${name}=${value}` : `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)).join('&')}`),
  },
);

const idRef = (validShape: fc.Arbitrary<string>): fc.Arbitrary<IdRef> =>
  fc.oneof(
    { weight: 14, arbitrary: fc.nat().map((pick): IdRef => ({ kind: 'known', pick })) },
    { weight: 1, arbitrary: fc.nat().map((pick): IdRef => ({ kind: 'deleted', pick })) },
    { weight: 2, arbitrary: validShape.map((segment): IdRef => ({ kind: 'literal', segment })) },
    { weight: 2, arbitrary: fc.constantFrom(...MALFORMED_SEGMENTS).map((segment): IdRef => ({ kind: 'literal', segment })) },
    { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map((segment): IdRef => ({ kind: 'literal', segment: encodeURIComponent(segment) })) },
  );

const unknownJobId = fc
  .tuple(fc.constantFrom('scim', 'Scim', 'x'), fc.stringMatching(/^[0-9a-f]{32}$/), fc.constantFrom('00000000-0000-4000-8000-000000000001', 'tenant'))
  .map(([template, hex, tenant]) => `${template}.${hex}.${tenant}`);

// ---- bodies ----------------------------------------------------------------------------------------------------

const INTERVALS = ['PT5M', 'PT1M', 'PT40M', 'PT1H', 'P1D', 'PT1H30M', 'PT30S', 'PT0M', 'P1M', '5', '', 'PT', 'P400D', 'pt5m', 'PT5.5M', 'PT99999999M'];

const interval = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...INTERVALS.slice(0, 6)) },
  { weight: 2, arbitrary: fc.constantFrom(...INTERVALS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);

const SETTING_NAMES = ['MaxRequestsPerSecond', 'maxrequestspersecond', 'Other', 'DeleteThresholdValue', ''];
const SETTING_VALUES = ['5', '0', '-1', '0.27', 'abc', '1000', '1e3', '', 'NaN', 'Infinity', '00005'];

/** Literals without regex syntax, so no Replace or Split pattern can backtrack (that is a limit of its own, elsewhere). */
const literalText = fc.string({ unit: fc.constantFrom(...'abcXYZ019 .,-@_'), maxLength: 12 });
const ATTRIBUTES = ['givenName', 'surname', 'userPrincipalName', 'mail', 'displayName', 'accountEnabled', 'objectId', 'unknownAttr', ''];
const FUNCTION_NAMES = [...listFunctions().map((fn) => fn.name), 'NoSuchFunction', 'join', 'Replace '];

/** Mapping expressions at most three calls deep (deeper ones are another limit's business). */
const expression: fc.Arbitrary<string> = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    fc.constantFrom(...ATTRIBUTES).map((name) => `[${name}]`),
    literalText.map((text) => `"${text}"`),
    fc.integer({ min: -5, max: 50 }).map(String),
    fc
      .tuple(fc.constantFrom(...FUNCTION_NAMES), fc.array(tie('expr'), { maxLength: 4 }))
      .map(([name, args]) => `${name}(${args.join(', ')})`),
  ),
})).expr;

/** Broken expressions: cut short, unbalanced, unterminated, or any text at all. */
const brokenExpression = fc.oneof(
  fc.tuple(expression, fc.nat()).map(([text, cut]) => text.slice(0, cut % (text.length + 1))),
  expression.map((text) => `${text})`),
  expression.map((text) => `(${text}`),
  fc.constantFrom('Join(', '"unterminated', '[', '[]', '()', ',', 'Join(,,)', 'Switch([a])', '""""', '\\', '\u0000'),
  fc.string({ maxLength: 60 }),
);

const propertyValue = fc.oneof(literalText, fc.array(literalText, { maxLength: 3 }), fc.integer(), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 2 }));

/** With a source client id and secret the worker would ask login.microsoftonline.com for a token: never sent. */
const OTHER_SECRET_KEYS = SECRET_KEYS.filter((key) => !['SourceClientId', 'SourceClientSecret', 'SourceTenantId'].includes(key));

export interface BodyShapes {
  create: fc.Arbitrary<unknown>;
  update: fc.Arbitrary<unknown>;
  restart: fc.Arbitrary<unknown>;
  empty: fc.Arbitrary<unknown>;
  secrets: fc.Arbitrary<unknown>;
  validateCredentials: fc.Arbitrary<unknown>;
  provisionOnDemand: fc.Arbitrary<unknown>;
  parseExpression: fc.Arbitrary<unknown>;
  schema: fc.Arbitrary<unknown>;
  notifications: fc.Arbitrary<unknown>;
}

/** Bodies of the shapes functions/schemas/requests.ts and the schema PUT accept, with values that pass or fail their rules. */
export function validBodies(world: Pick<FuzzWorld, 'scimUrl' | 'scimToken' | 'templateSchema' | 'ruleIds'>): BodyShapes {
  // Addresses the API refuses, and the only ones it accepts that keep the worker on this machine.
  const address = fc.constantFrom(
    world.scimUrl, world.scimUrl, `${world.scimUrl}/nowhere`, 'http://10.0.0.5/scim', 'http://scim.example.com/scim',
    'file:///etc/passwd', 'ftp://127.0.0.1/', 'scim.example.com', 'https://u:p@127.0.0.1/', 'http://169.254.169.254/',
    'javascript:alert(1)', '', 'http://[::ffff:7f00:1]/',
  );
  const secretPair = fc.oneof(
    { weight: 3, arbitrary: address.map((value) => ({ key: 'BaseAddress', value })) },
    { weight: 3, arbitrary: fc.constantFrom(world.scimToken, 'wrong-token', '').map((value) => ({ key: 'SecretToken', value })) },
    { weight: 1, arbitrary: address.map((value) => ({ key: 'SourceBaseAddress', value })) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...OTHER_SECRET_KEYS, 'ApiKey', 'secrettoken', 'BASEADDRESS'), literalText).map(([key, value]) => ({ key, value })) },
  );
  const secretPairs = fc.array(secretPair, { maxLength: 4 });
  const ruleId = fc.oneof(fc.constantFrom(...world.ruleIds), fc.string({ minLength: 1, maxLength: 10 }));
  const objectId = fc.oneof(fc.uuid(), fc.string({ minLength: 1, maxLength: 10 }));
  return {
    // Graph's changeNotificationCollection, from someone who knows no subscription's clientState.
    notifications: fc.record({
      value: fc.array(
        fc.record(
          {
            subscriptionId: fc.oneof(fc.uuid(), literalText),
            clientState: fc.oneof(fc.constant(null), literalText),
            changeType: fc.constantFrom('updated', 'deleted', 'created'),
            resource: fc.constantFrom('Users/x', 'Groups/y', 'users'),
            tenantId: fc.uuid(),
            lifecycleEvent: fc.constantFrom('reauthorizationRequired', 'missed'),
          },
          { requiredKeys: ['subscriptionId'] },
        ),
        { maxLength: 3 },
      ),
    }),
    create: fc.record(
      {
        templateId: fc.oneof({ weight: 4, arbitrary: fc.constant('scim') }, fc.constantFrom('SCIM', 'salesforce'), fc.string({ maxLength: 70 })),
        schedule: fc.record({ interval }),
      },
      { requiredKeys: ['templateId'] },
    ),
    update: fc.record(
      {
        schedule: fc.record({ interval }),
        synchronizationJobSettings: fc.array(
          fc.record({ name: fc.oneof(fc.constantFrom(...SETTING_NAMES), literalText), value: fc.oneof(fc.constantFrom(...SETTING_VALUES), literalText) }),
          { maxLength: 3 },
        ),
      },
      { requiredKeys: [] },
    ),
    restart: fc.oneof(
      fc.constant({}),
      fc.record({
        criteria: fc.oneof(
          fc.constant(null),
          fc.record(
            { resetScope: fc.oneof(fc.constantFrom('Full', 'None', 'Escrows, Watermark', 'ForceDeletes', 'Everything', 'full', '', ',', null), literalText) },
            { requiredKeys: [] },
          ),
        ),
      }),
    ),
    empty: fc.constant({}),
    secrets: fc.oneof(secretPairs.map((value) => ({ value })), secretPairs.map((credentials) => ({ credentials }))),
    validateCredentials: fc.record(
      { useSavedCredentials: fc.boolean(), credentials: fc.oneof(fc.constant(null), secretPairs), applicationIdentifier: fc.constant(null), templateId: fc.constantFrom('scim', null) },
      { requiredKeys: [] },
    ),
    provisionOnDemand: fc.record({
      parameters: fc.array(
        fc.record({
          ruleId,
          subjects: fc.array(
            fc.record(
              {
                objectId,
                objectTypeName: fc.constantFrom('User', 'Group', 'Device'),
                links: fc.record({ members: fc.array(fc.record({ objectId, objectTypeName: fc.constant('User') }), { maxLength: 6 }) }),
              },
              { requiredKeys: ['objectId', 'objectTypeName'] },
            ),
            { minLength: 1, maxLength: 3 },
          ),
        }),
        { minLength: 1, maxLength: 2 },
      ),
    }),
    parseExpression: fc.record(
      {
        expression: fc.oneof({ weight: 3, arbitrary: expression }, { weight: 1, arbitrary: brokenExpression }),
        testInputObject: fc.oneof(
          fc.constant(null),
          fc.record({ definition: fc.constant(null), properties: fc.array(fc.record({ key: fc.constantFrom(...ATTRIBUTES), value: propertyValue }), { maxLength: 4 }) }, { requiredKeys: [] }),
        ),
        targetAttributeDefinition: fc.constant(null),
      },
      { requiredKeys: ['expression'] },
    ),
    // The template's own schema, or it with one mapping's source replaced by a parsed-looking or a broken expression.
    schema: fc.oneof(
      fc.constant(world.templateSchema),
      fc.tuple(fc.nat(), expression).map(([pick, text]) => withMappingExpression(world.templateSchema, pick, text)),
    ),
  };
}

/** A copy of `schema` with the pick-th attribute mapping's source set to a Function source of `text`. */
function withMappingExpression(schema: unknown, pick: number, text: string): unknown {
  const copy = structuredClone(schema) as { synchronizationRules?: { objectMappings?: { attributeMappings?: { source: unknown }[] }[] }[] };
  const mappings = (copy.synchronizationRules ?? []).flatMap((rule) => (rule.objectMappings ?? []).flatMap((mapping) => mapping.attributeMappings ?? []));
  const target = mappings[pick % Math.max(mappings.length, 1)];
  if (target) target.source = { type: 'Function', name: text.split('(')[0] ?? '', expression: text, parameters: [] };
  return copy;
}

// ---- mutations -------------------------------------------------------------------------------------------------

/** Values put in place of a body's parts: wrong types, huge strings, nesting up to 20 deep, prototype keys. */
const replacement: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, true, 0, -1, 1e308, '', [], {}, '\u0000', 'x'.repeat(70_000), 'x'.repeat(5_000)),
  fc.integer({ min: 1, max: 20 }).map((depth) => nested(depth, true)),
  fc.integer({ min: 1, max: 20 }).map((depth) => nested(depth, false)),
);

function nested(depth: number, asArray: boolean): unknown {
  let value: unknown = 'leaf';
  for (let level = 0; level < depth; level += 1) value = asArray ? [value] : { a: value };
  return value;
}

type Mutation = { at: number; op: 'replace' | 'delete' | 'add'; key: string; value: unknown };

const mutationArbitrary: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('replace', 'delete', 'add'),
  key: fc.oneof(fc.constantFrom('extra', '__proto__', 'constructor', '@odata.type', 'id', 'value'), fc.string({ maxLength: 8 })),
  value: replacement,
});

/** Every container and leaf of a JSON value, as parent and key (the root has no parent). */
function locations(value: unknown): { parent: Record<string, unknown> | unknown[]; key: string | number }[] {
  const found: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach((child, index) => (found.push({ parent: node, key: index }), walk(child)));
    else if (node && typeof node === 'object') for (const [key, child] of Object.entries(node)) (found.push({ parent: node as Record<string, unknown>, key }), walk(child));
  };
  walk(value);
  return found;
}

/** Applies mutations to a copy: replace a part, delete it, or add a property or element next to it. */
export function mutate(value: unknown, mutations: readonly Mutation[]): unknown {
  let root = structuredClone(value);
  for (const mutation of mutations) {
    const spots = locations(root);
    if (spots.length === 0) {
      root = mutation.op === 'add' ? { [mutation.key]: mutation.value } : mutation.value;
      continue;
    }
    const { parent, key } = spots[mutation.at % spots.length]!;
    if (mutation.op === 'replace') (parent as Record<string | number, unknown>)[key] = mutation.value;
    else if (mutation.op === 'delete') Array.isArray(parent) ? parent.splice(key as number, 1) : delete parent[key as string];
    else if (Array.isArray(parent)) parent.push(mutation.value);
    // defineProperty: a `__proto__` key must become an own property, as JSON.parse makes it.
    else Object.defineProperty(parent, mutation.key, { value: mutation.value, enumerable: true, writable: true, configurable: true });
  }
  return root;
}

const RAW_BODIES = [
  '{', '[', '{"templateId":', '{schedule:', 'null', 'true', '1', '""', '[]', '', ' ', '\n', 'undefined', '{"a":1,}', 'NaN',
  '\ufeff{}', '{"templateId":"scim","templateId":5}', '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"x":1}}}',
  '1e400', '{"value":[{"key":"SecretToken","value":"\\ud800"}]}', '\u0000', '{}garbage', '{"a":"\\u0000"}', 'templateId=scim',
  `{"expression":"${'('.repeat(10)}"}`,
];

/** A body for a request: none, a shape of some route (this route's most often), a mutation of one, or raw text. */
function bodyArbitrary(shapes: BodyShapes, own: fc.Arbitrary<unknown>): fc.Arbitrary<BodySpec> {
  const anyShape = fc.oneof(...Object.values(shapes));
  const shaped = fc.oneof({ weight: 4, arbitrary: own }, { weight: 1, arbitrary: anyShape });
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant<BodySpec>({ kind: 'none' }) },
    { weight: 5, arbitrary: shaped.map((value): BodySpec => ({ kind: 'json', value })) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(shaped, fc.array(mutationArbitrary, { minLength: 1, maxLength: 3 }))
        .map(([value, mutations]): BodySpec => ({ kind: 'json', value: mutate(value, mutations) })),
    },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_BODIES).map((text): BodySpec => ({ kind: 'raw', text })) },
    { weight: 1, arbitrary: fc.constantFrom(70_000, 310_000).map((size): BodySpec => ({ kind: 'raw', text: JSON.stringify({ templateId: 'scim', pad: 'x'.repeat(size) }) })) },
    { weight: 1, arbitrary: fc.string({ maxLength: 50 }).map((text): BodySpec => ({ kind: 'raw', text })) },
  );
}

/** The body shape a route takes, by the last literal segment of its path. */
function shapeFor(template: string, method: string, shapes: BodyShapes): fc.Arbitrary<unknown> {
  if (template === WEBHOOK) return shapes.notifications;
  if (template.endsWith('/jobs') && method === 'POST') return shapes.create;
  if (template.endsWith('/restart')) return shapes.restart;
  if (template.endsWith('/start') || template.endsWith('/pause')) return shapes.empty;
  if (template.endsWith('/secrets')) return shapes.secrets;
  if (template.endsWith('/validateCredentials')) return shapes.validateCredentials;
  if (template.endsWith('/provisionOnDemand')) return shapes.provisionOnDemand;
  if (template.endsWith('/parseExpression')) return shapes.parseExpression;
  if (template.endsWith('/schema')) return shapes.schema;
  return shapes.update;
}

/** One request: mostly a route with its own method, the rest any method on any path. */
export function requestArbitrary(world: Pick<FuzzWorld, 'scimUrl' | 'scimToken' | 'templateSchema' | 'ruleIds'>): fc.Arbitrary<FuzzRequest> {
  const shapes = validBodies(world);
  const routeAndMethod = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...apiRoutes.filter((route) => route.path.startsWith('/v1.0'))).map((route) => ({ template: route.path, method: route.method as string })) },
    { weight: 1, arbitrary: fc.record({ template: fc.constantFrom(...TEMPLATES), method: fc.constantFrom(...METHODS) }) },
    { weight: 1, arbitrary: fc.constant({ template: WEBHOOK, method: 'POST' }) },
  );
  return routeAndMethod.chain(({ template, method }) =>
    fc.record({
      method: fc.constant(method),
      template: fc.constant(template),
      servicePrincipal: idRef(fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/)),
      job: idRef(unknownJobId),
      templateId: fc.oneof(fc.constantFrom('scim', 'SCIM', 'salesforce', ...MALFORMED_SEGMENTS.slice(0, 8)), fc.string({ maxLength: 10 }).map(encodeURIComponent)),
      suffix: fc.oneof({ weight: 7, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom(...SUFFIXES) }),
      query: queryArbitrary,
      auth: fc.oneof(
        { weight: 12, arbitrary: fc.constant<AuthKind>('readWrite') },
        { weight: 1, arbitrary: fc.constantFrom(...AUTH_KINDS) },
        { weight: 1, arbitrary: fc.constantFrom<AuthKind>('readOnly', 'otherTenant') },
      ),
      headers: headersArbitrary,
      body: method === 'GET' || method === 'HEAD' ? fc.constant<BodySpec>({ kind: 'none' }) : bodyArbitrary(shapes, shapeFor(template, method, shapes)),
    }),
  );
}

/** The path of a request in the world as it is now (relative to /v1.0, as TestStack.api takes it). */
export function resolvePath(request: FuzzRequest, world: Pick<FuzzWorld, 'servicePrincipals' | 'jobs' | 'deletedJobs'>): string {
  const jobs = request.job.kind === 'deleted' && world.deletedJobs.length > 0 ? world.deletedJobs : world.jobs;
  const job = request.job.kind === 'literal' ? undefined : jobs[request.job.pick % Math.max(jobs.length, 1)];
  const servicePrincipal =
    request.servicePrincipal.kind === 'literal'
      ? request.servicePrincipal.segment
      : // A known job is named under its own service principal most of the time; otherwise under any known one.
        job && request.servicePrincipal.pick % 8 !== 0
        ? job.servicePrincipalId
        : (world.servicePrincipals[request.servicePrincipal.pick % world.servicePrincipals.length] ?? 'sp');
  const jobId = request.job.kind === 'literal' ? request.job.segment : (job?.jobId ?? `scim.${'0'.repeat(32)}.t`);
  const path = request.template
    .replace('{servicePrincipalId}', servicePrincipal)
    .replace('{jobId}', jobId)
    .replace('{templateId}', request.templateId);
  // `..` leaves /v1.0 (URL resolution removes the dot segment); the rest is under it.
  return `${path.startsWith('..') ? `/${path}` : path.replace(/^\/v1\.0/, '')}${request.suffix}${request.query}`;
}
