// An open-loop gRPC load generator, run by bench/engine.cjs pinned to the load generator's
// core; prints one JSON line.
//
//   node bench/engine/open-loop.cjs <port> <path> <payload file> <rate/s> <warmup s> <duration s> <grpc-timeout> [connections]
//
// Requests are sent at <rate> per second whatever the server does (open loop: a slow server
// does not slow the sender down), each with `grpc-timeout: <grpc-timeout>` (e.g. `100m`),
// round-robin over [connections] (default 16) h2c connections. Each answer is classified by
// its grpc-status, read from the trailers (or from the headers of a trailers-only reply).
// Only the requests sent during the measured window (after the warm-up) are counted; after
// the window the client waits for their answers (bounded), then reports.
//
// HTTP/2 is spoken directly on the sockets, not through node:http2: its client costs tens of
// microseconds per request (a stream object, events, header objects), so on one core it
// could not send 8,000 requests a second even to a bare node:http2 server that answers at
// once — the answers came seconds late, which measured the client, not the server. Here a
// request is one precomputed buffer (HEADERS + DATA, the stream id patched in), and what
// comes back is read frame by frame: only grpc-status is looked for in the header blocks
// (the client's SETTINGS_HEADER_TABLE_SIZE is 0, so the server's HPACK encoder uses no
// dynamic table; names may be Huffman-coded, values of one or two digits are not).
//
// Like a gRPC client, it keeps to the server's SETTINGS_MAX_CONCURRENT_STREAMS per connection:
// a request that finds its connection full waits in that connection's queue (oldest first),
// and one still waiting when its deadline passes is failed here, DEADLINE_EXCEEDED, never
// sent ("expired in the client" in the report); one sent after waiting asks in grpc-timeout
// for what is left of its deadline.
"use strict";
const fs = require("node:fs");
const net = require("node:net");

const [port, rpcPath, payloadFile, rateArg, warmupArg, durationArg, grpcTimeout, connArg] = process.argv.slice(2);
const RATE = Number(rateArg);
const WARMUP_S = Number(warmupArg);
const DURATION_S = Number(durationArg);
const CONNECTIONS = Number(connArg ?? 16);
const payload = fs.readFileSync(payloadFile);
const timeoutMs = /^(\d+)m$/.test(grpcTimeout) ? Number(grpcTimeout.slice(0, -1)) : NaN;

