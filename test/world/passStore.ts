import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { SandboxLayout } from './layout.js';

/** The entries of the sandbox's pass store, as operators keep theirs (coopctl.yaml refers to them). */
export const PASS_ENTRIES = {
  s3AccessKey: 'sandbox/s3/access-key-id',
  s3SecretKey: 'sandbox/s3/secret-access-key',
  ageIdentity: 'sandbox/backups/age-identity',
  matrixToken: 'sandbox/matrix/access-token',
};

/**
 * The sandbox's secrets live where production's do: in a real `pass` store
 * (GnuPG), with a throw-away key without passphrase. Its GNUPGHOME and
 * PASSWORD_STORE_DIR are under the sandbox dir; an operator's shell (and the
 * tests' CLI runner) exports them, as it would for their own store.
 */
export function passEnv(layout: SandboxLayout): { GNUPGHOME: string; PASSWORD_STORE_DIR: string } {
  return {
    GNUPGHOME: path.join(layout.secrets, 'gnupg'),
    PASSWORD_STORE_DIR: path.join(layout.secrets, 'password-store'),
  };
}

function run(layout: SandboxLayout, file: string, args: string[], input?: string): string {
  return execFileSync(file, args, {
    env: { ...process.env, ...passEnv(layout) },
    input: input ?? '',
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** A GPG key, `pass init`, and `pass insert -m` of each entry (text as an operator would paste it). */
export function createPassStore(layout: SandboxLayout, entries: Record<string, string>): void {
  const env = passEnv(layout);
  mkdirSync(env.GNUPGHOME, { recursive: true, mode: 0o700 });
  const uid = 'coopctl sandbox <sandbox@coopctl.invalid>';
  run(layout, 'gpg', [
    '--batch',
    '--quiet',
    '--passphrase',
    '',
    '--quick-gen-key',
    uid,
    'future-default',
    'default',
    'never',
  ]);
  const fpr = run(layout, 'gpg', ['--batch', '--with-colons', '--list-secret-keys', uid])
    .split('\n')
    .find((l) => l.startsWith('fpr:'))!
    .split(':')[9];
  run(layout, 'pass', ['init', fpr]);
  for (const [entry, text] of Object.entries(entries)) insertPassEntry(layout, entry, text);
}

function insertPassEntry(layout: SandboxLayout, entry: string, text: string): void {
  run(layout, 'pass', ['insert', '--multiline', '--force', entry], text);
}

/** gpg started an agent for the sandbox's GNUPGHOME: stop it with the rest. */
export function stopGpgAgent(layout: SandboxLayout): void {
  const { GNUPGHOME } = passEnv(layout);
  if (!existsSync(GNUPGHOME)) return;
  try {
    run(layout, 'gpgconf', ['--kill', 'gpg-agent']);
  } catch {
    // no agent running, or gpg is gone: nothing to stop
  }
}
