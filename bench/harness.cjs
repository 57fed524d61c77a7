// The benchmarks' plumbing (bench/run.cjs, bench/engine.cjs): child processes that are all
// killed on any way out, CPU pinning, h2load (install, run, parse, per-request log, checks),
// percentiles, and how busy the machine is.
"use strict";
const { spawn, spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const SERVER_CORE = 0;
const LOADGEN_CORE = 1;

// ---------------------------------------------------------------------------------------
// Child processes: every one is tracked so that any way out (error, Ctrl-C, SIGTERM) kills
// it. Server children also exit by themselves when their stdin closes, which covers the
// driver being SIGKILLed.

const children = new Set();
const tmpDirs = new Set();

function track(child) {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

function killAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }
}

function makeTmpDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.add(dir);
  return dir;
}

function removeTmp() {
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
  tmpDirs.clear();
}

/** Kills every child and waits (briefly) until they have exited, so none is left behind. */
async function cleanUp() {
  const exited = [...children].map((child) => new Promise((resolve) => child.once("exit", resolve)));
  killAll();
  await Promise.race([Promise.all(exited), new Promise((resolve) => setTimeout(resolve, 2000))]);
  removeTmp();
}

/** The last resort: 'exit' handlers run synchronously, so only the SIGKILLs and the rm. */
function installExitHandlers(onSignal) {
  process.on("exit", () => {
    killAll();
    removeTmp();
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.once(signal, () => {
      onSignal(signal);
      cleanUp().finally(() => process.exit(130));
    });
  }
}

function hasCommand(name) {
  return spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
}

function commandOutput(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

// One core for the process measured and another for the load generator.
const PIN = hasCommand("taskset") && os.availableParallelism() >= 2;

function spawnOnCore(core, cmd, args, options) {
  return PIN ? spawn("taskset", ["-c", String(core), cmd, ...args], options) : spawn(cmd, args, options);
}

/**
 * Runs a node script pinned to `core` whose last stdout line is JSON; resolves to it.
 * Killed after `limitS` seconds.
 */
function runJsonChild(core, script, args, { env, limitS, label }) {
  return new Promise((resolve, reject) => {
    const child = track(
      spawnOnCore(core, process.execPath, [script, ...args], {
        cwd: ROOT,
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "inherit"],
      }),
    );
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), limitS * 1000);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split("\n").at(-1) ?? "";
      if (code !== 0) return reject(new Error(`${label} exited with ${signal ?? code}:\n${out}`));
      try {
        resolve(JSON.parse(last));
      } catch {
        reject(new Error(`${label} printed no JSON result:\n${out}`));
      }
    });
  });
}

// ---------------------------------------------------------------------------------------
// h2load

function ensureH2load() {
  if (hasCommand("h2load")) return;
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  if (!root || !hasCommand("apt-get")) {
    throw new Error(
      "h2load is not installed: install nghttp2-client (Debian/Ubuntu: `sudo apt-get install nghttp2-client`)",
    );
  }
  console.error("bench: installing h2load (apt-get install nghttp2-client)");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update"], ["install", "-y", "nghttp2-client"]]) {
    const r = spawnSync("apt-get", args, { stdio: "inherit", env });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(" ")} failed (exit ${r.status})`);
  }
  if (!hasCommand("h2load")) throw new Error("nghttp2-client was installed but h2load is still not on PATH");
}

/** The request headers of a gRPC call. */
const GRPC_HEADERS = ["content-type: application/grpc", "te: trailers"];

/**
 * Runs h2load once (by default gRPC over h2c, `connections` connections with `streams`
 * concurrent streams each), pinned to the load generator's core; resolves to
 * `{ args, stdout }`. `h1`: HTTP/1.1 instead, `streams` then being the requests pipelined
 * on each connection. `headers`: the request headers (default: gRPC's).
 */
function runH2load({
  port,
  rpcPath,
  streams,
  connections = 1,
  warmupS,
  durationS,
  payloadFile,
  logFile,
  headers = GRPC_HEADERS,
  h1 = false,
}) {
  const args = [
    ...(h1 ? ["--h1"] : []),
    `-c${connections}`,
    `-m${streams}`,
    "-t1",
    "-D",
    String(durationS),
    `--warm-up-time=${warmupS}`,
    "-d",
    payloadFile,
    ...headers.flatMap((header) => ["-H", header]),
    `--log-file=${logFile}`,
    `http://127.0.0.1:${port}${rpcPath}`,
  ];
  return new Promise((resolve, reject) => {
    const child = track(spawnOnCore(LOADGEN_CORE, "h2load", args, { stdio: ["ignore", "pipe", "pipe"] }));
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    // h2load sticks around if the server stops answering; give it generous slack, no more.
    const timer = setTimeout(() => child.kill("SIGKILL"), (warmupS + durationS + 30) * 1000);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`h2load ${args.join(" ")} exited with ${signal ?? code}:\n${out}`));
      else resolve({ args, stdout: out });
    });
  });
}

