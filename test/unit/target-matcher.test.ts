import { describe, expect, it } from 'vitest';
import {
  ScimRequestError,
  TargetUnavailableError,
  type ScimListPage,
  type ScimResource,
  type ScimResourceType,
  type ScimTarget,
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
  /** Fails every listing request with this error (AWS IAM Identity Center answers 400 to startIndex). */
  fails?: () => Error;
}

function fakeTarget(count: number, listing: Listing = {}) {
  const users: ScimResource[] = Array.from({ length: count }, (_, i) => ({ id: `id-${i}`, userName: `User${i}@Contoso.com` }));
  const lists: { startIndex: number; count: number }[] = [];
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
    async findBy(_type, attribute, value) {
      finds.push(value);
      return users.find((user) => String(user[attribute]).toLowerCase() === value.toLowerCase()) ?? null;
    },
    get: unsupported,
    groupMembers: unsupported,
    create: unsupported,
    patch: unsupported,
    delete: unsupported,
  };
  return { target, users, lists, finds };
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
    ['refuses the listing with 400 (AWS IAM Identity Center)', { fails: () => new ScimRequestError('GET /Users answered 400: startIndex is not supported', 400) }],
    ['answers the listing with something unreadable', { fails: () => new ScimRequestError('GET /Users answered something other than a ListResponse', 200) }],
    ['fails the listing in a way nobody foresaw', { fails: () => new TypeError('Cannot read properties of undefined') }],
  ])('matches object by object on a target that %s, and lists no more this run', async (_, listing) => {
    const { target, users, lists, finds } = fakeTarget(12, listing);
    const matcher = new TargetMatcher(target, options);
    expect(await matchAll(matcher, users)).toEqual(ids(users));
    expect(finds).toHaveLength(13);
    const listed = lists.length;
    await matcher.prepare('Users', 'externalId', 100);
    expect(lists).toHaveLength(listed);
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
