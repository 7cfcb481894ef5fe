/* livedge console: the shell (docs/CONSOLE.md). A hash router, the nav, the
 * sign-in screen and small helpers every page uses.
 *
 * Pages register themselves (one file each under js/pages/, one <script>
 * line in index.html):
 *   LE.page('name', { title: 'Name', nav: true, order: 10,
 *                     render: function (el, params) { ...; return cleanup; } })
 * render fills el for the route #/name?k=v (params = {k: v}); it may return
 * a function, called when the page is left. Timers made with LE.every and
 * players made with LE.player are stopped when the page is left anyway.
 *
 * Helpers: LE.h(tag, attrs, children...) builds elements (text is always
 * text, never HTML); LE.showError(el, err) shows an API error's Code and
 * Message; LE.confirm(text) asks once before a destructive action;
 * LE.go(name, params) navigates; LE.every(ms, fn); LE.loadScript(src);
 * LE.player(videoEl, url) plays HTTP-FLV (mpegts.js) or HLS (hls.js),
 * loading the vendored library on first use, and returns a stop function
 * (its errors are written into a .player-status element beside the video); LE.playBase() is where the
 * node's HTTP port is (set on the sign-in screen); LE.copyField(value). */
(function () {
  'use strict';
  var LE = window.LE = window.LE || {};
  var pages = {}, cleanups = [], current = null;

  LE.page = function (name, def) { def.name = name; pages[name] = def; if (LE._started) buildNav(); };
  LE.pages = function () { return pages; };

  LE.h = function (tag, attrs) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) return;
      if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
      else if (k === 'text') el.textContent = v;
      else if (k === 'value') el.value = v;
      else el.setAttribute(k, v === true ? '' : v);
    });
    for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  };
  function add(el, c) {
    if (c === undefined || c === null || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { add(el, x); }); return; }
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  var h = LE.h;

  LE.clear = function (el) { while (el.firstChild) el.removeChild(el.firstChild); return el; };

  LE.showError = function (el, e) {
    var box = h('div', { class: 'error', role: 'alert' },
      h('b', { class: 'code' }, e && e.Code || 'Error'), ' ',
      h('span', { class: 'message' }, e && (e.Message || e.message) || String(e)),
      e && e.RequestId ? h('small', {}, ' RequestId ' + e.RequestId) : null);
    if (el) { LE.clear(el); el.appendChild(box); }
    return box;
  };
  /* A toast for errors of actions (buttons). */
  LE.toastError = function (e) {
    var t = document.getElementById('toast');
    LE.showError(t, e);
    t.hidden = false;
    clearTimeout(LE._toastT);
    LE._toastT = setTimeout(function () { t.hidden = true; }, 8000);
  };
  LE.toast = function (text) {
    var t = document.getElementById('toast');
    LE.clear(t).appendChild(h('div', { class: 'ok' }, text));
    t.hidden = false;
    clearTimeout(LE._toastT);
    LE._toastT = setTimeout(function () { t.hidden = true; }, 4000);
  };
  LE.confirm = function (text) { return window.confirm(text); };

  LE.every = function (ms, fn) {
    var id = setInterval(fn, ms);
    cleanups.push(function () { clearInterval(id); });
    fn();
    return id;
  };
  LE.onLeave = function (fn) { cleanups.push(fn); };

  var loaded = {};
  LE.loadScript = function (src) {
    if (!loaded[src]) {
      loaded[src] = new Promise(function (ok, ko) {
        var s = h('script', { src: src });
        s.onload = ok;
        s.onerror = function () { ko(new Error('cannot load ' + src)); };
        document.head.appendChild(s);
      });
    }
    return loaded[src];
  };

  LE.playBase = function () {
    return localStorage.getItem('le.playBase') || (location.protocol + '//' + location.hostname + ':8080');
  };

  /* Plays url in video (muted, autoplay); returns a stop function. */
  LE.player = function (video, url) {
    var inst = null, stopped = false;
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    var isFlv = /\.flv(\?|$)/.test(url);
    /* A player's failure goes next to its video (class player-status), not to the console. */
    var report = function (msg) {
      if (stopped) return;
      var st = video.parentNode && video.parentNode.querySelector('.player-status');
      if (st) st.textContent = 'Player: ' + msg;
    };
    var p = isFlv
      ? LE.loadScript('vendor/mpegts.js').then(function () {
        if (stopped) return;
        inst = mpegts.createPlayer({ type: 'flv', isLive: true, url: url },
          { enableStashBuffer: false, liveBufferLatencyChasing: true, lazyLoad: false });
        inst.on(mpegts.Events.ERROR, function (type, detail, info) {
          report(type + ' ' + detail + (info && info.msg ? ': ' + info.msg : ''));
        });
        inst.attachMediaElement(video);
        inst.load();
        var pr = inst.play();
        if (pr && pr.catch) pr.catch(function () {});
      })
      : LE.loadScript('vendor/hls.min.js').then(function () {
        if (stopped) return;
        if (window.Hls && Hls.isSupported()) {
          inst = new Hls({ lowLatencyMode: true, liveSyncDurationCount: 2 });
          inst.on(Hls.Events.ERROR, function (ev, d) { if (d.fatal) report(d.type + ' ' + d.details); });
          inst.loadSource(url);
          inst.attachMedia(video);
        } else {
          video.src = url;
        }
        var pr = video.play();
        if (pr && pr.catch) pr.catch(function () {});
      });
    p.catch(function (e) { LE.toastError({ Code: 'PlayerError', Message: e.message }); });
    var stop = function () {
      stopped = true;
      if (inst) { try { inst.destroy(); } catch (e) { /* gone */ } inst = null; }
      video.removeAttribute('src');
    };
    cleanups.push(stop);
    return stop;
  };

  LE.copyField = function (value) {
    var inp = h('input', { class: 'copy', readonly: true, value: value, size: 40 });
    var btn = h('button', { type: 'button', class: 'small', onclick: function () {
      inp.select();
      var done = function () { btn.textContent = 'Copied'; setTimeout(function () { btn.textContent = 'Copy'; }, 1500); };
      if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(value).then(done, function () {});
      else { try { document.execCommand('copy'); done(); } catch (e) { /* select it by hand */ } }
    } }, 'Copy');
    return h('span', { class: 'copyfield' }, inp, btn);
  };

  LE.fmtBytes = function (n) {
    n = Number(n) || 0;
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + ' ' + u[i];
  };
  LE.fmtDuration = function (s) {
    s = Math.max(0, Math.floor(s));
    var d = Math.floor(s / 86400), hh = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    return (d ? d + 'd ' : '') + (d || hh ? hh + 'h ' : '') + m + 'm ' + (s % 60) + 's';
  };
  LE.utc = function (d) { return new Date(d).toISOString().replace(/\.\d{3}Z$/, 'Z'); };
  /* The items of an API list answer: body.Outer.Inner as an array. */
  LE.items = function (body, outer, inner) {
    var o = body && body[outer];
    var v = o && inner ? o[inner] : o;
    return Array.isArray(v) ? v : v ? [v] : [];
  };
  LE.table = function (cols, rows, empty) {
    if (!rows.length) return h('p', { class: 'empty' }, empty || 'Nothing here.');
    return h('div', { class: 'tablewrap' }, h('table', {},
      h('thead', {}, h('tr', {}, cols.map(function (c) { return h('th', {}, c.title); }))),
      h('tbody', {}, rows.map(function (r) {
        return h('tr', {}, cols.map(function (c) {
          var v = c.get ? c.get(r) : r[c.key];
          return h('td', { 'data-label': c.title }, v === undefined ? '' : v);
        }));
      }))));
  };

  function parseHash() {
    var m = location.hash.replace(/^#\/?/, '').split('?');
    var params = {};
    (m[1] || '').split('&').forEach(function (kv) {
      if (!kv) return;
      var i = kv.indexOf('=');
      params[decodeURIComponent(i < 0 ? kv : kv.slice(0, i))] = i < 0 ? '' : decodeURIComponent(kv.slice(i + 1));
    });
    return { name: m[0] || '', params: params };
  }
  LE.go = function (name, params) {
    var q = Object.keys(params || {}).map(function (k) {
      return encodeURIComponent(k) + '=' + encodeURIComponent(params[k]);
    }).join('&');
    location.hash = '#/' + name + (q ? '?' + q : '');
  };
  LE.href = function (name, params) {
    var q = Object.keys(params || {}).map(function (k) {
      return encodeURIComponent(k) + '=' + encodeURIComponent(params[k]);
    }).join('&');
    return '#/' + name + (q ? '?' + q : '');
  };

  function leave() {
    var c = cleanups;
    cleanups = [];
    c.forEach(function (f) { try { f(); } catch (e) { /* ignore */ } });
  }

  function buildNav() {
    var nav = LE.clear(document.getElementById('nav'));
    if (LE.auth.mode()) Object.keys(pages).map(function (k) { return pages[k]; })
      .filter(function (p) { return p.nav; })
      .sort(function (a, b) { return (a.order || 50) - (b.order || 50); })
      .forEach(function (p) {
        nav.appendChild(h('a', { href: '#/' + p.name, 'data-page': p.name,
          class: current === p.name ? 'active' : null }, p.title));
      });
    var who = document.getElementById('who');
    LE.clear(who);
    if (LE.auth.mode()) {
      who.appendChild(h('span', {}, LE.auth.mode() === 'keys' ? LE.auth.id() : 'loopback, no keys'));
      who.appendChild(h('button', { type: 'button', class: 'small', id: 'signout', onclick: function () {
        LE.auth.clear(); leave(); route();
      } }, 'Sign out'));
    }
  }

  function signIn(el) {
    document.title = 'Sign in · livedge';
    var err = h('div', { id: 'signin-error' });
    var ak = h('input', { id: 'ak', name: 'ak', autocomplete: 'username', required: true });
    var sk = h('input', { id: 'sk', name: 'sk', type: 'password', autocomplete: 'current-password', required: true });
    var base = h('input', { id: 'playbase', value: LE.playBase() });
    var check = function () {
      localStorage.setItem('le.playBase', base.value.replace(/\/+$/, ''));
      return LE.api('DescribeLiveUserDomains', { PageSize: 1 }).then(function () {
        buildNav(); route();
      }, function (e) { LE.auth.clear(); LE.showError(err, e); });
    };
    el.appendChild(h('form', { class: 'card signin', id: 'signin', onsubmit: function (ev) {
      ev.preventDefault();
      LE.clear(err);
      LE.auth.set(ak.value.trim(), sk.value);
      check();
    } },
    h('h1', {}, 'livedge console'),
    h('p', {}, 'Sign in with the admin AccessKey (livedge.conf(5), admin keys). It is kept in this tab only ' +
      '(sessionStorage) and signs every call in the browser; the secret itself is never sent.'),
    h('label', {}, 'AccessKeyId', ak),
    h('label', {}, 'AccessKeySecret', sk),
    h('label', {}, 'Players reach the node at', base),
    h('div', { class: 'row' },
      h('button', { type: 'submit', id: 'signin-btn' }, 'Sign in'),
      h('button', { type: 'button', class: 'ghost', id: 'nokeys', onclick: function () {
        LE.clear(err);
        LE.auth.loopback(); check();
      } }, 'No keys (loopback)')),
    window.isSecureContext ? null :
      h('p', { class: 'warn' }, 'This page is not a secure context (plain HTTP beyond loopback): use admin_tls.'),
    err));
  }

  function route() {
    leave();
    var r = parseHash();
    var el = LE.clear(document.getElementById('view'));
    if (!LE.auth.mode()) { current = null; buildNav(); signIn(el); return; }
    var p = pages[r.name];
    if (!p) { LE.go('streams'); return; }
    current = r.name;
    buildNav();
    document.title = p.title + ' · livedge';
    try {
      var c = p.render(el, r.params);
      if (typeof c === 'function') cleanups.push(c);
    } catch (e) {
      LE.showError(el, { Code: 'ConsoleError', Message: String(e && e.message || e) });
    }
  }

  window.addEventListener('hashchange', route);
  document.addEventListener('DOMContentLoaded', function () {
    LE._started = true;
    document.getElementById('toast').addEventListener('click', function () { this.hidden = true; });
    route();
  });
})();
