// t/integration/console-studio.js: the console's studio page in headless
// Chromium (playwright-core), as an operator uses it; used by
// 94-console-studio.sh.
//
//   node console-studio.js CONSOLE_URL PLAY_BASE CASTER_ID PIP_LAYOUT_ID OUT_DIR URGENT_SRC URGENT_DST
//
// Signs in with "No keys (loopback)" (players at PLAY_BASE), opens
// #/studio?caster=CASTER_ID and waits for the multiviewer's four players
// (PVW, PGM, RV01, RV02) to play; measures the browser's CPU (every Chromium
// process, /proc utime+stime) for 10 s with the four playing. Then, reading
// the tiles' pictures through a canvas: a click on RV02 puts it on PVW
// (PVW turns blue), Take puts PVW on PGM (PGM turns from red to blue), a
// click on the picture-in-picture layout and an overlay toggle set PVW; Stop
// is asked once (dismissed: the caster runs on); the standby button without
// the standby file shows the API's Code and Message, then with it (the test
// moves URGENT_SRC to URGENT_DST) turns PGM green. Also the programme
// timeline's bars. Console errors, failed requests and answers >= 400 are
// collected; screenshots go to OUT_DIR. Prints one JSON object.
// Environment: LE_PW_MODULE, LE_CHROMIUM.
'use strict';
const fs = require('fs');
const B = require('./browser-lib.js');

const STEP_MS = 20000;
const [consoleUrl, playBase, casterId, pip, outDir, urgentSrc, urgentDst] = process.argv.slice(2);

/* CPU seconds (user + system) of the processes under pid (not pid itself). */
function treeCpu(root) {
    const kids = new Map(), cpu = new Map();
    for (const d of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(d)) continue;
        let s;
        try { s = fs.readFileSync('/proc/' + d + '/stat', 'utf8'); } catch (e) { continue; }
        const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
        const ppid = Number(f[1]);
        cpu.set(Number(d), (Number(f[11]) + Number(f[12])) / 100);
        if (!kids.has(ppid)) kids.set(ppid, []);
        kids.get(ppid).push(Number(d));
    }
    let sum = 0, n = 0;
    const each = new Map();
    const walk = p => { sum += cpu.get(p) || 0; n++; each.set(p, cpu.get(p) || 0); for (const k of kids.get(p) || []) walk(k); };
    // root is this node process (playwright's driver runs in it): its children are Chromium
    for (const k of kids.get(root) || []) walk(k);
    return { sec: sum, procs: n, each };
}
/* The processes that used most between two treeCpu readings: "type sec". */
function topCpu(a, b) {
    const kind = pid => {
        try {
            const c = fs.readFileSync('/proc/' + pid + '/cmdline', 'utf8');
            const t = /--type=(\S+?)(?:\s|\0|$)/.exec(c), u = /--utility-sub-type=([^\s\0]+)/.exec(c);
            return t ? t[1] + (u ? ':' + u[1] : '') : 'browser';
        } catch (e) { return '?'; }
    };
    return [...b.each].map(([p, s]) => [p, s - (a.each.get(p) || 0)]).sort((x, y) => y[1] - x[1]).slice(0, 4)
        .map(([p, d]) => kind(p) + ' ' + d.toFixed(2));
}

