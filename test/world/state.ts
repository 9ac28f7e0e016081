import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { InputError } from '../../src/kernel/errors.js';

export type HostKind = 'mastodon' | 'coopcloud';
/** How the operator's end reaches the hosts (test/world/links.ts). */
export type LinkName = 'home' | 'lan' | 'none';

type Netns = { ns: string; outside: string; inside: string; gateway: string; address: string };

export interface SandboxHost {
  name: string;
  kind: HostKind;
  ssh: { address: string; port: number };
  web?: { address: string; port: number };
  streaming?: { address: string; port: number };
  /** The nginx in front of web and streaming: the public URL. */
  proxy?: { address: string; port: number };
  /** An ordinary login with passwordless sudo, as production hosts are reached (test/world/become.ts); else root. */
  login?: string;
  /** Present in netns mode: the host's namespace and its veth pair. */
  netns?: Netns;
  /** Where the operator reaches its sshd when the link is shaped: the relay that adds the round trip. */
  relay?: { address: string; port: number };
  /** In netns mode: the veth pair of its data-centre link to the object store (netns.ts connectToStore). */
  storeLink?: { host: string; store: string };
}

/** The address and port the operator's ssh (coopctl, Ansible, abra) connects to. */
export function operatorSsh(h: SandboxHost): { address: string; port: number } {
  return h.relay ?? h.ssh;
}

export interface SandboxState {
  version: 1;
  dir: string;
  mode: 'loopback' | 'netns';
  createdAt: string;
  user: string;
  hosts: SandboxHost[];
  coopcloud: {
    server: string;
    host: string;
    apps: Array<{ name: string; domain: string; recipe: string; version: string; port: number; envs: string[] }>;
  };
  /** Absent in sandboxes built before links were shaped: none. */
  link?: LinkName;
  s3: {
    /** s3rver's port: on 127.0.0.1 (loopback mode), or in its own namespace `netns`. */
    port: number;
    bucket: string;
    netns?: Netns;
    /** The URL the operator's coopctl uses, and the one the hosts use (over the data-centre link). */
    endpoint?: string;
    hostEndpoint?: string;
    /** The relays' ports for the store when the link is shaped: the operator's end, and the hosts'. */
    relayPorts?: { operator: number; hosts: number };
  };
  /** The Matrix homeserver stand-in, on loopback (absent in sandboxes built before it). */
  matrix?: { port: number; room: string };
  faults: Array<{ target: string; kind: string; since: string }>;
}

export function readState(file: string): SandboxState {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SandboxState;
  } catch {
    throw new InputError(`no sandbox at ${file.replace(/\/sandbox\.json$/, '')} (run: coopctl sandbox up --dir DIR)`);
  }
}

export function writeState(file: string, state: SandboxState): void {
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}
