import type { Argv } from "yargs";
import yargs from "yargs/yargs";
import { createProject, TEMPLATES } from "create-blazerpc";
import { projectPaths } from "./paths.js";
import { check } from "./commands/check.js";
import { formatSteps, generate, type GivenSpec } from "./commands/generate.js";
import { serve } from "./commands/serve.js";
import { resolveServeOptions, SERVE_OPTIONS } from "./commands/serve-options.js";
import { isWorker, runPrimary, workerCount } from "./commands/workers.js";
import { hintsFor } from "./hints.js";
import { isZeroCodeEntry } from "./zero-code/model-repository.js";

const COMMANDS = ["init", "proto", "generate", "check", "serve", "dev"];

/**
 * Runs the `blaze` command line with the given arguments (without `node` and the script).
 * Resolves with the exit code; a server started by `serve` keeps the process alive.
 */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const fail = (err: unknown) => {
    console.error(
      err instanceof Error && err.name !== "CodegenError"
        ? `blaze: ${err.message}`
        : ((err as Error).message ?? String(err)),
    );
    code = 1;
  };
  // A handler only says what its command will do; the work runs once yargs has checked every
  // flag and value (yargs calls the handler even after .fail() has reported an unknown
  // argument), so a refused command line has no side effects.
  let work: (() => unknown) | undefined;
  const later = (fn: () => unknown) => {
    work = fn;
  };
  await yargs(argv)
    .scriptName("blaze")
    .strict()
    .recommendCommands()
    .demandCommand(1, "name a command: init, proto, generate, check, serve or dev")
    .command(
      "init [dir]",
      "start a new project from a template (the same as `npm create blazerpc`); asks for what the flags do not say when run in a terminal",
      (y) =>
        y
          .positional("dir", { type: "string", describe: "the project folder (default: blazerpc-service)" })
          .option("template", {
            alias: "t",
            type: "string",
            choices: TEMPLATES.map((t) => t.name),
            describe: `${TEMPLATES.map((t) => `${t.name}: ${t.description}`).join("; ")}`,
          })
          .option("name", { type: "string", describe: "the package name (default: the folder's name)" })
          .option("overwrite", {
            type: "boolean",
            describe: "empty the folder first if it is not empty (.git is kept)",
          })
          .option("yes", { alias: "y", type: "boolean", describe: "ask nothing, take the defaults" }),
      (args) =>
        later(async () => {
          try {
            await createProject({
              ...(args.dir !== undefined ? { dir: args.dir } : {}),
              ...(args.template !== undefined ? { template: args.template } : {}),
              ...(args.name !== undefined ? { packageName: args.name } : {}),
              ...(args.overwrite !== undefined ? { overwrite: args.overwrite } : {}),
              ...(args.yes !== undefined ? { yes: args.yes } : {}),
            });
          } catch (err) {
            fail(err);
          }
        }),
    )
    .command(
      "proto <entry>",
      "read the model signatures from <entry> and write the .proto schema and its lock file",
      (y) =>
        y
          .positional("entry", {
            type: "string",
            demandOption: true,
            describe: "TypeScript file that registers the models, an .onnx file, or a folder of models",
          })
          .option("out", { type: "string", describe: "proto folder (default: proto/ beside the entry)" })
          .option("force", {
            type: "boolean",
            default: false,
            describe: "extract again even if no source file changed",
          }),
      (args) =>
        later(async () => {
          try {
            const started = performance.now();
            const paths = projectPaths(args.entry, args.out !== undefined ? { proto: args.out } : {});
            const given = await givenSpec(args.entry);
            const result = generate(paths, {
              buf: false,
              force: args.force,
              ...(given !== undefined ? { given } : {}),
            });
            for (const line of formatSteps(result, performance.now() - started)) console.log(line);
          } catch (err) {
            fail(err);
          }
        }),
    )
    .command(
      "generate <entry>",
      "write the .proto schema, then run buf generate (protoc-gen-es and protoc-gen-blaze); a no-op when nothing changed",
      (y) =>
        y
          .positional("entry", {
            type: "string",
            demandOption: true,
            describe: "TypeScript file that registers the models, an .onnx file, or a folder of models",
          })
          .option("proto", { type: "string", describe: "proto folder (default: proto/ beside the entry)" })
          .option("gen", {
            type: "string",
            describe: "generated code folder when there is no buf.gen.yaml (default: gen/ beside the entry)",
          })
          .option("force", { type: "boolean", default: false, describe: "run every step even if nothing changed" }),
      (args) =>
        later(async () => {
          try {
            const started = performance.now();
            const paths = projectPaths(args.entry, args);
            const given = await givenSpec(args.entry);
            const result = generate(paths, {
              buf: true,
              force: args.force,
              regenerate: "always",
              ...(given !== undefined ? { given } : {}),
            });
            for (const line of formatSteps(result, performance.now() - started)) console.log(line);
          } catch (err) {
            fail(err);
          }
        }),
    )
    .command(
      "check [entry]",
      "update the schema, then run buf lint and buf breaking against a git ref (default HEAD); exit 1 on findings",
      (y) =>
        y
          .positional("entry", {
            type: "string",
            default: "models.ts",
            describe: "TypeScript file that registers the models",
          })
          .option("proto", { type: "string", describe: "proto folder (default: proto/ beside the entry)" })
          .option("against", {
            type: "string",
            describe: "git ref to compare with (main, origin/main, HEAD~1 …) or a buf input with #; default HEAD",
          }),
      (args) =>
        later(() => {
          try {
            const paths = projectPaths(args.entry, args);
            const result = check(paths, {
              ...(args.against !== undefined ? { against: args.against } : {}),
              log: (line) => console.log(line),
            });
            if (!result.ok) {
              console.error(
                `blaze: check failed — ${[!result.lint.ok ? "lint" : "", result.breaking?.ok === false ? "breaking changes" : ""].filter(Boolean).join(" and ")} (see above)`,
              );
              code = 1;
            }
          } catch (err) {
            fail(err);
          }
        }),
    )
    .command(
      "serve <entry>",
      "serve the app on one port (gRPC, gRPC-Web, Connect, HTTP routes); every flag can also come from its BLAZE_* variable",
      (y) => serveArguments(y, "serve"),
      (args) =>
        later(async () => {
          try {
            const options = resolveServeOptions(args, process.env);
            const count = workerCount(options.workers, args.workers !== undefined ? "--workers" : "BLAZE_WORKERS");
            if (count > 1 && !isWorker()) {
              // This process only watches over the workers; each serves the one port.
              await runPrimary({
                count,
                log: (line) => console.log(line),
                stopAfterMs: options.drainDelayMs + options.shutdownGraceMs + 5000,
              });
              return;
            }
            const server = await serve(String(args.entry), { ...options, log: (line) => console.log(line) });
            closeOnSignals(
              server,
              (why) =>
                `${why}: shutting down — NOT_SERVING${options.drainDelayMs > 0 ? `, still serving for ${options.drainDelayMs} ms (drain delay), then` : ","} no new connections, in-flight requests get up to ${options.shutdownGraceMs} ms`,
            );
          } catch (err) {
            fail(err);
          }
        }),
    )
    .command(
      "dev <entry>",
      "serve the app, watch the entry and what it imports, and on a change regenerate (when a signature changed), type-check and restart on the same port; a change with errors leaves the last good server answering",
      (y) => {
        serveArguments(y, "dev");
        y.option("type-check", {
          type: "boolean",
          default: true,
          describe: "type-check a change before serving it (--no-type-check: only code generation must pass)",
        });
        return y;
      },
      (args) =>
        later(async () => {
          try {
            const options = resolveServeOptions(args, process.env);
            // Loaded here: the watcher is for this command only.
            // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: only `blaze dev` loads the watcher
            const { dev } = require("./dev/dev.js") as typeof import("./dev/dev.js");
            const session = await dev(String(args.entry), {
              ...options,
              typeCheck: args.typeCheck !== false,
              log: (line) => console.log(line),
              error: (text) => console.error(text),
            });
            closeOnSignals(
              session,
              (why) =>
                `${why}: stopping the watcher and the server (in-flight requests get up to ${options.shutdownGraceMs} ms)`,
            );
          } catch (err) {
            fail(err);
          }
        }),
    )
    .fail((msg, err, y) => {
      if (err !== undefined && err !== null) throw err;
      code = 1;
      const hints = hintsFor(msg, argv);
      // An unknown flag gets the message and what was probably meant, not the whole help.
      if (/^Unknown argument/.test(msg)) {
        const cmd = argv.find((a) => !a.startsWith("-") && COMMANDS.includes(a));
        console.error(
          [
            `blaze: ${msg}`,
            ...hints.map((h) => `  ${h}`),
            `  \`blaze ${cmd !== undefined ? `${cmd} ` : ""}--help\` lists the options`,
          ].join("\n"),
        );
      } else {
        console.error(`${y.help()}\n\nblaze: ${msg}${hints.map((h) => `\n  ${h}`).join("")}`);
      }
    })
    .help()
    .parseAsync();
  if (code !== 0 || work === undefined) return code;
  await work();
  return code;
}

