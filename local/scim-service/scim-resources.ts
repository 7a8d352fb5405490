import { randomUUID } from 'node:crypto';
import { scimPatch, ScimError as ScimPatchError, type ScimPatchOperation, type ScimResource } from 'scim-patch';
import type { z } from 'zod';
import type { Clock } from '../../functions/ports/clock.ts';
import { parseAttributeList, projectResource } from './attribute-projection.ts';
import { ResourceCollection } from './resource-collection.ts';
import { badRequest, notFound } from './scim-error.ts';
import { parseScimFilter } from './scim-filter.ts';
import {
  groupBodySchema,
  listResponseSchemaUrn,
  patchBodySchema,
  resourceTypes,
  scimBoolean,
  userBodySchema,
  type GroupMember,
  type ListQuery,
  type PatchOperation,
  type PersistedState,
  type ResourceChange,
  type ResourceEndpoint,
  type StoredResource,
} from './scim-schemas.ts';

type Json = Record<string, unknown>;

/** Attribute selection of a request (RFC 7644 §3.4.2.5). */
export type Selection = Pick<ListQuery, 'attributes' | 'excludedAttributes'>;

const bodySchemas = { Users: userBodySchema, Groups: groupBodySchema } as const;

/** What a profile adds to the generic rules: its id format, and refusals of what a request would store. */
export interface ResourceRules {
  /** The id of a new resource; a random UUID by default. */
  newId?: () => string;
  /**
   * Throws (a ScimServiceError) to refuse a resource a request would store. Not asked when a journal is replayed,
   * since what was once accepted stays accepted.
   */
  check?: (endpoint: ResourceEndpoint, resource: StoredResource, change: 'create' | 'replace' | 'patch') => void;
}

/** Attributes the client never sets: the service assigns or derives them (mutability readOnly / writeOnly). */
const serverOwnedAttributes = new Set(['id', 'meta', 'groups', 'password']);

/**
 * The SCIM resources of the local service: validation, Entra's PATCH quirks, uniqueness and referential
 * integrity over two in-memory collections. HTTP lives in local-scim-service.ts; this class throws ScimServiceError.
 */
export class ScimResources {
  private readonly collections: Record<ResourceEndpoint, ResourceCollection> = {
    Users: new ResourceCollection(resourceTypes.Users),
    Groups: new ResourceCollection(resourceTypes.Groups),
  };
  private readonly canonicalNames: Record<ResourceEndpoint, Map<string, string>> = {
    Users: canonicalNameMap('Users'),
    Groups: canonicalNameMap('Groups'),
  };

  constructor(
    private readonly clock: Clock,
    private readonly maxPageSize: number,
    /** Hears of every change as it is made, in the order made; {@link apply} repeats it. */
    private readonly onChange: (change: ResourceChange) => void,
    private readonly rules: ResourceRules = {},
  ) {}

  /** Loads a persisted state into empty collections. */
  restore(state: PersistedState): void {
    for (const endpoint of endpoints) for (const resource of state[endpoint]) this.collections[endpoint].insert(resource);
  }

  /** Repeats a change `onChange` heard of (replaying a journal), without telling `onChange` again. */
  apply(change: ResourceChange): void {
    const collection = this.collections[change.endpoint];
    switch (change.change) {
      case 'put':
        if (collection.get(change.resource.id) === undefined) collection.insert(change.resource);
        else collection.replace(change.resource);
        return;
      case 'patch':
        collection.replace(this.patched(change.endpoint, change.id, change.operations, change.lastModified));
        return;
      case 'delete':
        if (collection.remove(change.id)) this.removeMemberEverywhere(change.id);
    }
  }

  snapshot(): PersistedState {
    return { Users: [...this.collections.Users.values()], Groups: [...this.collections.Groups.values()] };
  }

