// The Wi-Fi set-up page, served while the board is its own access point: a
// form to pick a network from a scan (or type a hidden one's name) and give
// its password. The operating systems' connectivity probes are redirected to
// it, which is what makes phones and laptops open it by themselves. Routes are
// added to the app while the portal is open and removed by close().
import type { MicroServer } from '../server';
import type { Request } from '../http/request';
import { Response } from '../http/response';
import { parseQuery } from '../http/url';
import { decodeUtf8, encodeUtf8 } from '../platform/text';

/** What the bootstrap is doing: the portal shows it, startWifi returns it. */
export interface WifiStatus {
  /** 'connecting', 'online' or 'portal' (the set-up access point is open and nothing is being joined). */
  state: string;
  /** The network being joined or joined. */
  ssid: string;
  /** The board's address on that network while online. */
  ip: string;
  /** Why the last attempt failed. */
  error: string;
  /** Failed attempts in a row. */
  failures: number;
}

export interface PortalOptions {
  /** The set-up page's path, e.g. "/wifi". */
  path: string;
  /** The board's address on its access point, for the probes' redirects. */
  address: string;
  /** What the page reports: the network being joined and the last error. */
  status: WifiStatus;
  /** Wifi.scan: calls back with the access points seen ({ ssid, rssi }). */
  scan: (callback: (first: unknown, second?: unknown) => void) => void;
  /** Called with the network the user chose; the page answers at once. */
  submit: (ssid: string, password: string) => void;
  /** Called whenever the page is shown or submitted (someone is setting the board up). */
  visited: () => void;
}

export interface Portal {
  close(): void;
}

/** Android, Apple and Windows connectivity checks: anything but their expected answer means "captive". */
const PROBES = ['/generate_204', '/gen_204', '/hotspot-detect.html', '/connecttest.txt', '/ncsi.txt'];
/** A scan is reused for this long, so reloading the page does not rescan each time. */
const SCAN_REUSE_MS = 15000;
/** A scan that has not called back by then is given up. */
const SCAN_TIMEOUT_MS = 10000;
const MAX_LISTED = 20;
const MAX_SSID_BYTES = 32;
const MAX_PASSWORD_BYTES = 64;
const MIN_WPA_PASSWORD = 8;

const HTML_SPECIAL = /[&<>"'\x00-\x1f]/g;

/** Text safe inside HTML elements and quoted attributes. SSIDs come from anyone's access point. */
export function escapeHtml(text: string): string {
  // On the bytes: on the Linux build replace() with a regex turns Unicode text into its UTF-8 bytes.
  return decodeUtf8(encodeUtf8(text).replace(HTML_SPECIAL, (c) => '&#' + c.charCodeAt(0) + ';'));
}

interface ScanState {
  networks: string[];
  scannedAt: number;
  scanning: Promise<void> | null;
}

/** The SSIDs of a scan, strongest first, each once, hidden ones left out. */
function networkNames(list: unknown): string[] {
  const found = (Array.isArray(list) ? list : []) as { ssid?: string; rssi?: number | string }[];
  const best: { [ssid: string]: number } = {};
  const names: string[] = [];
  for (let i = 0; i < found.length; i++) {
    const ssid = found[i].ssid;
    const rssi = Number(found[i].rssi);
    if (!ssid || typeof ssid !== 'string') continue;
    if (!Object.prototype.hasOwnProperty.call(best, ssid)) names.push(ssid);
    else if (best[ssid] >= rssi) continue;
    best[ssid] = rssi;
  }
  names.sort((a, b) => best[b] - best[a]);
  return names.length > MAX_LISTED ? names.slice(0, MAX_LISTED) : names;
}

/** Resolves once the network list is fresh (a scan at most SCAN_REUSE_MS old) or the scan failed. */
function refreshNetworks(state: ScanState, scan: PortalOptions['scan']): Promise<void> {
  if (state.scanning) return state.scanning;
  if (state.scannedAt && Date.now() - state.scannedAt < SCAN_REUSE_MS) return Promise.resolve();
  const scanning = new Promise<void>((resolve) => {
    let timer: number | undefined = setTimeout(() => {
      timer = undefined;
      resolve();
    }, SCAN_TIMEOUT_MS);
    const finish = () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      resolve();
    };
    try {
      scan((first, second) => {
        // The ESP32 passes the list first; the generic documentation says (err, list).
        state.networks = networkNames(Array.isArray(first) ? first : second);
        state.scannedAt = Date.now();
        finish();
      });
    } catch (e) {
      // A scan already running (the firmware allows one at a time): show the last list.
      finish();
    }
  });
  state.scanning = scanning.then(() => {
    state.scanning = null;
  });
  return state.scanning;
}

