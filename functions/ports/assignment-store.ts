import type { Assignments } from './directory-source.ts';
import type { LinkScope } from './link-store.ts';

/**
 * The application's assignments as this job last applied them (per link generation): what a change of them is
 * measured against. Small items, one per principal, so no item grows with the number of assignments.
 */
export interface AssignmentStore {
  /**
   * Strongly consistent, every page: the principals applied, and those whose change was begun and not known to be
   * done (a run that died part-way): those are applied again as they are assigned now.
   */
  list(scope: LinkScope): Promise<{ applied: Assignments; pending: Assignments }>;
  /** Records principals as applied (`pending` false) or as about to be changed (`pending` true). */
  put(scope: LinkScope, principals: Assignments, pending: boolean): Promise<void>;
  delete(scope: LinkScope, principals: Assignments): Promise<void>;
}