  create(endpoint: ResourceEndpoint, body: unknown): StoredResource {
    const now = this.clock.now().toISOString();
    const id = this.rules.newId?.() ?? randomUUID();
    const resource = this.validate(endpoint, body, id, { resourceType: resourceTypes[endpoint].name, created: now, lastModified: now });
    this.rules.check?.(endpoint, resource, 'create');
    this.collections[endpoint].insert(resource);
    this.onChange({ change: 'put', endpoint, resource });
    return resource;
  }

  find(endpoint: ResourceEndpoint, id: string): StoredResource | undefined {
    return this.collections[endpoint].get(id);
  }

  get(endpoint: ResourceEndpoint, id: string): StoredResource {
    const resource = this.find(endpoint, id);
    if (resource === undefined) throw notFound(`${resourceTypes[endpoint].name} ${id} not found.`);
    return resource;
  }

  replace(endpoint: ResourceEndpoint, id: string, body: unknown): StoredResource {
    const previous = this.get(endpoint, id);
    const resource = this.validate(endpoint, body, id, { ...previous.meta, lastModified: this.clock.now().toISOString() });
    this.rules.check?.(endpoint, resource, 'replace');
    this.collections[endpoint].replace(resource);
    this.onChange({ change: 'put', endpoint, resource });
    return resource;
  }

  patch(endpoint: ResourceEndpoint, id: string, body: unknown): StoredResource {
    this.get(endpoint, id);
    const parsed = patchBodySchema.safeParse(body);
    if (!parsed.success) throw badRequest('invalidSyntax', `The PATCH body is not a PatchOp message: ${parsed.error.message}`);
    const operations = parsed.data.Operations;
    const resource = this.patched(endpoint, id, operations, this.clock.now().toISOString());
    this.rules.check?.(endpoint, resource, 'patch');
    this.collections[endpoint].replace(resource);
    this.onChange({ change: 'patch', endpoint, id, operations, lastModified: resource.meta.lastModified });
    return resource;
  }

  delete(endpoint: ResourceEndpoint, id: string): void {
    if (!this.collections[endpoint].remove(id)) throw notFound(`${resourceTypes[endpoint].name} ${id} not found.`);
    this.removeMemberEverywhere(id);
    this.onChange({ change: 'delete', endpoint, id });
  }

  list(endpoint: ResourceEndpoint, request: ListQuery, render: (resource: StoredResource) => Json): Json {
    const startIndex = Math.max(1, request.startIndex ?? 1);
    const count = Math.min(this.maxPageSize, Math.max(0, request.count ?? this.maxPageSize));
    const filter = request.filter === undefined || request.filter.trim() === '' ? null : parseScimFilter(request.filter);
    const page = this.collections[endpoint].query(filter, startIndex, count);
    const select = this.selector(endpoint, request);
    return {
      schemas: [listResponseSchemaUrn],
      totalResults: page.totalResults,
      startIndex,
      itemsPerPage: page.resources.length,
      Resources: page.resources.map((resource) => select(render(resource))),
    };
  }

  /** The projection a request's `attributes` / `excludedAttributes` ask for. */
  selector(endpoint: ResourceEndpoint, selection: Selection): (resource: Json) => Json {
    const attributes = parseAttributeList(selection.attributes, resourceTypes[endpoint]);
    const excluded = parseAttributeList(selection.excludedAttributes, resourceTypes[endpoint]);
    if (attributes.length === 0 && excluded.length === 0) return (resource) => resource;
    return (resource) => projectResource(resource, attributes, excluded);
  }

  /** The resource as `operations` leave it, validated but not stored. */
  private patched(endpoint: ResourceEndpoint, id: string, operations: PatchOperation[], lastModified: string): StoredResource {
    const previous = this.get(endpoint, id);
    let patched: Json;
    try {
      const options = { mutateDocument: false, treatMissingAsAdd: true };
      patched = { ...scimPatch(previous as unknown as ScimResource, normaliseOperations(operations), options) };
    } catch (error) {
      if (error instanceof ScimPatchError) throw badRequest(error.scimCode ?? 'invalidValue', error.message);
      throw error;
    }
    const { id: _id, meta: _meta, ...attributes } = patched;
    return this.validate(endpoint, attributes, id, { ...previous.meta, lastModified });
  }

