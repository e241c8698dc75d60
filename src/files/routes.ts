// The files routes: uploads streamed into Storage (multipart POST or raw PUT),
// downloads, a listing and deletion. Every upload goes through a FileWriter,
// so a file is replaced whole or not at all (see store.ts).
import { MicroServer } from '../server';
import { Request } from '../http/request';
import { Response } from '../http/response';
import { Handler } from '../pipeline';
import { httpError } from '../http/errors';
import { MultipartParser, PartInfo, PartReceiver, multipartBoundary } from './multipart';
import { FileWriter, StoredFile, findFile, listFiles, readFilePiece, removeFile, tidyFiles, freeStorage, checkFileName } from './store';

export interface FilesOptions {
  /** Where the routes go (default "/files"). */
  prefix?: string;
  /** Largest file in bytes (413 above it). Default 262144. */
  maxFileSize?: number;
  /** Most files one multipart upload may carry (413 above it). Default 8. */
  maxFiles?: number;
  /** Wraps the routes that change files (POST, PUT, DELETE), e.g. an auth middleware's guard. */
  guard?: (handler: Handler) => Handler;
  /** Also guards the routes that read (GET). */
  guardReads?: boolean;
}

/** Bytes read from Storage per piece of a download. */
const DOWNLOAD_PIECE = 512;
/** Largest plain field of a multipart upload (such as "sha256"). */
const MAX_FIELD = 256;
const SHA256_HEX = /^[0-9A-Fa-f]+$/;

function sha256Field(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.length !== 64 || !SHA256_HEX.test(value)) throw httpError(400, 'A SHA-256 is 64 hex digits');
  return value;
}

const DIGITS = /^[0-9]+$/;

function sizeField(value: string): number {
  if (!DIGITS.test(value) || value.length > 9) throw httpError(400, 'A size is a number of bytes');
  return parseInt(value, 10);
}

function described(file: StoredFile): { name: string; size: number } {
  return { name: file.name, size: file.size };
}

/**
 * Takes a multipart body: each file part (its filename names it) goes into a
 * FileWriter as it arrives and is committed at its closing boundary. Plain
 * fields before a file describe it: "size" (its length in bytes: exactly that
 * much Storage is taken, and the length is checked) and "sha256" (64 hex
 * digits, checked before the commit). Without a size, a file takes Storage for
 * all of the body still to come (Storage files cannot shrink).
 */
class UploadReceiver implements PartReceiver {
  stored: StoredFile[] = [];
  private writer: FileWriter | null = null;
  private field: string | null = null;
  private fieldValue = '';
  private sha256: string | undefined;
  private size: number | undefined;
  private files = 0;
  /** Set once the parser exists: how many body bytes it has not consumed yet bounds the part's size. */
  parser: MultipartParser | null = null;

  constructor(private bodyLength: number, private maxFileSize: number, private maxFiles: number) {}

  partBegins(part: PartInfo): void {
    if (part.filename === null) {
      this.field = part.name;
      this.fieldValue = '';
      return;
    }
    if (++this.files > this.maxFiles) throw httpError(413, 'More than ' + this.maxFiles + ' files in one upload');
    const left = this.bodyLength - (this.parser as MultipartParser).consumed;
    const size = this.size;
    if (size !== undefined && size > this.maxFileSize) throw httpError(413, part.filename + ' is larger than ' + this.maxFileSize + ' bytes');
    this.writer = new FileWriter(part.filename, size !== undefined ? size : left < this.maxFileSize ? left : this.maxFileSize);
  }

  partData(bytes: string): void {
    if (this.writer) {
      this.writer.write(bytes);
      return;
    }
    if (this.fieldValue.length + bytes.length > MAX_FIELD) throw httpError(413, 'Field ' + this.field + ' is longer than ' + MAX_FIELD + ' bytes');
    this.fieldValue += bytes;
  }

  partEnds(): void {
    const writer = this.writer;
    if (!writer) {
      if (this.field === 'sha256') this.sha256 = sha256Field(this.fieldValue);
      else if (this.field === 'size') this.size = sizeField(this.fieldValue);
      this.field = null;
      return;
    }
    this.writer = null;
    const sha256 = this.sha256;
    const size = this.size;
    this.sha256 = this.size = undefined;
    this.stored.push(writer.commit(size, sha256));
  }

  bodyEnds(): void {
    if (!this.stored.length) throw httpError(400, 'The upload holds no file part');
  }

  abort(): void {
    if (this.writer) this.writer.abort();
    this.writer = null;
  }
}

