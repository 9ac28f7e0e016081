import { z } from 'zod';
import {
  databaseSchema,
  environmentCommon,
  gitVersionSource,
  healthSchema,
  name,
  serviceCommon,
  type ServiceConfig,
} from '../../config/schema.js';

/** A service deployed by ansible-playbook: the operators' playbook, run against an inventory host. */
export const ansibleServiceSchema = z.strictObject({
  driver: z.literal('ansible'),
  ...serviceCommon,
  playbook: z.string(),
  versions: gitVersionSource,
  database: databaseSchema.prefault({}),
  environments: z.record(
    name,
    z.strictObject({ ...environmentCommon, health: healthSchema, patches: z.array(z.string().min(1)).optional() }),
  ),
});

export type AnsibleServiceConfig = z.output<typeof ansibleServiceSchema> & ServiceConfig;
