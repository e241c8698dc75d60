// What the CLI's commands share about the project they run in: its entry, its settings
// (espruino.json), and the type check of its TypeScript with the package's types.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CONFIG_FILE = 'espruino.json';
const DEFAULT_ENTRY = 'app.ts';

export class ProjectError extends Error {}

/** espruino.json in `cwd` as an object ({} when there is none); a broken one is an error naming it. */
export function projectConfig(cwd = process.cwd()) {
  const file = join(cwd, CONFIG_FILE);
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ProjectError(`${file}: ${e.message}`);
  }
}

/**
 * The app to build when the command line names none: espruino.json's "entry", else app.ts,
 * else `fallback`; with none of them, an error saying how to name one.
 */
export function defaultEntry(cwd = process.cwd(), fallback = undefined) {
  const entry = projectConfig(cwd).entry || (existsSync(join(cwd, DEFAULT_ENTRY)) ? DEFAULT_ENTRY : fallback);
  if (!entry) throw new ProjectError(`no ${DEFAULT_ENTRY} here and no "entry" in ${CONFIG_FILE}: name the app's entry file`);
  return entry;
}

/**
 * The compiler options and files to check: the tsconfig.json nearest to `from` (a file or a
 * folder), else the one `microserver init` writes (ES5 lib, Espruino's types, strict; not the
 * repository's own, whose unused-name checks are for the library's code).
 */
function loadProject(from) {
  const configFile = ts.findConfigFile(from, ts.sys.fileExists);
  const host = { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new ProjectError(formatDiagnostics([d])); } };
  const parsed = ts.getParsedCommandLineOfConfigFile(configFile || join(PACKAGE_ROOT, 'templates', 'init', 'tsconfig.json'), {}, host);
  if (parsed.errors.length) throw new ProjectError(formatDiagnostics(parsed.errors));
  return { options: { ...parsed.options, noEmit: true }, fileNames: configFile ? parsed.fileNames : [] };
}

/** `file:line:column: error TSnnnn: message`, one diagnostic a line, paths relative to the current directory. */
export function formatDiagnostics(diagnostics) {
  return diagnostics.map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file) return `error TS${d.code}: ${message}`;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${relative(process.cwd(), d.file.fileName)}:${line + 1}:${character + 1}: error TS${d.code}: ${message}`;
  }).join('\n');
}

/**
 * Type-checks an app (`entry`: it and what it imports) or, without one, the whole project of
 * the tsconfig.json in `cwd`, with the package's types. Errors in the package's own sources are
 * left out (a stricter user setting must not fail the library). Throws a ProjectError listing
 * the errors as `file:line:column: ...`; returns the number of files checked.
 */
export function typeCheck({ entry, cwd = process.cwd() } = {}) {
  if (entry && !existsSync(resolve(cwd, entry))) throw new ProjectError(`entry not found: ${entry}`);
  const project = loadProject(entry ? dirname(resolve(cwd, entry)) : cwd);
  const rootNames = entry ? [resolve(cwd, entry)] : project.fileNames;
  const program = ts.createProgram(rootNames, project.options);
  const library = join(PACKAGE_ROOT, 'src') + sep;
  const errors = ts.getPreEmitDiagnostics(program).filter((d) =>
    d.category === ts.DiagnosticCategory.Error && !(d.file && resolve(d.file.fileName).startsWith(library) && !rootNames.includes(resolve(d.file.fileName))));
  if (errors.length) throw new ProjectError(`type check failed (--no-check skips it):\n${formatDiagnostics(errors)}`);
  return program.getRootFileNames().length;
}
