import { TargetUnavailableError, type ScimResourceType, type ScimTarget } from '../ports/scim-target.ts';
import { ThrottledError } from '../ports/throttled-error.ts';

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
 * page by page, into an index of the matching attribute. Values compare case-insensitively, as `userName` does in
 * SCIM.
 *
 * The listing pages until the target has no more: an empty page, or one shorter than an earlier page (a target
 * pages by a size of its own). `totalResults` is never taken for the end, since some targets report the page size
 * there. A target that refuses the listing (AWS IAM Identity Center answers 400 to `startIndex`), answers it with
 * something unreadable, or pages wrongly (the same account twice: it ignores `startIndex`) is matched object by
 * object with filter queries instead, for the rest of the run.
 */
export class TargetMatcher {
  private readonly indexes = new Map<string, Map<string, string> | null>();
  /** Resource types this run matches object by object, since their listing cannot be used. */
  private readonly unlisted = new Set<ScimResourceType>();
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

  /**
   * Builds the index for an attribute when `creates` objects of a page are about to be matched on it.
   * @throws ThrottledError or TargetUnavailableError only: any other failure of the listing falls back to filter
   * queries, and a throttled listing is tried again by the next prepare.
   */
  async prepare(type: ScimResourceType, attribute: string, creates: number): Promise<void> {
    const key = `${type}|${attribute}`;
    if (creates < this.minCreates || this.indexes.has(key)) return;
    const index = this.unlisted.has(type) || !/^[A-Za-z][\w-]*$/.test(attribute) ? null : await this.tryListAll(type, attribute);
    this.indexes.set(key, index);
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

  private async tryListAll(type: ScimResourceType, attribute: string): Promise<Map<string, string> | null> {
    let index: Map<string, string> | null;
    try {
      index = await this.listAll(type, attribute);
    } catch (error) {
      if (error instanceof ThrottledError || error instanceof TargetUnavailableError) throw error;
      index = null;
    }
    if (index === null) this.unlisted.add(type);
    return index;
  }

  /** Every account of the type by its attribute value, or null when the listing cannot be trusted as complete. */
  private async listAll(type: ScimResourceType, attribute: string): Promise<Map<string, string> | null> {
    const index = new Map<string, string>();
    const seen = new Set<string>();
    let startIndex = 1;
    let longestPage = 0;
    for (;;) {
      const page = await this.target.list(type, [attribute], startIndex, this.pageSize);
      // A total can be too low, never believed for the end; one above the limit is believed (listing costs).
      if (page.totalResults > this.maxIndexed) return null;
      if (page.resources.length === 0) return index;
      for (const resource of page.resources) {
        // The same account again: the target ignores startIndex (or shifted under us); its pages cannot be trusted.
        if (seen.has(resource.id)) return null;
        seen.add(resource.id);
        const value = resource[attribute];
        if (typeof value === 'string') index.set(value.toLowerCase(), resource.id);
      }
      if (seen.size > this.maxIndexed) return null;
      if (page.resources.length < longestPage) return index;
      longestPage = page.resources.length;
      startIndex += page.resources.length;
    }
  }
}
