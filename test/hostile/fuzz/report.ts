// Failure reports: enough to see what was sent and what came back, and the command that
// replays the one case.
import { createHash } from "node:crypto";
import type { FuzzCase } from "./cases.js";
import { CASE_HEADER, type Outcome } from "./clients.js";

/** Bodies up to this size are printed whole (base64); larger ones as head, size and hash. */
const PRINT_BYTES = 8 * 1024;

export function hex(seed: number): string {
  return `0x${seed.toString(16)}`;
}

export function replayCommand(seed: number, index: number): string {
  return `BLAZE_FUZZ_SEED=${hex(seed)} BLAZE_FUZZ_CASE=${index} node scripts/pnpm.cjs exec jest test/hostile/fuzz.spec.ts`;
}

function bytes(b: Buffer): string {
  if (b.length === 0) return "(empty)";
  const printable = /^[\t\r\n\x20-\x7e]*$/.test(b.toString("latin1"));
  const sha = createHash("sha256").update(b).digest("hex").slice(0, 16);
  if (b.length <= 256)
    return `${b.length} bytes, hex ${b.toString("hex")}${printable ? `\n      text ${JSON.stringify(b.toString("latin1"))}` : ""}`;
  if (b.length <= PRINT_BYTES) return `${b.length} bytes sha256:${sha}, base64 ${b.toString("base64")}`;
  return `${b.length} bytes sha256:${sha}, head hex ${b.subarray(0, 128).toString("hex")} … (replay the case for all of it)`;
}

export function describeCase(seed: number, c: FuzzCase): string {
  const lines = [`case #${c.index} of seed ${hex(seed)}: ${c.label}`, `  replay: ${replayCommand(seed, c.index)}`];
  if (c.transport === "raw") {
    lines.push(`  raw HTTP/1.1 on a new TCP connection${c.rawFin === true ? ", half-closed after writing" : ""}`);
    lines.push(`    bytes: ${bytes(c.raw ?? Buffer.alloc(0))}`);
  } else {
    lines.push(
      `  ${c.transport === "h2" ? "HTTP/2 stream" : "HTTP/1.1 (node:http, keep-alive)"}: ${c.method} ${c.path.length > 200 ? `${c.path.slice(0, 200)}… (${c.path.length} chars)` : c.path}`,
    );
    lines.push(`    ${CASE_HEADER}: "${c.index}" (every request names its case)`);
    for (const [k, v] of c.headers)
      lines.push(
        `    ${k}: ${v.length > 200 ? `${JSON.stringify(v.slice(0, 200))}… (${v.length} chars)` : JSON.stringify(v)}`,
      );
    if (c.transport === "h1")
      lines.push(
        `    (${c.body.length > 0 ? (c.contentLength === true && c.trailers === undefined ? "content-length" : "chunked") : "no body"})`,
      );
    if (c.trailers !== undefined) lines.push(`    trailers: ${JSON.stringify(c.trailers)}`);
    if (c.pieces !== undefined) lines.push(`    written in pieces of ${JSON.stringify(c.pieces)} bytes, the rest last`);
    lines.push(`    body: ${bytes(c.body)}`);
  }
  if (c.expect !== undefined) lines.push(`  a valid request: it must be answered correctly`);
  return lines.join("\n");
}

export function describeOutcome(o: Outcome): string {
  const lines = [`  outcome after ${o.ms} ms:`];
  if (o.timedOut === true) lines.push("    nothing: no answer, no close");
  if (o.unsendable !== undefined) lines.push(`    the client refused to send it: ${o.unsendable}`);
  for (const a of o.answers) {
    lines.push(
      `    HTTP ${a.status}${a.headersOnly === true ? " (headers only)" : ""}${a.complete ? "" : " (incomplete)"} ${JSON.stringify(a.headers)}`,
    );
    lines.push(`    body: ${bytes(a.body)}`);
    if (a.trailers !== undefined) lines.push(`    trailers: ${JSON.stringify(a.trailers)}`);
  }
  if (o.closed !== undefined) lines.push(`    closed: ${o.closed}`);
  if (o.cancelled !== undefined) lines.push(`    cancelled by the client: ${o.cancelled}`);
  if (o.malformed !== undefined) lines.push(`    malformed: ${o.malformed}`);
  if (o.earlierOnConnection !== undefined)
    lines.push(
      `    sent on a keep-alive connection after cases ${o.earlierOnConnection.map((i) => `#${i}`).join(", ")} (replay them together)`,
    );
  return lines.join("\n");
}