/** h2load prints durations as e.g. `856us`, `4.07ms`, `1.2s`. */
function toMs(text) {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (m === null) throw new Error(`cannot parse h2load duration "${text}"`);
  return Number(m[1]) * { us: 1e-3, ms: 1, s: 1e3 }[m[2]];
}

function parseH2load(stdout) {
  const need = (re, what) => {
    const m = re.exec(stdout);
    if (m === null) throw new Error(`h2load output has no ${what} line:\n${stdout}`);
    return m;
  };
  const fin = need(/finished in ([\d.]+)s, ([\d.]+) req\/s/, "'finished in'");
  const req = need(
    /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/,
    "requests",
  );
  const codes = need(/status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/, "status codes");
  const data = need(/\((\d+)\) data/, "traffic");
  const time = need(/time for request:\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)/, "'time for request'");
  const [done, succeeded, failed, errored, timeout] = [3, 4, 5, 6, 7].map((i) => Number(req[i]));
  return {
    reqPerSec: Number(fin[2]),
    started: Number(req[2]),
    done,
    succeeded,
    failed,
    errored,
    timeout,
    status: { "2xx": Number(codes[1]), "3xx": Number(codes[2]), "4xx": Number(codes[3]), "5xx": Number(codes[4]) },
    dataBytes: Number(data[1]),
    timeForRequestMs: { min: toMs(time[1]), max: toMs(time[2]), mean: toMs(time[3]), sd: toMs(time[4]) },
  };
}

/** h2load's --log-file: `start µs <TAB> HTTP status <TAB> µs to end of response` per request. */
function readLog(logFile) {
  const rows = [];
  for (const line of fs.readFileSync(logFile, "utf8").split("\n")) {
    if (line === "") continue;
    const [, status, micros] = line.split("\t");
    rows.push({ status: Number(status), ms: Number(micros) / 1000 });
  }
  return rows;
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted, p) {
  return sorted.length === 0 ? NaN : sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Fails unless every request h2load measured succeeded (as bench/run.cjs checks): no
 * failures, errors, timeouts or non-2xx; and, since a gRPC error is an HTTP 200 with
 * grpc-status in a trailers-only reply (no DATA), at least one response message's worth of
 * DATA per request.
 */
function checkRun(label, streams, parsed, rows, responseFrameBytes) {
  const problems = [];
  if (parsed.done === 0) problems.push("no request finished");
  if (parsed.failed + parsed.errored + parsed.timeout > 0) {
    problems.push(`${parsed.failed} failed, ${parsed.errored} errored, ${parsed.timeout} timed out`);
  }
  const { "3xx": s3, "4xx": s4, "5xx": s5 } = parsed.status;
  if (s3 + s4 + s5 > 0) problems.push(`non-2xx statuses: ${s3} 3xx, ${s4} 4xx, ${s5} 5xx`);
  if (rows.length !== parsed.done) problems.push(`log has ${rows.length} rows for ${parsed.done} requests`);
  const odd = rows.filter((r) => r.status !== 200);
  if (odd.some((r) => r.status !== 0) || odd.length > streams) {
    problems.push(`log has ${odd.length} rows with a status other than 200`);
  }
  if (parsed.dataBytes < (parsed.done - streams) * responseFrameBytes) {
    problems.push(
      `only ${parsed.dataBytes} DATA bytes for ${parsed.done} responses of ${responseFrameBytes} bytes: some calls failed`,
    );
  }
  if (problems.length > 0) throw new Error(`${label}: h2load run is not clean: ${problems.join("; ")}`);
}

// ---------------------------------------------------------------------------------------
// How busy the machine is

/** Total and idle jiffies of all CPUs, from /proc/stat. */
function cpuJiffies() {
  const f = /^cpu\s+(.+)$/m.exec(fs.readFileSync("/proc/stat", "utf8"))[1].split(/\s+/).map(Number);
  const idle = f[3] + (f[4] ?? 0);
  return { idle, total: f.reduce((a, b) => a + b, 0) };
}

/** CPU jiffies (user + system) a process has used, or undefined once it is gone. */
function processJiffies(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]);
  } catch {
    return undefined;
  }
}

