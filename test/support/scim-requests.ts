import { expect } from 'vitest';
import type { LocalScimService } from '../../local/scim-service/local-scim-service.ts';

export const userSchema = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const groupSchema = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const patchSchema = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const errorSchema = 'urn:ietf:params:scim:api:messages:2.0:Error';

export type Json = Record<string, any>;

export interface ScimAnswer {
  status: number;
  headers: Headers;
  body: Json | null;
}

export const group = (displayName: string, extra: Json = {}): Json => ({ schemas: [groupSchema], displayName, ...extra });
export const patchOp = (...Operations: Json[]): Json => ({ schemas: [patchSchema], Operations });
export const query = (filter: string): string => `filter=${encodeURIComponent(filter)}`;

/**
 * Requests to a local SCIM service as a client sends them: JSON bodies, the service's bearer token (`''` for none),
 * and the headers given (a User-Agent, say).
 */
export function scimRequests(token: string, headers: Record<string, string> = {}) {
  async function call(service: LocalScimService, method: string, path: string, body?: unknown, bearer = token): Promise<ScimAnswer> {
    const response = await fetch(`${service.url}${path}`, {
      method,
      headers: {
        ...(bearer === '' ? {} : { authorization: `Bearer ${bearer}` }),
        ...headers,
        ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === '' ? null : (JSON.parse(text) as Json) };
  }

  /** Creates a resource, expecting 201; the resource as answered. */
  async function create(service: LocalScimService, type: 'Users' | 'Groups', body: Json): Promise<Json> {
    const answer = await call(service, 'POST', `/${type}`, body);
    expect(answer.status).toBe(201);
    return answer.body as Json;
  }

  return { call, create };
}
