// t/integration/llhls-browser.js: headless Chromium (playwright-core) plays a
// stream's Low-Latency HLS playlist with hls.js in lowLatencyMode, as a web
// page would; used by 91-llhls-browser.sh.
//
//   node llhls-browser.js PAGE_URL PLAYLIST_URL SAMPLE_SECONDS
//
// PAGE_URL is a page on another origin than the node that loads hls.min.js
// (every request to the node is cross-origin). On it, hls.js
// (lowLatencyMode: true) loads PLAYLIST_URL into a muted <video>:
//  - "details": what hls.js parsed from the first LEVEL_LOADED/LEVEL_UPDATED
//    with parts (PART-TARGET, CAN-BLOCK-RELOAD, PART-HOLD-BACK, the parts and
//    the preload hint it saw; whether it is live);
//  - "play": the time to the first presented frame, currentTime advancing 1 s,
//    videoWidth x videoHeight, a frame drawn into a canvas (luma min/max);
//  - "golive": when hls.latency is over 1 s above hls.targetLatency once
//    playing (a slow first frame), one seek to hls.liveSyncPosition, as a
//    page's "live" button does (the latency before and 1 s after);
//  - "latency": then for SAMPLE_SECONDS, every 250 ms, hls.latency (the player's
//    own figure: the live edge of the playlist, aged by the time since it was
//    loaded, minus currentTime; the first sample, the median and max over all
//    and over the second half, once the latency controller has caught up:
//    hls.js runs with maxLiveSyncPlaybackRate 1.5), hls.targetLatency, hls.drift, and
//    Date.now() - hls.playingDate (behind the EXT-X-PROGRAM-DATE-TIME of the
//    frame being shown); currentTime at the start and the end (it advances);
//    stalls (the video element's 'waiting' events after the first frame).
// All along: every request the page makes to the node (path and query, status,
// how long it was held — a blocking reload shows as a long playlist request),
// hls.js ERROR events, console messages, page errors, failed requests.
// Prints one JSON object; the shell asserts on it. Environment: LE_PW_MODULE,
// LE_CHROMIUM.
'use strict';
const B = require('./browser-lib.js');

const STEP_MS = 20000;
const [pageUrl, playlistUrl, sampleArg] = process.argv.slice(2);
const SAMPLE_S = Number(sampleArg || 8);

