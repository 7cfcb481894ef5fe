// t/integration/console-browser.js: headless Chromium (playwright-core)
// drives the web console at /console/ on the admin port as an operator
// would; used by 93-console.sh.
//
//   node console-browser.js CONSOLE_URL HTTP_BASE AK SK DOMAIN APP STREAM FFMPEG_PID SHOTS_DIR
//
// Steps: the first load (time to the sign-in form, bytes transferred, no
// cache); a wrong secret and a wrong AccessKeyId (the API's Code and Message
// shown, no nav, no page); sign in; the streams page lists APP/STREAM, its
// player plays (currentTime advances); the stream page forbids it (the
// dialog accepted), FFMPEG_PID exits, the streams page's block list shows
// it; resume (the block list empties); the domains, relays and node pages
// render. A screenshot of every page goes to SHOTS_DIR. Console errors,
// failed requests and answers >= 400 are collected, except the wrong-key
// answers the test asks for. Prints one JSON object; the shell asserts.
// Environment: LE_PW_MODULE, LE_CHROMIUM.
'use strict';
const B = require('./browser-lib.js');

const STEP_MS = 20000;
const [consoleUrl, httpBase, ak, sk, domain, app, stream, ffPid, shots] = process.argv.slice(2);
// AK "-": a node without keys; only the "No keys (loopback)" way in is tried.
const noKeys = ak === '-';

function alive(pid) {
    try { process.kill(Number(pid), 0); return true; } catch (e) { return false; }
}

