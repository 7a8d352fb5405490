import type { KeyValue } from '../schemas/graph.ts';
import type { GraphSynchronizationTemplate } from '../schemas/graph-responses.ts';
import { scimDefaultSchema } from './mapping/scim-default-schema.ts';

export interface SynchronizationTemplate extends GraphSynchronizationTemplate {
  /** Seeds each new job's synchronizationJobSettings. */
  jobSettings: KeyValue[];
}

/** Entra ID users and groups → any SCIM 2.0 application (the non-gallery `scim` template). */
export const scimTemplate: SynchronizationTemplate = {
  id: 'scim',
  applicationId: null,
  default: true,
  description: 'Provision Microsoft Entra ID users and groups into any SCIM 2.0 application.',
  discoverable: true,
  factoryTag: 'CustomSCIM',
  metadata: [
    { key: 'IsOAuthEnabled', value: 'false' },
    { key: 'IsSynchronizationAgentRequired', value: 'false' },
    { key: 'IsSynchronizationInPreview', value: 'false' },
  ],
  jobSettings: [
    { name: 'QuarantineTooManyDeletesThreshold', value: '500' },
  ],
  schema: scimDefaultSchema,
};

export const templates: readonly SynchronizationTemplate[] = [scimTemplate];

export function findTemplate(templateId: string): SynchronizationTemplate | undefined {
  return templates.find((template) => template.id.toLowerCase() === templateId.toLowerCase());
}

/** The template as Graph renders it (settings seeds are internal). */
export function toGraphTemplate(template: SynchronizationTemplate): GraphSynchronizationTemplate {
  const { jobSettings: _seeds, ...graph } = template;
  return graph;
}
