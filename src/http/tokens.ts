// Comma-separated header values (RFC 9110 §5.6.1): Connection, Upgrade,
// Accept-Encoding, Sec-WebSocket-Protocol.

/** True when parameters (lowercase, after the ";") give a weight of zero (RFC 9110 §12.4.2): "gzip;q=0" refuses gzip. */
function zeroWeight(params: string): boolean {
  const list = params.split(';');
  for (let i = 0; i < list.length; i++) {
    const param = list[i].trim();
    if (param.substring(0, 2) === 'q=' && parseFloat(param.substring(2)) === 0) return true;
  }
  return false;
}

/**
 * The lowercase elements of a comma-separated header value, trimmed,
 * parameters (";q=0.8") dropped; an element weighted q=0 is left out.
 */
export function headerTokens(value: string | undefined): string[] {
  if (value === undefined) return [];
  const items = value.toLowerCase().split(',');
  const tokens: string[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const semicolon = item.indexOf(';');
    if (semicolon < 0) tokens.push(item.trim());
    else if (!zeroWeight(item.substring(semicolon + 1))) tokens.push(item.substring(0, semicolon).trim());
  }
  return tokens;
}

/** True when a comma-separated header value lists `token` (given in lowercase). A missing header answers at once: most requests have none of these. */
export function hasHeaderToken(value: string | undefined, token: string): boolean {
  return value !== undefined && headerTokens(value).indexOf(token) >= 0;
}
