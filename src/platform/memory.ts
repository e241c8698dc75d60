// The JsVar heap: refusing work before the interpreter runs out of memory
// (which interrupts whatever code is running), and holding fewer JsVars per object.

/**
 * True when fewer than `floor` JsVars are free (never for a floor of 0).
 * process.memory(false) only counts (no garbage collection: ~0.1 ms for 16383
 * JsVars on a PC); a collection runs only below the floor, since closed
 * connections leave reference cycles that only a collection frees.
 */
export function belowMemoryFloor(floor: number): boolean {
  if (floor <= 0 || process.memory(false).free >= floor) return false;
  return process.memory(true).free < floor;
}

/** The list every object reads until it adds to one of its own (see appended): never pushed to. */
export const EMPTY_LIST: any[] = [];

/** `list` with `item` added: a new list in place of EMPTY_LIST, so an object holds a list only once it has something in it. */
export function appended<T>(list: T[], item: T): T[] {
  if (list === EMPTY_LIST) return [item];
  list.push(item);
  return list;
}

/**
 * Puts a class's field defaults on its prototype, so an instance holds only
 * the fields that changed from them (each property is a JsVar or two). Only
 * for values never changed in place: numbers, strings, booleans, null, and
 * shared lists that are replaced, not pushed to.
 */
export function defaultsOnPrototype(type: { prototype: object }, defaults: { [field: string]: unknown }): void {
  const prototype = type.prototype as { [field: string]: unknown };
  for (const field in defaults) prototype[field] = defaults[field];
}
