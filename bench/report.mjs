// The benchmark's outputs: a table on the console, results.json and RESULTS.md.
import fs from 'node:fs';
import path from 'node:path';

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** An error's message on one line, short enough for a table cell. */
export function errorSummary(error) {
  const text = error.message.replace(/\s*\n\s*/g, ' / ');
  return text.length > 300 ? text.slice(0, 299) + '…' : text;
}

/** A number for the table: integers above 100, else up to 3 significant digits. */
export function formatNumber(value) {
  if (value === null || value === undefined) return '—';
  if (Math.abs(value) >= 100) return String(Math.round(value));
  return String(Number(value.toPrecision(3)));
}

function formatValue(value, unit) {
  return value === null || value === undefined ? '—' : `${formatNumber(value)} ${unit}`;
}

/** The table's cells of a figure row. */
function cells(figure) {
  return {
    figure: figure.figure,
    value: figure.error ? `failed: ${figure.error}` : figure.above !== undefined ? `> ${formatValue(figure.above, figure.unit)}` : formatValue(figure.value, figure.unit),
    reference: figure.reference ? `${formatValue(figure.reference.value, figure.unit)} (${figure.reference.name})` : '—',
    ratio: figure.ratio === null || figure.ratio === undefined ? '—' : `${formatNumber(figure.ratio)} ×`,
    target: figure.target ? figure.target.text : '—',
    met: figure.met === null || figure.met === undefined ? '—' : figure.met ? 'yes' : 'NO',
    build: figure.build,
    version: figure.version || '—',
    date: figure.date,
  };
}

const COLUMNS = [
  ['figure', 'figure'], ['value', 'value'], ['reference', 'reference'], ['ratio', 'ratio'], ['target', 'target'],
  ['met', 'met?'], ['build', 'build'], ['version', 'interpreter version'], ['date', 'date'],
];

/** A plain-text table of the figures (without the date and version columns) for the console. */
export function consoleTable(figures) {
  const columns = COLUMNS.filter(([key]) => key !== 'date' && key !== 'version');
  const rows = figures.map(cells);
  const widths = columns.map(([key, title]) => Math.min(60, Math.max(title.length, ...rows.map((row) => row[key].length))));
  const line = (values) => values.map((value, i) => (value.length > widths[i] ? value.slice(0, widths[i] - 1) + '…' : value.padEnd(widths[i]))).join(' | ');
  return [line(columns.map(([, title]) => title)), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map((row) => line(columns.map(([key]) => row[key])))].join('\n');
}

function markdown(results) {
  const escape = (text) => String(text).replace(/\|/g, '\\|');
  const lines = [
    '# Benchmark results',
    '',
    `Measured by \`npm run bench${results.config === 'quick' ? ' -- --quick' : ''}\` (bench/run.mjs) on ${results.date}: ${results.host.cpus} CPU cores, load average ${results.host.loadAverage} at the start.`,
    'Compare ratios measured in one run, not absolute figures from different hosts or runs.',
    '',
    `| ${COLUMNS.map(([, title]) => title).join(' | ')} |`,
    `| ${COLUMNS.map(() => '---').join(' | ')} |`,
    ...results.figures.map((figure) => {
      const row = cells(figure);
      return `| ${COLUMNS.map(([key]) => escape(row[key])).join(' | ')} |`;
    }),
    '',
    '## Builds',
    '',
    ...(Object.keys(results.builds).length ? Object.entries(results.builds).map(([role, build]) => `- **${role}**: ${build.label}`) : ['No interpreter: sizes only.']),
    '',
    '## How each figure was measured',
    '',
    ...results.figures.map((figure) => `- **${figure.figure}**: ${figure.detail || ''}`.trimEnd()),
    '',
    '## Notes',
    '',
    ...results.notes.map((note) => `- ${note}`),
    '',
  ];
  return lines.join('\n');
}

/** Writes results.json and RESULTS.md into `dir`. */
export function writeResults(dir, results) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, 'RESULTS.md'), markdown(results));
}
