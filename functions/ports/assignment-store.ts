import type { Assignments } from './directory-source.ts';
import type { LinkScope } from './link-store.ts';

/**
 * The application's assignments as this job last applied them (per link generation): what a change of them is
 * measured against. Small items, one per principal, so no item grows with the number of assignments.
 */
export interface AssignmentStore {
  /** Strongly consistent, every page. */
  list(scope: LinkScope): Promise<Assignments>;
  put(scope: LinkScope, principals: Assignments): Promise<void>;
  delete(scope: LinkScope, principals: Assignments): Promise<void>;
}
