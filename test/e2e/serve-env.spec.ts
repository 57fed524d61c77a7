// `blaze serve` configured by environment variables alone, as a container would be: the
// port, auth, request logs and CORS come from BLAZE_* variables.
import { spawn } from "node:child_process";
import * as path from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { toTensorProto } from "@blazerpc/tensor";
import { PredictIrisRequestSchema } from "../../examples/iris/gen/iris/v1/iris_pb.js";
import { repoRoot, run, startBlaze } from "./support.js";

it("takes its settings from BLAZE_* variables", async () => {
  const p = await startBlaze([path.join("examples", "iris", "dist", "models.js")], {
    BLAZE_PORT: "0",
    BLAZE_AUTH_TOKENS: "tok-1,tok-2",
    BLAZE_LOG_REQUESTS: "true",
    BLAZE_CORS_ORIGINS: "https://app.example.com",
    BLAZE_METRICS: "false",
  });
  const client = new grpc.Client(`127.0.0.1:${p.port}`, grpc.credentials.createInsecure());
  try {
    const features = toTensorProto({ dtype: "float32", shape: [1, 4], data: new Float32Array(4) });
    const call = (md: grpc.Metadata) =>
      new Promise<grpc.ServiceError | null>((resolve) =>
        client.makeUnaryRequest(
          "/iris.v1.InferenceService/PredictIris",
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from(toBinary(PredictIrisRequestSchema, create(PredictIrisRequestSchema, { features }))),
          md,
          (err) => resolve(err),
        ),
      );
    expect((await call(new grpc.Metadata()))?.code).toBe(grpc.status.UNAUTHENTICATED);
    const md = new grpc.Metadata();
    md.set("authorization", "Bearer tok-2");
    expect(await call(md)).toBeNull();
    // The request log: JSON lines on stdout.
    await p.waitForLines(/"msg":"rpc"/, 2);
    const logs = p
      .output()
      .split("\n")
      .filter((l) => l.includes('"msg":"rpc"'))
      .map((l) => JSON.parse(l) as { code: string; model: string });
    expect(logs.map((l) => [l.model, l.code])).toEqual([
      ["iris", "UNAUTHENTICATED"],
      ["iris", "OK"],
    ]);
    // CORS from BLAZE_CORS_ORIGINS; /metrics off from BLAZE_METRICS.
    const pre = await run("curl", [
      "-sS",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-X",
      "OPTIONS",
      "-H",
      "origin: https://app.example.com",
      "-H",
      "access-control-request-method: POST",
      `${p.url}/iris.v1.InferenceService/PredictIris`,
    ]);
    expect(pre.stdout).toBe("204");
    const metrics = await run("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", `${p.url}/metrics`]);
    expect(metrics.stdout).toBe("404");
  } finally {
    client.close();
    p.child.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  }
});

it("stops at start with the variable that is wrong", async () => {
  const bad = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      [path.join("packages", "cli", "bin", "blaze.js"), "serve", path.join("examples", "iris", "dist", "models.js")],
      {
        cwd: repoRoot,
        env: { ...process.env, BLAZE_PORT: "http" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", (code) => resolve({ code, out }));
  });
  expect(bad.code).toBe(1);
  expect(bad.out).toContain('blaze: BLAZE_PORT must be an integer from 0 to 65535, got "http"');
});
