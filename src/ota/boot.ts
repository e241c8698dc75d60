// The boot record and the boot code that reads it.
//
// ".bootcde" (what Espruino runs at every boot) becomes one line of record and
// a fixed loader:
//   var OTA={"app":"@1ota-b.js","size":61234,"sha256":"...","prev":"@0ota-a.js","prevSize":60110,"trialMs":60000};
//   <LOADER>
// The record names the app to boot and the one before it. Writing ".bootcde"
// is the one step that switches apps. A new app boots on trial while
// ".otatry" names it: "<app>\n" and one 0xFF byte per boot it may take. The
// loader fills in one byte per boot (flash bits are cleared without an erase)
// and arms a deadline; the app's OTA plug-in erases ".otatry" once the app has
// been listening for a while (healthy). A trial app that throws at boot, or
// boots with no byte left, is rolled back: the loader writes the failure to
// ".otafail", rewrites ".bootcde" for the previous app and reboots.

/** Boots a new app may take to become healthy before the previous one comes back. */
export const BOOT_TRIES = 3;
const BOOT_CODE = '.bootcde';
const TRIAL = '.otatry';
const FAILURE = '.otafail';
const RECORD_START = 'var OTA=';
const RECORD_END = ';\n';
/** The app slots `npm run flash` boots (tools/flash/boot-code.mjs). */
const FLASHED_APPS = ['.app0', '.app1'];
/** The names OTA uploads take in the files store, in turn: the running app's stays whole for a rollback. */
const BUNDLE_NAMES = ['ota-a.js', 'ota-b.js'];

// ES5 run by the interpreter at boot, before any app. Kept small: it stays in
// flash, like the app. "\xff" is erased flash: a boot not yet taken.
// The interpreter reads this code from flash as it runs it: once ".bootcde" is
// rewritten, the rest of it is other bytes (the Linux build stopped with a
// SyntaxError). So the rollback's last steps run from a string in RAM (eval).
const LOADER =
  'OTA.back=function(why){var S=require("Storage"),c=S.read(".bootcde");' +
  'S.write(".otafail",JSON.stringify({app:OTA.app,size:OTA.size,sha256:OTA.sha256,reason:why}));' +
  'c="var OTA="+JSON.stringify({app:OTA.prev,size:OTA.prevSize,sha256:OTA.prevSha256,trialMs:OTA.trialMs})+c.substr(c.indexOf(";\\n"));' +
  'print("OTA: "+OTA.app+" "+why+"; "+OTA.prev+" boots again");' +
  'eval(\'S.write(".bootcde",c);S.erase(".otatry");S.erase(OTA.app);E.reboot()\')};\n' +
  'OTA.trial=(function(){var S=require("Storage"),t=S.read(".otatry"),n;' +
  'if(!OTA.prev||t===undefined||t.substr(0,t.indexOf("\\n"))!=OTA.app)return false;' +
  'n=t.indexOf("\\xff");if(n<0){OTA.back("was not healthy within "+(t.length-OTA.app.length-1)+" boots");return false}' +
  'S.write(".otatry","b",n);' +
  'OTA.timer=setTimeout(function(){print("OTA: "+OTA.app+" not healthy after "+OTA.trialMs+" ms: rebooting");E.reboot()},OTA.trialMs);return true})();\n' +
  'try{eval(require("Storage").read(OTA.app,0,OTA.size)||"throw new Error(\\""+OTA.app+" is missing\\")")}' +
  'catch(e){if(OTA.trial)OTA.back("threw at boot: "+e);bootError=""+e;print("Uncaught "+e+" (in "+OTA.app+")")}\n';

/** An app bundle in Storage: its Storage name and length (and SHA-256 as hex, when known). */
export interface AppBundle {
  name: string;
  size: number;
  sha256?: string;
}

/** What ".bootcde" records: the app to boot, the one to roll back to, the trial's deadline. */
export interface BootRecord {
  app: string;
  size: number;
  sha256?: string;
  prev?: string;
  prevSize?: number;
  prevSha256?: string;
  trialMs: number;
}

