// The OTA routes: a new app bundle streamed into Storage through the files
// store, verified, booted on trial, kept once healthy (see boot.ts).
import { MicroServer } from '../server';
import { Request } from '../http/request';
import { Response } from '../http/response';
import { Handler } from '../pipeline';
import { httpError } from '../http/errors';
import { receiveFile } from '../files';
import { AppBundle, bootingApp, bootsLeft, lastFailure, markHealthy, nextBundleName, readBootRecord, switchTo } from './boot';

export interface OtaOptions {
  /** Where the routes go (default "/ota"). */
  path?: string;
  /** Wraps POST (the upload), e.g. an auth middleware's guard. */
  guard?: (handler: Handler) => Handler;
  /** Largest bundle in bytes (413 above it). Default 262144. */
  maxBundleSize?: number;
  /** How long a new app must have been listening to be kept (default 5000 ms). */
  healthyAfterMs?: number;
  /** A new app that is not healthy this long after its boot is rebooted, a boot of its trial used (default 60000 ms). */
  trialMs?: number;
}

/** Time for the 202 to leave before the board restarts. */
const REBOOT_DELAY_MS = 500;

/** What the boot code left in the global scope for the app it booted (boot.ts LOADER). */
interface BootState {
  trial: boolean;
  timer?: number;
}

function bootState(): BootState | undefined {
  return (global as any).OTA;
}

function status(): object {
  const record = readBootRecord();
  const booting = bootingApp();
  const left = record ? bootsLeft(record) : -1;
  return {
    state: !booting ? 'not booted from Storage' : !record ? 'flashed' : left >= 0 ? 'trial' : 'healthy',
    app: booting,
    previous: record && record.prev ? { name: record.prev, size: record.prevSize, sha256: record.prevSha256 } : null,
    bootsLeft: left >= 0 ? left : undefined,
    lastFailure: lastFailure(),
  };
}

/**
 * Adds the OTA routes to `app`, and keeps a new app booted on trial once it
 * has been listening `healthyAfterMs`. Under `path` (default /ota):
 *   GET  /ota   {"state": "flashed" | "trial" | "healthy" | ..., "app", "previous", "bootsLeft", "lastFailure"}
 *   POST /ota   the new bundle as the raw body (Content-Length; X-Content-SHA256: hex, optional):
 *               stored, verified, switched to, 202, then the board restarts
 */
export function mountOta(app: MicroServer, options: OtaOptions = {}): void {
  const path = options.path === undefined ? '/ota' : options.path;
  const guard = options.guard || ((handler: Handler) => handler);
  const maxBundleSize = options.maxBundleSize === undefined ? 262144 : options.maxBundleSize;
  const healthyAfterMs = options.healthyAfterMs === undefined ? 5000 : options.healthyAfterMs;
  const trialMs = options.trialMs === undefined ? 60000 : options.trialMs;
  let switched = false;

  const booted = bootState();
  if (booted && booted.trial) {
    setTimeout(() => {
      const record = readBootRecord();
      if (!app.isListening() || !record || !markHealthy(record)) return;
      booted.trial = false;
      if (booted.timer !== undefined) clearTimeout(booted.timer);
    }, healthyAfterMs);
  }

  app.get(path, () => Response.json(status()));
  app.post(path, guard((req: Request) => {
    if (switched) throw httpError(409, 'A new app is installed: the board is restarting');
    const previous = bootingApp();
    if (!previous) throw httpError(409, 'This app was not booted from Storage (npm run flash puts it there): there is no app to fall back to');
    if (req.headers['content-length'] === '0') throw httpError(400, 'The bundle is empty');
    return receiveFile(req, nextBundleName(previous)).then((stored) => {
      const sha256 = req.headers['x-content-sha256'];
      const bundle: AppBundle = { name: stored.storageName, size: stored.size, sha256: sha256 ? sha256.toLowerCase() : undefined };
      // Its code is in the boot code about to be rewritten (boot.ts LOADER).
      if (booted && booted.timer !== undefined) clearTimeout(booted.timer);
      switchTo(bundle, previous, trialMs);
      switched = true;
      setTimeout(() => E.reboot(), REBOOT_DELAY_MS);
      return Response.json({ installed: bundle, previous: previous, restartingInMs: REBOOT_DELAY_MS }, 202);
    });
  }), { streamBody: true, maxBodySize: maxBundleSize });
}
