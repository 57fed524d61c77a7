// An open-loop gRPC load generator on raw node:http2 (h2c, one connection), run by
// bench/engine.cjs pinned to the load generator's core; prints one JSON line.
//
//   node bench/engine/open-loop.cjs <port> <path> <payload file> <rate/s> <warmup s> <duration s> <grpc-timeout>
//
// Requests are sent at <rate> per second whatever the server does (open loop: a slow
// server does not slow the sender down), each with `grpc-timeout: <grpc-timeout>` (e.g.
// `100m`), round-robin over CONNECTIONS HTTP/2 connections whose receive windows are
// raised to 16 MiB (as gRPC clients do). One Node.js connection with the protocol's 64 KiB
// window cannot take 6,800 answers a second even from a bare node:http2 echo server: it
// falls behind and never recovers, which measured the client, not the server. Each answer is classified by its grpc-status, read from the trailers (or from
// the headers of a trailers-only reply: a gRPC error is an HTTP 200 with no message). Only
// the requests sent during the measured window (after the warm-up) are counted; after the
// window the client waits for their answers (bounded), then reports.
"use strict";
const fs = require("node:fs");
const http2 = require("node:http2");

const [port, rpcPath, payloadFile, rateArg, warmupArg, durationArg, grpcTimeout] = process.argv.slice(2);
const RATE = Number(rateArg);
const WARMUP_S = Number(warmupArg);
const DURATION_S = Number(durationArg);
const payload = fs.readFileSync(payloadFile);
const timeoutMs = /^(\d+)m$/.test(grpcTimeout) ? Number(grpcTimeout.slice(0, -1)) : NaN;

function percentile(sorted, p) {
  return sorted.length === 0 ? NaN : sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

const CONNECTIONS = 4;
const WINDOW_BYTES = 16 * 1024 * 1024;
const sessions = Array.from({ length: CONNECTIONS }, () => {
  const session = http2.connect(`http://127.0.0.1:${port}`, { maxSessionMemory: 512 });
  session.on("error", (err) => {
    console.error(`open-loop: session error: ${err.message}`);
  });
  session.once("localSettings", () => session.setLocalWindowSize(WINDOW_BYTES));
  return session;
});
let nextSession = 0;

const counts = { sent: 0, answered: 0, ok: 0, okLate: 0, noStatus: 0, byStatus: {} };
/** Every request, warm-up and drain included: to compare with the rows the server computed. */
const total = { sent: 0, ok: 0 };
const okLatencies = [];
const headers = {
  ":method": "POST",
  ":path": rpcPath,
  "content-type": "application/grpc",
  te: "trailers",
  "grpc-timeout": grpcTimeout,
};
let outstanding = 0;
let measuredOutstanding = 0;

function send(measured) {
  const sent = performance.now();
  let status;
  let req;
  try {
    req = sessions[nextSession++ % CONNECTIONS].request(headers);
  } catch {
    if (measured) counts.noStatus++;
    return;
  }
  outstanding++;
  total.sent++;
  if (measured) {
    counts.sent++;
    measuredOutstanding++;
  }
  req.on("response", (h) => {
    if (h["grpc-status"] !== undefined) status = String(h["grpc-status"]);
  });
  req.on("trailers", (t) => {
    if (t["grpc-status"] !== undefined) status = String(t["grpc-status"]);
  });
  req.on("data", () => {});
  req.on("error", () => {});
  req.on("close", () => {
    outstanding--;
    if (status === "0") total.ok++;
    if (!measured) return;
    measuredOutstanding--;
    counts.answered++;
    const ms = performance.now() - sent;
    if (status === undefined) counts.noStatus++;
    else counts.byStatus[status] = (counts.byStatus[status] ?? 0) + 1;
    if (status === "0") {
      counts.ok++;
      okLatencies.push(ms);
      if (ms > timeoutMs) counts.okLate++;
    }
  });
  req.end(payload);
}

Promise.all(sessions.map((s) => new Promise((resolve) => s.once("connect", resolve)))).then(() => {
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
      send(at >= warmEnd && at < end);
      next++;
    }
    if (now >= end) {
      clearInterval(timer);
      finish(maxLagMs);
    }
  }, 1);
});

function finish(maxLagMs) {
  // Every request has a deadline: wait for the answers, but not forever.
  const giveUp = performance.now() + Math.max(3000, timeoutMs * 20);
  const poll = setInterval(() => {
    if (outstanding > 0 && performance.now() < giveUp) return;
    clearInterval(poll);
    const s = Float64Array.from(okLatencies).sort();
    const result = {
      rate: RATE,
      grpcTimeout,
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
      maxSendLagMs: maxLagMs,
    };
    process.stdout.write(JSON.stringify(result) + "\n");
    for (const session of sessions) session.destroy();
    process.exit(0);
  }, 20);
}
