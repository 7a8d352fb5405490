import { z } from 'zod';

// Interim shape; the full synchronizationSchema model replaces it.
export const synchronizationSchemaSchema = z.object({
  id: z.string(),
  version: z.string(),
  synchronizationRules: z.array(z.unknown()),
  directories: z.array(z.unknown()),
});
export type SynchronizationSchema = z.infer<typeof synchronizationSchemaSchema>;
