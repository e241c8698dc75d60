// Espruino's Storage (flash on a board, ./espruino.flash on Linux).

/** Longest name a StorageFile (open()) may have: Storage's 28 minus the chunk number. */
export const MAX_STORAGE_FILE_NAME = 27;

export type StorageFile = EspruinoStorageFile;

export function openFile(name: string, mode: 'r' | 'w' | 'a'): StorageFile {
  return require('Storage').open(name, mode);
}
