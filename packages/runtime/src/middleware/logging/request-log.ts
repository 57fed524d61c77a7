import cluster from "node:cluster";
import { Code } from "@connectrpc/connect";
import { pino, type Logger } from "pino";
import { codeName, type CallObserver, type CallOutcome, type RefusedCallInfo } from "../call-observer.js";

/** Codes that mean the server, not the client, is at fault: logged at `error`. */
const SERVER_FAULTS = new Set([Code.Unknown, Code.Internal, Code.Unavailable, Code.DataLoss, Code.Unimplemented]);

/**
 * A JSON line per RPC through pino, once it has ended:
 *
 * ```json
 * {"level":30,"time":"…","msg":"rpc","service":"iris.v1.InferenceService","method":"PredictIris",
 *  "model":"iris","protocol":"grpc","http":"2.0","peer":"127.0.0.1","code":"OK","ms":1.84}
 * ```
 *
 * A request to one of the app's HTTP routes logs `"msg":"http"` with `method`, `route`, `path`,
 * `http`, `peer`, `status` and `ms`.
 *
 * `info` for OK, `warn` for a client's error (INVALID_ARGUMENT, NOT_FOUND, …), `error` for
 * the server's (INTERNAL, UNAVAILABLE, …), with the error's message as `error`.
 *
 * @example
 * createServer({ app, services, log: pino({ level: "warn" }) }); // only failed calls
 */
export function requestLog(logger: Logger): CallObserver {
  const log = (call: RefusedCallInfo, outcome: CallOutcome): void => {
    const entry = {
      service: call.service,
      method: call.method,
      model: call.model,
      protocol: call.protocol,
      http: call.httpVersion,
      peer: call.peer,
      code: codeName(outcome.code),
      ms: Math.round(outcome.durationMs * 1000) / 1000,
      ...(outcome.error !== undefined ? { error: outcome.error.rawMessage } : {}),
    };
    if ((outcome.code as number) === 0) logger.info(entry, "rpc");
    else if (SERVER_FAULTS.has(outcome.code)) logger.error(entry, "rpc");
    else logger.warn(entry, "rpc");
  };
  return {
    start(call) {
      return (outcome) => log(call, outcome);
    },
    refused: log,
    route(request) {
      return (outcome) => {
        const entry = {
          method: request.method,
          route: request.route,
          path: request.path,
          http: request.httpVersion,
          peer: request.peer,
          status: outcome.status,
          ms: Math.round(outcome.durationMs * 1000) / 1000,
          ...(outcome.error !== undefined ? { error: outcome.error.message } : {}),
        };
        if (outcome.status < 400) logger.info(entry, "http");
        else if (outcome.status >= 500) logger.error(entry, "http");
        else logger.warn(entry, "http");
      };
    },
  };
}

/** The logger `log: true` uses: JSON lines on stdout, ISO times; in a cluster worker, its `pid` and `worker` id. */
export function defaultLogger(): Logger {
  // In a worker of a cluster (`blaze serve --workers N`) each line says which process wrote it.
  const worker = cluster.isWorker ? { pid: process.pid, worker: cluster.worker?.id } : {};
  return pino({ base: { name: "blazerpc", ...worker }, timestamp: pino.stdTimeFunctions.isoTime });
}
