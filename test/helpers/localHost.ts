import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { RemoteError } from '../../src/kernel/errors.js';
import type { RunResult } from '../../src/kernel/process.js';
import { toShell, type RemoteCommand } from '../../src/remote/quote.js';
import type { ExecOptions, RemoteHost, StreamHandle } from '../../src/remote/ssh.js';

/**
 * A RemoteHost that runs its commands on this machine with sh, as sshd would
 * hand them to the login shell: locks, history records and the fake
 * service's files are real files in a temp dir, with no sshd in between.
 */
export class LocalHost implements RemoteHost {
  readonly target = { name: 'local', address: '127.0.0.1', port: 22, user: 'coopctl' };
  readonly stallTimeoutMs = 60_000;

  exec(cmd: RemoteCommand, opts: ExecOptions): Promise<RunResult> {
    const line = toShell(cmd);
    return new Promise((resolve, reject) => {
      const child = spawn('sh', ['-c', line], { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', reject);
      child.stdin.on('error', () => {}); // a command that reads no stdin may exit before it is written
      child.on('close', (code) => {
        const r = {
          stdout: Buffer.concat(out).toString(),
          stderr: Buffer.concat(err).toString(),
          exitCode: code ?? -1,
          skipped: false,
        };
        if (code !== 0 && opts.reject !== false)
          reject(new RemoteError(`local: command failed (exit ${code}): ${line}\n${r.stderr}`));
        else resolve(r);
      });
      if (opts.stdin instanceof Readable) opts.stdin.pipe(child.stdin);
      else child.stdin.end(opts.stdin ?? '');
    });
  }

  async stream(): Promise<StreamHandle> {
    throw new Error('LocalHost does not stream');
  }

  async close(): Promise<void> {}
}