/** How busy the CPUs are right now, in cores, over `ms` (nothing of ours should be running). */
async function cpuBusyCores(ms = 1000) {
  if (!fs.existsSync("/proc/stat")) return undefined;
  const a = cpuJiffies();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuJiffies();
  return (1 - (b.idle - a.idle) / (b.total - a.total)) * os.availableParallelism();
}

/**
 * Samples, twice a second while the benchmark runs, how many cores OTHER work uses: all busy
 * CPU time (/proc/stat) minus that of this process and its live children (/proc/<pid>/stat).
 * `mark(label)` starts a new phase; `summary()` gives each phase's mean and max.
 */
function createLoadMonitor() {
  if (!fs.existsSync("/proc/stat")) return { mark() {}, stop() {}, meanOf: () => undefined, summary: () => ({}) };
  const cores = os.availableParallelism();
  let phase = "start";
  const samples = new Map();
  let prev = snapshot();
  function snapshot() {
    const cpu = cpuJiffies();
    const own = new Map([[process.pid, processJiffies(process.pid)]]);
    for (const c of children) if (c.pid !== undefined) own.set(c.pid, processJiffies(c.pid));
    return { cpu, own };
  }
  function sample() {
    const next = snapshot();
    const dt = next.cpu.total - prev.cpu.total;
    if (dt > 0) {
      const busy = dt - (next.cpu.idle - prev.cpu.idle);
      let ours = 0;
      for (const [pid, j] of next.own) {
        const before = prev.own.get(pid);
        if (j !== undefined && before !== undefined) ours += j - before;
      }
      // jiffies of all CPUs over the interval: dt covers `cores` CPUs.
      const others = Math.max(0, ((busy - ours) / dt) * cores);
      if (!samples.has(phase)) samples.set(phase, []);
      samples.get(phase).push(others);
    }
    prev = next;
  }
  const timer = setInterval(sample, 500);
  timer.unref();
  return {
    mark(label) {
      sample();
      phase = label;
    },
    stop() {
      sample();
      clearInterval(timer);
    },
    /** Mean cores of other work during the phase `label` (undefined if never sampled). */
    meanOf(label) {
      const xs = samples.get(label);
      return xs === undefined || xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length;
    },
    summary() {
      const out = {};
      for (const [label, xs] of samples) {
        out[label] = {
          meanCores: xs.reduce((a, b) => a + b, 0) / xs.length,
          maxCores: Math.max(...xs),
          samples: xs.length,
        };
      }
      return out;
    },
  };
}

function machineInfo() {
  const cpuinfo = fs.existsSync("/proc/cpuinfo") ? fs.readFileSync("/proc/cpuinfo", "utf8") : "";
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? "unknown";
  return {
    nproc: Number(commandOutput("nproc", []) ?? os.availableParallelism()),
    cpu: model.trim(),
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    h2load: commandOutput("h2load", ["--version"])?.split("\n")[0] ?? "unknown",
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
    pinned: PIN,
  };
}

// ---------------------------------------------------------------------------------------
// docs/benchmarks.md

/**
 * Puts `section` into docs/benchmarks.md between the comment markers `<!-- NAME-bench:start -->`
 * and `<!-- NAME-bench:end -->` (appended, markers and all, when they are not there yet): each
 * benchmark rewrites its own section and leaves the rest of the file alone.
 */
function writeDocSection(name, section) {
  const file = path.join(ROOT, "docs", "benchmarks.md");
  const start = `<!-- ${name}-bench:start -->`;
  const end = `<!-- ${name}-bench:end -->`;
  const doc = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "# Benchmarks\n";
  const block = `${start}\n${section}\n${end}`;
  const s = doc.indexOf(start);
  const e = doc.indexOf(end);
  fs.writeFileSync(
    file,
    s >= 0 && e > s ? doc.slice(0, s) + block + doc.slice(e + end.length) : `${doc.replace(/\n*$/, "\n")}\n${block}\n`,
  );
  return { file, start, end };
}

module.exports = {
  writeDocSection,
  ROOT,
  SERVER_CORE,
  LOADGEN_CORE,
  PIN,
  track,
  killAll,
  cleanUp,
  makeTmpDir,
  removeTmp,
  installExitHandlers,
  hasCommand,
  commandOutput,
  spawnOnCore,
  runJsonChild,
  ensureH2load,
  GRPC_HEADERS,
  runH2load,
  parseH2load,
  readLog,
  percentile,
  checkRun,
  cpuBusyCores,
  processJiffies,
  createLoadMonitor,
  machineInfo,
};
