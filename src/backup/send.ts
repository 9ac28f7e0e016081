import { InputError } from '../kernel/errors.js';
import type { ShellLine } from '../remote/quote.js';
import { assertRecipients } from './crypto.js';
import { hostProgram, hostScript } from './hostProgram.js';

/**
 * host/send.sh: one file of the host, encrypted there with age (no recipients: a plaintext backup), to the store:
 * uploaded by the host (S3, hostS3.ts uploadCommand) or on stdout for coopctl to relay (relayCommand). Either way
 * the hashes and size are the host's, of the bytes it read and the bytes it sent.
 */
export interface Sent {
  /** Of the bytes sent (the stored object). */
  sha256: string;
  size: number;
  /** Of the file as the host read it, before age. */
  plainSha256: string;
}

/** send.sh's arguments after its destination: the file, then the recipients, each checked. */
export function sendArgs(file: string, recipients: readonly string[]): { file: string; recipients: string[] } {
  if (!file.startsWith('/') || /[\n\r]/.test(file))
    throw new InputError(`${JSON.stringify(file)} must be an absolute path`);
  if (recipients.length > 0) assertRecipients(recipients);
  for (const r of recipients) if (!/^age1[0-9a-z]+$/.test(r)) throw new InputError(`not an age recipient: ${r}`);
  return { file, recipients: [...recipients] };
}

/** send.sh with its data on stdout (and its reports on stderr): for a store on this machine. */
export function relayCommand(file: string, recipients: readonly string[]): ShellLine {
  const a = sendArgs(file, recipients);
  return hostScript(hostProgram('send'), [a.file, '-', '', ...a.recipients]);
}

/** What send.sh reported, strictly: undefined when a line is missing or malformed. */
export function parseSent(report: string): Sent | undefined {
  const sha = /^stored-sha256 ([0-9a-f]{64})$/m.exec(report)?.[1];
  const size = /^stored-bytes (\d+)$/m.exec(report)?.[1];
  const plain = /^plain-sha256 ([0-9a-f]{64})$/m.exec(report)?.[1];
  return sha && size && plain ? { sha256: sha, size: Number(size), plainSha256: plain } : undefined;
}
