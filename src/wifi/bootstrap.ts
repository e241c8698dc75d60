// Bringing a board onto the network, then serving. With a network saved by
// Wifi.save(): join it (the firmware is usually joining it already since
// boot), retrying with a back-off; once online, log the address and start the
// app; after a drop, join again. With no saved network, or after
// `portalAfter` failures in a row: open an access point with a set-up page
// (portal.ts) and a DNS responder that sends every name to the board
// (dns.ts), until a network joined from the page works; that one is saved.
// Everything runs from timers and Wifi callbacks: the event loop never waits.
// Where there is no Wifi module (Espruino's Linux build) the app starts at once.
import type { MicroServer } from '../server';
import { WifiModule, wifiModule, savedWifiNetwork } from '../platform/board';
import { mountPortal, Portal, WifiStatus } from './portal';
import { startDnsResponder, DnsResponder } from './dns';

export interface WifiOptions {
  /** Name announced over DHCP and mDNS ("name.local"). */
  hostname?: string;
  /** The set-up access point's name. */
  apName?: string;
  /** Its password (8 to 63 characters); without one the access point is open. */
  apPassword?: string;
  /** Seconds before the first retry; each failure doubles the wait, up to retryMax. */
  retryMin?: number;
  retryMax?: number;
  /** Seconds one attempt to join may take before it counts as failed. */
  connectTimeout?: number;
  /** Failures in a row before the set-up portal opens (0: never). */
  portalAfter?: number;
  /** Seconds between tries of the saved network while the portal is open and nobody uses it (0: never). */
  portalRetry?: number;
  /** The set-up page's path. */
  portalPath?: string;
  /** UDP port of the captive DNS responder. */
  dnsPort?: number;
  /** Called with the board's address each time it comes online. */
  onOnline?: (ip: string) => void;
}

/** Where the board is: read it at any time (the set-up page shows it). */
const WIFI_DEFAULTS = {
  hostname: '',
  apName: 'MicroServer-setup',
  apPassword: '',
  retryMin: 1,
  retryMax: 30,
  connectTimeout: 20,
  portalAfter: 5,
  portalRetry: 300,
  portalPath: '/wifi',
  dnsPort: 53,
};

/** The set-up page's answer leaves before the radio switches networks. */
const SUBMIT_DELAY = 0.5;
/** The access point's address on ESP32 firmware, if it cannot be read. */
const DEFAULT_AP_ADDRESS = '192.168.4.1';

interface Bootstrap {
  app: MicroServer;
  wifi: WifiModule;
  settings: typeof WIFI_DEFAULTS;
  onOnline?: (ip: string) => void;
  status: WifiStatus;
  /** The password of status.ssid. */
  password: string;
  /** The network Wifi.save() stored at boot, tried again while the portal is open. */
  saved: { ssid: string; password: string } | null;
  /** Counts attempts; a callback from an older attempt is ignored. */
  attempt: number;
  /** Seconds until the next retry. */
  delay: number;
  timer: number | undefined;
  serving: boolean;
  portal: Portal | null;
  dns: DnsResponder | null;
  /** The network came from the set-up page: save it once it works. */
  fromPortal: boolean;
  lastVisit: number;
}

function log(boot: Bootstrap, message: string, level: 'INFO' | 'WARNING' | 'ERROR' = 'INFO'): void {
  boot.app.logger.log('Wi-Fi: ' + message, level);
}

/** The station's address, or '' while it has none. */
function stationIp(wifi: WifiModule): string {
  const ip = wifi.getIP().ip;
  return ip && ip !== '0.0.0.0' ? ip : '';
}

function serve(boot: Bootstrap): void {
  if (boot.serving) return;
  boot.serving = true;
  boot.app.run();
}

function cancelTimer(boot: Bootstrap): void {
  if (boot.timer === undefined) return;
  clearTimeout(boot.timer);
  boot.timer = undefined;
}

