import type { DirectoryObject } from './directory-source.ts';

/** Objects whose export failed, kept with what was read so later runs retry them (Entra's escrows). */
export interface EscrowScope {
  tenantId: string;
  jobId: string;
  generation: number;
}

export interface EscrowStore {
  putEscrows(scope: EscrowScope, entries: { object: DirectoryObject; error: string }[]): Promise<void>;
  listEscrows(scope: EscrowScope, limit: number): Promise<{ object: DirectoryObject; error: string }[]>;
  deleteEscrows(scope: EscrowScope, objects: DirectoryObject[]): Promise<void>;
}
