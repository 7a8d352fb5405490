import { readFile } from 'node:fs/promises';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import * as z from 'zod/mini';
import { describe, expect, it } from 'vitest';
import { apiRoutes } from '../../functions/api/routes.ts';
import { buildOpenApiDocument, componentSchemas, serialise } from '../../tools/openapi/document.ts';
import { documentInfo, OPENAPI_FILE } from '../../tools/openapi/info.ts';

const generated = buildOpenApiDocument(documentInfo) as Record<string, any>;

async function validate(document: unknown) {
  return new Validator().validate(structuredClone(document) as Record<string, unknown>);
}

describe('the OpenAPI document', () => {
  it('is committed as generated (run `npm run openapi` after changing a route or a schema)', async () => {
    // The file is what GET /openapi.json serves and what clients generate from: it must not drift from the code.
    expect(await readFile(OPENAPI_FILE, 'utf8')).toBe(serialise(generated));
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await validate(generated);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
  });

  it('is refused by the validator once broken (the check above can fail)', async () => {
    const broken = structuredClone(generated);
    delete broken.paths['/openapi.json'].get.responses['200'].description;
    expect((await validate(broken)).valid).toBe(false);
  });

  it('describes every route of routes.ts, and nothing else', () => {
    // The routes table is what the local server and the CDK stack serve; an operation missing here is one SDKs lack.
    const documented = Object.entries(generated.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(apiRoutes.map((route) => `${route.method} ${route.path}`).sort());
    const ids = documented.map((key) => {
      const [method, path] = key.split(' ') as [string, string];
      return generated.paths[path][method.toLowerCase()].operationId as string;
    });
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('names every path parameter and the query options the handlers read', () => {
    const operation = (method: string, path: string) => generated.paths[path][method];
    for (const route of apiRoutes) {
      const names = [...route.path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
      const parameters = (operation(route.method.toLowerCase(), route.path).parameters ?? []) as Array<{ name: string; in: string }>;
      expect(parameters.filter((parameter) => parameter.in === 'path').map((parameter) => parameter.name), route.path).toEqual(names);
    }
    const queryOf = (method: string, path: string) =>
      (operation(method, path).parameters as Array<{ name: string; in: string; schema: unknown }>).filter((parameter) => parameter.in === 'query');
    const jobs = '/v1.0/servicePrincipals/{servicePrincipalId}/synchronization/jobs';
    expect(queryOf('get', jobs)).toEqual([
      expect.objectContaining({ name: '$top', schema: { type: 'integer', minimum: 1, maximum: 999 } }),
      expect.objectContaining({ name: '$skiptoken' }),
    ]);
    expect(queryOf('get', `${jobs}/{jobId}`)).toEqual([expect.objectContaining({ name: '$expand', schema: { type: 'string', enum: ['schema'] } })]);
    expect(queryOf('get', '/v1.0/auditLogs/provisioning').map((parameter) => parameter.name)).toEqual(['$top', '$filter', '$orderby', '$skiptoken']);
  });

  it("answers Graph's error body and the statuses the handlers answer, 202 and 204 included", () => {
    const jobs = '/v1.0/servicePrincipals/{servicePrincipalId}/synchronization/jobs';
    const statuses = (method: string, path: string) => Object.keys(generated.paths[path][method].responses);
    expect(statuses('post', `${jobs}/{jobId}/start`)).toEqual(['204', '400', '401', '403', '404', '409', '413', '429', '500', '503']);
    expect(statuses('post', jobs)).toEqual(['201', '400', '401', '403', '413', '429', '500']);
    expect(statuses('post', '/notifications')).toEqual(['200', '202', '400', '403']);
    expect(generated.components.responses['404'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/graphError' });
    expect(generated.paths[jobs].post.responses['201'].headers).toHaveProperty('location');
  });

  it('asks for a token with the Synchronization roles on every route but the open ones', () => {
    for (const route of apiRoutes) {
      const security = generated.paths[route.path][route.method.toLowerCase()].security as Array<Record<string, string[]>>;
      if (route.unauthenticated) {
        expect(security, route.path).toEqual([]);
        continue;
      }
      const roles = new Set(security.flatMap((requirement) => Object.values(requirement).flat()));
      expect(roles.has('Synchronization.ReadWrite.All'), route.path).toBe(true);
      expect(roles.has('Synchronization.Read.All'), `${route.method} ${route.path}`).toBe(route.method === 'GET');
    }
    expect(Object.keys(generated.components.securitySchemes.entraId.flows)).toEqual(['clientCredentials']);
  });

  it('has JSON Schema 2020-12 components that compile', () => {
    // The validator checks the document's structure; compiling checks the schemas zod wrote, refs included.
    const compiler = (document: Record<string, any>) => {
      const ajv = new Ajv2020({ strict: true, allErrors: true });
      // The document's own members are not JSON Schema keywords; the schemas inside it are compiled strictly.
      ajv.addVocabulary(Object.keys(document));
      ajv.addSchema(structuredClone(document), 'openapi.json');
      return (name: string) => ajv.getSchema(`openapi.json#/components/schemas/${name}`);
    };
    const compile = compiler(generated);
    for (const name of Object.keys(generated.components.schemas)) expect(compile(name), name).toBeTypeOf('function');
    const broken = structuredClone(generated);
    broken.components.schemas.synchronizationJob.properties.schedule = { $ref: '#/components/schemas/none' };
    expect(() => compiler(broken)('synchronizationJob')).toThrow(/resolve reference/);
  });
});

describe('componentSchemas', () => {
  it('turns zod/mini schemas into components, with named ones as refs (classic and mini schemas alike)', () => {
    const item = z.object({ id: z.string(), note: z.optional(z.nullable(z.string())) });
    const page = z.object({ value: z.array(item), next: z.optional(z.string()) });
    const components = componentSchemas({ item, page }, 'output');
    expect(components.page).toEqual({
      type: 'object',
      properties: { value: { type: 'array', items: { $ref: '#/components/schemas/item' } }, next: { type: 'string' } },
      required: ['value'],
      additionalProperties: false,
    });
    expect(components.item).toMatchObject({ properties: { note: { type: ['string', 'null'] } }, required: ['id'] });
  });

  it('documents what a property with a default accepts (optional) apart from what is answered (always there)', () => {
    const settings = z.object({ enabled: z._default(z.boolean(), true) });
    expect(componentSchemas({ settings }, 'input').settings).not.toHaveProperty('required');
    expect(componentSchemas({ settings }, 'output').settings).toMatchObject({ required: ['enabled'] });
  });

  it('refuses a shared schema it would have to define locally', () => {
    const node: z.ZodMiniType = z.object({ get children() {
      return z.array(node);
    } });
    expect(() => componentSchemas({ tree: z.object({ root: node }) }, 'output')).toThrow(/\$defs/);
  });
});
