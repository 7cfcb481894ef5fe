/* Streams: every live stream of the cluster, per domain (DescribeLiveUserDomains,
 * then DescribeLiveStreamsOnlineList, ...FrameRateAndBitRateData and
 * DescribeLiveStreamOnlineUserNum per domain), the latest snapshot as a
 * thumbnail where a snapshot config names an OverwriteOssObject, filters,
 * and a player with copyable push and play URLs. Refreshes every 5 s. */
(function () {
  'use strict';
  var LE = window.LE, h = LE.h;

  function key(d, a, s) { return d + '/' + a + '/' + s; }
  function fromUrl(u) {                     /* rtmp://domain/app/stream */
    var m = /^rtmp:\/\/([^/]+)\/([^/]+)\/([^/?]+)/.exec(u || '');
    return m ? key(m[1], m[2], m[3]) : '';
  }

  /* All live streams of every domain, with rates, viewers and snapshot templates. */
  LE.loadStreams = function () {
    return LE.api('DescribeLiveUserDomains', { PageSize: 500 }).then(function (b) {
      var domains = LE.items(b, 'Domains', 'PageData').filter(function (d) { return d.LiveDomainType !== 'liveEdge'; });
      return Promise.all(domains.map(function (d) {
        var dn = d.DomainName;
        return Promise.all([
          LE.api('DescribeLiveStreamsOnlineList', { DomainName: dn, PageSize: 2000 }),
          LE.api('DescribeLiveStreamsFrameRateAndBitRateData', { DomainName: dn }).catch(function () { return {}; }),
          LE.api('DescribeLiveStreamOnlineUserNum', { DomainName: dn }).catch(function () { return {}; }),
          LE.api('DescribeLiveSnapshotConfig', { DomainName: dn }).catch(function () { return {}; })
        ]).then(function (r) {
          var rates = {}, users = {}, snaps = {};
          LE.items(r[1], 'FrameRateAndBitRateInfos', 'FrameRateAndBitRateInfo').forEach(function (x) { rates[fromUrl(x.StreamUrl)] = x; });
          LE.items(r[2], 'OnlineUserInfo', 'LiveStreamOnlineUserNumInfo').forEach(function (x) { users[fromUrl(x.StreamUrl)] = x.UserNumber; });
          LE.items(r[3], 'LiveStreamSnapshotConfigList', 'LiveStreamSnapshotConfig').forEach(function (x) { snaps[x.AppName] = x; });
          return LE.items(r[0], 'OnlineInfo', 'LiveStreamOnlineInfo').map(function (s) {
            var k = key(s.DomainName, s.AppName, s.StreamName), rt = rates[k] || {};
            return {
              domain: s.DomainName, app: s.AppName, name: s.StreamName, node: s.Node || '',
              client: s.ClientAddr, published: s.PublishTime, transcoded: s.Transcoded,
              fps: rt.VideoFrameRate, afps: rt.AudioFrameRate, kbps: rt.BitRate,
              codec: LE.codecName(s.VideoCodecId, s.AudioCodecId),
              size: s.Width && s.Height ? s.Width + 'x' + s.Height : '',
              viewers: users[k] !== undefined ? users[k] : '', snap: snaps[s.AppName] || snaps['*'] || null
            };
          });
        });
      })).then(function (lists) { return { domains: domains, streams: [].concat.apply([], lists) }; });
    });
  };

  /* FLV codec ids, as DescribeLiveStreamsOnlineList gives them. */
  var VCODECS = { 7: 'H.264', 12: 'H.265', 32: 'AV1', 33: 'VP9' }, ACODECS = { 2: 'MP3', 10: 'AAC', 13: 'Opus' };
  LE.codecName = function (v, a) {
    return [VCODECS[v], ACODECS[a]].filter(Boolean).join(' + ');
  };

  LE.thumb = function (s) {
    if (!s.snap || !s.snap.OverwriteOssObject) return Promise.resolve(null);
    var obj = s.snap.OverwriteOssObject.replace(/\{AppName\}/g, s.app).replace(/\{StreamName\}/g, s.name);
    return LE.urls.file(s.domain, '/record/' + s.snap.OssBucket + '/' + obj);
  };

  /* The player box: a video, format choice and the URLs. box.start() and
   * box.stop() control the player; it starts at once unless opts.idle. */
  LE.playerBox = function (domain, app, name, opts) {
    var video = h('video', { class: 'player', controls: true, id: 'player' });
    var status = h('div', { class: 'player-status mute' });
    video.addEventListener('loadedmetadata', function () {
      if (video.videoWidth) status.textContent = 'Playing ' + video.videoWidth + 'x' + video.videoHeight + ' (' + fmt.value.slice(1).toUpperCase() + ')';
    });
    var urls = h('div', { class: 'urls' });
    var stop = null;
    var fmt = h('select', { id: 'player-format' },
      h('option', { value: '.flv' }, 'HTTP-FLV (mpegts.js)'),
      h('option', { value: '.m3u8' }, 'HLS / LL-HLS (hls.js)'));
    function start() {
      if (stop) stop();
      status.textContent = '';
      stop = function () {};
      LE.urls.play(domain, app, name, fmt.value).then(function (u) { if (stop) stop = LE.player(video, u); });
    }
    fmt.addEventListener('change', function () { if (stop) start(); });
    Promise.all([LE.urls.push(domain, app, name), LE.urls.play(domain, app, name, '.flv'),
      LE.urls.play(domain, app, name, '.m3u8')]).then(function (u) {
      urls.appendChild(h('dl', { class: 'kv' },
        h('dt', {}, 'Push'), h('dd', {}, LE.copyField(u[0])),
        h('dt', {}, 'HTTP-FLV'), h('dd', {}, LE.copyField(u[1])),
        h('dt', {}, 'HLS'), h('dd', {}, LE.copyField(u[2]))));
    });
    var box = h('div', { class: 'card playerbox' },
      h('div', { class: 'row' }, h('b', {}, domain + '/' + app + '/' + name), fmt,
        h('a', { href: LE.href('stream', { domain: domain, app: app, stream: name }) }, 'Stream page')),
      h('div', {}, video, status), urls);
    box.start = start;
    box.stop = function () { if (stop) { stop(); stop = null; } status.textContent = 'Stopped.'; };
    box.playing = function () { return !!stop; };
    if (!(opts && opts.idle)) start();
    return box;
  };

  LE.page('streams', {
    title: 'Streams', nav: true, order: 10,
    render: function (el, params) {
      var fDomain = h('select', { id: 'f-domain' }, h('option', { value: '' }, 'All domains'));
      var fText = h('input', { id: 'f-text', placeholder: 'app or stream name', value: params.q || '' });
      var fNode = h('input', { id: 'f-node', placeholder: 'node', size: 10 });
      var count = h('span', { class: 'mute', id: 'count' });
      var list = h('div', { id: 'stream-list' }, h('p', { class: 'mute' }, 'Loading…'));
      var playerSlot = h('div', { id: 'player-slot' });
      var last = null;
      el.appendChild(h('h1', {}, 'Live streams'));
      el.appendChild(h('div', { class: 'filters' },
        h('label', {}, 'Domain', fDomain), h('label', {}, 'Search', fText), h('label', {}, 'Node', fNode), count));
      var blocks = h('div', { id: 'block-list' });
      el.appendChild(playerSlot);
      el.appendChild(list);
      el.appendChild(h('h2', {}, 'Block list'));
      el.appendChild(blocks);
      [fDomain, fText, fNode].forEach(function (x) { x.addEventListener('input', function () { draw(); }); });

      function play(s) {
        LE.clear(playerSlot).appendChild(LE.playerBox(s.domain, s.app, s.name));
        playerSlot.scrollIntoView({ block: 'nearest' });
      }
      function draw() {
        if (!last) return;
        var q = fText.value.toLowerCase(), dn = fDomain.value, nd = fNode.value.toLowerCase();
        var rows = last.streams.filter(function (s) {
          return (!dn || s.domain === dn) && (!nd || s.node.toLowerCase().indexOf(nd) >= 0) &&
            (!q || (s.app + '/' + s.name).toLowerCase().indexOf(q) >= 0);
        });
        count.textContent = rows.length + ' of ' + last.streams.length + ' live';
        var now = Date.now();
        var t = LE.table([
          { title: '', get: function (s) {
            var img = h('div', { class: 'nothumb' });
            if (s.snap) LE.thumb(s).then(function (u) {
              if (!u) return;
              var i = h('img', { class: 'thumb', alt: '', src: u + '&t=' + Math.floor(now / 5000) });
              i.onerror = function () { i.replaceWith(h('div', { class: 'nothumb' })); };
              img.replaceWith(i);
            });
            return img;
          } },
          { title: 'Domain', key: 'domain' },
          { title: 'App', key: 'app' },
          { title: 'Stream', get: function (s) {
            return h('a', { class: 'stream-link', href: LE.href('stream', { domain: s.domain, app: s.app, stream: s.name }) }, s.name);
          } },
          { title: 'Node', key: 'node' },
          { title: 'Codec', key: 'codec' },
          { title: 'Size', key: 'size' },
          { title: 'FPS', get: function (s) { return s.fps !== undefined ? s.fps : ''; } },
          { title: 'Bitrate', get: function (s) { return s.kbps !== undefined ? s.kbps + ' kbps' : ''; } },
          { title: 'Viewers', key: 'viewers' },
          { title: 'Uptime', get: function (s) { return s.published ? LE.fmtDuration((now - Date.parse(s.published)) / 1000) : ''; } },
          { title: '', get: function (s) {
            return h('button', { type: 'button', class: 'small play-btn', 'data-stream': s.app + '/' + s.name,
              onclick: function () { play(s); } }, 'Play');
          } }
        ], rows, 'No live stream' + (q || dn || nd ? ' matches.' : '.'));
        if (t.querySelector) { var tb = t.querySelector('table'); if (tb) tb.className = 'stack'; }
        LE.clear(list).appendChild(t);
      }
      function refresh() {
        return LE.loadStreams().then(function (r) {
          last = r;
          var have = {};
          Array.prototype.forEach.call(fDomain.options, function (o) { have[o.value] = 1; });
          r.domains.forEach(function (d) {
            if (!have[d.DomainName]) fDomain.appendChild(h('option', { value: d.DomainName }, d.DomainName));
          });
          draw();
          return Promise.all(r.domains.map(function (d) {
            return LE.api('DescribeLiveStreamsBlockList', { DomainName: d.DomainName, PageSize: 3000 }).then(function (b) {
              return LE.items(b, 'StreamUrls', 'StreamUrl');
            });
          })).then(function (l) {
            var rows = [].concat.apply([], l);
            LE.clear(blocks).appendChild(LE.table([
              { title: 'Stream', get: function (u) { return u; } },
              { title: '', get: function (u) {
                var p = u.split('/');
                return h('button', { type: 'button', class: 'small', onclick: function () {
                  if (!LE.confirm('Resume ' + u + '?')) return;
                  LE.api('ResumeLiveStream', { DomainName: p[0], AppName: p[1], StreamName: p.slice(2).join('/'), LiveStreamType: 'publisher' })
                    .then(function () { LE.toast('Resumed ' + u); refresh(); }, LE.toastError);
                } }, 'Resume');
              } }
            ], rows, 'No stream is forbidden.'));
          });
        }).catch(function (e) { LE.showError(list, e); });
      }
      LE.every(5000, refresh);
      if (params.play) {
        var p = params.play.split('/');
        if (p.length === 3) play({ domain: p[0], app: p[1], name: p[2] });
      }
    }
  });
})();
