// Types of image-steps.cjs, for templates.spec.ts.

/** One instruction of a Dockerfile. */
export interface DockerStep {
  op: string;
  args: string;
}

/** The instructions of the Dockerfile's last stage, continuation lines joined, comments dropped. */
export function finalStage(text: string): DockerStep[];

/** Carries out the final stage of `dockerfile` in `into`; returns its CMD, ENV, USER and base image. */
export function runImageSteps(options: {
  dockerfile: string;
  context: string;
  stages: Record<string, string>;
  into: string;
  env: NodeJS.ProcessEnv;
}): { cmd: string[]; env: Record<string, string>; user: string | undefined; from: string };