function percentile(sorted, p) {
  return sorted.length === 0 ? NaN : sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

// --- HTTP/2 framing --------------------------------------------------------------------

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const T_DATA = 0;
const T_HEADERS = 1;
const T_RST = 3;
const T_SETTINGS = 4;
const T_PING = 6;
const T_GOAWAY = 7;
const T_CONTINUATION = 9;
const F_END_STREAM = 0x1;
const F_ACK = 0x1;
const F_END_HEADERS = 0x4;
const F_PADDED = 0x8;
const F_PRIORITY = 0x20;

function frame(type, flags, streamId, payloadBytes) {
  const f = Buffer.alloc(9 + payloadBytes.length);
  f.writeUIntBE(payloadBytes.length, 0, 3);
  f[3] = type;
  f[4] = flags;
  f.writeUInt32BE(streamId, 5);
  payloadBytes.copy(f, 9);
  return f;
}

function settings(pairs) {
  const p = Buffer.alloc(6 * pairs.length);
  pairs.forEach(([id, value], i) => {
    p.writeUInt16BE(id, i * 6);
    p.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(T_SETTINGS, 0, 0, p);
}

function windowUpdate(streamId, increment) {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(increment, 0);
  return frame(8, 0, streamId, p);
}

/** An HPACK string literal, not Huffman-coded (length < 127). */
function str(s) {
  const b = Buffer.from(s, "latin1");
  if (b.length >= 127) throw new Error("header too long for this encoder");
  return Buffer.concat([Buffer.from([b.length]), b]);
}

/** The request's header block: static-table names where there are, literals without indexing. */
function headerBlock(authority, timeout) {
  return Buffer.concat([
    Buffer.from([0x83, 0x86]), // :method POST, :scheme http
    Buffer.from([0x04]), // :path, literal without indexing, name index 4
    str(rpcPath),
    Buffer.from([0x01]), // :authority, name index 1
    str(authority),
    Buffer.from([0x0f, 0x10]), // content-type, name index 31
    str("application/grpc"),
    Buffer.from([0x00]),
    str("te"),
    str("trailers"),
    Buffer.from([0x00]),
    str("grpc-timeout"),
    str(timeout),
  ]);
}

// "grpc-status" Huffman-coded (RFC 7541 Appendix B), as nghttp2 sends the name.
const HUFFMAN = {
  g: "100110",
  r: "101100",
  p: "101011",
  c: "00100",
  "-": "010110",
  s: "01000",
  t: "01001",
  a: "00011",
  u: "101101",
};
function huffman(s) {
  let bits = [...s].map((ch) => HUFFMAN[ch]).join("");
  while (bits.length % 8 !== 0) bits += "1";
  return Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
}
const STATUS_NAME_RAW = Buffer.from("grpc-status", "latin1");
const STATUS_NAME_HUFF = huffman("grpc-status");
// Digits as Huffman codes, for a value that comes coded after all.
const DIGIT_CODES = ["00000", "00001", "00010", "011001", "011010", "011011", "011100", "011101", "011110", "011111"];

/** Reads an HPACK integer with an n-bit prefix at `buf[pos]`: [value, next position]. */
function hpackInt(buf, pos, n) {
  const max = (1 << n) - 1;
  let v = buf[pos] & max;
  pos++;
  if (v < max) return [v, pos];
  let m = 0;
  for (;;) {
    const b = buf[pos++];
    v += (b & 0x7f) << m;
    m += 7;
    if ((b & 0x80) === 0) return [v, pos];
  }
}

function huffDigits(bytes) {
  let bits = "";
  for (const b of bytes) bits += b.toString(2).padStart(8, "0");
  let out = "";
  let i = 0;
  outer: while (i < bits.length) {
    for (let d = 0; d < 10; d++) {
      const code = DIGIT_CODES[d];
      if (bits.startsWith(code, i)) {
        out += d;
        i += code.length;
        continue outer;
      }
    }
    break; // padding (all ones)
  }
  return out;
}

/** The grpc-status in a header block, or undefined. */
function grpcStatusOf(block) {
  let pos = 0;
  while (pos < block.length) {
    const b = block[pos];
    if (b & 0x80) {
      pos = hpackInt(block, pos, 7)[1]; // indexed (static table only: no dynamic table here)
      continue;
    }
    if ((b & 0xe0) === 0x20) {
      pos = hpackInt(block, pos, 5)[1]; // dynamic table size update
      continue;
    }
    const prefix = (b & 0xc0) === 0x40 ? 6 : 4;
    let nameIndex;
    [nameIndex, pos] = hpackInt(block, pos, prefix);
    let name;
    if (nameIndex === 0) {
      const h = block[pos] & 0x80;
      let len;
      [len, pos] = hpackInt(block, pos, 7);
      name = { h, bytes: block.subarray(pos, pos + len) };
      pos += len;
    }
    const vh = block[pos] & 0x80;
    let vlen;
    [vlen, pos] = hpackInt(block, pos, 7);
    const value = block.subarray(pos, pos + vlen);
    pos += vlen;
    if (name !== undefined && (name.h ? name.bytes.equals(STATUS_NAME_HUFF) : name.bytes.equals(STATUS_NAME_RAW))) {
      return vh ? huffDigits(value) : value.toString("latin1");
    }
  }
  return undefined;
}

// --- Connections -------------------------------------------------------------------------

const counts = {
  sent: 0,
  answered: 0,
  ok: 0,
  okLate: 0,
  noStatus: 0,
  expiredInClient: 0,
  refusedStream: 0,
  byStatus: {},
};
/** Every request, warm-up and drain included: to compare with the rows the server computed. */
const total = { sent: 0, ok: 0 };
const okLatencies = [];
/** Every measured answer's latency, whatever its status. */
const allLatencies = [];
let outstanding = 0;
let measuredOutstanding = 0;
let goaway = 0;

function createConnection() {
  const socket = net.connect({ host: "127.0.0.1", port: Number(port), noDelay: true });
  const authority = `127.0.0.1:${port}`;
  // One request = HEADERS (END_HEADERS) + DATA (END_STREAM), stream id patched per request;
  // one template per whole millisecond left, for a request sent after waiting its turn: as a
  // gRPC client does, it asks for the time left of its deadline, not the whole of it.
  const templates = new Map();
  const templateFor = (leftMs) => {
    let t = templates.get(leftMs);
    if (t === undefined) {
      const block = headerBlock(authority, leftMs === timeoutMs ? grpcTimeout : `${leftMs}m`);
      const bytes = Buffer.concat([frame(T_HEADERS, F_END_HEADERS, 0, block), frame(T_DATA, F_END_STREAM, 0, payload)]);
      templates.set(leftMs, (t = { bytes, dataAt: 9 + block.length }));
    }
    return t;
  };
  const conn = {
    nextId: 1,
    maxStreams: 100, // until the server's SETTINGS say otherwise
    open: new Map(),
    waiting: [],
    ready: false,
    unacked: 0,
    send(req) {
      if (!this.ready || this.open.size >= this.maxStreams) {
        this.waiting.push(req);
        return;
      }
      this.start(req);
    },
    start(req) {
      const id = this.nextId;
      this.nextId += 2;
      const left = Math.min(timeoutMs, Math.max(1, Math.floor(timeoutMs - (performance.now() - req.sent))));
      const { bytes, dataAt } = templateFor(left);
      const out = Buffer.from(bytes);
      out.writeUInt32BE(id, 5);
      out.writeUInt32BE(id, dataAt + 5);
      this.open.set(id, req);
      socket.write(out);
    },
    pump() {
      const now = performance.now();
      while (this.waiting.length > 0 && this.open.size < this.maxStreams) {
        const req = this.waiting.shift();
        if (now - req.sent >= timeoutMs) finish(req, "expired");
        else this.start(req);
      }
    },
    expireWaiting() {
      const now = performance.now();
      while (this.waiting.length > 0 && now - this.waiting[0].sent >= timeoutMs)
        finish(this.waiting.shift(), "expired");
    },
  };
  socket.write(
    Buffer.concat([
      PREFACE,
      // HEADER_TABLE_SIZE 0, ENABLE_PUSH 0, INITIAL_WINDOW_SIZE 2^31-1
      settings([
        [1, 0],
        [2, 0],
        [4, 0x7fffffff],
      ]),
      windowUpdate(0, 0x7fffffff - 65535),
    ]),
  );
  let buf = Buffer.alloc(0);
  let pendingBlock = null; // a header block split over CONTINUATION frames
  socket.on("data", (chunk) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    let pos = 0;
    while (buf.length - pos >= 9) {
      const len = buf.readUIntBE(pos, 3);
      if (buf.length - pos < 9 + len) break;
      const type = buf[pos + 3];
      const flags = buf[pos + 4];
      const id = buf.readUInt32BE(pos + 5) & 0x7fffffff;
      const body = buf.subarray(pos + 9, pos + 9 + len);
      pos += 9 + len;
      onFrame(type, flags, id, body);
    }
    buf = pos === buf.length ? Buffer.alloc(0) : buf.subarray(pos);
    if (conn.unacked > 1 << 20) {
      socket.write(windowUpdate(0, conn.unacked));
      conn.unacked = 0;
    }
  });
  socket.on("error", (err) => console.error(`open-loop: connection error: ${err.message}`));
  function onFrame(type, flags, id, body) {
    if (type === T_DATA) {
      const req = conn.open.get(id);
      conn.unacked += body.length;
      if (req !== undefined) req.dataBytes += body.length;
      if (flags & F_END_STREAM) end(id, undefined);
    } else if (type === T_HEADERS || type === T_CONTINUATION) {
      let block = body;
      if (type === T_HEADERS) {
        let start = 0;
        let padLen = 0;
        if (flags & F_PADDED) {
          padLen = body[0];
          start = 1;
        }
        if (flags & F_PRIORITY) start += 5;
        block = body.subarray(start, body.length - padLen);
        pendingBlock = { id, block, endStream: (flags & F_END_STREAM) !== 0 };
      } else pendingBlock.block = Buffer.concat([pendingBlock.block, block]);
      if (flags & F_END_HEADERS) {
        const { id: sid, block: whole, endStream } = pendingBlock;
        pendingBlock = null;
        const status = grpcStatusOf(whole);
        const req = conn.open.get(sid);
        if (req !== undefined && status !== undefined) req.status = status;
        if (endStream) end(sid, undefined);
      }
    } else if (type === T_RST) {
      end(id, body.readUInt32BE(0));
    } else if (type === T_SETTINGS && (flags & F_ACK) === 0) {
      for (let i = 0; i + 6 <= body.length; i += 6) {
        if (body.readUInt16BE(i) === 3) conn.maxStreams = body.readUInt32BE(i + 2);
      }
      socket.write(frame(T_SETTINGS, F_ACK, 0, Buffer.alloc(0)));
      conn.ready = true;
      conn.pump();
    } else if (type === T_PING && (flags & F_ACK) === 0) {
      socket.write(frame(T_PING, F_ACK, 0, body));
    } else if (type === T_GOAWAY) {
      goaway++;
    }
  }
  function end(id, rstCode) {
    const req = conn.open.get(id);
    if (req === undefined) return;
    conn.open.delete(id);
    if (rstCode === 7) req.refused = true;
    finish(req, "answered");
    conn.pump();
  }
  conn.socket = socket;
  return conn;
}

function finish(req, how) {
  outstanding--;
  if (req.status === "0") total.ok++;
  if (!req.measured) return;
  measuredOutstanding--;
  if (how === "expired") {
    counts.expiredInClient++;
    counts.byStatus["4"] = (counts.byStatus["4"] ?? 0) + 1;
    return;
  }
  counts.answered++;
  const ms = performance.now() - req.sent;
  allLatencies.push(ms);
  if (req.refused) counts.refusedStream++;
  if (req.status === undefined) counts.noStatus++;
  else counts.byStatus[req.status] = (counts.byStatus[req.status] ?? 0) + 1;
  if (req.status === "0") {
    counts.ok++;
    okLatencies.push(ms);
    if (ms > timeoutMs) counts.okLate++;
  }
}

const connections = Array.from({ length: CONNECTIONS }, createConnection);
let nextConn = 0;

function send(measured, sent) {
  outstanding++;
  total.sent++;
  if (measured) {
    counts.sent++;
    measuredOutstanding++;
  }
  connections[nextConn++ % CONNECTIONS].send({ sent, measured, status: undefined, dataBytes: 0, refused: false });
}

Promise.all(connections.map((c) => new Promise((resolve) => c.socket.once("connect", resolve)))).then(() => {
  const t0 = performance.now();
  const warmEnd = t0 + WARMUP_S * 1000;
  const end = warmEnd + DURATION_S * 1000;
  let next = 0;
  let maxLagMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const due = Math.floor(((Math.min(now, end) - t0) / 1000) * RATE);
    if (due > next + 1) maxLagMs = Math.max(maxLagMs, now - (t0 + (next / RATE) * 1000));
    while (next < due) {
      const at = t0 + (next / RATE) * 1000;
      send(at >= warmEnd && at < end, at);
      next++;
    }
    for (const c of connections) c.expireWaiting();
    if (now >= end) {
      clearInterval(timer);
      report(maxLagMs);
    }
  }, 1);
});

