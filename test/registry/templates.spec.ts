// The install path as a new user meets it, through a real npm registry: verdaccio on
// 127.0.0.1 (third-party packages proxied from the registry npm is configured with), every
// package of packages/ published to it with `pnpm publish`, then, in an empty folder outside
// the repository and for each template:
//   npm create blazerpc@<version> app -- --template <t>; npm install; npm test; npm run build;
//   node dist/server.js, called with a @grpc/grpc-js client; for `service` and `onnx`, the
//   Dockerfile's final stage carried out without Docker (image-steps.cjs) and its CMD called;
// and for `web`, the built page in headless Chromium calling the server through the
// generated client over Connect and gRPC-Web. The templates run side by side, sharing one
// npm cache (kept between runs under node_modules/.cache).
import * as fs from "node:fs";
import * as http from "node:http";
import { createRequire } from "node:module";
import * as path from "node:path";
import * as zlib from "node:zlib";
import * as grpc from "@grpc/grpc-js";
import type { Browser } from "playwright-core";
import type { Registry, Running } from "./registry.cjs";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const reg = require("./registry.cjs") as typeof import("./registry.cjs");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { runImageSteps } = require("./image-steps.cjs") as typeof import("./image-steps.cjs");

const TEMPLATES = ["model", "web", "onnx", "service"] as const;
type Template = (typeof TEMPLATES)[number];
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

jest.setTimeout(15 * 60_000);

interface Prepared {
  readonly app: string;
  readonly timings: Record<string, number>;
  readonly installBytes: number;
  /** The container image's final stage carried out without Docker (templates in {@link IMAGED}). */
  readonly image?: { readonly dir: string; readonly cmd: string[]; readonly env: Record<string, string> };
}

/** The templates whose Dockerfile's steps are carried out: the shared Dockerfile (service) and the one of its own (onnx). */
const IMAGED: readonly Template[] = ["service", "onnx"];

let registry: Registry;
let workDir: string;
let registryDir: string;
let version: string;
const prepared = new Map<Template, Promise<Prepared>>();
const figures: string[] = [];

/** npm create → npm install → npm test → npm run build, in a folder of its own. */
async function prepare(template: Template, env: NodeJS.ProcessEnv): Promise<Prepared> {
  const dir = path.join(workDir, template);
  fs.mkdirSync(dir);
  const timings: Record<string, number> = {};
  const step = async (name: string, args: string[], cwd: string) => {
    timings[name] = (await reg.run("npm", args, { cwd, env, timeoutMs: 10 * 60_000 })).ms;
  };
  await step("create", ["create", `blazerpc@${version}`, "app", "--", "--template", template], dir);
  const app = path.join(dir, "app");
  await step("install", ["install"], app);
  await step("test", ["test"], app);
  await step("build", ["run", "build"], app);
  let image: Prepared["image"];
  if (IMAGED.includes(template)) {
    // The image's final stage: the built project stands for the build stage. Its own npm
    // cache, which the stage's `npm cache clean --force` may empty.
    const started = Date.now();
    const dir = path.join(workDir, `${template}-image`);
    fs.mkdirSync(dir);
    const steps = runImageSteps({
      dockerfile: path.join(app, "Dockerfile"),
      context: app,
      stages: { build: app },
      into: dir,
      env: { ...env, npm_config_cache: reg.tempDir("blazerpc-image-cache-") },
    });
    timings.image = Date.now() - started;
    image = { dir, cmd: steps.cmd, env: steps.env };
  }
  return {
    app,
    timings,
    installBytes: reg.du(path.join(app, "node_modules")),
    ...(image !== undefined ? { image } : {}),
  };
}

