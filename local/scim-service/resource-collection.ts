import { compileScimFilter, requiredEquality, type Filter } from './scim-filter.ts';
import { uniquenessConflict } from './scim-error.ts';
import type { ResourceTypeDefinition, StoredResource } from './scim-schemas.ts';

/** One page of a query: the matches on this page and how many there are in all. */
export interface QueryPage {
  resources: StoredResource[];
  totalResults: number;
}

/**
 * The resources of one type, in memory, in creation order, with indexes on `id`, the unique attribute
 * (lower-cased, since userName and group displayName are caseExact=false) and `externalId`, so that the
 * filters Entra sends (`userName eq`, `externalId eq`, `displayName eq`) never scan.
 */
export class ResourceCollection {
  private readonly byId = new Map<string, StoredResource>();
  private readonly byUniqueValue = new Map<string, string>();
  private readonly byExternalId = new Map<string, Set<string>>();
  /** Creation order as an array for O(1) paging; rebuilt lazily after deletes. */
  private order: string[] | null = [];

  constructor(readonly type: ResourceTypeDefinition) {}

  get(id: string): StoredResource | undefined {
    return this.byId.get(id);
  }

  values(): IterableIterator<StoredResource> {
    return this.byId.values();
  }

  /** Adds a new resource; 409 `uniqueness` when its unique attribute is taken. */
  insert(resource: StoredResource): void {
    this.assertUnique(resource);
    this.byId.set(resource.id, resource);
    this.indexResource(resource);
    this.order?.push(resource.id);
  }

  /** Replaces a stored resource by id; 409 `uniqueness` when the new unique value belongs to another one. */
  replace(resource: StoredResource): void {
    const previous = this.byId.get(resource.id);
    if (previous === undefined) throw new Error(`No ${this.type.name} ${resource.id} to replace`);
    this.assertUnique(resource);
    this.unindexResource(previous);
    this.byId.set(resource.id, resource);
    this.indexResource(resource);
  }

  remove(id: string): boolean {
    const previous = this.byId.get(id);
    if (previous === undefined) return false;
    this.unindexResource(previous);
    this.byId.delete(id);
    this.order = null;
    return true;
  }

  /** Matches of `filter` (all when null), from the 1-based `startIndex`, at most `count`. */
  query(filter: Filter | null, startIndex: number, count: number): QueryPage {
    const offset = startIndex - 1;
    if (filter === null) {
      const order = this.creationOrder();
      const resources = order.slice(offset, offset + count).map((id) => this.byId.get(id) as StoredResource);
      return { resources, totalResults: order.length };
    }
    const matches = compileScimFilter(filter);
    const all = [...this.candidates(filter)].filter(matches);
    return { resources: all.slice(offset, offset + count), totalResults: all.length };
  }

  private candidates(filter: Filter): Iterable<StoredResource> {
    const equality = requiredEquality(filter);
    if (equality === null) return this.byId.values();
    const { attribute, value } = equality;
    const pickIds = (ids: Iterable<string>): StoredResource[] =>
      [...ids].map((id) => this.byId.get(id)).filter((resource) => resource !== undefined);
    if (attribute === 'id') return pickIds([value]);
    if (attribute === this.type.uniqueAttribute.toLowerCase()) {
      const id = this.byUniqueValue.get(value.toLowerCase());
      return pickIds(id === undefined ? [] : [id]);
    }
    if (attribute === 'externalid') return pickIds(this.byExternalId.get(value) ?? []);
    return this.byId.values();
  }

  private creationOrder(): string[] {
    this.order ??= [...this.byId.keys()];
    return this.order;
  }

  private uniqueKey(resource: StoredResource): string {
    return String(resource[this.type.uniqueAttribute]).toLowerCase();
  }

  private assertUnique(resource: StoredResource): void {
    const holder = this.byUniqueValue.get(this.uniqueKey(resource));
    if (holder !== undefined && holder !== resource.id) {
      throw uniquenessConflict(
        `A ${this.type.name} with ${this.type.uniqueAttribute} '${String(resource[this.type.uniqueAttribute])}' already exists.`,
      );
    }
  }

  private indexResource(resource: StoredResource): void {
    this.byUniqueValue.set(this.uniqueKey(resource), resource.id);
    if (typeof resource.externalId === 'string') {
      const ids = this.byExternalId.get(resource.externalId) ?? new Set<string>();
      ids.add(resource.id);
      this.byExternalId.set(resource.externalId, ids);
    }
  }

  private unindexResource(resource: StoredResource): void {
    this.byUniqueValue.delete(this.uniqueKey(resource));
    if (typeof resource.externalId === 'string') {
      const ids = this.byExternalId.get(resource.externalId);
      ids?.delete(resource.id);
      if (ids?.size === 0) this.byExternalId.delete(resource.externalId);
    }
  }
}
