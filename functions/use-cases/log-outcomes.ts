import { randomUUID } from 'node:crypto';
import { provisioningRecord, type Initiator } from '../domain/provisioning-records.ts';
import type { DirectoryObject } from '../ports/directory-source.ts';
import { linkId } from '../ports/link-store.ts';
import type { ProvisioningLog } from '../ports/provisioning-log.ts';
import type { JobKey } from '../schemas/stored-job.ts';
import type { ProvisioningObjectSummary } from '../schemas/provisioning-log.ts';
import type { ObjectOutcome } from './sync/page-applier.ts';

function displayNameOf(object: DirectoryObject): string {
  const { displayName, userPrincipalName } = object.attributes;
  return typeof displayName === 'string' ? displayName : typeof userPrincipalName === 'string' ? userPrincipalName : object.id;
}

/**
 * Writes the provisioning records of a batch's outcomes (objects in step write none) and returns them. A failure to
 * write them is reported to `failed` and never stops provisioning: the records are then not returned.
 */
export async function logOutcomes(
  log: ProvisioningLog,
  input: { key: JobKey; cycleId: string; initiatedBy: Initiator; at: string; objects: readonly DirectoryObject[]; outcomes: readonly ObjectOutcome[] },
  failed: (count: number, error: unknown) => void,
): Promise<ProvisioningObjectSummary[]> {
  const names = new Map(input.objects.map((object) => [linkId(object.type, object.id), displayNameOf(object)]));
  const context = { ...input.key, cycleId: input.cycleId, initiatedBy: input.initiatedBy, activityDateTime: input.at, newId: randomUUID };
  const records = input.outcomes.flatMap((outcome) => provisioningRecord(outcome, names.get(linkId(outcome.ref.type, outcome.ref.sourceId)) ?? outcome.ref.sourceId, context) ?? []);
  if (records.length === 0) return [];
  try {
    await log.append(records);
    return records;
  } catch (error) {
    failed(records.length, error);
    return [];
  }
}
