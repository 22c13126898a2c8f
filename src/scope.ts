// Scopes: `wg.scope(fn)` disposes every tensor made while fn runs, except
// what fn returns or what keep() takes out. A Tensor announces itself here
// when it is made (madeInScope) and leaves when disposed (leftScopes); this
// file needs nothing else of it, so autograd and the tensor both build on it.

/** What a scope holds: a tensor, seen only as something it can dispose. */
interface Scoped {
  dispose(): void;
}

/** Open scopes, innermost last: each collects the tensors made while it is open. */
const scopes: Set<Scoped>[] = [];

/** A new tensor joins the innermost open scope, if any. */
export function madeInScope(t: Scoped): void {
  scopes[scopes.length - 1]?.add(t);
}

/** A disposed tensor leaves every open scope. */
export function leftScopes(t: Scoped): void {
  for (const s of scopes) s.delete(t);
}

/** Runs fn; disposes every tensor it made except those in what it returns. */
export function scope<T>(fn: () => T): T {
  const made = new Set<Scoped>();
  scopes.push(made);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    scopes.pop();
    for (const t of made) t.dispose();
    throw error;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of made) t.dispose();
    throw new Error('scope: the function must be synchronous (it returned a Promise); await outside the scope');
  }
  const returned = new Set<Scoped>();
  collectMade(result, made, returned, new Set());
  const parent = scopes[scopes.length - 1];
  for (const t of made) {
    if (returned.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}

/** Takes `t` out of every open scope, so no scope disposes it. */
export function keep<T extends Scoped>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

/**
 * The tensors of `made` found in `value`: itself, or inside arrays, Maps and
 * plain objects, at any depth. A tensor's own fields are not searched.
 */
function collectMade(value: unknown, made: Set<Scoped>, into: Set<Scoped>, seen: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (made.has(value as Scoped)) {
    into.add(value as Scoped);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectMade(v, made, into, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) collectMade(v, made, into, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectMade(v, made, into, seen);
  }
}