function report(maxLagMs) {
  // Every request has a deadline: wait for the answers, but not forever.
  const giveUp = performance.now() + Math.max(3000, timeoutMs * 20);
  const poll = setInterval(() => {
    for (const c of connections) c.expireWaiting();
    if (outstanding > 0 && performance.now() < giveUp) return;
    clearInterval(poll);
    const s = Float64Array.from(okLatencies).sort();
    const all = Float64Array.from(allLatencies).sort();
    const result = {
      rate: RATE,
      grpcTimeout,
      connections: CONNECTIONS,
      maxConcurrentStreams: connections[0].maxStreams,
      windowS: DURATION_S,
      offeredPerSec: counts.sent / DURATION_S,
      // Goodput: OK answers the client had within the deadline.
      goodputPerSec: (counts.ok - counts.okLate) / DURATION_S,
      counts: { ...counts, unanswered: measuredOutstanding },
      total: { ...total, unanswered: outstanding },
      okLatency: {
        p50Ms: percentile(s, 50),
        p90Ms: percentile(s, 90),
        p99Ms: percentile(s, 99),
        maxMs: s.length > 0 ? s[s.length - 1] : NaN,
      },
      answerLatency: { p50Ms: percentile(all, 50), p99Ms: percentile(all, 99) },
      maxSendLagMs: maxLagMs,
      goaway,
    };
    process.stdout.write(JSON.stringify(result) + "\n");
    for (const c of connections) c.socket.destroy();
    process.exit(0);
  }, 20);
}