/** Why the last new app was rolled back, as the loader wrote it. */
export interface BootFailure {
  app: string;
  size: number;
  sha256?: string;
  reason: string;
}

function storage(): EspruinoStorage {
  return require('Storage');
}

/** The boot record, or null when ".bootcde" is not OTA's (npm run flash wrote it, or there is none). */
export function readBootRecord(): BootRecord | null {
  const code = storage().read(BOOT_CODE);
  if (code === undefined || code.substring(0, RECORD_START.length) !== RECORD_START) return null;
  return JSON.parse(code.substring(RECORD_START.length, code.indexOf(RECORD_END)));
}

/** The app Storage boots now: the record's, or the slot npm run flash's boot code reads; null when none. */
export function bootingApp(): AppBundle | null {
  const record = readBootRecord();
  if (record) return { name: record.app, size: record.size, sha256: record.sha256 };
  const code = storage().read(BOOT_CODE, 0, 200);
  for (let i = 0; code !== undefined && i < FLASHED_APPS.length; i++) {
    // The name comes from the constant, not from a match in `code`: a string read
    // from Storage points into flash, and reads other bytes once ".bootcde" is rewritten.
    const bytes = code.indexOf('read("' + FLASHED_APPS[i] + '")') >= 0 ? storage().read(FLASHED_APPS[i]) : undefined;
    if (bytes !== undefined) return { name: FLASHED_APPS[i], size: bytes.length };
  }
  return null;
}

/** Boots the record's app has left to become healthy, or -1 when it is not on trial. */
export function bootsLeft(record: BootRecord): number {
  const trial = storage().read(TRIAL);
  if (!record.prev || trial === undefined || trial.substring(0, trial.indexOf('\n')) !== record.app) return -1;
  const free = trial.indexOf('\xff');
  return free < 0 ? 0 : trial.length - free;
}

/** The last rollback's report, or null. */
export function lastFailure(): BootFailure | null {
  return storage().readJSON(FAILURE, true) || null;
}

/** The files-store name for a new bundle: the one the booting app does not use. */
export function nextBundleName(booting: AppBundle): string {
  return booting.name.substring(2) === BUNDLE_NAMES[0] ? BUNDLE_NAMES[1] : BUNDLE_NAMES[0];
}

/**
 * Makes `app` the one Storage boots, on trial, with `previous` to fall back
 * to. The trial counter is written first: until ".bootcde" names the new app,
 * the loader ignores a counter that names another. Then ".bootcde" is written
 * in one Storage write: the switch. Bundles neither app needs any more go.
 */
export function switchTo(app: AppBundle, previous: AppBundle, trialMs: number): BootRecord {
  const record: BootRecord = { app: app.name, size: app.size, sha256: app.sha256, prev: previous.name, prevSize: previous.size, prevSha256: previous.sha256, trialMs: trialMs };
  const S = storage();
  S.write(TRIAL, app.name + '\n', 0, app.name.length + 1 + BOOT_TRIES);
  const code = RECORD_START + JSON.stringify(record) + RECORD_END + LOADER;
  if (!S.write(BOOT_CODE, code) || S.read(BOOT_CODE) !== code) throw new Error('Storage refused the boot code');
  S.erase(FAILURE);
  const stale = [FLASHED_APPS[0], FLASHED_APPS[1], '@0' + BUNDLE_NAMES[0], '@1' + BUNDLE_NAMES[0], '@0' + BUNDLE_NAMES[1], '@1' + BUNDLE_NAMES[1]];
  for (let i = 0; i < stale.length; i++) if (stale[i] !== app.name && stale[i] !== previous.name) S.erase(stale[i]);
  return record;
}

/** Ends the booting app's trial: it stays. Returns false when it was not on trial. */
export function markHealthy(record: BootRecord): boolean {
  if (bootsLeft(record) < 0) return false;
  storage().erase(TRIAL);
  return true;
}
