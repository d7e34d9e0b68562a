import { createInterface } from 'node:readline';

export type Answer = 'yes' | 'no' | 'all' | 'quit' | 'interrupt';

export interface ConfirmRequest {
  stepId: string;
  title: string;
  operations: string[];
  blastRadius: string[];
  /** Whether the run can go on without this step. */
  optional: boolean;
}

/**
 * The one place that decides whether a changing step may go ahead. It is chosen once, before
 * the first step: a terminal asks; `--yes` confirms; anything else refuses up front.
 */
export interface Confirmer {
  /** How consent is given, journaled with each confirmed step. */
  readonly mode: 'terminal' | 'assume-yes';
  confirm(request: ConfirmRequest): Promise<Answer>;
}

export const assumeYes: Confirmer = { mode: 'assume-yes', confirm: async () => 'yes' };

/**
 * Asks on the terminal: yes / no / all / quit, default No. The prompt goes to stderr so that
 * stdout stays for results. Ctrl-C at the prompt is an interruption, not an answer.
 */
export function terminalConfirmer(input: NodeJS.ReadStream, output: NodeJS.WriteStream): Confirmer {
  let all = false;
  return {
    mode: 'terminal',
    async confirm(request) {
      if (all) return 'yes';
      output.write(`\n${request.title} (${request.stepId}) will:\n`);
      for (const line of request.operations) output.write(`  ${line}\n`);
      if (request.blastRadius.length > 0) {
        output.write('Blast radius:\n');
        for (const line of request.blastRadius) output.write(`  ${line}\n`);
      }
      output.write(
        request.optional
          ? 'This step is optional: No skips it and the run goes on.\n'
          : 'No ends the run here: the steps after this one need it.\n',
      );
      for (;;) {
        const answer = await ask(input, output, 'Proceed? [y]es / [N]o / [a]ll / [q]uit: ');
        if (answer === 'interrupt') return 'interrupt';
        const parsed = parseAnswer(answer);
        if (parsed === 'all') all = true;
        if (parsed) return parsed;
        output.write('Please answer y, n, a or q (Enter means no).\n');
      }
    },
  };
}

/** One of the answers a judgement question offers: typed as its key or its word. */
export interface Choice {
  key: string;
  word: string;
  meaning: string;
}

/**
 * Asks a person to judge what the tool could not (an inconclusive monitoring window). Only a
 * terminal can: without one a judgement is never assumed, and --yes does not answer it.
 */
export interface Asker {
  choose(question: string, details: string[], choices: Choice[]): Promise<string | 'interrupt'>;
}

export function terminalAsker(input: NodeJS.ReadStream, output: NodeJS.WriteStream): Asker {
  return {
    async choose(question, details, choices) {
      output.write(`\n${question}\n`);
      for (const line of details) output.write(`  ${line}\n`);
      for (const choice of choices) output.write(`  [${choice.key}] ${choice.word}: ${choice.meaning}\n`);
      // "[r]ecovered" when the key is the word's first letter, else "[1] trimp-errors".
      const label = (c: Choice) => (c.word.startsWith(c.key) ? `[${c.key}]${c.word.slice(c.key.length)}` : `[${c.key}] ${c.word}`);
      const prompt = `${choices.map(label).join(' / ')}: `;
      for (;;) {
        const answer = await ask(input, output, prompt);
        if (answer === 'interrupt') return 'interrupt';
        const word = answer.trim().toLowerCase();
        const chosen = choices.find((c) => word === c.key || word === c.word);
        if (chosen) return chosen.word;
        output.write(`Please answer ${choices.map((c) => c.key).join(', ')} (there is no default).\n`);
      }
    },
  };
}

export function parseAnswer(text: string): Exclude<Answer, 'interrupt'> | undefined {
  const word = text.trim().toLowerCase();
  if (word === '' || word === 'n' || word === 'no') return 'no';
  if (word === 'y' || word === 'yes') return 'yes';
  if (word === 'a' || word === 'all') return 'all';
  if (word === 'q' || word === 'quit') return 'quit';
  return undefined;
}

function ask(input: NodeJS.ReadStream, output: NodeJS.WriteStream, question: string): Promise<string | 'interrupt'> {
  return new Promise((resolve) => {
    const rl = createInterface({ input, output, terminal: true });
    let settled = false;
    const finish = (value: string | 'interrupt') => {
      if (settled) return;
      settled = true;
      rl.close();
      resolve(value);
    };
    rl.on('SIGINT', () => {
      output.write('\n');
      finish('interrupt');
    });
    rl.on('close', () => finish('interrupt'));
    rl.question(question, (answer) => finish(answer));
  });
}
