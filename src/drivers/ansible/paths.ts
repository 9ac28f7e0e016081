import type { Target } from '../../targets/target.js';
import type { Workspace } from '../../workspace/workspace.js';
import type { AnsibleServiceConfig } from './config.js';

/** The service's playbook and the inventory of the target's environment, as absolute paths. */
export function playbookOf(ws: Workspace, t: Target): { playbook: string; inventory: string } {
  const svc = t.serviceConfig as AnsibleServiceConfig;
  return { playbook: ws.loaded.resolvePath(svc.playbook), inventory: ws.loaded.resolvePath(t.envConfig.inventory) };
}
