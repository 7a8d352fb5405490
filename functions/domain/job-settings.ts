import type { KeyValue } from '../schemas/graph.ts';

/**
 * Job setting (`synchronizationJobSettings`) that flattens nested groups: a member of a member group is sent as a
 * member of every group above it. Off by default, as in Entra (direct members only).
 */
export const FLATTEN_NESTED_GROUPS = 'FlattenNestedGroups';

export function jobSettingValue(settings: KeyValue[], name: string): string | undefined {
  return settings.find((setting) => setting.name.toLowerCase() === name.toLowerCase())?.value;
}
