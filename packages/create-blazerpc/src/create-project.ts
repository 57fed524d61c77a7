import * as path from "node:path";
import { DEFAULT_DIR, promptForMissing, type Answers } from "./prompts.js";
import { scaffold, type ScaffoldResult } from "./scaffold.js";
import { DEFAULT_TEMPLATE } from "./templates.js";

/** Options of {@link createProject}: the flags of `npm create blazerpc` and `blaze init`. */
export interface CreateProjectOptions extends Answers {
  /** The package name (`--name`); default: the folder's name. */
  packageName?: string;
  /** Ask nothing, take the defaults (`--yes`); also what happens without a terminal. */
  yes?: boolean;
  /** The command the next steps name to run the scripts: npm, pnpm or yarn (default: from npm_config_user_agent). */
  packageManager?: string;
  /** Prompts read here when it is a terminal (default process.stdin). */
  input?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Prompts and the summary go here (default process.stdout). */
  output?: NodeJS.WritableStream;
}

/**
 * What `npm create blazerpc` and `blaze init` both do: fill in the answers (prompting only
 * when stdin is a terminal and `--yes` was not given), scaffold, print the next steps.
 *
 * @example
 * await createProject({ dir: "my-service", template: "web", yes: true });
 */
export async function createProject(options: CreateProjectOptions): Promise<ScaffoldResult> {
  const { input = process.stdin, output = process.stdout } = options;
  const interactive = options.yes !== true && input.isTTY === true;
  const answers = interactive
    ? await promptForMissing(options, { input, output })
    : {
        dir: options.dir ?? DEFAULT_DIR,
        template: options.template ?? DEFAULT_TEMPLATE,
        overwrite: options.overwrite ?? false,
      };
  const result = scaffold({
    dir: answers.dir,
    template: answers.template,
    overwrite: answers.overwrite,
    ...(options.packageName !== undefined ? { packageName: options.packageName } : {}),
  });
  const pm = options.packageManager ?? packageManagerOf(process.env.npm_config_user_agent);
  const rel = path.relative(process.cwd(), result.dir) || ".";
  const run = pm === "npm" ? "npm run" : pm;
  output.write(
    [
      `Scaffolded ${result.packageName} (template "${result.template}") in ${rel}. Next:`,
      "",
      ...(rel !== "." ? [`  cd ${/\s/.test(rel) ? JSON.stringify(rel) : rel}`] : []),
      `  ${pm} install`,
      `  ${run} dev`,
      "",
      `${run} dev serves it on http://127.0.0.1:50051; ${pm} test starts it on a free port and calls it with the generated client.`,
      "",
    ].join("\n"),
  );
  return result;
}

/** npm, pnpm or yarn, from the user agent string the package manager sets for the scripts it runs. */
export function packageManagerOf(userAgent: string | undefined): string {
  const name = userAgent?.split(" ")[0]?.split("/")[0];
  return name === "pnpm" || name === "yarn" ? name : "npm";
}
