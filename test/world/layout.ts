import path from 'node:path';

/** Where everything of one sandbox lives under its directory. */
export function sandboxLayout(dir: string) {
  const root = path.resolve(dir);
  return {
    root,
    config: path.join(root, 'coopctl.yaml'),
    state: path.join(root, 'sandbox.json'),
    inventory: path.join(root, 'inventories', 'sandbox.yml'),
    ssh: {
      dir: path.join(root, 'ssh'),
      identity: path.join(root, 'ssh', 'id_ed25519'),
      authorizedKeys: path.join(root, 'ssh', 'authorized_keys'),
      knownHosts: path.join(root, 'ssh', 'known_hosts'),
      /** The ssh_config coopctl and Ansible use (`ssh -F`): IdentityAgent names the sandbox's agent. */
      config: path.join(root, 'ssh', 'config'),
      agent: {
        identity: path.join(root, 'ssh', 'id_ed25519'),
        passphrase: path.join(root, 'secrets', 'ssh-key-passphrase'),
        socket: path.join(root, 'ssh', 'agent.sock'),
        pidFile: path.join(root, 'ssh', 'agent.pid'),
      },
    },
    secrets: path.join(root, 'secrets'),
    upstream: path.join(root, 'upstream'),
    abraDir: path.join(root, 'abra'),
    bin: path.join(root, 'bin'),
    backups: path.join(root, 'backups'),
    s3: {
      dir: path.join(root, 's3'),
      pidFile: path.join(root, 's3', 's3rver.pid'),
      log: path.join(root, 's3', 's3rver.log'),
    },
    /** The Matrix homeserver stand-in (test/doubles/matrix.ts): its data, the events sent, the faults. */
    matrix: {
      dir: path.join(root, 'matrix'),
      pidFile: path.join(root, 'matrix', 'homeserver.pid'),
      log: path.join(root, 'matrix', 'homeserver.log'),
    },
    /** The relays that add the links' round-trip time (test/world/relay.ts). */
    links: {
      dir: path.join(root, 'links'),
      log: path.join(root, 'links', 'relay.log'),
      /** In the sandbox's own namespace (the operator's end), and in the object store's. */
      operatorPid: path.join(root, 'links', 'operator-relay.pid'),
      storePid: path.join(root, 'links', 'store-relay.pid'),
    },
    host: (name: string) => path.join(root, 'hosts', name),
  };
}
export type SandboxLayout = ReturnType<typeof sandboxLayout>;
