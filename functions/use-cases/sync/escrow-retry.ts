import { isDue } from '../../domain/escrow-policy.ts';
import type { DirectoryObject, DirectorySource } from '../../ports/directory-source.ts';
import type { EscrowStore } from '../../ports/escrow-store.ts';
import type { LinkScope } from '../../ports/link-store.ts';
import type { BatchApplied } from './page-applier.ts';

/** Escrows read per step of a retry pass. */
const ESCROW_PAGE = 100;

export interface EscrowPass {
  batches: BatchApplied[];
  /** Escrows are left (not yet due, refused again, or the pass ran out of time). */
  remaining: boolean;
  /** When the earliest escrow left is due (null with nothing left, or when the pass stopped early). */
  dueAt: string | null;
  /** Where the next pass starts: null once a pass went through every escrow. */
  cursor: string | null;
}

/**
 * One pass over the escrows, in key order from where the last pass stopped, so each gets its turn however many
 * there are. A due escrow is read again from the directory and applied as the object is now: a newer change is
 * never reverted, and an object deleted meanwhile is deprovisioned, never created.
 */
export async function retryEscrows(input: {
  escrows: EscrowStore;
  source: DirectorySource;
  apply(objects: DirectoryObject[]): Promise<BatchApplied>;
  scope: LinkScope;
  cursor: string | null;
  now(): string;
  userStart: boolean;
  hasTime(): boolean;
}): Promise<EscrowPass> {
  const batches: BatchApplied[] = [];
  let cursor = input.cursor;
  let remaining = false;
  let dueAt: string | null = null;
  const later = (at: string | null) => {
    if (at !== null && (dueAt === null || at < dueAt)) dueAt = at;
  };
  do {
    if (!input.hasTime()) return { batches, remaining: true, dueAt: null, cursor };
    const page = await input.escrows.list(input.scope, cursor, ESCROW_PAGE);
    const at = input.now();
    const due = page.items.filter((escrow) => isDue(escrow, at, input.userStart));
    for (const escrow of page.items) {
      if (!due.includes(escrow)) {
        remaining = true;
        later(escrow.nextAttemptAt);
      }
    }
    if (due.length > 0) {
      const objects = await input.source.readObjects(due.map((escrow) => ({ type: escrow.type, id: escrow.sourceId })));
      const applied = await input.apply(objects);
      batches.push(applied);
      if (!applied.complete) return { batches, remaining: true, dueAt: null, cursor };
      if (applied.escrowed > 0) {
        remaining = true;
        later(applied.escrowedUntil);
      }
    }
    cursor = page.cursor;
  } while (cursor !== null);
  return { batches, remaining, dueAt, cursor: null };
}
