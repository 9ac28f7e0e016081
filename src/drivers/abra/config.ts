import { z } from 'zod';
import {
  databaseSchema,
  environmentCommon,
  healthSchema,
  name,
  serviceCommon,
  type ServiceConfig,
} from '../../config/schema.js';

/** A Co-op Cloud app deployed by abra: a recipe, and per environment the server and the app's domain. */
export const abraServiceSchema = z.strictObject({
  driver: z.literal('abra'),
  ...serviceCommon,
  recipe: name,
  database: databaseSchema.optional(),
  environments: z.record(
    name,
    z.strictObject({
      ...environmentCommon,
      server: z.string().min(1),
      domain: z.string().regex(/^[a-z0-9.-]+$/, 'must be a domain name'),
      health: healthSchema.optional(),
    }),
  ),
});

export type AbraServiceConfig = z.output<typeof abraServiceSchema> & ServiceConfig;
