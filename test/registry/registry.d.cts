// Types of registry.cjs (plain CommonJS, so that bench/first-call.cjs runs it with node).
export interface Registry {
  readonly url: string;
  log(): string;
  close(): Promise<void>;
}
export interface Running {
  readonly url: string;
  output(): string;
  stop(): Promise<number | null>;
}
export declare const repo: string;
export declare function packageDirs(): string[];
export declare function releaseVersion(): string;
export declare function upstreamRegistry(): string;
export declare function startRegistry(options: { dir: string }): Promise<Registry>;
export declare function login(url: string, dir: string): Promise<string>;
export declare function registryEnv(url: string, extra?: Record<string, string>): NodeJS.ProcessEnv;
export declare function publishAll(url: string, npmrc: string): { version: string; ms: number; output: string };
export declare function tempDir(prefix: string): string;
export declare function run(
  cmd: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<{ out: string; ms: number }>;
export declare function startServer(cwd: string, entry: string, env: NodeJS.ProcessEnv): Promise<Running>;
export declare function du(dir: string): number;
export declare function sharedNpmCache(): string;
