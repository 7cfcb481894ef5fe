// t/integration/browser-lib.js: what the headless Chromium drivers of the
// integration tests (record-browser.js, transcode-browser.js, tls-browser.js,
// llhls-browser.js, console-browser.js, console-studio.js) share, so that each
// of them is only its own steps:
//  - launch: Debian's Chromium (LE_CHROMIUM, else /usr/bin/chromium) through
//    playwright-core (LE_PW_MODULE; both exported by le_browser_require in
//    lib.sh), headless, no sandbox, media allowed to play without a gesture;
//  - step: one named step whose value or first line of error goes into the
//    JSON the shell asserts on;
//  - watch: the page's console messages, page errors, failed requests and
//    answers >= 400, the lists a test asserts are empty;
//  - IN_PAGE_VIDEO: helpers evaluated in a page that plays a <video>;
//  - main: runs the driver, prints its one JSON object, or {fatal} and exits 1.
'use strict';
const { chromium } = require(process.env.LE_PW_MODULE);

/* Chromium, launched within ms; extra: more command-line arguments. */
function launch(ms, extra) {
    return chromium.launch({
        executablePath: process.env.LE_CHROMIUM || '/usr/bin/chromium',
        args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', ...(extra || [])],
        timeout: ms,
    });
}

/* body(browser) with a launched Chromium, closed after it whatever happens. */
async function withBrowser(ms, extra, body) {
    const browser = await launch(ms, extra);
    try {
        return await body(browser);
    } finally {
        await browser.close();
    }
}

/* The first line of an error's message. */
function errorLine(e) {
    return String(e && e.message ? e.message : e).split('\n')[0];
}

/* out[name] = what fn resolves to, or { error } with the first line of why not. */
async function step(out, name, fn) {
    try {
        out[name] = await fn();
    } catch (e) {
        out[name] = { error: errorLine(e) };
    }
}

/* Collects into out (the arrays are created where missing):
 *   console        every console message, "type: text" (unless opts.console is false);
 *   consoleErrors  console messages of type error, and page errors ("pageerror: " and
 *                  the message, or its stack with opts.stack);
 *   requests       how many requests the page made;
 *   failed         failed requests, "errorText url"; ERR_ABORTED is left out (a player
 *                  torn down, hls.js dropping a load it no longer needs: not the node's);
 *   bad            answers >= 400: "status url", or what opts.bad(response) resolves to.
 * opts.expected(): while it returns true, console errors and answers >= 400 go to
 * expectedConsole and expectedBad instead (the errors a test asks for). */
function watch(page, out, opts) {
    const o = opts || {};
    for (const k of ['consoleErrors', 'failed', 'bad']) out[k] = out[k] || [];
    if (o.console !== false) out.console = out.console || [];
    if (o.expected) { out.expectedConsole = out.expectedConsole || []; out.expectedBad = out.expectedBad || []; }
    out.requests = out.requests || 0;
    const expected = () => !!(o.expected && o.expected());
    page.on('console', m => {
        if (o.console !== false) out.console.push(m.type() + ': ' + m.text());
        if (m.type() === 'error') (expected() ? out.expectedConsole : out.consoleErrors).push(m.text());
    });
    page.on('pageerror', e => out.consoleErrors.push('pageerror: ' + (o.stack ? (e.stack || e.message) : e.message)));
    page.on('request', () => { out.requests++; });
    page.on('requestfailed', r => {
        const f = r.failure();
        if (f && /ERR_ABORTED/.test(f.errorText)) return;
        out.failed.push((f ? f.errorText : '?') + ' ' + r.url());
    });
    page.on('response', async r => {
        if (r.status() < 400) return;
        const list = expected() ? out.expectedBad : out.bad;
        list.push(o.bad ? await o.bad(r) : r.status() + ' ' + r.url());
    });
}

/* Evaluated in a page that plays a <video>:
 * leFrame(v): the frame drawn into a small canvas, luma min/max/mean over it
 *   (a blank or black frame has max - min near 0);
 * leAdvance(v, t0, by, ms): resolves when currentTime passed t0 + by, rejects after ms;
 * leNextFrame(v): the next presented frame (requestVideoFrameCallback), at most 1 s. */
const IN_PAGE_VIDEO = `
window.leFrame = (v) => {
    const c = document.createElement('canvas');
    c.width = 64; c.height = 36;
    const g = c.getContext('2d');
    g.drawImage(v, 0, 0, c.width, c.height);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let lo = 255, hi = 0, sum = 0;
    for (let i = 0; i < d.length; i += 4) {
        const y = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
        lo = Math.min(lo, y); hi = Math.max(hi, y); sum += y;
    }
    return { min: Math.round(lo), max: Math.round(hi), mean: Math.round(sum / (d.length / 4)) };
};
window.leAdvance = (v, t0, by, ms) => new Promise((resolve, reject) => {
    const end = performance.now() + ms;
    const tick = () => {
        if (v.currentTime > t0 + by) resolve(v.currentTime);
        else if (performance.now() > end) reject(new Error('currentTime stuck at ' + v.currentTime + ' (from ' + t0 + ')'));
        else setTimeout(tick, 50);
    };
    tick();
});
window.leNextFrame = (v) => Promise.race([
    new Promise(r => v.requestVideoFrameCallback ? v.requestVideoFrameCallback(() => r()) : r()),
    new Promise(r => setTimeout(r, 1000))]);
`;

/* What the video element ended as (after the steps), or null without #v. */
function videoEnd(page) {
    return page.evaluate(() => {
        const v = document.getElementById('v');
        return v ? { currentTime: v.currentTime, paused: v.paused, ended: v.ended,
                     error: v.error ? v.error.code : 0, dropped: v.getVideoPlaybackQuality ?
                         v.getVideoPlaybackQuality().droppedVideoFrames : -1 } : null;
    });
}

/* One JSON object, one line on stdout: what the shell parses. */
function print(out) {
    process.stdout.write(JSON.stringify(out) + '\n');
}

/* Runs the driver: fn() resolves to the JSON object to print (undefined: it
 * printed its own). A throw prints { fatal: stack } and exits 1. */
function main(fn) {
    fn().then(out => { if (out !== undefined) print(out); }).catch(e => {
        print({ fatal: String(e && e.stack ? e.stack : e) });
        process.exit(1);
    });
}

module.exports = { launch, withBrowser, errorLine, step, watch, IN_PAGE_VIDEO, videoEnd, print, main };
