// A project's container image built without Docker (which cannot run here): the final stage
// of its Dockerfile carried out step by step in an empty folder that stands for the image's
// WORKDIR — COPY from the build context or from the build stage (the project, built as its
// first stage does: npm install, npm run build), RUN through sh with the stage's ENV, CMD
// returned. What the test then starts is what the image holds, and nothing else.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

/**
 * The instructions of the Dockerfile's last stage, continuation lines joined, comments dropped.
 * @param {string} text
 * @returns {{ op: string, args: string }[]}
 */
function finalStage(text) {
  const lines = text.replace(/\\\r?\n/g, " ").split(/\r?\n/);
  const steps = [];
  for (const line of lines) {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) continue;
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(t);
    if (m === null) throw new Error(`Dockerfile: cannot read "${t}"`);
    const op = m[1].toUpperCase();
    if (op === "FROM") steps.length = 0;
    steps.push({ op, args: m[2].trim() });
  }
  return steps;
}

/** `package*.json` → the matching files of `dir` (one level, `*` only). */
function glob(dir, pattern) {
  if (!pattern.includes("*")) return fs.existsSync(path.join(dir, pattern)) ? [pattern] : [];
  const re = new RegExp(
    `^${pattern
      .split("*")
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  );
  return fs.readdirSync(dir).filter((f) => re.test(f));
}

/**
 * Carries out the final stage of `dockerfile` in `into`. `context` is the build context and
 * `stages` maps a stage name (`build`) to the folder standing for it.
 * @param {{ dockerfile: string, context: string, stages: Record<string, string>, into: string, env: NodeJS.ProcessEnv }} o
 * @returns {{ cmd: string[], env: Record<string, string>, user: string | undefined, from: string }}
 */
function runImageSteps({ dockerfile, context, stages, into, env }) {
  const stageEnv = {};
  let cmd;
  let user;
  let from = "";
  for (const { op, args } of finalStage(fs.readFileSync(dockerfile, "utf8"))) {
    switch (op) {
      case "FROM":
        from = args;
        break;
      case "WORKDIR":
      case "EXPOSE":
        break;
      case "USER":
        user = args;
        break;
      case "ENV":
        for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g))
          stageEnv[m[1]] = m[2].replace(/^"|"$/g, "");
        break;
      case "COPY": {
        const words = args.split(/\s+/);
        const fromStage = words[0].startsWith("--from=") ? words.shift().slice("--from=".length) : undefined;
        const rawDest = words.pop();
        const dest = path.join(into, rawDest);
        const toDir = rawDest.endsWith("/") || rawDest === "." || words.length > 1;
        const base = fromStage === undefined ? context : stages[fromStage];
        if (base === undefined) throw new Error(`Dockerfile: COPY --from=${fromStage}: no such stage`);
        for (const pattern of words) {
          const src = pattern.replace(/^\/app\/?/, "") || ".";
          const matches = glob(base, src);
          if (matches.length === 0) throw new Error(`Dockerfile: COPY ${pattern}: nothing matches in ${base}`);
          for (const m of matches) {
            const target = toDir || pattern.includes("*") ? path.join(dest, path.basename(m)) : dest;
            fs.mkdirSync(path.dirname(target), { recursive: true });
            fs.cpSync(path.join(base, m), target, { recursive: true });
          }
        }
        break;
      }
      case "RUN": {
        const r = spawnSync("sh", ["-c", args], {
          cwd: into,
          env: { ...env, ...stageEnv },
          encoding: "utf8",
          timeout: 10 * 60_000,
        });
        if (r.status !== 0) throw new Error(`Dockerfile: RUN ${args} exited with ${r.status}:\n${r.stdout}${r.stderr}`);
        break;
      }
      case "CMD":
        cmd = JSON.parse(args);
        break;
      default:
        throw new Error(`Dockerfile: ${op} is not carried out by this test`);
    }
  }
  if (cmd === undefined) throw new Error("Dockerfile: the final stage has no CMD");
  return { cmd, env: stageEnv, user, from };
}

module.exports = { runImageSteps, finalStage };
