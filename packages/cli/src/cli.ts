import * as path from "node:path";
import yargs from "yargs/yargs";
import { projectPaths } from "./paths.js";
import { runBufGenerate, writeProto } from "./commands/generate.js";
import { serve } from "./commands/serve.js";

/**
 * Runs the `blaze` command line with the given arguments (without `node` and the script).
 * Resolves with the exit code; a server started by `serve` keeps the process alive.
 */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const fail = (err: unknown) => {
    console.error(err instanceof Error && err.name !== "CodegenError" ? `blaze: ${err.message}` : (err as Error).message ?? String(err));
    code = 1;
  };
  const rel = (p: string) => path.relative(process.cwd(), p) || ".";
  await yargs(argv)
    .scriptName("blaze")
    .strict()
    .demandCommand(1, "name a command: proto, generate or serve")
    .command(
      "proto <entry>",
      "read the model signatures from <entry> and write the .proto schema",
      (y) => y
        .positional("entry", { type: "string", demandOption: true, describe: "TypeScript file that registers the models" })
        .option("out", { type: "string", describe: "proto folder (default: proto/ beside the entry)" }),
      (args) => {
        try {
          const paths = projectPaths(args.entry, args.out !== undefined ? { proto: args.out } : {});
          const { app, files, written } = writeProto(paths);
          const protoDir = paths.protoDir;
          console.log(`blaze: app "${app.name}", ${app.models.length} model(s): ${app.models.map((m) => m.name).join(", ")}`);
          console.log(`blaze: ${written.length === 0 ? "schema unchanged" : `wrote ${written.map(rel).join(", ")}`} (${files.length} files in ${rel(protoDir)})`);
        } catch (err) {
          fail(err);
        }
      },
    )
    .command(
      "generate <entry>",
      "write the .proto schema, then run buf generate (protoc-gen-es and protoc-gen-blaze)",
      (y) => y
        .positional("entry", { type: "string", demandOption: true })
        .option("proto", { type: "string", describe: "proto folder (default: proto/ beside the entry)" })
        .option("gen", { type: "string", describe: "generated code folder when there is no buf.gen.yaml (default: gen/ beside the entry)" }),
      (args) => {
        try {
          const paths = projectPaths(args.entry, args);
          let t = Date.now();
          const { app, written } = writeProto(paths);
          console.log(`blaze: proto   ${written.length === 0 ? "unchanged" : `wrote ${written.map(rel).join(", ")}`} (${Date.now() - t} ms)`);
          t = Date.now();
          const { template } = runBufGenerate(paths);
          console.log(`blaze: buf generate with ${template === "built-in" ? "the built-in template" : rel(template)} → ${rel(paths.genDir)} (${Date.now() - t} ms)`);
          console.log(`blaze: app "${app.name}": ${app.models.map((m) => m.name).join(", ")}`);
        } catch (err) {
          fail(err);
        }
      },
    )
    .command(
      "serve <entry>",
      "serve the app on one port (gRPC, gRPC-Web, Connect, HTTP GET routes)",
      (y) => y
        .positional("entry", { type: "string", demandOption: true, describe: "models file, optionally with :exportName (models.ts:app)" })
        .option("host", { type: "string", default: process.env.BLAZE_HOST ?? "127.0.0.1" })
        .option("port", { type: "number", default: Number(process.env.BLAZE_PORT ?? 50051) })
        .option("proto", { type: "string" })
        .option("gen", { type: "string" })
        .option("tls-cert", { type: "string", describe: "PEM certificate; with --tls-key serves TLS (ALPN h2 and http/1.1)" })
        .option("tls-key", { type: "string" })
        .option("max-message-bytes", { type: "number", describe: "largest request message, in bytes (default 64 MiB)" }),
      async (args) => {
        try {
          const server = await serve(args.entry, {
            host: args.host,
            port: args.port,
            ...(args.proto !== undefined ? { proto: args.proto } : {}),
            ...(args.gen !== undefined ? { gen: args.gen } : {}),
            ...(args.tlsCert !== undefined ? { tlsCert: args.tlsCert } : {}),
            ...(args.tlsKey !== undefined ? { tlsKey: args.tlsKey } : {}),
            ...(args.maxMessageBytes !== undefined ? { maxMessageBytes: args.maxMessageBytes } : {}),
            log: (line) => console.log(line),
          });
          let closing = false;
          for (const signal of ["SIGINT", "SIGTERM"] as const) {
            process.on(signal, () => {
              if (closing) process.exit(1);
              closing = true;
              console.log(`blaze: ${signal}, closing`);
              void server.close().then(() => process.exit(0));
            });
          }
        } catch (err) {
          fail(err);
        }
      },
    )
    .fail((msg, err, y) => {
      if (err !== undefined && err !== null) throw err;
      console.error(`${y.help()}\n\nblaze: ${msg}`);
      code = 1;
    })
    .help()
    .parseAsync();
  return code;
}
