// t/integration/transcode-browser.js: headless Chromium (playwright-core)
// plays a stream's adaptive HLS master playlist with hls.js, as a web page
// would; used by 74-transcode-browser.sh.
//
//   node transcode-browser.js PAGE_URL MASTER_URL WxH...
//
// PAGE_URL is a page on another origin than the node that loads hls.min.js
// (every request to the node is cross-origin). On it: hls.js loads
// MASTER_URL into a muted <video> (its levels; time to the first presented
// frame; currentTime advances; a frame drawn into a canvas is not blank),
// then for each WxH in turn sets hls.currentLevel to the level of that size
// and waits until the video element's videoWidth x videoHeight is that size
// and its currentTime advances past the switch (how long it took; the frame
// at the new size is not blank). hls.js ERROR events are collected all
// along. Prints one JSON object (step name -> what was seen, or {error});
// the shell asserts on it. Environment: LE_PW_MODULE, LE_CHROMIUM.
'use strict';
const B = require('./browser-lib.js');

const STEP_MS = 20000;
const [pageUrl, masterUrl, ...sizes] = process.argv.slice(2);

B.main(async () => {
    const out = { console: [], requests: [] };
    await B.withBrowser(STEP_MS, [], async browser => {
        const page = await browser.newPage();
        page.setDefaultTimeout(STEP_MS);
        page.on('console', m => out.console.push(m.text()));
        // the node's answers other than 200 (a 404 playlist, a 5xx), for diag
        page.on('response', r => {
            const u = new URL(r.url());
            if (u.origin !== new URL(pageUrl).origin && r.status() !== 200)
                out.requests.push(r.status() + ' ' + u.pathname);
        });
        await page.goto(pageUrl);
        await page.waitForFunction(() => window.Hls !== undefined, null, { timeout: STEP_MS });
        await page.evaluate(B.IN_PAGE_VIDEO);
        out.origin = await page.evaluate(() => location.origin);
        out.hls = await page.evaluate(() => ({ version: Hls.version, supported: Hls.isSupported(),
            mse: MediaSource.isTypeSupported('video/mp4; codecs="avc1.640028,mp4a.40.2"') }));

        // The master playlist: levels, then the first frame.
        await B.step(out, 'levels', () => page.evaluate(async ([src, ms]) => {
            const v = document.createElement('video');
            v.id = 'v'; v.muted = true; v.autoplay = true;
            document.body.appendChild(v);
            const hls = new Hls({ debug: false, enableWorker: true, lowLatencyMode: false });
            window.leHls = hls;
            window.leErrors = [];
            window.leSwitched = [];
            hls.on(Hls.Events.ERROR, (e, d) => leErrors.push({ t: Math.round(performance.now()), type: d.type,
                details: d.details, fatal: d.fatal, url: d.url || (d.context && d.context.url) || '' }));
            hls.on(Hls.Events.LEVEL_SWITCHED, (e, d) => leSwitched.push({ t: Math.round(performance.now()),
                level: d.level }));
            window.leT0 = performance.now();
            const parsed = new Promise((resolve, reject) => {
                const t = setTimeout(() => reject(new Error('no MANIFEST_PARSED in ' + ms + ' ms')), ms);
                hls.on(Hls.Events.MANIFEST_PARSED, () => { clearTimeout(t); resolve(); });
                hls.on(Hls.Events.ERROR, (e, d) => { if (d.fatal) { clearTimeout(t); reject(new Error(d.details)); } });
            });
            // the first presented frame, measured from loadSource
            window.leFirstFrame = new Promise(r => {
                const f = () => r(performance.now() - leT0);
                if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(f);
                else v.addEventListener('playing', f, { once: true });
            });
            hls.loadSource(src);
            hls.attachMedia(v);
            await parsed;
            return hls.levels.map((l, i) => ({ index: i, width: l.width, height: l.height, bitrate: l.bitrate,
                codecs: l.codecSet || l.attrs.CODECS, uri: new URL(l.url[0] || l.url).pathname }));
        }, [masterUrl, STEP_MS]));

        await B.step(out, 'play', () => page.evaluate(async (ms) => {
            const v = document.getElementById('v');
            const first = await Promise.race([leFirstFrame,
                new Promise((_, rej) => setTimeout(() => rej(new Error('no frame in ' + ms + ' ms')), ms))]);
            if (v.paused) await v.play();
            await leAdvance(v, v.currentTime, 1.0, ms);
            await leNextFrame(v);
            return { firstFrameMs: Math.round(first), currentTime: v.currentTime, level: leHls.currentLevel,
                     width: v.videoWidth, height: v.videoHeight, frame: leFrame(v) };
        }, STEP_MS));

        // Forced switches, one size after the other.
        for (const wh of sizes) {
            const [w, h] = wh.split('x').map(Number);
            await B.step(out, 'switch' + wh, () => page.evaluate(async ([w, h, ms]) => {
                const v = document.getElementById('v');
                const idx = leHls.levels.findIndex(l => l.width === w && l.height === h);
                if (idx < 0) throw new Error('no level of ' + w + 'x' + h);
                const t0 = performance.now(), ct0 = v.currentTime;
                leHls.currentLevel = idx;
                const end = t0 + ms;
                while (!(v.videoWidth === w && v.videoHeight === h)) {
                    if (performance.now() > end)
                        throw new Error('still ' + v.videoWidth + 'x' + v.videoHeight + ' after ' + ms + ' ms');
                    await new Promise(r => setTimeout(r, 50));
                }
                const sizeMs = performance.now() - t0;
                // playback goes on at the new size: 1 s of media time more
                const ct1 = v.currentTime;
                await leAdvance(v, ct1, 1.0, ms);
                await leNextFrame(v);
                return { index: idx, sizeMs: Math.round(sizeMs), playingMs: Math.round(performance.now() - t0),
                         from: ct0, currentTime: v.currentTime, width: v.videoWidth, height: v.videoHeight,
                         level: leHls.currentLevel, loadLevel: leHls.loadLevel, paused: v.paused, frame: leFrame(v) };
            }, [w, h, STEP_MS]));
        }

        out.errors = await page.evaluate(() => window.leErrors || []);
        out.switched = await page.evaluate(() => window.leSwitched || []);
        out.end = await B.videoEnd(page);
        await page.evaluate(() => window.leHls && window.leHls.destroy());
    });
    return out;
});
