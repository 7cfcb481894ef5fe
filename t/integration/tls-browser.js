// t/integration/tls-browser.js: headless Chromium (playwright-core) opens an
// https page and plays a stream's https HLS playlist from another origin
// with hls.js, as a viewer's browser would; used by 87-tls-browser.sh.
//
//   node tls-browser.js PAGE_URL PLAYLIST_URL [CHROMIUM_ARG...]
//
// The extra arguments go to Chromium (how it trusts the test CA, how it
// resolves the test's names). PAGE_URL loads hls.min.js; on it hls.js loads
// PLAYLIST_URL into a muted <video>. Seen: the page's origin and TLS state,
// MANIFEST_PARSED, the first presented frame, currentTime advancing by 3 s of
// media, videoWidth x videoHeight, hls.js errors, console messages of type
// error, failed requests (network or TLS failures) and answers >= 400, and
// the security details of the playlist's response. Prints one JSON object;
// the shell asserts on it. Environment: LE_PW_MODULE, LE_CHROMIUM.
'use strict';
const B = require('./browser-lib.js');

const STEP_MS = 25000;
const [pageUrl, srcUrl, ...extra] = process.argv.slice(2);

B.main(async () => {
    const out = { consoleErrors: [], console: [], failed: [], bad: [], requests: 0 };
    await B.withBrowser(STEP_MS, extra, async browser => {
        const page = await browser.newPage();
        page.setDefaultTimeout(STEP_MS);
        B.watch(page, out);
        const resp = await page.goto(pageUrl);
        out.page = { status: resp.status(), security: await resp.securityDetails() };
        await page.waitForFunction(() => window.Hls !== undefined, null, { timeout: STEP_MS });
        out.origin = await page.evaluate(() => location.origin);
        out.secureContext = await page.evaluate(() => window.isSecureContext);
        out.hls = await page.evaluate(() => ({ version: Hls.version, supported: Hls.isSupported() }));
        const playlist = page.waitForResponse(r => r.url() === srcUrl, { timeout: STEP_MS })
            .then(async r => ({ status: r.status(), security: await r.securityDetails(),
                                acao: (await r.allHeaders())['access-control-allow-origin'] || null }))
            .catch(e => ({ error: String(e.message).split('\n')[0] }));

        await B.step(out, 'play', () => page.evaluate(async ([src, ms]) => {
            const v = document.createElement('video');
            v.id = 'v'; v.muted = true; v.autoplay = true;
            document.body.appendChild(v);
            const hls = new Hls({ debug: false, enableWorker: true });
            window.leHls = hls;
            window.leErrors = [];
            hls.on(Hls.Events.ERROR, (e, d) => leErrors.push({ type: d.type, details: d.details, fatal: d.fatal,
                url: d.url || (d.context && d.context.url) || '' }));
            const t0 = performance.now();
            const parsed = new Promise((resolve, reject) => {
                const t = setTimeout(() => reject(new Error('no MANIFEST_PARSED in ' + ms + ' ms')), ms);
                hls.on(Hls.Events.MANIFEST_PARSED, () => { clearTimeout(t); resolve(); });
                hls.on(Hls.Events.ERROR, (e, d) => { if (d.fatal) { clearTimeout(t); reject(new Error(d.details)); } });
            });
            const first = new Promise(r => {
                const f = () => r(performance.now() - t0);
                if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(f);
                else v.addEventListener('playing', f, { once: true });
            });
            hls.loadSource(src);
            hls.attachMedia(v);
            await parsed;
            const firstMs = await Promise.race([first,
                new Promise((_, rej) => setTimeout(() => rej(new Error('no frame in ' + ms + ' ms')), ms))]);
            if (v.paused) await v.play();
            const ct0 = v.currentTime, end = performance.now() + ms;
            while (v.currentTime < ct0 + 3.0) {
                if (performance.now() > end) throw new Error('currentTime stuck at ' + v.currentTime);
                await new Promise(r => setTimeout(r, 100));
            }
            return { firstFrameMs: Math.round(firstMs), from: ct0, currentTime: v.currentTime,
                     width: v.videoWidth, height: v.videoHeight, paused: v.paused,
                     levels: hls.levels.map(l => l.width + 'x' + l.height) };
        }, [srcUrl, STEP_MS]));

        out.playlist = await playlist;
        out.errors = await page.evaluate(() => window.leErrors || []);
        await page.evaluate(() => window.leHls && window.leHls.destroy());
    });
    return out;
});
