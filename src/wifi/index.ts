// The Wi-Fi plug-in: startWifi(app) joins the saved network (or opens a set-up
// access point with a captive page), then starts the app.
//   import { startWifi } from '../src/wifi';
// Espruino's globals, for apps that import the package:
/// <reference path="../platform/espruino.d.ts" />
export { startWifi } from './bootstrap';
export type { WifiOptions } from './bootstrap';
export type { WifiStatus } from './portal';
