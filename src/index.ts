// The core's public API: the app, requests and responses, routing, middleware
// composition, limits and loggers. Plug-ins are imported from their own folders:
//   src/websocket (webSocket, WebSocketHub), src/sse (sse, SSEChannel, SSEHub),
//   src/static (mountStatic, sendFile), src/middleware (CORS, logging, auth,
//   security headers), src/wifi (startWifi).
// Espruino's globals, for apps that import the package:
/// <reference path="./platform/espruino.d.ts" />
export { MicroServer } from './server';
export type { ServerOptions, RouteOptions } from './server';
export type { BodySink } from './http/body';
export { Request } from './http/request';
export type { PathParams, RouteParams } from './http/request';
export { Response } from './http/response';
export type { ProtocolHandler, Transport, UpgradeContext } from './http/response';
export { httpError } from './http/errors';
export type { HttpError } from './http/errors';
export type { QueryParams } from './http/url';
export { safeJsonParse } from './platform/text';
export type { StreamSource, Chunk } from './http/stream';
export type { MaybePromise } from './http/maybe';
export { Router } from './router';
export type { RouteInfo } from './router';
export { compose } from './pipeline';
export type { Handler, Middleware, MiddlewareFunction, MiddlewareObject, MiddlewareHooks, Next } from './pipeline';
export { ConsoleLogger, FileLogger, NoOpLogger } from './log/logger';
export type { Logger, LogLevel } from './log/logger';