function later(boot: Bootstrap, seconds: number, run: (boot: Bootstrap) => void): void {
  cancelTimer(boot);
  boot.timer = setTimeout(() => {
    // Cleared first: Espruino reuses timer ids, so a stale one could cancel someone else's timer.
    boot.timer = undefined;
    run(boot);
  }, seconds * 1000);
}

function attempt(boot: Bootstrap): void {
  const id = ++boot.attempt;
  const status = boot.status;
  status.state = 'connecting';
  later(boot, boot.settings.connectTimeout, () => {
    if (id === boot.attempt) failed(boot, 'no answer in ' + boot.settings.connectTimeout + ' s');
  });
  try {
    boot.wifi.connect(status.ssid, { password: boot.password }, (err) => {
      if (id !== boot.attempt) return;
      if (err) failed(boot, String(err));
      else online(boot, stationIp(boot.wifi));
    });
  } catch (e) {
    failed(boot, e && (e as Error).message ? (e as Error).message : String(e));
  }
}

function failed(boot: Bootstrap, error: string): void {
  cancelTimer(boot);
  boot.attempt++;
  const status = boot.status;
  const settings = boot.settings;
  status.failures++;
  status.error = error;
  if (boot.portal) {
    status.state = 'portal';
    log(boot, 'could not join "' + status.ssid + '" (' + error + ')', 'WARNING');
    startAccessPoint(boot);
    if (boot.saved && settings.portalRetry) later(boot, settings.portalRetry, retryFromPortal);
  } else if (settings.portalAfter && status.failures >= settings.portalAfter) {
    log(boot, 'could not join "' + status.ssid + '" (' + error + ') ' + status.failures + ' times', 'WARNING');
    openPortal(boot);
  } else {
    log(boot, 'could not join "' + status.ssid + '" (' + error + '), retrying in ' + boot.delay + ' s', 'WARNING');
    later(boot, boot.delay, attempt);
    boot.delay = Math.min(boot.delay * 2, settings.retryMax);
  }
}

function online(boot: Bootstrap, ip: string): void {
  const status = boot.status;
  if (!ip || (status.state === 'online' && status.ip === ip)) return;
  cancelTimer(boot);
  boot.attempt++;
  status.state = 'online';
  status.ip = ip;
  status.error = '';
  status.failures = 0;
  boot.delay = boot.settings.retryMin;
  log(boot, 'joined "' + status.ssid + '"');
  boot.app.logger.log('IP: ' + ip, 'INFO');
  if (boot.portal) closePortal(boot);
  serve(boot);
  if (boot.onOnline) boot.onOnline(ip);
}

function dropped(boot: Bootstrap, reason: string): void {
  const status = boot.status;
  if (status.state !== 'online') return; // an attempt failing: its callback counts it
  status.state = 'connecting';
  status.ip = '';
  log(boot, 'lost "' + status.ssid + '" (' + reason + '), joining again in ' + boot.delay + ' s', 'WARNING');
  later(boot, boot.delay, attempt);
}

function startAccessPoint(boot: Bootstrap): void {
  const settings = boot.settings;
  // Without a password the firmware opens the access point; with one it uses WPA2.
  boot.wifi.startAP(settings.apName, settings.apPassword ? { password: settings.apPassword } : {}, (err) => {
    if (err) log(boot, 'the set-up access point failed to start (' + err + ')', 'ERROR');
  });
}

function openPortal(boot: Bootstrap): void {
  cancelTimer(boot);
  const settings = boot.settings;
  const status = boot.status;
  status.state = 'portal';
  startAccessPoint(boot);
  const address = boot.wifi.getAPIP().ip || DEFAULT_AP_ADDRESS;
  boot.portal = mountPortal(boot.app, {
    path: settings.portalPath,
    address,
    status,
    scan: (callback) => boot.wifi.scan(callback),
    submit: (ssid, password) => submitted(boot, ssid, password),
    visited: () => {
      boot.lastVisit = Date.now();
    },
  });
  serve(boot);
  boot.dns = startDnsResponder(address, settings.dnsPort);
  log(boot, 'join the "' + settings.apName + '" network and open http://' + address + settings.portalPath + ' to choose one', 'WARNING');
  if (boot.saved && settings.portalRetry) later(boot, settings.portalRetry, retryFromPortal);
}

