/* A stream's page (#/stream?domain=D&app=A&stream=S): the player and URLs,
 * per-minute bitrate, frame rate and viewers of the last hour as graphs
 * (uPlot; DescribeLiveStreamBitRateData, DescribeLiveStreamHistoryUserNum),
 * forbid (with ResumeTime) / resume, recording start/stop
 * (RealTimeRecordCommand), publish and control history, renditions
 * (DescribeLiveStreamTranscodeInfo) and the time-shift timeline (the HTTP
 * port's /openapi/timeline/query; a click plays from that time). */
(function () {
  'use strict';
  var LE = window.LE, h = LE.h;

  function chart(el, title, series, xs, ys) {
    LE.clear(el);
    if (!xs.length) { el.appendChild(h('p', { class: 'mute' }, title + ': no samples yet.')); return; }
    if (!window.uPlot) return;
    var w = Math.max(240, Math.min(el.clientWidth || 600, 900));
    var u = new uPlot({ title: title, width: w, height: 180, series: [{}, { label: series, stroke: '#1f6feb', width: 2, fill: 'rgba(31,111,235,.08)' }],
      axes: [{}, { size: 60 }] }, [xs, ys], el);
    LE.onLeave(function () { u.destroy(); });
  }

  function minutes(b, outer, inner, tkey, vkey) {
    var pts = LE.items(b, outer, inner).map(function (x) {
      return [Date.parse(x[tkey]) / 1000, Number(x[vkey]) || 0];
    }).sort(function (a, c) { return a[0] - c[0]; });
    return [pts.map(function (p) { return p[0]; }), pts.map(function (p) { return p[1]; })];
  }

  LE.page('stream', {
    title: 'Stream', nav: false,
    render: function (el, p) {
      var D = p.domain, A = p.app, S = p.stream;
      if (!D || !A || !S) { LE.go('streams'); return; }
      var base = { DomainName: D, AppName: A, StreamName: S };
      var state = h('span', { id: 'stream-state' }, '…');
      var resumeAt = h('input', { id: 'resume-time', type: 'datetime-local' });
      var g1 = h('div', { class: 'chart', id: 'chart-bitrate' }), g2 = h('div', { class: 'chart', id: 'chart-fps' }),
        g3 = h('div', { class: 'chart', id: 'chart-viewers' });
      var pubs = h('div', { id: 'publish-history' }), ctl = h('div', { id: 'control-history' });
      var rends = h('div', { id: 'renditions' }), tl = h('div', { id: 'timeshift' });
      var errs = h('div', { id: 'stream-errors' });
      var box = LE.playerBox(D, A, S, { idle: true });   /* plays while the stream is live */

      el.appendChild(h('h1', {}, D + ' / ' + A + ' / ' + S, ' ', state));
      el.appendChild(errs);
      el.appendChild(h('div', { class: 'card row' },
        h('label', {}, 'Resume at (empty: never)', resumeAt),
        h('button', { type: 'button', class: 'danger', id: 'forbid-btn', onclick: forbid }, 'Forbid'),
        h('button', { type: 'button', id: 'resume-btn', onclick: resume }, 'Resume'),
        h('button', { type: 'button', class: 'ghost', id: 'rec-start', onclick: function () { record('start'); } }, 'Start recording'),
        h('button', { type: 'button', class: 'ghost', id: 'rec-stop', onclick: function () { record('stop'); } }, 'Stop recording')));
      el.appendChild(h('div', { class: 'grid2' },
        h('div', {}, box),
        h('div', { class: 'card' }, h('h2', {}, 'Last hour, per minute'), g1, g2, g3)));
      el.appendChild(h('div', { class: 'card' }, h('h2', {}, 'Time-shift'), tl));
      el.appendChild(h('div', { class: 'card' }, h('h2', {}, 'Renditions'), rends));
      el.appendChild(h('div', { class: 'grid2' },
        h('div', { class: 'card' }, h('h2', {}, 'Publish history'), pubs),
        h('div', { class: 'card' }, h('h2', {}, 'Control history'), ctl)));

      function win(ms) {
        var now = Date.now();
        return { StartTime: LE.utc(now - ms), EndTime: LE.utc(now) };
      }
      function loadState() {
        return Promise.all([
          LE.api('DescribeLiveStreamsBlockList', { DomainName: D, PageSize: 3000 }),
          LE.api('DescribeLiveStreamsOnlineList', { DomainName: D, AppName: A, StreamName: S, QueryType: 'strict' })
        ]).then(function (r) {
          var blocked = LE.items(r[0], 'StreamUrls', 'StreamUrl').some(function (u) {
            return u === D + '/' + A + '/' + S;
          });
          var live = LE.items(r[1], 'OnlineInfo', 'LiveStreamOnlineInfo').length > 0;
          state.className = blocked ? 'state-off' : live ? 'state-on' : 'mute';
          state.textContent = blocked ? 'forbidden' : live ? 'live' : 'offline';
          if (live && !blocked && !box.playing()) box.start();
          else if ((!live || blocked) && box.playing()) box.stop();
        }, function (e) { LE.showError(errs, e); });
      }
      function loadCharts() {
        var w = win(3600 * 1000);
        LE.api('DescribeLiveStreamBitRateData', Object.assign({}, base, w)).then(function (b) {
          var br = minutes(b, 'FrameRateAndBitRateInfos', 'FrameRateAndBitRateInfo', 'Time', 'BitRate');
          var fr = minutes(b, 'FrameRateAndBitRateInfos', 'FrameRateAndBitRateInfo', 'Time', 'VideoFrameRate');
          chart(g1, 'Bitrate (kbps)', 'kbps', br[0], br[1]);
          chart(g2, 'Video frame rate', 'fps', fr[0], fr[1]);
        }, function (e) { LE.showError(g1, e); });
        var w1 = win(3600 * 1000);
        LE.api('DescribeLiveStreamHistoryUserNum', Object.assign({}, base, w1)).then(function (b) {
          var v = minutes(b, 'LiveStreamUserNumInfos', 'LiveStreamUserNumInfo', 'StreamTime', 'UserNum');
          chart(g3, 'Viewers', 'viewers', v[0], v[1]);
        }, function (e) { LE.showError(g3, e); });
      }
      function loadHistory() {
        var w = win(7 * 86400 * 1000);
        LE.api('DescribeLiveStreamsPublishList', Object.assign({ DomainName: D, AppName: A, StreamName: S, PageSize: 20 }, w)).then(function (b) {
          LE.clear(pubs).appendChild(LE.table([
            { title: 'Published', key: 'PublishTime' }, { title: 'Stopped', key: 'StopTime' },
            { title: 'Client', key: 'ClientAddr' }, { title: 'Push domain', key: 'PublishDomain' }
          ], LE.items(b, 'PublishInfo', 'LiveStreamPublishInfo'), 'No publish in 7 days.'));
        }, function (e) { LE.showError(pubs, e); });
        LE.api('DescribeLiveStreamsControlHistory', Object.assign({ DomainName: D, AppName: A }, w)).then(function (b) {
          var rows = LE.items(b, 'ControlInfo', 'LiveStreamControlInfo').filter(function (x) { return x.StreamName === S; });
          LE.clear(ctl).appendChild(LE.table([
            { title: 'Time', key: 'TimeStamp' }, { title: 'Action', key: 'Action' }, { title: 'Client', key: 'ClientIP' }
          ], rows.slice(0, 50), 'No control action in 7 days.'));
        }, function (e) { LE.showError(ctl, e); });
      }
      function loadRenditions() {
        LE.api('DescribeLiveStreamTranscodeInfo', { DomainTranscodeName: D }).then(function (b) {
          var rows = LE.items(b, 'DomainTranscodeList', 'DomainTranscodeInfo').filter(function (x) {
            return x.TranscodeApp === A || x.TranscodeApp === '*';
          });
          LE.clear(rends).appendChild(LE.table([
            { title: 'Template', key: 'TranscodeTemplate' },
            { title: 'Stream', get: function (x) { return S + '_' + x.TranscodeTemplate; } },
            { title: '', get: function (x) {
              return h('a', { href: LE.href('stream', { domain: D, app: A, stream: S + '_' + x.TranscodeTemplate }) }, 'open');
            } }
          ], rows, 'No transcoding for this app.'));
        }, function (e) { LE.showError(rends, e); });
      }
      function loadTimeline() {
        var now = Math.floor(Date.now() / 1000), from = now - 3600;
        var q = 'app=' + encodeURIComponent(A) + '&stream=' + encodeURIComponent(S) +
          '&format=ts&lhs_start_unix_s_0=' + from + '&lhs_end_unix_s_0=' + now + '&domain=' + encodeURIComponent(D);
        LE.urls.auth(D).then(function (a) {
          return fetch(LE.playBase() + LE.urls.sign(a, '/openapi/timeline/query', q), { cache: 'no-store', credentials: 'omit' });
        }).then(function (r) { return r.json(); }).then(function (j) {
          var spans = (j.content && j.content.timeline) || [];
          LE.clear(tl);
          if (j.retCode !== 0 || !spans.length) {
            tl.appendChild(h('p', { class: 'mute' }, j.retCode === 0 ? 'Nothing recorded in the last hour.' :
              'Time-shift is off for this domain (' + (j.description || j.retCode) + ').'));
            return;
          }
          var bar = h('div', { class: 'timeline', id: 'timeline-bar', title: 'click to play from that time' });
          spans.forEach(function (s) {
            bar.appendChild(h('span', { style: 'left:' + ((s.start - from) / (now - from) * 100) + '%;width:' +
              Math.max(0.3, (s.end - s.start) / (now - from) * 100) + '%' }));
          });
          bar.addEventListener('click', function (ev) {
            var t = Math.floor(from + (ev.offsetX / bar.clientWidth) * (now - from));
            var video = el.querySelector('#player');
            LE.urls.play(D, A, S, '.m3u8').then(function (u) {
              LE.player(video, u + '&lhs_start_unix_s_0=' + t);
              LE.toast('Playing from ' + new Date(t * 1000).toISOString());
            });
          });
          tl.appendChild(h('div', { class: 'row mute' }, new Date(from * 1000).toISOString().slice(11, 16) + ' UTC', h('span', { style: 'flex:1' }), 'now'));
          tl.appendChild(bar);
        }).catch(function () {
          LE.clear(tl).appendChild(h('p', { class: 'mute' }, 'The timeline query is not reachable at ' + LE.playBase() + '.'));
        });
      }

      function forbid() {
        if (!LE.confirm('Forbid ' + D + '/' + A + '/' + S + '? The publisher is cut now.')) return;
        var args = Object.assign({ LiveStreamType: 'publisher' }, base);
        if (resumeAt.value) args.ResumeTime = LE.utc(new Date(resumeAt.value).getTime());
        LE.api('ForbidLiveStream', args).then(function () { LE.toast('Forbidden.'); loadState(); loadHistory(); }, LE.toastError);
      }
      function resume() {
        if (!LE.confirm('Resume ' + D + '/' + A + '/' + S + '?')) return;
        LE.api('ResumeLiveStream', Object.assign({ LiveStreamType: 'publisher' }, base))
          .then(function () { LE.toast('Resumed.'); loadState(); loadHistory(); }, LE.toastError);
      }
      function record(cmd) {
        if (cmd === 'stop' && !LE.confirm('Stop recording ' + A + '/' + S + '?')) return;
        LE.api('RealTimeRecordCommand', Object.assign({ Command: cmd }, base))
          .then(function () { LE.toast('Recording ' + (cmd === 'start' ? 'started' : 'stopped') + '.'); }, LE.toastError);
      }

      LE.every(5000, loadState);
      LE.every(60000, loadCharts);
      loadHistory();
      loadRenditions();
      loadTimeline();
    }
  });
})();
