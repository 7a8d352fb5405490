/** synchronizationJobRestartCriteria.resetScope flags (Graph spec §1.20, semantics §4.6). */
export const RESET_FLAGS = [
  'None',
  'ConnectorDataStore',
  'Escrows',
  'Watermark',
  'QuarantineState',
  'Full',
  'ForceDeletes',
] as const;
export type ResetFlag = (typeof RESET_FLAGS)[number];

/** What a restart clears, after expanding `Full` and the empty default. */
export interface ResetPlan {
  watermark: boolean;
  escrows: boolean;
  quarantine: boolean;
  links: boolean;
  forceDeletes: boolean;
}

/**
 * Parses a comma-separated flag set (case-insensitive, as Graph enums are). Empty or absent means what the
 * portal's "Restart provisioning" does: QuarantineState, Watermark, Escrows. Returns null on an unknown flag.
 */
export function parseResetScope(value: string | null | undefined): ResetPlan | null {
  const names = (value ?? '')
    .split(',')
    .map((flag) => flag.trim())
    .filter(Boolean);
  const flags = new Set<ResetFlag>();
  for (const name of names) {
    const flag = RESET_FLAGS.find((known) => known.toLowerCase() === name.toLowerCase());
    if (!flag) return null;
    flags.add(flag);
  }
  if (flags.size === 0) return { watermark: true, escrows: true, quarantine: true, links: false, forceDeletes: false };
  const full = flags.has('Full');
  return {
    watermark: full || flags.has('Watermark'),
    escrows: full || flags.has('Escrows'),
    quarantine: full || flags.has('QuarantineState'),
    links: full || flags.has('ConnectorDataStore'),
    forceDeletes: full || flags.has('ForceDeletes'),
  };
}
