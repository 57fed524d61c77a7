import type * as net from "node:net";
import type { AnyRequest, AnyResponse } from "../http/routes.js";

/** Options of {@link createHttp1Pipeline}. */
export interface Http1PipelineOptions {
  /**
   * Requests of one HTTP/1.1 connection answered at once; the next wait for one of them to
   * finish, up to as many again. A connection with more pending than that is closed.
   */
  maxPending: number;
}

/** Runs `run` for a request now, or once its connection has room for it. */
export type Schedule = (req: AnyRequest, res: AnyResponse, run: () => void) => void;

interface Pipeline {
  running: number;
  readonly waiting: (() => void)[];
  /** We stopped reading the socket (and keep it stopped while it is set). */
  paused: boolean;
  readonly repause: () => void;
}

const kPipeline = Symbol("blazerpc.http1Pipeline");

/**
 * Bounds the pipelined HTTP/1.1 requests of a connection that are being answered at once.
 *
 * Node's HTTP server runs every request it parses as soon as it is parsed, and stops
 * reading only when the responses already written are not draining. When handlers answer
 * asynchronously (an RPC, `/metrics`), nothing is written yet when the next requests are
 * parsed: one 64 KiB read of pipelined `GET /metrics` started ~1,500 renders at once, and a
 * client sending 20,000 of them and never reading had all of them run. Here at most
 * `maxPending` run per connection; the requests already read past those wait, in order
 * (responses go out in order either way), and the socket is not read while any does. A
 * connection that has more than `2 × maxPending` pending — more pipelined in one go than
 * any client needs; browsers pipeline none, `h2load --h1 -m8` eight — is closed at once:
 * each held request costs memory and counts against the server-wide request cap (RFC 9112
 * §9.3.2: a client retries the unanswered ones). HTTP/2 requests pass straight through
 * (their streams are bounded by SETTINGS_MAX_CONCURRENT_STREAMS).
 *
 * @example
 * const schedule = createHttp1Pipeline({ maxPending: 16 });
 * http.createServer((req, res) => schedule(req, res, () => handle(req, res)));
 */
export function createHttp1Pipeline({ maxPending }: Http1PipelineOptions): Schedule {
  const limit = Math.max(1, maxPending);
  return (req, res, run) => {
    if (req.httpVersionMajor !== 1 || !Number.isFinite(limit)) return run();
    const socket = req.socket as net.Socket & { [kPipeline]?: Pipeline };
    // Closed for pipelining too much: the rest of what was read is never run.
    if (socket.destroyed) return;
    const p = (socket[kPipeline] ??= pipelineOf(socket));
    if (p.running >= limit && p.waiting.length >= limit) {
      p.waiting.length = 0;
      socket.destroy();
      return;
    }
    const start = () => {
      p.running++;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        p.running--;
        while (p.running < limit && p.waiting.length > 0 && !socket.destroyed) p.waiting.shift()!();
        readWhenRoom(socket, p);
      };
      res.once("finish", finish);
      res.once("close", finish);
      run();
    };
    if (p.running < limit && p.waiting.length === 0) start();
    else p.waiting.push(start);
    readWhenRoom(socket, p);
  };
}

function pipelineOf(socket: net.Socket): Pipeline {
  // Node's own HTTP server resumes a socket it paused once its writes drain; one we paused
  // stays paused until we resume it.
  const p: Pipeline = { running: 0, waiting: [], paused: false, repause: () => socket.pause() };
  // The requests still waiting are never run: the connection's bookkeeping ends them.
  socket.once("close", () => (p.waiting.length = 0));
  return p;
}

/**
 * Stops reading the socket while a request waits for its turn, and reads it again once
 * none does. Not as soon as `limit` run: the last one started may still be reading its
 * body; a request waits only once its headers came, after every running one's body.
 */
function readWhenRoom(socket: net.Socket, p: Pipeline): void {
  if (socket.destroyed) return;
  const full = p.waiting.length > 0;
  if (full && !p.paused) {
    p.paused = true;
    socket.on("resume", p.repause);
    socket.pause();
  } else if (!full && p.paused) {
    p.paused = false;
    socket.off("resume", p.repause);
    socket.resume();
  }
}
