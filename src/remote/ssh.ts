import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { NodeSSH } from 'node-ssh';
import type { ClientChannel } from 'ssh2';
import { HostKeyError, RemoteError } from '../kernel/errors.js';
import type { RunResult } from '../kernel/process.js';
import { redact } from '../kernel/redact.js';
import { hostToken, loadKnownHosts, verifyHostKey, type HostKeyVerdict } from './knownHosts.js';
import { toShell, type RemoteCommand } from './quote.js';

export interface SshTarget {
  /** Inventory name (rhizome); used in messages. */
  name: string;
  address: string;
  port: number;
  user: string;
}

interface SshSettings {
  knownHostsFile: string;
  identityFile?: string;
  agent: boolean;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
}

export interface ExecOptions {
  /** Changes something on the host: skipped under --dry-run. */
  mutates: boolean;
  stdin?: string | Buffer | Readable;
  timeoutMs?: number;
  /** Return non-zero exits instead of throwing. */
  reject?: boolean;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
}

export interface StreamHandle {
  stdout: Readable;
  /** Resolves when the command ends, with its exit code and stderr (bounded). */
  done: Promise<{ code: number | null; signal: string | null; stderr: string }>;
  /** Stop the command (closes the channel). */
  abort(): void;
}

/** The only way coopctl touches a host. */
export interface RemoteHost {
  readonly target: SshTarget;
  exec(cmd: RemoteCommand, opts: ExecOptions): Promise<RunResult>;
  /** For large outputs (dumps): stdout as a stream, never buffered whole. */
  stream(cmd: RemoteCommand, opts: Omit<ExecOptions, 'onStdout' | 'reject'>): Promise<StreamHandle>;
  close(): Promise<void>;
}

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

function describeTarget(t: SshTarget): string {
  return `${t.name} (${t.user}@${hostToken(t.address, t.port)})`;
}

function hostKeyError(t: SshTarget, v: Exclude<HostKeyVerdict, { ok: true }>, knownHostsFile: string): HostKeyError {
  const where = hostToken(t.address, t.port);
  if (v.reason === 'unknown') {
    return new HostKeyError(
      `host key of ${describeTarget(t)} is not in ${knownHostsFile}: refusing to connect ` +
        `(offered ${v.offeredType} ${v.fingerprint})`,
      {
        hints: [
          "check that fingerprint with the host's administrators, then add the key: " +
            `ssh-keyscan${t.port === 22 ? '' : ` -p ${t.port}`} ${t.address} >> ${knownHostsFile}`,
        ],
        details: { host: t.name, fingerprint: v.fingerprint },
      },
    );
  }
  return new HostKeyError(
    `host key of ${describeTarget(t)} ${v.reason === 'revoked' ? 'is revoked' : 'has CHANGED'}: ` +
      `the key offered (${v.offeredType} ${v.fingerprint}) does not match ${knownHostsFile}. Refusing to connect`,
    {
      hints: [
        'this can be a reinstalled host or someone intercepting the connection; ' +
          'confirm the new fingerprint with the other operators before',
        `removing the old entry: ssh-keygen -f ${knownHostsFile} -R '${where}'`,
      ],
      details: { host: t.name, fingerprint: v.fingerprint },
    },
  );
}

class SshHost implements RemoteHost {
  private client?: Promise<NodeSSH>;

  constructor(
    readonly target: SshTarget,
    private readonly settings: SshSettings,
    private readonly dryRun: boolean,
    private readonly log: (line: string) => void,
  ) {}

  private connect(): Promise<NodeSSH> {
    if (!this.client) {
      this.client = this.doConnect();
      this.client.catch(() => {
        this.client = undefined;
      });
    }
    return this.client;
  }

  private async doConnect(): Promise<NodeSSH> {
    const { target: t, settings: s } = this;
    const entries = loadKnownHosts(s.knownHostsFile);
    let verdict: HostKeyVerdict | undefined;
    const ssh = new NodeSSH();
    const auth: { privateKey?: string; agent?: string } = {};
    const keyFile =
      s.identityFile ?? DEFAULT_KEYS.map((k) => path.join(homedir(), '.ssh', k)).find((f) => existsSync(f));
    if (keyFile) {
      try {
        auth.privateKey = readFileSync(keyFile, 'utf8');
      } catch (err) {
        throw new RemoteError(`cannot read SSH key ${keyFile}: ${(err as Error).message}`);
      }
    }
    if (s.agent && process.env.SSH_AUTH_SOCK) auth.agent = process.env.SSH_AUTH_SOCK;
    try {
      await ssh.connect({
        host: t.address,
        port: t.port,
        username: t.user,
        ...auth,
        readyTimeout: s.connectTimeoutMs,
        keepaliveInterval: 5_000,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer) => {
          verdict = verifyHostKey(entries, t.address, t.port, key);
          return verdict.ok;
        },
      });
    } catch (err) {
      if (verdict && !verdict.ok) throw hostKeyError(t, verdict, s.knownHostsFile);
      const e = err as NodeJS.ErrnoException & { level?: string };
      let why = e.message;
      if (e.code === 'ECONNREFUSED') why = 'connection refused';
      else if (/timed out/i.test(e.message) || e.code === 'ETIMEDOUT')
        why = `no answer within ${Math.round(s.connectTimeoutMs / 1000)}s`;
      else if (e.level === 'client-authentication') why = `authentication failed for user ${t.user}`;
      else if (e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH') why = 'host unreachable';
      throw new RemoteError(`cannot reach ${describeTarget(t)}: ${why}`, {
        details: { host: t.name, unreachable: true },
      });
    }
    ssh.connection?.on('error', () => {
      this.client = undefined;
    });
    ssh.connection?.on('close', () => {
      this.client = undefined;
    });
    return ssh;
  }

