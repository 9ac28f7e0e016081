import { InputError, InterruptedError } from '../kernel/errors.js';
import { canPrompt, type IO } from '../kernel/io.js';

interface Choice<T> {
  value: T;
  name: string;
  description?: string;
  disabled?: boolean | string;
}

/**
 * Questions go through this, so commands never touch a terminal directly:
 * with no person at the keyboard, a question becomes an error naming the
 * flag that answers it.
 */
export interface Prompter {
  readonly interactive: boolean;
  select<T>(q: { message: string; choices: Choice<T>[]; flag: string; default?: T }): Promise<T>;
  confirm(q: { message: string; flag: string; default?: boolean }): Promise<boolean>;
  /** A secret typed without echo (an SSH key's passphrase); never logged. */
  secret(q: { message: string; flag: string }): Promise<string>;
}

class NonInteractivePrompter implements Prompter {
  readonly interactive = false;
  async select<T>(q: { message: string; flag: string }): Promise<T> {
    throw new InputError(`${q.message}: no terminal to ask on; pass ${q.flag}`);
  }
  async confirm(q: { message: string; flag: string }): Promise<boolean> {
    throw new InputError(`${q.message}: no terminal to ask on; pass ${q.flag} to confirm`);
  }
  async secret(q: { message: string; flag: string }): Promise<string> {
    throw new InputError(`${q.message}: no terminal to ask on; ${q.flag}`);
  }
}

/**
 * Ctrl-C at a prompt: the terminal is raw, so no SIGINT reaches the process; inquirer rejects with ExitPromptError
 * (@inquirer/core 12 dist/lib/create-prompt.js:113, on its readline's 'SIGINT'). An interruption (exit 130).
 */
async function asked<T>(message: string, prompt: Promise<T>): Promise<T> {
  try {
    return await prompt;
  } catch (err) {
    if (err instanceof Error && err.name === 'ExitPromptError')
      throw new InterruptedError(`interrupted at: ${message}`);
    throw err;
  }
}

class InquirerPrompter implements Prompter {
  readonly interactive = true;
  constructor(private readonly io: IO) {}

  async select<T>(q: { message: string; choices: Choice<T>[]; default?: T }): Promise<T> {
    const { select } = await import('@inquirer/prompts');
    return asked(
      q.message,
      select<T>(
        { message: q.message, choices: q.choices, default: q.default, pageSize: 15 },
        { input: this.io.stdin, output: this.io.stderr },
      ),
    );
  }

  async confirm(q: { message: string; default?: boolean }): Promise<boolean> {
    const { confirm } = await import('@inquirer/prompts');
    return asked(
      q.message,
      confirm({ message: q.message, default: q.default ?? false }, { input: this.io.stdin, output: this.io.stderr }),
    );
  }

  async secret(q: { message: string }): Promise<string> {
    const { password } = await import('@inquirer/prompts');
    return asked(
      q.message,
      password({ message: q.message, mask: false }, { input: this.io.stdin, output: this.io.stderr }),
    );
  }
}

export function defaultPrompter(io: IO): Prompter {
  return canPrompt(io) ? new InquirerPrompter(io) : new NonInteractivePrompter();
}
