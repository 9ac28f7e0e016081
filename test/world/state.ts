import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { InputError } from '../../src/kernel/errors.js';

export type HostKind = 'mastodon' | 'coopcloud';

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
  netns?: { ns: string; outside: string; inside: string; gateway: string; address: string };
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
  s3: { port: number; bucket: string };
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
