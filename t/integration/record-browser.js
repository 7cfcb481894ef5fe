// t/integration/record-browser.js: headless Chromium (playwright-core) plays a
// recording the way a web page would; used by 68-record-browser.sh.
//
//   node record-browser.js PAGE_URL MP4_URL TMP_URL RANGE
//
// PAGE_URL is a page on another origin than the node (so every request to
// /record/ is cross-origin). On that page: a <video crossOrigin=anonymous
// muted> of MP4_URL (metadata, size, duration; play; seeks to 1 s and 4 s,
// each frame drawn into a canvas, whose pixels are readable only when the
// node's CORS header allows the page's origin; plays its last 0.5 s to the
// end), a fetch() of MP4_URL with Range: RANGE (e.g. bytes=100-1099), and a <video> of TMP_URL (a .tmp name, refused). Prints one JSON
// object (step name -> what was seen, or {error}); the shell asserts on it.
// Environment: LE_PW_MODULE (playwright-core directory), LE_CHROMIUM.
'use strict';
const B = require('./browser-lib.js');

const STEP_MS = 20000;
const LOG_LEVELS = (process.env.LE_MEDIA_LOG || 'warning,error').split(',');
const [pageUrl, mp4Url, tmpUrl, range] = process.argv.slice(2);

// Runs in the page: waits for one of the events `ok` (resolves with its name)
// or `bad` (rejects with the media error) on el, at most ms.
const IN_PAGE = `
window.leWait = (el, ok, bad, ms) => new Promise((resolve, reject) => {
    const offs = [];
    const done = (f, v) => { offs.forEach(o => o()); clearTimeout(t); f(v); };
    const on = (n, f) => { el.addEventListener(n, f); offs.push(() => el.removeEventListener(n, f)); };
    const t = setTimeout(() => done(reject, new Error('no ' + ok.join('/') + ' in ' + ms + ' ms')), ms);
    ok.forEach(n => on(n, () => done(resolve, n)));
    bad.forEach(n => on(n, () => done(reject, new Error(n + ': code ' + (el.error ? el.error.code : '?') +
        ' ' + (el.error ? el.error.message : '')))));
});
window.lePixel = (v) => {
    const c = document.createElement('canvas');
    c.width = v.videoWidth; c.height = v.videoHeight;
    const g = c.getContext('2d');
    g.drawImage(v, 0, 0);
    // getImageData throws a SecurityError when the canvas is tainted (no CORS).
    const d = g.getImageData(c.width / 2 - 8, c.height / 2 - 8, 16, 16).data;
    const s = [0, 0, 0];
    for (let i = 0; i < d.length; i += 4) { s[0] += d[i]; s[1] += d[i + 1]; s[2] += d[i + 2]; }
    return s.map(x => Math.round(x / (d.length / 4)));
};
`;

