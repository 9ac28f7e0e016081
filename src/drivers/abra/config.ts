import { z } from 'zod';
import {
  databaseSchema,
  environmentCommon,
  healthSchema,
  name,
  serviceCommon,
  type ServiceConfig,
  volumesSchema,
} from '../../config/schema.js';
import { unknownName } from '../../kernel/validate.js';

/** A Co-op Cloud app deployed by abra: a recipe, and per environment the server and the app's domain. */
export const abraServiceSchema = z.strictObject({
  driver: z.literal('abra'),
  ...serviceCommon,
  recipe: name,
  database: databaseSchema.optional(),
  volumes: volumesSchema.optional(),
  /** The app logs in through a Keycloak realm of another abra app of this file (same environment name). */
  sso: z.strictObject({ provider: name, realm: name }).optional(),
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

interface ConfigIssue {
  path: (string | number)[];
  message: string;
}

/** `sso.provider` names another abra service that has every environment of the app. */
export function ssoConfigIssues(services: Readonly<Record<string, ServiceConfig>>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const [service, svc] of Object.entries(services)) {
    const sso = svc.driver === 'abra' ? (svc as AbraServiceConfig).sso : undefined;
    if (!sso) continue;
    const at = ['services', service, 'sso', 'provider'];
    const provider = services[sso.provider];
    if (!provider || sso.provider === service) {
      const others = Object.keys(services).filter((s) => s !== service && services[s].driver === 'abra');
      issues.push({ path: at, message: unknownName('SSO provider service', sso.provider, others) });
    } else if (provider.driver !== 'abra') {
      issues.push({ path: at, message: `${sso.provider} is not an abra app (driver: ${provider.driver})` });
    } else {
      for (const env of Object.keys(svc.environments).filter((e) => !provider.environments[e])) {
        issues.push({
          path: at,
          message: `${service}/${env} logs in through ${sso.provider}/${env}, which has no environment ${env}`,
        });
      }
    }
  }
  return issues;
}