B.main(async () => {
    const out = { consoleErrors: [], console: [], failed: [], bad: [], steps: {}, requests: 0 };
    await B.withBrowser(STEP_MS, [], async browser => {
        const bpid = process.pid;
        const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
        page.setDefaultTimeout(STEP_MS);
        B.watch(page, out, { bad: async r => {
            let body = '';
            try { body = (await r.text()).slice(0, 300); } catch (e) { /* streamed */ }
            return { status: r.status(), url: r.url(), body, post: r.request().postData() || '' };
        } });
        const dialogs = [];
        let dismissNext = false;
        page.on('dialog', d => { dialogs.push(d.message()); if (dismissNext) { dismissNext = false; d.dismiss(); } else d.accept(); });

        const step = async (name, fn) => {
            const t0 = Date.now();
            try {
                out.steps[name] = Object.assign({ ok: true }, await fn());
            } catch (e) {
                out.steps[name] = { ok: false, error: B.errorLine(e) };
            }
            out.steps[name].ms = Date.now() - t0;
        };
        const shot = name => page.screenshot({ path: outDir + '/studio-' + name + '.png', fullPage: true }).catch(() => {});

        // the tile's colour at (fx, fy) of its picture: red, blue, green or r,g,b
        await page.addInitScript(() => {
            window.leColour = (sel, fx, fy) => {
                const v = document.querySelector(sel + ' video');
                if (!v || !v.videoWidth) return 'none';
                const c = document.createElement('canvas');
                c.width = 64; c.height = 36;
                const g = c.getContext('2d', { willReadFrequently: true });
                g.drawImage(v, 0, 0, 64, 36);
                const [r, gg, b] = g.getImageData(Math.floor(fx * 63), Math.floor(fy * 35), 1, 1).data;
                if (r > 160 && gg < 90 && b < 90) return 'red';
                if (b > 160 && r < 90 && gg < 90) return 'blue';
                if (gg > 100 && r < 90 && b < 90) return 'green';
                return r + ',' + gg + ',' + b;
            };
            window.lePlaying = sel => {
                const v = document.querySelector(sel + ' video');
                return !!v && v.videoWidth > 0 && v.currentTime > 1 && !v.paused;
            };
        });
        const colourIs = (sel, fx, fy, want, ms) => page.waitForFunction(([s, x, y, w]) => leColour(s, x, y) === w,
            [sel, fx, fy, want], { timeout: ms || STEP_MS, polling: 50 });
        const colour = (sel, fx, fy) => page.evaluate(([s, x, y]) => leColour(s, x, y), [sel, fx, fy]);

        const t0 = Date.now();
        await page.goto(consoleUrl);
        await page.fill('#playbase', playBase);
        await page.click('#nokeys');
        await page.waitForSelector('nav a[data-page="studio"]');
        out.navHasStudio = true;
        await page.evaluate(id => { location.hash = '#/studio?caster=' + id; }, casterId);
        const tiles = ['#st-pvw', '#st-pgm', '.st-tile[data-location="RV01"]', '.st-tile[data-location="RV02"]'];
        await step('multiviewer', async () => {
            for (const s of tiles) await page.waitForFunction(s2 => lePlaying(s2), s, { timeout: 30000 });
            const firstAllMs = Date.now() - t0;
            // the pictures (a player's first frames may still be black)
            for (const [s, c] of [[tiles[0], 'red'], [tiles[1], 'red'], [tiles[2], 'red'], [tiles[3], 'blue']])
                await colourIs(s, 0.5, 0.5, c, 10000).catch(() => {});
            return { firstAllMs,
                     caster: await page.$eval('#st-caster', e => e.value),
                     colours: await Promise.all(tiles.map(s => colour(s, 0.5, 0.5))) };
        });
        await shot('multiviewer');

        // ---- the browser's CPU with four players ----
        await step('cpu', async () => {
            const q0 = await page.evaluate(() => [...document.querySelectorAll('.st-tile video')].map(v => {
                const q = v.getVideoPlaybackQuality(); return [q.totalVideoFrames, q.droppedVideoFrames, v.currentTime]; }));
            const a = treeCpu(bpid), w0 = Date.now();
            await new Promise(r => setTimeout(r, 10000));
            const b = treeCpu(bpid), w = (Date.now() - w0) / 1000;
            const q1 = await page.evaluate(() => [...document.querySelectorAll('.st-tile video')].map(v => {
                const q = v.getVideoPlaybackQuality(); return [q.totalVideoFrames, q.droppedVideoFrames, v.currentTime]; }));
            const lat = await page.evaluate(() => [...document.querySelectorAll('.st-tile video')].map(v =>
                v.buffered.length ? +(v.buffered.end(v.buffered.length - 1) - v.currentTime).toFixed(3) : null));
            return { players: q1.length, cpuPercent: +(100 * (b.sec - a.sec) / w).toFixed(1), seconds: +w.toFixed(1), top: topCpu(a, b),
                     procs: b.procs, cores: require('os').cpus().length,
                     framesPerSec: q1.map((q, i) => +((q[0] - q0[i][0]) / w).toFixed(1)),
                     dropped: q1.map((q, i) => q[1] - q0[i][1]),
                     advanced: q1.map((q, i) => +(q[2] - q0[i][2]).toFixed(2)), bufferAhead: lat };
        });

        // ---- a source to PVW, then the take ----
        await step('sourceToPvw', async () => {
            const before = await colour('#st-pvw', 0.5, 0.5);
            const c0 = Date.now();
            await page.click('.st-tile[data-location="RV02"]');
            await colourIs('#st-pvw', 0.5, 0.5, 'blue');
            return { before, after: 'blue', ms: Date.now() - c0,
                     marked: await page.$eval('.st-tile[data-location="RV02"]', e => e.classList.contains('st-onpvw')) };
        });
        await step('take', async () => {
            const before = await colour('#st-pgm', 0.5, 0.5);
            const c0 = Date.now();
            await page.click('#st-take');
            await colourIs('#st-pgm', 0.5, 0.5, 'blue');
            const ms = Date.now() - c0;
            await page.waitForFunction(() => /PGM · RV02/.test(document.querySelector('#st-pgm .st-label').textContent));
            return { before, after: await colour('#st-pgm', 0.5, 0.5), clickToPictureMs: ms,
                     label: await page.$eval('#st-pgm .st-label', e => e.textContent) };
        });
        await shot('take');

        // ---- a layout and an overlay on PVW, taken ----
        await step('layout', async () => {
            await page.click('.st-layout[data-layout="' + pip + '"]');
            // PiP: RV01 full, RV02 inset at (0.7, 0.05) 0.25 high
            await colourIs('#st-pvw', 0.3, 0.6, 'red');
            await colourIs('#st-pvw', 0.82, 0.15, 'blue');
            await page.waitForSelector('#st-comps input[type=checkbox]:not([disabled])');
            await page.check('#st-comps input[type=checkbox]');
            await page.waitForFunction(() => leStudio.state.scenes[0].ComponentIds.length === 1);
            await page.click('#st-take');
            await colourIs('#st-pgm', 0.3, 0.6, 'red');
            await colourIs('#st-pgm', 0.82, 0.15, 'blue');
            await page.waitForFunction(() => leStudio.state.scenes[1].ComponentIds.length === 1);
            return { pvw: await page.evaluate(() => leStudio.state.scenes[0]), pgmComponents: await page.evaluate(() => leStudio.state.scenes[1].ComponentIds) };
        });

        // ---- destructive actions ask once ----
        await step('stopAsks', async () => {
            const n = dialogs.length;
            dismissNext = true;
            await page.click('#st-stop');
            await new Promise(r => setTimeout(r, 2500));
            return { asked: dialogs.length - n, dialog: dialogs[n] || '',
                     running: await page.$eval('.st-badge', e => e.textContent) };
        });

        // ---- standby: the API's error without the file, then PGM on the standby video ----
        await step('standbyError', async () => {
            const n = dialogs.length;
            await page.click('#st-standby');
            await page.waitForSelector('.st-error:not([hidden]) .code');
            return { asked: dialogs.length - n, code: await page.$eval('.st-error .code', e => e.textContent),
                     message: await page.$eval('.st-error .message', e => e.textContent) };
        });
        await shot('error');
        await step('standby', async () => {
            fs.renameSync(urgentSrc, urgentDst);
            const c0 = Date.now();
            await page.click('#st-standby');
            await colourIs('#st-pgm', 0.5, 0.5, 'green');
            await page.waitForFunction(() => /STANDBY/.test(document.querySelector('#st-pgm .st-label').textContent));
            return { ms: Date.now() - c0, errorHidden: await page.$eval('.st-error', e => e.hidden),
                     label: await page.$eval('#st-pgm .st-label', e => e.textContent) };
        });

        // ---- the programme timeline ----
        await step('timeline', async () => ({
            episodes: await page.$$eval('.st-ep', es => es.map(e => ({ cls: e.className, title: e.title, text: e.textContent }))),
            head: await page.$eval('.st-tl-head', e => e.textContent),
        }));
        await shot('end');
        // a phone: PVW, TAKE and PGM stacked, nothing wider than the screen
        await step('phone', async () => {
            await page.setViewportSize({ width: 390, height: 844 });
            await new Promise(r => setTimeout(r, 500));
            await shot('phone');
            return await page.evaluate(() => ({
                scrollWidth: document.documentElement.scrollWidth,
                pgmWidth: Math.round(document.querySelector('#st-pgm').getBoundingClientRect().width),
                takeVisible: document.querySelector('#st-take').getBoundingClientRect().width > 0,
                stacked: document.querySelector('#st-pgm').getBoundingClientRect().top >
                    document.querySelector('#st-pvw').getBoundingClientRect().bottom }));
        });
        await page.setViewportSize({ width: 1280, height: 1000 });
        out.dialogs = dialogs;
        out.layoutNames = await page.$$eval('.st-layout span', es => es.map(e => e.textContent));
        // the same browser with no player: leaving the page stops the players (the route's cleanup)
        await step('cpuIdle', async () => {
            await page.evaluate(() => { location.hash = '#/relays'; });
            await page.waitForFunction(() => document.querySelectorAll('video').length === 0);
            await new Promise(r => setTimeout(r, 1000));
            const a = treeCpu(bpid), w0 = Date.now();
            await new Promise(r => setTimeout(r, 5000));
            const b = treeCpu(bpid), w = (Date.now() - w0) / 1000;
            return { cpuPercent: +(100 * (b.sec - a.sec) / w).toFixed(1), seconds: +w.toFixed(1), top: topCpu(a, b),
                     players: await page.evaluate(() => window.leStudio ? [...window.leStudio.tiles().sources.values(), window.leStudio.tiles().pvw, window.leStudio.tiles().pgm].filter(t => t.player).length : -1) };
        });
    });
    return out;
});