/** The body's announced length; an upload must have one (its Storage is taken before the bytes arrive). */
function announcedLength(req: Request): number {
  const length = req.headers['content-length'];
  if (length === undefined) throw httpError(411, 'An upload needs a Content-Length');
  return parseInt(length, 10);
}

function upload(req: Request, maxFileSize: number, maxFiles: number): Promise<Response> {
  const boundary = multipartBoundary(req.headers['content-type']);
  if (boundary === null) throw httpError(400, 'POST a multipart/form-data body (or PUT the bytes to /files/<name>)');
  const length = announcedLength(req);
  // The body holds the files and a little framing: more than all free Storage cannot fit, so refuse before reading.
  if (length > freeStorage()) throw httpError(507, 'Not enough free Storage: the upload is ' + length + ' bytes, ' + freeStorage() + ' free');
  const receiver = new UploadReceiver(length, maxFileSize, maxFiles);
  const parser = new MultipartParser(boundary, receiver, { maxPartSize: maxFileSize, maxParts: maxFiles * 2 + 8 });
  receiver.parser = parser;
  return req.receive(parser).then(() => Response.json({ stored: receiver.stored.map(described) }, 201));
}

/**
 * Stores a raw request body (a route with streamBody) as the file `name`,
 * replaced whole or not at all: it needs a Content-Length, and an
 * X-Content-SHA256 header (64 hex digits) is checked when sent.
 */
export function receiveFile(req: Request, name: string): Promise<StoredFile> {
  const length = announcedLength(req);
  // Checked before the FileWriter exists: it holds the name until it commits or aborts.
  const sha256 = sha256Field(req.headers['x-content-sha256']);
  const writer = new FileWriter(name, length);
  return req.receive({
    write: (bytes) => writer.write(bytes),
    end: () => {},
    abort: () => writer.abort(),
  }).then(() => writer.commit(length, sha256));
}

function put(req: Request, name: string): Promise<Response> {
  return receiveFile(req, name).then((file) => Response.json({ stored: [described(file)] }, 201));
}

/** The stored bytes of `name`, with Content-Length, a piece per socket drain. */
function download(name: string): Response {
  checkFileName(name);
  const file = findFile(name);
  if (!file) return Response.error('Not Found', 404);
  let at = 0;
  const res = Response.stream(() => {
    if (at >= file.size) return undefined;
    const piece = readFilePiece(file, at, Math.min(DOWNLOAD_PIECE, file.size - at));
    at += piece.length;
    return piece;
  }, 'application/octet-stream');
  res.length = file.size;
  return res.addHeader('Content-Disposition', 'attachment; filename="' + name + '"');
}

/**
 * Adds the files routes to `app` and tidies what a power loss may have left
 * half-written. Under `prefix` (default /files):
 *   GET    /files          {"files": [{name, size}], "free": bytes}
 *   GET    /files/<name>   the stored bytes
 *   POST   /files          multipart/form-data: each file part stored under its filename; 201 {"stored": [...]}
 *   PUT    /files/<name>   the raw body stored as <name> (X-Content-SHA256: hex, optional); 201
 *   DELETE /files/<name>   204, or 404
 */
export function mountFiles(app: MicroServer, options: FilesOptions = {}): void {
  const prefix = options.prefix === undefined ? '/files' : options.prefix;
  const maxFileSize = options.maxFileSize === undefined ? 262144 : options.maxFileSize;
  const maxFiles = options.maxFiles === undefined ? 8 : options.maxFiles;
  const guard = options.guard || ((handler: Handler) => handler);
  const guardRead = options.guardReads ? guard : (handler: Handler) => handler;
  tidyFiles();
  // A multipart body carries its files and some framing for each.
  const bodyLimit = maxFiles * (maxFileSize + 1024);
  app.get(prefix, guardRead(() => Response.json({ files: listFiles().map(described), free: freeStorage() })));
  app.get(prefix + '/<name>', guardRead((req) => download(req.pathParams.name as string)));
  app.post(prefix, guard((req) => upload(req, maxFileSize, maxFiles)), { streamBody: true, maxBodySize: bodyLimit });
  app.put(prefix + '/<name>', guard((req) => put(req, req.pathParams.name as string)), { streamBody: true, maxBodySize: maxFileSize });
  app.route(prefix + '/<name>', ['DELETE'], guard((req) => {
    const name = req.pathParams.name as string;
    checkFileName(name);
    return removeFile(name) ? new Response(null, 204) : Response.error('Not Found', 404);
  }));
}
