/* www/js/pages/studio.js: the production studio (docs/CONSOLE.md "Studio").
 *
 * One caster at a time: its sources (DescribeCasterVideoResources), layouts
 * (DescribeCasterLayouts), components (DescribeCasterComponents), scenes
 * (DescribeCasterScenes: PVW and PGM) and programme (DescribeCasterProgram).
 * The multiviewer plays PVW, PGM and every live source side by side over
 * HTTP-FLV with mpegts.js (www/vendor), tuned for low latency: no stash
 * buffer, latency chasing. A click on a source puts it on PVW full frame
 * (EffectCasterVideoResource), a click on a layout gives PVW that layout
 * (UpdateCasterSceneConfig, the overlays kept), Take copies PVW to PGM
 * (CopyCasterSceneConfig), the overlay toggles set PVW's ComponentIds, the
 * standby button puts PGM on the standby video (EffectCasterUrgent). Every
 * action goes through LE.api (api.js: signature v1); an API error is shown
 * with its Code and Message; what changes a running programme's output for
 * the worse (stop, standby, a scene's stop) asks once.
 *
 * Play URLs: a scene's stream is caster/{SceneId without dashes} of the
 * caster's domain (docs/STUDIO.md "Stream names and URLs"), played at
 * LE.playBase() (where players reach the node, set at sign-in) with
 * ?vhost={domain} and the domain's URL signature (LE.urls.play). A live
 * source on this node plays as its own stream; a source on another server
 * as the hidden input the node pulls it into, caster/{CasterId}_RVnn.
 */