B.main(async () => {
    const out = { responses: [], console: [] };
    await B.withBrowser(STEP_MS, [], async browser => {
        const page = await browser.newPage();
        page.setDefaultTimeout(STEP_MS);
        page.on('response', r => {
            if (r.url().includes('/record/'))
                out.responses.push(r.request().method() + ' ' + r.status() + ' ' + r.url().replace(/^.*\/record\//, '/record/') +
                    ' range=' + (r.request().headers()['range'] || '-'));
        });
        page.on('console', m => out.console.push(m.text()));
        // Chromium's media log (chrome://media-internals) per player, in the
        // order the players were created: some properties, warnings, errors
        out.players = [];
        const player = id => {
            let p = out.players.find(x => x.id === id);
            if (!p) out.players.push(p = { id, props: {}, log: [] });
            return p;
        };
        const cdp = await page.context().newCDPSession(page);
        cdp.on('Media.playerPropertiesChanged', e => e.properties.forEach(x => {
            if (['kIsRangeHeaderSupported', 'kStartTime', 'kMaxDuration', 'kResolution', 'kTotalBytes'].includes(x.name))
                player(e.playerId).props[x.name] = x.value;
        }));
        cdp.on('Media.playerMessagesLogged', e => e.messages.forEach(m => {
            if (LOG_LEVELS.includes(m.level)) player(e.playerId).log.push(m.level + ': ' + m.message);
        }));
        cdp.on('Media.playerErrorsRaised', e => e.errors.forEach(x =>
            player(e.playerId).log.push('error: ' + x.errorType + ' ' + x.code + ' ' + JSON.stringify(x.data || {}))));
        await cdp.send('Media.enable');
        await page.goto(pageUrl);
        await page.evaluate(IN_PAGE);
        out.origin = await page.evaluate(() => location.origin);
        out.canPlay = await page.evaluate(() =>
            document.createElement('video').canPlayType('video/mp4; codecs="avc1.640015, mp4a.40.2"'));

        await B.step(out, 'metadata', () => page.evaluate(async ([src, ms]) => {
            const v = document.createElement('video');
            v.id = 'v'; v.crossOrigin = 'anonymous'; v.muted = true; v.preload = 'auto';
            document.body.appendChild(v);
            const w = leWait(v, ['loadedmetadata'], ['error'], ms);
            v.src = src;
            await w;
            return { width: v.videoWidth, height: v.videoHeight, duration: v.duration };
        }, [mp4Url, STEP_MS]));

        await B.step(out, 'play', () => page.evaluate(async (ms) => {
            const v = document.getElementById('v');
            if (v.readyState < 1) throw new Error('no metadata');
            const w = leWait(v, ['playing'], ['error'], ms);
            await v.play();
            await w;
            // some media time passes: the decoder really runs
            await new Promise((resolve, reject) => {
                const t0 = v.currentTime, t = setTimeout(() => reject(new Error('currentTime stuck at ' + v.currentTime)), ms);
                const tick = () => { if (v.currentTime > t0 + 0.3) { clearTimeout(t); resolve(); } else setTimeout(tick, 50); };
                tick();
            });
            v.pause();
            // Chromium's counters: both tracks were decoded
            return { currentTime: v.currentTime, audioBytes: v.webkitAudioDecodedByteCount,
                     videoBytes: v.webkitVideoDecodedByteCount };
        }, STEP_MS));

        for (const at of [1, 4]) {
            await B.step(out, 'seek' + at, () => page.evaluate(async ([at, ms]) => {
                const v = document.getElementById('v');
                if (v.readyState < 1) throw new Error('no metadata');
                const w = leWait(v, ['seeked'], ['error'], ms);
                v.currentTime = at;
                await w;
                // the seeked frame is presented (rVFC is Chromium's; bounded)
                if (v.requestVideoFrameCallback)
                    await Promise.race([new Promise(r => v.requestVideoFrameCallback(() => r())),
                                        new Promise(r => setTimeout(r, 1000))]);
                return { currentTime: v.currentTime, readyState: v.readyState, rgb: lePixel(v) };
            }, [at, STEP_MS]));
        }

        await B.step(out, 'ended', () => page.evaluate(async (ms) => {
            const v = document.getElementById('v');
            if (v.readyState < 1) throw new Error('no metadata');
            const s = leWait(v, ['seeked'], ['error'], ms);
            v.currentTime = v.duration - 0.5;
            await s;
            const w = leWait(v, ['ended'], ['error'], ms);
            await v.play();
            await w;
            return { ended: v.ended, currentTime: v.currentTime };
        }, STEP_MS));

        await B.step(out, 'range', () => page.evaluate(async ([src, range]) => {
            const r = await fetch(src, { headers: { Range: range } });
            const b = await r.arrayBuffer();
            const h = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', b)))
                .map(x => x.toString(16).padStart(2, '0')).join('');
            // what a script may read of the headers (CORS exposes a few only)
            return { status: r.status, bytes: b.byteLength, type: r.type, sha256: h,
                     contentType: r.headers.get('content-type'), contentRange: r.headers.get('content-range') };
        }, [mp4Url, range]));

        await B.step(out, 'tmp', () => page.evaluate(async ([src, ms]) => {
            const v = document.createElement('video');
            v.crossOrigin = 'anonymous'; v.muted = true; v.preload = 'auto';
            document.body.appendChild(v);
            const w = leWait(v, ['error'], ['loadedmetadata'], ms);
            v.src = src;
            await w;
            return { code: v.error ? v.error.code : 0, message: v.error ? v.error.message : '' };
        }, [tmpUrl, STEP_MS]));
    });
    return out;
});
