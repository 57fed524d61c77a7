// A harness for attacks on a real server: the iris example served by `blaze serve` as a
// CHILD process on 127.0.0.1 (port 0), so that what it holds — file descriptors, resident
// memory, CPU time — is read from /proc for that process alone, apart from the test's own
// sockets; raw HTTP/2 frames written by hand; and a second, well-behaved client whose
// latency tells what an honest user sees while the attack runs.
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { toTensorProto } from "@blazerpc/tensor";
import { PredictIrisRequestSchema } from "../../examples/iris/gen/iris/v1/iris_pb.js";
import { startBlaze, type BlazeProcess } from "../e2e/support.js";

/** The iris example, compiled (`npm run build`): served as a user deploys it. */
export const IRIS_ENTRY = path.join("examples", "iris", "dist", "models.js");
export const PREDICT_IRIS = "/iris.v1.InferenceService/PredictIris";
export const PREDICT_GENERATE = "/iris.v1.InferenceService/PredictGenerate";

/** A server in a child process, with what it holds. */
export interface Target extends BlazeProcess {
  pid: number;
  /** Its open file descriptors (sockets included). */
  fds(): number;
  /** Its resident memory, in MB. */
  rssMb(): number;
  /** CPU time it has used, user and system, in seconds. */
  cpuSeconds(): number;
  /** SIGKILL, if it still runs; resolves once it has exited. */
  kill(): Promise<void>;
}

