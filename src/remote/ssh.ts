import { userInfo } from 'node:os';
import type { Duplex, Readable } from 'node:stream';
import { NodeSSH, type Config } from 'node-ssh';
import type { ClientChannel } from 'ssh2';
import { HostKeyError, InterruptedError, RemoteError } from '../kernel/errors.js';
import type { RunResult } from '../kernel/process.js';
import { redact } from '../kernel/redact.js';
import { probeCertificate, type CertificateVerdict } from './hostCertificate.js';
import {
  fingerprint,
  knownByCertAuthorityOnly,
  hostKeyAlgorithms,
  hostToken,
  loadKnownHosts,
  verifyHostKey,
  type HostKeyVerdict,
} from './knownHosts.js';
import { SshKeys } from './sshAuth.js';
import { fallbackEffective, parseHop, resolveSshConfig, SshClientMissing, type SshEffective } from './sshConfig.js';
import { toShell, type RemoteCommand } from './quote.js';
import { sudoRefusal, withBecome } from './become.js';
import type { InventoryHost } from '../config/inventory.js';
import { stalledText, type ProgressWatch } from './progress.js';

/** What coopctl's SSH needs of an inventory host. */
export type SshTarget = Pick<InventoryHost, 'name' | 'address' | 'port' | 'user' | 'explicit' | 'become'>;

/** The files coopctl's SSH and Ansible's ssh share (each unset: OpenSSH's own). */
export interface SshFiles {
  /** `ssh -F FILE`: the ssh_config to resolve hosts with. */
  configFile?: string;
  /** From coopctl.yaml: replaces the ssh_config's UserKnownHostsFile when set. */
  knownHostsFile?: string;
  /** Replaces the ssh_config's GlobalKnownHostsFile (/etc/ssh/ssh_known_hosts) when set. */
  globalKnownHostsFile?: string;
}

interface SshSettings extends SshFiles {
  identityFile?: string;
  agent: boolean;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  /** A long data command (given a ProgressWatch) is stopped when it has made no progress for this long. */
  stallTimeoutMs: number;
  /** Asks for the passphrase of a configured, encrypted key (at a terminal); absent: such a key is an error. */
  askPassphrase?: (keyFile: string) => Promise<string>;
}

export interface ExecOptions {
  /** Changes something on the host: skipped under --dry-run. */
  mutates: boolean;
  stdin?: string | Buffer | Readable;
  timeoutMs?: number;
  /**
   * A long data command: bounded not by timeoutMs (nor ssh.commandTimeout) but by its progress, which the caller
   * feeds to the watch; stopped (its channel closed) once the watch has seen no change for ssh.stallTimeout.
   */
  progress?: ProgressWatch;
  /** exec only: aborting closes the channel and rejects with an InterruptedError (Ctrl-C). */
  signal?: AbortSignal;
  /** Return non-zero exits instead of throwing. */
  reject?: boolean;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
}

export interface StreamHandle {
  stdout: Readable;
  /** Resolves when the command ends, with its exit code and stderr (bounded). */
  done: Promise<{ code: number | null; signal: string | null; stderr: string; stalled?: string }>;
  /** Stop the command (closes the channel). */
  abort(): void;
}

/** The only way coopctl touches a host. */
export interface RemoteHost {
  readonly target: SshTarget;
  /** ssh.stallTimeout: how long a command given a ProgressWatch may go without progress. */
  readonly stallTimeoutMs: number;
  exec(cmd: RemoteCommand, opts: ExecOptions): Promise<RunResult>;
  /** For large outputs (dumps): stdout as a stream, never buffered whole. */
  stream(cmd: RemoteCommand, opts: Omit<ExecOptions, 'onStdout' | 'reject' | 'signal'>): Promise<StreamHandle>;
  close(): Promise<void>;
}

/** One hop as OpenSSH resolved it, with the files its host key is checked against. */
interface Endpoint {
  label: string;
  eff: SshEffective;
  knownHostsFiles: string[];
  /** How `ssh -G` was asked: OpenSSH reaches the host the same way to judge a certificate. */
  query: { host: string; port?: number; user?: string };
}

