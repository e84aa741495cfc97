// Shared helpers of the browser tests: Debian's Chromium through playwright-core, page checks
// (valid HTML, a label on every control, no sideways scrolling), screenshots.
import { chromium } from 'playwright-core';
import { HtmlValidate } from 'html-validate';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

const validator = new HtmlValidate({
  extends: ['html-validate:standard'],
  rules: {
    // Inline <style> is how the server-rendered pages carry their CSS (no build step).
    'no-inline-style': 'off',
  },
});

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    headless: true,
  });
}

export class Checker {
  constructor(name) {
    this.dir = join(process.env.SHOTS_DIR || 'target/browser-screenshots', name);
    mkdirSync(this.dir, { recursive: true });
    this.n = 0;
    this.checked = [];
  }

  async shot(page, label) {
    this.n += 1;
    const file = join(this.dir, `${String(this.n).padStart(2, '0')}-${label}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  }

  async shotOf(locator, label) {
    this.n += 1;
    const file = join(this.dir, `${String(this.n).padStart(2, '0')}-${label}.png`);
    await locator.screenshot({ path: file });
    return file;
  }

  // Valid HTML, every control labelled, no horizontal scrolling at this width.
  async check(page, label) {
    const html = await page.content();
    const report = await validator.validateString(html);
    if (!report.valid) {
      const msgs = report.results.flatMap((r) => r.messages.map((m) => `${m.ruleId}: ${m.message} (line ${m.line})`));
      throw new Error(`${label}: invalid HTML:\n${msgs.join('\n')}`);
    }
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input, select, textarea, button')]
        .filter((el) => el.type !== 'hidden')
        .filter((el) => {
          if (el.tagName === 'BUTTON') return !(el.textContent.trim() || el.getAttribute('aria-label'));
          return !(el.labels && el.labels.length) && !el.getAttribute('aria-label');
        })
        .map((el) => el.outerHTML.slice(0, 80)));
    if (unlabelled.length) throw new Error(`${label}: controls without a label: ${unlabelled.join(', ')}`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 1) throw new Error(`${label}: the page scrolls sideways by ${overflow}px at width ${page.viewportSize().width}`);
    this.checked.push(label);
  }
}

export function expect(cond, message) {
  if (!cond) throw new Error(message);
}

export async function run(name, body) {
  const browser = await launch();
  const checker = new Checker(name);
  try {
    await body(browser, checker);
    console.log(JSON.stringify({ ok: true, test: name, screenshots: checker.dir, checked: checker.checked }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, test: name, screenshots: checker.dir, error: String(e && e.stack || e) }));
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}