/** A model repository's spec (`blaze proto model.onnx`), or undefined for a TypeScript entry. */
async function givenSpec(entry: string): Promise<GivenSpec | undefined> {
  if (!isZeroCodeEntry(entry)) return undefined;
  // Loaded here: onnxruntime only for an .onnx entry.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: onnxruntime only for an .onnx entry
  const { zeroCodeSpec } = require("./zero-code/zero-code.js") as typeof import("./zero-code/zero-code.js");
  return zeroCodeSpec(entry);
}

/**
 * SIGINT/SIGTERM — or, under an npm script, npm's exit — close `target` and exit 0 (1 when
 * closing fails); a second signal exits at once with 1. `saying` is the line printed on the
 * first (see `stopOnSignals` of @blazerpc/runtime).
 */
function closeOnSignals(target: { close(): Promise<void> }, saying: (why: string) => string): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: the runtime only for serve and dev
  const { stopOnSignals } = require("@blazerpc/runtime") as typeof import("@blazerpc/runtime");
  // A worker of --workers N stops on its primary's SIGTERM (a terminal's SIGINT reaches the
  // primary, which sends it), and with its primary.
  const worker = isWorker();
  if (worker) process.on("SIGINT", () => undefined);
  stopOnSignals(target, {
    log: (line) => console.log(`blaze: ${line}`),
    error: (line) => console.error(`blaze: ${line}`),
    saying,
    closed: "closed",
    ...(worker ? { signals: ["SIGTERM"], followParent: true } : {}),
  });
}

/** The arguments `blaze serve` and `blaze dev` share: the entry, and every serve option (flag and BLAZE_* variable). */
function serveArguments(y: Argv, command: "serve" | "dev"): Argv {
  y.positional("entry", {
    type: "string",
    demandOption: true,
    describe:
      "models file, optionally with :exportName (models.ts:app); or an .onnx file or a folder of models (serve)",
  });
  for (const o of SERVE_OPTIONS) {
    // `blaze dev` serves one process: several are for `blaze serve`.
    if (command === "dev" && o.flag === "workers") continue;
    const shown = o.default !== undefined ? ` [default: ${String(o.default)}]` : "";
    y.option(o.flag, {
      type: o.type === "boolean" ? "boolean" : "string",
      describe: `${o.describe} (env ${o.env})${shown}`,
    });
  }
  return y;
}