beforeAll(async () => {
  registryDir = reg.tempDir("blazerpc-registry-");
  workDir = reg.tempDir("blazerpc-new-user-");
  registry = await reg.startRegistry({ dir: registryDir });
  const npmrc = await reg.login(registry.url, registryDir);
  const published = reg.publishAll(registry.url, npmrc);
  version = published.version;
  figures.push(`publish (6 packages, pnpm publish): ${published.ms} ms`);
  const env = reg.registryEnv(registry.url, { npm_config_cache: reg.sharedNpmCache() });
  for (const t of TEMPLATES) {
    const p = prepare(t, env);
    p.catch(() => undefined); // reported by the template's own test
    prepared.set(t, p);
  }
});

afterAll(async () => {
  await Promise.allSettled(prepared.values());
  await registry?.close();
  if (figures.length > 0) console.log(`registry install path:\n  ${figures.join("\n  ")}`);
  for (const d of [workDir, registryDir]) if (d !== undefined) fs.rmSync(d, { recursive: true, force: true });
});

/** The app's own generated code and protobuf runtime, to encode and decode what grpc-js carries. */
function appCodec(app: string) {
  const appRequire = createRequire(path.join(app, "package.json"));
  const pb = appRequire("@bufbuild/protobuf") as typeof import("@bufbuild/protobuf");
  const tensor = appRequire("@blazerpc/tensor") as typeof import("@blazerpc/tensor");
  const gen = appRequire("./dist/gen/demo/v1/demo_pb.js") as Record<string, import("@bufbuild/protobuf").DescMessage>;
  return { pb, tensor, gen };
}

/** PredictClassify over @grpc/grpc-js: one row in, the result tensor out. */
async function grpcClassify(
  app: string,
  server: Running,
  features: number[],
): Promise<{ shape: number[]; data: number[] }> {
  const { pb, tensor, gen } = appCodec(app);
  const request = pb.toBinary(
    gen.PredictClassifyRequestSchema!,
    pb.create(gen.PredictClassifyRequestSchema!, {
      features: tensor.toTensorProto({
        dtype: "float32",
        shape: [1, features.length],
        data: new Float32Array(features),
      }),
    } as never),
  );
  const client = new grpc.Client(new URL(server.url).host, grpc.credentials.createInsecure());
  try {
    const reply = await new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest(
        "/demo.v1.InferenceService/PredictClassify",
        (b: Uint8Array) => Buffer.from(b),
        (b: Buffer) => b,
        request,
        (err, res) => (err !== null ? reject(err) : resolve(res!)),
      ),
    );
    const response = pb.fromBinary(gen.PredictClassifyResponseSchema!, reply) as unknown as {
      result: import("@blazerpc/tensor").TensorProto;
    };
    const t = tensor.fromTensorProto(response.result);
    return { shape: t.shape.map(Number), data: Array.from(t.data as Float32Array) };
  } finally {
    client.close();
  }
}

/** InferenceDirector.GetHealthStatus over @grpc/grpc-js (the service template), in the proto3 JSON form. */
async function grpcHealthStatus(app: string, server: Running): Promise<unknown> {
  const { pb, gen } = appCodec(app);
  const request = pb.toBinary(gen.GetHealthStatusRequestSchema!, pb.create(gen.GetHealthStatusRequestSchema!, {}));
  const client = new grpc.Client(new URL(server.url).host, grpc.credentials.createInsecure());
  try {
    const reply = await new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest(
        "/demo.v1.InferenceDirector/GetHealthStatus",
        (b: Uint8Array) => Buffer.from(b),
        (b: Buffer) => b,
        request,
        (err, res) => (err !== null ? reject(err) : resolve(res!)),
      ),
    );
    return pb.toJson(gen.HealthStatusResponseSchema!, pb.fromBinary(gen.HealthStatusResponseSchema!, reply));
  } finally {
    client.close();
  }
}

