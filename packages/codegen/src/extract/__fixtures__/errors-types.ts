// Types for errors.ts, in another file: their diagnostics point here.
export interface Tree {
  value: number;
  children: Tree[];
}

export interface Broken {
  name: string;
  greet(): string;
  when?: Date | null;
}

export interface Point {
  x: number;
}

export interface Wrap<T> {
  value: T;
}