B.main(async () => {
    const out = { consoleErrors: [], expectedConsole: [], failed: [], bad: [], expectedBad: [], requests: 0 };
    let expectBad = false;
    const browser = await B.launch(STEP_MS);
    try {
        const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
        const page = await ctx.newPage();
        page.setDefaultTimeout(STEP_MS);
        page.on('dialog', d => d.accept());
        // the wrong keys' answers (expectBad) are kept apart
        B.watch(page, out, { console: false, stack: true, expected: () => expectBad });
        const shot = async name => {
            await page.waitForTimeout(300);
            await page.screenshot({ path: shots + '/' + name + '.png', fullPage: true });
        };

        // ---- first load, cold ----
        await B.step(out, 'firstLoad', async () => {
            const cdp = await ctx.newCDPSession(page);
            await cdp.send('Network.enable');
            await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
            let bytes = 0;
            cdp.on('Network.loadingFinished', e => { bytes += e.encodedDataLength; });
            const t0 = Date.now();
            await page.goto(consoleUrl);
            await page.waitForSelector('#signin');
            const ms = Date.now() - t0;
            await page.waitForLoadState('load');
            const nav = await page.evaluate(() => {
                const n = performance.getEntriesByType('navigation')[0];
                return { load: Math.round(n.loadEventEnd), dcl: Math.round(n.domContentLoadedEventEnd) };
            });
            await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
            return { msToSignin: ms, bytes, nav, files: await page.evaluate(() => performance.getEntriesByType('resource').length + 1) };
        });
        await shot('signin');

        if (noKeys) {
            await B.step(out, 'nokeys', async () => {
                await page.fill('#playbase', httpBase);
                await page.click('#nokeys');
                await page.waitForSelector('#nav a[data-page=streams]');
                await page.waitForSelector(`button.play-btn[data-stream="${app}/${stream}"]`);
                await page.click(`button.play-btn[data-stream="${app}/${stream}"]`);
                await page.waitForFunction(() => { const v = document.querySelector('#player'); return v && v.currentTime > 1; });
                await shot('nokeys-streams');
                await page.goto(consoleUrl + '#/node');
                await page.waitForSelector('#node-metrics .metric');
                return page.evaluate(() => ({ mode: sessionStorage.getItem('le.mode'), who: document.querySelector('#who').textContent,
                                              currentTime: document.querySelector('#player') ? -1 : 0 }));
            });
            return;
        }

        // ---- wrong keys: the API's error and nothing else ----
        const wrong = async (id, secret) => {
            expectBad = true;
            await page.fill('#ak', id);
            await page.fill('#sk', secret);
            await page.fill('#playbase', httpBase);
            await page.click('#signin-btn');
            await page.waitForSelector('#signin-error .code');
            expectBad = false;
            return page.evaluate(() => ({
                code: document.querySelector('#signin-error .code').textContent,
                message: document.querySelector('#signin-error .message').textContent,
                navLinks: document.querySelectorAll('#nav a').length,
                tables: document.querySelectorAll('#view table').length,
                signinShown: !!document.querySelector('#signin'),
                stored: sessionStorage.getItem('le.sk'),
            }));
        };
        await B.step(out, 'wrongSecret', () => wrong(ak, sk + 'x'));
        await shot('wrong-key');
        await B.step(out, 'wrongId', () => wrong(ak + 'nope', sk));

        // ---- sign in ----
        await B.step(out, 'signin', async () => {
            await page.fill('#ak', ak);
            await page.fill('#sk', sk);
            await page.fill('#playbase', httpBase);
            await page.click('#signin-btn');
            await page.waitForSelector('#nav a[data-page=streams]');
            return page.evaluate(() => ({
                nav: Array.from(document.querySelectorAll('#nav a')).map(a => a.dataset.page),
                localSecret: localStorage.getItem('le.sk'), // must stay null: sessionStorage only
                sessionHasSecret: !!sessionStorage.getItem('le.sk'),
            }));
        });

        // ---- streams: the published stream is listed and plays ----
        await B.step(out, 'streams', async () => {
            await page.waitForSelector(`button.play-btn[data-stream="${app}/${stream}"]`);
            const row = await page.evaluate(s => {
                const b = document.querySelector(`button.play-btn[data-stream="${s}"]`);
                return Array.from(b.closest('tr').querySelectorAll('td')).map(td => td.textContent);
            }, app + '/' + stream);
            await shot('streams');
            await page.click(`button.play-btn[data-stream="${app}/${stream}"]`);
            await page.waitForFunction(() => { const v = document.querySelector('#player'); return v && v.currentTime > 0.2; });
            const t1 = await page.evaluate(() => document.querySelector('#player').currentTime);
            await page.waitForFunction(t => document.querySelector('#player').currentTime > t + 2, t1);
            const v = await page.evaluate(() => {
                const x = document.querySelector('#player');
                return { currentTime: x.currentTime, width: x.videoWidth, height: x.videoHeight,
                         urls: Array.from(document.querySelectorAll('.urls input')).map(i => i.value) };
            });
            await shot('streams-player');
            return { row, t1, ...v };
        });

        // ---- the stream page: forbid cuts the publisher; block list; resume ----
        await B.step(out, 'stream', async () => {
            await page.goto(consoleUrl + `#/stream?domain=${domain}&app=${app}&stream=${stream}`);
            await page.waitForFunction(() => document.querySelector('#stream-state').textContent === 'live');
            await page.waitForSelector('#chart-bitrate .uplot, #chart-bitrate p');
            await page.waitForSelector('#chart-viewers .uplot, #chart-viewers p');
            await page.waitForFunction(() => { const v = document.querySelector('#player'); return v && v.currentTime > 0.5; });
            await shot('stream');
            const charts = await page.evaluate(() => Array.from(document.querySelectorAll('.chart'))
                .filter(c => c.querySelector('.uplot') || /no samples yet/.test(c.textContent)).length);
            const t0 = Date.now();
            await page.click('#forbid-btn');
            await page.waitForFunction(() => document.querySelector('#stream-state').textContent === 'forbidden');
            let exited = null;
            for (let i = 0; i < 100; i++) {
                if (!alive(ffPid)) { exited = Date.now() - t0; break; }
                await page.waitForTimeout(100);
            }
            await shot('stream-forbidden');
            return { charts, ffmpegExitedMs: exited };
        });
        await B.step(out, 'blockList', async () => {
            await page.goto(consoleUrl + '#/streams');
            await page.waitForFunction(s => document.querySelector('#block-list') &&
                document.querySelector('#block-list').textContent.includes(s), `${domain}/${app}/${stream}`);
            await shot('streams-blocked');
            return { text: await page.evaluate(() => document.querySelector('#block-list').textContent) };
        });
        await B.step(out, 'resume', async () => {
            await page.goto(consoleUrl + `#/stream?domain=${domain}&app=${app}&stream=${stream}`);
            await page.waitForFunction(() => document.querySelector('#stream-state').textContent === 'forbidden');
            await page.click('#resume-btn');
            await page.waitForFunction(() => document.querySelector('#stream-state').textContent !== 'forbidden');
            const state = await page.evaluate(() => document.querySelector('#stream-state').textContent);
            await page.goto(consoleUrl + '#/streams');
            await page.waitForSelector('#block-list .empty');
            return { state, blockList: await page.evaluate(() => document.querySelector('#block-list').textContent) };
        });

        // ---- the other pages ----
        await B.step(out, 'domains', async () => {
            await page.goto(consoleUrl + '#/domains?d=' + domain);
            await page.waitForSelector('#domain-list table');
            await page.waitForSelector('#domain-detail table, #domain-detail .empty');
            await page.waitForTimeout(500);
            const r = await page.evaluate(() => ({
                rows: document.querySelectorAll('#domain-list tbody tr').length,
                masked: Array.from(document.querySelectorAll('.masked')).map(m => m.textContent),
            }));
            const btn = await page.$('button.reveal');
            if (btn) {
                await btn.click();
                r.revealed = await page.evaluate(() => document.querySelector('.masked').textContent);
            }
            await shot('domains');
            return r;
        });
        await B.step(out, 'relays', async () => {
            await page.goto(consoleUrl + '#/relays');
            await page.waitForSelector('#relay-list table, #relay-list .empty');
            await shot('relays');
            return { text: await page.evaluate(() => document.querySelector('#relay-list').textContent.slice(0, 200)) };
        });
        await B.step(out, 'node', async () => {
            await page.goto(consoleUrl + '#/node');
            await page.waitForSelector('#node-metrics .metric');
            await page.waitForSelector('#metrics-all table');
            await shot('node');
            return page.evaluate(() => Array.from(document.querySelectorAll('#node-metrics .metric')).map(m => m.textContent));
        });
        // a phone
        await B.step(out, 'phone', async () => {
            await page.setViewportSize({ width: 390, height: 844 });
            await page.goto(consoleUrl + '#/streams');
            await page.waitForSelector('#stream-list table, #stream-list .empty');
            await shot('phone-streams');
            const fits = [await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1)];
            for (const r of [`stream?domain=${domain}&app=${app}&stream=${stream}`, 'domains?d=' + domain, 'node']) {
                await page.goto(consoleUrl + '#/' + r);
                await page.waitForTimeout(1500);
                fits.push(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1));
            }
            await shot('phone-stream');
            return fits.every(x => x) ? true : fits;
        });
        // the URL signature forms, computed in the page (the shell recomputes them)
        await B.step(out, 'signForms', () => page.evaluate(() => ({
            a: LE.urls.sign({ type: 'a', key: 'k93' }, '/live/x.flv', 'vhost=v'),
            b: LE.urls.sign({ type: 'b', key: 'k93' }, '/live/x.flv', ''),
            c: LE.urls.sign({ type: 'c', key: 'k93' }, '/live/x.flv', ''),
            none: LE.urls.sign({ type: '', key: '' }, '/live/x.flv', 'vhost=v'),
        })));
        await B.step(out, 'signout', async () => {
            await page.click('#signout');
            await page.waitForSelector('#signin');
            return page.evaluate(() => sessionStorage.getItem('le.sk'));
        });
    } finally {
        await browser.close();
        B.print(out);
    }
});
