import { randomUUID } from 'node:crypto';
import express from 'express';
import SCIMMYRouters, { SCIMMY } from 'scimmy-routers';

/**
 * A third-party SCIM 2.0 service provider for integration tests: SCIMMY behind its express routers, in memory,
 * with the workarounds for SCIMMY's gaps (see the toolchain notes): numeric paging parameters, the enterprise
 * extension registered, and uniqueness enforced on userName and group displayName, case-insensitively.
 * JavaScript because express ships no type declarations here; the types live in scimmy-scim-server.d.ts.
 */

const stores = { User: new Map(), Group: new Map() };
const uniqueAttribute = { User: 'userName', Group: 'displayName' };
let declared = false;

function inMemory(resourceClass, kind) {
  const store = stores[kind];
  const key = uniqueAttribute[kind];
  return resourceClass
    .ingress((resource, instance) => {
      const id = resource.id ?? randomUUID();
      if (resource.id !== undefined && !store.has(id)) throw new SCIMMY.Types.Error(404, null, `Resource ${id} not found`);
      const unique = String(instance[key]).toLowerCase();
      for (const other of store.values()) {
        if (other.id !== id && String(other[key]).toLowerCase() === unique) {
          throw new SCIMMY.Types.Error(409, 'uniqueness', `${key} '${instance[key]}' is already taken`);
        }
      }
      const now = new Date();
      const created = store.get(id)?.meta?.created ?? now;
      const stored = { ...JSON.parse(JSON.stringify(instance)), id, meta: { created, lastModified: now } };
      store.set(id, stored);
      return stored;
    })
    .egress((resource) => {
      if (resource.id !== undefined) {
        const found = store.get(resource.id);
        if (found === undefined) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
        return found;
      }
      const all = [...store.values()];
      return resource.filter ? resource.filter.match(all) : all;
    })
    .degress((resource) => {
      if (!store.delete(resource.id)) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
    });
}

/** Starts SCIMMY on 127.0.0.1 with an ephemeral port, empty. */
export async function startScimmyScimServer({ token }) {
  stores.User.clear();
  stores.Group.clear();
  if (!declared) {
    SCIMMY.Resources.declare(inMemory(SCIMMY.Resources.User, 'User').extend(SCIMMY.Schemas.EnterpriseUser, false));
    SCIMMY.Resources.declare(inMemory(SCIMMY.Resources.Group, 'Group'));
    declared = true;
  }
  const app = express();
  // Express hands query values over as strings; SCIMMY ignores startIndex/count unless they are integers.
  app.set('query parser', (text) => {
    const query = Object.fromEntries(new URLSearchParams(text));
    for (const name of ['startIndex', 'count']) if (name in query) query[name] = Number(query[name]);
    return query;
  });
  app.use(
    '/scim/v2',
    new SCIMMYRouters({
      type: 'bearer',
      handler: (request) => {
        if (request.header('authorization') !== `Bearer ${token}`) throw new Error('A valid bearer token is required.');
        return 'scim-client';
      },
    }),
  );
  const server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return {
    url: `http://127.0.0.1:${server.address().port}/scim/v2`,
    users: () => [...stores.User.values()],
    groups: () => [...stores.Group.values()],
    close: () =>
      new Promise((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