B.main(async () => {
    const out = { console: [], pageErrors: [], failed: [], aborted: [], requests: [], t0: Date.now() };
    const nodeOrigin = new URL(playlistUrl).origin;
    await B.withBrowser(STEP_MS, [], async browser => {
        const page = await browser.newPage();
        page.setDefaultTimeout(STEP_MS);
        page.on('console', m => out.console.push(m.type() + ': ' + m.text()));
        page.on('pageerror', e => out.pageErrors.push(String(e && e.message ? e.message : e)));
        page.on('requestfailed', r => {
            const f = r.failure();
            const u = new URL(r.url());
            // hls.js aborts its own requests (a superseded blocking reload, a
            // preload hint it no longer wants): those are not failures.
            if (!(f && /ERR_ABORTED/.test(f.errorText)))
                out.failed.push((f ? f.errorText : '?') + ' ' + u.pathname + u.search);
            else if (u.origin === nodeOrigin) {
                const t = r.timing();
                out.aborted.push({ start: t && t.startTime > 0 ? Math.round(t.startTime - out.t0) : -1, at: Date.now() - out.t0,
                                   path: u.pathname, query: u.search });
            }
        });
        // Every request to the node: path+query, status, how long it took
        // (request sent to response headers), from playwright's timing.
        page.on('requestfinished', async r => {
            const u = new URL(r.url());
            if (u.origin !== nodeOrigin) return;
            const t = r.timing(), at = Date.now() - out.t0;
            let status = 0;
            try { const resp = await r.response(); status = resp ? resp.status() : 0; } catch (e) { /* gone */ }
            out.requests.push({ start: t && t.startTime > 0 ? Math.round(t.startTime - out.t0) : -1, at, path: u.pathname,
                                query: u.search, status,
                                waitMs: t && t.responseStart >= 0 && t.requestStart >= 0 ?
                                    Math.round(t.responseStart - t.requestStart) : -1 });
        });
        await page.goto(pageUrl);
        await page.waitForFunction(() => window.Hls !== undefined, null, { timeout: STEP_MS });
        await page.evaluate(B.IN_PAGE_VIDEO);
        out.origin = await page.evaluate(() => location.origin);
        out.hls = await page.evaluate(() => ({ version: Hls.version, supported: Hls.isSupported() }));

        // Load: the playlist as hls.js parsed it (LL-HLS fields).
        await B.step(out, 'details', () => page.evaluate(async ([src, ms]) => {
            const v = document.createElement('video');
            v.id = 'v'; v.muted = true; v.autoplay = true;
            document.body.appendChild(v);
            // lowLatencyMode, and the latency controller may play up to 1.5x to
            // reach the target latency (hls.js' maxLiveSyncPlaybackRate; at its
            // default of 1 a player that started late stays that late)
            const hls = new Hls({ debug: false, enableWorker: true, lowLatencyMode: true,
                                  maxLiveSyncPlaybackRate: 1.5 });
            window.leHls = hls;
            window.leErrors = [];
            window.leWaiting = [];
            hls.on(Hls.Events.ERROR, (e, d) => leErrors.push({ t: Math.round(performance.now()), type: d.type,
                details: d.details, fatal: d.fatal, url: d.url || (d.context && d.context.url) || '',
                code: d.response ? d.response.code : undefined }));
            window.leT0 = performance.now();
            window.leFirstFrame = new Promise(r => {
                const f = () => {
                    // where the playhead started against the live edge
                    window.leAtFirst = { currentTime: v.currentTime, latency: hls.latency,
                        liveSyncPosition: hls.liveSyncPosition, targetLatency: hls.targetLatency,
                        buffered: Array.from({ length: v.buffered.length },
                            (_, i) => [v.buffered.start(i), v.buffered.end(i)]) };
                    r(performance.now() - leT0);
                };
                if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(f);
                else v.addEventListener('playing', f, { once: true });
            });
            leFirstFrame.then(() => v.addEventListener('waiting',
                () => leWaiting.push({ t: Math.round(performance.now()), currentTime: v.currentTime })));
            const loaded = new Promise((resolve, reject) => {
                const t = setTimeout(() => reject(new Error('no level details with parts in ' + ms + ' ms')), ms);
                const on = (e, d) => {
                    const l = d.details;
                    if (!l || !l.partList || !l.partList.length) return;
                    clearTimeout(t);
                    resolve({
                        live: l.live, version: l.version, targetduration: l.targetduration,
                        partTarget: l.partTarget, canBlockReload: l.canBlockReload,
                        canSkipUntil: l.canSkipUntil, partHoldBack: l.partHoldBack, holdBack: l.holdBack,
                        fragments: l.fragments.length, parts: l.partList.length,
                        independentParts: l.partList.filter(p => p.independent).length,
                        partDurations: l.partList.map(p => Math.round(p.duration * 1000)),
                        preloadHint: !!l.preloadHint, hasProgramDateTime: !!l.hasProgramDateTime,
                        initSegment: !!(l.fragments[0] && l.fragments[0].initSegment),
                        startSN: l.startSN, endSN: l.endSN, endPart: l.endPart,
                    });
                };
                hls.on(Hls.Events.LEVEL_LOADED, on);
                hls.on(Hls.Events.LEVEL_UPDATED, on);
                hls.on(Hls.Events.ERROR, (e, d) => { if (d.fatal) { clearTimeout(t); reject(new Error(d.details)); } });
            });
            hls.loadSource(src);
            hls.attachMedia(v);
            return await loaded;
        }, [playlistUrl, STEP_MS]));

        await B.step(out, 'play', () => page.evaluate(async (ms) => {
            const v = document.getElementById('v');
            const first = await Promise.race([leFirstFrame,
                new Promise((_, rej) => setTimeout(() => rej(new Error('no frame in ' + ms + ' ms')), ms))]);
            if (v.paused) await v.play();
            const ct0 = v.currentTime;
            await leAdvance(v, ct0, 1.0, ms);
            await leNextFrame(v);
            return { firstFrameMs: Math.round(first), atFirst: window.leAtFirst, from: ct0, currentTime: v.currentTime,
                     width: v.videoWidth, height: v.videoHeight, frame: leFrame(v) };
        }, STEP_MS));

        // Go live: a player whose first frame came late (a loaded machine:
        // Chromium's media pipeline took seconds to present it) starts that far
        // behind, and hls.js neither seeks (liveMaxLatencyDuration is infinite
        // unless liveSyncDuration replaces PART-HOLD-BACK) nor speeds up (only
        // within a target duration of the target latency). As a page's "live"
        // button does: one seek to hls.liveSyncPosition when more than 1 s off
        // the target, then 1 s to settle.
        await B.step(out, 'golive', () => page.evaluate(async () => {
            const v = document.getElementById('v');
            const h = window.leHls;
            const r = { before: h.latency, target: h.targetLatency, seeked: false };
            if (h.latency > h.targetLatency + 1 && h.liveSyncPosition) {
                v.currentTime = h.liveSyncPosition;
                r.seeked = true;
            }
            await new Promise(res => setTimeout(res, 1000));
            r.after = h.latency;
            return r;
        }));

        // Latency behind live, sampled while playing.
        await B.step(out, 'latency', () => page.evaluate(async (secs) => {
            const v = document.getElementById('v');
            const h = window.leHls;
            const samples = [];
            const ct0 = v.currentTime, t0 = performance.now(), w0 = window.leWaiting.length;
            while (performance.now() - t0 < secs * 1000) {
                await new Promise(r => setTimeout(r, 250));
                const pd = h.playingDate;
                samples.push({
                    latency: h.latency, target: h.targetLatency, drift: h.drift,
                    pdtLag: pd ? (Date.now() - pd.getTime()) / 1000 : null,
                    rate: v.playbackRate, buffered: v.buffered.length ?
                        v.buffered.end(v.buffered.length - 1) - v.currentTime : 0,
                });
            }
            const med = a => { const s = a.filter(x => typeof x === 'number' && isFinite(x)).sort((x, y) => x - y);
                               return s.length ? s[Math.floor(s.length / 2)] : null; };
            const max = a => { const s = a.filter(x => typeof x === 'number' && isFinite(x));
                               return s.length ? Math.max(...s) : null; };
            const r3 = x => x === null ? null : Math.round(x * 1000) / 1000;
            const late = samples.slice(Math.floor(samples.length / 2));
            return {
                n: samples.length, from: ct0, currentTime: v.currentTime, paused: v.paused,
                latencyFirst: r3(samples.length ? samples[0].latency : null),
                latencyMedian: r3(med(samples.map(s => s.latency))), latencyMax: r3(max(samples.map(s => s.latency))),
                latencyLateMedian: r3(med(late.map(s => s.latency))), latencyLateMax: r3(max(late.map(s => s.latency))),
                rateMax: max(samples.map(s => s.rate)),
                latencyLast: r3(samples.length ? samples[samples.length - 1].latency : null),
                targetLatency: r3(h.targetLatency), drift: r3(h.drift),
                pdtLagMedian: r3(med(samples.map(s => s.pdtLag))),
                bufferedMedian: r3(med(samples.map(s => s.buffered))),
                lowLatencyMode: h.lowLatencyMode, width: v.videoWidth, height: v.videoHeight,
                stalls: window.leWaiting.length - w0, stallsBefore: w0,
            };
        }, SAMPLE_S));

        out.errors = await page.evaluate(() => window.leErrors || []);
        out.end = await B.videoEnd(page);
        await page.evaluate(() => window.leHls && window.leHls.destroy());
        // the requests still held by the node when hls.js was destroyed end as
        // aborted; give 'requestfinished' handlers a moment to record the rest
        await new Promise(r => setTimeout(r, 200));
    });
    return out;
});
