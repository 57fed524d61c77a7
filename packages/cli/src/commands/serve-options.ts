import { resolveSpecs, SETTINGS, type ResolvedSettings, type SettingSpec } from "@blazerpc/runtime/settings";

/**
 * The options of `blaze serve` and `blaze dev`: the server's settings (each a flag and a
 * BLAZE_* variable; see `SETTINGS` of @blazerpc/runtime), and where the schema and the
 * generated code of a TypeScript entry are.
 */
export const SERVE_OPTIONS: readonly SettingSpec[] = [
  ...SETTINGS,
  { flag: "proto", env: "BLAZE_PROTO", type: "string", describe: "proto folder (default: proto/ beside the entry)" },
  { flag: "gen", env: "BLAZE_GEN", type: "string", describe: "generated code folder (default: gen/ beside the entry)" },
  {
    flag: "workers",
    env: "BLAZE_WORKERS",
    type: "string",
    default: "1",
    describe:
      "processes serving the one port (node:cluster), each loading its own models: a number, or auto (one per core)",
  },
];

/** What {@link resolveServeOptions} returns: each option by its flag's camelCase name. */
export interface ResolvedServeOptions extends ResolvedSettings {
  proto?: string;
  gen?: string;
  /** `--workers` as given: a number or `auto` (see `workerCount`). */
  workers: string;
}

/**
 * Each option from the parsed flags (camelCase keys), else its environment variable, else
 * its default; a value that is not valid throws, naming where it came from.
 *
 * @example
 * resolveServeOptions({ port: undefined }, { BLAZE_PORT: "8080" }).port // 8080
 */
export function resolveServeOptions(
  args: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
): ResolvedServeOptions {
  return resolveSpecs(SERVE_OPTIONS, args, env) as unknown as ResolvedServeOptions;
}
