import { parseArgs } from "node:util";
import { createProject } from "./create-project.js";
import { ownVersion, TEMPLATES } from "./templates.js";

const USAGE = `Usage: npm create blazerpc@latest [folder] -- [options]
       (or: create-blazerpc [folder] [options]; blaze init [folder] [options])

Creates a BlazeRPC service from a template. In a terminal it asks for what the flags
do not say; otherwise (or with --yes) it takes the defaults.

Options:
  -t, --template <name>  ${TEMPLATES.map((t) => t.name).join(" | ")} (default: model)
${TEMPLATES.map((t) => `                           ${t.name}: ${t.description}`).join("\n")}
      --name <name>      the package name (default: the folder's name)
      --overwrite        empty the folder first if it is not empty (.git is kept)
  -y, --yes              ask nothing, take the defaults
  -h, --help             this text
  -v, --version          the version
`;

/**
 * The \`create-blazerpc\` command (what \`npm create blazerpc\` runs). Resolves with the exit
 * code: 1, with the reason and nothing written, for a flag or value it does not know.
 */
export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        template: { type: "string", short: "t" },
        name: { type: "string" },
        overwrite: { type: "boolean" },
        yes: { type: "boolean", short: "y" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    });
  } catch (err) {
    console.error(`create-blazerpc: ${(err as Error).message}\n\n${USAGE}`);
    return 1;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  if (values.version === true) {
    console.log(ownVersion());
    return 0;
  }
  if (positionals.length > 1) {
    console.error(
      `create-blazerpc: one folder, please (got ${positionals.map((p) => JSON.stringify(p)).join(", ")})\n\n${USAGE}`,
    );
    return 1;
  }
  try {
    await createProject({
      ...(positionals[0] !== undefined ? { dir: positionals[0] } : {}),
      ...(values.template !== undefined ? { template: values.template } : {}),
      ...(values.name !== undefined ? { packageName: values.name } : {}),
      ...(values.overwrite !== undefined ? { overwrite: values.overwrite } : {}),
      ...(values.yes !== undefined ? { yes: values.yes } : {}),
    });
    return 0;
  } catch (err) {
    console.error(`create-blazerpc: ${(err as Error).message}`);
    return 1;
  }
}
