/**
 * A small validator combinator set. Each validator takes `unknown` and returns a typed value
 * or throws SchemaError naming the field; objects keep only the fields they declare, so
 * nothing unvalidated reaches a handler. Written here rather than pulled in (zod, ajv) because
 * the protocol needs six shapes and the types fall out of the same declaration.
 */
import { utf8BytesOver } from './text-limits.ts';

export class SchemaError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path || 'message'}: ${reason}`);
    this.name = 'SchemaError';
  }
}

export interface Validator<T> {
  (value: unknown, path?: string): T;
  readonly optional?: boolean;
}
export type Infer<V> = V extends Validator<infer T> ? T : never;

interface StrOptions {
  min?: number;
  /** Maximum length in UTF-8 bytes (what costs memory and bandwidth). */
  maxBytes: number;
  pattern?: RegExp;
  /** Refuse lone surrogates: such a string has no UTF-8 form, yet JSON can carry it. */
  wellFormed?: true;
}

/** A UTF-16 code unit of a surrogate pair standing alone (with the u flag pairs are one code point). */
export const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

export function str(opts: StrOptions): Validator<string> {
  const min = opts.min ?? 0;
  return (v, path = '') => {
    if (typeof v !== 'string') throw new SchemaError(path, 'expected a string');
    if (v.length < min) throw new SchemaError(path, `shorter than ${min}`);
    if (utf8BytesOver(v, opts.maxBytes) > 0) {
      throw new SchemaError(path, `longer than ${opts.maxBytes} bytes`);
    }
    if (opts.pattern && !opts.pattern.test(v)) throw new SchemaError(path, 'has characters that are not allowed');
    if (opts.wellFormed && LONE_SURROGATE.test(v))
      throw new SchemaError(path, 'is not valid Unicode text (a lone surrogate)');
    return v;
  };
}

export function int(min: number, max: number): Validator<number> {
  return (v, path = '') => {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new SchemaError(path, 'expected an integer');
    if (v < min || v > max) throw new SchemaError(path, `out of range ${min}..${max}`);
    return v;
  };
}

export const bool: Validator<boolean> = (v, path = '') => {
  if (typeof v !== 'boolean') throw new SchemaError(path, 'expected true or false');
  return v;
};

export function oneOf<const L extends string>(...allowed: L[]): Validator<L> {
  const set = new Set<string>(allowed);
  return (v, path = '') => {
    if (typeof v !== 'string' || !set.has(v)) throw new SchemaError(path, `expected one of ${allowed.join(', ')}`);
    return v as L;
  };
}

export function arr<T>(item: Validator<T>, maxItems: number): Validator<T[]> {
  return (v, path = '') => {
    if (!Array.isArray(v)) throw new SchemaError(path, 'expected an array');
    if (v.length > maxItems) throw new SchemaError(path, `more than ${maxItems} items`);
    return v.map((x, i) => item(x, `${path}[${i}]`));
  };
}

export type OptionalValidator<T> = Validator<T | undefined> & { readonly optional: true };

export function opt<T>(inner: Validator<T>): OptionalValidator<T> {
  const v = (value: unknown, path?: string) => (value === undefined ? undefined : inner(value, path));
  return Object.assign(v, { optional: true as const });
}

type Shape = Record<string, Validator<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { optional: true } ? K : never }[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
export type ObjectOf<S extends Shape> = Simplify<
  { [K in RequiredKeys<S>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Exclude<Infer<S[K]>, undefined> }
>;

export function obj<S extends Shape>(shape: S): Validator<ObjectOf<S>> {
  const fields = Object.entries(shape);
  return (v, path = '') => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SchemaError(path, 'expected an object');
    const src = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [key, validate] of fields) {
      const value = validate(Object.hasOwn(src, key) ? src[key] : undefined, path ? `${path}.${key}` : key);
      if (value !== undefined) out[key] = value;
    }
    return out as ObjectOf<S>;
  };
}

/** A literal tag, for the `t` field of a message. */
export function lit<const L extends string>(tag: L): Validator<L> {
  return oneOf(tag);
}
