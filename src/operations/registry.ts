import { configSchemaFor } from '../config/schema.js';
import { abraDriver } from '../drivers/abra/driver.js';
import { ansibleDriver } from '../drivers/ansible/driver.js';
import { coopcloudAppProfile } from '../services/coopcloud/profile.js';
import { mastodonProfile } from '../services/mastodon/profile.js';
import type { Registry } from '../workspace/workspace.js';

/**
 * Every driver and service profile coopctl knows. Adding a service is a
 * profile here plus config; adding a way of deploying, a driver here.
 */
export const REGISTRY: Registry = {
  drivers: new Map([ansibleDriver, abraDriver].map((d) => [d.id, d])),
  profiles: new Map([mastodonProfile, coopcloudAppProfile].map((p) => [p.id, p])),
};

/** coopctl.yaml's schema with the service keys of every registered driver. */
export function configSchema(registry: Registry = REGISTRY) {
  const drivers = [...registry.drivers.values()];
  return configSchemaFor(drivers.map((d) => d.configSchema)).superRefine((config, ctx) => {
    for (const issue of drivers.flatMap((d) => d.configIssues?.(config.services) ?? [])) {
      ctx.addIssue({ code: 'custom', ...issue });
    }
  });
}
