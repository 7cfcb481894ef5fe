/* Domains: the list (DescribeLiveUserDomains), add (AddLiveDomain), start /
 * stop / delete, push-to-play mappings (AddLiveDomainMapping,
 * DeleteLiveDomainMapping), and per domain its functions
 * (DescribeLiveDomainConfigs: aliauth keys masked until revealed, IP and
 * referer lists, ...; BatchSetLiveDomainConfigs / DeleteLiveSpecificConfig),
 * notify URL, record, snapshot and transcode configs. */
(function () {
  'use strict';
  var LE = window.LE, h = LE.h;
  var SECRET = /key|secret|password/i;

  function masked(v) {
    var shown = false, span = h('span', { class: 'masked' }, '••••••••');
    var b = h('button', { type: 'button', class: 'small ghost reveal', onclick: function () {
      shown = !shown;
      span.textContent = shown ? v : '••••••••';
      b.textContent = shown ? 'Hide' : 'Reveal';
    } }, 'Reveal');
    return h('span', {}, span, ' ', b);
  }

  function detail(el, D, reload) {
    var box = h('div', { id: 'domain-detail' });
    LE.clear(el).appendChild(box);
    box.appendChild(h('h2', {}, D));
    var fn = h('div', {}), notify = h('div', {}), rec = h('div', {}), snap = h('div', {}), tc = h('div', {});
    box.appendChild(h('div', { class: 'card' }, h('h2', {}, 'Functions'), fn));
    box.appendChild(h('div', { class: 'card' }, h('h2', {}, 'Notify URL'), notify));
    box.appendChild(h('div', { class: 'grid2' },
      h('div', { class: 'card' }, h('h2', {}, 'Record'), rec),
      h('div', { class: 'card' }, h('h2', {}, 'Snapshot'), snap)));
    box.appendChild(h('div', { class: 'card' }, h('h2', {}, 'Transcode'), tc));

    function loadFns() {
      LE.api('DescribeLiveDomainConfigs', { DomainName: D }).then(function (b) {
        var rows = LE.items(b, 'DomainConfigs', 'DomainConfig');
        LE.clear(fn).appendChild(LE.table([
          { title: 'Function', key: 'FunctionName' },
          { title: 'Arguments', get: function (c) {
            return h('dl', { class: 'kv' }, LE.items(c, 'FunctionArgs', 'FunctionArg').map(function (a) {
              return [h('dt', {}, a.ArgName), h('dd', {}, SECRET.test(a.ArgName) ? masked(a.ArgValue) : a.ArgValue)];
            }));
          } },
          { title: '', get: function (c) {
            return h('button', { type: 'button', class: 'small danger', onclick: function () {
              if (!LE.confirm('Delete ' + c.FunctionName + ' from ' + D + '?')) return;
              LE.api('DeleteLiveSpecificConfig', { DomainName: D, FunctionName: c.FunctionName, ConfigId: c.ConfigId })
                .then(loadFns, LE.toastError);
            } }, 'Delete');
          } }
        ], rows, 'No function set (no URL signing, no IP or referer list).'));
        var name = h('input', { placeholder: 'aliauth, ip_allow_list_set, referer_white_list_set, …', size: 28 });
        var args = h('textarea', { rows: 3, cols: 60, placeholder: '[{"argName":"auth_type","argValue":"type_a"},{"argName":"auth_key1","argValue":"…"}]' });
        fn.appendChild(h('form', { class: 'row', onsubmit: function (ev) {
          ev.preventDefault();
          var a;
          try { a = JSON.parse(args.value || '[]'); } catch (e) { LE.toastError({ Code: 'InvalidJson', Message: e.message }); return; }
          LE.api('BatchSetLiveDomainConfigs', { DomainNames: D,
            Functions: JSON.stringify([{ functionName: name.value.trim(), functionArgs: a }]) })
            .then(function () { LE.toast('Set.'); loadFns(); }, LE.toastError);
        } }, name, args, h('button', { type: 'submit' }, 'Set function')));
      }, function (e) { LE.showError(fn, e); });
    }
    function loadNotify() {
      LE.api('DescribeLiveStreamsNotifyUrlConfig', { DomainName: D }).then(function (b) {
        var c = b.LiveStreamsNotifyConfig || {};
        var url = h('input', { size: 50, value: c.NotifyUrl || '', placeholder: 'http://hooks.example/live' });
        LE.clear(notify).appendChild(h('form', { class: 'row', onsubmit: function (ev) {
          ev.preventDefault();
          var call = url.value ? LE.api('SetLiveStreamsNotifyUrlConfig', { DomainName: D, NotifyUrl: url.value })
            : (LE.confirm('Remove the notify URL of ' + D + '?') ? LE.api('DeleteLiveStreamsNotifyUrlConfig', { DomainName: D }) : null);
          if (call) call.then(function () { LE.toast('Saved.'); loadNotify(); }, LE.toastError);
        } }, url, h('button', { type: 'submit' }, 'Save'),
        c.NotifyReqAuth === 'yes' ? h('span', {}, 'auth key ', masked(c.NotifyAuthKey || '')) : null));
      }, function (e) { LE.showError(notify, e); });
    }
    LE.api('DescribeLiveRecordConfig', { DomainName: D }).then(function (b) {
      LE.clear(rec).appendChild(LE.table([
        { title: 'App', key: 'AppName' }, { title: 'Stream', key: 'StreamName' },
        { title: 'Bucket', key: 'OssBucket' }, { title: 'Formats', get: function (x) {
          return LE.items(x, 'RecordFormatList', 'RecordFormat').map(function (f) { return f.Format; }).join(', ');
        } }, { title: 'On demand', key: 'OnDemond' }
      ], LE.items(b, 'LiveAppRecordList', 'LiveAppRecord'), 'No record config.'));
    }, function (e) { LE.showError(rec, e); });
    LE.api('DescribeLiveSnapshotConfig', { DomainName: D }).then(function (b) {
      LE.clear(snap).appendChild(LE.table([
        { title: 'App', key: 'AppName' }, { title: 'Every (s)', key: 'TimeInterval' },
        { title: 'Bucket', key: 'OssBucket' }, { title: 'Latest', key: 'OverwriteOssObject' }
      ], LE.items(b, 'LiveStreamSnapshotConfigList', 'LiveStreamSnapshotConfig'), 'No snapshot config.'));
    }, function (e) { LE.showError(snap, e); });
    LE.api('DescribeLiveStreamTranscodeInfo', { DomainTranscodeName: D }).then(function (b) {
      LE.clear(tc).appendChild(LE.table([
        { title: 'App', key: 'TranscodeApp' }, { title: 'Template', key: 'TranscodeTemplate' },
        { title: 'Name', key: 'TranscodeName' }
      ], LE.items(b, 'DomainTranscodeList', 'DomainTranscodeInfo'), 'No transcode config.'));
    }, function (e) { LE.showError(tc, e); });
    loadFns();
    loadNotify();
  }

  LE.page('domains', {
    title: 'Domains', nav: true, order: 30,
    render: function (el, p) {
      var list = h('div', { id: 'domain-list' }, h('p', { class: 'mute' }, 'Loading…'));
      var det = h('div', {});
      var name = h('input', { placeholder: 'live.example.com', id: 'new-domain' });
      var type = h('select', {}, h('option', { value: 'liveVideo' }, 'play (liveVideo)'), h('option', { value: 'liveEdge' }, 'push (liveEdge)'));
      var push = h('input', { placeholder: 'push domain' }), pull = h('input', { placeholder: 'play domain' });
      el.appendChild(h('h1', {}, 'Domains'));
      el.appendChild(list);
      el.appendChild(h('div', { class: 'grid2' },
        h('form', { class: 'card row', onsubmit: function (ev) {
          ev.preventDefault();
          LE.api('AddLiveDomain', { DomainName: name.value.trim(), LiveDomainType: type.value, Region: 'cn-shanghai', Scope: 'domestic' })
            .then(function () { LE.toast('Added ' + name.value); name.value = ''; load(); }, LE.toastError);
        } }, h('b', {}, 'Add a domain'), name, type, h('button', { type: 'submit' }, 'Add')),
        h('form', { class: 'card row', onsubmit: function (ev) {
          ev.preventDefault();
          LE.api('AddLiveDomainMapping', { PushDomain: push.value.trim(), PullDomain: pull.value.trim() })
            .then(function () { LE.toast('Mapped.'); }, LE.toastError);
        } }, h('b', {}, 'Mapping'), push, '→', pull, h('button', { type: 'submit' }, 'Map'),
        h('button', { type: 'button', class: 'ghost', onclick: function () {
          if (!LE.confirm('Delete the mapping ' + push.value + ' → ' + pull.value + '?')) return;
          LE.api('DeleteLiveDomainMapping', { PushDomain: push.value.trim(), PullDomain: pull.value.trim() })
            .then(function () { LE.toast('Mapping deleted.'); }, LE.toastError);
        } }, 'Unmap'))));
      el.appendChild(det);

      function act(action, D, q) {
        if (q && !LE.confirm(q)) return;
        LE.api(action, { DomainName: D }).then(function () { LE.toast(action + ' ' + D); load(); }, LE.toastError);
      }
      function load() {
        LE.api('DescribeLiveUserDomains', { PageSize: 500 }).then(function (b) {
          LE.clear(list).appendChild(LE.table([
            { title: 'Domain', get: function (d) {
              return h('a', { href: LE.href('domains', { d: d.DomainName }) }, d.DomainName);
            } },
            { title: 'Type', key: 'LiveDomainType' },
            { title: 'Status', get: function (d) {
              return h('span', { class: d.LiveDomainStatus === 'online' ? 'state-on' : 'state-off' }, d.LiveDomainStatus);
            } },
            { title: 'Created', key: 'GmtCreated' },
            { title: '', get: function (d) {
              return h('span', { class: 'row' },
                d.LiveDomainStatus === 'online'
                  ? h('button', { type: 'button', class: 'small ghost', onclick: function () { act('StopLiveDomain', d.DomainName, 'Stop ' + d.DomainName + '? Its streams are refused.'); } }, 'Stop')
                  : h('button', { type: 'button', class: 'small', onclick: function () { act('StartLiveDomain', d.DomainName); } }, 'Start'),
                h('button', { type: 'button', class: 'small danger', onclick: function () { act('DeleteLiveDomain', d.DomainName, 'Delete ' + d.DomainName + ' and its configs?'); } }, 'Delete'));
            } }
          ], LE.items(b, 'Domains', 'PageData'), 'No domain.'));
        }, function (e) { LE.showError(list, e); });
      }
      load();
      if (p.d) detail(det, p.d, load);
    }
  });
})();
