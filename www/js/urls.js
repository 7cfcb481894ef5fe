/* livedge console: push and play URLs, signed with the domain's aliauth key
 * when the domain has one (livedge.conf(5), "URL signatures"; the key is
 * read with DescribeLiveDomainConfigs, which the signed-in operator may
 * call anyway). Nothing here talks to anything but the admin API.
 *
 *   LE.urls.auth(domain) -> Promise of {type:'a'|'b'|'c'|'', key, delta}
 *   LE.urls.sign(auth, uri, path) -> the path (a URI such as
 *       /live/cam.flv) signed: type A adds auth_key=ts-rand-0-md5 to the
 *       query, B and C put their two path segments in front.
 *   LE.urls.play(domain, app, stream, ext) -> Promise of a full URL at
 *       LE.playBase() (?vhost=domain names the domain whatever the host).
 *   LE.urls.push(domain, app, stream) -> Promise of rtmp://.../App/Stream */
(function () {
  'use strict';
  var LE = window.LE;
  var cache = {};

  function rand() {
    var a = new Uint8Array(8);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (x) { return (x + 256).toString(16).slice(1); }).join('');
  }
  function pad(n) { return (n < 10 ? '0' : '') + n; }

  LE.urls = {
    auth: function (domain) {
      if (!cache[domain]) {
        cache[domain] = LE.api('DescribeLiveDomainConfigs', { DomainName: domain, FunctionNames: 'aliauth' })
          .then(function (b) {
            var out = { type: '', key: '', delta: 1800 };
            LE.items(b, 'DomainConfigs', 'DomainConfig').forEach(function (c) {
              if (c.FunctionName !== 'aliauth') return;
              LE.items(c, 'FunctionArgs', 'FunctionArg').forEach(function (a) {
                if (a.ArgName === 'auth_type') out.type = String(a.ArgValue).replace(/^type_/, '').replace('no_auth', '');
                if (a.ArgName === 'auth_key1') out.key = a.ArgValue;
                if (a.ArgName === 'auth_key2' && !out.key) out.key = a.ArgValue;
                if (a.ArgName === 'ali_auth_delta') out.delta = Number(a.ArgValue) || 1800;
              });
            });
            if (!out.key) out.type = '';
            return out;
          }, function () { delete cache[domain]; return { type: '', key: '', delta: 0 }; });
        setTimeout(function () { delete cache[domain]; }, 60000);
      }
      return cache[domain];
    },
    sign: function (auth, uri, query) {
      var now = Math.floor(Date.now() / 1000), q = query ? [query] : [];
      if (auth.type === 'a') {
        var r = rand();
        q.push('auth_key=' + now + '-' + r + '-0-' + LE.md5hex(uri + '-' + now + '-' + r + '-0-' + auth.key));
        return uri + '?' + q.join('&');
      }
      if (auth.type === 'b') {
        var t = new Date((now + 8 * 3600) * 1000);   /* the minute is UTC+8 */
        var m = t.getUTCFullYear() + pad(t.getUTCMonth() + 1) + pad(t.getUTCDate()) + pad(t.getUTCHours()) + pad(t.getUTCMinutes());
        return '/' + m + '/' + LE.md5hex(auth.key + m + uri) + uri + (q.length ? '?' + q.join('&') : '');
      }
      if (auth.type === 'c') {
        var hx = now.toString(16);
        return '/' + LE.md5hex(auth.key + uri + hx) + '/' + hx + uri + (q.length ? '?' + q.join('&') : '');
      }
      return uri + (q.length ? '?' + q.join('&') : '');
    },
    play: function (domain, app, stream, ext) {
      return LE.urls.auth(domain).then(function (a) {
        return LE.playBase() + LE.urls.sign(a, '/' + app + '/' + stream + ext, 'vhost=' + encodeURIComponent(domain));
      });
    },
    file: function (domain, uri) {
      return LE.urls.auth(domain).then(function (a) {
        return LE.playBase() + LE.urls.sign(a, uri, 'vhost=' + encodeURIComponent(domain));
      });
    },
    push: function (domain, app, stream) {
      return LE.urls.auth(domain).then(function (a) {
        var host = domain;
        var uri = '/' + app + '/' + stream;
        if (a.type === 'a') return 'rtmp://' + host + LE.urls.sign(a, uri, '');
        return 'rtmp://' + host + uri;
      });
    }
  };
})();
