import { TargetUnavailableError, type ScimResource, type ScimResourceType, type ScimTarget } from '../ports/scim-target.ts';
import { ThrottledError } from '../ports/throttled-error.ts';

export interface TargetMatcherOptions {
  /** Resources per listing request. */
  pageSize?: number;
  /** A larger target is matched object by object instead of held in memory. */
  maxIndexed?: number;
  /** Fewer creates than this in a page are matched object by object (a listing would cost more). */
  minCreates?: number;
}

/** Resources per request of a cursor listing: AWS IAM Identity Center answers at most 100 and refuses more. */
const cursorPageSize = 100;

/** What a listing came to: every account by its value, too many to hold, or no complete listing this way. */
type Listed = Map<string, string> | 'tooLarge' | 'unpageable';

/** Adds a page's accounts to the index; false when one was seen already (the pages cannot be trusted). */
function indexPage(page: readonly ScimResource[], attribute: string, index: Map<string, string>, seen: Set<string>): boolean {
  for (const resource of page) {
    if (seen.has(resource.id)) return false;
    seen.add(resource.id);
    const value = resource[attribute];
    if (typeof value === 'string') index.set(value.toLowerCase(), resource.id);
  }
  return true;
}

/**
 * Finds the target account an object about to be created should adopt. One filter query per object (Entra's
 * way) doubles the requests of an initial sync, so when a page holds many creates, the target is listed once,
 * page by page, into an index of the matching attribute. Values compare case-insensitively, as `userName` does in
 * SCIM.
 *
 * A listing pages by `startIndex` (RFC 7644) or, when the target refuses that or ignores it, by cursor (RFC 9865,
 * as AWS IAM Identity Center does); the way that worked is kept in the target's traits, so later runs go straight
 * to it. An index listing ends on an empty page, or one shorter than an earlier page (a target pages by a size of
 * its own): `totalResults` is never taken for the end, since some targets report the page size there. A listing
 * that is refused, unreadable or repeats an account (the target ignores where to start) is not trusted; when
 * neither way lists completely, accounts are matched by filter queries, and so in later runs too.
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

  /**
   * Builds the index for an attribute when `creates` objects of a page are about to be matched on it.
   * @throws ThrottledError or TargetUnavailableError only: any other failure of the listing falls back to filter
   * queries, and a throttled listing is tried again by the next prepare.
   */
  async prepare(type: ScimResourceType, attribute: string, creates: number): Promise<void> {
    const key = `${type}|${attribute}`;
    if (creates < this.minCreates || this.indexes.has(key)) return;
    this.indexes.set(key, /^[A-Za-z][\w-]*$/.test(attribute) ? await this.tryListAll(type, attribute) : null);
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
    const known = this.target.traits().listing;
    const ways = known === 'none' ? [] : known === 'cursor' ? (['cursor', 'startIndex'] as const) : (['startIndex', 'cursor'] as const);
    for (const way of ways) {
      let listed: Listed;
      try {
        listed = way === 'cursor' ? await this.listByCursor(type, attribute) : await this.listByIndex(type, attribute);
      } catch (error) {
        if (error instanceof ThrottledError || error instanceof TargetUnavailableError) throw error;
        listed = 'unpageable';
      }
      if (listed === 'unpageable') continue;
      this.target.learn({ listing: way });
      return listed === 'tooLarge' ? null : listed;
    }
    this.target.learn({ listing: 'none' });
    return null;
  }

  private async listByIndex(type: ScimResourceType, attribute: string): Promise<Listed> {
    const index = new Map<string, string>();
    const seen = new Set<string>();
    let startIndex = 1;
    let longestPage = 0;
    for (;;) {
      const page = await this.target.list(type, [attribute], startIndex, this.pageSize);
      // A total can be too low, never believed for the end; one above the limit is believed (listing costs).
      if (page.totalResults > this.maxIndexed) return 'tooLarge';
      if (page.resources.length === 0) return index;
      if (!indexPage(page.resources, attribute, index, seen)) return 'unpageable';
      if (seen.size > this.maxIndexed) return 'tooLarge';
      if (page.resources.length < longestPage) return index;
      longestPage = page.resources.length;
      startIndex += page.resources.length;
    }
  }

  private async listByCursor(type: ScimResourceType, attribute: string): Promise<Listed> {
    const index = new Map<string, string>();
    const seen = new Set<string>();
    let cursor = '';
    for (;;) {
      const page = await this.target.listByCursor(type, [attribute], cursor, cursorPageSize);
      if (page.ignoredCursor) return 'unpageable';
      if (page.totalResults !== null && page.totalResults > this.maxIndexed) return 'tooLarge';
      if (!indexPage(page.resources, attribute, index, seen)) return 'unpageable';
      if (seen.size > this.maxIndexed) return 'tooLarge';
      // The last page: unless it says there are more than were listed.
      if (page.nextCursor === null) return page.totalResults !== null && page.totalResults > seen.size ? 'unpageable' : index;
      if (page.nextCursor === cursor) return 'unpageable';
      cursor = page.nextCursor;
    }
  }
}
