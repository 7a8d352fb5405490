import type { DirectoryObjectType } from './directory-source.ts';

/** Which job's links, and which generation of them (restart Full starts a new, empty generation). */
export interface LinkScope {
  tenantId: string;
  jobId: string;
  generation: number;
}

/** What this job knows about one provisioned object: where it lives in the target and what was last sent. */
export interface ObjectLink {
  type: DirectoryObjectType;
  sourceId: string;
  targetId: string;
  /** The flat target attributes last exported; an object mapping to the same values costs nothing. */
  exported: Record<string, unknown>;
  /** Group links: the source ids of members present in the target. */
  members?: string[];
  /** Group links during a full round: which round, and the members that round has read so far. */
  roundId?: string;
  roundMembers?: string[];
}

export function linkId(type: DirectoryObjectType, sourceId: string): string {
  return `${type}#${sourceId}`;
}

/** The source↔target link store (Entra's "connector data store"). Writes are idempotent upserts. */
export interface LinkStore {
  getMany(scope: LinkScope, ids: { type: DirectoryObjectType; sourceId: string }[]): Promise<Map<string, ObjectLink>>;
  putMany(scope: LinkScope, links: ObjectLink[]): Promise<void>;
  deleteMany(scope: LinkScope, ids: { type: DirectoryObjectType; sourceId: string }[]): Promise<void>;
  /** Every group link of the scope (read at the end of a full round, to reconcile memberships). */
  listGroups(scope: LinkScope): Promise<ObjectLink[]>;
  /** How many links of each type the scope holds (synchronizedEntryCountByType). */
  count(scope: LinkScope): Promise<Record<DirectoryObjectType, number>>;
}
