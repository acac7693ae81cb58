import { createInterface, type Interface } from "node:readline";
import { Writable } from "node:stream";
import { HubError } from "../../core/errors.js";

export interface Question {
  label: string;
  /** Shown in brackets and taken on an empty answer. */
  default?: string | undefined;
  /** Why the answer is refused (in words), or undefined to accept it. */
  validate?: ((answer: string) => string | undefined) | undefined;
  /** Not echoed on a terminal (secrets); the default is never shown, only "keep". */
  secret?: boolean;
  /** An empty answer is allowed (and means "none") when there is no default. */
  optional?: boolean;
}

/** Asks questions one line at a time; tests drive it through a pipe or a pty. */
export interface Prompter {
  ask(q: Question): Promise<string>;
  say(line: string): void;
  close(): void;
}

/** Re-asking on a pipe stops here: a script feeding bad answers must not loop for ever. */
const MAX_TRIES = 5;

/**
 * A prompter over a readable stream. Lines are queued as they arrive — piped answers may come all
 * at once, before the question that takes them is asked — and taken in order. On a terminal a
 * secret is not echoed. End of input before an answer is a USAGE error naming the question.
 */
export function streamPrompter(
  input: NodeJS.ReadableStream,
  write: (text: string) => void,
  tty: boolean,
): Prompter {
  let muted = false;
  const output = new Writable({
    write(chunk, _enc, done) {
      if (!muted) write(String(chunk));
      done();
    },
  });
  const rl: Interface = createInterface({ input, output, terminal: tty });
  const queue: string[] = [];
  const waiting: Array<(line: string | undefined) => void> = [];
  let ended = false;
  rl.on("line", (line) => {
    const next = waiting.shift();
    if (next) next(line);
    else queue.push(line);
  });
  rl.on("close", () => {
    ended = true;
    for (const w of waiting.splice(0)) w(undefined);
  });
  const nextLine = (): Promise<string | undefined> => {
    const queued = queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (ended) return Promise.resolve(undefined);
    return new Promise((resolve) => waiting.push(resolve));
  };
  return {
    say: (line) => write(`${line}\n`),
    async ask(q) {
      const hint =
        q.default === undefined
          ? q.optional
            ? " (Enter for none)"
            : ""
          : q.secret
            ? " [Enter keeps it]"
            : ` [${q.default}]`;
      for (let tries = 0; tries < MAX_TRIES; tries++) {
        write(`${q.label}${hint}: `);
        muted = q.secret === true && tty;
        const line = await nextLine();
        muted = false;
        if (q.secret && tty) write("\n");
        if (line === undefined) throw new HubError("USAGE", `no answer for "${q.label}": the input ended`);
        const answer = line.trim() === "" ? (q.default ?? "") : line.trim();
        if (answer === "" && !q.optional && q.default === undefined) {
          write("  an answer is needed\n");
          continue;
        }
        const problem = answer === "" ? undefined : q.validate?.(answer);
        if (problem === undefined) return answer;
        write(`  ${problem}\n`);
      }
      throw new HubError("USAGE", `no valid answer for "${q.label}" after ${MAX_TRIES} tries`);
    },
    close: () => rl.close(),
  };
}
