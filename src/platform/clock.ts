// Time and timers. Espruino's clearTimeout(undefined) throws and clearTimeout()
// with no argument clears every timer, so timers go through these two helpers.

const DAYS = ['Thu', 'Fri', 'Sat', 'Sun', 'Mon', 'Tue', 'Wed']; // 1970-01-01 was a Thursday
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Milliseconds since the epoch (or since boot on a board without a clock). */
export function now(): number {
  return getTime() * 1000;
}

export function startTimer(callback: () => void, ms: number): number {
  return setTimeout(callback, ms);
}

export function startInterval(callback: () => void, ms: number): number {
  return setInterval(callback, ms);
}

/** Stops a timer started with startTimer or startInterval; safe with no timer. Returns undefined to clear the caller's field. */
export function stopTimer(timer: number | undefined): undefined {
  if (timer !== undefined) clearTimeout(timer);
  return undefined;
}

/**
 * One interval for many watchers (a timer and a closure each would cost JsVars per client):
 * once a second, `due(item, second)` for every watched item, from the last, so an item may
 * leave meanwhile. The interval runs only while something is watched.
 */
export class SecondTicker<T> {
  /** Seconds counted while anything was watched: what callers set their due times in. */
  second = 0;
  items: T[] = [];
  private timer: number | undefined;

  constructor(public due: (item: T, second: number) => void) {}

  watch(item: T): void {
    this.items.push(item);
    if (this.timer === undefined) this.timer = startInterval(() => tickAll(this), 1000);
  }

  unwatch(item: T): void {
    const index = this.items.indexOf(item);
    if (index < 0) return;
    this.items.splice(index, 1);
    if (!this.items.length) this.timer = stopTimer(this.timer);
  }
}

/** A plain function, not a method: see the note on nested method calls in http/connection.ts. */
function tickAll<T>(ticker: SecondTicker<T>): void {
  const second = ++ticker.second;
  for (let i = ticker.items.length - 1; i >= 0; i--) {
    const item = ticker.items[i];
    if (item) ticker.due(item, second);
  }
}

let dateSecond = -1;
let dateText = '';

/** The current time as an IMF-fixdate (RFC 9110 §5.6.7), computed once a second. */
export function httpDate(): string {
  const second = Math.floor(getTime());
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = imfFixdate(second);
  }
  return dateText;
}

/** Espruino's toUTCString does not zero-pad the day, and it has no getUTC* methods: build it from toISOString. */
export function imfFixdate(second: number): string {
  const iso = new Date(second * 1000).toISOString(); // 2023-11-14T22:13:20.000Z
  const day = DAYS[Math.floor(second / 86400) % 7];
  return day + ', ' + iso.substr(8, 2) + ' ' + MONTHS[parseInt(iso.substr(5, 2), 10) - 1] + ' ' + iso.substr(0, 4) + ' ' + iso.substr(11, 8) + ' GMT';
}

/** "2024-01-15 10:30:45" for log lines. */
export function logTimestamp(): string {
  const iso = new Date(now()).toISOString();
  return iso.substr(0, 10) + ' ' + iso.substr(11, 8);
}
