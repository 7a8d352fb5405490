import { createHash } from 'node:crypto';
import type { Assignments } from '../ports/directory-source.ts';

/** The assignments as a short digest: a tick whose assignments match the applied ones has nothing to do for them. */
export function assignmentDigest(assignments: Assignments): string {
  const hash = createHash('sha256');
  for (const id of [...assignments.users].sort()) hash.update(`U${id}\n`);
  for (const id of [...assignments.groups].sort()) hash.update(`G${id}\n`);
  return hash.digest('base64url');
}

/** What changed between the assignments last applied and those the directory has now. */
export interface AssignmentChange {
  assigned: Assignments;
  unassigned: Assignments;
}

export function assignmentChange(applied: Assignments, current: Assignments): AssignmentChange {
  const minus = (a: string[], b: string[]) => {
    const other = new Set(b);
    return [...new Set(a)].filter((id) => !other.has(id));
  };
  return {
    assigned: { users: minus(current.users, applied.users), groups: minus(current.groups, applied.groups) },
    unassigned: { users: minus(applied.users, current.users), groups: minus(applied.groups, current.groups) },
  };
}

/**
 * Who is in scope when only assigned users and groups are synchronized (`SyncAll` false, Entra's default): the
 * assigned users, the assigned groups, and the members of assigned groups.
 */
export class AssignmentScope {
  readonly users: ReadonlySet<string>;
  readonly groups: ReadonlySet<string>;

  constructor(assignments: Assignments) {
    this.users = new Set(assignments.users);
    this.groups = new Set(assignments.groups);
  }
}