(function () {
    'use strict';
    const POLL_MS = 2000;

    /* ---- small DOM helpers (own, so the page does not depend on app.js' internals) ---- */
    function h(tag, attrs, ...kids) {
        const e = document.createElement(tag);
        for (const [k, v] of Object.entries(attrs || {})) {
            if (v === undefined || v === null || v === false) continue;
            if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
            else if (k === 'class') e.className = v;
            else if (k === 'text') e.textContent = v;
            else e.setAttribute(k, v === true ? '' : v);
        }
        for (const c of kids.flat()) if (c !== null && c !== undefined && c !== false)
            e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
        return e;
    }
    const noDash = id => String(id || '').replace(/-/g, '');
    function errText(e) {
        if (e && e.Code) return e.Code + ': ' + (e.Message || '');
        return String(e && e.message ? e.message : e);
    }
    const confirmOnce = msg => LE.confirm(msg);
    const loadMpegts = () => window.mpegts ? Promise.resolve(window.mpegts)
        : LE.loadScript('vendor/mpegts.js').then(() => window.mpegts);

    /* ---- a tile's player ---- */
    class Tile {
        constructor(label, onclick) {
            this.video = h('video', { muted: true, autoplay: true, playsinline: true });
            this.video.muted = true;
            this.note = h('div', { class: 'st-note' });
            this.label = h('div', { class: 'st-label', text: label });
            this.el = h('div', { class: 'st-tile' + (onclick ? ' st-click' : ''), onclick }, this.video, this.label, this.note);
            this.key = null;
            this.player = null;
        }
        setNote(t) { this.note.textContent = t || ''; }
        /* Plays what key names (a stream, unsigned), its URL made (signed,
         * so different each time) by make() only when key changes. */
        play(key, make) {
            if (key === this.key) return;
            this.stop();
            this.key = key;
            if (!key) return;
            Promise.all([loadMpegts(), make()]).then(([mpegts, url]) => {
                if (this.key !== key) return;
                if (!mpegts.isSupported()) { this.setNote('MSE not supported'); return; }
                const p = mpegts.createPlayer({ type: 'flv', isLive: true, url, hasAudio: true, hasVideo: true }, {
                    enableWorker: false, enableStashBuffer: false, stashInitialSize: 64 * 1024, lazyLoad: false,
                    liveBufferLatencyChasing: true, liveBufferLatencyMaxLatency: 1.2, liveBufferLatencyMinRemain: 0.3,
                    autoCleanupSourceBuffer: true,
                });
                this.player = p;
                p.on(mpegts.Events.ERROR, (type, detail) => {
                    this.setNote(type + ' ' + detail);
                    // a stream that is not live yet (PGM during its Delay): try again later
                    setTimeout(() => { if (this.player === p) { this.stop(); this.play(key, make); } }, 3000);
                });
                p.attachMediaElement(this.video);
                p.load();
                const r = p.play();
                if (r && r.catch) r.catch(() => {});
                this.setNote('');
            }).catch(e => this.setNote(errText(e)));
        }
        stop() {
            if (this.player) {
                try { this.player.pause(); this.player.unload(); this.player.detachMediaElement(); this.player.destroy(); } catch (e) { /* gone */ }
                this.player = null;
            }
            this.key = null;
        }
    }

    /* ---- the page ---- */
    function render(el, params) {
        const st = {
            casterId: pickId(params) || sessionStorage.getItem('le.studio.caster') || '',
            casters: [], cfg: null, res: [], layouts: [], comps: [], scenes: [], prog: null,
            tiles: new Map(), alive: true, timer: null,
        };
        const errBox = h('div', { class: 'st-error', role: 'alert', hidden: true });
        const sel = h('select', { id: 'st-caster', onchange: () => { st.casterId = sel.value; reload(); } });
        const badge = h('span', { class: 'st-badge' });
        const btnStart = h('button', { id: 'st-start', onclick: () => act('StartCaster', {}, null) }, 'Start');
        const btnStop = h('button', { id: 'st-stop', class: 'st-danger',
            onclick: () => act('StopCaster', {}, 'Stop the caster? PVW and PGM stop being published.') }, 'Stop');
        const btnStandby = h('button', { id: 'st-standby', class: 'st-danger', onclick: standby }, 'Standby');
        const btnPvw = h('button', { id: 'st-pvw-run', onclick: pvwRun }, 'PVW on');
        const take = h('button', { id: 'st-take', class: 'st-take', onclick: doTake, title: 'PVW to PGM (CopyCasterSceneConfig)' }, 'TAKE');
        const pvwTile = new Tile('PVW'), pgmTile = new Tile('PGM');
        pvwTile.el.id = 'st-pvw'; pgmTile.el.id = 'st-pgm';
        const mainRow = h('div', { class: 'st-main' }, pvwTile.el, h('div', { class: 'st-mid' }, take), pgmTile.el);
        const srcRow = h('div', { class: 'st-sources', id: 'st-sources' });
        const layoutRow = h('div', { class: 'st-layouts', id: 'st-layouts' });
        const compRow = h('div', { class: 'st-comps', id: 'st-comps' });
        const timeline = h('div', { class: 'st-timeline', id: 'st-timeline' });
        el.replaceChildren(h('div', { class: 'st-page' },
            h('div', { class: 'st-bar' }, h('label', {}, 'Caster ', sel), badge, btnStart, btnStop, btnPvw, btnStandby,
                h('span', { class: 'st-opt', id: 'st-base' }, 'players at ' + LE.playBase())),
            errBox, mainRow,
            h('h3', {}, 'Sources'), srcRow,
            h('h3', {}, 'Layouts'), layoutRow,
            h('h3', {}, 'Overlays (PVW)'), compRow,
            h('h3', {}, 'Programme'), timeline));

        function showError(e) {
            errBox.hidden = false;
            LE.showError(errBox, e && e.Code ? e : { Code: 'ConsoleError', Message: errText(e) });
        }
        function clearError() { errBox.hidden = true; errBox.textContent = ''; }
        async function act(action, p, ask) {
            if (ask && !confirmOnce(ask)) return null;
            try {
                const r = await LE.api(action, Object.assign({ CasterId: st.casterId }, p));
                clearError();
                await refresh();
                return r;
            } catch (e) {
                showError(e);
                return null;
            }
        }
        const pvw = () => st.scenes.find(s => s.OutputType === 0) || {};
        const pgm = () => st.scenes.find(s => s.OutputType === 1) || {};
        function doTake() {
            return act('CopyCasterSceneConfig', { FromSceneId: pvw().SceneId, ToSceneId: pgm().SceneId }, null);
        }
        function standby() {
            const on = pgm().Urgent === 1;
            if (on) { showError({ Code: 'Standby', Message: 'PGM is on the standby video: a Take ends it.' }); return; }
            return act('EffectCasterUrgent', { SceneId: pgm().SceneId },
                'Put PGM on the standby video (' + ((st.cfg && st.cfg.UrgentMaterialId) || 'none set') + ')?');
        }
        function pvwRun() {
            const on = pvw().Status === 1;
            return act(on ? 'StopCasterScene' : 'StartCasterScene', { SceneId: pvw().SceneId },
                on ? 'Stop PVW? Its stream ends until it is started again.' : null);
        }

        /* ---- play URLs ---- */
        /* [key, make] for stream app/stream of domain (null: this node's
         * default domain, reached by the host of LE.playBase()). */
        function flv(domain, app, stream) {
            const key = (domain || '') + '/' + app + '/' + stream;
            const make = () => domain && LE.urls ? LE.urls.play(domain, app, stream, '.flv')
                : Promise.resolve(LE.playBase() + '/' + app + '/' + stream + '.flv' + (domain ? '?vhost=' + encodeURIComponent(domain) : ''));
            return [key, make];
        }
        /* a scene's stream: the path of its rtmp StreamUrl in the caster's domain */
        function sceneFlv(s) {
            const m = /^rtmps?:\/\/[^/]+\/([^/?]+)\/([^/?]+)/.exec(s.StreamUrl || '');
            return m && st.cfg && st.cfg.DomainName ? flv(st.cfg.DomainName, m[1], m[2]) : [null];
        }
        function sourceFlv(r) {
            const m = /^rtmps?:\/\/([^/:?]+|\[[^\]]+\])(?::\d+)?\/([^/?]+)\/([^/?]+)/.exec(r.LiveStreamUrl || '');
            if (!r.LiveStreamUrl) return [null];
            const dom = st.cfg && st.cfg.DomainName;
            const host = m ? m[1] : '';
            if (m && /^(127\.0\.0\.1|localhost|\[::1\])$/.test(host)) return flv(null, m[2], m[3]);
            if (m && known.has(host)) return flv(host, m[2], m[3]);
            // another server: the node pulls it into a hidden input of the caster's domain
            return dom ? flv(dom, 'caster', st.casterId + '_' + r.LocationId) : [null];
        }
        const known = new Set();
        function refreshPlayers() {
            const running = st.casters.find(c => c.CasterId === st.casterId);
            const on = running && Number(running.Status) === 1;
            pvwTile.play(...(on && pvw().Status === 1 ? sceneFlv(pvw()) : [null]));
            pvwTile.setNote(on ? (pvw().Status === 1 ? '' : 'PVW stopped') : 'caster stopped');
            pgmTile.play(...(on ? sceneFlv(pgm()) : [null]));
            if (!on) pgmTile.setNote('caster stopped');
            for (const r of st.res) {
                const t = st.tiles.get(r.ResourceId);
                if (t) t.play(...sourceFlv(r));
            }
        }

        /* ---- drawing ---- */
        function drawCasters() {
            sel.replaceChildren(...st.casters.map(c => h('option', { value: c.CasterId, selected: c.CasterId === st.casterId },
                (c.CasterName || c.CasterId) + (Number(c.Status) === 1 ? ' (running)' : ''))));
            if (!st.casters.length) sel.appendChild(h('option', { value: '' }, 'no caster'));
        }
        function describe(s) {
            if (!s.SceneId) return '';
            if (s.Urgent === 1) return 'STANDBY';
            if (s.EffectResourceId) {
                const r = st.res.find(x => x.ResourceId === s.EffectResourceId);
                return r ? r.LocationId + ' ' + (r.ResourceName || '') : 'source';
            }
            if (s.LayoutId) return 'layout ' + layoutName(s.LayoutId);
            return 'empty';
        }
        function layoutName(id) {
            const i = st.layouts.findIndex(l => l.LayoutId === id);
            return i < 0 ? id.slice(0, 8) : 'L' + (i + 1) + ' ' + (st.layouts[i].BlendList || []).join('+');
        }
        function drawState() {
            const c = st.casters.find(x => x.CasterId === st.casterId);
            const on = c && Number(c.Status) === 1;
            badge.textContent = c ? (on ? 'running' : 'stopped') : '';
            badge.className = 'st-badge ' + (on ? 'st-on' : 'st-off');
            btnStart.disabled = !c || on; btnStop.disabled = !on;
            btnStandby.disabled = !on || !pgm().SceneId;
            btnStandby.classList.toggle('st-active', pgm().Urgent === 1);
            btnPvw.disabled = !on;
            btnPvw.textContent = pvw().Status === 1 ? 'PVW off' : 'PVW on';
            take.disabled = !on || !pvw().SceneId;
            pvwTile.label.textContent = 'PVW · ' + describe(pvw());
            pgmTile.label.textContent = 'PGM · ' + describe(pgm());
            pgmTile.el.classList.toggle('st-standby', pgm().Urgent === 1);
        }
        function drawSources() {
            const keep = new Set();
            for (const r of st.res) {
                keep.add(r.ResourceId);
                let t = st.tiles.get(r.ResourceId);
                if (!t) {
                    t = new Tile('', () => act('EffectCasterVideoResource', { SceneId: pvw().SceneId, ResourceId: r.ResourceId }, null));
                    t.el.dataset.location = r.LocationId;
                    st.tiles.set(r.ResourceId, t);
                }
                const kind = r.LiveStreamUrl ? 'live' : r.VodUrl ? 'file ' + r.VodUrl.split('/').pop() : 'material ' + (r.MaterialId || '');
                t.label.textContent = r.LocationId + ' · ' + (r.ResourceName || '') + (r.LiveStreamUrl ? '' : ' (' + kind + ')');
                t.el.classList.toggle('st-onpvw', pvw().EffectResourceId === r.ResourceId);
                t.el.classList.toggle('st-onpgm', pgm().EffectResourceId === r.ResourceId && pgm().Urgent !== 1);
                if (!r.LiveStreamUrl) t.setNote('file: no live preview');
            }
            for (const [id, t] of st.tiles) if (!keep.has(id)) { t.stop(); st.tiles.delete(id); }
            srcRow.replaceChildren(...[...st.tiles.values()].sort((a, b) => a.el.dataset.location < b.el.dataset.location ? -1 : 1).map(t => t.el));
            if (!st.res.length) srcRow.replaceChildren(h('p', { class: 'st-empty' }, 'no video resource (AddCasterVideoResource)'));
        }
        function layoutIcon(l) {
            const W = 96, H = 54, ns = 'http://www.w3.org/2000/svg';
            const svg = document.createElementNS(ns, 'svg');
            svg.setAttribute('viewBox', `0 0 ${W} ${H}`); svg.setAttribute('width', W); svg.setAttribute('height', H);
            const bg = document.createElementNS(ns, 'rect');
            bg.setAttribute('width', W); bg.setAttribute('height', H); bg.setAttribute('class', 'st-lbg');
            svg.appendChild(bg);
            (l.VideoLayers || []).forEach((v, i) => {
                let hh = v.HeightNormalized || 0, ww = v.WidthNormalized || 0;
                if (!hh && !ww) hh = ww = 1;
                if (!ww) ww = hh; if (!hh) hh = ww;
                const [px, py] = v.PositionNormalized || [0, 0];
                const ref = v.PositionRefer || 'topLeft';
                let x = px, y = py;
                if (/Right$/.test(ref)) x -= ww; else if (/Center$|^center$/.test(ref) && !/^(left|right)/.test(ref)) x -= ww / 2;
                if (/^bottom/.test(ref)) y -= hh; else if (/^(center|leftCenter|rightCenter)$/.test(ref)) y -= hh / 2;
                const r = document.createElementNS(ns, 'rect');
                r.setAttribute('x', x * W); r.setAttribute('y', y * H); r.setAttribute('width', ww * W); r.setAttribute('height', hh * H);
                r.setAttribute('class', 'st-l' + (i % 4));
                svg.appendChild(r);
                const t = document.createElementNS(ns, 'text');
                t.setAttribute('x', x * W + 3); t.setAttribute('y', y * H + 11); t.textContent = (l.BlendList || [])[i] || '';
                svg.appendChild(t);
            });
            return svg;
        }
        function drawLayouts() {
            layoutRow.replaceChildren(...st.layouts.map((l, i) => h('button', {
                class: 'st-layout' + (pvw().LayoutId === l.LayoutId && !pvw().EffectResourceId ? ' st-onpvw' : '') +
                    (pgm().LayoutId === l.LayoutId && !pgm().EffectResourceId && pgm().Urgent !== 1 ? ' st-onpgm' : ''),
                'data-layout': l.LayoutId, title: l.LayoutId,
                onclick: () => act('UpdateCasterSceneConfig', { SceneId: pvw().SceneId, LayoutId: l.LayoutId }, null),
            }, layoutIcon(l), h('span', {}, 'L' + (i + 1) + ' ' + (l.BlendList || []).join('+')))));
            if (!st.layouts.length) layoutRow.replaceChildren(h('p', { class: 'st-empty' }, 'no layout (AddCasterLayout)'));
        }
        function drawComps() {
            const on = new Set(pvw().ComponentIds || []);
            const lay = pvw().LayoutId;
            compRow.replaceChildren(...st.comps.map(c => {
                const cb = h('input', { type: 'checkbox', 'data-component': c.ComponentId, disabled: !lay,
                    title: lay ? '' : 'PVW needs a layout for overlays: pick one' });
                cb.checked = on.has(c.ComponentId);
                cb.onchange = () => {
                    const ids = st.comps.map(x => x.ComponentId).filter(id => id === c.ComponentId ? cb.checked : on.has(id));
                    const p = { SceneId: pvw().SceneId, LayoutId: lay };
                    ids.forEach((id, i) => { p['ComponentIds.' + (i + 1)] = id; });
                    if (!ids.length) return act('DeleteCasterSceneConfig', { SceneId: pvw().SceneId, Type: 'Component' }, null);
                    return act('UpdateCasterSceneConfig', p, null);
                };
                const what = c.ComponentType === 'text' ? '“' + ((c.TextLayerContent || {}).Text || '') + '”' : ((c.ImageLayerContent || {}).MaterialId || c.ComponentType);
                const inPgm = pgm().Urgent !== 1 && (pgm().ComponentIds || []).includes(c.ComponentId);
                return h('label', { class: 'st-comp' + (inPgm ? ' st-onpgm' : '') }, cb, ' ' + c.LocationId + ' ' + (c.ComponentName || '') + ' ' + what);
            }));
            if (!st.comps.length) compRow.replaceChildren(h('p', { class: 'st-empty' }, 'no component (AddCasterComponent)'));
        }
        function drawTimeline() {
            const eps = (st.prog && st.prog.Episodes) || [];
            if (!eps.length) {
                timeline.replaceChildren(h('p', { class: 'st-empty' }, 'no episode' + (st.prog ? '' : ' (the programme cannot be read)')));
                return;
            }
            const t = s => Date.parse(s);
            const now = Date.now();
            let t0 = Math.min(now, ...eps.map(e => t(e.StartTime))), t1 = Math.max(now, ...eps.map(e => t(e.EndTime)));
            const pad = (t1 - t0) * 0.05 || 60000; t0 -= pad; t1 += pad;
            const pct = x => ((x - t0) / (t1 - t0) * 100).toFixed(3) + '%';
            const bar = h('div', { class: 'st-tl-bar' });
            for (const e of eps) {
                const name = e.EpisodeName || (e.EpisodeType === 'Resource' ? ((st.res.find(r => r.ResourceId === e.ResourceId) || {}).ResourceName || 'resource') : 'components');
                const b = h('div', { class: 'st-ep st-ep' + (e.Status || 0), 'data-episode': e.EpisodeId,
                    title: `${name}: ${e.StartTime} - ${e.EndTime} (${e.SwitchType || ''}, ${['waiting', 'on air', 'done'][e.Status || 0]})` }, name);
                b.style.left = pct(t(e.StartTime));
                b.style.width = 'calc(' + pct(t(e.EndTime)) + ' - ' + pct(t(e.StartTime)) + ')';
                bar.appendChild(b);
            }
            const mark = h('div', { class: 'st-now', title: 'now' });
            mark.style.left = pct(now);
            bar.appendChild(mark);
            timeline.replaceChildren(
                h('div', { class: 'st-tl-head' }, (st.prog.ProgramName ? st.prog.ProgramName + ' · ' : '') +
                    (Number(st.prog.ProgramEffect) === 1 ? 'programme on (drives PGM)' : 'programme off (PGM is the operator\'s)')),
                bar,
                h('div', { class: 'st-tl-axis' }, h('span', {}, new Date(t0).toISOString().slice(11, 19) + 'Z'),
                    h('span', {}, new Date(t1).toISOString().slice(11, 19) + 'Z')));
        }
        function draw() {
            drawCasters(); drawState(); drawSources(); drawLayouts(); drawComps(); drawTimeline(); refreshPlayers();
        }

        /* ---- reading ---- */
        async function refresh() {
            if (!st.alive) return;
            try {
                if (!known.size) {
                    const d = await LE.api('DescribeLiveUserDomains', { PageSize: 100 }).catch(() => null);
                    LE.items(d || {}, 'Domains', 'PageData').forEach(x => known.add(x.DomainName));
                }
                const cl = await LE.api('DescribeCasters', { PageSize: 100 });
                st.casters = cl.CasterList || [];
                if (!st.casterId || !st.casters.some(c => c.CasterId === st.casterId))
                    st.casterId = st.casters.length ? st.casters[0].CasterId : '';
                if (!st.casterId) { draw(); return; }
                sessionStorage.setItem('le.studio.caster', st.casterId);
                const id = { CasterId: st.casterId };
                const [cfg, res, lay, comp] = await Promise.all([
                    LE.api('DescribeCasterConfig', id), LE.api('DescribeCasterVideoResources', id),
                    LE.api('DescribeCasterLayouts', id), LE.api('DescribeCasterComponents', id)]);
                st.cfg = cfg; st.res = res.VideoResources || []; st.layouts = lay.Layouts || []; st.comps = comp.Components || [];
                // scenes need a DomainName (404 InvalidConfiguration.NotFound without one): shown as the error
                st.scenes = cfg.DomainName ? ((await LE.api('DescribeCasterScenes', id)).SceneList || []) : [];
                try { st.prog = await LE.api('DescribeCasterProgram', Object.assign({ Rows: 100 }, id)); } catch (e) { st.prog = null; }
                if (!cfg.DomainName) showError({ Code: 'InvalidConfiguration.NotFound', Message: 'the caster has no DomainName (SetCasterConfig)' });
                draw();
            } catch (e) {
                showError(e);
            }
        }
        function reload() {
            for (const t of st.tiles.values()) t.stop();
            st.tiles.clear();
            pvwTile.stop(); pgmTile.stop();
            clearError();
            refresh();
        }
        function tick() {
            if (!el.isConnected) { cleanup(); return; }
            refresh().finally(() => { if (st.alive) st.timer = setTimeout(tick, POLL_MS); });
        }
        function cleanup() {
            st.alive = false;
            clearTimeout(st.timer);
            for (const t of st.tiles.values()) t.stop();
            pvwTile.stop(); pgmTile.stop();
        }
        // the test and the operator's keyboard: T takes, nothing else
        function onKey(e) {
            if (!el.isConnected) { document.removeEventListener('keydown', onKey); return; }
            if ((e.key === 't' || e.key === 'T') && !/INPUT|SELECT|TEXTAREA/.test(document.activeElement.tagName) && !take.disabled) doTake();
        }
        document.addEventListener('keydown', onKey);
        window.leStudio = { state: st, tiles: () => ({ pvw: pvwTile, pgm: pgmTile, sources: st.tiles }), refresh };
        st.timer = setTimeout(tick, 0);
        return cleanup;
    }

    function pickId(params) {
        if (!params) return '';
        if (typeof params === 'string') return params;
        if (Array.isArray(params)) return params[0] || '';
        return params.caster || params.CasterId || params.id || '';
    }

    LE.page('studio', { title: 'Studio', nav: true, order: 45, render });
})();
