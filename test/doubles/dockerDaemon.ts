import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** Stands for /var/run/docker.sock on a sandbox host R: whoever cannot open R/var/run/docker.sock cannot use docker. */
export function dockerSocketPath(root: string): string {
  return path.join(root, 'var', 'run', 'docker.sock');
}

// source: recorded real output of the docker CLI run without access to the socket (the daemon socket is
// root:docker 0660, https://docs.docker.com/engine/install/linux-postinstall/), exit 1
export const DOCKER_PERMISSION_DENIED =
  'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: ' +
  'Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.47/containers/json": ' +
  'dial unix /var/run/docker.sock: connect: permission denied';

/**
 * Whether this user may talk to the daemon: the socket is root's (and the docker group's) on a host reached
 * with sudo, so a command that forgot sudo fails as docker fails. A host made before the socket existed: yes.
 */
export function daemonReachable(root: string): boolean {
  try {
    accessSync(dockerSocketPath(root), constants.R_OK | constants.W_OK);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}
