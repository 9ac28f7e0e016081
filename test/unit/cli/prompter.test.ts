import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { defaultPrompter } from '../../../src/cli/prompter.js';
import { InterruptedError } from '../../../src/kernel/errors.js';

/** A terminal as inquirer sees one: raw keystrokes in, the drawn prompt out. */
function terminal() {
  const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => stdin });
  const stdout = Object.assign(new PassThrough(), { isTTY: true });
  const stderr = Object.assign(new PassThrough(), { isTTY: true, columns: 120 });
  let screen = '';
  stderr.on('data', (c: Buffer) => {
    screen += c.toString('utf8');
  });
  return { io: { stdin, stdout, stderr, env: {} }, screen: () => screen };
}

describe('prompts at a terminal', () => {
  it('Ctrl-C at a question is an interruption (exit 130), not an error of its own', async () => {
    const t = terminal();
    const prompter = defaultPrompter(t.io);
    expect(prompter.interactive).toBe(true);
    const answer = prompter.confirm({ message: 'Restore the previous version?', flag: '--yes' });
    const deadline = Date.now() + 5000;
    while (!t.screen().includes('Restore the previous version?') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    t.io.stdin.write('\x03');
    const err = await answer.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InterruptedError);
    expect((err as InterruptedError).exitCode).toBe(130);
    expect((err as Error).message).toBe('interrupted at: Restore the previous version?');
  });
});