function hostKeyError(e: Endpoint, v: Exclude<HostKeyVerdict, { ok: true }>): HostKeyError {
  const where = e.eff.hostKeyAlias ?? hostToken(e.eff.hostname, e.eff.port);
  const files = e.knownHostsFiles.join(', ');
  const who = `${e.label} (${e.eff.user}@${hostToken(e.eff.hostname, e.eff.port)})`;
  if (v.reason === 'unknown') {
    const cert = v.certificate ? ` and its @cert-authority does not vouch for it (${v.certificate})` : '';
    return new HostKeyError(
      `host key of ${who} is not in ${files}${cert}: refusing to connect (offered ${v.offeredType} ${v.fingerprint})`,
      {
        hints: [
          "check that fingerprint with the host's administrators, then add the key: " +
            `ssh-keyscan${e.eff.port === 22 ? '' : ` -p ${e.eff.port}`} ${e.eff.hostname} >> ${e.knownHostsFiles[0]}`,
        ],
        details: { host: e.label, fingerprint: v.fingerprint },
      },
    );
  }
  return new HostKeyError(
    `host key of ${who} ${v.reason === 'revoked' ? 'is revoked' : 'has CHANGED'}: ` +
      `the key offered (${v.offeredType} ${v.fingerprint}) does not match ${files}. Refusing to connect`,
    {
      hints: [
        'this can be a reinstalled host or someone intercepting the connection; ' +
          'confirm the new fingerprint with the other operators before',
        `removing the old entry: ssh-keygen -f ${e.knownHostsFiles[0]} -R '${where}'`,
      ],
      details: { host: e.label, fingerprint: v.fingerprint },
    },
  );
}

/** A key no known_hosts line holds is good when OpenSSH accepted the host's certificate for this very key. */
function byCertificate(
  unknown: HostKeyVerdict & { ok: false },
  vouched: CertificateVerdict,
  key: Buffer,
): HostKeyVerdict {
  if (!vouched.ok) return { ...unknown, certificate: vouched.why };
  if (vouched.fingerprint === fingerprint(key)) return { ok: true };
  return { ...unknown, certificate: `its certificate is for ${vouched.fingerprint}, not the key offered here` };
}

const MAX_JUMPS = 5;

interface SocketCounts {
  bytesRead?: number;
  bytesWritten?: number;
}

class SshHost implements RemoteHost {
  private client?: Promise<NodeSSH>;
  /** Jump-host connections of the current client, closed with it. */
  private jumps: NodeSSH[] = [];
  /** The user the last connection logged in as (what `ssh -G` resolved), for sudo's messages. */
  private login?: string;
  private socket?: SocketCounts;

