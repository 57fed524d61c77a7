/**
 * "Did you mean" for flags that users of other tools type (Python BlazeRPC, uvicorn,
 * protoc plugins): each unknown flag yargs reports is looked up here, per command.
 */
interface Hint {
  /** Unknown flag names (as yargs reports them: kebab-case and camelCase) this hint answers. */
  readonly flags: readonly string[];
  /** The commands it applies to; undefined: any. */
  readonly commands?: readonly string[];
  readonly text: string;
}

const HINTS: readonly Hint[] = [
  {
    flags: ["output-dir", "outputDir", "output", "out-dir", "outDir"],
    commands: ["proto"],
    text: "did you mean --out? (the proto folder; default proto/ beside the entry)",
  },
  {
    flags: ["output-dir", "outputDir", "output", "out", "out-dir", "outDir"],
    commands: ["generate", "check", "serve", "dev"],
    text: "did you mean --proto (the schema folder) or --gen (the generated code folder)?",
  },
  {
    flags: ["reload", "watch"],
    commands: ["proto", "generate", "check", "serve"],
    text: "did you mean `blaze dev <entry>`? It serves the same way, watches the entry and what it imports, and on a change regenerates, type-checks and restarts on the same port",
  },
  { flags: ["reload", "watch"], commands: ["dev"], text: "`blaze dev` always watches and reloads: leave the flag out" },
  {
    flags: ["w", "processes", "concurrency"],
    commands: ["serve"],
    text: "did you mean --workers N (or auto)? Processes serving the one port, each with its own models",
  },
  {
    flags: ["workers", "w", "processes"],
    commands: ["dev"],
    text: "`blaze dev` serves one process (it restarts it on every change): `blaze serve --workers N` runs several",
  },
  {
    flags: ["template", "t"],
    commands: ["proto", "generate", "check", "serve", "dev"],
    text: "--template belongs to `blaze init <dir> --template <name>`",
  },
];

/**
 * The hints for the unknown flags in a yargs failure message ("Unknown arguments: a, b").
 *
 * @example
 * hintsFor("Unknown arguments: output-dir, outputDir", ["proto", "m.ts", "--output-dir", "x"])
 * // ["did you mean --out? (the proto folder; default proto/ beside the entry)"]
 */
export function hintsFor(message: string, argv: readonly string[]): string[] {
  const m = /^Unknown arguments?: (.*)$/m.exec(message);
  if (m === null) return [];
  const unknown = new Set(m[1]!.split(",").map((s) => s.trim()));
  const command = argv.find((a) => !a.startsWith("-"));
  const out: string[] = [];
  for (const h of HINTS) {
    if (h.commands !== undefined && (command === undefined || !h.commands.includes(command))) continue;
    if (h.flags.some((f) => unknown.has(f)) && !out.includes(h.text)) out.push(h.text);
  }
  return out;
}
