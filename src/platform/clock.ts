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
