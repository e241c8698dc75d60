// Loggers: anything with log(message, level) will do.
import { logTimestamp } from '../platform/clock';
import { MAX_STORAGE_FILE_NAME, StorageFile, openFile } from '../platform/storage';

export type LogLevel = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

export interface Logger {
  log(message: string, level?: LogLevel): void;
}

function formatLine(message: string, level: LogLevel): string {
  return '[' + level + '] ' + logTimestamp() + ' | ' + message;
}

/** Prints "[INFO] 2024-01-15 10:30:45 | message" to the console. */
export class ConsoleLogger implements Logger {
  log(message: string, level: LogLevel = 'INFO'): void {
    console.log(formatLine(message, level));
  }
}

/** Discards everything. */
export class NoOpLogger implements Logger {
  log(): void {}
}

/**
 * Appends lines to a Storage file. When the file would pass `maxSize` bytes it
 * becomes "<name>.1" (replacing the previous one) and a new file starts, so
 * the log never takes more than about twice `maxSize` of flash.
 */
export class FileLogger implements Logger {
  private file: StorageFile | null = null;
  private readonly backupName: string;

  constructor(public readonly filepath: string, public readonly maxSize = 10240) {
    this.backupName = filepath + '.1';
    if (!filepath || this.backupName.length > MAX_STORAGE_FILE_NAME) {
      throw new Error('FileLogger: Storage file name "' + filepath + '" must be 1-' + (MAX_STORAGE_FILE_NAME - 2) + ' characters');
    }
    if (!(maxSize > 0)) throw new Error('FileLogger: maxSize must be a positive number of bytes');
  }

  log(message: string, level: LogLevel = 'INFO'): void {
    const line = formatLine(message, level) + '\n';
    if (!this.file) this.file = openFile(this.filepath, 'a');
    if (this.file.getLength() + line.length > this.maxSize) this.rotate();
    (this.file as StorageFile).write(line);
  }

  private rotate(): void {
    openFile(this.backupName, 'r').erase();
    const backup = openFile(this.backupName, 'w');
    const current = openFile(this.filepath, 'r');
    let piece = current.read(256);
    while (piece !== undefined) {
      backup.write(piece);
      piece = current.read(256);
    }
    current.erase();
    this.file = openFile(this.filepath, 'a');
  }
}
