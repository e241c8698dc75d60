// The OTA plug-in: a new app bundle over HTTP, booted on trial, rolled back
// when it does not come up healthy.
//   import { mountOta } from '../src/ota';
//   mountOta(app, { guard: (handler) => auth.guard(handler) });
// The app must have been booted from Storage (npm run flash puts it there),
// and every app sent must mount the plug-in too: it is what keeps it.
export { mountOta } from './routes';
export type { OtaOptions } from './routes';
export { readBootRecord, bootingApp, lastFailure, BOOT_TRIES } from './boot';
export type { AppBundle, BootRecord, BootFailure } from './boot';
