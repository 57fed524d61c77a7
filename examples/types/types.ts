// The types of examples/types/models.ts, declared in their own file: code generation
// follows imports, type aliases, generics and TypeScript enums.
import type { Float32, Float64, Int32, Int64, Uint32, Uint64 } from "@blazerpc/runtime";

/** Every plain scalar. */
export interface Scalars {
  /** A UTF-8 string. */
  text: string;
  /** A number is a proto double. */
  score: number;
  /** A bigint is a proto int64. */
  count: bigint;
  flag: boolean;
  blob: Uint8Array;
}

/** The exact number types of @blazerpc/runtime, one per proto scalar. */
export interface Exact {
  i32: Int32;
  u32: Uint32;
  f32: Float32;
  f64: Float64;
  i64: Int64;
  u64: Uint64;
}

/** A colour: a string-literal union becomes an enum. */
export type Color = "red" | "green" | "blue";

/** A TypeScript enum with numeric values. */
export enum Level {
  Low,
  Medium,
  /** The highest level. */
  High,
}

/** A TypeScript enum with string values. */
export enum Shape {
  Circle = "circle",
  Square = "square",
}

/** A point on the plane. */
export interface Point {
  x: number;
  y: number;
  /** Optional: absent when not sent. */
  label?: string;
}

/** One page of results: a generic interface, instantiated with concrete types. */
export interface Page<T> {
  items: T[];
  next?: string;
}

/** A search: the one destructured parameter of model "search", so its fields are the request's. */
export interface Query {
  text: string;
  topK?: Int32;
  filters: Record<string, string>;
  userID: string;
}

/** One hit of a search. */
export type Hit = {
  id: string;
  score: Float32;
  color: Color;
};
