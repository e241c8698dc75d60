// Debian's Chromium driven by playwright-core (which never downloads a browser
// of its own), for tests of pages as users see them.
import fs from 'node:fs';
import { describe, test } from 'node:test';

export const CHROMIUM = '/usr/bin/chromium';
export const HAS_CHROMIUM = fs.existsSync(CHROMIUM);
export const NO_CHROMIUM = `${CHROMIUM} not found: install Debian's chromium package: apt-get install chromium`;

// Headless, and nothing that reaches out to Google's services (this network refuses them).
// playwright's launch() gives every run a fresh, empty --user-data-dir of its own.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launches Chromium and opens a page. Returns { browser, page, errors }: errors
 * collects the page's console errors and uncaught exceptions.
 */
export async function openBrowserPage(viewport = { width: 1280, height: 800 }) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') {
      const { url, lineNumber } = message.location();
      errors.push(`console.error: ${message.text()}${url ? ` (${url}:${lineNumber})` : ''}`);
    }
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.stack || error.message}`));
  return { browser, page, errors };
}

/**
 * describe(title, options, body) when Chromium is installed; else one skipped
 * test (not a skipped suite, so that the summary counts it) saying how to install it.
 */
export function describeInChromium(title, options, body) {
  if (!HAS_CHROMIUM) test(title, { skip: NO_CHROMIUM }, () => {});
  else describe(title, options, body);
}