  private validate(endpoint: ResourceEndpoint, body: unknown, id: string, meta: StoredResource['meta']): StoredResource {
    const schema: z.ZodType<Json> = bodySchemas[endpoint];
    const parsed = schema.safeParse(this.canonicalise(endpoint, body));
    if (!parsed.success) {
      const detail = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ');
      throw badRequest('invalidValue', `The ${resourceTypes[endpoint].name} is not valid: ${detail}`);
    }
    const attributes: Json = {};
    for (const [key, value] of Object.entries(parsed.data)) {
      if (!serverOwnedAttributes.has(key) && value !== null) attributes[key] = value;
    }
    if (Array.isArray(attributes.members)) attributes.members = distinctMembers(attributes.members as GroupMember[]);
    return { id, ...attributes, meta } as StoredResource;
  }

  /** Attribute names are case-insensitive (RFC 7643 §2.1); store them under the schema's spelling. */
  private canonicalise(endpoint: ResourceEndpoint, body: unknown): unknown {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
    const names = this.canonicalNames[endpoint];
    const result: Json = {};
    for (const [key, value] of Object.entries(body)) result[names.get(key.toLowerCase()) ?? key] = value;
    return result;
  }

  private removeMemberEverywhere(id: string): void {
    for (const group of this.collections.Groups.values()) {
      const members = group.members as GroupMember[] | undefined;
      if (members?.some((member) => member.value === id)) {
        this.collections.Groups.replace({ ...group, members: members.filter((member) => member.value !== id) });
      }
    }
  }
}

const endpoints: ResourceEndpoint[] = ['Users', 'Groups'];

function canonicalNameMap(endpoint: ResourceEndpoint): Map<string, string> {
  const type = resourceTypes[endpoint];
  const names = ['schemas', 'id', 'externalId', 'meta', ...type.extensions, ...type.attributes.map((attribute) => attribute.name)];
  return new Map(names.map((name) => [name.toLowerCase(), name]));
}

function distinctMembers(members: GroupMember[]): GroupMember[] {
  const byValue = new Map<string, GroupMember>();
  for (const { $ref, ...member } of members) byValue.set(member.value, $ref == null ? member : { ...member, $ref });
  return [...byValue.values()];
}

function isActivePath(path: string | undefined): boolean {
  return path !== undefined && /^(urn:ietf:params:scim:schemas:core:2\.0:user:)?active$/i.test(path);
}

function asBoolean(value: unknown): unknown {
  const parsed = scimBoolean.safeParse(value);
  return parsed.success ? parsed.data : value;
}

/**
 * Entra's default PATCH forms, rewritten to the RFC forms scim-patch applies: `"True"`/`"False"` for active become
 * booleans, and `remove` of `members` with a value list (which scim-patch compares as whole objects, so `$ref: null`
 * never matches) becomes one `members[value eq "id"]` removal per member.
 */
function normaliseOperations(operations: PatchOperation[]): ScimPatchOperation[] {
  return operations.flatMap((operation): ScimPatchOperation[] => {
    const { op, path, value } = operation;
    if (op === 'remove') {
      if (path === undefined) throw badRequest('noTarget', 'A remove operation needs a path.');
      if (/^members$/i.test(path) && Array.isArray(value)) {
        return value.map((member) => {
          const memberId = (member as { value?: unknown } | null)?.value;
          if (typeof memberId !== 'string') throw badRequest('invalidValue', 'Each member to remove needs a string value.');
          return { op, path: `members[value eq ${JSON.stringify(memberId)}]` };
        });
      }
      return [{ op, path }];
    }
    if (isActivePath(path)) return [{ op, path, value: asBoolean(value) }];
    if (path === undefined && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const entries = Object.entries(value).map(([key, item]) => [key, isActivePath(key) ? asBoolean(item) : item]);
      return [{ op, value: Object.fromEntries(entries) }];
    }
    return [{ op, ...(path === undefined ? {} : { path }), value }];
  });
}
