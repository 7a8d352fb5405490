import { describe, expect, it } from 'vitest';
import {
  ScimRequestError,
  TargetUnavailableError,
  type ScimCursorPage,
  type ScimListPage,
  type ScimResource,
  type ScimResourceType,
  type ScimTarget,
  type TargetTraits,
} from '../../functions/ports/scim-target.ts';
import { ThrottledError } from '../../functions/ports/throttled-error.ts';
import { TargetMatcher } from '../../functions/use-cases/target-matcher.ts';

/** How the fake target lists; each one is a target seen in the field. */
interface Listing {
  /** Largest page it answers with, whatever `count` asks. */
  maxPage?: number;
  /** `totalResults` as the page size instead of the number of matches (scim2-server). */
  totalIsPageSize?: boolean;
  /** Always answers from the first account. */
  ignoresStartIndex?: boolean;
  /** Fails every listing request with this error (AWS IAM Identity Center answers 400 to a count over 100). */
  fails?: () => Error;
  /**
   * How it takes a `cursor`: pages by it (RFC 9865, Identity Center), ignores it and answers the first page in
   * index form (most RFC 7644 servers, the default), or refuses it.
   */
  cursor?: 'pages' | 'ignored' | 'refused';
  /** What earlier runs learned. */
  traits?: TargetTraits;
}

function fakeTarget(count: number, listing: Listing = {}) {
  const users: ScimResource[] = Array.from({ length: count }, (_, i) => ({ id: `id-${i}`, userName: `User${i}@Contoso.com` }));
  const lists: { startIndex: number; count: number }[] = [];
  const cursorLists: { cursor: string; count: number }[] = [];
  const traits: TargetTraits = { ...listing.traits };
  const finds: string[] = [];
  const unsupported = async (): Promise<never> => {
    throw new Error('not used by the matcher');
  };
  const target: ScimTarget = {
    async list(_type: ScimResourceType, _attributes: string[], startIndex: number, asked: number): Promise<ScimListPage> {
      lists.push({ startIndex, count: asked });
      if (listing.fails) throw listing.fails();
      const from = listing.ignoresStartIndex ? 0 : startIndex - 1;
      const resources = users.slice(from, from + Math.min(asked, listing.maxPage ?? Infinity));
      return { resources, totalResults: listing.totalIsPageSize ? resources.length : users.length };
    },
    async listByCursor(_type: ScimResourceType, _attributes: string[], cursor: string, asked: number): Promise<ScimCursorPage> {
      cursorLists.push({ cursor, count: asked });
      const mode = listing.cursor ?? 'ignored';
      if (mode === 'refused') throw new ScimRequestError('GET /Users answered 400: cursor is not supported', 400);
      const from = mode === 'ignored' || cursor === '' ? 0 : Number(cursor.slice('after-'.length));
      const resources = users.slice(from, from + Math.min(asked, listing.maxPage ?? Infinity));
      if (mode === 'ignored') return { resources, nextCursor: null, totalResults: users.length, ignoredCursor: true };
      const next = from + resources.length;
      return { resources, nextCursor: next < users.length ? `after-${next}` : null, totalResults: null, ignoredCursor: false };
    },
    async findBy(_type, attribute, value) {
      finds.push(value);
      return users.find((user) => String(user[attribute]).toLowerCase() === value.toLowerCase()) ?? null;
    },
    get: unsupported,
    groupMembers: unsupported,
    usersInGroup: unsupported,
    create: unsupported,
    patch: unsupported,
    delete: unsupported,
    traits: () => ({ ...traits }),
    learn: (learned) => void Object.assign(traits, learned),
  };
  return { target, users, lists, cursorLists, finds, traits };
}

/** Prepares, then matches every account and one that does not exist; the ids found, in order. */
async function matchAll(matcher: TargetMatcher, users: ScimResource[]) {
  await matcher.prepare('Users', 'userName', users.length + 1);
  const found: (string | null)[] = [];
  for (const user of users) found.push(await matcher.find('Users', 'userName', String(user.userName).toUpperCase()));
  found.push(await matcher.find('Users', 'userName', 'nobody@contoso.com'));
  return found;
}

