import * as fs from "node:fs";
import * as path from "node:path";
import * as readline from "node:readline";
import { isEmptyDir } from "./scaffold.js";
import { DEFAULT_TEMPLATE, isTemplateName, TEMPLATES } from "./templates.js";

/** What a new project needs; each answer has a flag, and prompts ask only for the missing ones. */
export interface Answers {
  dir?: string;
  template?: string;
  overwrite?: boolean;
}

/** Where prompts read and write (a terminal; tests pass streams). */
export interface PromptIO {
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream;
}

export const DEFAULT_DIR = "blazerpc-service";

/**
 * Asks, in a terminal, for the answers no flag gave: the folder, the template, and whether
 * to empty a folder that is not empty. Resolves with every answer set (a declined
 * overwrite stays false; the caller refuses then).
 */
export async function promptForMissing(answers: Answers, io: PromptIO): Promise<Required<Answers>> {
  const rl = readline.createInterface({ input: io.input, terminal: false });
  // Lines are read through the iterator, which keeps those typed ahead of their question.
  const lines = rl[Symbol.asyncIterator]();
  const ask = async (question: string): Promise<string> => {
    io.output.write(question);
    const next = await lines.next();
    if (next.done === true) throw new Error("cancelled: no answer (end of input)");
    return next.value;
  };
  try {
    let dir = answers.dir;
    if (dir === undefined) {
      dir = (await ask(`Project folder (${DEFAULT_DIR}): `)).trim() || DEFAULT_DIR;
    }
    let template = answers.template;
    while (template === undefined) {
      const list = TEMPLATES.map((t, i) => `  ${i + 1}) ${t.name.padEnd(6)} ${t.description}`).join("\n");
      const a = (
        await ask(`Template:\n${list}\nPick one (1-${TEMPLATES.length} or a name, default ${DEFAULT_TEMPLATE}): `)
      ).trim();
      const byNumber = /^\d+$/.test(a) ? TEMPLATES[Number(a) - 1]?.name : undefined;
      if (a === "") template = DEFAULT_TEMPLATE;
      else if (byNumber !== undefined) template = byNumber;
      else if (isTemplateName(a)) template = a;
      else io.output.write(`"${a}" is not a template\n`);
    }
    let overwrite = answers.overwrite ?? false;
    const abs = path.resolve(dir);
    if (!overwrite && fs.existsSync(abs) && fs.statSync(abs).isDirectory() && !isEmptyDir(abs)) {
      const a = (await ask(`${dir} is not empty. Remove its files (except .git) and continue? (y/N) `))
        .trim()
        .toLowerCase();
      overwrite = a === "y" || a === "yes";
    }
    return { dir, template, overwrite };
  } finally {
    rl.close();
  }
}
