// The public API.
export { MicroServer } from './server';
export type { ServerOptions } from './server';
export { Request } from './http/request';
export { Response } from './http/response';
export { httpError } from './http/errors';
export type { HttpError } from './http/errors';
export type { QueryParams } from './http/url';
export { Router } from './router';
export type { RouteInfo } from './router';
export type { Handler, Middleware, MiddlewareFunction, MiddlewareObject, Next } from './middleware/types';
export { CORSMiddleware } from './middleware/cors';
export type { CORSOptions } from './middleware/cors';
export { LoggingMiddleware } from './middleware/logging';
export { ConsoleLogger, FileLogger, NoOpLogger } from './log/logger';
export type { Logger, LogLevel } from './log/logger';
