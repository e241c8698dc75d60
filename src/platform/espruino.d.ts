// Declarations for the parts of Espruino's API that @types/espruino lacks or
// types as something else (it declares `net` as a global namespace, but the
// device needs require("net")). Only src/platform/ uses these.

declare function require(module: 'net'): EspruinoNet;
declare function require(module: 'crypto'): { SHA1(data: string | Uint8Array): ArrayBuffer; SHA256?(data: string | Uint8Array): ArrayBuffer };
declare function require(module: 'Storage'): EspruinoStorage;
declare function require(module: string): any;

declare function setTimeout(fn: () => void, ms?: number): number;
declare function setInterval(fn: () => void, ms?: number): number;

declare const console: { log(...args: any[]): void };
declare const process: {
  env: { VERSION: string; BOARD?: string };
  memory(gc?: boolean): { free: number; usage: number; total: number };
};

// Board defaults baked in by build.mjs (--board and --port).
declare const __BOARD__: { [key: string]: number | string | undefined };

declare namespace E {
  function toString(data: any): string;
  function isUTF8(text: string): boolean;
  function asUTF8(bytes: string): string;
  function fromUTF8(text: string): string;
  function CRC32(data: string): number;
  function reboot(): void;
  function getAddressOf(value: any, flatOnly: boolean): number;
  function toUint8Array(data: any): Uint8Array;
}

interface EspruinoSocket {
  on(event: 'data', listener: (data: string) => void): void;
  on(event: 'end' | 'close' | 'drain', listener: () => void): void;
  write(data: string): boolean;
  end(): void;
  remoteAddress?: string;
}

interface EspruinoNetServer {
  listen(port: number): EspruinoNetServer;
  close(): void;
}

interface EspruinoNet {
  createServer(onConnection: (socket: EspruinoSocket) => void): EspruinoNetServer;
  connect(options: { host: string; port: number }, onConnect: () => void): EspruinoSocket;
}

interface EspruinoStorageFile {
  write(data: string): void;
  read(length: number): string | undefined;
  getLength(): number;
  erase(): void;
}

interface EspruinoStorage {
  read(name: string, offset?: number, length?: number): string | undefined;
  readJSON(name: string, noExceptions: boolean): any;
  write(name: string, data: string, offset?: number, size?: number): boolean;
  erase(name: string): void;
  list(pattern?: RegExp | string): string[];
  open(name: string, mode: 'r' | 'w' | 'a'): EspruinoStorageFile;
}
