import { Memo } from '../kernel/memo.js';
import { existsSync, readFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import { InputError, RemoteError } from '../kernel/errors.js';

// ssh2 is CommonJS: its named exports are not visible to Node's ESM loader.
const { utils } = ssh2;

type ParsedKey = Exclude<ReturnType<typeof utils.parseKey>, Error | unknown[]>;

/** What an ssh2 authHandler array holds: tried in order, the agent first (as OpenSSH does). */
type AuthMethod =
  | { type: 'agent'; username: string; agent: string }
  | { type: 'publickey'; username: string; key: ParsedKey };

interface KeySource {
  agent: boolean;
  /** coopctl.yaml's ssh.identityFile: used even when encrypted (passphrase asked). */
  configured?: string;
  askPassphrase?: (keyFile: string) => Promise<string>;
}

const ENCRYPTED = /no passphrase given/;

function readKey(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new RemoteError(`cannot read SSH key ${file}: ${(err as Error).message}`);
  }
}

function parsed(data: Buffer, passphrase?: string): ParsedKey | Error {
  const k = utils.parseKey(data, passphrase);
  if (k instanceof Error) return k;
  return Array.isArray(k) ? (k[0] as ParsedKey) : (k as ParsedKey);
}

/**
 * Keys and agent for one run. Passphrases are asked once per key and kept in
 * memory only; prompts are serialised so parallel connections ask once.
 */
export class SshKeys {
  private readonly unlocked = new Memo();

  constructor(private readonly src: KeySource) {}

  /** The ssh_config's IdentityAgent when set ("none" turns the agent off), else $SSH_AUTH_SOCK. */
  private agentSocket(identityAgent?: string): string | undefined {
    if (!this.src.agent || identityAgent === 'none') return undefined;
    return identityAgent ?? (process.env.SSH_AUTH_SOCK || undefined);
  }

  private configuredKey(file: string): Promise<ParsedKey> {
    return this.unlocked.once(file, () => this.unlock(file));
  }

  private async unlock(file: string): Promise<ParsedKey> {
    const data = readKey(file);
    const plain = parsed(data);
    if (!(plain instanceof Error)) return plain;
    if (!ENCRYPTED.test(plain.message)) throw new RemoteError(`cannot use SSH key ${file}: ${plain.message}`);
    if (!this.src.askPassphrase) {
      throw new InputError(`SSH key ${file} is passphrase-protected and there is no terminal to ask on`, {
        code: 'ssh-key-locked',
        hints: [`load it into your ssh-agent first: ssh-add ${file}`],
      });
    }
    const key = parsed(data, await this.src.askPassphrase(file));
    if (key instanceof Error) throw new InputError(`SSH key ${file}: wrong passphrase (${key.message})`);
    return key;
  }

  /**
   * The methods to try for one user, agent first; an encrypted configured key is unlocked only without an agent.
   * `candidates`: the ssh_config's IdentityFile list (OpenSSH's defaults included), used only when not encrypted.
   */
  async methods(username: string, candidates: string[], identityAgent?: string): Promise<AuthMethod[]> {
    const out: AuthMethod[] = [];
    const agent = this.agentSocket(identityAgent);
    if (agent) out.push({ type: 'agent', username, agent });
    const { configured } = this.src;
    if (configured) {
      const data = readKey(configured);
      const key = parsed(data);
      if (!(key instanceof Error)) out.push({ type: 'publickey', username, key });
      else if (!agent) out.push({ type: 'publickey', username, key: await this.configuredKey(configured) });
      return out;
    }
    for (const file of candidates) {
      if (!existsSync(file)) continue;
      const key = parsed(readKey(file));
      if (!(key instanceof Error)) out.push({ type: 'publickey', username, key });
    }
    return out;
  }

  describe(identityAgent?: string): string {
    return this.agentSocket(identityAgent)
      ? 'tried the ssh-agent keys, then key files'
      : 'no ssh-agent: SSH_AUTH_SOCK unset, IdentityAgent none or ssh.agent: false';
  }
}