  private async channel(cmd: string): Promise<ClientChannel> {
    const ssh = await this.connect();
    return new Promise((resolve, reject) => {
      ssh.connection!.exec(cmd, (err, ch) =>
        err ? reject(new RemoteError(`${this.target.name}: ${err.message}`)) : resolve(ch),
      );
    });
  }

  async exec(cmd: RemoteCommand, opts: ExecOptions): Promise<RunResult> {
    const line = toShell(cmd);
    if (opts.mutates && this.dryRun) {
      this.log(`! skipped (dry run) on ${this.target.name}: ${redact(line)}`);
      return { stdout: '', stderr: '', exitCode: 0, skipped: true };
    }
    this.log(`$ ${this.target.name}: ${redact(line)}`);
    const ch = await this.channel(line);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timeoutMs = opts.timeoutMs ?? this.settings.commandTimeoutMs;
    return new Promise<RunResult>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        ch.close();
      }, timeoutMs);
      ch.on('data', (b: Buffer) => {
        out.push(b);
        opts.onStdout?.(b);
      });
      ch.stderr.on('data', (b: Buffer) => {
        err.push(b);
        opts.onStderr?.(b);
      });
      ch.on('close', (code: number | null, signal?: string) => {
        clearTimeout(timer);
        const result: RunResult = {
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          exitCode: code ?? -1,
          skipped: false,
        };
        if (timedOut) {
          reject(
            new RemoteError(
              `${this.target.name}: command timed out ` +
                `after ${Math.round(timeoutMs / 1000)}s: ${redact(line).slice(0, 200)}`,
            ),
          );
        } else if (code === null || code === undefined) {
          reject(
            new RemoteError(
              `${this.target.name}: connection lost ` +
                `while running: ${redact(line).slice(0, 200)}${signal ? ` (signal ${signal})` : ''}`,
            ),
          );
        } else if (code !== 0 && opts.reject !== false) {
          const tail = (result.stderr || result.stdout).trim().split('\n').slice(-5).join('\n');
          reject(
            new RemoteError(
              redact(
                `${this.target.name}: command failed (exit ${code}): ${line.slice(0, 200)}${tail ? `\n${tail}` : ''}`,
              ),
              { details: { exitCode: code } },
            ),
          );
        } else resolve(result);
      });
      writeStdin(ch, opts.stdin);
    });
  }

  async stream(cmd: RemoteCommand, opts: Omit<ExecOptions, 'onStdout' | 'reject'>): Promise<StreamHandle> {
    const line = toShell(cmd);
    if (opts.mutates && this.dryRun) throw new RemoteError('internal: a mutating stream cannot run under --dry-run');
    this.log(`$ ${this.target.name}: ${redact(line)}`);
    const ch = await this.channel(line);
    let stderr = '';
    ch.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += b.toString('utf8');
      opts.onStderr?.(b);
    });
    const done = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) => {
      ch.on('close', (code: number | null, signal?: string) =>
        resolve({ code: code ?? null, signal: signal ?? null, stderr }),
      );
    });
    writeStdin(ch, opts.stdin);
    return { stdout: ch, done, abort: () => ch.close() };
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) {
      try {
        (await c).dispose();
      } catch {
        // never connected
      }
    }
  }
}

function writeStdin(ch: ClientChannel, stdin: ExecOptions['stdin']): void {
  if (stdin === undefined) ch.end();
  else if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) ch.end(stdin);
  else stdin.pipe(ch);
}

/** One connection per host, reused by every check and operation of a run. */
export class SshPool {
  private readonly hosts = new Map<string, SshHost>();

  constructor(
    private readonly settings: SshSettings,
    private readonly dryRun: boolean,
    private readonly log: (line: string) => void = () => {},
  ) {}

  host(target: SshTarget): RemoteHost {
    const key = `${target.user}@${target.address}:${target.port}`;
    let h = this.hosts.get(key);
    if (!h) {
      h = new SshHost(target, this.settings, this.dryRun, this.log);
      this.hosts.set(key, h);
    }
    return h;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.hosts.values()].map((h) => h.close()));
    this.hosts.clear();
  }
}
