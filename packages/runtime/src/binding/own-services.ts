import type { App } from "../app.js";
import type { ServiceEntry } from "./service-table.js";

/**
 * The app's own services (`app.service`) as the server's service table holds them: served
 * by connect-node on every protocol, and by the native gRPC path for unary and
 * server-streaming methods, exactly as the model services are.
 *
 * @example
 * createServiceTable([...modelServiceEntries(bindings, executor), ...ownServiceEntries(app)]);
 */
export function ownServiceEntries(app: App): ServiceEntry[] {
  return app.services.map(({ service, impl }) => ({ service, impl, origin: "own", native: true }));
}
