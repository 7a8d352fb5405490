import type { SynchronizationSchema } from './schema.ts';

// Interim; the full default scim schema replaces it.
export const scimDefaultSchema: SynchronizationSchema = { id: 'scim', version: '1', synchronizationRules: [], directories: [] };