const ids = (users: ScimResource[]) => [...users.map((user) => user.id), null];
const options = { pageSize: 10, minCreates: 1 };

describe('TargetMatcher', () => {
  it.each<[string, number, Listing, number[]]>([
    ['an honest target, up to the short last page', 25, {}, [1, 11, 21]],
    ['an honest target whose accounts fill the last page exactly, up to the empty page', 20, {}, [1, 11, 21]],
    ['a target that pages by a smaller size of its own', 10, { maxPage: 4 }, [1, 5, 9]],
    ['a target that reports the page size as totalResults', 25, { totalIsPageSize: true }, [1, 11, 21]],
    ['a target that caps pages and reports the page size as totalResults', 9, { maxPage: 4, totalIsPageSize: true }, [1, 5, 9]],
    ['an empty target', 0, {}, [1]],
  ])('indexes every account of %s', async (_, count, listing, startIndexes) => {
    const { target, users, lists, finds } = fakeTarget(count, listing);
    expect(await matchAll(new TargetMatcher(target, options), users)).toEqual(ids(users));
    expect(lists.map((request) => request.startIndex)).toEqual(startIndexes);
    expect(finds).toEqual([]);
  });

  it.each<[string, Listing]>([
    ['ignores startIndex', { ignoresStartIndex: true }],
    ['ignores startIndex and pages by a size of its own', { ignoresStartIndex: true, maxPage: 4 }],
    ['refuses the listing with 400', { fails: () => new ScimRequestError('GET /Users answered 400: startIndex is not supported', 400) }],
    ['answers the listing with something unreadable', { fails: () => new ScimRequestError('GET /Users answered something other than a ListResponse', 200) }],
    ['fails the listing in a way nobody foresaw', { fails: () => new TypeError('Cannot read properties of undefined') }],
  ])('matches object by object on a target that %s and ignores a cursor, and lists no more, in later runs neither', async (_, listing) => {
    const { target, users, lists, cursorLists, finds, traits } = fakeTarget(12, listing);
    const matcher = new TargetMatcher(target, options);
    expect(await matchAll(matcher, users)).toEqual(ids(users));
    expect(finds).toHaveLength(13);
    expect(cursorLists).toHaveLength(1);
    expect(traits).toEqual({ listing: 'none' });
    const listed = lists.length;
    await matcher.prepare('Users', 'externalId', 100);
    await new TargetMatcher(target, options).prepare('Users', 'userName', 100);
    expect(lists).toHaveLength(listed);
    expect(cursorLists).toHaveLength(1);
  });

  it.each<[string, Listing]>([
    ['refuses the index listing (AWS IAM Identity Center, to a count over 100)', { fails: () => new ScimRequestError('GET /Users answered 400: startIndex is not supported', 400), cursor: 'pages' }],
    ['ignores startIndex', { ignoresStartIndex: true, cursor: 'pages' }],
    ['ignores startIndex and pages by cursor in pages of its own size', { ignoresStartIndex: true, cursor: 'pages', maxPage: 7 }],
  ])('indexes every account of a target that %s by cursor, and later runs page by cursor at once', async (_, listing) => {
    const { target, users, lists, cursorLists, finds, traits } = fakeTarget(250, listing);
    expect(await matchAll(new TargetMatcher(target, options), users)).toEqual(ids(users));
    expect(finds).toEqual([]);
    expect(cursorLists[0]).toEqual({ cursor: '', count: 100 });
    expect(cursorLists.every((request) => request.count <= 100)).toBe(true);
    expect(traits).toEqual({ listing: 'cursor' });

    const listed = lists.length;
    const pagesBefore = cursorLists.length;
    expect(await matchAll(new TargetMatcher(target, options), users)).toEqual(ids(users));
    expect(lists).toHaveLength(listed);
    expect(cursorLists.length - pagesBefore).toBe(pagesBefore);
  });

  it('does not take a cursor page without a next cursor for the last when it counts more accounts than were listed', async () => {
    const { target, users, finds, traits } = fakeTarget(30, { fails: () => new ScimRequestError('400', 400), cursor: 'pages', maxPage: 10 });
    const listByCursor = target.listByCursor.bind(target);
    target.listByCursor = async (...args) => ({ ...(await listByCursor(...args)), nextCursor: null, totalResults: 30 });
    expect(await matchAll(new TargetMatcher(target, options), users.slice(0, 5))).toEqual(ids(users.slice(0, 5)));
    expect(finds).toHaveLength(6);
    expect(traits).toEqual({ listing: 'none' });
  });

  it('starts with startIndex on a target learned to take it, and learns it on the first listing', async () => {
    const { target, users, cursorLists, traits } = fakeTarget(25, {});
    expect(await matchAll(new TargetMatcher(target, options), users)).toEqual(ids(users));
    expect(traits).toEqual({ listing: 'startIndex' });
    expect(cursorLists).toEqual([]);
  });

  it.each<[string, () => Error]>([
    ['ThrottledError', () => new ThrottledError('GET /Users answered 429', 'target', new Date())],
    ['TargetUnavailableError', () => new TargetUnavailableError('GET /Users: the target refused the credentials (401)')],
  ])('lets %s escape prepare, and lists again on the next prepare', async (_, failure) => {
    let failing = true;
    const { target, users, lists } = fakeTarget(5, {});
    const list = target.list.bind(target);
    target.list = async (...args) => {
      if (failing) throw failure();
      return list(...args);
    };
    const matcher = new TargetMatcher(target, options);
    await expect(matcher.prepare('Users', 'userName', 10)).rejects.toBeInstanceOf(failure().constructor);
    failing = false;
    expect(await matchAll(matcher, users)).toEqual(ids(users));
    expect(lists.length).toBeGreaterThan(0);
  });

  it('falls back when the target says it holds more than maxIndexed, and when its pages keep going past it', async () => {
    const big = fakeTarget(30, {});
    const told = new TargetMatcher(big.target, { ...options, maxIndexed: 20 });
    expect(await matchAll(told, big.users)).toEqual(ids(big.users));
    expect(big.lists).toHaveLength(1);
    expect(big.finds).toHaveLength(31);

    const lying = fakeTarget(30, { totalIsPageSize: true });
    const found = new TargetMatcher(lying.target, { ...options, maxIndexed: 20 });
    expect(await matchAll(found, lying.users)).toEqual(ids(lying.users));
    expect(lying.lists).toHaveLength(3);
    expect(lying.finds).toHaveLength(31);
  });

  it('matches object by object when a page has few creates or the attribute is not a plain one', async () => {
    const { target, lists, finds } = fakeTarget(3, {});
    const matcher = new TargetMatcher(target, { pageSize: 10, minCreates: 20 });
    await matcher.prepare('Users', 'userName', 19);
    await matcher.prepare('Users', 'emails[type eq "work"].value', 50);
    expect(lists).toEqual([]);
    expect(await matcher.find('Users', 'userName', 'user1@contoso.com')).toBe('id-1');
    expect(finds).toEqual(['user1@contoso.com']);
  });

  it('remembers the accounts the run creates in the index', async () => {
    const { target, users, finds } = fakeTarget(3, {});
    const matcher = new TargetMatcher(target, options);
    await matcher.prepare('Users', 'userName', 10);
    matcher.remember('Users', 'userName', 'New@Contoso.com', 'id-new');
    expect(await matcher.find('Users', 'userName', 'new@contoso.com')).toBe('id-new');
    expect(await matcher.find('Users', 'userName', String(users[0]!.userName))).toBe('id-0');
    expect(finds).toEqual([]);
  });
});
