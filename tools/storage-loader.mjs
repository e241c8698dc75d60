// Running a bundle from Storage on Espruino's Linux build, as a board runs saved code.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes a script that copies the bundle into Storage and runs it from there, as a board runs
 * saved code: the function text stays in flash. Loaded into RAM, the library alone would not
 * fit a C3's 4095 JsVars. (After load(name) the Linux build's sockets never accept: eval at the
 * top level instead.) Returns the script's path, to give the interpreter instead of the bundle.
 */
export function storageLoader(bundlePath, workDir) {
  const loader = join(workDir, 'load-from-storage.js');
  writeFileSync(loader, copyIntoStorage(bundlePath, 'bundle.js') + 'eval(require("Storage").read("bundle.js"));\n');
  return loader;
}

/** Script text that copies the file at `filePath` into Storage as `name`, a KB at a time (the file may not fit the heap). */
export function copyIntoStorage(filePath, name) {
  return `(function (path, name) {
  var S = require("Storage"), file = E.openFile(path, "r"), size = require("fs").statSync(path).size, at = 0, piece;
  S.erase(name);
  while ((piece = file.read(1024)) !== undefined && piece.length) { S.write(name, piece, at, size); at += piece.length; }
  file.close();
})(${JSON.stringify(filePath)}, ${JSON.stringify(name)});
`;
}
