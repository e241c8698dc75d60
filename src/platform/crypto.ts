// SHA-1 for the WebSocket handshake: Espruino's crypto module returns an ArrayBuffer.

/** SHA-1 of a byte string, base64-encoded. */
export function sha1Base64(bytes: string): string {
  return btoa(E.toString(new Uint8Array(require('crypto').SHA1(bytes))));
}
