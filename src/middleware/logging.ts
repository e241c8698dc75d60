// Logs one line per request: ip | METHOD path | status | duration.
import { Request } from '../http/request';
import { Response } from '../http/response';
import { Logger, ConsoleLogger, NoOpLogger } from '../log/logger';
import { now } from '../platform/clock';

export class LoggingMiddleware {
  /** With no logger given, the app's logger is used once the middleware is added (else the console). */
  constructor(public logger?: Logger) {}

  useLogger(logger: Logger): void {
    if (!this.logger) this.logger = logger;
  }

  before(req: Request): void {
    req.startedAt = now();
  }

  after(req: Request, res: Response): void {
    if (this.logger instanceof NoOpLogger) return; // nothing to build the line for
    const ms = Math.round((now() - (req.startedAt as number)) * 10) / 10;
    if (!this.logger) this.logger = new ConsoleLogger();
    this.logger.log(req.ip + ' | ' + req.method + ' ' + req.path + ' | ' + res.status + ' | ' + ms + 'ms', 'INFO');
  }
}
