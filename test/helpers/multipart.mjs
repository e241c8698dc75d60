// multipart/form-data bodies for upload tests.

/**
 * A multipart/form-data body of `parts`: { field = 'file', filename, type, data (Buffer or latin1 string) }.
 * A part with a filename gets Content-Type `type` (default application/octet-stream); a field gets one only when `type` is set.
 * `preamble` and `epilogue` go before the first and after the closing delimiter.
 * Returns { body: Buffer, contentType, boundary }.
 */
export function multipart(parts, { boundary = '----MicroServerTest' + Math.random().toString(16).slice(2), preamble = '', epilogue = '\r\n' } = {}) {
  const pieces = [Buffer.from(preamble, 'latin1')];
  for (const part of parts) {
    const disposition = `form-data; name="${part.field || 'file'}"` + (part.filename !== undefined ? `; filename="${part.filename}"` : '');
    const type = part.type || (part.filename !== undefined ? 'application/octet-stream' : undefined);
    pieces.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n` + (type ? `Content-Type: ${type}\r\n` : '') + '\r\n', 'latin1'));
    pieces.push(Buffer.isBuffer(part.data) ? part.data : Buffer.from(part.data, 'latin1'));
    pieces.push(Buffer.from('\r\n', 'latin1'));
  }
  pieces.push(Buffer.from(`--${boundary}--${epilogue}`, 'latin1'));
  return { body: Buffer.concat(pieces), contentType: `multipart/form-data; boundary=${boundary}`, boundary };
}
