// The hardware an example touches, behind one adapter so the same code runs
// on a board and on a host: pins through digitalWrite where the firmware has
// it, the Wifi module where there is one (there is none on Espruino's Linux
// build: src/wifi/ then steps aside).

const pinStates: { [pin: number]: boolean } = {};

/** Drives a GPIO pin (an LED) high or low and remembers the state. */
export function writePin(pin: number, on: boolean): void {
  pinStates[pin] = on;
  if (typeof digitalWrite === 'function') digitalWrite(pin as unknown as Pin, on);
}

/** The last state written to a pin (false if never written). */
export function readPin(pin: number): boolean {
  return !!pinStates[pin];
}

/** JsVars free, in use and in total; `gc` collects garbage first. */
export function memory(gc = false): { free: number; usage: number; total: number } {
  const info = process.memory(gc);
  return { free: info.free, usage: info.usage, total: info.total };
}

/** The parts of Espruino's ESP32 `Wifi` module the Wi-Fi bootstrap uses (see src/wifi/). */
export interface WifiModule {
  connect(ssid: string, options: { password: string }, callback: (err: string | null) => void): void;
  /** The station's address; `ip` is missing or "0.0.0.0" while not connected. */
  getIP(): { ip?: string };
  getAPIP(): { ip?: string };
  /** The ESP32 calls back with the list alone; the generic docs say (err, list). */
  scan(callback: (first: unknown, second?: unknown) => void): void;
  startAP(ssid: string, options: { password?: string }, callback: (err: string | null) => void): void;
  stopAP(): void;
  save(): void;
  setHostname(hostname: string): void;
  on(event: 'connected' | 'disconnected', listener: (details: { ip?: string; msg?: string; reason?: string }) => void): void;
}

/** The Wifi module, or null where there is none (Espruino's Linux build). */
export function wifiModule(): WifiModule | null {
  try {
    return require('Wifi');
  } catch (e) {
    return null;
  }
}

/** The station network Wifi.save() stored (the firmware's ".wificfg" in Storage), or null. */
export function savedWifiNetwork(): { ssid: string; password: string } | null {
  const saved = require('Storage').readJSON('.wificfg', true);
  return saved && saved.ssid ? { ssid: saved.ssid, password: saved.password || '' } : null;
}