function statusLine(status: WifiStatus): string {
  const ssid = '"' + escapeHtml(status.ssid) + '"';
  if (status.state === 'connecting') return 'Joining ' + ssid + '&hellip; If it works, this set-up network closes and the board serves on ' + ssid + '. If it comes back, join it again to see what went wrong.';
  if (status.error && status.ssid) return 'Could not join ' + ssid + ': ' + escapeHtml(status.error) + '.';
  return 'Choose the network this board should join.';
}

function page(options: PortalOptions, networks: string[], problem: string): string {
  // Joined, not appended with +=: on the Linux build `text += unicodeText` yields bytes.
  const choices: string[] = [];
  for (let i = 0; i < networks.length; i++) {
    const name = escapeHtml(networks[i]);
    choices.push('<option value="' + name + '">' + name + '</option>');
  }
  return '<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">' +
    '<title>Wi-Fi set-up</title><style>body{font:16px sans-serif;max-width:24em;margin:1em auto;padding:0 1em}' +
    'select,input,button{display:block;width:100%;box-sizing:border-box;margin:.3em 0 1em;padding:.5em;font:inherit}</style></head>' +
    '<body><h1>Wi-Fi set-up</h1><p>' + (problem ? '<strong>' + problem + '</strong>' : statusLine(options.status)) + '</p>' +
    '<form method="post" action="' + options.path + '"><label>Network<select name="ssid">' + choices.join('') + '</select></label>' +
    '<label>or a hidden network&#39;s name<input name="other" maxlength="32" autocomplete="off"></label>' +
    '<label>Password<input name="password" type="password" maxlength="64"></label><button>Connect</button></form></body></html>';
}

function field(form: { [key: string]: string | string[] }, name: string): string {
  const value = form[name];
  return typeof value === 'string' ? value : '';
}

/** Checks the form, hands the network over and says what happens next; a bad form gets the page again (400). */
function submitted(options: PortalOptions, state: ScanState, req: Request): Response {
  options.visited();
  const form = parseQuery(req.body || '');
  const ssid = field(form, 'other') || field(form, 'ssid');
  const password = field(form, 'password');
  const ssidBytes = encodeUtf8(ssid).length;
  const passwordBytes = encodeUtf8(password).length;
  let problem = '';
  if (!ssidBytes || ssidBytes > MAX_SSID_BYTES) problem = 'A network name has 1 to 32 bytes.';
  else if (passwordBytes > MAX_PASSWORD_BYTES || (passwordBytes && passwordBytes < MIN_WPA_PASSWORD)) {
    problem = 'A Wi-Fi password has 8 to 64 characters (none for an open network).';
  }
  if (problem) return Response.html(page(options, state.networks, problem), 400);
  options.submit(ssid, password);
  return Response.html(page(options, state.networks, ''));
}

function routed(app: MicroServer, path: string): boolean {
  const routes = app.routes();
  for (let i = 0; i < routes.length; i++) if (routes[i].path === path && routes[i].method === 'GET') return true;
  return false;
}

/** Adds the set-up page at options.path, the probes' redirects and, if the app has no "/", one there too. */
export function mountPortal(app: MicroServer, options: PortalOptions): Portal {
  const state: ScanState = { networks: [], scannedAt: 0, scanning: null };
  const location = 'http://' + options.address + options.path;
  const redirects = routed(app, '/') ? PROBES : PROBES.concat(['/']);
  const toPage = () => Response.redirect(location);
  for (let i = 0; i < redirects.length; i++) app.get(redirects[i], toPage);
  app.get(options.path, () => {
    options.visited();
    return refreshNetworks(state, options.scan).then(() => Response.html(page(options, state.networks, '')));
  });
  app.post(options.path, (req) => submitted(options, state, req));
  return {
    close() {
      for (let i = 0; i < redirects.length; i++) app.removeRoute(redirects[i], 'GET');
      app.removeRoute(options.path);
    },
  };
}
