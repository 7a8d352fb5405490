import type { Clock } from '../../functions/ports/clock.ts';
import { BadRequestError, ServiceError } from '../../functions/errors/service-errors.ts';
import {
  deltaTokenSchema,
  skipTokenSchema,
  type DeltaToken,
  type ObjectKind,
  type SkipToken,
} from './directory-schemas.ts';
import type { DirectoryRecord, DirectoryState } from './directory-state.ts';
import { graphType, renderChangedProperties, renderManagerDelta, renderProperties } from './graph-json.ts';

export interface DeltaLimits {
  /** Objects per page. */
  pageSize: number;
  /** Member changes of one group per page; a group with more is continued on the next page. */
  memberLimit: number;
  /** Tokens older than this answer 410 Gone (Graph keeps directory delta tokens for 7 days). */
  tokenRetentionMs: number;
}

/** One delta response: the objects and either the next page's skip token or the next round's delta token. */
export interface DeltaResponse {
  /** The `$select` the round runs with (carried in its tokens). */
  select: string[] | null;
  value: Record<string, unknown>[];
  next: { phase: 'skip'; token: string } | { phase: 'delta'; token: string };
}

interface RenderedObject {
  json: Record<string, unknown>;
  /** Sequence of the last member change rendered, set when more member changes remain for a later page. */
  continueAfterMember?: number;
  /** Nothing the round selects changed: no entry. */
  unseen?: true;
}

/**
 * Graph delta query over the change log. A round reports the objects whose latest change at the round's start lies
 * in (since, upTo]: walking the log, an entry counts when it was still the object's latest change at `upTo`, so an
 * object changed during the round is reported where it stood (with its current state) and again in the next round.
 * A full round (`since` 0) and an object created or restored after `since` come whole; an object updated after
 * `since` comes with `id` and only the selected properties changed after `since` (several updates: the union),
 * null for a cleared one. Group members report every membership change after `since`, split over pages beyond
 * `memberLimit`; a group whose only change is membership carries no other property.
 */
export class DeltaQuery {
  constructor(
    private readonly state: DirectoryState,
    private readonly clock: Clock,
    private readonly limits: DeltaLimits,
    /** The URL a client restarts from after 410 (Graph's `Location`: the delta request without a token). */
    private readonly restartUrl: (kind: ObjectKind, select: string[] | null) => string,
  ) {}

  /** A request without token: a full round from the beginning. */
  startFull(kind: ObjectKind, select: string[] | null, pageSize?: number): DeltaResponse {
    return this.page(this.newRound({ kind, since: 0, select, issuedAt: this.now(), epoch: this.state.tokenEpoch, phase: 'delta' }), pageSize);
  }

  /** `$deltatoken=latest`: no objects, a delta link from now on. */
  latest(kind: ObjectKind, select: string[] | null): DeltaResponse {
    return { select, value: [], next: { phase: 'delta', token: this.deltaToken(kind, this.state.currentSequence, select) } };
  }

  fromDeltaToken(kind: ObjectKind, raw: string, pageSize?: number): DeltaResponse {
    const token = this.decode(raw, kind, deltaTokenSchema);
    return this.page(this.newRound(token), pageSize);
  }

  fromSkipToken(kind: ObjectKind, raw: string, pageSize?: number): DeltaResponse {
    return this.page(this.decode(raw, kind, skipTokenSchema), pageSize);
  }

  private newRound(token: DeltaToken): SkipToken {
    return {
      kind: token.kind,
      since: token.since,
      select: token.select,
      issuedAt: this.now(),
      epoch: token.epoch,
      phase: 'skip',
      upTo: this.state.currentSequence,
      after: token.since,
    };
  }

