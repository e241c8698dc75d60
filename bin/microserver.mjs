#!/usr/bin/env node
// microserver <command>: the package's command line. init scaffolds a project here; start,
// build and flash run the tools that do the work (tools/start.mjs, build.mjs, tools/flash.mjs);
// test type-checks the project and runs its tests with Node's test runner.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { typeCheck, ProjectError } from '../tools/project.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const TEMPLATE = join(ROOT, 'templates', 'init');
const TOOLS = { start: 'tools/start.mjs', build: 'build.mjs', flash: 'tools/flash.mjs' };

const USAGE = `usage: microserver <command> [options]     (microserver <command> --help for its options)

  init [dir]        a new project in dir (default: here): app.ts, www/, a test, tsconfig.json, espruino.json
  start [entry]     type-check, build and serve the app on http://127.0.0.1:8080/ (emulation, or ESPRUINO)
  build [entry]     type-check and build the app into one ES5 file for Espruino
  flash [entry]     type-check, build and put the app on a board (serial port or telnet)
  test [files]      type-check the project and run its tests (test/**/*.test.mjs)

${PACKAGE.name} ${PACKAGE.version}`;

const INIT_USAGE = `usage: microserver init [dir] [--force]

Writes a project into dir (created if missing; default: the current directory):
  app.ts             the app (routes, the www/ page, a WebSocket)
  www/index.html     its page, put in the board's Storage by \`npm run flash\`
  test/app.test.mjs  its test, with the TestClient (microserver-espruino/testing)
  tsconfig.json      TypeScript settings that know Espruino's globals and the package's types
  espruino.json      the entry, board, serial port and baud rate for \`npm run flash\`
  package.json       scripts start, test, build and flash (an existing one keeps its other fields)
Then: npm install && npm test && npm start

  --force  overwrite files that exist`;

const TEST_USAGE = `usage: microserver test [files...] [--no-check]

Type-checks the project (its tsconfig.json) and runs its tests with Node's test runner:
the given files, else every *.test.mjs and *.test.js under test/.

  --no-check  skip the type check`;

class UsageError extends Error {}

function init(argv) {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return console.log(INIT_USAGE);
  if (positionals.length > 1) throw new UsageError(`one folder only, got ${positionals.join(', ')}\n${INIT_USAGE}`);
  const dir = resolve(positionals[0] || '.');
  const files = templateFiles(TEMPLATE).map((file) => ({ from: join(TEMPLATE, file), to: join(dir, file === 'gitignore' ? '.gitignore' : file) }));
  const existing = files.filter((f) => existsSync(f.to)).map((f) => relative(dir, f.to));
  if (existing.length && !values.force) throw new UsageError(`${dir} already has ${existing.join(', ')} (--force overwrites)`);
  for (const { from, to } of files) {
    mkdirSync(dirname(to), { recursive: true });
    cpSync(from, to);
  }
  writePackageJson(dir);
  const where = relative(process.cwd(), dir);
  console.log(`A MicroServer project in ${dir}:\n  ${files.map((f) => relative(dir, f.to)).join('\n  ')}\n  package.json\n\n` +
    `${where ? `cd ${where} && ` : ''}npm install && npm test && npm start`);
}

/** The template's files, relative to it. */
function templateFiles(dir, prefix = '') {
  return readdirSync(dir).sort().flatMap((name) => statSync(join(dir, name)).isDirectory()
    ? templateFiles(join(dir, name), prefix + name + '/') : [prefix + name]);
}

/** Adds the scripts and the dependency on this package to dir/package.json (made if missing). */
function writePackageJson(dir) {
  const file = join(dir, 'package.json');
  const project = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { private: true };
  project.name ??= basename(dir).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+/, '') || 'microserver-app';
  project.version ??= '0.1.0';
  project.scripts = { ...project.scripts, start: 'microserver start', test: 'microserver test', build: 'microserver build', flash: 'microserver flash' };
  const declared = project.dependencies?.[PACKAGE.name] || project.devDependencies?.[PACKAGE.name];
  if (!declared) project.devDependencies = { ...project.devDependencies, [PACKAGE.name]: `^${PACKAGE.version}` };
  writeFileSync(file, JSON.stringify(project, null, 2) + '\n');
}

/** Every *.test.mjs / *.test.js under dir, sorted (node_modules left out). */
function testFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true }).map(String).filter((f) => /\.test\.m?js$/.test(f) && !f.split(/[\\/]/).includes('node_modules'))
    .sort().map((f) => join(dir, f));
}

function test(argv) {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { 'no-check': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return console.log(TEST_USAGE);
  if (!values['no-check'] && existsSync('tsconfig.json')) console.log(`type check: ${typeCheck()} files, no errors`);
  const files = positionals.length ? positionals : testFiles('test').map((f) => relative(process.cwd(), f));
  if (!files.length) throw new UsageError('no tests: none given, and no *.test.mjs under test/');
  return run([process.execPath, '--test', '--test-reporter=spec', ...files]);
}

/** Runs a command with this terminal; resolves with its exit status. */
function run([command, ...args]) {
  return new Promise((done) => {
    const child = spawn(command, args, { stdio: 'inherit' });
    // Ctrl-C reaches the child from the terminal; the child decides when to stop.
    process.on('SIGINT', () => {});
    process.on('SIGTERM', () => child.kill('SIGTERM'));
    child.on('exit', (status, signal) => done(signal ? 1 : status));
  });
}

async function main([command, ...argv]) {
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  if (command === '--version' || command === '-v') return console.log(PACKAGE.version);
  if (command === 'init') return init(argv);
  if (command === 'test') return test(argv);
  if (TOOLS[command]) return run([process.execPath, join(ROOT, TOOLS[command]), ...argv]);
  throw new UsageError(`unknown command "${command}"\n${USAGE}`);
}

main(process.argv.slice(2)).then((status) => process.exit(status || 0), (e) => {
  const known = e instanceof UsageError || e instanceof ProjectError || e.code?.startsWith('ERR_PARSE_ARGS');
  console.error(known ? `microserver: ${e.message}` : e);
  process.exit(known && !(e instanceof ProjectError) ? 2 : 1);
});
