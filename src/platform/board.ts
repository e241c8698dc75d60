// The hardware an example touches, behind one adapter so the same code runs
// on a board and on a host: pins through digitalWrite where the firmware has
// it, Wi-Fi through the Wifi module where there is one (there is none on
// Espruino's Linux build, so Wi-Fi steps aside there).

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

function wifiModule(): any {
  try {
    return require('Wifi');
  } catch (e) {
    return null;
  }
}

/**
 * Calls `ready(ip)` once the board is on the network: at once where there is
 * no Wi-Fi (a host), else when the connection saved with Wifi.save() is up,
 * checking once a second and logging every ten tries.
 */
export function whenOnline(ready: (ip: string) => void, log: (message: string) => void = () => {}): void {
  const wifi = wifiModule();
  if (!wifi) {
    ready('127.0.0.1');
    return;
  }
  let tries = 0;
  const check = () => {
    const ip = wifi.getIP().ip;
    if (ip && ip !== '0.0.0.0') {
      ready(ip);
      return;
    }
    if (++tries % 10 === 0) log('Waiting for Wi-Fi (' + tries + ' s)');
    setTimeout(check, 1000);
  };
  check();
}