  /** One page: `pageSize` objects at most (the client's `Prefer: odata.maxpagesize`, else the default). */
  private page(position: SkipToken, pageSize = this.limits.pageSize): DeltaResponse {
    const value: Record<string, unknown>[] = [];
    const { select } = position;
    const skip = (next: SkipToken): DeltaResponse => ({ select, value, next: { phase: 'skip', token: encodeToken(next) } });

    if (position.partial) {
      const group = this.state.find(position.partial.id);
      if (group) {
        const rendered = this.render(group, position, position.partial.afterMember);
        value.push(rendered.json);
        if (rendered.continueAfterMember !== undefined) {
          return skip({ ...position, partial: { id: group.id, afterMember: rendered.continueAfterMember } });
        }
      }
    }

    let after = position.after;
    for (const entry of this.state.logAfter(position.kind, position.after)) {
      if (entry.seq > position.upTo) break;
      if (entry.supersededBy !== undefined && entry.supersededBy <= position.upTo) continue;
      const record = this.state.find(entry.id);
      if (!record || (position.since === 0 && record.state !== 'active')) {
        after = entry.seq;
        continue;
      }
      if (value.length >= pageSize) return skip({ ...position, after, partial: undefined });
      const rendered = this.render(record, position, position.since);
      after = entry.seq;
      if (rendered.unseen) continue;
      value.push(rendered.json);
      if (rendered.continueAfterMember !== undefined) {
        return skip({ ...position, after, partial: { id: record.id, afterMember: rendered.continueAfterMember } });
      }
    }
    return { select, value, next: { phase: 'delta', token: this.deltaToken(position.kind, position.upTo, select) } };
  }

  private render(record: DirectoryRecord, position: SkipToken, afterMember: number): RenderedObject {
    if (record.state !== 'active') {
      return { json: { id: record.id, '@removed': { reason: record.state === 'softDeleted' ? 'changed' : 'deleted' } } };
    }
    // A full round, or an object that appeared (created or restored) after the round's start, comes whole; an
    // update only with what changed since then (Graph promises no more than that).
    const whole = position.since === 0 || record.appearedSeq > position.since;
    // A change of the manager alone is not seen by a round that does not select it (Graph tracks what is selected).
    const changedSince = Object.entries(record.changed).filter(([, seq]) => seq > position.since).map(([name]) => name);
    if (!whole && !position.select?.includes('manager') && changedSince.length > 0 && changedSince.every((name) => name === 'manager' || name === 'formerManager')) {
      return { json: {}, unseen: true };
    }
    const json = {
      ...(whole ? renderProperties(record, position.select) : renderChangedProperties(record, position.select, position.since)),
      ...renderManagerDelta(record, position.select, whole ? null : position.since),
    };
    if (record.kind !== 'group' || !position.select?.includes('members')) return { json };

    const members: Record<string, unknown>[] = [];
    let last = afterMember;
    for (const member of record.members.values()) {
      if (member.seq <= afterMember || (position.since === 0 && !member.present)) continue;
      if (members.length >= this.limits.memberLimit) {
        json['members@delta'] = members;
        return { json, continueAfterMember: last };
      }
      members.push(
        member.present
          ? { '@odata.type': graphType[member.kind], id: member.id }
          : { '@odata.type': graphType[member.kind], id: member.id, '@removed': { reason: 'deleted' } },
      );
      last = member.seq;
    }
    if (members.length > 0) json['members@delta'] = members;
    return { json };
  }

  private deltaToken(kind: ObjectKind, since: number, select: string[] | null): string {
    return encodeToken({ kind, since, select, issuedAt: this.now(), epoch: this.state.tokenEpoch, phase: 'delta' });
  }

  private decode<T extends DeltaToken | SkipToken>(
    raw: string,
    kind: ObjectKind,
    schema: { safeParse(input: unknown): { success: true; data: T } | { success: false } },
  ): T {
    let parsed: { success: true; data: T } | { success: false };
    try {
      parsed = schema.safeParse(JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')));
    } catch {
      parsed = { success: false };
    }
    if (!parsed.success || parsed.data.kind !== kind) {
      throw new BadRequestError('The delta or skip token is not valid for this request.', 'badRequest');
    }
    const token = parsed.data;
    if (token.epoch !== this.state.tokenEpoch || this.now() - token.issuedAt > this.limits.tokenRetentionMs) {
      throw new ServiceError(
        410,
        'resyncRequired',
        'Resync required. Replace any local cached copies of the directory objects with the results of a delta request without a token.',
        { location: this.restartUrl(kind, token.select) },
      );
    }
    return token;
  }

  private now(): number {
    return this.clock.now().getTime();
  }
}

function encodeToken(token: DeltaToken | SkipToken): string {
  return Buffer.from(JSON.stringify(token), 'utf8').toString('base64url');
}
