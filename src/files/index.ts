// The files plug-in: uploads streamed into Storage, replaced whole or not at all.
//   import { mountFiles } from '../src/files';
//   mountFiles(app, { guard: auth.guard.bind(auth) });
// Its parts serve other uses too: MultipartParser takes any multipart/form-data
// body as it streams; FileWriter stores any streamed bytes as a file.
export { mountFiles, receiveFile } from './routes';
export type { FilesOptions } from './routes';
export { MultipartParser, multipartBoundary } from './multipart';
export type { PartInfo, PartReceiver, MultipartLimits } from './multipart';
export { FileWriter, findFile, listFiles, readFilePiece, removeFile, tidyFiles, freeStorage, MAX_FILE_NAME } from './store';
export type { StoredFile } from './store';