/** PredictGenerate over @grpc/grpc-js: the streamed words. */
async function grpcGenerate(app: string, server: Running, prompt: string, maxTokens: number): Promise<string[]> {
  const { pb, gen } = appCodec(app);
  const request = pb.toBinary(
    gen.PredictGenerateRequestSchema!,
    pb.create(gen.PredictGenerateRequestSchema!, { prompt, maxTokens } as never),
  );
  const client = new grpc.Client(new URL(server.url).host, grpc.credentials.createInsecure());
  try {
    const words: string[] = [];
    const call = client.makeServerStreamRequest(
      "/demo.v1.InferenceService/PredictGenerate",
      (b: Uint8Array) => Buffer.from(b),
      (b: Buffer) => b,
      request,
    );
    for await (const msg of call as AsyncIterable<Buffer>)
      words.push((pb.fromBinary(gen.PredictGenerateResponseSchema!, msg) as unknown as { result: string }).result);
    return words;
  } finally {
    client.close();
  }
}

const SETOSA = [5.1, 3.5, 1.4, 0.2];

describe.each(TEMPLATES)("npm create blazerpc -- --template %s", (template) => {
  it("installs from the registry, passes its own npm test, builds, and its compiled server answers a @grpc/grpc-js client", async () => {
    const { app, timings, installBytes } = await prepared.get(template)!;
    figures.push(
      `${template}: ${Object.entries(timings)
        .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
        .join(", ")}; node_modules ${(installBytes / 1e6).toFixed(0)} MB`,
    );
    // Everything the generated code imports is declared by the project itself.
    const pkg = JSON.parse(fs.readFileSync(path.join(app, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    for (const dep of ["@blazerpc/runtime", "@blazerpc/tensor", "@bufbuild/protobuf", "@connectrpc/connect"])
      expect(pkg.dependencies[dep]).toBeDefined();
    expect(pkg.dependencies["@blazerpc/runtime"]).toBe(`^${version}`);
    expect(fs.readFileSync(path.join(app, ".gitignore"), "utf8")).toContain("node_modules/");

    const server = await reg.startServer(app, "dist/server.js", { ...process.env, PORT: "0" });
    if (template === "service") {
      try {
        // The RPC (its start hook made it HEALTHY) and GET /health read the same state.
        expect(await grpcHealthStatus(app, server)).toEqual({
          overallStatus: "OVERALL_STATUS_HEALTHY",
          callsServed: 1,
        });
        expect(await (await fetch(`${server.url}/health`)).json()).toEqual({
          overall_status: "HEALTHY",
          calls_served: 1,
        });
      } finally {
        expect(await server.stop()).toBe(0);
      }
      return;
    }
    try {
      const result = await grpcClassify(app, server, SETOSA);
      expect(result.shape).toEqual([1, 3]);
      if (template === "onnx") {
        expect(result.data.every(Number.isFinite)).toBe(true);
      } else {
        expect(result.data.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        expect(result.data.indexOf(Math.max(...result.data))).toBe(0); // setosa
        expect(await grpcGenerate(app, server, "hello", 4)).toHaveLength(4);
      }
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

describe.each(IMAGED)("the %s template's container image, its steps carried out without Docker", (template) => {
  it("holds production dependencies and compiled JavaScript only, runs as CMD says, and answers", async () => {
    const { image } = await prepared.get(template)!;
    expect(image).toBeDefined();
    const { dir, cmd, env } = image!;
    expect(cmd).toEqual(["node", "dist/server.js"]);
    expect(env).toMatchObject({ NODE_ENV: "production", HOST: "0.0.0.0", PORT: "50051" });
    // No TypeScript, no code generation, no sources: what the image does not need.
    for (const dev of ["typescript", "@blazerpc/cli", "@blazerpc/codegen", "@bufbuild/buf", "ts-morph"])
      expect({ dev, installed: fs.existsSync(path.join(dir, "node_modules", dev)) }).toEqual({ dev, installed: false });
    expect(fs.readdirSync(dir).filter((f) => f.endsWith(".ts"))).toEqual([]);
    expect(fs.existsSync(path.join(dir, "node_modules", "@blazerpc", "runtime"))).toBe(true);
    // Started as the image starts it (on loopback and a free port here).
    const server = await reg.startServer(dir, cmd[1]!, { ...process.env, ...env, HOST: "127.0.0.1", PORT: "0" });
    try {
      if (template === "service") {
        expect(await grpcHealthStatus(dir, server)).toMatchObject({ overallStatus: "OVERALL_STATUS_HEALTHY" });
      } else {
        const result = await grpcClassify(dir, server, SETOSA);
        expect(result.shape).toEqual([1, 3]);
        expect(result.data.every(Number.isFinite)).toBe(true);
      }
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

describe("the web template's built page in headless Chromium", () => {
  let browser: Browser | undefined;
  afterAll(() => browser?.close());

  it("calls the compiled server through the generated client over Connect and gRPC-Web, from a bundle with one copy of @bufbuild/protobuf", async () => {
    const { app } = await prepared.get("web")!;
    const webDir = path.join(app, "dist", "web");
    // The bundle: one copy of protobuf (its binary reader's message appears once per copy).
    const assets = fs.readdirSync(path.join(webDir, "assets")).filter((f) => f.endsWith(".js"));
    const js = assets.map((f) => fs.readFileSync(path.join(webDir, "assets", f)));
    const bundle = Buffer.concat(js);
    expect(bundle.toString("utf8").split("premature EOF").length - 1).toBe(1);
    figures.push(
      `web page bundle: ${(bundle.length / 1024).toFixed(1)} KiB minified, ${(zlib.gzipSync(bundle, { level: 9 }).length / 1024).toFixed(1)} KiB gzip`,
    );
    expect(bundle.length).toBeLessThan(150 * 1024);

    const statics = await serveStatic(webDir);
    const server = await reg.startServer(app, "dist/server.js", {
      ...process.env,
      PORT: "0",
      CORS_ORIGINS: statics.origin,
    });
    try {
      const { chromium } = await import("playwright-core");
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          "--headless=new",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--no-first-run",
        ],
      });
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`${statics.origin}/?api=${encodeURIComponent(server.url)}`);
      await page.waitForFunction(() => "blazerpcDemo" in globalThis);
      const results = await page.evaluate(async (features) => {
        const demo = (
          globalThis as unknown as {
            blazerpcDemo: {
              classify(p: string, f: number[]): Promise<Record<string, number>>;
              generate(p: string, prompt: string, n: number): Promise<string[]>;
            };
          }
        ).blazerpcDemo;
        return {
          connect: {
            classify: await demo.classify("connect", features),
            words: await demo.generate("connect", "hello", 4),
          },
          grpcWeb: {
            classify: await demo.classify("grpc-web", features),
            words: await demo.generate("grpc-web", "hello", 4),
          },
        };
      }, SETOSA);
      const node = await grpcClassify(app, server, SETOSA);
      const want = { setosa: node.data[0], versicolor: node.data[1], virginica: node.data[2] };
      expect(results.connect.classify).toEqual(want);
      expect(results.grpcWeb.classify).toEqual(want);
      const words = await grpcGenerate(app, server, "hello", 4);
      expect(results.connect.words).toEqual(words);
      expect(results.grpcWeb.words).toEqual(words);
      expect(errors).toEqual([]);
      // The page's own form, as a user clicks it.
      await page.click("#classify button");
      await page.waitForSelector("#classify-result:has-text('setosa')");
      expect(await page.textContent("#classify-result")).toMatch(/^setosa\s+\d+\.\d%$/m);
    } finally {
      await server.stop();
      await statics.close();
    }
  });
});

/** dist/web on 127.0.0.1, a free port (any static host would do). */
async function serveStatic(root: string): Promise<{ origin: string; close: () => Promise<void> }> {
  const types: Record<string, string> = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
  };
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const file = path.join(root, rel === "/" ? "index.html" : rel);
    if (!file.startsWith(root) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res
      .writeHead(200, { "content-type": types[path.extname(file)] ?? "application/octet-stream" })
      .end(fs.readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
