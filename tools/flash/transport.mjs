// The line to the board: a serial port by its path (a USB adapter, a pty) or the
// telnet console at tcp://host:port. Both carry bytes unchanged: what is written is a
// Buffer of bytes, what is read is handed on as a latin1 string (one char per byte).
// Serial ports are opened and listed without udev, which Docker, WSL and ptys lack.
import net from 'node:net';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

export class TransportError extends Error {}

export function isTcpPort(port) {
  return /^tcp:\/\//.test(port);
}

/** Opens `port` and resolves with { name, write(bytes) → Promise, onData(fn), onClose(fn), close() }. */
export function openTransport(port, { baud, connectTimeoutMs = 10000 }) {
  return isTcpPort(port) ? openTcp(port, connectTimeoutMs) : openSerial(port, baud);
}

function wrap(name, writeRaw, closeRaw) {
  const dataListeners = [];
  const closeListeners = [];
  let closed = false;
  return {
    name,
    write: writeRaw,
    onData(fn) { dataListeners.push(fn); },
    onClose(fn) { closeListeners.push(fn); },
    get closed() { return closed; },
    close: closeRaw,
    // for the openers
    _data(text) { for (const fn of dataListeners) fn(text); },
    _closed(why) {
      if (closed) return;
      closed = true;
      for (const fn of closeListeners) fn(why);
    },
  };
}

function openTcp(port, connectTimeoutMs) {
  const m = port.match(/^tcp:\/\/([^:/]+|\[[^\]]+\]):(\d+)\/?$/);
  if (!m) throw new TransportError(`"${port}" is not tcp://host:port`);
  const host = m[1].replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(m[2]), host);
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TransportError(`no answer from ${port} within ${connectTimeoutMs / 1000} s (is the board on the network, telnet enabled?)`));
    }, connectTimeoutMs);
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(new TransportError(e.code === 'ECONNREFUSED'
        ? `nothing listens at ${port} (is the board's telnet console on, the address right?)`
        : `could not connect to ${port}: ${e.message}`));
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      const t = wrap(port,
        (bytes) => new Promise((done, fail) => socket.write(bytes, (e) => (e ? fail(e) : done()))),
        () => new Promise((done) => { if (socket.destroyed) return done(); socket.once('close', done); socket.end(); setTimeout(() => socket.destroy(), 500); }));
      socket.on('data', (d) => t._data(d.toString('latin1')));
      socket.on('error', () => {});
      socket.on('close', () => t._closed('the connection closed'));
      resolve(t);
    });
  });
}

async function openSerial(path, baud) {
  if (!existsSync(path)) {
    throw new TransportError(`no serial port ${path} (is the board plugged in? \`npm run flash -- --list\` shows the ports)`);
  }
  if (!statSync(path).isCharacterDevice()) throw new TransportError(`${path} is not a serial device`);
  let SerialPort;
  try {
    ({ SerialPort } = await import('serialport'));
  } catch (e) {
    throw new TransportError(`serial ports need the "serialport" package: ${e.message}`);
  }
  return new Promise((resolve, reject) => {
    // xon/xoff: the board may pause us while its input buffer is full.
    const sp = new SerialPort({ path, baudRate: baud, autoOpen: false, lock: true, xon: true, xoff: true, hupcl: false });
    sp.open((e) => {
      if (e) return reject(new TransportError(serialOpenError(path, e)));
      const write = (bytes) => new Promise((done, fail) => {
        sp.write(bytes);
        sp.drain((err) => (err ? fail(err) : done()));
      });
      const close = () => new Promise((done) => (sp.isOpen ? sp.close(() => done()) : done()));
      const t = wrap(path, write, close);
      sp.on('data', (d) => t._data(d.toString('latin1')));
      sp.on('error', () => {});
      sp.on('close', () => t._closed('the serial port closed (the board was reset or unplugged)'));
      resolve(t);
    });
  });
}

function serialOpenError(path, e) {
  const text = String(e && e.message);
  if (/lock|EBUSY|busy|Resource temporarily unavailable/i.test(text)) {
    return `${path} is busy: another program has it open (a serial monitor, the Web IDE, \`espruino\`, another flash?)`;
  }
  if (/EACCES|Permission denied/i.test(text)) {
    return `no permission to open ${path}: add your user to the "dialout" group (sudo usermod -aG dialout $USER, then log in again)`;
  }
  if (/ENOENT|No such file/i.test(text)) return `no serial port ${path} (unplugged?)`;
  return `could not open ${path}: ${text}`;
}

/**
 * Serial ports on this host, without udev: from /sys/class/tty on Linux (devices with a
 * driver; legacy ttyS ports only when they have a real UART), with USB vendor, product
 * and serial number where the kernel lists them; serialport's own listing elsewhere.
 */
export async function listPorts() {
  if (process.platform === 'linux' && existsSync('/sys/class/tty')) return listLinuxPorts();
  const { SerialPort } = await import('serialport');
  return (await SerialPort.list()).map((p) => ({ path: p.path, description: [p.manufacturer, p.serialNumber && `serial ${p.serialNumber}`].filter(Boolean).join(', ') }));
}

function readSys(file) {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

function listLinuxPorts() {
  const byId = new Map();
  if (existsSync('/dev/serial/by-id')) {
    for (const link of readdirSync('/dev/serial/by-id')) {
      try { byId.set(realpathSync(join('/dev/serial/by-id', link)), link); } catch {}
    }
  }
  const ports = [];
  for (const name of readdirSync('/sys/class/tty').sort()) {
    const sys = join('/sys/class/tty', name);
    if (!existsSync(join(sys, 'device', 'driver'))) continue;
    const driver = basename(realpathSync(join(sys, 'device', 'driver')));
    // serial8250 lists 4-32 ttyS ports whether or not a UART is there; a real one has a type.
    if (driver === 'serial8250' && !(Number(readSys(join(sys, 'type'))) > 0)) continue;
    const path = join('/dev', name);
    if (!existsSync(path)) continue;
    let usb = '';
    // A USB serial device: its USB node (with idVendor) is a few levels above.
    let dir = realpathSync(join(sys, 'device'));
    for (let i = 0; i < 4 && dir !== '/'; i++, dir = join(dir, '..')) {
      if (existsSync(join(dir, 'idVendor'))) {
        const parts = [readSys(join(dir, 'manufacturer')), readSys(join(dir, 'product'))].filter(Boolean).join(' ');
        usb = `USB ${readSys(join(dir, 'idVendor'))}:${readSys(join(dir, 'idProduct'))}${parts ? ' ' + parts : ''}`;
        const serial = readSys(join(dir, 'serial'));
        if (serial) usb += `, serial ${serial}`;
        break;
      }
    }
    const description = [usb || driver, byId.get(path) && `(/dev/serial/by-id/${byId.get(path)})`].filter(Boolean).join(' ');
    ports.push({ path, description });
  }
  return ports;
}
