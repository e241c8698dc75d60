// A progress bar per step: bytes and seconds, redrawn in place on a terminal; a line at
// the end of the step elsewhere (CI logs, pipes), so logs stay short.
export function progressBar(label, total, { stream = process.stderr } = {}) {
  const started = Date.now();
  const live = !!stream.isTTY;
  const width = 24;
  let last = 0;
  const line = (done) => {
    const filled = total ? Math.round((done / total) * width) : width;
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    return `  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${kb(done)}/${kb(total)} ${seconds} s  ${label}`;
  };
  return {
    update(done) {
      if (!live || Date.now() - last < 100) return;
      last = Date.now();
      stream.write('\r' + line(done) + '\x1b[K');
    },
    end(done = total, note = '') {
      stream.write((live ? '\r' : '') + line(done) + (note ? ` (${note})` : '') + (live ? '\x1b[K' : '') + '\n');
    },
  };
}

export function kb(bytes) {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`;
}