/** Tries the saved network again, unless someone used the set-up page lately (joining takes the access point's radio). */
function retryFromPortal(boot: Bootstrap): void {
  const quiet = Date.now() - boot.lastVisit;
  const wait = boot.settings.portalRetry * 1000;
  if (quiet < wait) {
    later(boot, (wait - quiet) / 1000, retryFromPortal);
    return;
  }
  const saved = boot.saved as { ssid: string; password: string };
  boot.status.ssid = saved.ssid;
  boot.password = saved.password;
  boot.fromPortal = false;
  attempt(boot);
}

function submitted(boot: Bootstrap, ssid: string, password: string): void {
  const status = boot.status;
  status.ssid = ssid;
  status.state = 'connecting';
  status.error = '';
  boot.password = password;
  boot.fromPortal = true;
  boot.attempt++; // an attempt in flight no longer counts
  log(boot, 'trying "' + ssid + '" from the set-up page');
  later(boot, SUBMIT_DELAY, attempt);
}

function closePortal(boot: Bootstrap): void {
  (boot.portal as Portal).close();
  boot.portal = null;
  if (boot.dns) boot.dns.close();
  boot.dns = null;
  boot.wifi.stopAP();
  // Saved after the access point stops, so the firmware brings up the station alone at boot.
  if (boot.fromPortal) {
    boot.wifi.save();
    boot.fromPortal = false;
    log(boot, 'saved "' + boot.status.ssid + '"');
  }
}

/**
 * Brings the board online, then starts `app` (see the top of this file).
 * Returns the status, updated as things happen.
 */
export function startWifi(app: MicroServer, options: WifiOptions = {}): WifiStatus {
  const settings = {} as { [key: string]: unknown };
  const given = options as { [key: string]: unknown };
  for (const key in WIFI_DEFAULTS) {
    settings[key] = given[key] !== undefined ? given[key] : (WIFI_DEFAULTS as { [key: string]: unknown })[key];
  }
  const apPassword = settings.apPassword as string;
  if (apPassword && (apPassword.length < 8 || apPassword.length > 63)) throw new Error('Wi-Fi: apPassword must have 8 to 63 characters');
  const status: WifiStatus = { state: 'connecting', ssid: '', ip: '', error: '', failures: 0 };
  const wifi = wifiModule();
  if (!wifi) {
    status.state = 'online';
    status.ip = '127.0.0.1';
    app.logger.log('IP: ' + status.ip, 'INFO');
    app.run();
    if (options.onOnline) options.onOnline(status.ip);
    return status;
  }
  const boot: Bootstrap = {
    app, wifi, settings: settings as typeof WIFI_DEFAULTS, onOnline: options.onOnline, status, password: '', saved: savedWifiNetwork(),
    attempt: 0, delay: settings.retryMin as number, timer: undefined, serving: false, portal: null, dns: null,
    fromPortal: false, lastVisit: 0,
  };
  if (boot.settings.hostname) wifi.setHostname(boot.settings.hostname);
  wifi.on('connected', (details) => online(boot, (details && details.ip) || stationIp(wifi)));
  wifi.on('disconnected', (details) => dropped(boot, (details && (details.msg || details.reason)) || 'disconnected'));
  const saved = boot.saved;
  if (saved) {
    status.ssid = saved.ssid;
    boot.password = saved.password;
  }
  const ip = stationIp(wifi);
  if (ip) online(boot, ip);
  else if (saved) attempt(boot);
  else {
    log(boot, 'no saved network', 'WARNING');
    openPortal(boot);
  }
  return status;
}
