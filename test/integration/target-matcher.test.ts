import { afterEach, describe, expect, it } from 'vitest';
import { HttpScimTarget } from '../../functions/adapters/scim/http-scim-target.ts';
import { ThrottledError } from '../../functions/ports/throttled-error.ts';
import { TargetMatcher } from '../../functions/use-cases/target-matcher.ts';
import { startLocalScimService, type LocalScimService, type ScimListingQuirks } from '../../local/scim-service/local-scim-service.ts';

const token = 'target-matcher-test-token';
const userSchema = 'urn:ietf:params:scim:schemas:core:2.0:User';

let service: LocalScimService | undefined;
let target: HttpScimTarget | undefined;
afterEach(async () => {
  await target?.close();
  await service?.close();
  target = service = undefined;
});

/** A local SCIM service answering with `listing`, pages of at most 4, holding 10 users; and the ids it gave them. */
async function targetWith(listing: ScimListingQuirks) {
  service = await startLocalScimService({ token, recordRequests: true, maxPageSize: 4, listing });
  target = new HttpScimTarget({ baseUrl: service.url, token, sleep: async () => undefined });
  const ids = new Map<string, string>();
  for (let i = 0; i < 10; i += 1) {
    const userName = `user${i}@contoso.com`;
    ids.set(userName, (await target.create('Users', { schemas: [userSchema], userName, active: true })).id);
  }
  service.clearRequests();
  return { service, target, ids };
}

/** Prepares a matcher for a page of many creates, then matches every user and one unknown name. */
async function matchEveryone(matcher: TargetMatcher, ids: Map<string, string>) {
  await matcher.prepare('Users', 'userName', 50);
  const found = new Map<string, string | null>();
  for (const userName of [...ids.keys(), 'nobody@contoso.com']) found.set(userName, await matcher.find('Users', 'userName', userName.toUpperCase()));
  return found;
}

const expected = (ids: Map<string, string>) => new Map<string, string | null>([...ids, ['nobody@contoso.com', null]]);
const listings = (service: LocalScimService) => service.requests().filter((request) => /startIndex=/.test(request.path));
const filterQueries = (service: LocalScimService) => service.requests().filter((request) => /filter=/.test(request.path));

describe('TargetMatcher against the local SCIM service', () => {
  it.each<[string, ScimListingQuirks]>([
    ['a spec-compliant listing that pages by a size of its own', {}],
    ['a listing whose totalResults is only the page size', { totalResultsIsPageSize: true }],
  ])('indexes every account of %s and matches without a filter query', async (_, listing) => {
    const { service, target, ids } = await targetWith(listing);
    expect(await matchEveryone(new TargetMatcher(target, { pageSize: 10 }), ids)).toEqual(expected(ids));
    expect(listings(service).map((request) => new URL(`http://x${request.path}`).searchParams.get('startIndex'))).toEqual(['1', '5', '9']);
    expect(filterQueries(service)).toEqual([]);
  });

  it.each<[string, ScimListingQuirks, number]>([
    ['ignores startIndex', { ignoreStartIndex: true }, 2],
    ['refuses startIndex with 400', { refuseStartIndex: true }, 1],
  ])('falls back to a filter query per object on a target that %s, for the rest of the run', async (_, listing, listed) => {
    const { service, target, ids } = await targetWith(listing);
    const matcher = new TargetMatcher(target, { pageSize: 10 });
    expect(await matchEveryone(matcher, ids)).toEqual(expected(ids));
    expect(listings(service)).toHaveLength(listed);
    expect(filterQueries(service)).toHaveLength(11);

    await matcher.prepare('Users', 'externalId', 50);
    expect(listings(service)).toHaveLength(listed);
  });

  it('lets a throttled listing escape prepare, so the run pauses instead of matching blind', async () => {
    const { service, target, ids } = await targetWith({});
    service.failNext({ status: 429, retryAfter: '3600' });
    const matcher = new TargetMatcher(target, { pageSize: 10 });
    await expect(matcher.prepare('Users', 'userName', 50)).rejects.toBeInstanceOf(ThrottledError);
    expect(service.requests()).toHaveLength(1);
    expect(ids.size).toBe(10);
  });
});