  constructor(
    readonly target: SshTarget,
    private readonly settings: SshSettings,
    private readonly keys: SshKeys,
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

  private async resolve(host: string, port?: number, user?: string): Promise<Endpoint> {
    const s = this.settings;
    let eff: SshEffective;
    try {
      eff = await resolveSshConfig(host, { configFile: s.configFile, port, user });
    } catch (err) {
      if (!(err instanceof SshClientMissing)) throw err;
      eff = { ...fallbackEffective(host), ...(port ? { port } : {}), ...(user ? { user } : {}) };
    }
    const user_ = eff.user || userInfo().username;
    return {
      label: host,
      query: { host, port, user },
      eff: { ...eff, user: user_ },
      knownHostsFiles: [
        ...(s.knownHostsFile ? [s.knownHostsFile] : eff.userKnownHostsFiles),
        ...(s.globalKnownHostsFile ? [s.globalKnownHostsFile] : eff.globalKnownHostsFiles),
      ],
    };
  }

  private async doConnect(): Promise<NodeSSH> {
    const t = this.target;
    const explicit = t.explicit ?? { port: true, user: true };
    const end = await this.resolve(t.address, explicit.port ? t.port : undefined, explicit.user ? t.user : undefined);
    end.label = t.name;
    this.login = end.eff.user;
    this.log(
      `ssh ${t.name}: ${end.eff.user}@${hostToken(end.eff.hostname, end.eff.port)}` +
        (end.eff.proxyJump.length ? ` via ${end.eff.proxyJump.join(',')}` : ''),
    );
    const jumps: NodeSSH[] = [];
    try {
      const ssh = await this.reach(end, jumps, 0);
      this.jumps = jumps;
      ssh.connection?.on('error', () => {
        this.client = undefined;
      });
      // What crosses the operator's link with this host (ssh2 keeps its socket private): -v shows it at the end.
      this.socket = (ssh.connection as unknown as { _sock?: SocketCounts } | null)?._sock;
      ssh.connection?.on('close', () => {
        this.client = undefined;
        for (const j of jumps) j.dispose();
      });
      return ssh;
    } catch (err) {
      for (const j of jumps) j.dispose();
      throw err;
    }
  }

  /** Connects to `end`, first through its ProxyJump hops (each one resolved with `ssh -G` as well). */
  private async reach(end: Endpoint, jumps: NodeSSH[], depth: number): Promise<NodeSSH> {
    if (depth > MAX_JUMPS) throw new RemoteError(`${this.target.name}: more than ${MAX_JUMPS} ProxyJump hops`);
    let via: NodeSSH | undefined;
    for (const [i, hop] of end.eff.proxyJump.entries()) {
      const h = parseHop(hop);
      const ep = await this.resolve(h.host, h.port, h.user);
      // Only the first hop's own ProxyJump counts, as with `ssh -J a,b`.
      via = i === 0 ? await this.reach(ep, jumps, depth + 1) : await this.open(ep, via);
      jumps.push(via);
    }
    return this.open(end, via);
  }

  private async open(e: Endpoint, via?: NodeSSH): Promise<NodeSSH> {
    const s = this.settings;
    const { eff } = e;
    const entries = e.knownHostsFiles.flatMap((f) => loadKnownHosts(f));
    const keyHost = eff.hostKeyAlias ?? eff.hostname;
    // A HostKeyAlias is looked up without the port, as OpenSSH does.
    const keyPort = eff.hostKeyAlias ? 22 : eff.port;
    let verdict: HostKeyVerdict | undefined;
    let sock: Duplex | undefined;
    if (via) {
      try {
        sock = await via.forwardOut('127.0.0.1', 0, eff.hostname, eff.port);
      } catch (err) {
        throw new RemoteError(`cannot reach ${e.label} through its ProxyJump: ${(err as Error).message}`, {
          details: { host: e.label, unreachable: true },
        });
      }
    }
    const ssh = new NodeSSH();
    const authHandler = await this.keys.methods(eff.user, eff.identityFiles, eff.identityAgent);
    const vouched = knownByCertAuthorityOnly(entries, keyHost, keyPort)
      ? await probeCertificate({
          ...e.query,
          files: s,
          timeoutMs: s.connectTimeoutMs,
        })
      : undefined;
    try {
      await ssh.connect({
        ...(sock ? { sock } : { host: eff.hostname, port: eff.port }),
        username: eff.user,
        authHandler,
        algorithms: { serverHostKey: hostKeyAlgorithms(entries, keyHost, keyPort, vouched?.ok ? vouched.keyType : '') },
        readyTimeout: s.connectTimeoutMs,
        keepaliveInterval: 5_000,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer) => {
          verdict = verifyHostKey(entries, keyHost, keyPort, key);
          if (!verdict.ok && verdict.reason === 'unknown' && vouched) verdict = byCertificate(verdict, vouched, key);
          return verdict.ok;
        },
      } as Config);
    } catch (err) {
      if (verdict && !verdict.ok) throw hostKeyError(e, verdict);
      const x = err as NodeJS.ErrnoException & { level?: string };
      let why = x.message;
      if (x.code === 'ECONNREFUSED') why = 'connection refused';
      else if (/timed out/i.test(x.message) || x.code === 'ETIMEDOUT')
        why = `no answer within ${Math.round(s.connectTimeoutMs / 1000)}s`;
      else if (x.level === 'client-authentication')
        why = `authentication failed for user ${eff.user} (${this.keys.describe(eff.identityAgent)})`;
      else if (x.code === 'EHOSTUNREACH' || x.code === 'ENETUNREACH') why = 'host unreachable';
      throw new RemoteError(`cannot reach ${e.label} (${eff.user}@${hostToken(eff.hostname, eff.port)}): ${why}`, {
        details: { host: e.label, unreachable: true },
      });
    }
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

  get stallTimeoutMs(): number {
    return this.settings.stallTimeoutMs;
  }

  /**
   * Closes the channel when the command outlives its bound: ssh.commandTimeout (or opts.timeoutMs), or, for a long
   * data command with a ProgressWatch, ssh.stallTimeout without progress. `why` says which, once it has happened.
   */
  private bound(ch: ClientChannel, opts: Pick<ExecOptions, 'timeoutMs' | 'progress'>) {
    let why: string | undefined;
    const watch = opts.progress;
    const stallMs = this.settings.stallTimeoutMs;
    const timeoutMs = opts.timeoutMs ?? this.settings.commandTimeoutMs;
    const timer = watch
      ? setInterval(
          () => {
            if (why || watch.idleMs() < stallMs) return;
            why = stalledText(watch.idleMs());
            ch.close();
          },
          Math.min(1000, stallMs / 4),
        )
      : setTimeout(() => {
          why = `command timed out after ${Math.round(timeoutMs / 1000)}s`;
          ch.close();
        }, timeoutMs);
    // The bound watches a channel; it never keeps this process alive by itself (a channel destroyed by its reader
    // emits no 'close', and would leave the interval running after everything else ended).
    timer.unref();
    return {
      why: () => why,
      clear: () => clearTimeout(timer),
    };
  }

  /** The command line as the host's shell gets it: through sudo when the inventory says become. */
  private line(cmd: RemoteCommand): string {
    return toShell(withBecome(cmd, this.target.become));
  }

  /** sudo's own refusal of a command, as an error; undefined when the result is the command's. */
  private refusal(r: Pick<RunResult, 'exitCode' | 'stderr'>) {
    const { become, name, user } = this.target;
    return become && sudoRefusal(r, name, this.login ?? user, become);
  }

  async exec(cmd: RemoteCommand, opts: ExecOptions): Promise<RunResult> {
    const line = this.line(cmd);
    if (opts.mutates && this.dryRun) {
      this.log(`! skipped (dry run) on ${this.target.name}: ${redact(line)}`);
      return { stdout: '', stderr: '', exitCode: 0, skipped: true };
    }
    this.log(`$ ${this.target.name}: ${redact(line)}`);
    const ch = await this.channel(line);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    return new Promise<RunResult>((resolve, reject) => {
      const limit = this.bound(ch, opts);
      let interrupted = false;
      const onAbort = () => {
        interrupted = true;
        ch.close();
      };
      if (opts.signal?.aborted) onAbort();
      else opts.signal?.addEventListener('abort', onAbort, { once: true });
      ch.on('data', (b: Buffer) => {
        out.push(b);
        opts.onStdout?.(b);
      });
      ch.stderr.on('data', (b: Buffer) => {
        err.push(b);
        opts.onStderr?.(b);
      });
      ch.on('close', (code: number | null, signal?: string) => {
        limit.clear();
        opts.signal?.removeEventListener('abort', onAbort);
        const result: RunResult = {
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          exitCode: code ?? -1,
          skipped: false,
        };
        // Even with reject: false: a refusal by sudo is never the command's answer (a missing file, ...).
        const refused = this.refusal(result);
        if (refused) reject(refused);
        else if (interrupted) reject(new InterruptedError(`interrupted on ${this.target.name}`));
        else if (limit.why()) {
          reject(
            new RemoteError(`${this.target.name}: ${limit.why()}, stopped: ${redact(line).slice(0, 200)}`, {
              details: { stalled: !!opts.progress },
            }),
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

  async stream(cmd: RemoteCommand, opts: Omit<ExecOptions, 'onStdout' | 'reject' | 'signal'>): Promise<StreamHandle> {
    const line = this.line(cmd);
    if (opts.mutates && this.dryRun) throw new RemoteError('internal: a mutating stream cannot run under --dry-run');
    this.log(`$ ${this.target.name}: ${redact(line)}`);
    const ch = await this.channel(line);
    // Without a ProgressWatch a stream is the caller's to stop (Ctrl-C, a failure downstream).
    const limit = opts.progress ? this.bound(ch, opts) : undefined;
    let stderr = '';
    ch.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += b.toString('utf8');
      opts.onStderr?.(b);
    });
    const done = new Promise<Awaited<StreamHandle['done']>>((resolve) => {
      ch.on('close', (code: number | null, signal?: string) => {
        limit?.clear();
        const stalled = limit?.why();
        // sudo's refusal, said as exec says it: the caller reports stderr's last lines.
        const refused = this.refusal({ exitCode: code ?? -1, stderr });
        const said = refused ? `${stderr}${refused.message}\n${refused.hints[0]}\n` : stderr;
        resolve({
          code: stalled ? null : (code ?? null),
          signal: signal ?? null,
          stderr: said,
          ...(stalled && { stalled }),
        });
      });
    });
    writeStdin(ch, opts.stdin);
    return {
      stdout: ch,
      done,
      abort: () => {
        limit?.clear();
        ch.close();
      },
    };
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    const sock = this.socket;
    if (typeof sock?.bytesRead === 'number')
      this.log(`ssh ${this.target.name}: ${sock.bytesRead} bytes received, ${sock.bytesWritten} bytes sent`);
    this.socket = undefined;
    if (c) {
      try {
        (await c).dispose();
      } catch {
        // never connected
      }
    }
    for (const j of this.jumps.reverse()) j.dispose();
    this.jumps = [];
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
  private readonly keys: SshKeys;

  constructor(
    private readonly settings: SshSettings,
    private readonly dryRun: boolean,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.keys = new SshKeys({
      agent: settings.agent,
      configured: settings.identityFile,
      askPassphrase: settings.askPassphrase,
    });
  }

  host(target: SshTarget): RemoteHost {
    const key = `${target.user}@${target.address}:${target.port}${target.become ? `>${target.become.user}` : ''}`;
    let h = this.hosts.get(key);
    if (!h) {
      h = new SshHost(target, this.settings, this.keys, this.dryRun, this.log);
      this.hosts.set(key, h);
    }
    return h;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.hosts.values()].map((h) => h.close()));
    this.hosts.clear();
  }
}
