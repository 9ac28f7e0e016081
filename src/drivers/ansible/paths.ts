import type { Target } from '../../targets/target.js';
import type { RunContext } from '../../targets/runContext.js';
import type { AnsibleServiceConfig } from './config.js';

/** The service's playbook and the inventory of the target's environment, as absolute paths. */
export function playbookOf(context: RunContext, t: Target): { playbook: string; inventory: string } {
  const svc = t.serviceConfig as AnsibleServiceConfig;
  return {
    playbook: context.loaded.resolvePath(svc.playbook),
    inventory: context.loaded.resolvePath(t.envConfig.inventory),
  };
}