/** Starts `blaze serve <entry> --port 0 …args` and resolves once it listens. */
export async function startTarget(
  args: string[] = [],
  env: Record<string, string> = {},
  entry = IRIS_ENTRY,
): Promise<Target> {
  const p = await startBlaze([entry, "--port", "0", ...args], env);
  const pid = p.child.pid!;
  const proc = (file: string) => fs.readFileSync(`/proc/${pid}/${file}`, "utf8");
  return {
    ...p,
    pid,
    fds: () => fs.readdirSync(`/proc/${pid}/fd`).length,
    rssMb: () => Number(/VmRSS:\s+(\d+) kB/.exec(proc("status"))![1]) / 1024,
    cpuSeconds: () => {
      // Fields 14 and 15 of /proc/PID/stat (utime, stime), in clock ticks (100 a second on Linux).
      const fields = proc("stat")
        .slice(proc("stat").lastIndexOf(")") + 2)
        .split(" ");
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    kill: async () => {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
      await p.exited;
    },
  };
}

/** What `p` resolves with, or `"timed out"` after `ms` (the timer does not outlive the race). */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | "timed out"> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<"timed out">((resolve) => (timer = setTimeout(() => resolve("timed out"), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` every `everyMs` until it holds; resolves with whether it did within `timeoutMs`. */
export async function eventually(check: () => boolean, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// ---------------------------------------------------------------------------------------
// The second, well-behaved client
// ---------------------------------------------------------------------------------------

/** What a probe saw: its latency and its answer (a gRPC status code, an HTTP status, or an error). */
export interface ProbeResult {
  ms: number;
  answer: string;
}

/**
 * One `GET <path>` over a new HTTP/1.1 connection; the answer is the status code, or the
 * error (e.g. `timeout`, `ECONNRESET`). Never waits more than `timeoutMs`.
 */
export function probeHttp(port: number, urlPath = "/healthz", timeoutMs = 5000): Promise<ProbeResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const done = (answer: string) => resolve({ ms: performance.now() - started, answer });
    const req = http.get({ host: "127.0.0.1", port, path: urlPath, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on("end", () => done(String(res.statusCode)));
      res.on("error", (e) => done(e.message));
    });
    req.on("timeout", () => {
      req.destroy();
      done("timeout");
    });
    req.on("error", (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

/**
 * One PredictIris over gRPC (@grpc/grpc-js, a new channel, a deadline of `timeoutMs`);
 * the answer is the status name (`OK`, `UNAVAILABLE`, `DEADLINE_EXCEEDED`, …).
 */
export function probeGrpc(port: number, options: { token?: string; timeoutMs?: number } = {}): Promise<ProbeResult> {
  const { token, timeoutMs = 5000 } = options;
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  if (token !== undefined) md.set("authorization", `Bearer ${token}`);
  const body = Buffer.from(
    toBinary(
      PredictIrisRequestSchema,
      create(PredictIrisRequestSchema, {
        features: toTensorProto({ dtype: "float32", shape: [1, 4], data: new Float32Array([5.1, 3.5, 1.4, 0.2]) }),
      }),
    ),
  );
  const started = performance.now();
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      PREDICT_IRIS,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      md,
      { deadline: Date.now() + timeoutMs },
      (err) => {
        client.close();
        resolve({
          ms: performance.now() - started,
          answer: err === null ? "OK" : (grpc.status[err.code] ?? String(err.code)),
        });
      },
    );
  });
}

/**
 * Runs `probe` again and again (20 ms apart) until `attack` settles, at least `min` times;
 * resolves with what each saw and what the attack resolved with.
 */
export async function probeWhile<T>(
  attack: Promise<T>,
  probe: () => Promise<ProbeResult>,
  min = 1,
): Promise<{ probes: ProbeResult[]; result: T }> {
  let done = false;
  const settled = attack.finally(() => (done = true));
  const probes: ProbeResult[] = [];
  while (!done || probes.length < min) {
    probes.push(await probe());
    await new Promise((r) => setTimeout(r, 20));
  }
  return { probes, result: await settled };
}

// ---------------------------------------------------------------------------------------
// Raw sockets and HTTP/2 frames
// ---------------------------------------------------------------------------------------

const opened = new Set<net.Socket>();

/** Destroys every socket {@link connect} opened that is still open (for `afterAll`, when a test failed half way). */
export function destroySockets(): void {
  for (const s of opened) s.destroy();
  opened.clear();
}

/** A raw TCP connection to 127.0.0.1:`port`; resolves once connected. Errors are ignored (counted as a close). */
export function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    opened.add(s);
    s.once("close", () => opened.delete(s));
    s.once("connect", () => {
      s.off("error", reject);
      s.on("error", () => undefined);
      resolve(s);
    });
    s.once("error", reject);
  });
}

/** Resolves once `s` has closed (whoever closed it). */
export const closed = (s: net.Socket): Promise<void> =>
  new Promise((resolve) => (s.closed ? resolve() : s.once("close", () => resolve())));

/** The client connection preface (RFC 9113 §3.4). */
export const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** Frame types and error codes used here (RFC 9113 §6, §7). */
export const H2 = {
  DATA: 0,
  HEADERS: 1,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  END_STREAM: 0x1,
  END_HEADERS: 0x4,
  ACK: 0x1,
  SETTINGS_MAX_CONCURRENT_STREAMS: 0x3,
  PROTOCOL_ERROR: 0x1,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  COMPRESSION_ERROR: 0x9,
} as const;

/** One HTTP/2 frame. */
export function h2Frame(type: number, flags: number, streamId: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/**
 * An HPACK header block of literal fields without indexing and with literal names (RFC 7541
 * §6.2.2): no dynamic table, so any number of blocks can be sent in any order. Names and
 * values must be shorter than 127 bytes.
 */
export function hpackBlock(headers: Record<string, string>): Buffer {
  return Buffer.concat(
    Object.entries(headers).map(([k, v]) => {
      if (k.length > 126 || v.length > 126) throw new Error("hpackBlock: field too long");
      return Buffer.concat([
        Buffer.from([0, k.length]),
        Buffer.from(k, "latin1"),
        Buffer.from([v.length]),
        Buffer.from(v, "latin1"),
      ]);
    }),
  );
}

/** The headers of a gRPC call to `rpcPath` (no `authorization` unless `extra` has one). */
export function grpcHeaders(rpcPath: string, extra: Record<string, string> = {}): Buffer {
  return hpackBlock({
    ":method": "POST",
    ":scheme": "http",
    ":path": rpcPath,
    ":authority": "127.0.0.1",
    "content-type": "application/grpc",
    te: "trailers",
    ...extra,
  });
}

/** A parsed frame. */
export interface H2FrameSeen {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/**
 * Reads the frames the server sends on a raw connection (after our preface). `frames` grows
 * as they arrive; `waitFor` resolves with the first frame that `test` accepts, or undefined
 * once the connection closed or `timeoutMs` passed.
 */
export function readFrames(s: net.Socket): {
  frames: H2FrameSeen[];
  waitFor(test: (f: H2FrameSeen) => boolean, timeoutMs?: number): Promise<H2FrameSeen | undefined>;
} {
  const frames: H2FrameSeen[] = [];
  const waiters = new Set<() => void>();
  let buf: Buffer = Buffer.alloc(0);
  s.on("data", (d: Buffer) => {
    buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3);
      if (buf.length < 9 + len) break;
      frames.push({
        type: buf[3]!,
        flags: buf[4]!,
        streamId: buf.readUInt32BE(5) & 0x7fffffff,
        payload: buf.subarray(9, 9 + len),
      });
      buf = buf.subarray(9 + len);
    }
    for (const w of [...waiters]) w();
  });
  s.on("close", () => {
    for (const w of [...waiters]) w();
  });
  return {
    frames,
    waitFor(test, timeoutMs = 5000) {
      return new Promise((resolve) => {
        let from = 0;
        const check = () => {
          for (; from < frames.length; from++) {
            if (test(frames[from]!)) return done(frames[from]);
          }
          if (s.closed) done(undefined);
        };
        const timer = setTimeout(() => done(undefined), timeoutMs);
        const done = (f: H2FrameSeen | undefined) => {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(f);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** The value of one setting in a SETTINGS frame's payload, or undefined. */
export function settingOf(payload: Buffer, id: number): number | undefined {
  for (let i = 0; i + 6 <= payload.length; i += 6)
    if (payload.readUInt16BE(i) === id) return payload.readUInt32BE(i + 2);
  return undefined;
}
