// A strict reader of the server's HTTP/1.1 responses on a raw socket: the fuzzer checks that
// whatever it sends, what comes back is well-formed HTTP/1.1 (or nothing).
import type { Answer } from "./clients.js";

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: [^\r\n]*)?$/;
const HEADER_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*$/;
const MAX_HEAD = 64 * 1024;

export interface Parsed {
  /** Final responses (1xx skipped), the last possibly incomplete. */
  responses: Answer[];
  /** What is wrong with the bytes, if anything. */
  malformed?: string;
}

/**
 * Reads the responses in `data`. `closed`: the connection has ended, so a body delimited by
 * the close is complete, and an unfinished response is cut short (not malformed).
 */
export function parseHttp1Responses(data: Buffer, closed: boolean): Parsed {
  const responses: Answer[] = [];
  let at = 0;
  for (;;) {
    if (at >= data.length) return { responses };
    const headEnd = data.indexOf("\r\n\r\n", at);
    if (headEnd < 0) {
      if (data.length - at > MAX_HEAD) return { responses, malformed: "response head over 64 KiB" };
      // A partial status line or head; at the close, an answer cut short.
      return { responses };
    }
    const lines = data.subarray(at, headEnd).toString("latin1").split("\r\n");
    const status = STATUS_LINE.exec(lines[0]!);
    if (status === null) return { responses, malformed: `bad status line ${JSON.stringify(lines[0]!.slice(0, 80))}` };
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const h = HEADER_LINE.exec(line);
      if (h === null) return { responses, malformed: `bad header line ${JSON.stringify(line.slice(0, 80))}` };
      const k = h[1]!.toLowerCase();
      headers[k] = headers[k] === undefined ? h[2]! : `${headers[k]}, ${h[2]!}`;
    }
    const code = Number(status[1]);
    at = headEnd + 4;
    if (code >= 100 && code < 200 && code !== 101) continue; // 100 Continue and friends
    const answer: Answer = { status: code, headers, body: Buffer.alloc(0), complete: false };
    responses.push(answer);
    const te = headers["transfer-encoding"];
    const cl = headers["content-length"];
    if (code === 204 || code === 304 || code === 101) {
      answer.complete = true;
      if (code === 101) return { responses }; // the connection is something else from here on
      continue;
    }
    if (te !== undefined) {
      if (cl !== undefined) return { responses, malformed: "both transfer-encoding and content-length" };
      if (te.toLowerCase() !== "chunked") return { responses, malformed: `transfer-encoding ${te}` };
      const body: Buffer[] = [];
      for (;;) {
        const lineEnd = data.indexOf("\r\n", at);
        if (lineEnd < 0)
          return { responses, ...(data.length - at > 1024 ? { malformed: "chunk size line over 1 KiB" } : {}) };
        const sizeText = data.subarray(at, lineEnd).toString("latin1").split(";", 1)[0]!.trim();
        if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText))
          return { responses, malformed: `bad chunk size ${JSON.stringify(sizeText)}` };
        const size = parseInt(sizeText, 16);
        if (size === 0) {
          // Trailers, then an empty line.
          let p = lineEnd + 2;
          const trailers: Record<string, string> = {};
          for (;;) {
            const e = data.indexOf("\r\n", p);
            if (e < 0) {
              answer.body = Buffer.concat(body);
              return { responses };
            }
            const line = data.subarray(p, e).toString("latin1");
            p = e + 2;
            if (line === "") break;
            const h = HEADER_LINE.exec(line);
            if (h === null) return { responses, malformed: `bad trailer line ${JSON.stringify(line.slice(0, 80))}` };
            trailers[h[1]!.toLowerCase()] = h[2]!;
          }
          answer.body = Buffer.concat(body);
          if (Object.keys(trailers).length > 0) answer.trailers = trailers;
          answer.complete = true;
          at = p;
          break;
        }
        if (data.length < lineEnd + 2 + size + 2) {
          body.push(data.subarray(lineEnd + 2, Math.min(data.length, lineEnd + 2 + size)));
          answer.body = Buffer.concat(body);
          return { responses };
        }
        if (data.subarray(lineEnd + 2 + size, lineEnd + 4 + size).toString("latin1") !== "\r\n")
          return { responses, malformed: "chunk not followed by CRLF" };
        body.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 4 + size;
      }
      continue;
    }
    if (cl !== undefined) {
      if (!/^\d+$/.test(cl)) return { responses, malformed: `content-length ${JSON.stringify(cl)}` };
      const n = Number(cl);
      answer.body = data.subarray(at, Math.min(data.length, at + n));
      if (data.length < at + n) return { responses };
      answer.complete = true;
      at += n;
      continue;
    }
    // Neither: the body runs until the connection closes.
    answer.body = data.subarray(at);
    answer.complete = closed;
    return { responses };
  }
}
