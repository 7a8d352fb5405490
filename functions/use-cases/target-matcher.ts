import type { ScimResourceType, ScimTarget } from '../ports/scim-target.ts';

export interface TargetMatcherOptions {
  /** Resources per listing request. */
  pageSize?: number;
  /** A larger target is matched object by object instead of held in memory. */
  maxIndexed?: number;
  /** Fewer creates than this in a page are matched object by object (a listing would cost more). */
  minCreates?: number;
}

/**
 * Finds the target account an object about to be created should adopt. One filter query per object (Entra's
 * way) doubles the requests of an initial sync, so when a page holds many creates, the target is listed once,
 * page by page, into an index of the matching attribute; a target that caps or refuses listing falls back to
 * the per-object filter query. Values compare case-insensitively, as `userName` does in SCIM.
 */
export class TargetMatcher {
  private readonly indexes = new Map<string, Map<string, string> | null>();
  private readonly pageSize: number;
  private readonly maxIndexed: number;
  private readonly minCreates: number;

  constructor(
    private readonly target: ScimTarget,
    options: TargetMatcherOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 1000;
    this.maxIndexed = options.maxIndexed ?? 200_000;
    this.minCreates = options.minCreates ?? 20;
  }

  /** Builds the index for an attribute when `creates` objects of a page are about to be matched on it. */
  async prepare(type: ScimResourceType, attribute: string, creates: number): Promise<void> {
    const key = `${type}|${attribute}`;
    if (creates < this.minCreates || this.indexes.has(key)) return;
    this.indexes.set(key, /^[A-Za-z][\w-]*$/.test(attribute) ? await this.listAll(type, attribute) : null);
  }

  /** The id of the existing account with this value, or null when there is none. */
  async find(type: ScimResourceType, attribute: string, value: string): Promise<string | null> {
    const index = this.indexes.get(`${type}|${attribute}`);
    if (index) return index.get(value.toLowerCase()) ?? null;
    return (await this.target.findBy(type, attribute, value))?.id ?? null;
  }

  /** Records an account this run created, so a later page matches it without asking the target. */
  remember(type: ScimResourceType, attribute: string, value: string, id: string): void {
    this.indexes.get(`${type}|${attribute}`)?.set(value.toLowerCase(), id);
  }

  private async listAll(type: ScimResourceType, attribute: string): Promise<Map<string, string> | null> {
    const index = new Map<string, string>();
    let startIndex = 1;
    for (;;) {
      const page = await this.target.list(type, [attribute], startIndex, this.pageSize);
      if (page.totalResults > this.maxIndexed) return null;
      for (const resource of page.resources) {
        const value = resource[attribute];
        if (typeof value === 'string') index.set(value.toLowerCase(), resource.id);
      }
      startIndex += page.resources.length;
      if (startIndex > page.totalResults) return index;
      // A page that stops short of the total means the target caps its listing: it cannot be trusted as complete.
      if (page.resources.length === 0) return null;
    }
  }
}
