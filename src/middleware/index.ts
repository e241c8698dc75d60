// The middleware plug-ins: each is added with app.addMiddleware(...).
//   import { CORSMiddleware, LoggingMiddleware } from '../src/middleware';
// Espruino's globals, for apps that import the package:
/// <reference path="../platform/espruino.d.ts" />
export { CORSMiddleware } from './cors';
export type { CORSOptions } from './cors';
export { LoggingMiddleware } from './logging';
export { BasicAuthMiddleware, BearerAuthMiddleware, constantTimeEqual } from './auth';
export type { AuthPaths, AuthVerdict, BasicAuthOptions, BearerAuthOptions } from './auth';
export { SecurityHeadersMiddleware } from './security-headers';
export type { SecurityHeadersOptions } from './security-headers';
